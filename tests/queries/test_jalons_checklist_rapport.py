"""The 2027 checklist's « Rapports annuels produits » agrees with the rapport annuel rule
(`gouvernance.annual_obligations`, shown by the Jalons screen through `jalons.rapports_annuels`):
« produit » means voted after a consultation of the conseils citoyens at least
`RAPPORT_DELAI_MOIS` month before the vote, and the evidence names each year's missing step.

Every combination of steps for one year on a hand-built store, several years at once, the due
rule, and every demo contract at several « données au » dates."""

from __future__ import annotations

import itertools
from datetime import date

import polars as pl
import pytest

from cdv_core.domain import readiness as rd
from cdv_core.queries import gouvernance as gouv
from cdv_core.queries import jalons as q
from tests.conftest import DEMO_AU, insert, minimal_contract

AU = date(2025, 12, 1)
VOTE = date(2025, 6, 30)  # the 2024 rapport's vote (planned, or realised, that day)
# The consultation's date: 46 days before the vote, exactly one month before (30/05: still in
# time), one day too late.
TIMINGS = {"tôt": date(2025, 5, 15), "limite": date(2025, 5, 30), "tard": date(2025, 5, 31)}
ABSENT, PREVU, REALISE = "absent", "prévu", "réalisé"


def _jalon(id_, type_jalon, day, state, annee):
    return {
        "id_jalon": id_,
        "code_contrat": "CV-T",
        "type_jalon": type_jalon,
        "libelle": f"{type_jalon} {annee}",
        "date_prevue": day,
        "date_realisation": day if state == REALISE else None,
        "annee": annee,
    }


def _rapport_item(con, au, contrat="CV-T") -> dict:
    items = q.readiness_by_contract(con.cursor(), contrat=contrat, donnees_au=au, max_age_months=24)
    return items.filter(pl.col("critere") == "rapports").row(0, named=True)


def _statut(con, au, annee, contrat="CV-T") -> str:
    rows = gouv.annual_obligations(con.cursor(), contrat=contrat, donnees_au=au).filter(pl.col("annee") == annee)
    return rows["rapport_statut"].item()


def _expected_step(consultation: str, timing: str, vote: str) -> str:
    """The missing steps, stated from the combination itself (an oracle independent of the code)."""
    steps = []
    late = timing == "tard" and vote != ABSENT  # without a vote date there is no delay to judge
    if consultation == ABSENT:
        steps.append("conseils citoyens non consultés")
    elif late:
        steps.append(
            "consultation moins d'un mois avant le vote"
            if consultation == REALISE
            else "consultation prévue moins d'un mois avant le vote"
        )
    elif consultation == PREVU:
        steps.append("consultation prévue non réalisée")
    if vote != REALISE:
        steps.append("vote non réalisé")
    return ", ".join(steps)


COMBINATIONS = [
    (c, t, v)
    for c, t, v in itertools.product((ABSENT, PREVU, REALISE), TIMINGS, (ABSENT, PREVU, REALISE))
    if c != ABSENT or t == "tôt"
]  # an absent consultation has no timing


@pytest.fixture
def store(empty_store):
    minimal_contract(empty_store, "CV-T")
    return empty_store


def test_the_delay_is_one_rule():
    assert rd.CONSULTATION_DELAI_MOIS == gouv.RAPPORT_DELAI_MOIS == 1
    text = rd.rule_text(next(i for i in rd.ITEMS if i.key == "rapports"), max_age_months=24, cpo_target=0.5)
    assert "au moins 1 mois avant le vote" in text and "30/06" in text
    assert "consultation des conseils citoyens" in text and "« respectée »" in text


def test_every_combination_of_steps_agrees_with_the_rule(store):
    assert len(COMBINATIONS) == 21
    seen = set()
    for consultation, timing, vote in COMBINATIONS:
        store.execute("DELETE FROM jalon")
        rows = []
        if consultation != ABSENT:
            rows.append(_jalon("J-C", "consultation conseils citoyens", TIMINGS[timing], consultation, 2024))
        if vote != ABSENT:
            rows.append(_jalon("J-V", "rapport annuel", VOTE, vote, 2024))
        if rows:
            insert(store, "jalon", rows)
        combo = f"consultation {consultation} ({timing}), vote {vote}"
        statut = _statut(store, AU, 2024)
        item = _rapport_item(store, AU)
        screen = q.rapports_annuels(store.cursor(), contrat="CV-T", donnees_au=AU).filter(pl.col("annee") == 2024)
        assert screen["rapport_statut"].item() == statut, combo
        # the rule itself: respected only with both steps realised, in time
        produced = consultation == REALISE and timing != "tard" and vote == REALISE
        assert (statut == "respectée") == produced, f"{combo}: « {statut} »"
        # the checklist agrees, and names the missing step
        assert item["ok"] == (statut == "respectée"), f"{combo}: « {statut} », item {item['preuve']}"
        if produced:
            assert item["preuve"] == "1 rapport annuel produit sur 1 échu.", combo
        else:
            assert (
                item["preuve"]
                == f"0 rapport annuel produit sur 1 échu ; 2024 : {_expected_step(consultation, timing, vote)}."
            ), f"{combo}: « {statut} »"
        seen.add(statut)
    # the combinations reach every status a due year can have
    assert seen == {"respectée", "non respectée", "délai prévu insuffisant", "non renseignée", "en cours"}


def test_several_years_each_with_its_missing_step(store):
    insert(
        store,
        "jalon",
        [
            _jalon("V24", "rapport annuel", date(2025, 6, 30), REALISE, 2024),  # never consulted
            _jalon("C25", "consultation conseils citoyens", date(2026, 5, 1), REALISE, 2025),
            _jalon("V25", "rapport annuel", date(2026, 6, 30), PREVU, 2025),  # not voted
            _jalon("C26", "consultation conseils citoyens", date(2027, 4, 1), REALISE, 2026),
            _jalon("V26", "rapport annuel", date(2027, 6, 30), REALISE, 2026),  # produced
        ],
    )
    au = date(2027, 12, 1)
    assert [_statut(store, au, y) for y in (2024, 2025, 2026)] == ["non renseignée", "en cours", "respectée"]
    item = _rapport_item(store, au)
    assert not item["ok"]
    assert item["preuve"] == (
        "1 rapport annuel produit sur 3 échus ; 2024 : conseils citoyens non consultés ; 2025 : vote non réalisé."
    )
    # The readiness page shows the same evidence and the contract is not ready because of it.
    got = q.readiness(store.cursor(), contrat="CV-T", donnees_au=au, max_age_months=24)
    assert got["items"].filter(pl.col("critere") == "rapports")["preuve"].item() == item["preuve"]


def test_due_rule_is_unchanged(store):
    # 2024: vote planned 30/06/2025, not consulted. Due from that date on, not the day before.
    insert(store, "jalon", [_jalon("V24", "rapport annuel", date(2025, 6, 30), PREVU, 2024)])
    before = _rapport_item(store, date(2025, 6, 29))
    assert before["ok"] and before["preuve"] == "Aucun rapport annuel n'est encore échu."
    assert not _rapport_item(store, date(2025, 6, 30))["ok"]
    # A vote planned later than 30/06 moves the due date; without any jalon the default applies.
    store.execute("UPDATE jalon SET date_prevue = DATE '2025-12-10' WHERE id_jalon = 'V24'")
    assert _rapport_item(store, date(2025, 12, 9))["ok"]
    store.execute("DELETE FROM jalon")
    assert _rapport_item(store, date(2025, 6, 29))["ok"]
    at_default = _rapport_item(store, date(2025, 6, 30))
    assert (
        at_default["preuve"]
        == "0 rapport annuel produit sur 1 échu ; 2024 : conseils citoyens non consultés, vote non réalisé."
    )
    # The year of « données au » is never due yet (année écoulée), even with a vote planned in it.
    insert(
        store,
        "jalon",
        [
            _jalon("C25", "consultation conseils citoyens", date(2025, 3, 1), PREVU, 2025),
            _jalon("V25", "rapport annuel", date(2025, 5, 1), PREVU, 2025),
        ],
    )
    assert _rapport_item(store, date(2025, 6, 30))["preuve"].startswith("0 rapport annuel produit sur 1 échu ;")


DEMO_DATES = (DEMO_AU, date(2025, 7, 1), date(2026, 1, 15), date(2026, 8, 1), date(2027, 3, 1))


@pytest.mark.parametrize("au", DEMO_DATES, ids=str)
def test_demo_checklist_agrees_with_the_obligations(demo_cur, au):
    items = q.readiness_by_contract(demo_cur, contrat=None, donnees_au=au, max_age_months=24).filter(
        pl.col("critere") == "rapports"
    )
    obligations = gouv.annual_obligations(demo_cur, contrat=None, donnees_au=au)
    contrats = demo_cur.execute("SELECT code_contrat FROM contrat ORDER BY 1").fetchall()
    assert sorted(items["code_contrat"].to_list()) == [c for (c,) in contrats]
    for row in items.iter_rows(named=True):
        jalons = (
            q.milestones(demo_cur, contrat=row["code_contrat"], donnees_au=au)
            .filter(pl.col("type_jalon") == rd.RAPPORT_TYPE)
            .group_by("annee")
            .agg(pl.col("date_prevue").min())
        )
        due = (
            obligations.filter(pl.col("code_contrat") == row["code_contrat"], pl.col("annee") < au.year)
            .join(jalons, on="annee", how="left")
            .filter(
                pl.coalesce(
                    pl.col("date_prevue"), pl.date(pl.col("annee") + 1, rd.RAPPORT_DUE_MONTH, rd.RAPPORT_DUE_DAY)
                )
                <= au
            )
        )
        failing = due.filter(pl.col("rapport_statut") != "respectée")["annee"].to_list()
        assert row["ok"] == (not failing), f"{row['code_contrat']} at {au}: {row['preuve']}"
        for annee in failing:
            assert f"{annee} : " in row["preuve"], f"{row['code_contrat']} at {au}: {row['preuve']}"
        produced = due.height - len(failing)
        assert row["preuve"].startswith(f"{produced} rapport") or due.is_empty(), row["preuve"]
        # the Jalons screen shows the same statuses
        screen = q.rapports_annuels(demo_cur, contrat=row["code_contrat"], donnees_au=au)
        mine = obligations.filter(pl.col("code_contrat") == row["code_contrat"])
        assert screen["rapport_statut"].to_list() == mine["rapport_statut"].to_list()
