"""« Indicateurs »: the cards, charts, captions and display tables the committee sees, built from
`cdv_core.queries.indicateurs` results (trajectory, comparison across QPV, breakdowns by sexe and
âge, dictionary). Pure functions: no Streamlit, no SQL."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from cdv_core import charts, fmt
from cdv_core.domain import gaps, model
from cdv_core.figures.cards import Card, DeltaColor
from cdv_core.memo import by_content
from cdv_core.queries import indicateurs as ind

SHAPES = {"Point de départ": "circle", "Cible intermédiaire": "triangle", "Cible": "diamond"}  # chart marks
DOT_PLOT_HALF = 20  # ranked dot plot: this many highest and lowest values when the selection is larger
MAX_CHART_QPV = 20  # QPV drawn on a breakdown chart (the table lists them all)
BREAKDOWN_ROWS = 200  # territories listed in a breakdown table
SEXE_COLORS = {"femmes": "#7b3294", "hommes": "#008837"}  # distinct for colour-blind readers
AGE_COLORS = ["#a6cee3", "#1f78b4", "#08306b", "#6a51a3", "#9e9ac8"]
_SERIES_TYPES = ["QPV", "Sélection", "commune", "EPCI", "France"]


# --- the chosen indicator -----------------------------------------------------------------------


def indicator_caption(meta: dict) -> str:
    """Unit, desired direction, source, last value and how the gap is expressed (`ind.dictionary` row)."""
    gap_unit = gaps.gap_unit(meta["unite"])
    return (
        f"Unité : **{fmt.md(meta['unite'])}** · {fmt.md(model.SENS_INDICATEUR.get(meta['sens'], meta['sens']))} · "
        f"source : {fmt.md(meta['source'])}"
        f" · dernière valeur : **{fmt.day(meta['derniere_date'])}** · écart exprimé "
        + ("en points (QPV − territoire)" if gap_unit == "pts" else "en % de la valeur du territoire de référence")
    )


def freshness_warning(meta: dict, *, donnees_au: date, max_age_months: int) -> str | None:
    """Why the indicator is not up to date (None when it is)."""
    if meta["fraicheur"] == "à jour":
        return None
    if not meta["derniere_date"]:
        return "Aucune valeur de cet indicateur pour les quartiers de la sélection."
    return f"La dernière valeur de cet indicateur date du {fmt.day(meta['derniere_date'])} : " + (
        f"le millésime attendu au {fmt.day(donnees_au)} est **{meta['millesime_attendu_libelle']}** "
        f"(source {fmt.md(meta['source'])} : "
        f"{ind.rule_text(meta['rythme_mois'], meta['delai_publication_mois'])})."
        if meta["millesime_attendu"]
        else f"plus de {max_age_months} mois avant le {fmt.day(donnees_au)}."
    )


def qpv_labels(quartiers: pl.DataFrame) -> dict[str, str]:
    """`territoire.quartiers` → « libellé — commune » per QPV code."""
    return dict(zip(quartiers["code_qp"].to_list(), (quartiers["libelle"] + " — " + quartiers["lib_com"]).to_list()))


# --- trajectory of one QPV ----------------------------------------------------------------------


def trajectory_cards(row: dict, meta: dict, *, reference: str, vintage: date | None) -> list[Card]:
    """Value, baseline, target and gap of the chosen QPV (its `ind.comparison` row)."""
    unite = meta["unite"]
    gap_unit = gaps.gap_unit(unite)
    u = ind.display_unit(unite and fmt.md(unite))  # the store's unit as text: a metric's value renders Markdown
    gu = ind.display_unit(gap_unit)
    status = row["tendance"]
    delta: str | None = None
    color: DeltaColor = "off"
    if row["evolution"] is not None:
        measure_unit = ind.display_unit(fmt.md(gaps.change_unit(unite, row["mesure_tendance"])))
        delta = f"{fmt.number(row['evolution'], 1)}{measure_unit} depuis le départ"
        if status in ("favorable", "defavorable"):  # arrow = sign of Δ; colour = desired direction
            color = "normal" if meta["sens"] == "hausse" else "inverse"
    measured = " (valeur du quartier)" if row["mesure_tendance"] == "valeur" else ""
    return [
        Card(
            f"Valeur au {fmt.day(vintage)}" if vintage else "Dernière valeur",
            f"{fmt.number(row['valeur'], 1)}{u}" if row["valeur"] is not None else fmt.md(row["motif"] or "—"),
            help="Valeur du quartier au dernier millésime disponible pour la sélection. Une valeur soumise au "
            "secret statistique est affichée avec son motif, jamais comme 0.",
        ),
        Card(
            "Point de départ",
            f"{fmt.number(row['valeur_base'], 1)}{u}" if row["valeur_base"] is not None else "—",
            help="Valeur de référence saisie pour ce quartier ; à défaut, dernière valeur connue à la signature "
            "du contrat.",
            caption=(
                f"{fmt.md(row['source_base'])} ({fmt.day(row['date_base'])})"
                if row["source_base"]
                else "aucune valeur à la signature"
            ),
        ),
        Card(
            "Cible",
            f"{fmt.number(row['valeur_cible'], 1)}{u}" if row["valeur_cible"] is not None else "—",
            caption=f"échéance {fmt.day(row['date_cible'])}" if row["date_cible"] else "aucune cible saisie",
        ),
        Card(
            ind.GAP_LABELS[reference],
            f"{fmt.number(row['ecart'], 1)}{gu}" if row["ecart"] is not None else "—",
            delta=delta,
            delta_color=color,
            help="Écart = valeur du QPV − valeur du territoire de référence la même année "
            + ("(en points)." if gap_unit == "pts" else "(en % de la valeur du territoire).")
            + " La tendance compare l'écart d'aujourd'hui à celui du point de départ (à défaut de territoire "
            "de référence, la valeur du quartier elle-même).",
            caption=f"Tendance{measured} : **{gaps.TREND_LABELS[status]}**" if status else None,
        ),
    ]


@by_content
def trajectory_lines(traj: pl.DataFrame, aggregate: pl.DataFrame, *, method: str) -> pl.DataFrame:
    """The series drawn (`ind.plotted`), with the selection's aggregate unless it is a sum (a sum of
    several QPV is not comparable to one QPV: not drawn beside it)."""
    lines = ind.plotted(traj).select("serie", "type_serie", "date_valeur", "valeur")
    agg_label = ind.AGGREGATE_TEXT[method][0]
    if method != "somme" and agg_label:
        agg = aggregate.filter(pl.col("valeur").is_not_null())
        lines = pl.concat(
            [
                lines,
                agg.select(
                    pl.lit(agg_label).alias("serie"), pl.lit("Sélection").alias("type_serie"), "date_valeur", "valeur"
                ),
            ]
        )
    return lines


@by_content
def trajectory_chart(lines: pl.DataFrame, marks: pl.DataFrame, *, unite: str) -> alt.LayerChart:
    """The QPV's values over time beside the compared QPV, territories and selection (line style per
    kind of series), with the baseline and targets (`ind.markers`) as shapes."""
    base = alt.Chart(lines).encode(
        x=alt.X("date_valeur:T", title=None, axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 1})),
        y=alt.Y("valeur:Q", title=unite, scale=alt.Scale(zero=False), axis=charts.number_axis()),
        color=alt.Color("serie:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=320)),
        strokeDash=alt.StrokeDash(
            "type_serie:N",
            legend=None,
            scale=alt.Scale(domain=_SERIES_TYPES, range=[[1, 0], [8, 2], [5, 3], [5, 3], [2, 2]]),
        ),
        strokeWidth=alt.StrokeWidth(
            "type_serie:N", legend=None, scale=alt.Scale(domain=_SERIES_TYPES, range=[3, 2, 1.5, 1.5, 1.5])
        ),
        tooltip=[
            alt.Tooltip("serie:N", title="Série"),
            alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y"),
            alt.Tooltip("valeur:Q", title=unite, format=",.1f"),
        ],
    )
    layers: list[alt.Chart] = [base.mark_line(point=True)]
    if marks.height:
        drawn = [r for r in SHAPES if r in set(marks["repere"])]  # the legend lists the marks drawn
        layers.append(
            alt.Chart(marks)
            .mark_point(size=120, filled=False, strokeWidth=2)
            .encode(
                x=alt.X("date_valeur:T"),
                y=alt.Y("valeur:Q", axis=charts.number_axis()),
                color=alt.Color("serie:N"),
                shape=alt.Shape(
                    "repere:N", title=None, scale=alt.Scale(domain=drawn, range=[SHAPES[r] for r in drawn])
                ),
                tooltip=[
                    alt.Tooltip("serie:N", title="Quartier"),
                    alt.Tooltip("repere:N", title="Repère"),
                    alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y"),
                    alt.Tooltip("valeur:Q", title=unite, format=",.1f"),
                ],
            )
        )
    return charts.french(alt.LayerChart(layer=layers).properties(height=360))


@by_content
def missing_table(missing: pl.DataFrame) -> pl.DataFrame:
    """`ind.secret_summary`: the values not drawn, with their reason."""
    return missing.select(
        pl.col("serie").alias("Série"),
        pl.col("date_valeur").dt.strftime("%d/%m/%Y").alias("Date"),
        pl.col("motif").alias("Motif"),
    )


@by_content
def gap_chart(series: pl.DataFrame, row: dict, *, gap_unit: str) -> alt.LayerChart:
    """The QPV's gap to its reference territory per year (`ind.gap_series`), coloured by its trend,
    with the gap at the baseline as a dashed rule."""
    line = (
        alt.Chart(series.with_columns(pl.col("date_valeur").dt.year().alias("annee")))
        .mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=3)
        .encode(
            x=alt.X("annee:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("ecart:Q", title=f"écart ({gap_unit})", scale=alt.Scale(zero=False), axis=charts.number_axis()),
            tooltip=[
                alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y"),
                alt.Tooltip("ecart:Q", title=f"Écart ({gap_unit})", format="+,.1f"),
            ],
            color=alt.ColorValue(gaps.TREND_COLORS.get(row["tendance"] or "neutre", "#6e7781")),
        )
    )
    layers: list[alt.Chart] = [line]
    if row["ecart_base"] is not None:
        layers.append(
            alt.Chart(pl.DataFrame({"ecart": [row["ecart_base"]]}))
            .mark_rule(strokeDash=[4, 3])
            .encode(
                y=alt.Y("ecart:Q", axis=charts.number_axis()),
                tooltip=[alt.Tooltip("ecart:Q", title="Écart au point de départ", format="+,.1f")],
            )
        )
    return charts.french(alt.LayerChart(layer=layers).properties(height=200))


# --- comparison across QPV ------------------------------------------------------------------------


def aggregate_caption(aggregate: pl.DataFrame, *, vintage: date | None, method: str, unite: str) -> str | None:
    """The selection's figure at the last vintage (`ind.aggregate`), or why there is none."""
    _, agg_caption, agg_sentence = ind.AGGREGATE_TEXT[method]
    last = aggregate.filter(pl.col("date_valeur") == vintage) if vintage else aggregate.clear()
    if last.height and last["valeur"][0] is not None:
        a = last.row(0, named=True)
        value = f"{fmt.number(a['valeur'], 1)}{ind.display_unit(unite)}"
        return (
            f"{agg_sentence} des quartiers de la sélection : **{value}** "
            f"({fmt.integer(a['qpv_inclus'])} QPV renseignés sur {fmt.integer(a['qpv_total'])}"
            + (" : somme incomplète" if method == "somme" and a["qpv_inclus"] < a["qpv_total"] else "")
            + ")."
            + ("" if method == "somme" else " Un pourcentage n'est jamais additionné entre quartiers.")
        )
    if method == gaps.NOT_AGGREGATED and vintage:
        return agg_caption
    return None


@by_content
def ranked(comparison: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(known, shown): the QPV with a value, highest first, and those drawn — all of them, or the
    `DOT_PLOT_HALF` highest and lowest."""
    known = comparison.filter(pl.col("valeur").is_not_null()).sort("valeur", descending=True)
    if known.height <= 2 * DOT_PLOT_HALF:
        return known, known
    return known, pl.concat([known.head(DOT_PLOT_HALF), known.tail(DOT_PLOT_HALF)])


def comparison_height(shown: pl.DataFrame) -> int:
    return max(160, 22 * shown.height)


@by_content
def comparison_chart(shown: pl.DataFrame, *, unite: str, reference: str) -> alt.LayerChart:
    """One dot per QPV coloured by its trend, its reference territory as a black tick."""
    gap_unit = gaps.gap_unit(unite)
    dots = shown.select(
        "libelle", "valeur", "valeur_reference_territoire", "ecart", pl.col("tendance_libelle").alias("tendance")
    )
    present = set(dots["tendance"].drop_nulls().to_list())
    trend_keys = [k for k in gaps.TREND_LABELS if gaps.TREND_LABELS[k] in present]
    base = alt.Chart(dots).encode(
        y=alt.Y(
            "libelle:N",
            title=None,
            axis=alt.Axis(labelLimit=260),
            sort=alt.EncodingSortField("valeur", order="descending"),
        )
    )
    points = base.mark_circle(size=110, opacity=1).encode(
        x=alt.X("valeur:Q", title=unite, scale=alt.Scale(zero=False), axis=charts.number_axis()),
        color=alt.Color(
            "tendance:N",
            title="Écart depuis le départ",
            scale=alt.Scale(
                domain=[gaps.TREND_LABELS[k] for k in trend_keys], range=[gaps.TREND_COLORS[k] for k in trend_keys]
            ),
            legend=alt.Legend(orient="bottom", columns=3, labelLimit=300),
        ),
        tooltip=[
            alt.Tooltip("libelle:N", title="Quartier"),
            alt.Tooltip("valeur:Q", title=unite, format=",.1f"),
            alt.Tooltip("valeur_reference_territoire:Q", title=ind.REFERENCE_TYPES[reference], format=",.1f"),
            alt.Tooltip("ecart:Q", title=f"Écart ({gap_unit})", format="+,.1f"),
            alt.Tooltip("tendance:N", title="Tendance"),
        ],
    )
    ticks = (
        base.transform_filter("isValid(datum.valeur_reference_territoire)")
        .mark_tick(color="#333", thickness=2, size=14)
        .encode(
            x=alt.X("valeur_reference_territoire:Q", axis=charts.number_axis()),
            tooltip=[alt.Tooltip("valeur_reference_territoire:Q", title=ind.REFERENCE_TYPES[reference], format=",.1f")],
        )
    )
    return charts.french(alt.LayerChart(layer=[ticks, points]).properties(height=comparison_height(shown)))


def comparison_note(*, reference: str, shown: int, known: int) -> str:
    note = {
        "commune": "Trait noir : commune du quartier",
        "EPCI": "Trait noir : EPCI du quartier",
        "France": "Trait noir : France",
    }[reference] + ", même année (valeur de comparaison de l'écart)."
    if shown < known:
        note += (
            f" Affichés : les {DOT_PLOT_HALF} valeurs les plus hautes et les {DOT_PLOT_HALF} plus basses "
            f"sur {fmt.integer(known)} (tableau complet à télécharger)."
        )
    return note


def without_value_caption(comparison: pl.DataFrame, *, vintage: date | None) -> str | None:
    """The QPV without a value at the vintage, with their reason (the first 15)."""
    missing = comparison.filter(pl.col("valeur").is_null())
    if not missing.height:
        return None
    return (
        f"Sans valeur au {fmt.day(vintage)} (non tracés) : "
        + fmt.md(", ".join((missing["libelle"] + " (" + missing["motif"] + ")").head(15).to_list()))
        + (" …" if missing.height > 15 else "")
    )


# --- breakdowns by sexe and by âge ------------------------------------------------------------------


@by_content
def breakdown_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """`ind.breakdowns` (once made publishable) ready to draw: the selection first, then the QPV, then
    the territories (`rang`), and the femmes − hommes gap as `ecart`."""
    return frame.with_columns(
        pl.col("type_territoire")
        .replace_strict({ind.SELECTION: 0, "QPV": 1}, default=2, return_dtype=pl.Int32)
        .alias("rang"),
        pl.col("ecart_femmes_hommes").alias("ecart"),
    )


def _modalites(part: pl.DataFrame) -> list[str]:
    return part.select("modalite", "ordre").unique().sort("ordre", "modalite")["modalite"].to_list()


@by_content
def breakdown_table(part: pl.DataFrame, *, unite: str, decimals: int) -> pl.DataFrame:
    """One row per territory, its modalités side by side: French headers and values."""
    cell = pl.coalesce(
        fmt.number_expr(pl.col("valeur"), decimals) + pl.lit(ind.display_unit(unite)), pl.col("motif"), pl.lit("—")
    )
    order = _modalites(part)
    wide = (
        part.with_columns(cell.alias("cell"))
        .pivot(
            "modalite",
            index=["rang", "territoire", "date_valeur", "total", "ecart"],
            values="cell",
            aggregate_function="first",
        )
        .sort("rang", "territoire")
    )
    columns = [pl.col("territoire").alias("Territoire")]
    columns += [pl.col(m).fill_null("—").alias(m[0].upper() + m[1:]) for m in order]
    columns.append(
        (fmt.number_expr(pl.col("total"), decimals) + pl.lit(ind.display_unit(unite))).fill_null("—").alias("Ensemble")
    )
    if part["dimension"][0] == model.DIMENSION_SEXE:
        columns.append(
            (fmt.number_expr(pl.col("ecart"), 1, signed=True) + pl.lit(ind.display_unit(gaps.gap_unit(unite))))
            .fill_null("—")
            .alias("Écart femmes − hommes")
        )
    columns.append(fmt.day_expr(pl.col("date_valeur")).alias("Date"))
    return wide.select(columns)


@by_content
def breakdown_drawn(part: pl.DataFrame, *, method: str) -> tuple[pl.DataFrame, int]:
    """The rows a breakdown chart draws (known values; the selection's unless it is a sum; the first
    `MAX_CHART_QPV` QPV), and how many QPV that keeps."""
    drawn = part.filter(
        pl.col("valeur").is_not_null() & ((pl.col("type_territoire") != ind.SELECTION) | pl.lit(method != "somme"))
    )
    qpv = drawn.filter(pl.col("type_territoire") == "QPV")["territoire"]
    keep = qpv.unique(maintain_order=True).head(MAX_CHART_QPV)
    return drawn.filter((pl.col("type_territoire") != "QPV") | pl.col("territoire").is_in(keep.to_list())), keep.len()


@by_content
def breakdown_chart(part: pl.DataFrame, *, unite: str, dimension: str, decimals: int) -> alt.Chart:
    """A grouped bar per territory, one bar per modalité."""
    order = _modalites(part)
    colors = (
        [SEXE_COLORS.get(m, "#888") for m in order] if dimension == model.DIMENSION_SEXE else AGE_COLORS[: len(order)]
    )
    fmt_value = ",.0f" if decimals == 0 else ",.1f"
    territories = part.sort("rang", "territoire")["territoire"].unique(maintain_order=True).to_list()
    data = part.select("territoire", "modalite", "valeur", "date_valeur")
    return charts.french(
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("territoire:N", title=None, sort=territories, axis=alt.Axis(labelLimit=260)),
            yOffset=alt.YOffset("modalite:N", sort=order),
            x=alt.X("valeur:Q", title=unite, axis=charts.number_axis()),
            color=alt.Color(
                "modalite:N",
                title=None,
                sort=order,
                scale=alt.Scale(domain=order, range=colors),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("territoire:N", title="Territoire"),
                alt.Tooltip("modalite:N", title="Modalité"),
                alt.Tooltip("valeur:Q", title=unite, format=fmt_value),
                alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y"),
            ],
        )
        .properties(height=max(120, 16 * len(order) * len(territories)))
    )


def breakdown_notes(part: pl.DataFrame, *, unite: str, dimension: str, method: str, kept: int, rows: int) -> str:
    """The caption under a breakdown: secret, aggregate, gap unit, what the chart and table leave out."""
    notes = ["Valeurs soumises au secret statistique : affichées avec leur motif, ni tracées ni comptées."]
    if method == "somme":
        notes.insert(0, "« Ensemble des QPV » : somme des quartiers renseignés (dans le tableau, non tracée).")
    elif method == gaps.NOT_AGGREGATED:
        notes.insert(0, "Pas d'« Ensemble des QPV » : un taux sans numérateur ni dénominateur n'est pas agrégé.")
    if dimension == model.DIMENSION_SEXE:
        notes.append(
            "Écart femmes − hommes " + ("en points." if gaps.is_rate(unite) else "en % de la valeur des hommes.")
        )
    if kept < part.filter(pl.col("type_territoire") == "QPV")["territoire"].n_unique():
        notes.append(f"Graphique : les {MAX_CHART_QPV} premiers quartiers (tous dans le tableau).")
    if rows > BREAKDOWN_ROWS:
        notes.append(f"Tableau : {fmt.integer(BREAKDOWN_ROWS)} premiers territoires sur {fmt.integer(rows)}.")
    return " ".join(notes)


# --- dictionary -----------------------------------------------------------------------------------


def stale_warning(dico: pl.DataFrame, *, donnees_au: date) -> str | None:
    """The indicators without their last published vintage (`ind.dictionary`), the first 8 named."""
    stale = dico.filter(pl.col("fraicheur") != "à jour")
    if not stale.height:
        return None
    return (
        f"{fmt.plural(stale.height, 'indicateur')} sans le dernier millésime publié au "
        f"{fmt.day(donnees_au)} (voir « Millésime attendu »), ou sans aucune valeur : "
        + fmt.md(", ".join(stale["libelle"].head(8).to_list()))
        + (" …" if stale.height > 8 else "")
    )


def dictionary_caption(found: int, total: int) -> str:
    return (
        f"{fmt.plural(found, 'indicateur')} sur {fmt.integer(total)}. « QPV renseignés » : quartiers de la "
        "sélection ayant une valeur au dernier millésime ; les autres relèvent du secret statistique "
        "(nd, ns, s, so)."
    )


def vintage_heading(vintage: date, quartiers: int) -> str:
    return f"**Millésime du {fmt.day(vintage)}** — {fmt.plural(quartiers, 'quartier')} dans la sélection"


# --- French display tables and downloads (strings on screen; the downloads keep typed values) -----


def _with_unit(expr: pl.Expr, unite: str, decimals: int = 1, *, signed: bool = False) -> pl.Expr:
    return fmt.number_expr(expr, decimals, signed=signed) + pl.lit(ind.display_unit(unite))


@by_content
def comparison_table(frame: pl.DataFrame, *, unite: str) -> pl.DataFrame:
    """The comparison frame with French column names and formatted values: a suppressed value
    reads as its reason (« secret statistique »), never as 0."""
    gu = gaps.gap_unit(unite)
    evolution_unit = (
        pl.when(pl.col("mesure_tendance") == "écart")
        .then(pl.lit(ind.display_unit(gaps.change_unit(unite, "écart"))))
        .otherwise(pl.lit(ind.display_unit(gaps.change_unit(unite, "valeur"))))
    )
    return frame.select(
        pl.col("libelle").alias("Quartier"),
        pl.col("lib_com").alias("Commune"),
        pl.coalesce(_with_unit(pl.col("valeur"), unite), pl.col("motif")).alias("Valeur"),
        _with_unit(pl.col("valeur_reference_territoire"), unite).fill_null("—").alias("Territoire de référence"),
        _with_unit(pl.col("ecart"), gu, signed=True).fill_null("—").alias("Écart"),
        pl.when(pl.col("valeur_base").is_not_null())
        .then(_with_unit(pl.col("valeur_base"), unite) + pl.lit(" (") + fmt.day_expr(pl.col("date_base")) + pl.lit(")"))
        .otherwise(pl.lit("—"))
        .alias("Point de départ"),
        _with_unit(pl.col("ecart_base"), gu, signed=True).fill_null("—").alias("Écart au départ"),
        (
            fmt.number_expr(pl.col("evolution"), 1, signed=True)
            + evolution_unit
            + pl.lit(" (")
            + pl.col("mesure_tendance")
            + pl.lit(")")
        )
        .fill_null("—")
        .alias("Évolution"),
        pl.col("tendance_libelle").alias("Tendance"),
        pl.when(pl.col("valeur_cible").is_not_null())
        .then(
            _with_unit(pl.col("valeur_cible"), unite) + pl.lit(" (") + fmt.day_expr(pl.col("date_cible")) + pl.lit(")")
        )
        .otherwise(pl.lit("—"))
        .alias("Cible"),
    )


def comparison_export(frame: pl.DataFrame) -> pl.DataFrame:
    """The comparison frame for download: typed values, French column names."""
    return frame.select(
        pl.col("code_qp").alias("Code QPV"),
        pl.col("libelle").alias("Quartier"),
        pl.col("code_contrat").alias("Contrat"),
        pl.col("lib_com").alias("Commune"),
        pl.col("date_valeur").alias("Date de la valeur"),
        pl.col("valeur").alias("Valeur"),
        pl.col("secret").alias("Secret"),
        pl.col("motif").alias("Motif valeur manquante"),
        pl.col("code_reference").alias("Code territoire de référence"),
        pl.col("valeur_reference_territoire").alias("Valeur territoire de référence"),
        pl.col("ecart").alias("Écart"),
        pl.col("valeur_base").alias("Point de départ"),
        pl.col("date_base").alias("Date du point de départ"),
        pl.col("source_base").alias("Origine du point de départ"),
        pl.col("ecart_base").alias("Écart au départ"),
        pl.col("evolution").alias("Évolution"),
        pl.col("mesure_tendance").alias("Évolution mesurée sur"),
        pl.col("tendance_libelle").alias("Tendance"),
        pl.col("valeur_cible_intermediaire").alias("Cible intermédiaire"),
        pl.col("date_cible_intermediaire").alias("Date de la cible intermédiaire"),
        pl.col("valeur_cible").alias("Cible"),
        pl.col("date_cible").alias("Date de la cible"),
    )


def trajectory_export(trajectory_frame: pl.DataFrame) -> pl.DataFrame:
    return trajectory_frame.select(
        pl.col("serie").alias("Série"),
        pl.col("type_serie").alias("Type de territoire"),
        pl.col("code_territoire").alias("Code territoire"),
        pl.col("date_valeur").alias("Date"),
        pl.col("valeur").alias("Valeur"),
        pl.col("secret").alias("Secret"),
        pl.col("motif").alias("Motif valeur manquante"),
    )


@by_content
def source_rules_table(frame: pl.DataFrame) -> pl.DataFrame:
    """`source_rules` with French headers."""
    return frame.select(
        pl.col("source").alias("Source"),
        pl.col("rythme_mois").alias("Rythme (mois)"),
        pl.col("delai_publication_mois").alias("Délai de publication (mois)"),
        pl.col("origine").alias("Origine"),
        pl.col("indicateurs").alias("Indicateurs"),
        pl.col("note").fill_null("").alias("Note"),
    )


@by_content
def dictionary_table(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("libelle").alias("Libellé"),
        pl.col("unite").alias("Unité"),
        pl.col("sens_libelle").alias("Sens"),
        fmt.day_expr(pl.col("derniere_date")).fill_null("—").alias("Dernière valeur"),
        pl.col("fraicheur").alias("Fraîcheur"),
        pl.col("millesime_attendu_libelle").fill_null("— (règle d'âge)").alias("Millésime attendu"),
        pl.col("qpv_renseignes").alias("QPV renseignés"),
        pl.col("qpv_secret").alias("QPV sans valeur (secret…)"),
        pl.col("source").alias("Source"),
        pl.col("axe").alias("Thématique"),
        pl.col("agregation").alias("Agrégation"),
        pl.col("code_indicateur").alias("Code"),
    )
