"""« Acteurs et ingénierie »: the headline figures (KPI cards) are computed by `cdv_core`
functions, checked on a hand-made store against hand-computed numbers, and on the demo store
against independent SQL and the page itself."""

from __future__ import annotations

from datetime import date

import pytest

from cdv_core import fmt
from cdv_core.queries import acteurs as q
from tests.conftest import DEMO_AU, insert, minimal_contract, run_app
from tests.queries.test_acteurs import _action as acteurs_action
from tests.queries.test_acteurs import _fin

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

QA, QB, QC, QD = "QN07511M", "QN07512N", "QN09311M", "QN07513C"
INSTALLE = "installé dans le quartier"


def _action(code, contrat, porteur, qpv):
    """An AAP action of 2023-2026 and its QPV links (the rows of `tests.queries.test_acteurs._action`)."""
    return acteurs_action(code, contrat, porteur, "AAP", 2023, 2026, qpv)


@pytest.fixture
def con(empty_store):
    """CV-T (QPV A, B, D) and CV-U (QPV C); minimal_contract adds porteurs P-CV-T and P-CV-U
    that carry no action and are recorded nowhere (actors of « tous les contrats » only).

    P1 (association sans salarié, installé) acts in A (A1, CV-T) and C (A6, CV-U); P2 (association
    avec salariés, no typology, domain éducation) in B (A2) and had a 2023 line (A4); P3
    (collectivité) in A (A3) with an amount accordé of 0; X1 (no funding, CV-T, installé,
    participation) acts in B; X2 (no funding, CV-U) acts nowhere. QPV D has no actor.

    Funding accordé: A1 État P147 2025 800 + commune 2025 200 (P1 in CV-T: État = 80 %, exactly
    the threshold); A6 État P147 2026 1 000; A2 commune 2026 3 000 + CAF 2026 1 000;
    A4 commune 2023 500; A3 EPCI 2026 0.
    """
    c = empty_store
    minimal_contract(c, "CV-T", (QA, QB, QD))
    minimal_contract(c, "CV-U", (QC,))
    insert(
        c,
        "porteur",
        [
            {"id_porteur": "P1", "nom": "Asso du quartier", "type_structure": "association sans salarié"},
            {"id_porteur": "P2", "nom": "Centre social", "type_structure": "association avec salariés"},
            {"id_porteur": "P3", "nom": "Ville", "type_structure": "collectivité"},
        ],
    )
    actions, links = [], []
    for spec in [
        ("A1", "CV-T", "P1", (QA,)),
        ("A6", "CV-U", "P1", (QC,)),
        ("A2", "CV-T", "P2", (QB,)),
        ("A4", "CV-T", "P2", (QB,)),
        ("A3", "CV-T", "P3", (QA,)),
    ]:
        action, link = _action(*spec)
        actions.append(action)
        links += link
    insert(c, "action", actions)
    insert(c, "action_quartier", links)
    insert(
        c,
        "financement",
        [
            _fin("A1", "État P147", 2025, 800),
            _fin("A1", "commune", 2025, 200),
            _fin("A6", "État P147", 2026, 1000),
            _fin("A2", "commune", 2026, 3000),
            _fin("A2", "CAF", 2026, 1000),
            _fin("A4", "commune", 2023, 500),
            _fin("A3", "EPCI", 2026, 0),
        ],
    )
    insert(
        c,
        "acteur",
        [
            {"id_acteur": "P1", "mode_intervention": INSTALLE},
            {
                "id_acteur": "X1",
                "code_contrat": "CV-T",
                "nom": "Collectif",
                "type_structure": "association sans salarié",
                "mode_intervention": INSTALLE,
            },
            {"id_acteur": "X2", "code_contrat": "CV-U", "nom": "Club", "type_structure": "autre"},
        ],
    )
    insert(
        c,
        "acteur_domaine",
        [
            {"id_acteur": "X1", "domaine": "participation"},
            {"id_acteur": "X1", "domaine": "sport"},
            {"id_acteur": "P2", "domaine": "éducation"},
        ],
    )
    # Priorities (QPV × axe): A Éducation (no actor with éducation/culture/sport in A: 0), B
    # Éducation (P2 éducation, X1 sport: 2), B Participation (X1: 1), C Santé (0); O5 repeats A Éducation.
    insert(
        c,
        "objectif",
        [
            {"code_objectif": f"O{i}", "code_contrat": contrat, "code_qp": qp, "axe": axe, "libelle": f"o{i}"}
            for i, (contrat, qp, axe) in enumerate(
                [
                    ("CV-T", QA, "Éducation et émancipation"),
                    ("CV-T", QB, "Éducation et émancipation"),
                    ("CV-T", QB, "Participation citoyenne"),
                    ("CV-U", QC, "Santé"),
                    ("CV-T", QA, "Éducation et émancipation"),
                ],
                start=1,
            )
        ],
    )
    # Roadmap at 15/11/2026: F1 late; F2 done; F3 not due; F4 (CV-U) late; F5 due that very day.
    insert(
        c,
        "feuille_de_route",
        [
            {"id_item": i, "code_contrat": contrat, "libelle": i, "date_echeance": due, "statut": statut}
            for i, contrat, due, statut in [
                ("F1", "CV-T", date(2026, 1, 1), "en cours"),
                ("F2", "CV-T", date(2026, 1, 1), "faite"),
                ("F3", "CV-T", date(2027, 6, 1), "à faire"),
                ("F4", "CV-U", date(2026, 11, 14), "à faire"),
                ("F5", "CV-T", date(2026, 11, 15), "à faire"),
            ]
        ],
    )
    insert(c, "acteur_quartier", [{"id_acteur": "X1", "code_qp": QB}])
    # Posts: PO1 chef de projet co-funded; PO2 adulte-relais 0,5 ETP from March 2026; PO3 FONJEP
    # since 2025 without funding; PO4 adulte-relais without contract, attached through its 2015
    # code, co-funded in 2026; PO5 ended in 2023; PO6 adulte-relais of CV-U; PO7 undated, unfunded.
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
            },
            {
                "id_poste": "PO2",
                "code_contrat": "CV-T",
                "type_poste": "adulte-relais",
                "employeur": "Asso",
                "etp": 0.5,
                "date_debut": date(2026, 3, 1),
            },
            {
                "id_poste": "PO3",
                "code_contrat": "CV-T",
                "type_poste": "poste FONJEP",
                "employeur": "Centre social",
                "etp": 1.0,
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
            {
                "id_poste": "PO6",
                "code_contrat": "CV-U",
                "type_poste": "adulte-relais",
                "employeur": "Club",
                "etp": 0.8,
                "date_debut": date(2025, 1, 1),
            },
            {"id_poste": "PO7", "code_contrat": "CV-T", "type_poste": "médiateur", "employeur": "Ville", "etp": 1.0},
        ],
    )
    insert(
        c,
        "financement_poste",
        [
            {"id_poste": "PO1", "financeur": "État P147", "annee": 2026, "montant": 20000},
            {"id_poste": "PO1", "financeur": "EPCI", "annee": 2026, "montant": 40000},
            {"id_poste": "PO2", "financeur": "État P147", "annee": 2026, "montant": 11000},
            {"id_poste": "PO4", "financeur": "État droit commun", "annee": 2026, "montant": 5000},
            {"id_poste": "PO4", "financeur": "commune", "annee": 2026, "montant": 1000},
            {"id_poste": "PO6", "financeur": "État P147", "annee": 2026, "montant": 9000},
            {"id_poste": "PO5", "financeur": "État P147", "annee": 2023, "montant": 30000},
        ],
    )
    insert(c, "correspondance_contrat", [{"code_cv_2015": "CV123", "code_contrat": "CV-T"}])
    return c


# --- système d'acteurs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "contrat, filters, expected",
    [
        # actors, without funding, QPV of the selection, QPV covered
        (None, {}, (7, 2, 4, 3)),  # P-CV-T, P-CV-U, P1, P2, P3, X1, X2; QPV A, B, C covered, D not
        ("CV-T", {}, (4, 1, 3, 2)),  # P1, P2, P3, X1; A and B
        ("CV-U", {}, (2, 1, 1, 1)),  # P1 (A6), X2; C
        (None, {"modes": (INSTALLE,)}, (2, 1, 4, 3)),  # P1 (A, C), X1 (B)
        ("CV-T", {"modes": (q.MODE_NON_RENSEIGNE,)}, (2, 0, 3, 2)),  # P2 (B), P3 (A)
        ("CV-T", {"domaines": ("participation", "santé")}, (1, 1, 3, 1)),  # X1 (B)
        (None, {"types": ("collectivité",)}, (1, 0, 4, 1)),  # P3 (A)
        ("CV-U", {"types": ("bailleur",)}, (0, 0, 1, 0)),
    ],
)
def test_actor_counts_hand_computed(con, contrat, filters, expected):
    got = q.actor_counts(con.cursor(), contrat=contrat, **filters)
    assert (got["nb_acteurs"], got["nb_sans_financement"], got["nb_qpv"], got["nb_qpv_couverts"]) == expected


@pytest.mark.parametrize("contrat", [None, "CV-T", "CV-U"])
@pytest.mark.parametrize("filters", [{}, {"modes": (INSTALLE,)}, {"domaines": ("éducation",)}])
def test_actor_counts_agree_with_the_directory_and_the_map(con, contrat, filters):
    """The cards count exactly the rows the page shows in the directory and on the map."""
    cur = con.cursor()
    got = q.actor_counts(cur, contrat=contrat, **filters)
    directory = q.directory(cur, contrat=contrat, annee=2026, **filters)
    by_qpv = q.actors_by_qpv(cur, contrat=contrat, **filters)
    assert got["nb_acteurs"] == directory.height
    assert got["nb_sans_financement"] == directory.filter(~directory["est_porteur"]).height
    assert got["nb_qpv"] == by_qpv.height
    assert got["nb_qpv_couverts"] == by_qpv.filter(by_qpv["nb_acteurs"] > 0).height


@pytest.mark.parametrize(
    "contrat, seuil, expected",
    [
        (None, q.SEUIL_DEPENDANCE, (2, 1)),  # P1: État 1 800 / 2 000 = 90 %; P2: commune 3 500 / 4 500 = 78 %; P3 has 0
        ("CV-T", q.SEUIL_DEPENDANCE, (2, 1)),  # P1: 800 / 1 000 = 80 % (at the threshold); P2 78 %
        ("CV-U", q.SEUIL_DEPENDANCE, (1, 1)),  # P1: a single funder
        (None, 0.95, (2, 0)),
        ("CV-T", 0.6, (2, 2)),
    ],
)
def test_dependency_summary_hand_computed(con, contrat, seuil, expected):
    got = q.dependency_summary(con.cursor(), contrat=contrat, seuil=seuil)
    assert (got["nb_finances"], got["nb_dependants"]) == expected
    assert got["part_dependants"] == pytest.approx(expected[1] / expected[0])
    assert got["acteurs"].equals(q.funder_dependency(con.cursor(), contrat=contrat, seuil=seuil))


def test_dependency_summary_without_funding(empty_store):
    minimal_contract(empty_store, "CV-T")
    got = q.dependency_summary(empty_store.cursor(), contrat=None)
    assert got["acteurs"].is_empty()
    assert (got["nb_finances"], got["nb_dependants"], got["part_dependants"]) == (0, 0, None)


def test_dependency_share_against_independent_sql(con):
    """Main funder's share per actor, written differently (window function)."""
    rows = con.execute(
        """WITH t AS (SELECT a.id_porteur, f.financeur, sum(f.montant_accorde) AS m
                      FROM financement f JOIN action a USING (code_action) WHERE f.montant_accorde > 0 GROUP BY ALL),
                s AS (SELECT id_porteur, m / sum(m) OVER (PARTITION BY id_porteur) AS part FROM t)
           SELECT count(DISTINCT id_porteur), count(DISTINCT id_porteur) FILTER (WHERE part >= 0.8) FROM s"""
    ).fetchall()
    got = q.dependency_summary(con.cursor(), contrat=None)
    assert (got["nb_finances"], got["nb_dependants"]) == rows[0] == (2, 1)


@pytest.mark.parametrize(
    "contrat, annee, expected",
    [
        # accordé per year (tous): 2023 500 (P2), 2025 1 000 (P1), 2026 5 000 of which 1 000 to P1
        (None, 2026, (0.2, -0.8)),
        (None, 2025, (1.0, None)),  # 2024 has nothing accordé: no change « sur un an »
        (None, 2023, (0.0, None)),
        (None, 2024, (None, None)),
        ("CV-T", 2026, (0.0, -1.0)),  # P2 4 000 (P3's 0 counts for nothing)
        ("CV-U", 2026, (1.0, None)),
    ],
)
def test_small_association_summary_hand_computed(con, contrat, annee, expected):
    got = q.small_association_summary(con.cursor(), contrat=contrat, annee=annee)
    part, evolution = expected
    assert got["part"] == (pytest.approx(part) if part is not None else None)
    assert got["evolution"] == (pytest.approx(evolution) if evolution is not None else None)


@pytest.mark.parametrize(
    "contrat, seuil, expected",
    [
        (None, q.SEUIL_ACTEURS_DOMAINE, (4, 3)),  # A Éduc 0, B Part 1, C Santé 0 below 2; B Éduc 2
        ("CV-T", q.SEUIL_ACTEURS_DOMAINE, (3, 2)),
        ("CV-U", q.SEUIL_ACTEURS_DOMAINE, (1, 1)),
        (None, 1, (4, 2)),  # only the priorities with no actor at all
    ],
)
def test_coverage_summary_hand_computed(con, contrat, seuil, expected):
    got = q.coverage_summary(con.cursor(), contrat=contrat, seuil=seuil)
    assert (got["nb_priorites"], got["nb_peu_couvertes"]) == expected
    assert got["priorites"].equals(q.coverage_gaps(con.cursor(), contrat=contrat, seuil=seuil))


# --- ingénierie -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "contrat, annee, expected",
    [
        # posts, ETP, adultes-relais, FONJEP, co-funded, funding, of which State
        ("CV-T", 2026, (4, 3.5, 2, 1, 2, 77000.0, 36000.0)),  # PO1, PO2, PO3, PO4 (through CV123)
        (None, 2026, (5, 4.3, 3, 1, 2, 86000.0, 45000.0)),  # + PO6
        ("CV-U", 2026, (1, 0.8, 1, 0, 0, 9000.0, 9000.0)),
        ("CV-T", 2025, (2, 2.0, 0, 1, 0, 0.0, 0.0)),  # PO1, PO3 (dated periods)
        ("CV-T", 2023, (1, 1.0, 0, 0, 0, 30000.0, 30000.0)),  # PO5
        ("CV-U", 2019, (0, 0.0, 0, 0, 0, 0.0, 0.0)),
    ],
)
def test_posts_totals_hand_computed(con, contrat, annee, expected):
    got = q.posts_totals(con.cursor(), contrat=contrat, annee=annee)
    keys = ("nb_postes", "etp", "nb_adultes_relais", "nb_fonjep", "nb_cofinances", "finance", "finance_etat")
    assert tuple(got[k] for k in keys) == pytest.approx(expected)


@pytest.mark.parametrize(
    "contrat, au, expected",
    [
        (None, date(2026, 11, 15), (5, 2)),  # F1, F4
        ("CV-T", date(2026, 11, 15), (4, 1)),  # F1 (F5 is due that day: not late yet)
        ("CV-U", date(2026, 11, 15), (1, 1)),
        ("CV-T", date(2026, 11, 16), (4, 2)),  # F1, F5
        ("CV-T", date(2025, 12, 31), (4, 0)),
    ],
)
def test_roadmap_counts_hand_computed(con, contrat, au, expected):
    got = q.roadmap_counts(con.cursor(), contrat=contrat, donnees_au=au)
    assert (got["nb_items"], got["nb_en_retard"]) == expected


@pytest.mark.parametrize("contrat", [None, "CV-T", "CV-U"])
def test_posts_totals_equal_the_team_table(con, contrat):
    cur = con.cursor()
    team = q.posts(cur, contrat=contrat, annee=2026)
    got = q.posts_totals(cur, contrat=contrat, annee=2026)
    assert got["nb_postes"] == team.height
    assert got["etp"] == pytest.approx(team["etp"].sum())
    assert got["nb_adultes_relais"] == team.filter(team["type_poste"] == "adulte-relais").height
    assert got["nb_cofinances"] == team["cofinance"].sum()
    assert got["finance"] == pytest.approx(team["finance"].sum())


# --- demo store: functions vs independent SQL, page vs functions ------------------------------


def _one(cur, sql: str, params: dict | None = None):
    return cur.execute(sql, params or {}).fetchall()[0]


@pytest.mark.parametrize("contrat", [None, "CV-DEMO-VERM", "CV-DEMO-MONT"])
def test_demo_figures_against_independent_sql(demo_cur, contrat):
    params = {"c": contrat}
    # Actors of a contract: carrying one of its actions, recorded for it, acting in one of its
    # QPV or seated in one of its instances; all porteurs and actors otherwise.
    ids = """(SELECT id_porteur AS id FROM porteur WHERE $c IS NULL UNION SELECT id_acteur FROM acteur WHERE $c IS NULL
              UNION SELECT id_porteur FROM action WHERE code_contrat = $c
              UNION SELECT id_acteur FROM acteur WHERE code_contrat = $c
              UNION SELECT x.id_acteur FROM acteur_quartier x JOIN quartier q USING (code_qp)
                    WHERE q.code_contrat = $c
              UNION SELECT x.id_acteur FROM acteur_instance x JOIN instance i USING (code_instance)
                    WHERE i.code_contrat = $c)"""
    n_actors, n_unfunded = _one(
        demo_cur,
        f"""SELECT count(*), count(*) FILTER (WHERE id NOT IN (SELECT id_porteur FROM porteur))
                                              FROM {ids}""",
        params,
    )  # fixed SQL text
    n_qpv, n_covered = _one(
        demo_cur,
        """
        SELECT count(*), count(*) FILTER (WHERE code_qp IN (
                   SELECT aq.code_qp FROM action_quartier aq JOIN action a USING (code_action)
                   WHERE $c IS NULL OR a.code_contrat = $c
                   UNION SELECT code_qp FROM acteur_quartier))
        FROM quartier WHERE $c IS NULL OR code_contrat = $c""",
        params,
    )
    got = q.actor_counts(demo_cur, contrat=contrat)
    assert (got["nb_acteurs"], got["nb_sans_financement"], got["nb_qpv"], got["nb_qpv_couverts"]) == (
        n_actors,
        n_unfunded,
        n_qpv,
        n_covered,
    )
    assert n_actors > n_unfunded > 0

    funded, dependent = _one(
        demo_cur,
        """
        WITH t AS (SELECT a.id_porteur, f.financeur, sum(f.montant_accorde) AS m FROM financement f
                   JOIN action a USING (code_action) WHERE f.montant_accorde > 0 AND ($c IS NULL OR a.code_contrat = $c)
                   GROUP BY ALL)
        SELECT count(DISTINCT id_porteur), count(DISTINCT id_porteur) FILTER (WHERE share >= $s)
        FROM (SELECT id_porteur, m / sum(m) OVER (PARTITION BY id_porteur) AS share FROM t)""",
        params | {"s": q.SEUIL_DEPENDANCE},
    )
    dep = q.dependency_summary(demo_cur, contrat=contrat)
    assert (dep["nb_finances"], dep["nb_dependants"]) == (funded, dependent) and funded > 0

    year = DEMO_AU.year
    total, small = _one(
        demo_cur,
        """
        SELECT sum(f.montant_accorde),
               sum(f.montant_accorde) FILTER (WHERE p.type_structure = 'association sans salarié')
        FROM financement f JOIN action a USING (code_action) JOIN porteur p USING (id_porteur)
        WHERE f.annee = $y AND ($c IS NULL OR a.code_contrat = $c)""",
        params | {"y": year},
    )
    prev_total, prev_small = _one(
        demo_cur,
        """
        SELECT sum(f.montant_accorde),
               sum(f.montant_accorde) FILTER (WHERE p.type_structure = 'association sans salarié')
        FROM financement f JOIN action a USING (code_action) JOIN porteur p USING (id_porteur)
        WHERE f.annee = $y - 1 AND ($c IS NULL OR a.code_contrat = $c)""",
        params | {"y": year},
    )
    share = q.small_association_summary(demo_cur, contrat=contrat, annee=year)
    assert share["part"] == pytest.approx(float((small or 0) / total))
    assert share["evolution"] == pytest.approx(float((small or 0) / total - (prev_small or 0) / prev_total))

    # Posts of the year: funded that year, or with a dated period covering it; in a contract
    # through code_contrat or the correspondance of their 2015 code.
    posts = _one(
        demo_cur,
        """
        WITH p AS (SELECT p.*, coalesce(p.code_contrat, c.code_contrat) AS cc FROM poste p
                   LEFT JOIN correspondance_contrat c USING (code_cv_2015)),
             f AS (SELECT id_poste, sum(montant) AS m, count(*) AS n,
                          sum(montant) FILTER (WHERE financeur LIKE 'État%') AS etat
                   FROM financement_poste WHERE annee = $y GROUP BY id_poste)
        SELECT count(*), sum(etp), count(*) FILTER (WHERE type_poste = 'adulte-relais'),
               count(*) FILTER (WHERE type_poste = 'poste FONJEP'), count(*) FILTER (WHERE f.n > 1),
               coalesce(sum(f.m), 0), coalesce(sum(f.etat), 0)
        FROM p LEFT JOIN f USING (id_poste)
        WHERE ($c IS NULL OR cc = $c) AND (f.id_poste IS NOT NULL OR (
              (date_debut IS NOT NULL OR date_fin IS NOT NULL)
              AND coalesce(year(date_debut), 0) <= $y AND coalesce(year(date_fin), 9999) >= $y))""",
        params | {"y": year},
    )
    totals = q.posts_totals(demo_cur, contrat=contrat, annee=year)
    keys = ("nb_postes", "etp", "nb_adultes_relais", "nb_fonjep", "nb_cofinances", "finance", "finance_etat")
    assert tuple(totals[k] for k in keys) == pytest.approx(tuple(float(v) for v in posts))
    assert totals["nb_postes"] > 0

    items, late = _one(
        demo_cur,
        """SELECT count(*), count(*) FILTER (WHERE date_echeance < $au AND statut IN ('à faire', 'en cours'))
                                    FROM feuille_de_route WHERE $c IS NULL OR code_contrat = $c""",
        params | {"au": DEMO_AU},
    )
    assert q.roadmap_counts(demo_cur, contrat=contrat, donnees_au=DEMO_AU) == {"nb_items": items, "nb_en_retard": late}


def _metrics(at) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta or "") for m in at.metric}


@pytest.mark.parametrize("contrat", ["tous", "CV-DEMO-BRE"])
def test_page_cards_show_the_functions_figures(app_env, demo_cur, contrat):
    """Every card of both views renders the figure of its `cdv_core` function, formatted."""
    code = None if contrat == "tous" else contrat
    year = DEMO_AU.year
    at = run_app("acteurs", query={"contrat": contrat})
    assert not at.exception, at.exception
    counts = q.actor_counts(demo_cur, contrat=code)
    dep = q.dependency_summary(demo_cur, contrat=code)
    small = q.small_association_summary(demo_cur, contrat=code, annee=year)
    shown = _metrics(at)
    assert shown["Acteurs"][0] == fmt.integer(counts["nb_acteurs"])
    assert shown["Sans financement"][0] == fmt.integer(counts["nb_sans_financement"])
    assert shown["QPV couverts"][0] == fmt.integer(counts["nb_qpv_couverts"])
    assert shown["Dépendants"][0] == fmt.integer(dep["nb_dependants"])
    assert shown["Petites associations"][0] == fmt.percent(small["part"])
    assert fmt.number(abs(small["evolution"]) * 100, 1) in shown["Petites associations"][1]
    gaps = q.coverage_summary(demo_cur, contrat=code)
    if gaps["nb_peu_couvertes"]:
        assert (
            f"{fmt.integer(gaps['nb_peu_couvertes'])} priorité(s) peu couverte(s) sur "
            f"{fmt.integer(gaps['nb_priorites'])}." in [c.value for c in at.caption]
        )
    else:
        assert any("couverte par assez d'acteurs" in m.value for m in at.success)
    helps = {m.label: m.proto.help for m in at.metric}
    assert f"sur {fmt.integer(counts['nb_qpv'])} QPV de la sélection" in helps["QPV couverts"]
    assert f"des {fmt.integer(dep['nb_finances'])} acteurs financés" in helps["Dépendants"]

    at.segmented_control(key="acteurs_volet").set_value("Ingénierie").run()
    assert not at.exception, at.exception
    totals = q.posts_totals(demo_cur, contrat=code, annee=year)
    shown = _metrics(at)
    assert shown[f"Postes {year}"] == (fmt.integer(totals["nb_postes"]), f"{fmt.number(totals['etp'], 1)} ETP")
    assert shown["Adultes-relais"][0] == fmt.integer(totals["nb_adultes_relais"])
    assert shown["Postes FONJEP"][0] == fmt.integer(totals["nb_fonjep"])
    assert shown[f"Financements des postes {year}"] == (
        fmt.euros_compact(totals["finance"]),
        f"dont État {fmt.euros_compact(totals['finance_etat'])}",
    )
    assert shown["Postes cofinancés"][0] == fmt.integer(totals["nb_cofinances"])
    late = q.roadmap_counts(demo_cur, contrat=code, donnees_au=DEMO_AU)["nb_en_retard"]
    assert any(
        m.value.startswith(
            f"**Actions de la feuille de route** — {fmt.plural(late, 'échéance dépassée', 'échéances dépassées')}"
        )
        for m in at.markdown
    )
