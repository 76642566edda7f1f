"""`cdv_core.figures.vue_ensemble` on the demo: the cards' labels and French values, the one wording of
the 2027 countdown (before and after its date, 1 and 2 days), the imports table's headers."""

from __future__ import annotations

from datetime import timedelta

from cdv_core import fmt
from cdv_core.figures import vue_ensemble as fig
from cdv_core.queries import overview
from tests.conftest import DEMO_AU


def test_countdown_is_worded_once_before_and_after_its_date(demo_cur):
    countdown = overview.actualisation(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert countdown["jours"] > 0
    assert fig.countdown_value(countdown) == f"J-{fmt.integer(countdown['jours'])}"
    late_1 = overview.actualisation(demo_cur, contrat=None, donnees_au=countdown["date"] + timedelta(days=1))
    late_2 = overview.actualisation(demo_cur, contrat=None, donnees_au=countdown["date"] + timedelta(days=2))
    assert fig.countdown_value(late_1) == "dépassée de 1 jour"
    assert fig.countdown_value(late_2) == "dépassée de 2 jours"
    card = fig.countdown_card(countdown)
    assert (card.label, card.value) == ("Actualisation 2027", fig.countdown_value(countdown))
    assert card.help is not None and card.help.startswith(f"Échéance : {fmt.long_day(countdown['date'])}")
    assert ("aucun jalon enregistré" in card.help) is not countdown["jalon_enregistre"]


def test_headline_cards_carry_the_year_and_french_values(demo_cur):
    figures = overview.headline(demo_cur, contrat=None, donnees_au=DEMO_AU)
    countdown = overview.actualisation(demo_cur, contrat=None, donnees_au=DEMO_AU)
    year = figures["annee"]
    territory = fig.territory_cards(figures, population="< 11")
    assert [c.label for c in territory] == [
        "Contrats de ville",
        "Quartiers prioritaires",
        "Habitants des QPV",
        f"Actions {year}",
    ]
    assert territory[0].value == fmt.integer(figures["contrats"])
    assert territory[2].value == "< 11"  # as the reader may see it
    funding = fig.funding_cards(figures, countdown)
    assert [c.label for c in funding] == [
        f"Montant accordé {year}",
        f"Montant versé {year}",
        f"Crédits P147 en CPO {year}",
        "Actualisation 2027",
    ]
    assert funding[0].value == fmt.euros(figures["accorde"]) and funding[0].value.endswith("€")
    assert funding[1].delta == f"{fmt.percent(figures['taux_versement'])} de l'accordé"
    assert funding[2].value == fmt.percent(figures["part_cpo"]) and "," in funding[2].value
    assert funding[2].delta_color == ("green" if figures["cpo_cible_atteinte"] else "red")
    assert funding[3] == fig.countdown_card(countdown)


def test_imports_table_headers(demo_cur):
    origin = overview.provenance(demo_cur)
    table = fig.imports_table(origin["imports"])
    assert table.columns == ["Fichier", "Type", "Auteur", "Date", "Statut", "Résumé"]
    assert table.height == origin["imports"].height
