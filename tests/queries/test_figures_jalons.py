"""`cdv_core.figures.jalons` on the demo: headline cards (the countdown worded as on the overview),
the readiness verdict, the road chart's fields and French formats, the tables' headers."""

from __future__ import annotations

import polars as pl

from cdv_core import fmt, settings
from cdv_core.domain import readiness as rd
from cdv_core.figures import jalons as fig
from cdv_core.figures import vue_ensemble
from cdv_core.queries import jalons, overview
from tests.conftest import DEMO_AU

CONTRAT = "CV-DEMO-VERM"
MAX_AGE = settings.load().indicator_max_age_months


def _ready(cur, contrat=None):
    return jalons.readiness(cur, contrat=contrat, donnees_au=DEMO_AU, max_age_months=MAX_AGE)


def test_headline_cards(demo_cur):
    countdown = overview.actualisation(demo_cur, contrat=None, donnees_au=DEMO_AU)
    ready = _ready(demo_cur)
    counts = jalons.milestone_counts(demo_cur, contrat=None, donnees_au=DEMO_AU)
    cards = fig.headline_cards(countdown, ready, counts)
    assert cards[0] == vue_ensemble.countdown_card(countdown)  # one wording on both screens
    assert [c.label for c in cards[1:]] == ["Préparation de l'actualisation", "Jalons réalisés", "Jalons en retard"]
    assert cards[1].value == f"{fmt.integer(ready['remplis'])} / {fmt.integer(ready['total'])} critères"
    assert cards[1].delta == ("prêt" if ready["pret"] else f"{fmt.integer(ready['a_completer'])} à compléter")
    assert cards[2].help == f"Sur {fmt.plural(counts['total'], 'jalon')} enregistrés, à la date des données."
    assert cards[3].delta == f"{fmt.integer(counts[rd.STATUT_A_VENIR])} à venir"


def test_readiness_verdict_names_what_is_missing(demo_cur):
    ready = _ready(demo_cur, CONTRAT)
    verdict = fig.readiness_verdict(ready)
    missing = ready["items"].filter(~pl.col("ok"))["libelle"].to_list()
    if ready["pret"]:
        assert verdict.startswith("Prêt pour l'actualisation")
    else:
        assert verdict.startswith(f"Pas encore prêt pour l'actualisation ({fmt.integer(ready['remplis'])} / ")
        assert all(m in verdict for m in missing)


def test_contracts_tables_headers(demo_cur):
    ready = _ready(demo_cur)
    per = ready["contrats"]
    assert per.height > 1
    shown = fig.contracts_table(per, total=ready["total"])
    assert shown.columns == ["Contrat", "Critères remplis", "Prêt", "À compléter"]
    assert set(shown["Prêt"]) <= {"oui", "non"}
    assert fig.contracts_export(per).columns == ["Code contrat", "Contrat", "Critères remplis", "Prêt", "À compléter"]
    shown_n = per.height - 1
    caption = fig.contracts_caption(ready, shown=shown_n)
    assert caption.endswith(f"({fmt.integer(shown_n)} premiers affichés ; le téléchargement contient tout).")
    assert fig.contracts_caption(ready, shown=per.height).endswith("les moins avancés en premier.")


def test_timeline_chart_fields_and_formats(demo_cur):
    countdown = overview.actualisation(demo_cur, contrat=None, donnees_au=DEMO_AU)
    points = jalons.timeline(demo_cur, contrat=None, donnees_au=DEMO_AU)
    spec = fig.timeline_chart(
        points, donnees_au=DEMO_AU, actualisation=countdown["date"], every_contract=True
    ).to_dict()
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    dots, rules = spec["layer"]
    assert dots["encoding"]["x"]["field"] == "date_prevue" and dots["encoding"]["x"]["axis"]["format"] == "%Y"
    assert "yOffset" in dots["encoding"]  # every contract: a sub-row per status
    tips = {t["field"]: t.get("format") for t in dots["encoding"]["tooltip"]}
    assert tips["date_prevue"] == "%d/%m/%Y"
    assert rules["encoding"]["color"]["scale"]["domain"] == [
        f"données au {fmt.day(DEMO_AU)}",
        f"actualisation : {fmt.day(countdown['date'])}",
    ]
    one = fig.timeline_chart(
        jalons.timeline(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU),
        donnees_au=DEMO_AU,
        actualisation=countdown["date"],
        every_contract=False,
    ).to_dict()
    assert "yOffset" not in one["layer"][0]["encoding"]


def test_milestone_tables_headers(demo_cur):
    late = jalons.milestones(demo_cur, contrat=None, donnees_au=DEMO_AU, statut=rd.STATUT_RETARD)
    assert fig.late_table(late, with_contract=True).columns == [
        "Prévu le",
        "Retard (jours)",
        "Type",
        "Jalon",
        "Contrat",
    ]
    assert "Contrat" not in fig.late_table(late, with_contract=False).columns
    every = jalons.milestones(demo_cur, contrat=None, donnees_au=DEMO_AU)
    assert fig.milestones_table(every, with_contract=True).columns == [
        "Contrat",
        "Type",
        "Jalon",
        "Prévu le",
        "Réalisé le",
        "Statut",
    ]
    assert fig.milestones_export(every).columns[-1] == "Jours de retard"
    assert fig.late_cap_note(2, every.height).startswith(f"2 premiers sur {fmt.integer(every.height)} :")


def test_baseline_comparison(demo_cur):
    frozen = jalons.baselines(demo_cur, contrat=CONTRAT)
    assert frozen.height
    names = fig.baseline_names(frozen)
    row = frozen.row(0, named=True)
    assert names[row["id_gel"]].startswith(f"{row['libelle']} — état au {fmt.day(row['date_gel'])}")
    diff = jalons.baseline_diff(demo_cur, id_gel=row["id_gel"], donnees_au=DEMO_AU)
    assert fmt.day(DEMO_AU) in fig.baseline_caption(diff, donnees_au=DEMO_AU)
    then_label, now_label = fig.period_labels(diff)
    assert then_label.endswith("(référence)") and now_label.endswith("(aujourd'hui)")
    assert fig.objectives_table(diff["objectifs"]).columns == [
        "Changement",
        "Objectif",
        "QPV",
        "Axe",
        "Libellé à la référence",
        "Libellé actuel",
    ]
    if diff["thematiques"].height:
        spec = fig.thematiques_chart(diff["thematiques"], then_label=then_label, now_label=now_label).to_dict()
        assert spec["encoding"]["x"]["axis"]["format"] == ",.0f"
        assert spec["encoding"]["color"]["sort"] == [then_label, now_label]


def test_rapport_tables_headers(demo_cur):
    votes = jalons.rapport_votes(demo_cur, contrat=CONTRAT)
    assert fig.rapport_votes_table(votes).columns == [
        "Exercice",
        "Assemblée",
        "Collectivité",
        "SIREN / INSEE",
        "Voté le",
        "Délibération",
    ]
    contributions = jalons.rapport_contributions(demo_cur, contrat=CONTRAT)
    assert fig.rapport_contributions_table(contributions).columns == ["Exercice", "Conseil", "Reçue le", "Contribution"]
    reports = jalons.rapports_annuels(demo_cur, contrat=None, donnees_au=DEMO_AU)
    summary = fig.rapports_summary_table(reports)
    assert summary.columns == ["Exercice", *reports.columns[1:]]
