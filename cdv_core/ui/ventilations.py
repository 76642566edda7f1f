"""« Répartition par sexe » and « Répartition par âge » on « Indicateurs » (issue #20, breakdowns):
the modalités of the chosen indicator side by side, per territory — a grouped bar chart and a table
(`cdv_core.queries.indicateurs.breakdowns`; chart, table and notes from `cdv_core.figures.indicateurs`).
Nothing is shown when the indicator has no breakdown in the selection; a suppressed value reads as its
reason, never as 0."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cdv_core import fmt
from cdv_core.domain import model, secret
from cdv_core.figures import indicateurs as fig
from cdv_core.queries import indicateurs as ind
from cdv_core.ui import publishable as pub
from cdv_core.ui import widgets
from cdv_core.ui.context import Context, cached

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
    hidden_dims = set(
        shown.join(rows.filter(qpv).select("__row", pl.col("valeur").alias("__raw")), on="__row").filter(
            pl.col("valeur").is_null() & pl.col("__raw").is_not_null()
        )["dimension"]
    )
    others = rows.filter(~qpv).with_columns(
        pl.when((pl.col("type_territoire") == ind.SELECTION) & pl.col("dimension").is_in(list(hidden_dims)))
        .then(None)
        .otherwise(pl.col("valeur"))
        .alias("valeur")
    )
    return (
        pl.concat([shown, others], how="vertical_relaxed")
        .sort("__row")
        .drop("__row")
        .with_columns(
            pl.when(pl.col("valeur").is_null().any().over(_KEYS))
            .then(None)
            .otherwise(pl.col("ecart_femmes_hommes"))
            .alias("ecart_femmes_hommes"),
            pl.when(pl.col("total") < t).then(None).otherwise(pl.col("total")).alias("total"),
            pl.when(pl.col("valeur").is_null() & pl.col("motif").is_null())
            .then(pl.lit(secret.SECONDARY_MOTIF))
            .otherwise(pl.col("motif"))
            .alias("motif"),
        )
    )


def section(ctx: Context, meta: dict, *, code: str, reference: str) -> None:
    """The breakdown blocks of indicator `code` for the session's selection (nothing without any)."""
    frame = cached(
        ctx, ind.breakdowns, code_indicateur=code, contrat=ctx.contrat, donnees_au=ctx.donnees_au, reference=reference
    )
    if frame.is_empty():
        return
    frame = fig.breakdown_rows(_publishable(ctx, meta, frame))
    unite, method = meta["unite"], frame["methode"][0]
    decimals = 0 if unite == "nb" else 1
    for dimension in model.DIMENSIONS:
        part = frame.filter(pl.col("dimension") == dimension)
        if part.is_empty():
            continue
        vintage = fmt.day(part.select(pl.col("date_valeur").max()).item())
        st.markdown(f"**{ind.DIMENSION_TITLES[dimension]}** — millésime du {vintage}")
        drawn, kept = fig.breakdown_drawn(part, method=method)
        if drawn.height:
            widgets.chart(
                fig.breakdown_chart(drawn, unite=unite, dimension=dimension, decimals=decimals),
                width="stretch",
                key=f"indic_chart_ventilation_{dimension}",
            )
        table = fig.breakdown_table(part, unite=unite, decimals=decimals)
        widgets.table(
            table.head(fig.BREAKDOWN_ROWS), hide_index=True, width="stretch", key=f"indic_table_ventilation_{dimension}"
        )
        st.caption(
            fig.breakdown_notes(part, unite=unite, dimension=dimension, method=method, kept=kept, rows=table.height)
        )
