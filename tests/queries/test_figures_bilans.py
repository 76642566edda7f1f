"""`cdv_core.figures.bilans`: the « Bilans des porteurs » block's cards, captions and tables, from the
demo store's query results."""

from __future__ import annotations

from cdv_core import fmt
from cdv_core.figures import bilans as fig
from cdv_core.queries import bilans as q
from tests.conftest import DEMO_AU

ARGS = dict(contrat=None, donnees_au=DEMO_AU, delai_mois=6)


def test_summary_cards_and_captions(demo_cur):
    summary = q.summary(demo_cur, **ARGS)
    cards = fig.summary_cards(summary)
    assert [c.label for c in cards] == ["Bilans dus", "Reçus", "Acceptés", "En retard", "Complétude"]
    assert cards[0].value == fmt.integer(summary["dus"]) and cards[4].value == fmt.percent(summary["part"])
    assert fig.upcoming_caption({**summary, "a_venir": 1}) == "1 bilan à venir (échéance non atteinte)."
    assert fig.upcoming_caption({**summary, "a_venir": 2}) == "2 bilans à venir (échéance non atteinte)."
    assert fig.intro(delai_mois=6, donnees_au=DEMO_AU).startswith("Un bilan (compte rendu financier")


def test_tables_have_french_headers(demo_cur):
    counts = ["Dus", "Reçus", "Acceptés", "À examiner", "À compléter", "En retard", "À venir", "Complétude"]
    assert fig.porteurs_table(q.by_porteur(demo_cur, **ARGS)).columns == ["Porteur", *fig.CONTACT_COLUMNS[:2], *counts]
    assert fig.qpv_table(q.by_qpv(demo_cur, **ARGS)).columns == ["Quartier", "Code QPV", *counts]
    assert fig.years_table(q.by_year(demo_cur, **ARGS)).columns == ["Exercice", "Échéance", *counts]
    late = q.late(demo_cur, **ARGS)
    assert fig.late_table(late).columns[:4] == ["Porteur", "Exercice", "Échéance", "Jours de retard"]


def test_missing_email_wording_with_one_and_two(demo_cur):
    late = q.late(demo_cur, **ARGS).with_columns(contact_email=None)
    assert late.height >= 2
    assert fig.without_email_caption(late.head(1)).startswith("1 bilan en retard sans adresse électronique")
    assert fig.without_email_caption(late.head(2)).startswith("2 bilans en retard sans adresse électronique")
    owed = q.bilans(demo_cur, **ARGS)
    labels = fig.owed_labels(owed)
    first = owed.row(0, named=True)
    assert labels[f"{first['code_action']}|{first['annee']}"].startswith(f"{first['annee']} — {first['action']}")
