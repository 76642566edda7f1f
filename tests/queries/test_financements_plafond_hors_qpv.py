"""The hors-QPV cap (issue #20): 2,5 % of the département's État P147 envelope for the actions
declared hors QPV (poches de pauvreté), per département and exercice, from every P147 line of the
département whatever the filters; an action that merely lacks its QPV link is a data gap, not a
poche de pauvreté.

Hand-built store, exercice 2025 (État P147 accordé):
- département 60, contract CV-A: A-Q 10 000 € in QPV QN06001M (1.1), A-H 300 € declared hors QPV
  (1.2);
- département 60, contract CV-B: B-Q 5 000 € in QPV QN06002M (1.1), B-M 700 € with no QPV link and
  not declared (1.2): « lien QPV manquant »;
- département 80, contract CV-C: C-Q 19 000 € in QPV QN08001M, C-H 1 000 € declared hors QPV.
Département 60: 300 / 16 000 = 1,875 % (under the cap); 80: 1 000 / 20 000 = 5 % (above).
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from cdv_core import store
from cdv_core.domain import model
from cdv_core.queries import financements as fin
from tests.conftest import insert, open_alert_tab, run_app

P147 = model.CREDITS_SPECIFIQUES
CONTRACTS = {"CV-A": ("60", "QN06001M"), "CV-B": ("60", "QN06002M"), "CV-C": ("80", "QN08001M")}
# code_action: (contract, thématique, P147 accordé 2025, QPV link?, declared hors QPV?)
ACTIONS = {
    "A-Q": ("CV-A", "1.1", 10_000, True, False),
    "A-H": ("CV-A", "1.2", 300, False, True),
    "B-Q": ("CV-B", "1.1", 5_000, True, False),
    "B-M": ("CV-B", "1.2", 700, False, False),
    "C-Q": ("CV-C", "1.1", 19_000, True, False),
    "C-H": ("CV-C", "1.2", 1_000, False, True),
}


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    insert(
        con,
        "contrat",
        [
            {
                "code_contrat": c,
                "libelle": f"Contrat {c}",
                "type_signataire": "EPCI",
                "insee_dep": dep,
                "date_debut": date(2024, 1, 1),
                "date_fin": date(2030, 12, 31),
                "date_signature": date(2024, 3, 31),
            }
            for c, (dep, _) in CONTRACTS.items()
        ],
    )
    insert(
        con,
        "quartier",
        [
            {
                "code_qp": q,
                "libelle": f"Quartier {q}",
                "code_contrat": c,
                "insee_dep": dep,
                "insee_com": f"{dep}991",
                "lib_com": "Commune",
                "population": 2000,
                "longitude": 2.0,
                "latitude": 49.5,
            }
            for c, (dep, q) in CONTRACTS.items()
        ],
    )
    insert(
        con,
        "porteur",
        [{"id_porteur": "P-1", "nom": "Association test", "type_structure": "association avec salariés"}],
    )
    insert(
        con,
        "action",
        [
            {
                "code_action": a,
                "code_contrat": c,
                "id_porteur": "P-1",
                "libelle": f"Action {a}",
                "thematique": them,
                "mode_financement": "AAP",
                "annee_debut": 2025,
                "annee_fin": 2025,
                "date_debut": date(2025, 1, 1),
                "date_fin": date(2025, 12, 31),
                "statut": "en cours",
                "hors_qpv": declared,
            }
            for a, (c, them, _, _, declared) in ACTIONS.items()
        ],
    )
    insert(
        con,
        "action_quartier",
        [
            {"code_action": a, "code_qp": CONTRACTS[c][1], "part": None}
            for a, (c, _, _, linked, _) in ACTIONS.items()
            if linked
        ],
    )
    insert(
        con,
        "financement",
        [
            {
                "code_action": a,
                "financeur": P147,
                "annee": 2025,
                "montant_demande": m,
                "montant_accorde": m,
                "montant_verse": 0,
            }
            for a, (_, _, m, _, _) in ACTIONS.items()
        ]
        + [
            {
                "code_action": "A-Q",
                "financeur": "commune",
                "annee": 2025,
                "montant_demande": 50_000,
                "montant_accorde": 50_000,
                "montant_verse": 0,
            }
        ],
    )  # droit commun: never in the P147 envelope


@pytest.fixture
def hand(empty_store):
    _fill(empty_store)
    return empty_store.cursor()


def _independent(cur) -> dict[str, tuple[float, float]]:
    """Per département, 2025: (P147 accordé, of which declared hors QPV with no link), plain SQL."""
    rows = cur.execute(
        """
        SELECT c.insee_dep, sum(f.montant_accorde),
               sum(f.montant_accorde) FILTER (WHERE a.hors_qpv AND NOT EXISTS (
                   SELECT 1 FROM action_quartier aq WHERE aq.code_action = a.code_action))
        FROM financement f JOIN action a USING (code_action) JOIN contrat c USING (code_contrat)
        WHERE f.financeur = ? AND f.annee = 2025 GROUP BY 1""",
        [P147],
    ).fetchall()
    return {dep: (float(p), float(h or 0)) for dep, p, h in rows}


def test_share_per_departement_equals_independent_sql(hand):
    deps = fin.hors_qpv_by_departement(hand, contrat=None, annee=2025)
    expected = _independent(hand)
    assert sorted(deps["insee_dep"]) == sorted(expected)
    for row in deps.iter_rows(named=True):
        p147, declared = expected[row["insee_dep"]]
        assert row["p147_accorde"] == pytest.approx(p147)
        assert row["part_hors_qpv"] == pytest.approx(declared / p147)
        assert row["depasse"] == (declared / p147 > model.HORS_QPV_MAX_SHARE)
    assert dict(zip(deps["insee_dep"], deps["depasse"])) == {"60": False, "80": True}


def test_a_contract_is_judged_on_its_whole_departement(hand):
    """CV-A alone is 300 / 10 300 = 2,9 %: the rule reads the département (CV-A and CV-B)."""
    row = fin.hors_qpv_by_departement(hand, contrat="CV-A", annee=2025).row(0, named=True)
    assert row["insee_dep"] == "60" and row["p147_accorde"] == 16_000
    assert row["part_hors_qpv"] == pytest.approx(300 / 16_000) and row["depasse"] is False
    assert fin.funding_totals(hand, contrat="CV-A", annee=2025)["part_hors_qpv"] == pytest.approx(300 / 10_300)


def test_filters_change_the_selection_share_not_the_rule(hand):
    filtered = fin.funding_totals(hand, contrat="CV-A", annee=2025, thematiques=("1.2",))
    assert filtered["part_hors_qpv"] == pytest.approx(1.0)  # the only 1.2 action is hors QPV
    assert filtered["hors_qpv_declare_p147_accorde"] == 300
    # the rule takes no filter at all: nothing a page selects can reach it
    assert "thematiques" not in fin.hors_qpv_by_departement.__code__.co_varnames
    assert fin.hors_qpv_by_departement(hand, contrat="CV-A", annee=2025)["part_hors_qpv"][0] == pytest.approx(
        300 / 16_000
    )


def test_a_missing_qpv_link_is_a_data_gap_not_a_poche_de_pauvrete(hand):
    row = fin.hors_qpv_by_departement(hand, contrat="CV-B", annee=2025).row(0, named=True)
    assert row["hors_qpv_accorde"] == 1_000  # no QPV link: A-H and B-M, as every screen counts « hors QPV »
    assert row["declare_accorde"] == 300 and row["lien_manquant_accorde"] == 700
    assert row["actions_lien_manquant"] == 1
    totals = fin.funding_totals(hand, contrat="CV-B", annee=2025)
    assert totals["hors_qpv_p147_accorde"] == 700 and totals["hors_qpv_declare_p147_accorde"] == 0


def test_every_exercice_when_no_year_is_chosen(hand):
    insert(
        hand,
        "action",
        [
            {
                "code_action": "C-H26",
                "code_contrat": "CV-C",
                "id_porteur": "P-1",
                "libelle": "x",
                "thematique": "1.2",
                "mode_financement": "AAP",
                "annee_debut": 2026,
                "annee_fin": 2026,
                "date_debut": date(2026, 1, 1),
                "date_fin": date(2026, 12, 31),
                "statut": "en cours",
                "hors_qpv": True,
            }
        ],
    )
    insert(
        hand,
        "financement",
        [
            {
                "code_action": "C-H26",
                "financeur": P147,
                "annee": 2026,
                "montant_demande": 100,
                "montant_accorde": 100,
                "montant_verse": 0,
            },
            {
                "code_action": "C-Q",
                "financeur": P147,
                "annee": 2026,
                "montant_demande": 19_900,
                "montant_accorde": 19_900,
                "montant_verse": 0,
            },
        ],
    )
    deps = fin.hors_qpv_by_departement(hand, contrat="CV-C", annee=None)
    assert dict(zip(deps["annee"], deps["depasse"])) == {2025: True, 2026: False}  # 5 % then 0,5 %
    summary = fin.hors_qpv_summary(deps)
    assert summary["departements"] == 1 and summary["departements_depasse"] == 1
    assert summary["part"] == pytest.approx(0.05) and summary["annee"] == 2025


def test_the_reader_of_one_contract_sees_its_departement_only(hand):
    deps = fin.hors_qpv_by_departement(hand, contrat=None, annee=2025, perimetre=("CV-A",))
    assert deps["insee_dep"].to_list() == ["60"] and deps["p147_accorde"][0] == 16_000


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def hand_app(tmp_path, monkeypatch):
    path = tmp_path / "plafond.duckdb"
    con = duckdb.connect(str(path))
    try:
        store.migrate(con)
        _fill(con)
        with store.transaction(con, check=False) as cur:
            store.set_meta(cur, "donnees_au", "2026-11-15")
    finally:
        con.close()
    monkeypatch.setenv("CDV_STORE", str(path))
    return path


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _card(at) -> tuple[str, str, str]:
    card = next(m for m in at.metric if m.label.startswith("Hors QPV"))
    return _plain(card.value), _plain(card.proto.delta), _plain(card.proto.help)


def test_the_card_shows_the_departement_share_whatever_the_filters(hand_app):
    at = run_app("financements", query={"contrat": "CV-A", "fin_annee": "2025"})
    assert not at.exception, at.exception
    value, delta, help_text = _card(at)
    assert value == "1,9 %" and delta == "plafond 2,5 %" and "département 60" in help_text
    at.multiselect(key="fin_them").set_value(["1.2"]).run()
    assert not at.exception, at.exception
    assert _card(at)[:2] == (value, delta)  # unchanged by the filter
    selection = next(_plain(c.value) for c in at.caption if "dans la sélection" in c.value)
    assert "100,0 %" in selection and "300 €" in selection


def test_the_card_and_the_alert_of_a_departement_above_the_cap(hand_app):
    at = run_app("financements", query={"contrat": "CV-C", "fin_annee": "2025"})
    assert not at.exception, at.exception
    value, delta, _ = _card(at)
    assert value == "5,0 %" and delta == "plafond 2,5 % dépassé"
    assert any(t.label.startswith("Hors QPV") and t.label.endswith("(1)") for t in at.tabs)
    open_alert_tab(at, "Hors QPV")
    assert any("1 département au-delà du plafond" in w.value for w in at.warning)


def test_all_contracts_count_departements_and_flag_the_missing_link(hand_app):
    at = run_app("financements", query={"fin_annee": "2025"})
    assert not at.exception, at.exception
    value, delta, _ = _card(at)
    assert value == "1 sur 2" and delta == "départements au-delà de 2,5 %"
    open_alert_tab(at, "Hors QPV")
    gap = [_plain(w.value) for w in at.warning if "un lien QPV manque" in w.value]
    assert len(gap) == 1 and "700" in gap[0]
    table = next(t.value for t in at.dataframe if "Sans lien QPV (à compléter)" in t.value.columns)
    assert pl.from_pandas(table)["Département"].to_list() == ["80", "60"]  # above the cap first
