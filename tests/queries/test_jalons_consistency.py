"""« Jalons »: the frozen programmation uses the « Financements » amount per thématique, French
thousands separators in the checklist and roll-up texts, French headers in tables and downloads."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core import fmt
from cdv_core.domain import progress
from cdv_core.figures import jalons as fig_jalons
from cdv_core.queries import financements, jalons
from tests.conftest import DEMO_AU, insert, minimal_contract

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

THIN = "\u202f"


@pytest.fixture
def cur(empty_store):
    con = empty_store
    minimal_contract(con, "CV-A")
    action = {"code_contrat": "CV-A", "id_porteur": "P-CV-A", "libelle": "x", "mode_financement": "AAP"}
    insert(
        con,
        "action",
        [
            action
            | {"code_action": "A1", "thematique": "2.1", "annee_debut": 2024, "annee_fin": 2024, "statut": "en cours"},
            # refused, yet a 2024 funding line is recorded: « Financements » counts it
            action
            | {"code_action": "A2", "thematique": "2.1", "annee_debut": 2024, "annee_fin": 2024, "statut": "refusée"},
            # runs from 2025 but its first line is booked on 2024
            action
            | {"code_action": "A3", "thematique": "1.2", "annee_debut": 2025, "annee_fin": 2026, "statut": "en cours"},
        ],
    )
    insert(
        con,
        "financement",
        [
            {"code_action": "A1", "financeur": "État P147", "annee": 2024, "montant_accorde": 1000},
            {"code_action": "A2", "financeur": "commune", "annee": 2024, "montant_accorde": 500},
            {"code_action": "A3", "financeur": "État P147", "annee": 2024, "montant_accorde": 250},
            {"code_action": "A1", "financeur": "commune", "annee": 2025, "montant_accorde": 7000},
        ],
    )
    return con.cursor()


def test_snapshot_amounts_are_the_financements_amounts(cur):
    snap = jalons.snapshot_frames(cur, contrat="CV-A", date_gel=date(2024, 6, 30))["thematiques"]
    got = {r["thematique"]: (r["nb_actions"], r["montant_accorde"]) for r in snap.iter_rows(named=True)}
    # Before: 2.1 = 1 000 € (the refused A2 left out) and 1.2 missing (A3 not running in 2024).
    assert got == {"1.2": (0, 250.0), "2.1": (1, 1500.0)}
    fin = financements.funding_by_thematique(cur, contrat="CV-A", annee=2024)
    assert dict(zip(fin["thematique"], fin["accorde"])) == {t: m for t, (_, m) in got.items()}


def test_thousands_separator_in_roll_up_texts():
    n = 1200
    objectives = pl.DataFrame(
        {
            "code_qp": ["QN07511M"] * n,
            "libelle": [f"O{i}" for i in range(n)],
            "statut": [progress.EN_BONNE_VOIE] * n,
            "realise": [0.5] * n,
            "attendu": [0.5] * n,
            "ecart": [0.0] * n,
        }
    )
    motif = progress.qpv_status(objectives, ["QN07511M"])["motif"].item()
    assert motif == f"1{THIN}200 objectifs sur 1{THIN}200 en bonne voie"
    assert pl.select(fmt.plural_expr(pl.lit(1), "action")).item() == "1 action"
    assert pl.select(fmt.plural_expr(pl.lit(0), "action")).item() == "0 action"
    assert (
        pl.select(fmt.plural_expr(pl.lit(2345), "cible atteinte", "cibles atteintes")).item()
        == f"2{THIN}345 cibles atteintes"
        == fmt.plural(2345, "cible atteinte", "cibles atteintes")
    )


def test_objective_motif_percentages_are_french():
    frame = pl.DataFrame(
        {
            "realise_actions": [0.425],
            "attendu_actions": [0.5],
            "n_actions_mesurees": [1500],
            "n_actions_abandonnees": [0],
            "realise_indicateurs": [None],
            "attendu_indicateurs": [None],
            "n_cibles_atteintes": [0],
            "n_actions": [1500],
            "realise": [0.425],
        },
        schema_overrides={"realise_indicateurs": pl.Float64, "attendu_indicateurs": pl.Float64},
    )
    motif = frame.select(progress._objective_motif()).item()
    assert motif == f"Actions : 42\u00a0% réalisé pour 50\u00a0% attendu (1{THIN}500 actions mesurées)"


def test_readiness_gives_the_page_its_counts(demo_cur):
    ready = jalons.readiness(demo_cur, contrat=None, donnees_au=DEMO_AU, max_age_months=24)
    per = ready["contrats"]
    assert ready["contrats_prets"] == int(per["pret"].sum())
    assert ready["a_completer"] == ready["total"] - ready["remplis"]


def test_all_contracts_report_table_has_french_headers(demo_cur):
    reports = jalons.rapports_annuels(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert reports.columns[0] == "annee"
    assert reports.columns[1:] and all(c.startswith("Contrats : ") for c in reports.columns[1:])
    obligations = jalons.gouvernance.annual_obligations(demo_cur, contrat=None, donnees_au=DEMO_AU)
    total = reports.select(pl.sum_horizontal(pl.exclude("annee"))).to_series().sum()
    assert total == obligations.height


def test_indicator_diff_download_has_french_headers(demo_cur):
    frozen = jalons.baselines(demo_cur, contrat="CV-DEMO-VERM")
    diff = jalons.baseline_diff(demo_cur, id_gel=int(frozen["id_gel"][0]), donnees_au=DEMO_AU)
    ind = diff["indicateurs"]
    export = fig_jalons.indicator_diff_export(ind)
    raw = {"valeur_avant", "secret_avant", "valeur_maintenant", "secret_maintenant", "date_avant", "code_qp"}
    assert not raw & set(export.columns)
    assert export.height == ind.height
    assert export["Valeur (référence)"].to_list() == ind["valeur_avant"].to_list()  # typed, not text
    table = fig_jalons.indicator_diff_table(ind)
    secret = ind.with_row_index().filter(pl.col("valeur_avant").is_null() & pl.col("secret_avant").is_not_null())
    if secret.height:
        assert table["Valeur (référence)"][secret["index"][0]] == secret["secret_avant"][0]
    assert diff["evolutions"] == {e: ind.filter(pl.col("evolution") == e).height for e in ("favorable", "défavorable")}
    assert sum(diff["changements"].values()) == diff["objectifs"].height
