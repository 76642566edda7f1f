"""« Répartition par sexe » and « Répartition par âge » on « Indicateurs » (issue #20, breakdowns):
the modalités of the chosen indicator side by side, per territory — a grouped bar chart and a table
(`cdv_core.queries.indicateurs.breakdowns`). Nothing is shown when the indicator has no breakdown
in the selection; a suppressed value reads as its reason, never as 0."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from cdv_core import charts, fmt
from cdv_core.domain import gaps, model, secret
from cdv_core.queries import indicateurs as ind
from cdv_core.ui import publishable as pub
from cdv_core.ui.context import Context, cached
from cdv_core.ui.widgets import altair_fr

MAX_CHART_QPV = 20   # QPV drawn on a breakdown chart (the table lists them all)
TABLE_ROWS = 200     # territories listed in a breakdown table
SEXE_COLORS = {"femmes": "#7b3294", "hommes": "#008837"}  # distinct for colour-blind readers
AGE_COLORS = ["#a6cee3", "#1f78b4", "#08306b", "#6a51a3", "#9e9ac8"]
_KEYS = ["type_territoire", "territoire", "dimension", "date_valeur"]


def _publishable(ctx: Context, meta: dict, frame: pl.DataFrame) -> pl.DataFrame:
    """For a partenaire and an indicator counting people: small counts suppressed within each
    territory's dimension (whose total is shown beside them: secondary masking), the gap and the
    small totals with them, and the selection's figures of a dimension where a QPV cell was hidden
    (they would give it back)."""
    if not (pub.only(ctx) and secret.is_people_count(meta.get("unite"), meta.get("libelle"))):
        return frame
    t = ctx.settings.secret_threshold
    qpv = pl.col("type_territoire") == "QPV"
    rows = frame.with_row_index("__row")
    shown = secret.suppress(rows.filter(qpv), "valeur", threshold=t, total_shown=True, by=_KEYS)
    hidden_dims = set(shown.join(rows.filter(qpv).select("__row", pl.col("valeur").alias("__raw")), on="__row")
                           .filter(pl.col("valeur").is_null() & pl.col("__raw").is_not_null())["dimension"])
    others = rows.filter(~qpv).with_columns(
        pl.when((pl.col("type_territoire") == ind.SELECTION) & pl.col("dimension").is_in(list(hidden_dims)))
          .then(None).otherwise(pl.col("valeur")).alias("valeur"))
    return (pl.concat([shown, others], how="vertical_relaxed").sort("__row").drop("__row")
              .with_columns(pl.when(pl.col("valeur").is_null().any().over(_KEYS)).then(None)
                              .otherwise(pl.col("ecart_femmes_hommes")).alias("ecart_femmes_hommes"),
                            pl.when(pl.col("total") < t).then(None).otherwise(pl.col("total")).alias("total"),
                            pl.when(pl.col("valeur").is_null() & pl.col("motif").is_null())
                              .then(pl.lit(secret.SECONDARY_MOTIF)).otherwise(pl.col("motif")).alias("motif")))


def _table(part: pl.DataFrame, *, unite: str, decimals: int) -> pl.DataFrame:
    """One row per territory, its modalités side by side: French headers and values."""
    cell = pl.coalesce(fmt.number_expr(pl.col("valeur"), decimals) + pl.lit(ind.display_unit(unite)), pl.col("motif"),
                       pl.lit("—"))
    order = part.select("modalite", "ordre").unique().sort("ordre", "modalite")["modalite"].to_list()
    wide = (part.with_columns(cell.alias("cell"))
                .pivot("modalite", index=["rang", "territoire", "date_valeur", "total", "ecart"], values="cell",
                       aggregate_function="first")
                .sort("rang", "territoire"))
    columns = [pl.col("territoire").alias("Territoire")]
    columns += [pl.col(m).fill_null("—").alias(m[0].upper() + m[1:]) for m in order]
    columns.append((fmt.number_expr(pl.col("total"), decimals) + pl.lit(ind.display_unit(unite))).fill_null("—")
                   .alias("Ensemble"))
    if part["dimension"][0] == model.DIMENSION_SEXE:
        columns.append((fmt.number_expr(pl.col("ecart"), 1, signed=True)
                        + pl.lit(ind.display_unit(gaps.gap_unit(unite)))).fill_null("—").alias("Écart femmes − hommes"))
    columns.append(fmt.day_expr(pl.col("date_valeur")).alias("Date"))
    return wide.select(columns)


def _chart(part: pl.DataFrame, *, unite: str, dimension: str, decimals: int) -> alt.Chart:
    order = part.select("modalite", "ordre").unique().sort("ordre", "modalite")["modalite"].to_list()
    colors = [SEXE_COLORS.get(m, "#888") for m in order] if dimension == model.DIMENSION_SEXE else AGE_COLORS[:len(order)]
    fmt_value = ",.0f" if decimals == 0 else ",.1f"
    territories = part.sort("rang", "territoire")["territoire"].unique(maintain_order=True).to_list()
    return alt.Chart(part.select("territoire", "modalite", "valeur", "date_valeur")).mark_bar().encode(
        y=alt.Y("territoire:N", title=None, sort=territories, axis=alt.Axis(labelLimit=260)),
        yOffset=alt.YOffset("modalite:N", sort=order),
        x=alt.X("valeur:Q", title=unite, axis=charts.number_axis()),
        color=alt.Color("modalite:N", title=None, sort=order, scale=alt.Scale(domain=order, range=colors),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("territoire:N", title="Territoire"), alt.Tooltip("modalite:N", title="Modalité"),
                 alt.Tooltip("valeur:Q", title=unite, format=fmt_value),
                 alt.Tooltip("date_valeur:T", title="Date", format="%d/%m/%Y")],
    ).properties(height=max(120, 16 * len(order) * len(territories)))


def section(ctx: Context, meta: dict, *, code: str, reference: str) -> None:
    """The breakdown blocks of indicator `code` for the session's selection (nothing without any)."""
    frame = cached(ctx, ind.breakdowns, code_indicateur=code, contrat=ctx.contrat, donnees_au=ctx.donnees_au,
                   reference=reference)
    if frame.is_empty():
        return
    frame = _publishable(ctx, meta, frame).with_columns(
        pl.col("type_territoire").replace_strict({ind.SELECTION: 0, "QPV": 1}, default=2, return_dtype=pl.Int32)
          .alias("rang"), pl.col("ecart_femmes_hommes").alias("ecart"))
    unite, method = meta["unite"], frame["methode"][0]
    decimals = 0 if unite == "nb" else 1
    for dimension in model.DIMENSIONS:
        part = frame.filter(pl.col("dimension") == dimension)
        if part.is_empty():
            continue
        st.markdown(f"**{ind.DIMENSION_TITLES[dimension]}** — millésime du {fmt.day(part['date_valeur'].max())}")
        drawn = part.filter(pl.col("valeur").is_not_null()
                            & ((pl.col("type_territoire") != ind.SELECTION) | pl.lit(method != "somme")))
        keep = drawn.filter(pl.col("type_territoire") == "QPV")["territoire"].unique(maintain_order=True).head(MAX_CHART_QPV)
        drawn = drawn.filter((pl.col("type_territoire") != "QPV") | pl.col("territoire").is_in(keep.to_list()))
        if drawn.height:
            st.altair_chart(altair_fr(_chart(drawn, unite=unite, dimension=dimension, decimals=decimals)),
                            width="stretch", key=f"indic_chart_ventilation_{dimension}")
        table = _table(part, unite=unite, decimals=decimals)
        st.dataframe(table.head(TABLE_ROWS), hide_index=True, width="stretch", key=f"indic_table_ventilation_{dimension}")
        notes = ["Valeurs soumises au secret statistique : affichées avec leur motif, ni tracées ni comptées."]
        if method == "somme":
            notes.insert(0, "« Ensemble des QPV » : somme des quartiers renseignés (dans le tableau, non tracée).")
        elif method == gaps.NOT_AGGREGATED:
            notes.insert(0, "Pas d'« Ensemble des QPV » : un taux sans numérateur ni dénominateur n'est pas agrégé.")
        if dimension == model.DIMENSION_SEXE:
            notes.append("Écart femmes − hommes " + ("en points." if gaps.is_rate(unite)
                                                     else "en % de la valeur des hommes."))
        if keep.len() < part.filter(pl.col("type_territoire") == "QPV")["territoire"].n_unique():
            notes.append(f"Graphique : les {MAX_CHART_QPV} premiers quartiers (tous dans le tableau).")
        if table.height > TABLE_ROWS:
            notes.append(f"Tableau : {fmt.integer(TABLE_ROWS)} premiers territoires sur {fmt.integer(table.height)}.")
        st.caption(" ".join(notes))
