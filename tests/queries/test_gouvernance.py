"""Decision log and annual obligations on hand-made stores; the demo's late instance."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core.queries import gouvernance as gouv
from tests.conftest import DEMO_AU, insert, minimal_contract

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake


@pytest.fixture
def decisions_store(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T")
    insert(
        con,
        "action",
        [
            {
                "code_action": f"A-{n}",
                "code_contrat": "CV-T",
                "id_porteur": "P-CV-T",
                "libelle": f"Action {n}",
                "thematique": "1.1",
                "mode_financement": "AAP",
                "annee_debut": 2025,
                "annee_fin": 2025,
                "statut": "en cours",
            }
            for n in (1, 2)
        ],
    )
    insert(
        con,
        "instance",
        [
            {
                "code_instance": "I-COPIL",
                "code_contrat": "CV-T",
                "type_instance": "COPIL",
                "libelle": "COPIL",
                "cadence_mois": 12,
                "date_creation": date(2024, 1, 1),
            }
        ],
    )
    insert(
        con,
        "reunion",
        [{"id_reunion": "R-1", "code_instance": "I-COPIL", "date_reunion": date(2025, 1, 15), "statut": "tenue"}],
    )
    insert(
        con,
        "decision",
        [
            {
                "id_decision": "D-a",
                "id_reunion": "R-1",
                "libelle": "done late",
                "date_echeance": date(2025, 2, 1),
                "statut": "faite",
            },
            {
                "id_decision": "D-b",
                "id_reunion": "R-1",
                "libelle": "overdue little",
                "date_echeance": date(2025, 5, 20),
                "statut": "en cours",
            },
            {
                "id_decision": "D-c",
                "id_reunion": "R-1",
                "libelle": "overdue a lot",
                "date_echeance": date(2025, 3, 1),
                "statut": "à faire",
            },
            {
                "id_decision": "D-d",
                "id_reunion": "R-1",
                "libelle": "not due",
                "date_echeance": date(2025, 12, 1),
                "statut": "à faire",
            },
            {
                "id_decision": "D-e",
                "id_reunion": "R-1",
                "libelle": "dropped",
                "date_echeance": date(2025, 1, 20),
                "statut": "abandonnée",
            },
        ],
    )
    insert(
        con,
        "decision_action",
        [{"id_decision": "D-c", "code_action": "A-2"}, {"id_decision": "D-c", "code_action": "A-1"}],
    )
    return con


def test_decision_log_overdue_first(decisions_store):
    au = date(2025, 6, 1)
    log = gouv.decision_log(decisions_store.cursor(), contrat="CV-T", donnees_au=au)
    assert log["id_decision"].to_list() == ["D-c", "D-b", "D-d", "D-e", "D-a"]
    assert log["en_retard"].to_list() == [True, True, False, False, False]
    assert log["jours_retard"].to_list()[:2] == [(au - date(2025, 3, 1)).days, (au - date(2025, 5, 20)).days]
    assert log["actions_liees"][0] == "A-1, A-2"
    only = gouv.decision_log(decisions_store.cursor(), contrat="CV-T", donnees_au=au, overdue_only=True)
    assert only["id_decision"].to_list() == ["D-c", "D-b"]
    done = gouv.decision_log(decisions_store.cursor(), contrat="CV-T", donnees_au=au, statuts=("faite", "abandonnée"))
    assert set(done["id_decision"]) == {"D-a", "D-e"}
    assert gouv.decision_counts(decisions_store.cursor(), contrat="CV-T", donnees_au=au) == {
        "total": 5,
        "ouvertes": 3,
        "en_retard": 2,
        "faites": 1,
    }


def _jalon(n, type_jalon, prevue, realisee, annee):
    return {
        "id_jalon": f"J-{n}",
        "code_contrat": "CV-T",
        "type_jalon": type_jalon,
        "libelle": type_jalon,
        "date_prevue": prevue,
        "date_realisation": realisee,
        "annee": annee,
    }


def test_annual_obligations(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T")
    insert(
        con,
        "instance",
        [
            {
                "code_instance": "I-COPIL",
                "code_contrat": "CV-T",
                "type_instance": "COPIL",
                "libelle": "COPIL",
                "cadence_mois": 12,
                "date_creation": date(2024, 1, 1),
            },
            {
                "code_instance": "I-AUTRE",
                "code_contrat": "CV-T",
                "type_instance": "autre",
                "libelle": "Séminaire",
                "cadence_mois": 12,
                "date_creation": date(2024, 1, 1),
            },
            {
                "code_instance": "I-REVU",
                "code_contrat": "CV-T",
                "code_qp": "QN07511M",
                "type_instance": "revue de projet de quartier",
                "libelle": "Revue",
                "cadence_mois": 12,
                "date_creation": date(2024, 1, 1),
            },
        ],
    )
    insert(
        con,
        "reunion",
        [
            {"id_reunion": "R-1", "code_instance": "I-COPIL", "date_reunion": date(2024, 3, 1), "statut": "tenue"},
            {"id_reunion": "R-2", "code_instance": "I-COPIL", "date_reunion": date(2025, 3, 1), "statut": "annulée"},
            {
                "id_reunion": "R-3",
                "code_instance": "I-AUTRE",
                "date_reunion": date(2024, 10, 1),
                "statut": "tenue",
                "objet": "Revue annuelle des indicateurs",
            },
            {"id_reunion": "R-4", "code_instance": "I-REVU", "date_reunion": date(2025, 10, 1), "statut": "reportée"},
            {"id_reunion": "R-5", "code_instance": "I-REVU", "date_reunion": date(2026, 2, 1), "statut": "tenue"},
        ],
    )
    insert(
        con,
        "jalon",
        [
            _jalon(1, "consultation conseils citoyens", date(2025, 5, 15), date(2025, 5, 20), 2024),
            _jalon(2, "rapport annuel", date(2025, 6, 30), date(2025, 6, 30), 2024),  # 41 days: respected
            _jalon(3, "consultation conseils citoyens", date(2026, 5, 15), date(2026, 6, 10), 2025),
            _jalon(4, "rapport annuel", date(2026, 6, 30), date(2026, 6, 30), 2025),  # 20 days: not respected
        ],
    )
    frame = gouv.annual_obligations(con.cursor(), contrat="CV-T", donnees_au=date(2026, 3, 1))
    rows = {r["annee"]: r for r in frame.to_dicts()}
    assert sorted(rows) == [2024, 2025, 2026]
    assert (rows[2024]["copil_tenus"], rows[2024]["copil_statut"]) == (1, "respectée")
    assert (rows[2025]["copil_tenus"], rows[2025]["copil_statut"]) == (0, "non respectée")  # cancelled ≠ held
    assert rows[2026]["copil_statut"] == "en cours"
    assert (rows[2024]["revues_tenues"], rows[2024]["revue_statut"]) == (1, "respectée")  # objet mentions it
    assert rows[2025]["revue_statut"] == "non respectée"  # postponed
    assert rows[2026]["revue_statut"] == "respectée"
    assert (rows[2024]["ecart_jours"], rows[2024]["rapport_statut"]) == (41, "respectée")
    # realised in June 2026, after « données au »: on 01/03/2026 the steps were still planned (46 days apart)
    assert (rows[2025]["ecart_jours"], rows[2025]["rapport_statut"]) == (46, "à venir")
    assert rows[2026]["rapport_statut"] == "non renseignée"
    later = gouv.annual_obligations(con.cursor(), contrat="CV-T", donnees_au=date(2026, 7, 1)).filter(
        pl.col("annee") == 2025
    )
    assert later.select("ecart_jours", "rapport_statut").row(0) == (20, "non respectée")


def test_rapport_annuel_planned_dates(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T")
    insert(
        con,
        "jalon",
        [
            _jalon(1, "consultation conseils citoyens", date(2025, 5, 15), None, 2024),
            _jalon(2, "rapport annuel", date(2025, 6, 30), None, 2024),
        ],
    )
    statut = lambda au: gouv.annual_obligations(con.cursor(), contrat="CV-T", donnees_au=au).filter(  # noqa: E731
        pl.col("annee") == 2024
    )["rapport_statut"][0]
    assert statut(date(2025, 3, 1)) == "à venir"
    assert statut(date(2025, 6, 1)) == "non respectée"  # 30/05 was the last day to consult, not done


def test_demo_late_instance_is_flagged(demo_cur):
    frame = gouv.instance_cadence(demo_cur, contrat="CV-DEMO-VERM", donnees_au=DEMO_AU, tolerance_days=30)
    cotech = frame.filter(pl.col("code_instance") == "I-CV-DEMO-VERM-COTE").to_dicts()[0]
    last = demo_cur.execute(
        "SELECT max(date_reunion) FROM reunion WHERE code_instance = 'I-CV-DEMO-VERM-COTE' "
        "AND statut = 'tenue' AND date_reunion <= ?",
        [DEMO_AU],
    ).fetchall()[0][0]
    assert cotech["derniere_tenue"] == last
    assert cotech["en_retard"] is True
