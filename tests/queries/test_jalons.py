"""« Jalons et actualisation 2027 »: milestone status, readiness items (each true and false) on
hand-made stores, frozen baselines (immutable, and the diff on known changes), validated edits."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from cdv_core import store
from cdv_core.access import local_user
from cdv_core.domain import readiness as rd
from cdv_core.edits import jalons as edits
from cdv_core.queries import gouvernance as gouv
from cdv_core.queries import jalons as q
from tests.conftest import DEMO_AU, insert, minimal_contract

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

AU = date(2025, 12, 1)
QA, QB = "QN07511M", "QN07512M"


@pytest.fixture
def ready_store(empty_store):
    """One contract CV-A meeting every readiness item at AU (01/12/2025)."""
    con = empty_store
    minimal_contract(con, "CV-A", (QA, QB))
    insert(
        con, "projet_quartier", [{"code_qp": qp, "code_contrat": "CV-A", "libelle": f"Projet {qp}"} for qp in (QA, QB)]
    )
    insert(
        con,
        "objectif",
        [
            {
                "code_objectif": "O-A",
                "code_contrat": "CV-A",
                "code_qp": QA,
                "axe": "Emploi et insertion",
                "libelle": "Emploi des jeunes",
                "date_creation": date(2024, 3, 1),
            },
            {
                "code_objectif": "O-B",
                "code_contrat": "CV-A",
                "code_qp": QB,
                "axe": "Santé",
                "libelle": "Accès aux soins",
                "date_creation": date(2024, 3, 1),
            },
            {
                "code_objectif": "O-T",
                "code_contrat": "CV-A",
                "code_qp": None,
                "axe": "Participation citoyenne",
                "libelle": "Associer les habitants",
                "date_creation": date(2024, 3, 1),
            },
        ],
    )
    insert(
        con,
        "indicateur",
        [
            {"code_indicateur": "EMP", "libelle": "Taux d'emploi", "unite": "%", "sens": "hausse"},
            {"code_indicateur": "SAN", "libelle": "Recours au médecin", "unite": "%", "sens": "hausse"},
        ],
    )
    insert(
        con,
        "objectif_indicateur",
        [
            {"code_objectif": "O-A", "code_indicateur": "EMP"},
            {"code_objectif": "O-B", "code_indicateur": "SAN"},
            {"code_objectif": "O-T", "code_indicateur": "EMP"},
        ],
    )
    insert(
        con,
        "cible_indicateur",
        [
            {"code_indicateur": "EMP", "code_qp": QA, "valeur_reference": 40.0, "valeur_cible": 45.0},
            {"code_indicateur": "SAN", "code_qp": QB, "valeur_reference": 60.0, "valeur_cible": 70.0},
        ],
    )
    insert(
        con,
        "valeur_indicateur",
        [
            {
                "code_indicateur": "EMP",
                "type_territoire": "QPV",
                "code_territoire": QA,
                "date_valeur": date(2024, 1, 1),
                "valeur": 40.0,
            },
            {
                "code_indicateur": "EMP",
                "type_territoire": "QPV",
                "code_territoire": QA,
                "date_valeur": date(2025, 1, 1),
                "valeur": 42.0,
            },
            {
                "code_indicateur": "SAN",
                "type_territoire": "QPV",
                "code_territoire": QB,
                "date_valeur": date(2025, 1, 1),
                "valeur": 61.0,
            },
        ],
    )
    insert(
        con,
        "action",
        [
            {
                "code_action": "A1",
                "code_contrat": "CV-A",
                "id_porteur": "P-CV-A",
                "libelle": "CPO emploi",
                "thematique": "2.1",
                "mode_financement": "CPO",
                "annee_debut": 2024,
                "annee_fin": 2026,
                "statut": "en cours",
            },
            {
                "code_action": "A2",
                "code_contrat": "CV-A",
                "id_porteur": "P-CV-A",
                "libelle": "Santé 2024",
                "thematique": "1.2",
                "mode_financement": "AAP",
                "annee_debut": 2024,
                "annee_fin": 2024,
                "statut": "réalisée",
            },
        ],
    )
    insert(
        con,
        "financement",
        [
            {"code_action": "A1", "financeur": "État P147", "annee": 2024, "montant_accorde": 9000},
            {"code_action": "A2", "financeur": "commune", "annee": 2024, "montant_accorde": 3000},
            {"code_action": "A1", "financeur": "État P147", "annee": 2025, "montant_accorde": 10000},
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
                "code_qp": QA,
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
        ],
    )
    insert(
        con,
        "jalon",
        [
            {
                "id_jalon": "J0",
                "code_contrat": "CV-A",
                "type_jalon": "consultation conseils citoyens",
                "libelle": "Rapport 2024 soumis aux conseils citoyens",
                "date_prevue": date(2025, 5, 15),
                "date_realisation": date(2025, 5, 20),
                "annee": 2024,
            },
            {
                "id_jalon": "J1",
                "code_contrat": "CV-A",
                "type_jalon": "rapport annuel",
                "libelle": "Rapport 2024 voté",
                "date_prevue": date(2025, 6, 30),
                "date_realisation": date(2025, 7, 2),
                "annee": 2024,
            },
            {
                "id_jalon": "J2",
                "code_contrat": "CV-A",
                "type_jalon": "évaluation",
                "libelle": "Évaluation",
                "date_prevue": date(2026, 6, 30),
                "annee": 2026,
            },
            {
                "id_jalon": "J3",
                "code_contrat": "CV-A",
                "type_jalon": "actualisation 2027",
                "libelle": "Actualisation",
                "date_prevue": date(2027, 6, 30),
                "annee": 2027,
            },
        ],
    )
    return con


def _items(con, au=AU, max_age=24) -> dict[str, dict]:
    got = q.readiness(con.cursor(), contrat="CV-A", donnees_au=au, max_age_months=max_age)
    return {r["critere"]: r for r in got["items"].iter_rows(named=True)}


def test_every_item_met_on_the_ready_store(ready_store):
    got = q.readiness(ready_store.cursor(), contrat="CV-A", donnees_au=AU, max_age_months=24)
    assert got["items"]["critere"].to_list() == list(rd.ITEM_KEYS)
    assert got["items"].filter(~pl.col("ok")).is_empty(), got["items"].filter(~pl.col("ok"))["preuve"].to_list()
    assert (got["remplis"], got["total"], got["score"], got["pret"]) == (8, 8, 1.0, True)
    items = _items(ready_store)
    assert items["projets"]["preuve"] == "2 QPV sur 2 ont un projet de quartier avec des objectifs."
    assert items["cibles"]["preuve"].startswith("3 objectifs sur 3 ont une valeur de référence et une cible")
    assert items["indicateurs"]["preuve"] == "2 indicateurs suivis sur 2 sont à jour."
    assert items["rapports"]["preuve"] == "1 rapport annuel produit sur 1 échu."
    assert items["copil"]["preuve"] == "1 réunion de COPIL tenue dans les 12 derniers mois ; dernière le 01/05/2025."
    # P147 2025: 10 000 € accordés, all of it on a CPO action.
    assert (
        items["cpo"]["preuve"]
        == "Part des crédits P147 accordés en CPO en 2025 : 100,0\u00a0% (cible nationale ≥ 50\u00a0%)."
    )
    assert items["evaluation"]["preuve"] == "Évaluation prévue le 30/06/2026, pas encore échue."
    assert {r["page"] for r in got["items"].iter_rows(named=True)} <= {
        "Projets de quartier",
        "Indicateurs",
        "Mise à jour des données",
        "Jalons et actualisation 2027",
        "Gouvernance",
        "Actions et financements",
    }


BREAKERS = {
    "projets": (
        f"DELETE FROM projet_quartier WHERE code_qp = '{QB}'",
        f"1 QPV sur 2 a un projet de quartier avec des objectifs ; à compléter : Quartier {QB}.",
    ),
    "cibles": (
        f"UPDATE cible_indicateur SET valeur_cible = NULL WHERE code_qp = '{QB}'",
        "2 objectifs sur 3 ont une valeur de référence et une cible ; "
        "0 sans indicateur, 1 avec indicateur mais sans référence ou cible.",
    ),
    "indicateurs": (
        "UPDATE valeur_indicateur SET date_valeur = date_valeur - INTERVAL 2 YEAR WHERE code_indicateur = 'SAN'",
        "1 indicateur suivi sur 2 est à jour ; trop anciens : Recours au médecin (01/01/2023 ; plus de 24 mois).",
    ),
    "rapports": (
        "UPDATE jalon SET date_realisation = NULL WHERE id_jalon = 'J1'",
        "0 rapport annuel produit sur 1 échu ; 2024 : vote non réalisé.",
    ),
    "copil": (
        "UPDATE reunion SET statut = 'annulée' WHERE id_reunion = 'R1'",
        "0 réunion de COPIL tenue dans les 12 derniers mois ; aucune réunion tenue enregistrée.",
    ),
    "habitants": (
        "UPDATE reunion SET date_reunion = DATE '2024-11-30' WHERE id_reunion = 'R2'",
        "0 réunion de conseil citoyen ou table de quartier tenue dans les 12 derniers mois ; dernière le 30/11/2024.",
    ),
    "cpo": (
        "DELETE FROM financement WHERE financeur = 'État P147' AND annee = 2025",
        "Aucun crédit P147 accordé enregistré pour 2025 : la part en CPO ne peut pas être calculée.",
    ),
    "evaluation": (
        "UPDATE jalon SET date_prevue = DATE '2025-10-01' WHERE id_jalon = 'J2'",
        "Évaluation prévue mais non réalisée à l'échéance (en retard).",
    ),
}


@pytest.mark.parametrize("key", rd.ITEM_KEYS)
def test_each_item_fails_alone_with_its_evidence(ready_store, key):
    sql, evidence = BREAKERS[key]
    ready_store.execute(sql)
    items = _items(ready_store)
    assert not items[key]["ok"]
    assert items[key]["preuve"] == evidence
    assert [k for k, r in items.items() if not r["ok"]] == [key]
    got = q.readiness(ready_store.cursor(), contrat="CV-A", donnees_au=AU, max_age_months=24)
    assert (got["remplis"], got["pret"]) == (7, False)
    assert got["contrats"]["manquants"].to_list() == [items[key]["libelle"]]


def test_objective_without_indicator_and_transversal_rule(ready_store):
    # A transversal objective counts when one QPV of the contract has its baseline and target:
    # moving EMP's target to QB only (no EMP link for O-B) keeps O-T satisfied but not O-A.
    ready_store.execute(f"UPDATE cible_indicateur SET code_qp = '{QB}' WHERE code_indicateur = 'EMP'")
    items = _items(ready_store)
    assert items["cibles"]["preuve"].startswith("2 objectifs sur 3")
    # An objective with no indicator at all is counted as such.
    ready_store.execute("DELETE FROM objectif_indicateur WHERE code_objectif = 'O-T'")
    assert "1 sans indicateur" in _items(ready_store)["cibles"]["preuve"]


def test_indicator_age_boundary(ready_store):
    # Latest values 01/01/2025 are exactly 11 months old at AU: with the shared freshness rule
    # (cdv_core.domain.freshness) a value exactly `max_age` months old is still « à jour ».
    assert _items(ready_store, max_age=12)["indicateurs"]["ok"]
    assert _items(ready_store, max_age=11)["indicateurs"]["ok"]
    assert not _items(ready_store, max_age=10)["indicateurs"]["ok"]


def test_windows_of_twelve_months(ready_store):
    # COPIL held 01/05/2025: within 12 months until 01/05/2026, not after.
    assert _items(ready_store, au=date(2026, 4, 30))["copil"]["ok"]
    assert not _items(ready_store, au=date(2026, 5, 2))["copil"]["ok"]
    assert rd.COPIL_WINDOW_MONTHS == 12  # the window instance_cadence counts


def test_rapport_due_date_without_milestone(ready_store):
    # Year 2025's rapport: no milestone, due 30/06/2026 by default; met for 2024 only.
    assert _items(ready_store, au=date(2026, 6, 30))["rapports"]["preuve"] == (
        "1 rapport annuel produit sur 2 échus ; 2025 : conseils citoyens non consultés, vote non réalisé."
    )
    assert _items(ready_store, au=date(2026, 6, 29))["rapports"]["ok"]


def test_evaluation_done_or_planned_in_time(ready_store):
    ready_store.execute("UPDATE jalon SET date_prevue = DATE '2028-03-31' WHERE id_jalon = 'J2'")
    assert not _items(ready_store)["evaluation"]["ok"]  # planned after the actualisation horizon
    ready_store.execute("UPDATE jalon SET date_realisation = DATE '2025-11-15' WHERE id_jalon = 'J2'")
    items = _items(ready_store)
    assert items["evaluation"]["ok"] and items["evaluation"]["preuve"] == "Évaluation réalisée le 15/11/2025."


def test_rules_state_the_parameters():
    texts = {i.key: rd.rule_text(i, max_age_months=18, cpo_target=0.5) for i in rd.ITEMS}
    assert "au plus 18 mois" in texts["indicateurs"] and "moins de" not in texts["indicateurs"]
    assert "30/06" in texts["rapports"]
    assert f"au moins {gouv.RAPPORT_DELAI_MOIS} mois avant le vote" in texts["rapports"]
    assert "consultation des conseils citoyens" in texts["rapports"]
    assert "12 derniers mois" in texts["copil"] and "12 derniers mois" in texts["habitants"]
    assert "31/12/2027" in texts["evaluation"]
    assert f"÷ {len(rd.ITEMS)}" in rd.score_rule()


# --- milestones -----------------------------------------------------------------------------


@pytest.fixture
def milestone_store(empty_store):
    con = empty_store
    minimal_contract(con, "CV-A", (QA,))
    rows = [
        ("M1", date(2025, 12, 1), None),
        ("M2", date(2025, 11, 30), None),
        ("M3", date(2025, 11, 1), date(2025, 12, 1)),
        ("M4", date(2025, 11, 20), date(2025, 12, 2)),
        ("M5", date(2026, 3, 1), None),
        ("M6", date(2026, 3, 1), date(2025, 10, 1)),
    ]
    insert(
        con,
        "jalon",
        [
            {
                "id_jalon": i,
                "code_contrat": "CV-A",
                "type_jalon": "autre",
                "libelle": i,
                "date_prevue": p,
                "date_realisation": r,
            }
            for i, p, r in rows
        ],
    )
    return con


def test_milestone_status_around_the_data_date(milestone_store):
    got = q.milestones(milestone_store.cursor(), contrat="CV-A", donnees_au=AU)
    status = dict(zip(got["id_jalon"], got["statut"]))
    assert status == {
        "M1": "à venir",  # due on the data date itself: not late yet
        "M2": "en retard",  # due the day before, not done
        "M3": "réalisé",  # done on the data date
        "M4": "en retard",  # done after the data date: not done as of then
        "M5": "à venir",
        "M6": "réalisé",
    }  # done early
    assert dict(zip(got["id_jalon"], got["jours_retard"]))["M2"] == 1
    assert q.milestone_counts(milestone_store.cursor(), contrat="CV-A", donnees_au=AU) == {
        "réalisé": 2,
        "en retard": 2,
        "à venir": 2,
        "total": 6,
    }
    late = q.milestones(milestone_store.cursor(), contrat="CV-A", donnees_au=AU, statut="en retard")
    assert sorted(late["id_jalon"]) == ["M2", "M4"]
    points = q.timeline(milestone_store.cursor(), contrat=None, donnees_au=AU)
    assert points["nombre"].sum() == 6


def test_demo_counts_match_independent_sql(demo_cur):
    got = q.milestone_counts(demo_cur, contrat=None, donnees_au=DEMO_AU)
    late = demo_cur.execute(
        "SELECT count(*) FROM jalon WHERE date_prevue < ? AND (date_realisation IS NULL OR date_realisation > ?)",
        [DEMO_AU, DEMO_AU],
    ).fetchall()[0][0]
    done = demo_cur.execute("SELECT count(*) FROM jalon WHERE date_realisation <= ?", [DEMO_AU]).fetchall()[0][0]
    assert (got["en retard"], got["réalisé"]) == (late, done)
    assert late > 0  # the demo has late milestones to show


def test_demo_has_a_contract_not_ready_with_its_missing_items(demo_cur):
    got = q.readiness(demo_cur, contrat="CV-DEMO-MONT", donnees_au=DEMO_AU, max_age_months=24)
    assert not got["pret"]
    missing = got["items"].filter(~pl.col("ok"))["critere"].to_list()
    assert "projets" in missing
    qpv_without = demo_cur.execute(
        "SELECT libelle FROM quartier q WHERE code_contrat = 'CV-DEMO-MONT' "
        "AND code_qp NOT IN (SELECT code_qp FROM projet_quartier)"
    ).fetchall()
    assert qpv_without and all(
        name in got["items"].filter(pl.col("critere") == "projets")["preuve"][0] for (name,) in qpv_without
    )
    everything = q.readiness(demo_cur, contrat=None, donnees_au=DEMO_AU, max_age_months=24)
    assert everything["contrats"].height == 3
    per = dict(zip(everything["contrats"]["code_contrat"], everything["contrats"]["remplis"]))
    for code, remplis in per.items():
        assert q.readiness(demo_cur, contrat=code, donnees_au=DEMO_AU, max_age_months=24)["remplis"] == remplis


# --- frozen baseline ------------------------------------------------------------------------


def _snapshot_tables(cur, id_gel):
    return {
        t: cur.sql(f"SELECT * EXCLUDE (id_gel) FROM {t} WHERE id_gel = $id ORDER BY ALL", params={"id": id_gel}).pl()
        for t in ("reference_gel_objectif", "reference_gel_thematique", "reference_gel_indicateur")
    }


def test_freeze_then_later_writes_leave_the_snapshot_intact_and_show_in_the_diff(ready_store):
    con = ready_store
    id_gel = edits.freeze_baseline(
        con, code_contrat="CV-A", now=datetime(2025, 12, 1, 9, 0), user=LOCAL
    )  # default: signature 31/03/2024
    cur = con.cursor()
    gel = q.baselines(cur, contrat="CV-A").row(0, named=True)
    assert (gel["id_gel"], gel["date_gel"], gel["annee_programmation"], gel["libelle"]) == (
        id_gel,
        date(2024, 3, 31),
        2024,
        "Référence au 31/03/2024",
    )
    before = _snapshot_tables(cur, id_gel)
    assert sorted(before["reference_gel_objectif"]["code_objectif"]) == ["O-A", "O-B", "O-T"]
    # 2024 programmation: A1 (2.1, 9 000 € P147) and A2 (1.2, 3 000 € commune).
    assert dict(
        zip(before["reference_gel_thematique"]["thematique"], before["reference_gel_thematique"]["montant_accorde"])
    ) == {"1.2": 3000.0, "2.1": 9000.0}
    # Indicator values at 31/03/2024: EMP 2024 = 40 in QA; SAN has no value yet.
    assert before["reference_gel_indicateur"].select("code_indicateur", "code_qp", "valeur").rows() == [
        ("EMP", QA, 40.0)
    ]

    with store.transaction(con) as w:  # a later « import »
        w.execute("UPDATE objectif SET libelle = 'Emploi et formation des jeunes' WHERE code_objectif = 'O-A'")
        w.execute("DELETE FROM objectif_indicateur WHERE code_objectif = 'O-B'")
        w.execute("DELETE FROM objectif WHERE code_objectif = 'O-B'")
        w.execute(
            "INSERT INTO objectif VALUES ('O-N', 'CV-A', ?, 'Cadre de vie', 'Rénover les halls', DATE '2025-06-01')",
            [QB],
        )
        w.execute("UPDATE financement SET montant_accorde = 1 WHERE annee = 2024")
        w.execute("UPDATE valeur_indicateur SET valeur = 0 WHERE date_valeur = DATE '2024-01-01'")
    for table, frame in _snapshot_tables(con.cursor(), id_gel).items():
        assert frame.equals(before[table]), table

    diff = q.baseline_diff(con.cursor(), id_gel=id_gel, donnees_au=AU)
    changes = dict(zip(diff["objectifs"]["code_objectif"], diff["objectifs"]["changement"]))
    assert changes == {"O-A": "libellé modifié", "O-B": "supprimé", "O-N": "ajouté"}
    th = {r["thematique"]: r for r in diff["thematiques"].iter_rows(named=True)}
    # Then: 2024 as frozen (untouched by the later write). Now: 2025 programmation = A1 only, 10 000 €.
    assert (th["2.1"]["montant_avant"], th["2.1"]["montant_maintenant"], th["2.1"]["ecart_montant"]) == (
        9000.0,
        10000.0,
        1000.0,
    )
    assert (th["1.2"]["actions_avant"], th["1.2"]["actions_maintenant"], th["1.2"]["montant_maintenant"]) == (1, 0, 0.0)
    ind = {(r["code_indicateur"], r["code_qp"]): r for r in diff["indicateurs"].iter_rows(named=True)}
    assert (ind[("EMP", QA)]["valeur_avant"], ind[("EMP", QA)]["valeur_maintenant"]) == (40.0, 42.0)
    assert ind[("EMP", QA)]["ecart"] == pytest.approx(2.0) and ind[("EMP", QA)]["evolution"] == "favorable"
    assert ind[("SAN", QB)]["valeur_avant"] is None and ind[("SAN", QB)]["valeur_maintenant"] == 61.0


def test_freeze_validation(ready_store):
    with pytest.raises(store.IntegrityError, match="contrat « CV-X » inconnu"):
        edits.freeze_baseline(ready_store, code_contrat="CV-X", now=datetime(2025, 12, 1), user=LOCAL)
    with pytest.raises(store.IntegrityError, match="dans le futur"):
        edits.freeze_baseline(
            ready_store, code_contrat="CV-A", date_gel=date(2026, 1, 1), now=datetime(2025, 12, 1), user=LOCAL
        )
    assert ready_store.execute("SELECT count(*) FROM reference_gel").fetchall()[0][0] == 0
    first = edits.freeze_baseline(
        ready_store, code_contrat="CV-A", date_gel=AU, libelle="Bilan", now=datetime(2025, 12, 1), user=LOCAL
    )
    second = edits.freeze_baseline(
        ready_store, code_contrat="CV-A", date_gel=AU, libelle="Bilan bis", now=datetime(2025, 12, 2), user=LOCAL
    )
    assert second == first + 1
    assert q.baselines(ready_store.cursor(), contrat="CV-A")["libelle"].to_list() == ["Bilan bis", "Bilan"]


def test_demo_baseline_shows_objective_changes(demo_cur):
    frozen = q.baselines(demo_cur, contrat="CV-DEMO-VERM")
    assert frozen.height == 1 and frozen["date_gel"][0] == date(2024, 3, 29)
    diff = q.baseline_diff(demo_cur, id_gel=int(frozen["id_gel"][0]), donnees_au=DEMO_AU)
    assert sorted(diff["objectifs"]["changement"]) == ["ajouté", "supprimé"]
    now_2026 = demo_cur.execute(
        """SELECT CAST(sum(f.montant_accorde) AS DOUBLE) FROM financement f JOIN action a USING (code_action)
           WHERE a.code_contrat = 'CV-DEMO-VERM' AND f.annee = 2026 AND a.statut <> 'refusée'
             AND a.annee_debut <= 2026 AND a.annee_fin >= 2026"""
    ).fetchall()[0][0]
    assert diff["thematiques"]["montant_maintenant"].sum() == pytest.approx(now_2026)


# --- edits ----------------------------------------------------------------------------------


def test_add_milestone_validated(ready_store):
    new_id = edits.add_milestone(
        ready_store,
        code_contrat="CV-A",
        type_jalon="revue annuelle",
        libelle="  Revue 2025 ",
        date_prevue=date(2025, 10, 15),
        today=AU,
        user=LOCAL,
    )
    row = ready_store.execute(
        "SELECT code_contrat, type_jalon, libelle, date_prevue, annee, date_realisation FROM jalon WHERE id_jalon = ?",
        [new_id],
    ).fetchall()
    assert new_id == "J-CV-A-001"
    assert row == [("CV-A", "revue annuelle", "Revue 2025", date(2025, 10, 15), 2025, None)]
    assert q.milestones(ready_store.cursor(), contrat="CV-A", donnees_au=AU, statut="en retard")[
        "id_jalon"
    ].to_list() == [new_id]
    before = ready_store.execute("SELECT count(*) FROM jalon").fetchall()[0][0]
    with pytest.raises(store.IntegrityError) as err:
        edits.add_milestone(
            ready_store,
            code_contrat="CV-A",
            type_jalon="fête",
            libelle=" ",
            date_prevue=date(2031, 6, 1),
            date_realisation=date(2026, 1, 1),
            today=AU,
            user=LOCAL,
        )
    text = str(err.value)
    assert "type de jalon « fête » inconnu" in text and "libellé du jalon est obligatoire" in text
    assert "hors de la période du contrat" in text and "dans le futur" in text
    assert ready_store.execute("SELECT count(*) FROM jalon").fetchall()[0][0] == before


def test_mark_done(ready_store):
    edits.mark_done(ready_store, id_jalon="J2", date_realisation=date(2025, 11, 20), today=AU, user=LOCAL)
    assert _items(ready_store)["evaluation"]["preuve"] == "Évaluation réalisée le 20/11/2025."
    with pytest.raises(store.IntegrityError, match="dans le futur"):
        edits.mark_done(ready_store, id_jalon="J3", date_realisation=date(2025, 12, 2), today=AU, user=LOCAL)
    with pytest.raises(store.IntegrityError, match="introuvable"):
        edits.mark_done(ready_store, id_jalon="J-NOPE", date_realisation=AU, today=AU, user=LOCAL)
    assert ready_store.execute("SELECT date_realisation FROM jalon WHERE id_jalon = 'J3'").fetchall() == [(None,)]


def test_a_criterion_no_contract_meets_says_aucun(demo_cur):
    items = q.readiness(demo_cur, contrat=None, donnees_au=DEMO_AU, max_age_months=24)["items"]
    cibles = items.filter(pl.col("critere") == "cibles").row(0, named=True)
    n = demo_cur.execute("SELECT count(*) FROM contrat").fetchall()[0][0]
    assert not cibles["ok"] and cibles["preuve"].startswith(f"Aucun contrat sur {n} ne remplit ce critère")
