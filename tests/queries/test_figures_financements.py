"""`cdv_core.figures.financements`: what « Actions et financements » shows, from the demo store's
query results — chart encodings and French formats, display-table headers, the wording of counts."""

from __future__ import annotations

import polars as pl

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.figures import financements as fig
from cdv_core.queries import financements as fin
from tests.conftest import DEMO_AU


def _spec(chart) -> dict:
    return chart.to_dict()


def test_funder_year_chart_stacks_the_accorde_per_exercice_and_funder_in_french(demo_cur):
    spec = _spec(fig.funder_year_chart(fin.funding_by_funder_year(demo_cur, contrat=None)))
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["y"]["field"], enc["color"]["field"]) == ("annee", "accorde", "financeur")
    assert enc["y"]["axis"]["format"] == ",.0f" and enc["y"]["title"] == "Montant accordé (€)"
    assert enc["color"]["scale"]["domain"] == list(model.FINANCEURS)
    assert [t["title"] for t in enc["tooltip"]] == ["Exercice", "Financeur", "Accordé (€)", "Versé (€)"]
    assert spec["config"]["locale"]["number"]["decimal"] == ","  # through charts.french


def test_thematique_and_cpo_charts_keep_the_query_order_and_french_axes(demo_cur):
    by_them = fin.funding_by_thematique(demo_cur, contrat=None, annee=DEMO_AU.year)
    spec = _spec(fig.thematique_chart(by_them))
    assert spec["encoding"]["y"]["sort"] == by_them["thematique_libelle"].to_list()
    assert spec["encoding"]["x"]["axis"]["format"] == ",.0f"
    cpo = _spec(fig.cpo_chart(fin.cpo_commitments(demo_cur, contrat=None)))
    assert cpo["encoding"]["xOffset"]["sort"] == ["Accordé", "Versé"]
    assert "locale" in cpo["config"]


def test_funnel_labels_each_step_with_its_amount_and_rate(demo_cur):
    totals = fin.funding_totals(demo_cur, contrat=None, annee=DEMO_AU.year)
    spec = _spec(fig.funnel_chart(totals))
    rows = next(iter(spec["datasets"].values()))
    labels = {r["etape"]: r["etiquette"] for r in rows}
    assert labels["Demandé"] == fmt.euros(totals["demande"])
    assert labels["Accordé"] == f"{fmt.euros(totals['accorde'])} ({fmt.percent(totals['taux_accord'])})"
    assert labels["Versé"] == f"{fmt.euros(totals['verse'])} ({fmt.percent(totals['taux_versement'])})"
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "text"]
    assert fig.funnel_chart({**totals, "demande": 0.0, "accorde": 0.0, "verse": 0.0}) is None


def test_headline_cards_say_the_query_figures(demo_cur):
    counts = fin.action_counts(demo_cur, contrat=None, annee=DEMO_AU.year)
    totals = fin.funding_totals(demo_cur, contrat=None, annee=DEMO_AU.year)
    hq = fin.hors_qpv_summary(fin.hors_qpv_by_departement(demo_cur, contrat=None, annee=DEMO_AU.year))
    first, second = fig.headline_cards(counts, totals, hq, annee=DEMO_AU.year)
    assert [c.label for c in first] == ["Actions", "Porteurs", "Montant demandé", "Montant accordé", "Montant versé"]
    assert [c.label for c in second] == [
        "Crédits P147 en CPO",
        "Crédits spécifiques",
        "Droit commun",
        "Petites associations",
        "Hors QPV déclaré (P147)",
    ]
    assert first[0].value == fmt.integer(counts["actions"])
    assert first[3].delta == f"{fmt.percent(totals['taux_accord'])} du demandé"
    assert (first[3].delta_color, first[3].delta_arrow) == ("off", "off")  # a note, not a change
    assert second[0].delta_color == ("normal" if totals["cpo_cible_atteinte"] else "inverse")


def test_hors_qpv_card_for_one_departement_and_for_several(demo_cur):
    several = fin.hors_qpv_summary(fin.hors_qpv_by_departement(demo_cur, contrat=None, annee=DEMO_AU.year))
    assert several["departements"] > 1
    card = fig.hors_qpv_card(several, annee=DEMO_AU.year)
    assert card.value == f"{fmt.integer(several['departements_depasse'])} sur {fmt.integer(several['departements'])}"
    assert card.delta == f"départements au-delà de {fmt.percent(model.HORS_QPV_MAX_SHARE)}"
    contrat = demo_cur.execute("SELECT min(code_contrat) FROM contrat").fetchone()[0]
    one = fin.hors_qpv_summary(fin.hors_qpv_by_departement(demo_cur, contrat=contrat, annee=DEMO_AU.year))
    card = fig.hors_qpv_card(one, annee=DEMO_AU.year)
    assert card.value == fmt.percent(one["part"])
    assert f"département {one['insee_dep']}" in card.help and f"exercice {DEMO_AU.year}" in card.help


def test_selection_caption_counts_filters_in_french():
    assert fig.selection_caption(None, 0, by_qpv=False) == "Sélection : toutes années, aucun autre filtre"
    assert fig.selection_caption(2026, 1, by_qpv=False) == "Sélection : exercice 2026, 1 filtre actif"
    assert fig.selection_caption(2026, 2, by_qpv=True) == (
        "Sélection : exercice 2026, 2 filtres actifs · montants au prorata des QPV choisis"
    )


def test_alert_wording_with_one_and_two_rows(demo_cur):
    overpaid = fin.overpaid_lines(demo_cur, contrat=None)
    ended = fin.ended_without_status(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert overpaid.height >= 2 and ended.height >= 2
    one, two = fig.overpaid_text(overpaid.head(1)), fig.overpaid_text(overpaid.head(2))
    assert one.startswith("1 ligne de financement dont le versé dépasse l'accordé")
    assert two.startswith("2 lignes de financement dont le versé dépasse l'accordé")
    assert fmt.euros(float(overpaid.head(2)["ecart"].sum())) in two
    assert fig.ended_text(ended.head(1)).startswith("1 action terminée(s)")
    assert fig.ended_text(ended.head(2)).startswith("2 actions terminée(s)")
    assert fig.overpaid_text(overpaid.clear()) == "Aucune ligne de financement dont le versé dépasse l'accordé."
    labels = fig.alert_tab_labels(months=6, unpaid=1, overpaid=overpaid.height, ended=2, bad_siret=0, over=0)
    assert labels[1] == f"Versé > accordé ({fmt.integer(overpaid.height)})"


def test_alert_tables_have_french_headers_and_formats(demo_cur):
    unpaid = fin.unpaid_grants(demo_cur, contrat=None, donnees_au=DEMO_AU, months=DEMO_AU.month)
    assert unpaid.height
    shown = fig.alert_table(unpaid, fig.UNPAID_COLUMNS)
    assert shown.columns == list(fig.UNPAID_COLUMNS.values())
    assert shown.height == min(unpaid.height, fig.ALERT_CAP)
    assert shown["Accordé"].str.ends_with("€").all() and shown["Exercice"].dtype == pl.String
    overpaid = fin.overpaid_lines(demo_cur, contrat=None)
    assert fig.overpaid_export(overpaid).columns == ["Contrat", *fig.OVERPAID_COLUMNS.values()]
    hq = fig.hors_qpv_table(fin.hors_qpv_by_departement(demo_cur, contrat=None, annee=DEMO_AU.year))
    assert hq.columns[:3] == ["Département", "Exercice", "P147 accordé"]
    assert set(hq["Au-delà du plafond"]) <= {"oui", "non"}


def test_actions_display_puts_status_and_euros_first(demo_cur):
    shown = fig.actions_table(fin.action_rows(demo_cur, contrat=None, annee=DEMO_AU.year, limit=20))
    display = fig.actions_display(shown, by_qpv=False)
    assert display.columns[:4] == ["Action", "Statut", "Accordé", "Versé"]
    assert "Part retenue" not in display.columns and not any("(€)" in c for c in display.columns)
    assert "Part retenue" in fig.actions_display(shown, by_qpv=True).columns
    assert set(display["Hors QPV"]) <= {"oui", "non"}
    n = shown.height
    assert fig.actions_caption(n, cap=200, sort="Accordé (€)", by_qpv=False).startswith(
        f"{fmt.plural(n, 'action')} (refusées comprises) ; tri : accordé (€)."
    )
    assert fig.actions_caption(1, cap=200, sort="Porteur", by_qpv=False).startswith("1 action (refusées")


def test_action_detail_texts_and_tables(demo_cur):
    code = fig.actions_table(fin.action_rows(demo_cur, contrat=None, annee=DEMO_AU.year, limit=1))["Code action"][0]
    detail = fin.action_detail(demo_cur, code_action=code)
    who, what, where = fig.action_identity(detail["action"])
    assert who.startswith("**Porteur** :") and what.startswith("**Contrat** :") and where.startswith("**Statut** :")
    assert fig.action_lines(detail["financements"]).columns == [
        "Exercice",
        "Financeur",
        "Demandé",
        "Accordé",
        "Versé",
        "Demande",
        "Décision",
        "Versement",
    ]
    assert fig.action_quartiers(detail["quartiers"]).columns == ["QPV", "Quartier", "Part déclarée", "Part retenue"]
    assert fig.action_objectifs(detail["objectifs"]).columns == ["Code", "Axe", "Objectif", "QPV"]


def test_the_page_reads_the_departements_rule_once_for_every_exercice(demo_cur):
    """Choosing another year on the page filters the rows of every exercice, read once: the same
    rows, in the same order, as reading that exercice."""
    every = fin.hors_qpv_by_departement(demo_cur, contrat=None, annee=None)
    assert every["annee"].n_unique() > 1
    for contrat in (None, "CV-DEMO-VERM"):
        every = fin.hors_qpv_by_departement(demo_cur, contrat=contrat, annee=None)
        for annee in (None, *range(2024, 2031)):
            assert fin.hors_qpv_of_year(every, annee).equals(
                fin.hors_qpv_by_departement(demo_cur, contrat=contrat, annee=annee)
            ), (contrat, annee)
