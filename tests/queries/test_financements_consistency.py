"""Financial figures agree between screens (Projets de quartier, Actions et financements, Vue
d'ensemble, Acteurs, séance): hand-made stores with hand-computed answers."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core import fmt, seance
from cdv_core.domain import model, shares
from cdv_core.figures import financements as fig_fin
from cdv_core.figures import projets as fig_projets
from cdv_core.queries import acteurs, overview, projets
from cdv_core.queries import financements as fin
from cdv_core.settings import Settings
from tests.conftest import insert, minimal_contract

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

QA, QB, QC = "QN07511M", "QN07512M", "QN07513N"
AU = date(2026, 6, 30)


def _action(code, *, hors=False, mode="AAP", porteur="P-CV-T", y=2025, statut="en cours"):
    return {
        "code_action": code,
        "code_contrat": "CV-T",
        "id_porteur": porteur,
        "libelle": f"Action {code}",
        "thematique": "1.1",
        "mode_financement": mode,
        "annee_debut": y,
        "annee_fin": y,
        "date_debut": date(y, 1, 1),
        "date_fin": date(y, 12, 31),
        "statut": statut,
        "hors_qpv": hors,
    }


def _line(code, financeur, accorde, *, annee=2025, verse=None, demande=None, decision=date(2025, 3, 1)):
    return {
        "code_action": code,
        "financeur": financeur,
        "annee": annee,
        "montant_demande": demande or accorde,
        "montant_accorde": accorde,
        "montant_verse": verse,
        "date_decision": decision,
    }


@pytest.fixture
def three_qpv(empty_store):
    """The reviewer's case: X (1 000 €, P147) serves A/B/C with parts (0,6, NULL, NULL).
    Y (400 €, commune) serves only A with a part of 0,5 (normalised to the whole of A).
    H (100 €, P147) serves no QPV; F (50 €, P147) is flagged hors QPV but serves B."""
    con = empty_store
    minimal_contract(con, "CV-T", (QA, QB, QC))
    insert(con, "action", [_action("X"), _action("Y"), _action("H"), _action("F", hors=True)])
    insert(
        con,
        "action_quartier",
        [
            {"code_action": "X", "code_qp": QA, "part": 0.6},
            {"code_action": "X", "code_qp": QB, "part": None},
            {"code_action": "X", "code_qp": QC, "part": None},
            {"code_action": "Y", "code_qp": QA, "part": 0.5},
            {"code_action": "F", "code_qp": QB, "part": None},
        ],
    )
    insert(
        con,
        "financement",
        [
            _line("X", "État P147", 1000, verse=1000),
            _line("Y", "commune", 400, verse=0),
            _line("H", "État P147", 100, verse=100),
            _line("F", "État P147", 50, verse=50),
        ],
    )
    return con.cursor()


# --- H1: one allocation-share rule ------------------------------------------------------------


def test_financements_qpv_filter_uses_the_projets_shares(three_qpv):
    per_qpv = {q: fin.funding_totals(three_qpv, contrat="CV-T", annee=2025, qpv=(q,))["accorde"] for q in (QA, QB, QC)}
    # X: 600 / 200 / 200 (the missing parts share the remaining 40 %); Y: all of A; F: all of B.
    assert per_qpv == pytest.approx({QA: 600 + 400, QB: 200 + 50, QC: 200})
    everything = fin.funding_totals(three_qpv, contrat="CV-T", annee=2025, qpv=(QA, QB, QC))
    assert everything["accorde"] == pytest.approx(1000 + 400 + 50)  # nothing counted twice, H drops out
    projets_side = projets.qpv_amounts(three_qpv, contrat="CV-T")
    assert dict(zip(projets_side["code_qp"], projets_side["accorde"])) == pytest.approx(per_qpv)
    assert projets.contract_totals(three_qpv, contrat="CV-T")["accorde_qpv"] == pytest.approx(everything["accorde"])


def test_financements_table_and_detail_show_the_same_share(three_qpv):
    table = fig_fin.actions_table(fin.action_rows(three_qpv, contrat="CV-T", annee=2025, qpv=(QB,)))
    assert dict(zip(table["Code action"], table["Part retenue"])) == pytest.approx({"X": 0.2, "F": 1.0})
    assert table["Accordé (€)"].sum() == pytest.approx(200 + 50)
    detail = fin.action_detail(three_qpv, code_action="X")
    assert dict(zip(detail["quartiers"]["code_qp"], detail["quartiers"]["part_retenue"])) == pytest.approx(
        {QA: 0.6, QB: 0.2, QC: 0.2}
    )
    assert detail["quartiers"]["part"].to_list()[1:] == [None, None]  # declared parts shown as declared
    y = fin.action_detail(three_qpv, code_action="Y")
    assert y["quartiers"]["part_retenue"].to_list() == pytest.approx([1.0])


def test_shares_scopes_give_the_same_parts(three_qpv):
    by_contract = three_qpv.sql(shares.shares_sql("contrat") + " ORDER BY 1, 2", params={"contrat": "CV-T"}).pl()
    by_qpv = three_qpv.sql(shares.shares_sql("qpv") + " ORDER BY 1, 2", params={"qpv": [QB]}).pl()
    assert sorted(by_qpv["code_action"].unique()) == ["F", "X"]  # only the actions serving B
    assert by_contract.filter(pl.col("code_action").is_in(["F", "X"])).equals(by_qpv)
    assert by_contract.group_by("code_action").agg(pl.col("part").sum())["part"].to_list() == pytest.approx([1.0] * 3)
    assert projets.SHARES_SQL == shares.SHARES_SQL
    with pytest.raises(KeyError):
        shares.shares_sql("inconnu")


def test_demo_financements_all_qpv_equals_projets_sum(demo_cur):
    for contrat in (None, "CV-DEMO-VERM", "CV-DEMO-BRE", "CV-DEMO-MONT"):
        codes = tuple(fin.filter_options(demo_cur, contrat=contrat)["quartiers"]["code_qp"].to_list())
        financed = fin.funding_totals(demo_cur, contrat=contrat, annee=None, qpv=codes)
        per_qpv = projets.qpv_amounts(demo_cur, contrat=contrat)
        assert financed["accorde"] == pytest.approx(per_qpv["accorde"].sum())
        assert financed["verse"] == pytest.approx(per_qpv["verse"].sum())
        totals = projets.contract_totals(demo_cur, contrat=contrat)
        assert financed["accorde"] == pytest.approx(totals["accorde_qpv"])


# --- M1: one « hors QPV » -----------------------------------------------------------------------


def test_hors_qpv_is_no_qpv_link_on_both_screens(three_qpv):
    t = fin.funding_totals(three_qpv, contrat="CV-T", annee=2025)
    # H (no link, flag « non ») is hors QPV; F (flag « oui », serves B) is not.
    assert t["hors_qpv_p147_accorde"] == 100
    assert t["part_hors_qpv"] == pytest.approx(100 / 1150)
    dep = fin.hors_qpv_by_departement(three_qpv, contrat="CV-T", annee=2025).row(0, named=True)
    assert dep["hors_qpv_accorde"] == 100
    totals = projets.contract_totals(three_qpv, contrat="CV-T")
    assert totals["accorde_hors_qpv"] == 100
    assert totals["accorde_qpv"] + totals["accorde_hors_qpv"] == pytest.approx(t["accorde"])
    table = fig_fin.actions_table(fin.action_rows(three_qpv, contrat="CV-T", annee=2025, sort="Code action"))
    assert dict(zip(table["Code action"], table["Hors QPV"])) == {"F": False, "H": True, "X": False, "Y": False}
    h, f = (
        fin.action_detail(three_qpv, code_action="H")["action"],
        fin.action_detail(three_qpv, code_action="F")["action"],
    )
    assert (h["hors_qpv"], h["hors_qpv_declare"], f["hors_qpv"], f["hors_qpv_declare"]) == (True, False, False, True)


def test_flags_that_disagree_with_the_links_are_reported(three_qpv):
    checks = dict(zip(*overview.soft_check_warnings(three_qpv, contrat="CV-T").select("controle", "nombre")))
    assert checks == {
        "Actions déclarées hors QPV mais rattachées à un quartier (comptées dans les quartiers)": 1,  # F
        "Actions rattachées à aucun quartier sans être déclarées hors QPV (comptées hors QPV)": 1,  # H
    }


def test_demo_flag_and_links_agree(demo_cur):
    assert (
        overview.soft_check_warnings(demo_cur, contrat=None).filter(pl.col("controle").str.contains("QPV")).is_empty()
    )


# --- M3: shares and target computed once ------------------------------------------------------


def test_funding_totals_give_droit_commun_share_and_cpo_target(three_qpv):
    t = fin.funding_totals(three_qpv, contrat="CV-T", annee=2025)
    assert t["part_p147"] == pytest.approx(1150 / 1550)
    assert t["part_droit_commun"] == pytest.approx(400 / 1550)
    assert t["part_cpo"] == 0 and t["cpo_cible_atteinte"] is False
    insert(three_qpv, "action", [_action("C", mode="CPO")])
    insert(three_qpv, "financement", [_line("C", "État P147", 1150)])
    t = fin.funding_totals(three_qpv, contrat="CV-T", annee=2025)
    assert t["part_cpo"] == pytest.approx(0.5) and t["cpo_cible_atteinte"] is True  # 50 % reaches the target
    nothing = fin.funding_totals(three_qpv, contrat="CV-T", annee=2030)
    assert nothing["part_droit_commun"] is None and nothing["cpo_cible_atteinte"] is None
    assert overview.headline(three_qpv, contrat="CV-T", donnees_au=date(2025, 12, 31))["cpo_cible_atteinte"] is True


# --- M4: the unpaid grants total, once ----------------------------------------------------------


def test_unpaid_summary_is_the_one_total(three_qpv):
    # Y's commune line (400 €, decided 01/03/2025) is unpaid; the others are paid.
    got = fin.unpaid_summary(three_qpv, contrat="CV-T", donnees_au=AU, months=6)
    assert got == {"lignes": 1, "montant": 400.0}
    listed = fin.unpaid_grants(three_qpv, contrat="CV-T", donnees_au=AU, months=6)
    assert (listed.height, float(listed["montant_accorde"].sum())) == (got["lignes"], got["montant"])
    assert fin.unpaid_summary(three_qpv, contrat="CV-T", donnees_au=date(2025, 5, 1), months=6) == {
        "lignes": 0,
        "montant": 0.0,
    }
    messages = " | ".join(
        overview.alerts(three_qpv, contrat="CV-T", donnees_au=AU, unpaid_months=6, tolerance_days=30)["message"]
    )
    assert "1 subvention accordée non versée plus de 6 mois après la décision, pour 400\u00a0€" in messages
    section = seance.build_section(three_qpv, "actions_en_retard", seance.Scope("CV-T", AU, Settings(unpaid_months=6)))
    figures = {f.label: f.value for f in section.figures}
    assert figures["Subventions accordées non versées"] == "1"
    assert figures["Montant en attente"] == "400\u00a0€"


# --- M5: small associations, one definition -----------------------------------------------------


def test_acteurs_small_association_share_is_the_financements_one(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", (QA,))
    insert(con, "porteur", [{"id_porteur": "SMALL", "nom": "Petite", "type_structure": model.SMALL_ASSOCIATION}])
    insert(
        con,
        "action",
        [
            _action("S1", porteur="SMALL", y=2024),
            _action("B1", y=2024),
            _action("S2", porteur="SMALL"),
            _action("B2"),
            _action("Z", y=2026),
        ],
    )
    insert(
        con,
        "financement",
        [
            _line("S1", "État P147", 300, annee=2024),
            _line("B1", "commune", 700, annee=2024),
            _line("S2", "État P147", 100),
            _line("S2", "CAF", 100),
            _line("B2", "EPCI", 600),
            _line("Z", "CAF", 0, annee=2026),
        ],
    )  # a year with nothing accordé
    share = acteurs.small_association_share(con.cursor(), contrat="CV-T")
    assert share["annee"].to_list() == [2024, 2025]
    assert share["part"].to_list() == pytest.approx([0.3, 0.25])
    assert share["evolution"].to_list()[1] == pytest.approx(-0.05)
    for year, part in zip(share["annee"], share["part"]):
        assert fin.funding_totals(con.cursor(), contrat="CV-T", annee=year)["part_petites_assos"] == pytest.approx(part)
    by_year = fin.small_association_by_year(con.cursor(), contrat="CV-T")
    assert by_year.filter(pl.col("annee") == 2026)["part"].to_list() == [None]


# --- M8: French thousands separators in the alert texts -----------------------------------------


def test_alert_counts_have_thousands_separators(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", (QA,))
    n = 1234
    codes = [f"A{i:05d}" for i in range(n)]
    insert(con, "action", [_action(c) for c in codes])
    insert(con, "action_quartier", [{"code_action": c, "code_qp": QA, "part": None} for c in codes])
    # accordé 100 > demandé 50 on every line (a soft check), nothing paid (unpaid alert).
    insert(con, "financement", [_line(c, "CAF", 100, demande=50) for c in codes])
    messages = " | ".join(
        overview.alerts(con.cursor(), contrat=None, donnees_au=AU, unpaid_months=6, tolerance_days=30)["message"]
    )
    assert "1\u202f234 subventions accordées non versées" in messages
    assert f"pour {fmt.euros(123400)}" in messages
    assert "Lignes de financement dont l'accordé dépasse le demandé : 1\u202f234" in messages


# --- M12: « the QPV in most difficulty », one ordering ------------------------------------------


def test_seance_picks_the_projets_page_first_qpv(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", (QA, QB))
    insert(
        con,
        "objectif",
        [
            {
                "code_objectif": f"O-{q}",
                "code_contrat": "CV-T",
                "code_qp": q,
                "axe": "Emploi et insertion",
                "libelle": f"Emploi {q}",
            }
            for q in (QA, QB)
        ],
    )
    # Both QPV « en retard » (same gravity); B is further behind (écart −0,5 vs −0,3) though its
    # code sorts after A's: the old séance order (gravité, code) picked A.
    for code, q, avancement in (("AA", QA, 0.2), ("AB", QB, 0.0)):
        insert(
            con,
            "action",
            [
                {
                    "code_action": code,
                    "code_contrat": "CV-T",
                    "id_porteur": "P-CV-T",
                    "libelle": code,
                    "thematique": "2.1",
                    "mode_financement": "AAP",
                    "annee_debut": 2024,
                    "annee_fin": 2027,
                    "date_debut": date(2024, 1, 1),
                    "date_fin": date(2027, 12, 31),
                    "statut": "en cours",
                    "avancement": avancement,
                    "date_statut": date(2025, 12, 1),
                }
            ],
        )
        insert(con, "action_objectif", [{"code_action": code, "code_objectif": f"O-{q}"}])
        insert(con, "action_quartier", [{"code_action": code, "code_qp": q, "part": None}])
    au = date(2026, 1, 1)
    rows = projets.qpv_overview(con.cursor(), contrat="CV-T", donnees_au=au)
    assert set(rows["statut"]) == {"en retard"}
    first = projets.most_worrying_first(rows)
    assert first["code_qp"].to_list() == [QB, QA]
    assert fig_projets.qpv_display(rows, with_contract=False)["Code"].to_list() == [QB, QA]
    section = seance.build_section(con.cursor(), "projet_quartier", seance.Scope("CV-T", au, Settings()))
    assert section.title == f"Projet de quartier — Quartier {QB}"
