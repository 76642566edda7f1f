"""Every figure of the « Vue d'ensemble » against an independent query or a hand-computed answer."""

from __future__ import annotations

from datetime import date

import pytest

from cdv_core import store
from cdv_core.queries import overview
from tests.conftest import DEMO_AU, insert, minimal_contract

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

SELECTIONS = [None, "CV-DEMO-VERM", "CV-DEMO-BRE", "CV-DEMO-MONT"]


def _one(cur, sql, params):
    return cur.execute(sql, params).fetchall()[0][0]


@pytest.mark.parametrize("contrat", SELECTIONS)
def test_headline_matches_independent_sql(demo_cur, contrat):
    got = overview.headline(demo_cur, contrat=contrat, donnees_au=DEMO_AU)
    where_c = "" if contrat is None else " WHERE code_contrat = ?"
    p = [] if contrat is None else [contrat]
    assert got["contrats"] == _one(demo_cur, "SELECT count(*) FROM contrat" + where_c, p)
    assert got["quartiers"] == _one(demo_cur, "SELECT count(*) FROM quartier" + where_c, p)
    assert got["population"] == _one(demo_cur, "SELECT sum(population) FROM quartier" + where_c, p)
    # Actions of the year: those whose span covers 2026, refused ones excluded.
    actions = demo_cur.execute("SELECT code_contrat, annee_debut, annee_fin, statut FROM action").fetchall()
    expected_actions = sum(
        1 for c, d, f, s in actions if (contrat is None or c == contrat) and d <= 2026 <= f and s != "refusée"
    )
    assert got["actions_annee"] == expected_actions
    lines = demo_cur.execute(
        """SELECT a.code_contrat, f.financeur, a.mode_financement, f.montant_accorde, f.montant_verse
           FROM financement f, action a WHERE f.code_action = a.code_action AND f.annee = 2026"""
    ).fetchall()
    mine = [row for row in lines if contrat is None or row[0] == contrat]
    assert got["accorde"] == pytest.approx(float(sum(r[3] or 0 for r in mine)))
    assert got["verse"] == pytest.approx(float(sum(r[4] or 0 for r in mine)))
    p147 = [r for r in mine if r[1] == "État P147"]
    cpo = sum(r[3] or 0 for r in p147 if r[2] == "CPO")
    assert got["part_cpo"] == pytest.approx(float(cpo) / float(sum(r[3] or 0 for r in p147)))


def test_switching_contract_changes_figures(demo_cur):
    everything = overview.headline(demo_cur, contrat=None, donnees_au=DEMO_AU)
    parts = [overview.headline(demo_cur, contrat=c, donnees_au=DEMO_AU) for c in SELECTIONS[1:]]
    assert sum(p["quartiers"] for p in parts) == everything["quartiers"]
    assert sum(p["accorde"] for p in parts) == pytest.approx(everything["accorde"])
    assert len({p["accorde"] for p in parts}) == 3


@pytest.fixture
def handmade(empty_store):
    con = empty_store
    minimal_contract(con, "CV-A", ("QN07511M", "QN07512M"))
    insert(
        con,
        "action",
        [
            {
                "code_action": "A1",
                "code_contrat": "CV-A",
                "id_porteur": "P-CV-A",
                "libelle": "CPO médiation",
                "thematique": "3.2",
                "mode_financement": "CPO",
                "annee_debut": 2024,
                "annee_fin": 2026,
                "statut": "en cours",
            },
            {
                "code_action": "A2",
                "code_contrat": "CV-A",
                "id_porteur": "P-CV-A",
                "libelle": "Fête de quartier",
                "thematique": "1.5",
                "mode_financement": "AAP",
                "annee_debut": 2025,
                "annee_fin": 2025,
                "statut": "réalisée",
            },
            {
                "code_action": "A3",
                "code_contrat": "CV-A",
                "id_porteur": "P-CV-A",
                "libelle": "Refusée",
                "thematique": "1.1",
                "mode_financement": "AAP",
                "annee_debut": 2025,
                "annee_fin": 2025,
                "statut": "refusée",
            },
        ],
    )
    insert(
        con,
        "financement",
        [
            {
                "code_action": "A1",
                "financeur": "État P147",
                "annee": 2025,
                "montant_demande": 12000,
                "montant_accorde": 10000,
                "montant_verse": 10000,
                "date_decision": date(2025, 3, 1),
            },
            {
                "code_action": "A1",
                "financeur": "commune",
                "annee": 2025,
                "montant_demande": 6000,
                "montant_accorde": 5000,
                "montant_verse": 0,
                "date_decision": date(2025, 3, 1),
            },
            {
                "code_action": "A2",
                "financeur": "État P147",
                "annee": 2025,
                "montant_demande": 4000,
                "montant_accorde": 2500,
                "montant_verse": None,
                "date_decision": date(2025, 9, 1),
            },
            {
                "code_action": "A1",
                "financeur": "État P147",
                "annee": 2024,
                "montant_accorde": 9000,
                "montant_verse": 9000,
                "date_decision": date(2024, 4, 1),
            },
        ],
    )
    insert(
        con,
        "instance",
        [
            {
                "code_instance": "COPIL",
                "code_contrat": "CV-A",
                "type_instance": "COPIL",
                "libelle": "COPIL A",
                "cadence_mois": 12,
                "date_creation": date(2024, 1, 1),
            },
            {
                "code_instance": "CC",
                "code_contrat": "CV-A",
                "code_qp": "QN07511M",
                "type_instance": "conseil citoyen",
                "libelle": "Conseil citoyen",
                "cadence_mois": 3,
                "date_creation": date(2024, 1, 1),
            },
        ],
    )
    insert(
        con,
        "reunion",
        [
            {"id_reunion": "R1", "code_instance": "COPIL", "date_reunion": date(2025, 5, 1), "statut": "tenue"},
            {"id_reunion": "R2", "code_instance": "CC", "date_reunion": date(2025, 6, 1), "statut": "tenue"},
            {"id_reunion": "R3", "code_instance": "CC", "date_reunion": date(2025, 9, 1), "statut": "annulée"},
        ],
    )
    insert(
        con,
        "jalon",
        [
            {
                "id_jalon": "J1",
                "code_contrat": "CV-A",
                "type_jalon": "actualisation 2027",
                "libelle": "Actualisation",
                "date_prevue": date(2027, 6, 30),
            },
        ],
    )
    return con.cursor()


def test_headline_on_handmade_store(handmade):
    got = overview.headline(handmade, contrat=None, donnees_au=date(2025, 12, 1))
    assert (got["contrats"], got["quartiers"], got["population"]) == (1, 2, 2000)
    assert got["actions_annee"] == 2  # A1 (CPO covering 2025) and A2; A3 refused
    assert (got["demande"], got["accorde"], got["verse"]) == (22000, 17500, 10000)
    assert got["part_cpo"] == pytest.approx(10000 / 12500)


def test_countdown_to_actualisation(handmade):
    got = overview.actualisation(handmade, contrat="CV-A", donnees_au=date(2025, 12, 1))
    assert got["date"] == date(2027, 6, 30)
    assert got["jours"] == (date(2027, 6, 30) - date(2025, 12, 1)).days


def test_alerts_on_handmade_store(handmade):
    alerts = overview.alerts(handmade, contrat=None, donnees_au=date(2025, 12, 1), unpaid_months=3, tolerance_days=30)
    messages = " | ".join(alerts["message"].to_list())
    # Conseil citoyen: last held 01/06/2025, cadence 3 months + 30 days → late on 01/12/2025.
    assert "1 instance en retard sur sa cadence" in messages and "Conseil citoyen" in messages
    # Commune line: accordé 5 000 €, nothing paid 9 months after decision. A2's P147 line:
    # decided 01/09/2025, less than 3 months ago: not yet an alert.
    assert "1 subvention accordée non versée plus de 3 mois" in messages
    assert "5\u202f000\u00a0€" in messages
    assert "QPV sans projet de quartier : 2" in messages


def test_no_alert_when_everything_is_in_order(handmade):
    alerts = overview.alerts(handmade, contrat=None, donnees_au=date(2025, 7, 1), unpaid_months=6, tolerance_days=30)
    assert not any("instance" in m for m in alerts["message"].to_list())
    assert not any("subvention" in m for m in alerts["message"].to_list())


def test_soft_rules_are_warnings_not_errors(handmade, empty_store):
    insert(
        empty_store,
        "financement",
        [
            {
                "code_action": "A2",
                "financeur": "CAF",
                "annee": 2025,
                "montant_demande": 100,
                "montant_accorde": 100,
                "montant_verse": 150,
            }
        ],
    )
    checks = overview.soft_check_warnings(handmade, contrat="CV-A")
    assert dict(zip(checks["controle"], checks["nombre"])) == {
        "Lignes de financement dont le versé dépasse l'accordé": 1,
        # A1-A3 serve no QPV (hors QPV by the shared rule) while their flag says « non ».
        "Actions rattachées à aucun quartier sans être déclarées hors QPV (comptées hors QPV)": 3,
    }
    alerts = overview.alerts(handmade, contrat=None, donnees_au=date(2025, 7, 1), unpaid_months=6, tolerance_days=30)
    assert "Contrôles de cohérence" in alerts["categorie"].to_list()


def test_provenance_lists_the_latest_imports(demo_store):
    from datetime import datetime

    con = store.connect(demo_store)
    try:
        cur = con.cursor()
        assert overview.provenance(cur)["demo"] == "demo"
        assert overview.provenance(cur)["imports"].is_empty()
        con.execute(
            "INSERT INTO import_log (id_import, type_import, fichier, auteur, debut, fin, statut, nb_lignes) VALUES "
            "(1, 'programmation', 'dauphin_2026.csv', 'Cheffe de projet', ?, ?, 'validé', 120)",
            [datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 2, 9, 1)],
        )
        got = overview.provenance(cur)
        assert got["n_imports"] == 1
        assert got["imports"].row(0, named=True)["fichier"] == "dauphin_2026.csv"
    finally:
        con.close()
