"""`cdv_core.figures.projets`: what « Projets de quartier » shows, from the demo store's query results."""

from __future__ import annotations

import polars as pl
import pytest

from cdv_core import fmt
from cdv_core.domain import progress
from cdv_core.figures import projets as fig
from cdv_core.queries import projets
from tests.conftest import DEMO_AU


@pytest.fixture
def rows(demo_cur) -> pl.DataFrame:
    return projets.qpv_overview(demo_cur, contrat=None, donnees_au=DEMO_AU)


def test_status_cards_count_quartiers_in_french(demo_cur, rows):
    totals = projets.contract_totals(demo_cur, contrat=None)
    by_status, amounts = fig.status_cards(projets.status_counts(rows), totals, quartiers=rows.height)
    assert [c.label for c in by_status] == [s.capitalize() for s in progress.STATUTS]
    assert amounts[0].value == fmt.integer(rows.height)
    assert amounts[1].label == f"Accordé aux actions en QPV ({fig.PERIODE})"
    assert amounts[1].value == fmt.euros_compact(totals["accorde_qpv"])
    status = rows.group_by("statut").len().filter(pl.col("len") >= 2)["statut"][0]
    group = rows.filter(pl.col("statut") == status)
    for n, word in ((1, "quartier"), (2, "quartiers")):
        cards = fig.status_cards(projets.status_counts(group.head(n)), totals, quartiers=n)[0]
        assert cards[list(progress.STATUTS).index(status)].value == f"{n} {word}"


def test_choice_labels_put_the_status_first_most_worrying_first(rows):
    labels = fig.choice_labels(rows)
    first = projets.most_worrying_first(rows).row(0, named=True)
    assert next(iter(labels)) == first["code_qp"]
    assert labels[first["code_qp"]] == (
        f"{first['statut'][0].upper()}{first['statut'][1:]} — {first['libelle']} ({first['code_qp']})"
    )


def test_summary_of_a_quartier(rows):
    qpv = rows.row(0, named=True)
    s = fig.summary(qpv)
    assert s.figures.startswith(
        f"{fmt.plural(qpv['n_objectifs'], 'objectif')} de quartier · "
        f"{fmt.plural(qpv['n_actions'], 'action')} · accordé {fmt.euros(qpv['accorde'])}"
    )
    assert s.since == projets.since_text(qpv["statut"], qpv["depuis"], qpv["depuis_premier"])
    assert fig.table_cap_note(200, rows.height) is None
    assert (
        fig.table_cap_note(1, 2) == "1 premiers quartiers sur 2 (les plus préoccupants d'abord) ; "
        "le téléchargement contient tout."
    )


def test_objectives_sorted_by_gravity_and_trajectory_chart(demo_cur, rows):
    code_qp = rows["code_qp"][0]
    local, transversal = fig.ordered_objectives(projets.qpv_objectives(demo_cur, code_qp=code_qp, donnees_au=DEMO_AU))
    assert set(local["portee"]) <= {"quartier"} and set(transversal["portee"]) <= {"transversal"}
    gravity = [progress.STATUT_GRAVITE[s] for s in local["statut"]]
    assert gravity == sorted(gravity)
    indicators = projets.qpv_indicators(demo_cur, code_qp=code_qp, donnees_au=DEMO_AU)
    series = projets.indicator_series(demo_cur, code_qp=code_qp, donnees_au=DEMO_AU)
    ind = indicators.row(0, named=True)
    spec = fig.trajectory_chart(ind, series.filter(pl.col("code_indicateur") == ind["code_indicateur"])).to_dict()
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["y"]["field"], enc["color"]["field"]) == ("date", "valeur", "série")
    assert enc["x"]["axis"]["format"] == "%Y" and enc["tooltip"][1]["format"] == "%d/%m/%Y"
    assert enc["strokeDash"]["scale"]["domain"] == ["valeurs connues", "trajectoire visée"]
    assert spec["title"] == ind["indicateur"] and spec["config"]["locale"]["number"]["decimal"] == ","


def test_status_history_chart_is_french(demo_cur, rows):
    history = projets.status_history(demo_cur, contrat=None, code_qp=rows["code_qp"][0], donnees_au=DEMO_AU)
    spec = fig.status_history_chart(history, until=DEMO_AU, colors={s: "#000000" for s in progress.STATUTS}).to_dict()
    assert spec["encoding"]["x"]["axis"]["format"] == "%b %Y" and "locale" in spec["config"]
