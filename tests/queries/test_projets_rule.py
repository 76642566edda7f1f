"""The progress rule (cdv_core.domain.progress) on small hand-made stores, against hand-computed numbers."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core.domain import progress
from cdv_core.queries import projets
from tests.conftest import insert, minimal_contract

AU = date(2026, 1, 1)
Q1, Q2 = "QN07511M", "QN07512M"


def objective(con, code, qp=Q1, libelle=None, axe="Emploi et insertion"):
    insert(
        con,
        "objectif",
        [
            {
                "code_objectif": code,
                "code_contrat": "CV-T",
                "code_qp": qp,
                "axe": axe,
                "libelle": libelle or f"Objectif {code}",
            }
        ],
    )


def action(
    con,
    code,
    *,
    statut,
    avancement=None,
    debut=date(2024, 1, 1),
    fin=date(2027, 12, 31),
    objectifs=(),
    qpv=((Q1, None),),
    accorde=None,
    verse=None,
):
    insert(
        con,
        "action",
        [
            {
                "code_action": code,
                "code_contrat": "CV-T",
                "id_porteur": "P-CV-T",
                "libelle": f"Action {code}",
                "thematique": "2.1",
                "mode_financement": "AAP",
                "annee_debut": debut.year,
                "annee_fin": fin.year,
                "date_debut": debut,
                "date_fin": fin,
                "statut": statut,
                "avancement": avancement,
                "hors_qpv": not qpv,
            }
        ],
    )
    for o in objectifs:
        insert(con, "action_objectif", [{"code_action": code, "code_objectif": o}])
    for qp, part in qpv:
        insert(con, "action_quartier", [{"code_action": code, "code_qp": qp, "part": part}])
    if accorde is not None:
        insert(
            con,
            "financement",
            [
                {
                    "code_action": code,
                    "financeur": "État P147",
                    "annee": debut.year,
                    "montant_demande": accorde,
                    "montant_accorde": accorde,
                    "montant_verse": verse if verse is not None else accorde,
                }
            ],
        )


def indicator(con, code, *, sens, objectifs=(), cibles=(), values=()):
    """cibles: (qp, reference, date_reference, cible, date_cible); values: (qp, date, valeur or None)."""
    insert(con, "indicateur", [{"code_indicateur": code, "libelle": f"Indicateur {code}", "unite": "%", "sens": sens}])
    for o in objectifs:
        insert(con, "objectif_indicateur", [{"code_objectif": o, "code_indicateur": code}])
    for qp, b, d0, c, d1 in cibles:
        insert(
            con,
            "cible_indicateur",
            [
                {
                    "code_indicateur": code,
                    "code_qp": qp,
                    "valeur_reference": b,
                    "date_reference": d0,
                    "valeur_cible": c,
                    "date_cible": d1,
                }
            ],
        )
    for qp, d, v in values:
        insert(
            con,
            "valeur_indicateur",
            [
                {
                    "code_indicateur": code,
                    "type_territoire": "QPV",
                    "code_territoire": qp,
                    "date_valeur": d,
                    "valeur": v,
                    "secret": None if v is not None else "s",
                }
            ],
        )


@pytest.fixture
def con(empty_store):
    minimal_contract(empty_store, "CV-T", (Q1, Q2))
    return empty_store


def objectives(con, au=AU, rule=progress.RULE) -> dict[str, dict]:
    frame = progress.objective_progress(con.cursor(), contrat="CV-T", donnees_au=au, rule=rule)
    return {r["code_objectif"]: r for r in frame.iter_rows(named=True)}


def elapsed(start: date, end: date, au: date = AU) -> float:
    return (au - start).days / ((end - start).days + 1)


def test_objective_without_actions_nor_indicators_is_insufficient_never_zero(con):
    objective(con, "O1")
    o = objectives(con)["O1"]
    assert o["statut"] == progress.DONNEES_INSUFFISANTES
    assert o["realise"] is None and o["attendu"] is None and o["ecart"] is None
    assert o["motif"].startswith("Aucune action engagée mesurable")
    qpv = progress.qpv_status(progress.objective_progress(con.cursor(), contrat="CV-T", donnees_au=AU), [Q1])
    assert qpv.row(0, named=True)["statut"] == progress.DONNEES_INSUFFISANTES


def test_actions_only_weighted_by_amount_accorde(con):
    objective(con, "O1")
    action(con, "A1", statut="réalisée", objectifs=["O1"], accorde=3000)
    action(con, "A2", statut="en cours", avancement=0.2, objectifs=["O1"], accorde=1000)
    o = objectives(con)["O1"]
    expected_att = (
        3000 * elapsed(date(2024, 1, 1), date(2027, 12, 31)) + 1000 * elapsed(date(2024, 1, 1), date(2027, 12, 31))
    ) / 4000
    assert o["realise_actions"] == pytest.approx((3000 * 1.0 + 1000 * 0.2) / 4000)
    assert o["attendu_actions"] == pytest.approx(expected_att)
    assert o["realise_indicateurs"] is None
    assert o["realise"] == pytest.approx(0.8)  # the only component present counts alone
    assert o["ecart"] == pytest.approx(0.8 - expected_att)
    assert o["statut"] == progress.EN_BONNE_VOIE  # 0.8 done for ~0.5 expected
    assert o["n_actions_mesurees"] == 2


def test_equal_weights_when_amounts_missing(con):
    objective(con, "O1")
    objective(con, "O2")
    action(con, "A1", statut="réalisée", objectifs=["O1", "O2"])
    action(con, "A2", statut="en cours", avancement=0.2, objectifs=["O1", "O2"])
    action(con, "A3", statut="en cours", avancement=0.5, objectifs=["O2"], accorde=9000)
    got = objectives(con)
    assert got["O1"]["realise_actions"] == pytest.approx(0.6)  # no amount at all: equal weights
    # O2: A1 and A2 have no amount → they get the mean known weight (9000): equal weights again.
    assert got["O2"]["realise_actions"] == pytest.approx((1.0 + 0.2 + 0.5) / 3)


def test_late_action_and_thresholds(con):
    objective(con, "O1")
    start, end = date(2024, 1, 1), date(2027, 12, 31)
    att = elapsed(start, end)  # 0.5
    action(con, "A1", statut="en cours", avancement=round(att - 0.15, 3), objectifs=["O1"], accorde=1000)
    objective(con, "O2")
    action(con, "A2", statut="en cours", avancement=round(att - 0.30, 3), objectifs=["O2"], accorde=1000)
    objective(con, "O3")
    action(con, "A3", statut="en cours", avancement=round(att - 0.05, 3), objectifs=["O3"], accorde=1000)
    got = objectives(con)
    assert got["O1"]["statut"] == progress.A_SURVEILLER
    assert got["O2"]["statut"] == progress.EN_RETARD
    assert got["O3"]["statut"] == progress.EN_BONNE_VOIE
    # Same data, a stricter rule: thresholds are parameters, not literals.
    strict = progress.ProgressRule(seuil_surveiller=0.02, seuil_retard=0.10)
    assert objectives(con, rule=strict)["O3"]["statut"] == progress.A_SURVEILLER
    assert objectives(con, rule=strict)["O1"]["statut"] == progress.EN_RETARD


def test_abandoned_action_counts_zero_and_refused_is_excluded(con):
    objective(con, "O1")
    action(con, "A1", statut="réalisée", objectifs=["O1"], accorde=1000)
    action(con, "A2", statut="abandonnée", avancement=0.4, objectifs=["O1"], accorde=1000)
    action(con, "A3", statut="refusée", objectifs=["O1"], accorde=0)
    action(con, "A4", statut="déposée", objectifs=["O1"])
    o = objectives(con)["O1"]
    assert o["realise_actions"] == pytest.approx(0.5)  # abandoned = 0 %, not its declared 40 %
    assert o["n_actions"] == 2 and o["n_actions_mesurees"] == 2 and o["n_actions_abandonnees"] == 1
    assert "dont 1 abandonnée" in o["motif"]
    rows = progress.action_rows(con.cursor(), contrat="CV-T", donnees_au=AU).filter(pl.col("code_action") == "A3")
    assert not rows["compte"][0] and "refusée" in rows["motif_exclusion"][0]


def test_action_not_started_or_without_avancement_is_not_measured(con):
    objective(con, "O1")
    action(
        con, "A1", statut="accordée", avancement=0.0, debut=date(2026, 6, 1), fin=date(2026, 12, 31), objectifs=["O1"]
    )
    action(con, "A2", statut="en cours", avancement=None, objectifs=["O1"])
    o = objectives(con)["O1"]
    assert o["n_actions_mesurees"] == 0 and o["n_actions"] == 2
    assert o["statut"] == progress.DONNEES_INSUFFISANTES
    assert "2 actions sans avancement mesurable" in o["motif"]


def test_indicator_target_already_reached(con):
    objective(con, "O1")
    indicator(
        con,
        "I1",
        sens="hausse",
        objectifs=["O1"],
        cibles=[(Q1, 10.0, date(2022, 1, 1), 20.0, date(2030, 12, 31))],
        values=[(Q1, date(2022, 1, 1), 10.0), (Q1, date(2024, 1, 1), 25.0)],
    )
    o = objectives(con)["O1"]
    assert o["realise_indicateurs"] == 1.0
    assert o["n_cibles_atteintes"] == 1 and "1 cible atteinte" in o["motif"]
    assert o["statut"] == progress.EN_BONNE_VOIE


def test_decreasing_desired_indicator(con):
    d0, d1 = date(2022, 1, 1), date(2030, 1, 1)
    expected = (date(2026, 1, 1) - d0).days / (d1 - d0).days  # 0.5
    objective(con, "O1")
    indicator(
        con,
        "I1",
        sens="baisse",
        objectifs=["O1"],
        cibles=[(Q1, 40.0, d0, 30.0, d1)],
        values=[(Q1, date(2026, 1, 1), 35.0)],
    )
    objective(con, "O2", qp=Q2)
    # Worse than the baseline: 0 % of the way. A later secret value is ignored, the known one is used.
    indicator(
        con,
        "I2",
        sens="baisse",
        objectifs=["O2"],
        cibles=[(Q2, 40.0, d0, 30.0, d1)],
        values=[(Q2, date(2026, 1, 1), 42.0), (Q2, date(2026, 6, 1), None)],
    )
    got = objectives(con)
    assert got["O1"]["realise_indicateurs"] == pytest.approx(0.5)
    assert got["O1"]["attendu_indicateurs"] == pytest.approx(expected)
    assert got["O1"]["statut"] == progress.EN_BONNE_VOIE
    assert got["O2"]["realise_indicateurs"] == 0.0
    assert got["O2"]["statut"] == progress.EN_RETARD
    rows = progress.indicator_rows(con.cursor(), contrat="CV-T", donnees_au=AU).filter(
        pl.col("code_indicateur") == "I2"
    )
    assert rows["date_valeur"][0] == date(2026, 1, 1)


def test_values_after_donnees_au_are_ignored(con):
    d0, d1 = date(2022, 1, 1), date(2030, 1, 1)
    objective(con, "O1")
    indicator(
        con,
        "I1",
        sens="hausse",
        objectifs=["O1"],
        cibles=[(Q1, 10.0, d0, 20.0, d1)],
        values=[(Q1, date(2024, 1, 1), 12.0), (Q1, date(2027, 1, 1), 20.0)],
    )
    assert objectives(con)["O1"]["realise_indicateurs"] == pytest.approx(0.2)
    assert objectives(con, au=date(2027, 6, 1))["O1"]["realise_indicateurs"] == 1.0


def test_objective_combines_actions_and_indicators_with_named_weights(con):
    d0, d1 = date(2022, 1, 1), date(2030, 1, 1)
    objective(con, "O1")
    action(con, "A1", statut="réalisée", objectifs=["O1"], accorde=1000)
    indicator(
        con,
        "I1",
        sens="hausse",
        objectifs=["O1"],
        cibles=[(Q1, 10.0, d0, 20.0, d1)],
        values=[(Q1, date(2026, 1, 1), 12.0)],
    )
    o = objectives(con)["O1"]
    assert o["realise"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.2)
    rule = progress.ProgressRule(poids_actions=0.25, poids_indicateurs=0.75)
    assert objectives(con, rule=rule)["O1"]["realise"] == pytest.approx(0.25 * 1.0 + 0.75 * 0.2)


def test_multi_qpv_action_counts_by_share_and_sums_to_contract_total(con):
    objective(con, "O1")
    action(con, "A1", statut="en cours", avancement=0.5, qpv=((Q1, None), (Q2, None)), accorde=1000, verse=100)
    action(con, "A2", statut="en cours", avancement=0.5, qpv=((Q1, 0.6), (Q2, None)), accorde=2000, verse=200)
    action(con, "A3", statut="réalisée", qpv=((Q1, 0.6), (Q2, 0.6)), accorde=4000, verse=400)
    action(con, "A4", statut="réalisée", qpv=(), accorde=500)  # hors QPV
    action(con, "A5", statut="refusée", qpv=((Q1, None),), accorde=0)
    cur = con.cursor()
    amounts = {r["code_qp"]: r for r in projets.qpv_amounts(cur, contrat="CV-T").iter_rows(named=True)}
    assert amounts[Q1]["accorde"] == pytest.approx(500 + 1200 + 2000)
    assert amounts[Q2]["accorde"] == pytest.approx(500 + 800 + 2000)
    assert amounts[Q1]["verse"] == pytest.approx(50 + 120 + 200)
    assert amounts[Q1]["n_actions"] == 3 and amounts[Q2]["n_actions"] == 3  # the refused one is not counted
    totals = projets.contract_totals(cur, contrat="CV-T")
    assert totals["accorde_qpv"] == pytest.approx(7000)
    assert amounts[Q1]["accorde"] + amounts[Q2]["accorde"] == pytest.approx(totals["accorde_qpv"])
    assert totals["accorde_hors_qpv"] == pytest.approx(500)
    shares = projets.allocation_shares(cur, contrat="CV-T")
    assert shares.group_by("code_action").agg(pl.col("part").sum())["part"].to_list() == pytest.approx([1.0] * 4)


def test_transversal_only_objective_is_measured_on_the_contract_qpv_and_kept_apart(con):
    d0, d1 = date(2022, 1, 1), date(2030, 1, 1)
    objective(con, "OT", qp=None, libelle="Objectif transversal")
    action(con, "A1", statut="en cours", avancement=0.5, objectifs=["OT"], qpv=((Q1, None), (Q2, None)), accorde=1000)
    indicator(
        con,
        "I1",
        sens="hausse",
        objectifs=["OT"],
        cibles=[(Q1, 10.0, d0, 20.0, d1), (Q2, 10.0, d0, 20.0, d1)],
        values=[(Q1, date(2026, 1, 1), 14.0), (Q2, date(2026, 1, 1), 10.0)],
    )
    o = objectives(con)["OT"]
    assert o["code_qp"] is None
    assert o["realise_indicateurs"] == pytest.approx((0.4 + 0.0) / 2)  # mean over the contract's QPV
    assert o["statut"] != progress.DONNEES_INSUFFISANTES
    # The QPV roll-up ignores it: no quartier objective → insufficient data, said in words.
    frame = progress.objective_progress(con.cursor(), contrat="CV-T", donnees_au=AU)
    qpv = progress.qpv_status(frame, [Q1, Q2])
    assert qpv["statut"].to_list() == [progress.DONNEES_INSUFFISANTES] * 2
    assert qpv["motif"][0] == "Aucun objectif de quartier enregistré"
    # The drill-down of a QPV shows it apart, with its indicator on that QPV only.
    drill = projets.qpv_objectives(con.cursor(), code_qp=Q1, donnees_au=AU)
    assert drill.filter(pl.col("code_objectif") == "OT")["portee"].to_list() == ["transversal"]
    inds = projets.qpv_indicators(con.cursor(), code_qp=Q1, donnees_au=AU)
    assert inds["code_qp"].to_list() == [Q1]


def test_qpv_rollup_reason_and_escalation(con):
    objective(con, "O1", libelle="Emploi des jeunes")
    objective(con, "O2", libelle="Réussite éducative")
    objective(con, "O3", libelle="Santé")
    objective(con, "O4", libelle="Cadre de vie")
    for o in ("O1", "O2", "O3"):
        action(con, f"A{o}", statut="réalisée", objectifs=[o], accorde=1000)
    action(con, "AO4", statut="abandonnée", objectifs=["O4"], accorde=1000)
    frame = progress.objective_progress(con.cursor(), contrat="CV-T", donnees_au=AU)
    assert frame.filter(pl.col("code_objectif") == "O4")["statut"][0] == progress.EN_RETARD
    q = progress.qpv_status(frame, [Q1]).row(0, named=True)
    assert q["n_objectifs"] == 4 and q["n_retard"] == 1
    # mean écart is positive (3 done early), but one late objective makes the QPV « à surveiller »
    assert q["ecart"] > 0 and q["statut"] == progress.A_SURVEILLER
    assert q["motif"] == "1 objectif sur 4 en retard : Cadre de vie"


def test_qpv_with_too_few_measured_objectives_is_insufficient(con):
    objective(con, "O1")
    objective(con, "O2")
    objective(con, "O3")
    action(con, "A1", statut="réalisée", objectifs=["O1"], accorde=1000)
    frame = progress.objective_progress(con.cursor(), contrat="CV-T", donnees_au=AU)
    q = progress.qpv_status(frame, [Q1]).row(0, named=True)
    assert q["statut"] == progress.DONNEES_INSUFFISANTES
    assert q["motif"] == "2 objectifs sur 3 sans données suffisantes"
    lenient = progress.ProgressRule(part_min_objectifs_mesures=0.3)
    assert progress.qpv_status(frame, [Q1], rule=lenient)["statut"][0] == progress.EN_BONNE_VOIE


def test_explanation_is_generated_from_the_parameters():
    text = progress.explain()
    assert "−10 points" in text and "−25 points" in text and "« refusée »" in text and "50\u00a0%" in text
    custom = progress.explain(
        progress.ProgressRule(seuil_surveiller=0.05, seuil_retard=0.4, poids_actions=0.25, poids_indicateurs=0.75)
    )
    assert "−5 points" in custom and "−40 points" in custom and "actions (25\u00a0%)" in custom
    for status in progress.STATUTS:
        assert status in text
