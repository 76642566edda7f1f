"""`cdv_core.figures.seance` on the demo: the séance's charts are the figures functions' (the meetings
per year aggregated as on the Gouvernance page), sized for a projector in French; the countdown worded
as on the overview; the validations and comparison tables' headers; a decision's line."""

from __future__ import annotations

from datetime import date

import polars as pl

from cdv_core import fmt, seance, settings
from cdv_core.figures import gouvernance as gouv_fig
from cdv_core.figures import seance as fig
from cdv_core.figures.vue_ensemble import countdown_value
from cdv_core.queries import gouvernance as gouv
from cdv_core.queries import overview, projets
from tests.conftest import DEMO_AU

CONTRAT = "CV-DEMO-VERM"


def _scope(contrat=CONTRAT) -> seance.Scope:
    return seance.Scope(contrat, DEMO_AU, settings.load())


def test_meetings_chart_is_the_gouvernance_aggregation(demo_cur):
    section = seance.build_section(demo_cur, "gouvernance", _scope())
    yearly = gouv.yearly_meetings(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU)
    spec = fig.meetings_chart(yearly, until=DEMO_AU.year)
    assert section.chart == spec
    assert spec is not None
    values = pl.DataFrame(spec["datasets"][spec["data"]["name"]])
    same = gouv_fig.meetings_per_year(yearly, series=fig.SEANCE_YEAR_SERIES, until=DEMO_AU.year)
    assert values.sort("annee", "serie").equals(same.sort("annee", "serie"))
    page = gouv_fig.meetings_per_year(yearly, until=DEMO_AU.year)
    held = page.filter(pl.col("serie") == gouv_fig.YEAR_SERIES["tenues"]).sort("annee")["reunions"]
    assert held.equals(same.filter(pl.col("serie") == "tenues").sort("annee")["reunions"])
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert spec["config"]["axis"]["labelFontSize"] == fig.CHART_FONT["label"]
    assert spec["title"] == "Réunions tenues et attendues par an"


def test_funders_and_objectives_charts(demo_cur):
    section = seance.build_section(demo_cur, "vue_ensemble", _scope())
    assert section.chart is not None
    assert section.chart["encoding"]["x"]["axis"]["format"] == ",.0f"
    assert section.chart["encoding"]["x"]["title"].startswith("Montant accordé ")
    quartier = seance.build_section(demo_cur, "projet_quartier", _scope())
    assert quartier.chart is not None and quartier.chart["title"] == "Objectifs du quartier par statut"


def test_objective_counts_worded_for_one_and_two(demo_cur):
    rows = projets.qpv_overview(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU)
    code_qp = projets.most_worrying_first(rows)["code_qp"][0]
    objectives = projets.qpv_objectives(demo_cur, code_qp=code_qp, donnees_au=DEMO_AU)
    own = objectives.filter(pl.col("portee") == "quartier")
    statut = own.group_by("statut").len().filter(pl.col("len") >= 2)["statut"][0]
    some = own.filter(pl.col("statut") == statut)
    assert fig.objectives_by_status(some.head(1))["nombre"].to_list() == ["1 objectif"]
    assert fig.objectives_by_status(some.head(2))["nombre"].to_list() == ["2 objectifs"]


def test_countdown_worded_as_on_the_overview(demo_cur):
    countdown = overview.actualisation(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU)
    vue = {f.label: f for f in seance.build_section(demo_cur, "vue_ensemble", _scope()).figures}
    assert vue["Actualisation 2027"].value == countdown_value(countdown)
    assert vue["Actualisation 2027"].note == fmt.long_day(countdown["date"])
    actu = {f.label: f for f in seance.build_section(demo_cur, "actualisation", _scope()).figures}
    assert actu["Échéance"].note == countdown_value(countdown)


def test_validation_tables_headers(demo_cur):
    from cdv_core import validation

    done = validation.validations(demo_cur, contrat=None)
    assert fig.validations_table(done, names=True).columns == [
        "Ce qui a été validé",
        "Contrat",
        "Période",
        "Validé par",
        "Validé le",
        "Chiffres",
    ]
    assert "Validé par" not in fig.validations_table(done, names=False).columns
    compared = pl.DataFrame(
        schema={
            "section": pl.String,
            "libelle": pl.String,
            "valeur_validee": pl.String,
            "valeur_actuelle": pl.String,
            "modifie": pl.Boolean,
        }
    )
    assert fig.comparison_table(compared).columns == [
        "Section",
        "Chiffre",
        "Valeur validée",
        "Valeur actuelle",
        "Écart",
    ]


def test_decision_line():
    decision = {
        "libelle": "Relancer le bailleur",
        "responsable": "Mme Martin",
        "date_echeance": date(2026, 12, 31),
        "actions": "A-1, A-2",
    }
    line = fig.decision_line(0, decision, names=True)
    assert line == (
        "1. **Relancer le bailleur** · responsable : Mme Martin · échéance : 31/12/2026 · actions : A-1, A-2"
    )
    assert "Martin" not in fig.decision_line(1, decision, names=False)
    assert fig.decision_line(1, decision, names=False).startswith("2. ")
