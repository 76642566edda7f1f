"""« Projets de quartier » read models on the demo store, against independent SQL."""

from __future__ import annotations

import polars as pl
import pytest

from cdv_core.domain import progress
from cdv_core.figures import projets as fig_projets
from cdv_core.queries import projets
from tests.conftest import DEMO_AU

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

CONTRACTS = ["CV-DEMO-VERM", "CV-DEMO-BRE", "CV-DEMO-MONT", None]


@pytest.mark.parametrize("contrat", CONTRACTS)
def test_qpv_amounts_sum_to_contract_total(demo_cur, contrat):
    rows = projets.qpv_overview(demo_cur, contrat=contrat, donnees_au=DEMO_AU)
    totals = projets.contract_totals(demo_cur, contrat=contrat)
    # Independent: every action linked to at least one QPV, counted once.
    expected = demo_cur.execute(
        """SELECT coalesce(sum(f.montant_accorde), 0)::DOUBLE FROM financement f JOIN action a USING (code_action)
           WHERE ($c IS NULL OR a.code_contrat = $c)
             AND a.code_action IN (SELECT code_action FROM action_quartier)""",
        {"c": contrat},
    ).fetchall()[0][0]
    assert expected > 0
    assert totals["accorde_qpv"] == pytest.approx(expected)
    assert rows["accorde"].sum() == pytest.approx(expected)
    n_qpv = demo_cur.execute(
        "SELECT count(*) FROM quartier WHERE $c IS NULL OR code_contrat = $c", {"c": contrat}
    ).fetchall()[0][0]
    assert rows.height == n_qpv
    assert set(rows["statut"]) <= set(progress.STATUTS)


def test_qpv_counts_match_independent_sql(demo_cur):
    rows = projets.qpv_overview(demo_cur, contrat="CV-DEMO-VERM", donnees_au=DEMO_AU)
    expected = dict(
        demo_cur.execute(
            """SELECT aq.code_qp, count(DISTINCT aq.code_action)
           FROM action_quartier aq JOIN action a USING (code_action)
           WHERE a.code_contrat = 'CV-DEMO-VERM' AND a.statut <> 'refusée' GROUP BY 1"""
        ).fetchall()
    )
    assert dict(zip(rows["code_qp"], rows["n_actions"])) == expected
    n_obj = dict(
        demo_cur.execute(
            "SELECT code_qp, count(*) FROM objectif WHERE code_contrat = 'CV-DEMO-VERM' AND code_qp IS NOT NULL "
            "GROUP BY 1"
        ).fetchall()
    )
    got = dict(zip(rows["code_qp"], rows["n_objectifs"]))
    assert {k: v for k, v in got.items() if v} == n_obj


def test_demo_qpv_without_projet_is_insufficient_with_reason(demo_cur):
    rows = projets.qpv_overview(demo_cur, contrat=None, donnees_au=DEMO_AU)
    missing = rows.filter(pl.col("projet").is_null())
    assert missing.height >= 1
    assert missing["statut"].to_list() == [progress.DONNEES_INSUFFISANTES] * missing.height
    assert missing["motif"][0].startswith("Pas de projet de quartier enregistré")


def test_demo_has_every_kind_of_objective_status(demo_cur):
    frame = progress.objective_progress(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert set(frame["statut"]) == set(progress.STATUTS)
    # No objective is « données insuffisantes » while having a measured component, and conversely.
    measured = frame["realise_actions"].is_not_null() | frame["realise_indicateurs"].is_not_null()
    assert ((frame["statut"] == progress.DONNEES_INSUFFISANTES) == ~measured).all()


def test_drilldown_of_one_qpv(demo_cur):
    qp = "QN00281M"
    objectives = projets.qpv_objectives(demo_cur, code_qp=qp, donnees_au=DEMO_AU)
    expected_local = {
        r[0] for r in demo_cur.execute("SELECT code_objectif FROM objectif WHERE code_qp = $q", {"q": qp}).fetchall()
    }
    expected_transversal = {
        r[0]
        for r in demo_cur.execute(
            "SELECT code_objectif FROM objectif WHERE code_qp IS NULL AND code_contrat = 'CV-DEMO-VERM'"
        ).fetchall()
    }
    assert set(objectives.filter(pl.col("portee") == "quartier")["code_objectif"]) == expected_local
    assert set(objectives.filter(pl.col("portee") == "transversal")["code_objectif"]) == expected_transversal
    actions = projets.qpv_actions(demo_cur, code_qp=qp, donnees_au=DEMO_AU)
    n_links = demo_cur.execute(
        "SELECT count(*) FROM action_objectif WHERE code_objectif IN (SELECT unnest($o::VARCHAR[]))",
        {"o": sorted(expected_local | expected_transversal)},
    ).fetchall()[0][0]
    assert actions.height == n_links
    assert actions["porteur"].null_count() == 0
    indicators = projets.qpv_indicators(demo_cur, code_qp=qp, donnees_au=DEMO_AU)
    assert set(indicators["code_qp"]) == {qp}
    series = projets.indicator_series(demo_cur, code_qp=qp, donnees_au=DEMO_AU)
    assert series["date_valeur"].max() <= DEMO_AU and series["valeur"].null_count() == 0


def test_display_frames_are_french(demo_cur):
    rows = projets.qpv_overview(demo_cur, contrat="CV-DEMO-VERM", donnees_au=DEMO_AU)
    table = fig_projets.qpv_display(rows, with_contract=False)
    # the figures before the long texts, so they stay on screen without scrolling sideways
    assert table.columns[:10] == [
        "Quartier",
        "Code",
        "Statut",
        "Depuis",
        "Réalisé",
        "Attendu",
        "Objectifs",
        "Actions",
        "Accordé",
        "Versé",
    ]
    assert table.columns[-2:] == ["Motif", "Projet de quartier"]
    first = rows.sort("gravite", "ecart", "libelle", nulls_last=True).row(0, named=True)
    from cdv_core import fmt

    assert table["Accordé"][0] == fmt.euros(first["accorde"])
    assert table["Réalisé"][0] == fmt.percent(first["realise"], 0)
    actions = fig_projets.actions_display(projets.qpv_actions(demo_cur, code_qp="QN00281M", donnees_au=DEMO_AU))
    assert actions["Période"].str.contains(r"^\d{2}/\d{2}/\d{4} → \d{2}/\d{2}/\d{4}$").all()
