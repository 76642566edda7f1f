"""« Séance et exports »: the charts of the agenda sections (Vega-Lite specs sized for a projector and
a slide), and what the page says about validations and decisions."""

from __future__ import annotations

import altair as alt
import polars as pl

from cdv_core import charts, fmt
from cdv_core.domain import progress
from cdv_core.figures import gouvernance as gouv_fig

# Chart text for a projector and a slide (Vega-Lite defaults are 10-11 px).
CHART_FONT = {"label": 14, "title": 15, "chart_title": 18, "mark": 14}
SEANCE_YEAR_SERIES = {"tenues": "tenues", "attendues": "attendues"}


def projector_spec(chart: alt.Chart | alt.LayerChart) -> dict:
    """A section chart as a Vega-Lite spec: French locale, text sized for a projector."""
    return (
        charts.french(chart)
        .configure_axis(labelFontSize=CHART_FONT["label"], titleFontSize=CHART_FONT["title"])
        .configure_legend(labelFontSize=CHART_FONT["label"], titleFontSize=CHART_FONT["title"])
        .configure_title(fontSize=CHART_FONT["chart_title"])
        .configure_view(stroke=None)
        .to_dict()
    )


def funders_chart(by_funder: pl.DataFrame, *, year: int) -> dict | None:
    """Amounts granted in `year` per funder (`funding_by_funder_year`: financeur, accorde > 0)."""
    if not by_funder.height:
        return None
    # A step height: Streamlit's theme fits a fixed height to the whole chart, squeezing the bars.
    return projector_spec(
        alt.Chart(by_funder)
        .mark_bar(color="#1f4e79")
        .encode(
            x=alt.X("accorde:Q", title=f"Montant accordé {year} (€)", axis=alt.Axis(format=",.0f")),
            y=alt.Y("financeur:N", title=None, sort="-x", axis=alt.Axis(labelOverlap=False, labelLimit=220)),
        )
        .properties(width=520, height={"step": 28}, title=f"Financements accordés {year} par financeur")
    )


def meetings_chart(yearly: pl.DataFrame, *, until: int) -> dict | None:
    """Meetings held and expected per year up to `until` (`yearly_meetings`, aggregated as on the
    Gouvernance page: `figures.gouvernance.meetings_per_year`)."""
    per_year = gouv_fig.meetings_per_year(yearly, series=SEANCE_YEAR_SERIES, until=until)
    if not per_year.height:
        return None
    return projector_spec(
        alt.Chart(per_year)
        .mark_bar()
        .encode(
            x=alt.X("annee:N", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("serie:N"),
            y=alt.Y("reunions:Q", title="Réunions"),
            color=alt.Color(
                "serie:N", title=None, sort=["attendues", "tenues"], scale=alt.Scale(range=["#b8c7d9", "#1f4e79"])
            ),
        )
        .properties(width=520, height=260, title="Réunions tenues et attendues par an")
    )


def objectives_by_status(objectives: pl.DataFrame) -> pl.DataFrame:
    """The QPV's own objectives (`qpv_objectives`, portee « quartier ») per status: statut,
    objectifs, nombre (« 3 objectifs »)."""
    return (
        objectives.filter(pl.col("portee") == "quartier")
        .group_by("statut")
        .len("objectifs")
        .sort("statut")
        .with_columns(
            pl.format(
                "{} {}",
                pl.col("objectifs"),
                pl.when(pl.col("objectifs") > 1).then(pl.lit("objectifs")).otherwise(pl.lit("objectif")),
            ).alias("nombre")
        )
    )


def objectives_chart(objectives: pl.DataFrame) -> dict | None:
    """One bar per status, its count written at its end; no numeric axis (a bare 0–1 axis said
    nothing). Step height and no label overlap removal, so that every status keeps its label."""
    by_status = objectives_by_status(objectives)
    if not by_status.height:
        return None
    base = alt.Chart(by_status).encode(
        y=alt.Y(
            "statut:N",
            title=None,
            sort=list(progress.STATUTS),
            axis=alt.Axis(labelOverlap=False, labelLimit=260, ticks=False, domain=False),
        ),
        x=alt.X(
            "objectifs:Q", title=None, axis=None, scale=alt.Scale(domain=[0, 1.25 * int(by_status["objectifs"].sum())])
        ),
    )  # room for the count
    bars = base.mark_bar().encode(
        color=alt.Color(
            "statut:N",
            legend=None,
            sort=list(progress.STATUTS),
            scale=alt.Scale(domain=list(progress.STATUTS), range=["#2e7d32", "#f9a825", "#c62828", "#9e9e9e"]),
        )
    )
    counts = base.mark_text(align="left", dx=6, fontSize=CHART_FONT["mark"]).encode(text=alt.Text("nombre:N"))
    return projector_spec(
        (bars + counts).properties(width=520, height={"step": 44}, title="Objectifs du quartier par statut")
    )


def validations_table(done: pl.DataFrame, *, names: bool) -> pl.DataFrame:
    """`validation.validations` with French headers (`names`: who validated, not for a partenaire)."""
    return done.select(
        pl.col("libelle").alias("Ce qui a été validé"),
        pl.col("code_contrat").alias("Contrat"),
        pl.col("periode").alias("Période"),
        *([pl.col("valide_par").alias("Validé par")] if names else []),
        fmt.day_expr(pl.col("valide_le")).alias("Validé le"),
        pl.col("chiffres").alias("Chiffres"),
    )


def validation_labels(done: pl.DataFrame) -> dict[int, str]:
    """Each validation as the comparison's select box names it."""
    return {
        row["id_validation"]: f"{row['libelle']} · validé le {fmt.day(row['valide_le'])} par {row['valide_par']}"
        for row in done.iter_rows(named=True)
    }


def comparison_table(rows: pl.DataFrame) -> pl.DataFrame:
    """`validation.compare`: each validated figure beside its current value, with French headers."""
    return rows.select(
        pl.col("section").alias("Section"),
        pl.col("libelle").alias("Chiffre"),
        pl.col("valeur_validee").alias("Valeur validée"),
        pl.col("valeur_actuelle").fill_null("non recalculable").alias("Valeur actuelle"),
        pl.when(pl.col("modifie")).then(pl.lit("≠ modifié")).otherwise(pl.lit("")).alias("Écart"),
    )


def decision_line(n: int, decision: dict, *, names: bool) -> str:
    """A decision of the open séance, as listed (`names`: its owner, not for a partenaire)."""
    details = [
        f"responsable : {fmt.md(decision['responsable'])}" if names and decision["responsable"] else "",
        f"échéance : {fmt.day(decision['date_echeance'])}" if decision["date_echeance"] else "",
        f"actions : {fmt.md(decision['actions'])}" if decision["actions"] else "",
    ]
    return " · ".join([f"{n + 1}. **{fmt.md(decision['libelle'])}**", *filter(None, details)])
