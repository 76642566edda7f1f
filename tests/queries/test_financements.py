"""« Actions et financements »: every headline figure on a hand-made store with known answers,
each checked against hand-computed numbers and an independent SQL query; identifiers."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from cdv_core.domain import identifiers, model
from cdv_core.figures import financements as fig_fin
from cdv_core.queries import financements as fin
from tests.conftest import insert, minimal_contract

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

QA, QB, QC = "QN07511M", "QN07512M", "QN07513N"
AU = date(2026, 6, 30)
VALID_SIRET = "73282932000074"  # Luhn-valid
INVALID_SIRET = "73282932000075"  # last digit changed


def _line(action, financeur, annee, d, a, v, decision=None):
    return {
        "code_action": action,
        "financeur": financeur,
        "annee": annee,
        "montant_demande": d,
        "montant_accorde": a,
        "montant_verse": v,
        "date_decision": decision or (date(annee, 3, 1) if a is not None else None),
    }


@pytest.fixture
def hand(empty_store):
    """Contract CV-T, QPV A/B/C, five actions:

    A1 AAP 2025 1.1, small association, QPV A only (part NULL);
    A2 AAP 2025 2.1, association with employees (invalid SIRET), QPV A 25 % / B 75 %, still
       « en cours » after its end (31/12/2025);
    A3 CPO 2024–2026 1.5a, multi-funder (P147 + CAF, région asked in 2026), QPV B/C (part NULL: halves);
    A4 hors QPV 2025 1.2, collectivité;
    A5 refused 2025 1.1, small association, QPV C.
    """
    con = empty_store
    minimal_contract(con, "CV-T", (QA, QB, QC))
    insert(
        con,
        "porteur",
        [
            {
                "id_porteur": VALID_SIRET,
                "siret": VALID_SIRET,
                "nom": "Petite asso",
                "type_structure": model.SMALL_ASSOCIATION,
            },
            {
                "id_porteur": INVALID_SIRET,
                "siret": INVALID_SIRET,
                "rna": "W751234567",
                "nom": "Grande asso",
                "type_structure": "association avec salariés",
            },
            {"id_porteur": "COM-1", "nom": "Commune", "type_structure": "collectivité"},
        ],
    )

    def act(code, porteur, them, mode, y0, y1, statut, hors=False):
        return {
            "code_action": code,
            "code_contrat": "CV-T",
            "id_porteur": porteur,
            "libelle": f"Action {code}",
            "thematique": them,
            "mode_financement": mode,
            "annee_debut": y0,
            "annee_fin": y1,
            "date_debut": date(y0, 1, 1),
            "date_fin": date(y1, 12, 31),
            "statut": statut,
            "hors_qpv": hors,
        }

    insert(
        con,
        "action",
        [
            act("A1", VALID_SIRET, "1.1", "AAP", 2025, 2025, "réalisée"),
            act("A2", INVALID_SIRET, "2.1", "AAP", 2025, 2025, "en cours"),
            act("A3", INVALID_SIRET, "1.5a", "CPO", 2024, 2026, "en cours"),
            act("A4", "COM-1", "1.2", "AAP", 2025, 2025, "réalisée", hors=True),
            act("A5", VALID_SIRET, "1.1", "AAP", 2025, 2025, "refusée"),
        ],
    )
    insert(
        con,
        "action_quartier",
        [
            {"code_action": "A1", "code_qp": QA, "part": None},
            {"code_action": "A2", "code_qp": QA, "part": 0.25},
            {"code_action": "A2", "code_qp": QB, "part": 0.75},
            {"code_action": "A3", "code_qp": QB, "part": None},
            {"code_action": "A3", "code_qp": QC, "part": None},
            {"code_action": "A5", "code_qp": QC, "part": None},
        ],
    )
    insert(
        con,
        "objectif",
        [
            {
                "code_objectif": "O-EMP",
                "code_contrat": "CV-T",
                "code_qp": QA,
                "axe": "Emploi et insertion",
                "libelle": "Emploi",
            },
            {
                "code_objectif": "O-EDU",
                "code_contrat": "CV-T",
                "code_qp": None,
                "axe": "Éducation et émancipation",
                "libelle": "Réussite",
            },
        ],
    )
    insert(
        con,
        "action_objectif",
        [
            {"code_action": "A2", "code_objectif": "O-EMP"},
            {"code_action": "A1", "code_objectif": "O-EDU"},
            {"code_action": "A3", "code_objectif": "O-EDU"},
        ],
    )
    insert(
        con,
        "financement",
        [
            _line("A1", "État P147", 2025, 1000, 800, 800),
            _line("A1", "commune", 2025, 500, 500, 0),  # unpaid since 01/03/2025
            _line("A2", "État P147", 2025, 2000, 2000, 1000),
            _line("A2", "EPCI", 2025, 1000, 600, 600),
            _line("A3", "État P147", 2024, 3000, 3000, 3000),
            _line("A3", "CAF", 2024, 2000, 2000, 2000),
            _line("A3", "État P147", 2025, 3000, 3000, 1500),
            _line("A3", "CAF", 2025, 2000, 2000, 0, date(2025, 2, 1)),  # unpaid
            _line("A3", "État P147", 2026, 3000, 3000, 0, date(2026, 2, 1)),  # unpaid (> 3 months at AU)
            _line("A3", "région", 2026, 1000, None, None),
            _line("A4", "État P147", 2025, 400, 400, 400),
            _line("A5", "État P147", 2025, 700, 0, None),
        ],
    )
    return con.cursor()


def _sql(cur, q, params=None):
    return cur.execute(q, params or {}).fetchall()[0][0]


# --- headline figures, 2025, no filter ----------------------------------------------------------


def test_totals_2025_known_answers_and_independent_sql(hand):
    t = fin.funding_totals(hand, contrat="CV-T", annee=2025)
    assert t["demande"] == 10600 == float(_sql(hand, "SELECT sum(montant_demande) FROM financement WHERE annee = 2025"))
    assert t["accorde"] == 9300 == float(_sql(hand, "SELECT sum(montant_accorde) FROM financement WHERE annee = 2025"))
    assert t["verse"] == 4300 == float(_sql(hand, "SELECT sum(montant_verse) FROM financement WHERE annee = 2025"))
    assert t["taux_accord"] == pytest.approx(9300 / 10600)
    assert t["taux_versement"] == pytest.approx(4300 / 9300)
    p147 = float(
        _sql(hand, "SELECT sum(montant_accorde) FROM financement WHERE annee = 2025 AND financeur = 'État P147'")
    )
    assert t["p147_accorde"] == 6200 == p147
    cpo = float(
        _sql(
            hand,
            """SELECT sum(f.montant_accorde) FROM financement f, action a
                               WHERE f.code_action = a.code_action AND f.annee = 2025
                                 AND f.financeur = 'État P147' AND a.mode_financement = 'CPO'""",
        )
    )
    assert t["p147_cpo_accorde"] == 3000 == cpo
    assert t["part_cpo"] == pytest.approx(3000 / 6200)
    assert t["droit_commun_accorde"] == 3100
    assert t["part_p147"] == pytest.approx(6200 / 9300)
    small = float(
        _sql(
            hand,
            """SELECT sum(f.montant_accorde) FROM financement f, action a, porteur p
                                 WHERE f.code_action = a.code_action AND a.id_porteur = p.id_porteur
                                   AND f.annee = 2025 AND p.type_structure = 'association sans salarié'""",
        )
    )
    assert t["petites_assos_accorde"] == 1300 == small
    assert t["part_petites_assos"] == pytest.approx(1300 / 9300)
    assert t["hors_qpv_p147_accorde"] == 400
    assert t["part_hors_qpv"] == pytest.approx(400 / 6200)
    assert t["hors_qpv_declare_p147_accorde"] == 400  # A4 is declared hors QPV; the cap: test_hors_qpv_by_departement


def test_counts_2025(hand):
    c = fin.action_counts(hand, contrat="CV-T", annee=2025)
    expected = _sql(
        hand,
        """SELECT count(*) FROM action WHERE annee_debut <= 2025 AND annee_fin >= 2025
                             AND statut <> 'refusée'""",
    )
    assert c == {"actions": 4, "porteurs": 3, "lignes_tableau": 5} and expected == 4
    assert fin.actions_of_year(hand, contrat="CV-T", annee=2025) == 4
    assert fin.action_counts(hand, contrat="CV-T", annee=2025, statuts=("refusée",))["actions"] == 1
    assert fin.action_counts(hand, contrat="CV-T", annee=2024)["actions"] == 1  # the CPO only
    assert fin.action_counts(hand, contrat="CV-T", annee=None)["actions"] == 4
    assert fin.action_counts(hand, contrat="AUTRE", annee=2025)["actions"] == 0


def test_cpo_spread_per_year_as_recorded(hand):
    cpo = fin.cpo_commitments(hand, contrat="CV-T")
    assert cpo["annee"].to_list() == list(range(2024, 2031))
    assert cpo["accorde"].to_list() == [5000, 5000, 3000, 0, 0, 0, 0]
    assert cpo["demande"].to_list() == [5000, 5000, 4000, 0, 0, 0, 0]
    assert cpo["verse"].to_list() == [5000, 1500, 0, 0, 0, 0, 0]
    independent = dict(
        hand.execute("""SELECT f.annee, sum(f.montant_accorde) FROM financement f JOIN action a
                                       ON a.code_action = f.code_action WHERE a.mode_financement = 'CPO'
                                       GROUP BY 1""").fetchall()
    )
    assert {y: a for y, a in zip(cpo["annee"], cpo["accorde"]) if a} == {y: float(v) for y, v in independent.items()}
    # The CPO line is not counted in the exercices it does not record.
    assert fin.funding_totals(hand, contrat="CV-T", annee=2026)["accorde"] == 3000


# --- QPV shares: nothing double counted ---------------------------------------------------------


def test_qpv_filter_uses_allocation_shares(hand):
    a = fin.funding_totals(hand, contrat="CV-T", annee=2025, qpv=(QA,))
    # A1 wholly (part NULL, single QPV) + 25 % of A2.
    assert a["accorde"] == pytest.approx(800 + 500 + 0.25 * (2000 + 600))
    assert a["demande"] == pytest.approx(1500 + 0.25 * 3000)
    b = fin.funding_totals(hand, contrat="CV-T", annee=2025, qpv=(QB,))
    assert b["accorde"] == pytest.approx(0.75 * 2600 + 0.5 * 5000)  # A3: part NULL → equal halves
    c = fin.funding_totals(hand, contrat="CV-T", annee=2025, qpv=(QC,))
    all_three = fin.funding_totals(hand, contrat="CV-T", annee=2025, qpv=(QA, QB, QC))
    independent = float(
        _sql(
            hand,
            """
        WITH n AS (SELECT code_action, count(*) AS k FROM action_quartier GROUP BY 1)
        SELECT sum(f.montant_accorde * coalesce(aq.part, 1.0 / n.k))
        FROM financement f JOIN action_quartier aq ON aq.code_action = f.code_action
        JOIN n ON n.code_action = f.code_action WHERE f.annee = 2025""",
        )
    )
    assert a["accorde"] + b["accorde"] + c["accorde"] == pytest.approx(all_three["accorde"])
    assert all_three["accorde"] == pytest.approx(independent) == pytest.approx(9300 - 400)  # hors QPV drops out
    assert all_three["part_hors_qpv"] == 0
    counts = fin.action_counts(hand, contrat="CV-T", annee=2025, qpv=(QA,))
    assert counts["actions"] == 2  # counted once each, not weighted


def test_qpv_weighted_table_adds_up(hand):
    table = fig_fin.actions_table(fin.action_rows(hand, contrat="CV-T", annee=2025, qpv=(QB,)))
    assert sorted(table["Code action"].to_list()) == ["A2", "A3"]
    assert dict(zip(table["Code action"], table["Part retenue"])) == {"A2": 0.75, "A3": 0.5}
    totals = fin.funding_totals(hand, contrat="CV-T", annee=2025, qpv=(QB,))
    assert table["Accordé (€)"].sum() == pytest.approx(totals["accorde"])
    assert table["Versé (€)"].sum() == pytest.approx(totals["verse"])


# --- other filters --------------------------------------------------------------------------------


def test_filters_change_the_figures(hand):
    base = dict(contrat="CV-T", annee=2025)
    assert fin.funding_totals(hand, **base, financeurs=("CAF",))["accorde"] == 2000
    assert fin.action_counts(hand, **base, financeurs=("CAF",))["actions"] == 1
    assert fin.funding_totals(hand, **base, modes=("CPO",))["accorde"] == 5000
    assert fin.funding_totals(hand, **base, thematiques=("1.1",))["accorde"] == 1300
    assert fin.funding_totals(hand, **base, types_porteur=("collectivité",))["accorde"] == 400
    assert fin.funding_totals(hand, **base, axes=("Emploi et insertion",))["accorde"] == 2600
    assert fin.funding_totals(hand, **base, objectifs=("O-EDU",))["accorde"] == 1300 + 5000
    assert fin.funding_totals(hand, **base, statuts=("refusée",))["demande"] == 700
    combined = fin.funding_totals(hand, **base, financeurs=("État P147",), qpv=(QB,))
    assert combined["accorde"] == pytest.approx(0.75 * 2000 + 0.5 * 3000)
    with pytest.raises(TypeError):
        fin.funding_totals(hand, **base, inconnu=("x",))


def test_charts_frames(hand):
    fy = fin.funding_by_funder_year(hand, contrat="CV-T")
    assert fy.filter((pl.col("annee") == 2025) & (pl.col("financeur") == "État P147"))["accorde"].item() == 6200
    assert fy["accorde"].sum() == pytest.approx(float(_sql(hand, "SELECT sum(montant_accorde) FROM financement")))
    th = fin.funding_by_thematique(hand, contrat="CV-T", annee=2025)
    assert th["thematique"].to_list() == ["1.1", "1.2", "1.5a", "2.1"]  # national order
    assert dict(zip(th["thematique"], th["accorde"])) == {"1.1": 1300, "1.2": 400, "1.5a": 5000, "2.1": 2600}
    assert th["libelle"][0] == "Éducation"


def test_hors_qpv_by_departement(hand):
    dep = fin.hors_qpv_by_departement(hand, contrat="CV-T", annee=2025)
    row = dep.row(0, named=True)
    assert row["insee_dep"] == "75" and row["p147_accorde"] == 6200 and row["hors_qpv_accorde"] == 400
    assert row["depasse"] is True


# --- alerts -------------------------------------------------------------------------------------


def test_unpaid_grants(hand):
    unpaid = fin.unpaid_grants(hand, contrat="CV-T", donnees_au=AU, months=3)
    got = set(zip(unpaid["code_action"], unpaid["financeur"], unpaid["annee"]))
    assert got == {("A1", "commune", 2025), ("A3", "CAF", 2025), ("A3", "État P147", 2026)}
    assert fin.unpaid_grants(hand, contrat="CV-T", donnees_au=AU, months=6)["annee"].to_list() == [2025, 2025]
    assert fin.unpaid_grants(hand, contrat="CV-T", donnees_au=AU, months=3, annee=2026).height == 1
    assert fin.unpaid_grants(hand, contrat="CV-T", donnees_au=AU, months=3, financeurs=("CAF",)).height == 1


def test_ended_without_status(hand):
    ended = fin.ended_without_status(hand, contrat="CV-T", donnees_au=AU)
    assert ended["code_action"].to_list() == ["A2"]
    assert fin.ended_without_status(hand, contrat="CV-T", donnees_au=date(2027, 1, 15))["code_action"].to_list() == [
        "A2",
        "A3",
    ]


def test_invalid_sirets(hand):
    bad = fin.invalid_sirets(hand, contrat="CV-T")
    assert bad["siret"].to_list() == [INVALID_SIRET]
    assert bad["actions"].to_list() == [2]
    # the other filters apply: only A3 has CAF lines; the commune funds neither of its actions
    assert fin.invalid_sirets(hand, contrat="CV-T", financeurs=("CAF",))["actions"].to_list() == [1]
    assert fin.invalid_sirets(hand, contrat="CV-T", modes=("investissement",)).is_empty()


def test_invalid_sirets_without_any_invalid_siret_has_the_same_columns(hand):
    found = fin.invalid_sirets(hand, contrat="CV-T")
    hand.execute("UPDATE porteur SET siret = NULL WHERE id_porteur = ?", [INVALID_SIRET])
    none = fin.invalid_sirets(hand, contrat="CV-T")
    assert none.is_empty() and none.schema == found.schema
    with pytest.raises(TypeError, match="inconnu"):
        fin.invalid_sirets(hand, contrat="CV-T", bailleur=("x",))


def test_action_detail(hand):
    d = fin.action_detail(hand, code_action="A3")
    assert d["action"]["porteur"] == "Grande asso" and d["action"]["siret_valide"] is False
    assert d["action"]["rna_valide"] is True and d["action"]["thematique_libelle"] == "Jeunesse"
    assert dict(zip(d["quartiers"]["code_qp"], d["quartiers"]["part_retenue"])) == {QB: 0.5, QC: 0.5}
    assert d["financements"].height == 6 and d["financements"]["accorde"].sum() == 13000
    assert d["objectifs"]["code_objectif"].to_list() == ["O-EDU"]
    assert fin.action_detail(hand, code_action="NOPE") is None


def test_table_matches_totals_all_years(hand):
    table = fig_fin.actions_table(fin.action_rows(hand, contrat="CV-T", annee=None))
    totals = fin.funding_totals(hand, contrat="CV-T", annee=None)
    assert table.height == 5  # refused included
    assert table["Demandé (€)"].sum() == pytest.approx(totals["demande"])
    assert table["Accordé (€)"].sum() == pytest.approx(totals["accorde"])
    assert table.filter(pl.col("Code action") == "A2")["QPV"].item() == f"{QA}, {QB}"
    assert table.filter(pl.col("Code action") == "A1")["Thématique"].item() == "1.1 Éducation"


# --- the overview keeps its meaning ---------------------------------------------------------------


def test_unfiltered_calls_match_the_overview_definitions(demo_cur):
    for contrat in (None, "CV-DEMO-VERM"):
        for annee in (2024, 2026):
            t = fin.funding_totals(demo_cur, contrat=contrat, annee=annee)
            row = demo_cur.execute(
                """SELECT sum(f.montant_demande), sum(f.montant_accorde), sum(f.montant_verse)
                   FROM financement f JOIN action a USING (code_action)
                   WHERE ($c IS NULL OR a.code_contrat = $c) AND f.annee = $y""",
                {"c": contrat, "y": annee},
            ).fetchall()[0]
            assert (t["demande"], t["accorde"], t["verse"]) == tuple(float(v) for v in row)
            n = demo_cur.execute(
                """SELECT count(*) FROM action WHERE ($c IS NULL OR code_contrat = $c)
                   AND annee_debut <= $y AND annee_fin >= $y AND statut <> 'refusée'""",
                {"c": contrat, "y": annee},
            ).fetchall()[0][0]
            assert fin.actions_of_year(demo_cur, contrat=contrat, annee=annee) == n


def test_demo_qpv_shares_sum_to_total_without_hors_qpv(demo_cur):
    opts = fin.filter_options(demo_cur, contrat=None)
    codes = opts["quartiers"]["code_qp"].to_list()
    total = fin.funding_totals(demo_cur, contrat=None, annee=2025)
    per_qpv = sum(fin.funding_totals(demo_cur, contrat=None, annee=2025, qpv=(q,))["accorde"] for q in codes)
    hors = float(
        demo_cur.execute("""SELECT coalesce(sum(f.montant_accorde), 0) FROM financement f JOIN action a
                                     USING (code_action) WHERE a.hors_qpv AND f.annee = 2025""").fetchall()[0][0]
    )
    assert per_qpv == pytest.approx(total["accorde"] - hors)


# --- identifiers ----------------------------------------------------------------------------------


def test_siren_siret_rna():
    assert identifiers.siren_valid("732829320") and not identifiers.siren_valid("732829321")
    assert identifiers.siret_valid(VALID_SIRET) and not identifiers.siret_valid(INVALID_SIRET)
    assert not identifiers.siret_valid("7328293200007") and not identifiers.siret_valid("7328293200007A")
    assert not identifiers.siret_valid(None) and not identifiers.siret_valid("")
    assert identifiers.siret_valid("35600000000048")  # La Poste head office: Luhn-valid
    la_poste = "35600000012345"  # digit sum 29, Luhn-invalid
    assert sum(map(int, la_poste)) % 5 != 0 and not identifiers.luhn_valid(la_poste)
    assert not identifiers.siret_valid(la_poste)
    assert identifiers.siret_valid("35600000010000")  # digit sum 15: valid for La Poste
    assert not identifiers.luhn_valid("35600000010000")
    assert not identifiers.siret_valid("35600001000000")  # same digit sum, not La Poste's SIREN
    assert identifiers.rna_valid("W751234567") and identifiers.rna_valid("W9Z1234567")
    assert not identifiers.rna_valid("W75123456") and not identifiers.rna_valid("X751234567")


def test_siret_expression_agrees_with_the_function():
    rng = np.random.default_rng(7)
    values = ["".join(map(str, rng.integers(0, 10, 14))) for _ in range(3000)]
    values += [
        "35600000010000",
        "35600001000000",
        "35600000000048",
        "35600000012345",
        VALID_SIRET,
        INVALID_SIRET,
        "123",
        "1234567890123A",
        "",
        None,
    ]
    got = pl.DataFrame({"s": values}).select(identifiers.siret_valid_expr("s"))["siret_valide"].to_list()
    expected = [None if v is None else identifiers.siret_valid(v) for v in values]
    assert got == expected
    assert 0 < sum(bool(g) for g in got) < len(values)


def test_table_sort_and_limit(hand):
    top = fig_fin.actions_table(fin.action_rows(hand, contrat="CV-T", annee=2025, sort="Accordé (€)", limit=2))
    assert top["Code action"].to_list() == ["A3", "A2"]  # 5 000 then 2 600
    by_code = fig_fin.actions_table(fin.action_rows(hand, contrat="CV-T", annee=2025, sort="Code action"))
    assert by_code["Code action"].to_list() == ["A1", "A2", "A3", "A4", "A5"]
    assert fin.action_counts(hand, contrat="CV-T", annee=2025)["lignes_tableau"] == by_code.height
    assert set(fin.TABLE_SORTS) <= set(by_code.columns)


def test_a_national_theme_code_covers_its_sub_codes(demo_cur):
    """Filtering on « 1.5 » (lien social) includes 1.5a (jeunesse) and 1.5b (sport) actions."""
    parent = fin.funding_totals(demo_cur, contrat=None, annee=None, thematiques=("1.5",))["accorde"]
    parts = sum(
        fin.funding_totals(demo_cur, contrat=None, annee=None, thematiques=(code,))["accorde"]
        for code in ("1.5a", "1.5b")
    )
    own = demo_cur.execute(
        "SELECT sum(f.montant_accorde) FROM financement f JOIN action a USING (code_action) WHERE a.thematique = '1.5'"
    ).fetchall()[0][0]
    assert parts > 0
    assert parent == pytest.approx(float(own) + parts)
