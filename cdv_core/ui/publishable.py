"""What a partenaire sees: the publishable version of a page's frames and figures
(`cdv_core.domain.secret`), applied only when the session's role is partenaire. Pages call these
helpers on what they show; everyone else sees the frames unchanged."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cdv_core import fmt
from cdv_core.domain import secret
from cdv_core.ui.context import Context

CHART_NOTE = (
    "Version publiable : les effectifs de personnes inférieurs à {seuil} ne sont pas représentés (secret statistique)."
)


def only(ctx: Context) -> bool:
    """Whether this session sees only what is publishable (role partenaire)."""
    return ctx.user.publishable_only


def publishable(
    ctx: Context,
    frame: pl.DataFrame,
    *,
    counts: Sequence[str] = (),
    names: Sequence[str] | None = None,
    total_shown: bool = False,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """`frame` as this session may see it: for a partenaire, names of people removed and counts
    of people (`counts`) below the threshold shown « < 11 » (`total_shown`: a total of these rows,
    per group of `by`, is shown on the same view: secondary masking). Unchanged otherwise."""
    if not only(ctx):
        return frame
    return secret.publishable(
        frame, threshold=ctx.settings.secret_threshold, counts=counts, names=names, total_shown=total_shown, by=by
    )


def count(ctx: Context, value: int | float | None) -> str:
    """A count of people for a KPI card: « < 11 » for a partenaire below the threshold."""
    return secret.mask_value(value, ctx.settings.secret_threshold) if only(ctx) else fmt.integer(value)


def total(ctx: Context, frame: pl.DataFrame, col: str) -> str:
    """The total of a count column whose rows are shown on the same view (through `publishable`
    with `total_shown=True`): masked for a partenaire when it would reveal a masked cell."""
    if not only(ctx):
        return fmt.integer(frame[col].sum() if frame.height else 0)
    return secret.masked_total(frame, col, threshold=ctx.settings.secret_threshold)


def chart_rows(ctx: Context, frame: pl.DataFrame, counts: Sequence[str]) -> pl.DataFrame:
    """The rows of a chart frame a partenaire may see: rows with a count of people below the
    threshold are dropped (say so with `chart_note`)."""
    if not only(ctx):
        return frame
    keep = pl.lit(True)
    for col in counts:
        keep = keep & (pl.col(col).is_null() | (pl.col(col) >= ctx.settings.secret_threshold))
    return frame.filter(keep)


def chart_note(ctx: Context) -> str | None:
    """The caption under a chart whose small counts were dropped (None for other roles)."""
    return CHART_NOTE.format(seuil=fmt.integer(ctx.settings.secret_threshold)) if only(ctx) else None


def people_values(
    ctx: Context,
    frame: pl.DataFrame,
    *,
    values: Sequence[str],
    derived: Sequence[str] = (),
    unit: str = "unite",
    label: str = "indicateur",
) -> pl.DataFrame:
    """Indicator values per QPV (no total on the view): for a partenaire, the rows of indicators
    counting people with a value below the threshold lose their values (`secret`)."""
    if not only(ctx):
        return frame
    return secret.suppress_small_people_values(
        frame, threshold=ctx.settings.secret_threshold, values=values, derived=derived, unit=unit, label=label
    )


def _people_indicator(ctx: Context, meta: dict) -> bool:
    return only(ctx) and secret.is_people_count(meta.get("unite"), meta.get("libelle"))


def indicator_comparison(ctx: Context, meta: dict, comparison: pl.DataFrame) -> pl.DataFrame:
    """The comparison frame of one indicator (`queries.indicateurs.comparison`) as this session
    may see it: for a partenaire and an indicator counting people (`secret.is_people_count`), QPV
    values, baselines and targets below the threshold are suppressed like INSEE's secret (with
    what is computed from them), and the values get secondary masking: the page shows their sum."""
    if not _people_indicator(ctx, meta):
        return comparison
    return secret.publishable_comparison(comparison, threshold=ctx.settings.secret_threshold)


def indicator_trajectory(
    ctx: Context, meta: dict, trajectory: pl.DataFrame, *, comparison: pl.DataFrame
) -> pl.DataFrame:
    """The trajectory frame (`queries.indicateurs.trajectory`) as this session may see it: QPV values
    below the threshold suppressed, and the cells `comparison` (from `indicator_comparison`) hid for
    secondary masking hidden too. Commune, EPCI and France values are left as they are."""
    if not _people_indicator(ctx, meta):
        return trajectory
    t = ctx.settings.secret_threshold
    hidden = comparison.filter(pl.col("motif") == secret.SECONDARY_MOTIF)
    qpv = pl.col("type_serie") == "QPV"
    secondary = (
        qpv
        & pl.col("code_territoire").is_in(hidden["code_qp"].to_list())
        & pl.col("date_valeur").is_in(hidden["date_valeur"].to_list())
    )
    rows = trajectory.with_row_index("__row")
    shown = secret.suppress(rows.filter(qpv & ~secondary), "valeur", threshold=t)
    masked = rows.filter(secondary).with_columns(
        pl.lit(None, dtype=trajectory.schema["valeur"]).alias("valeur"),
        pl.lit("s").alias("secret"),
        pl.lit(secret.SECONDARY_MOTIF).alias("motif"),
    )
    return pl.concat([shown, masked, rows.filter(~qpv)], how="vertical_relaxed").sort("__row").drop("__row")


def indicator_aggregate(ctx: Context, meta: dict, aggregate: pl.DataFrame, *, comparison: pl.DataFrame) -> pl.DataFrame:
    """The selection's aggregate (`queries.indicateurs.aggregate`) as this session may see it: for
    a partenaire and an indicator counting people, the sum at the comparison's vintage is left
    out when it would reveal a masked value (`secret.masked_total` over the raw `comparison`)."""
    if not _people_indicator(ctx, meta):
        return aggregate
    return secret.publishable_aggregate(aggregate, comparison=comparison, threshold=ctx.settings.secret_threshold)
