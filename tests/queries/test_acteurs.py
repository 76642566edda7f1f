"""« Acteurs et ingénierie »: every figure on a hand-made store (hand-computed expectations)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core import store
from cdv_core.domain import identifiers
from cdv_core.queries import acteurs as q
from tests.conftest import insert, minimal_contract

QA, QB, QC = "QN07511M", "QN07512N", "QN09311M"
AU = date(2026, 11, 15)


def _siret(prefix13: str) -> str:
    """A Luhn-valid SIRET from 13 digits (the check digit is searched)."""
    return next(prefix13 + str(d) for d in range(10) if identifiers.luhn_valid(prefix13 + str(d)))


SIRET_OK = _siret("7328293200007")
SIRET_BAD = next(SIRET_OK[:13] + str(d) for d in range(10) if not identifiers.luhn_valid(SIRET_OK[:13] + str(d)))


def _action(code, contrat, porteur, mode, year_from, year_to, qpv, thematique="1.5"):
    return (
        {
            "code_action": code,
            "code_contrat": contrat,
            "id_porteur": porteur,
            "libelle": f"Action {code}",
            "thematique": thematique,
            "mode_financement": mode,
            "annee_debut": year_from,
            "annee_fin": year_to,
            "statut": "accordée",
        },
        [{"code_action": code, "code_qp": x} for x in qpv],
    )


def _fin(code, financeur, annee, montant):
    return {"code_action": code, "financeur": financeur, "annee": annee, "montant_accorde": montant}


@pytest.fixture
def con(empty_store):
    """Contract CV-T (QPV A and B) and CV-U (QPV C).

    P1 (association sans salarié, valid SIRET) acts in A and B through A1, in A through A2/A3,
    and in C (other contract) through A6; P2 (association avec salariés, invalid SIRET, CPO) in B;
    P3 (collectivité, no typology recorded) in A; X1 a collectif without funding in A, seated at
    the COPIL.
    """
    c = empty_store
    minimal_contract(c, "CV-T", (QA, QB))
    minimal_contract(c, "CV-U", (QC,))
    insert(
        c,
        "porteur",
        [
            {
                "id_porteur": "P1",
                "siret": SIRET_OK,
                "rna": "W751234567",
                "nom": "Asso du quartier",
                "type_structure": "association sans salarié",
            },
            {
                "id_porteur": "P2",
                "siret": SIRET_BAD,
                "nom": "Centre social",
                "type_structure": "association avec salariés",
            },
            {"id_porteur": "P3", "nom": "Ville", "type_structure": "collectivité"},
        ],
    )
    actions, links = [], []
    for spec in [
        ("A1", "CV-T", "P1", "AAP", 2024, 2024, (QA, QB)),
        ("A2", "CV-T", "P1", "AAP", 2025, 2025, (QA,)),
        ("A3", "CV-T", "P1", "AAP", 2026, 2026, (QA,)),
        ("A4", "CV-T", "P2", "CPO", 2024, 2026, (QB,)),
        ("A5", "CV-T", "P3", "AAP", 2026, 2026, (QA,)),
        ("A6", "CV-U", "P1", "AAP", 2026, 2026, (QC,)),
    ]:
        action, action_links = _action(*spec)
        actions.append(action)
        links += action_links
    insert(c, "action", actions)
    insert(c, "action_quartier", links)
    insert(
        c,
        "financement",
        [
            _fin("A1", "État P147", 2024, 1000),
            _fin("A1", "commune", 2024, 1000),
            _fin("A2", "État P147", 2025, 3000),
            _fin("A3", "État P147", 2026, 2000),
            _fin("A4", "commune", 2024, 5000),
            _fin("A4", "commune", 2025, 5000),
            _fin("A4", "commune", 2026, 5000),
            _fin("A4", "CAF", 2024, 5000),
            _fin("A5", "EPCI", 2026, 4000),
            _fin("A6", "État P147", 2026, 10000),
        ],
    )
    insert(
        c,
        "acteur",
        [
            {"id_acteur": "P1", "mode_intervention": "installé dans le quartier"},
            {"id_acteur": "P2", "mode_intervention": "intervient sur le quartier"},
            {
                "id_acteur": "X1",
                "code_contrat": "CV-T",
                "nom": "Collectif d'habitants",
                "type_structure": "association sans salarié",
                "mode_intervention": "installé dans le quartier",
            },
        ],
    )
    insert(
        c,
        "acteur_domaine",
        [
            {"id_acteur": "P1", "domaine": "sport"},
            {"id_acteur": "P1", "domaine": "animation"},
            {"id_acteur": "P2", "domaine": "action sociale"},
            {"id_acteur": "P2", "domaine": "éducation"},
            {"id_acteur": "X1", "domaine": "participation"},
        ],
    )
    insert(c, "acteur_quartier", [{"id_acteur": "X1", "code_qp": QA}])
    insert(
        c,
        "instance",
        [
            {
                "code_instance": "I1",
                "code_contrat": "CV-T",
                "type_instance": "COPIL",
                "libelle": "Comité de pilotage",
                "cadence_mois": 12,
            }
        ],
    )
    insert(
        c,
        "acteur_instance",
        [
            {"id_acteur": "X1", "code_instance": "I1", "role": "membre"},
            {"id_acteur": "P2", "code_instance": "I1", "role": "partenaire"},
        ],
    )
    insert(
        c,
        "objectif",
        [
            {
                "code_objectif": "O1",
                "code_contrat": "CV-T",
                "code_qp": QA,
                "axe": "Participation citoyenne",
                "libelle": "o1",
            },
            {"code_objectif": "O2", "code_contrat": "CV-T", "code_qp": QB, "axe": "Santé", "libelle": "o2"},
            {
                "code_objectif": "O3",
                "code_contrat": "CV-T",
                "code_qp": QB,
                "axe": "Éducation et émancipation",
                "libelle": "o3",
            },
        ],
    )
    insert(
        c,
        "poste",
        [
            {
                "id_poste": "PO1",
                "code_contrat": "CV-T",
                "type_poste": "chef de projet politique de la ville",
                "employeur": "EPCI",
                "etp": 1.0,
                "date_debut": date(2024, 1, 1),
                "cout_annuel": 60000,
                "niveau_responsabilite": "pilotage",
                "elu_referent": "Vice-président",
            },
            {
                "id_poste": "PO2",
                "code_contrat": "CV-T",
                "code_qp": QA,
                "type_poste": "adulte-relais",
                "employeur": "Asso",
                "id_employeur": "P1",
                "etp": 1.0,
                "date_debut": date(2024, 1, 1),
                "date_fin": date(2026, 12, 31),
                "cout_annuel": 35000,
            },
            {
                "id_poste": "PO3",
                "code_contrat": "CV-T",
                "type_poste": "poste FONJEP",
                "employeur": "Centre social",
                "etp": 0.5,
                "date_debut": date(2025, 1, 1),
            },
            {
                "id_poste": "PO4",
                "type_poste": "adulte-relais",
                "employeur": "Asso lointaine",
                "etp": 1.0,
                "code_cv_2015": "CV123",
                "source": "adultes-relais 2023",
            },
            {
                "id_poste": "PO5",
                "code_contrat": "CV-T",
                "type_poste": "chargé de mission",
                "employeur": "EPCI",
                "etp": 1.0,
                "date_debut": date(2020, 1, 1),
                "date_fin": date(2023, 12, 31),
            },
        ],
    )
    insert(
        c,
        "financement_poste",
        [
            {"id_poste": "PO1", "financeur": "État P147", "annee": 2026, "montant": 20000},
            {"id_poste": "PO1", "financeur": "EPCI", "annee": 2026, "montant": 40000},
            {"id_poste": "PO2", "financeur": "État P147", "annee": 2026, "montant": 22555.73},
            {"id_poste": "PO3", "financeur": "État P147", "annee": 2026, "montant": 3582},
            {"id_poste": "PO4", "financeur": "État P147", "annee": 2023, "montant": 22555.73},
        ],
    )
    insert(
        c, "reunion", [{"id_reunion": "R1", "code_instance": "I1", "date_reunion": date(2025, 6, 1), "statut": "tenue"}]
    )
    insert(
        c,
        "decision",
        [
            {
                "id_decision": "D1",
                "id_reunion": "R1",
                "libelle": "Relancer",
                "date_echeance": date(2025, 12, 1),
                "statut": "à faire",
            },
            {
                "id_decision": "D2",
                "id_reunion": "R1",
                "libelle": "Fait",
                "date_echeance": date(2025, 12, 1),
                "statut": "faite",
            },
            {
                "id_decision": "D3",
                "id_reunion": "R1",
                "libelle": "Plus tard",
                "date_echeance": date(2027, 1, 1),
                "statut": "en cours",
            },
        ],
    )
    insert(
        c,
        "feuille_de_route",
        [
            {
                "id_item": "F1",
                "code_contrat": "CV-T",
                "libelle": "Rapport annuel",
                "id_poste": "PO1",
                "date_echeance": date(2026, 1, 1),
                "statut": "en cours",
                "id_decision": "D1",
            },
            {
                "id_item": "F2",
                "code_contrat": "CV-T",
                "libelle": "Programmation",
                "date_echeance": date(2026, 1, 1),
                "statut": "faite",
            },
            {
                "id_item": "F3",
                "code_contrat": "CV-T",
                "libelle": "Actualisation",
                "date_echeance": date(2027, 6, 1),
                "statut": "à faire",
            },
            {
                "id_item": "F4",
                "code_contrat": "CV-U",
                "libelle": "Autre contrat",
                "date_echeance": date(2026, 1, 1),
                "statut": "à faire",
            },
        ],
    )
    return c


def test_hand_made_store_passes_the_integrity_rules(con):
    assert store.integrity_errors(con.cursor()) == []


def test_integrity_rules_refuse_an_actor_without_name_or_contract(con):
    insert(con, "acteur", [{"id_acteur": "X2", "mode_intervention": "en proximité"}])
    insert(con, "acteur_quartier", [{"id_acteur": "X1", "code_qp": "QN99999M"}])
    insert(con, "financement_poste", [{"id_poste": "NOPE", "financeur": "CAF", "annee": 2026, "montant": 1}])
    problems = store.integrity_errors(con.cursor())
    assert any("X2" in p and "nom" in p for p in problems)
    assert any("QN99999M" in p for p in problems)
    assert any("NOPE" in p for p in problems)


def test_directory_scopes_actors_and_their_qpv_to_the_contract(con):
    d = q.directory(con.cursor(), contrat="CV-T", annee=2026)
    assert sorted(d["id_acteur"]) == ["P1", "P2", "P3", "X1"]
    p1 = d.row(by_predicate=pl.col("id_acteur") == "P1", named=True)
    assert p1["nb_qpv"] == 2 and p1["nb_actions"] == 3  # A and B; C belongs to CV-U
    assert p1["accorde_annee"] == 2000 and p1["accorde_cpo_annee"] == 0
    assert p1["siret_valide"] is True and p1["rna_valide"] is True
    assert p1["domaines"] == "animation, sport"
    p2 = d.row(by_predicate=pl.col("id_acteur") == "P2", named=True)
    assert p2["accorde_cpo_annee"] == 5000 and p2["siret_valide"] is False and p2["rna_valide"] is None
    assert p2["nb_instances"] == 1
    x1 = d.row(by_predicate=pl.col("id_acteur") == "X1", named=True)
    assert x1["est_porteur"] is False and x1["nb_qpv"] == 1 and x1["nom"] == "Collectif d'habitants"
    p3 = d.row(by_predicate=pl.col("id_acteur") == "P3", named=True)
    assert p3["mode_intervention"] == q.MODE_NON_RENSEIGNE
    everywhere = q.directory(con.cursor(), contrat=None, annee=2026)
    assert everywhere.row(by_predicate=pl.col("id_acteur") == "P1", named=True)["nb_qpv"] == 3
    assert everywhere.row(by_predicate=pl.col("id_acteur") == "P1", named=True)["accorde_annee"] == 12000


def test_directory_order_is_the_same_at_every_run_for_equal_names_and_amounts(con):
    """Actors of the same name and amount come by identifier: the order, and which one is the
    500th shown (`DIRECTORY_CAP`), no longer depend on the run (DuckDB's hash order)."""
    twins = [
        {
            "id_acteur": f"Z{i:02d}",
            "code_contrat": "CV-T",
            "nom": "Amicale du quartier",
            "type_structure": "association sans salarié",
            "mode_intervention": "intervient sur le quartier",
        }
        for i in (7, 3, 11, 1, 5, 9, 2)
    ]
    insert(con, "acteur", twins)
    for _ in range(5):
        d = q.directory(con.cursor(), contrat="CV-T", annee=2026)
        named = d.filter(pl.col("nom") == "Amicale du quartier")["id_acteur"].to_list()
        assert named == sorted(t["id_acteur"] for t in twins)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"modes": ("installé dans le quartier",)}, ["P1", "X1"]),
        ({"modes": (q.MODE_NON_RENSEIGNE,)}, ["P3"]),
        ({"domaines": ("sport", "participation")}, ["P1", "X1"]),
        ({"types": ("collectivité",)}, ["P3"]),
        ({"modes": ("installé dans le quartier",), "types": ("association avec salariés",)}, []),
    ],
)
def test_directory_filters_by_typology(con, filters, expected):
    assert sorted(q.directory(con.cursor(), contrat="CV-T", annee=2026, **filters)["id_acteur"]) == expected


def test_typology_counts(con):
    counts = q.typology_counts(con.cursor(), contrat="CV-T")
    got = {(r["typologie"], r["valeur"]): r["nb_acteurs"] for r in counts.iter_rows(named=True)}
    assert got[("mode d'intervention", "installé dans le quartier")] == 2
    assert got[("mode d'intervention", "intervient sur le quartier")] == 1
    assert got[("mode d'intervention", q.MODE_NON_RENSEIGNE)] == 1
    assert got[("structure", "association sans salarié")] == 2
    assert got[("domaine", "sport")] == 1 and got[("domaine", "participation")] == 1
    assert got[("domaine", q.MODE_NON_RENSEIGNE)] == 1  # P3 has no domain
    filtered = q.typology_counts(con.cursor(), contrat="CV-T", types=("association sans salarié",))
    assert filtered.filter(pl.col("typologie") == "structure")["nb_acteurs"].to_list() == [2]


def test_actors_by_qpv_counts_each_actor_once_per_qpv(con):
    frame = q.actors_by_qpv(con.cursor(), contrat="CV-T", id_acteur="P2")
    got = {r["code_qp"]: (r["nb_acteurs"], r["acteur_present"]) for r in frame.iter_rows(named=True)}
    assert got == {QA: (3, False), QB: (2, True)}  # A: P1 P3 X1 ; B: P1 P2
    only_assoc = q.actors_by_qpv(con.cursor(), contrat="CV-T", types=("association sans salarié",))
    assert dict(zip(only_assoc["code_qp"], only_assoc["nb_acteurs"])) == {QA: 2, QB: 1}


def test_coverage_gaps_against_the_projet_de_quartier_axes(con):
    gaps = q.coverage_gaps(con.cursor(), contrat="CV-T", seuil=2)
    got = {(r["code_qp"], r["axe"]): (r["nb_acteurs"], r["peu_couvert"]) for r in gaps.iter_rows(named=True)}
    assert got == {
        (QA, "Participation citoyenne"): (2, False),  # X1 participation, P1 animation
        (QB, "Santé"): (0, True),
        (QB, "Éducation et émancipation"): (2, False),
    }  # P1 sport, P2 éducation
    assert q.coverage_gaps(con.cursor(), contrat="CV-T", seuil=3).filter("peu_couvert").height == 3


def test_funder_dependency(con):
    dep = q.funder_dependency(con.cursor(), contrat="CV-T", seuil=0.8)
    got = {
        r["id_acteur"]: (r["financeur_principal"], round(r["part_financeur_principal"], 4), r["dependant"])
        for r in dep.iter_rows(named=True)
    }
    assert got == {
        "P1": ("État P147", round(6000 / 7000, 4), True),
        "P2": ("commune", 0.75, False),
        "P3": ("EPCI", 1.0, True),
    }
    assert q.funder_dependency(con.cursor(), contrat="CV-T", seuil=0.9).filter("dependant")["id_acteur"].to_list() == [
        "P3"
    ]


def test_small_association_share_and_its_trend(con):
    share = q.small_association_share(con.cursor(), contrat="CV-T")
    assert share["annee"].to_list() == [2024, 2025, 2026]
    assert share["part"].to_list() == pytest.approx([2000 / 12000, 3000 / 8000, 2000 / 11000])
    assert share["evolution"][0] is None
    assert share["evolution"][1] == pytest.approx(3000 / 8000 - 2000 / 12000)


def test_cpo_candidates_are_funded_every_year_without_cpo(con):
    cand = q.cpo_candidates(con.cursor(), contrat="CV-T", annee=2026, min_annees=3)
    assert cand["id_acteur"].to_list() == ["P1"]  # P2 has a CPO, P3 only 2026
    assert cand["total_accorde"][0] == 7000
    assert q.cpo_candidates(con.cursor(), contrat="CV-T", annee=2025, min_annees=3).is_empty()
    # P3 (a commune) is funded in 2026 without a CPO, but a CPO is a convention with an association
    assert q.cpo_candidates(con.cursor(), contrat="CV-T", annee=2026, min_annees=1)["id_acteur"].to_list() == ["P1"]


def test_actor_detail(con):
    d = q.actor_detail(con.cursor(), id_acteur="P1", contrat="CV-T")
    assert d["financement"].select("annee", "mode", "accorde").rows() == [
        (2024, "annuel", 2000),
        (2025, "annuel", 3000),
        (2026, "annuel", 2000),
    ]
    assert d["actions"]["code_action"].to_list() == ["A3", "A2", "A1"]
    assert d["postes"]["id_poste"].to_list() == ["PO2"]
    x1 = q.actor_detail(con.cursor(), id_acteur="X1", contrat="CV-T")
    assert x1["instances"]["code_instance"].to_list() == ["I1"] and x1["actions"].is_empty()
    assert x1["identite"]["nom"][0] == "Collectif d'habitants"


def test_posts_with_co_funding_and_reference_amounts(con):
    posts = q.posts(con.cursor(), contrat="CV-T", annee=2026)
    assert posts["id_poste"].to_list() == ["PO1", "PO2", "PO3"]  # PO5 ended in 2023, PO4 not attached
    po1 = posts.row(0, named=True)
    assert po1["cofinance"] is True and po1["nb_financeurs"] == 2 and po1["finance"] == 60000
    assert po1["finance_etat"] == 20000 and po1["montant_reference"] is None
    po3 = posts.row(2, named=True)
    assert po3["montant_reference"] == pytest.approx(q.MONTANT_FONJEP * 0.5)
    summary = q.posts_summary(con.cursor(), contrat="CV-T", annee=2026)
    s = {r["type_poste"]: r for r in summary.iter_rows(named=True)}
    assert s["chef de projet politique de la ville"]["couverture"] == pytest.approx(1.0)
    assert s["chef de projet politique de la ville"]["nb_cofinances"] == 1
    assert s["adulte-relais"]["montant_reference"] == pytest.approx(22555.73)
    assert s["adulte-relais"]["couverture"] == pytest.approx(22555.73 / 35000)
    assert s["poste FONJEP"]["cout"] is None and s["poste FONJEP"]["couverture"] is None
    assert q.MONTANT_ADULTE_RELAIS_2023 == 22555.73 and q.MONTANT_FONJEP == 7164


def test_relay_posts_by_qpv_and_2015_codes(con):
    relay = q.relay_posts_by_qpv(con.cursor(), contrat="CV-T", annee=2026)
    assert relay.select("quartier", "type_poste", "nb_postes").rows() == [
        (f"Quartier {QA}", "adulte-relais", 1),
        ("sans QPV", "poste FONJEP", 1),
    ]
    codes = q.posts_by_code_2015(con.cursor(), annee=2023)
    assert codes.select("code_cv_2015", "code_contrat", "nb_postes").rows() == [("CV123", None, 1)]
    assert q.posts(con.cursor(), contrat="CV-T", annee=2023).filter(pl.col("id_poste") == "PO4").is_empty()
    insert(con, "correspondance_contrat", [{"code_cv_2015": "CV123", "code_contrat": "CV-T"}])
    assert "PO4" in q.posts(con.cursor(), contrat="CV-T", annee=2023)["id_poste"].to_list()
    assert q.posts_by_code_2015(con.cursor(), annee=2023)["code_contrat"].to_list() == ["CV-T"]


def test_roadmap_and_open_decisions(con):
    road = q.roadmap(con.cursor(), contrat="CV-T", donnees_au=AU)
    assert road["id_item"].to_list()[0] == "F1"
    assert dict(zip(road["id_item"], road["en_retard"])) == {"F1": True, "F2": False, "F3": False}
    assert road["poste_responsable"][0] == "chef de projet politique de la ville" and road["decision"][0] == "Relancer"
    dec = q.open_decisions(con.cursor(), contrat="CV-T", donnees_au=AU)
    assert dict(zip(dec["id_decision"], dec["en_retard"])) == {"D1": True, "D3": False}


def test_demo_store_has_the_acteurs_tables(demo_cur):
    counts = dict(
        demo_cur.execute(
            """SELECT 'sans financement', count(*) FROM acteur a ANTI JOIN porteur p ON p.id_porteur = a.id_acteur
           UNION ALL SELECT 'adultes-relais', count(*) FROM poste WHERE type_poste = 'adulte-relais'
           UNION ALL SELECT 'fonjep', count(*) FROM poste WHERE type_poste = 'poste FONJEP'
           UNION ALL SELECT 'cofinancés', count(*) FROM (SELECT id_poste FROM financement_poste GROUP BY id_poste, annee
                                                          HAVING count(*) > 1)
           UNION ALL SELECT 'feuille', count(*) FROM feuille_de_route
           UNION ALL SELECT 'sans typologie', count(*) FROM porteur p ANTI JOIN acteur a
             ON a.id_acteur = p.id_porteur"""
        ).fetchall()
    )
    assert counts["sans financement"] > 0 and counts["adultes-relais"] > 0 and counts["fonjep"] > 0
    assert counts["cofinancés"] > 0 and counts["feuille"] > 0 and counts["sans typologie"] == 0
    assert store.integrity_errors(demo_cur) == []
