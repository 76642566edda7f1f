"""« Projets de quartier »: the cards, the chosen quartier's summary, the charts and the captions the
committee sees, and the QPV, actions and indicators tables (`qpv_display`, `qpv_export`,
`actions_display`, `indicators_display`), built from `cdv_core.queries.projets` results.
Pure functions: no Streamlit, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import altair as alt
import polars as pl

from cdv_core import charts, fmt
from cdv_core.domain import progress
from cdv_core.figures.cards import Card
from cdv_core.memo import by_content
from cdv_core.queries import projets

PERIODE = "toutes années"  # the amounts cards sum every funding year (as « Financements » says it)
_SERIES = ["valeurs connues", "trajectoire visée"]


def status_cards(counts: dict[str, int], totals: dict, *, quartiers: int) -> list[list[Card]]:
    """Quartiers per status (`projets.status_counts`), then their number and the amounts
    (`projets.contract_totals`, every funding year: the period is in the label, since « Vue
    d'ensemble » shows the current year's amount)."""
    by_status = [
        Card(
            status.capitalize(),
            fmt.plural(counts[status], "quartier"),
            help="Nombre de quartiers dans ce statut (voir « Comment ce statut est-il calculé ? »).",
        )
        for status in progress.STATUTS
    ]
    amounts = [
        Card("Quartiers prioritaires", fmt.integer(quartiers)),
        Card(
            f"Accordé aux actions en QPV ({PERIODE})",
            fmt.euros_compact(totals["accorde_qpv"]),
            help=f"{fmt.euros(totals['accorde_qpv'])} accordés, toutes années de financement, chaque action "
            "comptée une fois ; réparti entre quartiers selon les parts de répartition (la somme des "
            "quartiers redonne ce total).",
        ),
        Card(
            f"Versé aux actions en QPV ({PERIODE})",
            fmt.euros_compact(totals["verse_qpv"]),
            help=f"{fmt.euros(totals['verse_qpv'])} versés, toutes années de financement.",
        ),
        Card(
            f"Accordé hors QPV ({PERIODE})",
            fmt.euros_compact(totals["accorde_hors_qpv"]),
            help=f"{fmt.euros(totals['accorde_hors_qpv'])} accordés, toutes années, aux actions rattachées à "
            "aucun QPV (déclarées hors QPV, ou dont le lien QPV manque) : hors des totaux par quartier.",
        ),
    ]
    return [by_status, amounts]


@by_content
def choice_labels(rows: pl.DataFrame) -> dict[str, str]:
    """« Statut — libellé (code) » per QPV, the most worrying first: the status first, so that a long
    name cuts the code at the end, never the status."""
    ordered = projets.most_worrying_first(rows)
    return dict(
        zip(
            ordered["code_qp"].to_list(),
            (
                ordered["statut"].str.slice(0, 1).str.to_uppercase()
                + ordered["statut"].str.slice(1)
                + " — "
                + ordered["libelle"]
                + " ("
                + ordered["code_qp"]
                + ")"
            ).to_list(),
        )
    )


@dataclass(frozen=True)
class Summary:
    """The chosen quartier's box: its projet, since when its status holds, why, what it holds."""

    title: str
    since: str
    motif: str
    figures: str
    enjeux: str | None


def summary(qpv: dict) -> Summary:
    """`qpv`: the quartier's row of `projets.qpv_overview`."""
    return Summary(
        title=f"**{fmt.md(qpv['projet']) if qpv['projet'] else 'Pas de projet de quartier enregistré'}**",
        since=projets.since_text(qpv["statut"], qpv["depuis"], qpv["depuis_premier"]),
        motif=fmt.md(qpv["motif"]),  # it names objectives
        figures=(
            f"{fmt.plural(qpv['n_objectifs'], 'objectif')} de quartier · "
            f"{fmt.plural(qpv['n_actions'], 'action')} · accordé {fmt.euros(qpv['accorde'])}, "
            f"versé {fmt.euros(qpv['verse'])} (part du quartier, {PERIODE})"
        ),
        enjeux=f"Enjeux : {fmt.md(qpv['enjeux'])}" if qpv["enjeux"] else None,
    )


@by_content
def status_history_chart(history: pl.DataFrame, *, until: date, colors: dict[str, str]) -> alt.Chart:
    """The quartier's recorded statuses as coloured stretches (`projets.status_history`)."""
    return charts.french(charts.status_timeline(history, until=until, colors=colors))


def table_cap_note(shown: int, total: int) -> str | None:
    if total <= shown:
        return None
    return (
        f"{fmt.integer(shown)} premiers quartiers sur {fmt.integer(total)} "
        "(les plus préoccupants d'abord) ; le téléchargement contient tout."
    )


# --- objectives, their actions and indicators --------------------------------------------------------


@by_content
def ordered_objectives(objectives: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(quartier, transversal): the objectives (`projets.qpv_objectives`), most serious status first."""
    by_gravity = pl.col("statut").replace_strict(progress.STATUT_GRAVITE, return_dtype=pl.Int64)
    ordered = objectives.sort(by_gravity, pl.col("ecart"), pl.col("libelle"), nulls_last=True)
    return ordered.filter(pl.col("portee") == "quartier"), ordered.filter(pl.col("portee") == "transversal")


def objective_title(obj: dict) -> str:
    return f"{fmt.md(obj['axe'])} — {fmt.md(obj['libelle'])} · {obj['statut']}"


@by_content
def trajectory_chart(ind: dict, values: pl.DataFrame) -> alt.Chart:
    """Known values (`projets.indicator_series` of one indicator), and the path from baseline to
    target (dashed), through the intermediate target (`ind`: its row of `projets.qpv_indicators`)."""
    path = pl.DataFrame(
        {
            "date": [ind["date_reference"], ind["date_cible_intermediaire"], ind["date_cible"]],
            "valeur": [ind["valeur_reference"], ind["valeur_cible_intermediaire"], ind["valeur_cible"]],
            "série": ["trajectoire visée"] * 3,
        },
        schema={"date": pl.Date, "valeur": pl.Float64, "série": pl.String},
    )
    known = values.select(pl.col("date_valeur").alias("date"), "valeur", pl.lit("valeurs connues").alias("série"))
    data = pl.concat([known, path.drop_nulls()], how="vertical_relaxed")
    color = alt.Color(
        "série:N",
        title=None,
        scale=alt.Scale(domain=_SERIES, range=["#1f4e79", "#ff8c00"]),
        legend=alt.Legend(orient="top"),
    )
    base = alt.Chart(data).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 1})),
        y=alt.Y("valeur:Q", title=ind["unite"], scale=alt.Scale(zero=False)),
        color=color,
        strokeDash=alt.StrokeDash("série:N", legend=None, scale=alt.Scale(domain=_SERIES, range=[[1, 0], [6, 4]])),
        tooltip=[
            alt.Tooltip("série:N", title="Série"),
            alt.Tooltip("date:T", title="Date", format="%d/%m/%Y"),
            alt.Tooltip("valeur:Q", title="Valeur", format=",.1f"),
        ],
    )
    return charts.french(base.mark_line(point=True).properties(title=ind["indicateur"]))


@by_content
def qpv_display(frame: pl.DataFrame, *, with_contract: bool) -> pl.DataFrame:
    """The QPV table as shown: French headers and formats, most serious status first; the figures
    before the long texts (motif, projet), so they stay on screen without scrolling sideways."""
    cols = [
        pl.col("libelle").alias("Quartier"),
        pl.col("code_qp").alias("Code"),
        pl.col("statut").alias("Statut"),
        pl.when(pl.col("depuis").is_null())
        .then(pl.lit("—"))
        .otherwise(
            pl.when(pl.col("depuis_premier")).then(pl.lit("au moins ")).otherwise(pl.lit(""))
            + fmt.month_expr(pl.col("depuis"))
        )
        .alias("Depuis"),
        fmt.percent_expr(pl.col("realise"), 0, missing="—").alias("Réalisé"),
        fmt.percent_expr(pl.col("attendu"), 0, missing="—").alias("Attendu"),
        pl.col("n_objectifs").alias("Objectifs"),
        pl.col("n_actions").alias("Actions"),
        fmt.euros_expr(pl.col("accorde"), missing="—").alias("Accordé"),
        fmt.euros_expr(pl.col("verse"), missing="—").alias("Versé"),
        pl.col("lib_com").alias("Commune"),
        *([pl.col("contrat").alias("Contrat")] if with_contract else []),
        pl.col("motif").alias("Motif"),
        pl.col("projet").fill_null("—").alias("Projet de quartier"),
    ]
    return projets.most_worrying_first(frame).select(cols)


@by_content
def qpv_export(frame: pl.DataFrame) -> pl.DataFrame:
    """The QPV table for download: typed values, French headers."""
    return projets.most_worrying_first(frame).select(
        pl.col("code_contrat").alias("Code contrat"),
        pl.col("contrat").alias("Contrat"),
        pl.col("code_qp").alias("Code QPV"),
        pl.col("libelle").alias("Quartier"),
        pl.col("lib_com").alias("Commune"),
        pl.col("population").alias("Population"),
        pl.col("projet").alias("Projet de quartier"),
        pl.col("statut").alias("Statut"),
        pl.col("depuis").alias("Statut depuis"),
        pl.col("depuis_premier").alias("Depuis le premier relevé"),
        pl.col("motif").alias("Motif"),
        pl.col("n_objectifs").alias("Objectifs"),
        pl.col("n_actions").alias("Actions"),
        pl.col("accorde").round(2).alias("Montant accordé (€)"),
        pl.col("verse").round(2).alias("Montant versé (€)"),
        pl.col("realise").round(3).alias("Réalisé"),
        pl.col("attendu").round(3).alias("Attendu"),
        pl.col("ecart").round(3).alias("Écart"),
    )


@by_content
def actions_display(frame: pl.DataFrame) -> pl.DataFrame:
    """Actions of one objective as shown."""
    return frame.select(
        pl.col("code_action").alias("Code"),
        pl.col("libelle").alias("Action"),
        pl.col("porteur").fill_null("—").alias("Porteur"),
        pl.col("statut").alias("Statut"),
        fmt.percent_expr(pl.col("avancement"), 0, missing="—").alias("Avancement déclaré"),
        (fmt.day_expr(pl.col("debut"), missing="—") + pl.lit(" → ") + fmt.day_expr(pl.col("fin"), missing="—")).alias(
            "Période"
        ),
        fmt.euros_expr(pl.col("accorde"), missing="—").alias("Accordé"),
        fmt.euros_expr(pl.col("verse"), missing="—").alias("Versé"),
        pl.when(pl.col("compte"))
        .then(
            pl.lit("oui : ")
            + fmt.percent_expr(pl.col("realise"), 0, missing="—")
            + pl.lit(" réalisé / ")
            + fmt.percent_expr(pl.col("attendu"), 0, missing="—")
            + pl.lit(" attendu")
        )
        .otherwise(pl.col("motif_exclusion"))
        .alias("Dans la mesure"),
    )


@by_content
def indicators_display(frame: pl.DataFrame) -> pl.DataFrame:
    """Indicators of one objective (one row per indicator × QPV) as shown."""
    sens = pl.col("sens").replace_strict(
        {"hausse": "hausse souhaitée", "baisse": "baisse souhaitée"}, default="sans sens"
    )
    unit = pl.lit("\u00a0") + pl.col("unite")

    def value(col: str) -> pl.Expr:
        return pl.when(pl.col(col).is_null()).then(pl.lit("—")).otherwise(fmt.number_expr(pl.col(col), 1) + unit)

    def dated(col: str, day: str) -> pl.Expr:
        return value(col) + pl.lit(" (") + fmt.day_expr(pl.col(day), missing="—") + pl.lit(")")

    return frame.select(
        pl.col("indicateur").alias("Indicateur"),
        pl.col("code_qp").alias("QPV"),
        sens.alias("Sens"),
        dated("valeur_reference", "date_reference").alias("Référence"),
        dated("valeur", "date_valeur").alias("Dernière valeur"),
        pl.when(pl.col("valeur_cible_intermediaire").is_null())
        .then(pl.lit("—"))
        .otherwise(
            value("valeur_cible_intermediaire")
            + pl.lit(" (")
            + fmt.day_expr(pl.col("date_cible_intermediaire"))
            + pl.lit(")")
        )
        .alias("Cible intermédiaire"),
        dated("valeur_cible", "date_cible").alias("Cible"),
        pl.when(pl.col("mesure"))
        .then(
            fmt.percent_expr(pl.col("realise"), 0, missing="—")
            + pl.lit(" du chemin / ")
            + fmt.percent_expr(pl.col("attendu"), 0, missing="—")
            + pl.lit(" attendu")
        )
        .otherwise(pl.col("motif_exclusion"))
        .alias("Position sur la trajectoire"),
    )
