"""The gap between a QPV and its reference territory, and its trend since the baseline.

The legal objective of the politique de la ville is to reduce the gap between the quartiers
prioritaires and the rest of their territory. These rules say how that gap is measured and
whether it moves the right way. They are written once, as Polars expressions (used by the
queries on whole frames), with scalar wrappers for single values.

Rules
- **Gap** = QPV − reference territory. For a rate (`unite` in `RATE_UNITS`) it is a difference
  in points; for any other unit it is relative, in % of the reference value
  (`(QPV − ref) / ref × 100`; no gap when the reference is 0 or missing).
- **Trend** since the baseline: `Δ = measure_latest − measure_baseline`, where the measure is the
  gap when both gaps are known, otherwise the QPV's own value. It is *favourable* when Δ has the
  sign of the desired direction (`sens` = 'hausse' → Δ > 0, 'baisse' → Δ < 0), *unfavourable*
  when opposite, *stable* when |Δ| < `STABLE_TOLERANCE`, and uncoloured (« sans sens
  souhaité ») when `sens` = 'neutre'. Since gap = QPV − ref, a QPV value moving in the desired
  direction faster than its territory moves the gap in that same direction.
- **Unit of the change** Δ (`change_unit`): points (`pts`) when Δ is measured on the gap (a change
  of a percentage, relative or not, is a difference in points) or when the indicator is a rate;
  otherwise the indicator's own unit (€, nb…).
- No trend without a baseline, without a latest value (secret statistique: the reason is kept
  elsewhere, never a 0), or when the latest value is the baseline itself (a single value).
"""

from __future__ import annotations

import re

import polars as pl

RATE_UNITS: tuple[str, ...] = ("%", "‰")
STABLE_TOLERANCE = 0.05  # |Δ| below this (in the measure's unit) is « stable »: rounding noise

TREND_LABELS: dict[str, str] = {
    "favorable": "dans le sens souhaité",
    "defavorable": "à l'inverse du sens souhaité",
    "stable": "stable",
    "neutre": "sans sens souhaité",
    "sans_base": "pas de point de départ",
    "manquante": "valeur récente manquante",
    "unique": "aucune valeur après le point de départ",
}
TREND_COLORS: dict[str, str] = {  # blue = good, orange = bad (readable by colour-blind people)
    "favorable": "#2166ac",
    "defavorable": "#e66101",
    "stable": "#8c959f",
    "neutre": "#6e7781",
    "sans_base": "#c8ccd0",
    "manquante": "#c8ccd0",
    "unique": "#c8ccd0",
}


def is_rate(unite: str | None) -> bool:
    return unite in RATE_UNITS


def gap_unit(unite: str | None) -> str:
    """The unit the gap is expressed in: `pts` for a rate, `%` (relative) otherwise."""
    return "pts" if is_rate(unite) else "%"


def change_unit(unite: str | None, mesure: str | None) -> str:
    """The unit of a change since the baseline (`evolution`): a change of a percentage is in
    points, so `pts` when the measure is the gap (in points for a rate, in % of the reference
    otherwise) or when the indicator itself is a rate; else the indicator's own unit."""
    return "pts" if mesure == "écart" or is_rate(unite) else (unite or "")


def gap_expr(qpv: pl.Expr, ref: pl.Expr, rate: pl.Expr) -> pl.Expr:
    """QPV − reference, in points when `rate`, else in % of the reference. Null when unknown."""
    relative = pl.when(ref.is_not_null() & (ref != 0)).then((qpv - ref) / ref.abs() * 100)
    return pl.when(rate).then(qpv - ref).otherwise(relative)


def trend_expr(
    *,
    base_gap: pl.Expr,
    latest_gap: pl.Expr,
    base_value: pl.Expr,
    latest_value: pl.Expr,
    base_date: pl.Expr,
    latest_date: pl.Expr,
    sens: pl.Expr,
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(Δ, measure, status): the change since the baseline, which measure it is computed on
    ('écart' or 'valeur'), and its status (a key of `TREND_LABELS`)."""
    on_gap = base_gap.is_not_null() & latest_gap.is_not_null()
    delta = pl.when(on_gap).then(latest_gap - base_gap).otherwise(latest_value - base_value)
    measure = pl.when(on_gap).then(pl.lit("écart")).otherwise(pl.lit("valeur"))
    status = (
        pl.when(base_value.is_null() | base_date.is_null())
        .then(pl.lit("sans_base"))
        .when(latest_value.is_null())
        .then(pl.lit("manquante"))
        .when(latest_date <= base_date)
        .then(pl.lit("unique"))
        .when(sens == "neutre")
        .then(pl.lit("neutre"))
        .when(delta.abs() < STABLE_TOLERANCE)
        .then(pl.lit("stable"))
        .when(((sens == "hausse") & (delta > 0)) | ((sens == "baisse") & (delta < 0)))
        .then(pl.lit("favorable"))
        .otherwise(pl.lit("defavorable"))
    )
    ok = ~status.is_in(["sans_base", "manquante", "unique"])
    return (
        pl.when(ok).then(delta).alias("evolution"),
        pl.when(ok).then(measure).alias("mesure_tendance"),
        status.alias("tendance"),
    )


RATIO_OF_SUMS = "ratio des sommes"
NOT_AGGREGATED = "non agrégé"


def rate_scale(unite: str | None) -> float | None:
    """What a ratio numerator / denominator is multiplied by to read in `unite`: 100 for « % »,
    1 000 for « ‰ » or « pour 1 000 hab. », 10 000 for « pour 10 000 hab. »; None for a unit that
    is not a ratio (€, nb, jours…), which has no numerator nor denominator."""
    if unite == "%":
        return 100.0
    if unite == "‰":
        return 1000.0
    found = re.match(r"^pour ([\d\s\u00a0\u202f]+)", unite or "")
    return float(re.sub(r"\D", "", found.group(1))) if found else None


def aggregation_method(unite: str | None, agregation: str | None, *, with_parts: bool = False) -> str:
    """How several QPV are combined: 'somme' for a count declared summable; for a ratio whose QPV
    values carry their numerator and denominator, the ratio of the sums (`RATIO_OF_SUMS`); a rate
    (%, ‰) without them is not aggregated — a mean of rates is not the rate of the whole; anything
    else (a median income, a ratio per inhabitant without its parts) the mean weighted by the QPV
    population."""
    if agregation == "somme" and not is_rate(unite):
        return "somme"
    if with_parts and rate_scale(unite) is not None:
        return RATIO_OF_SUMS
    if is_rate(unite):
        return NOT_AGGREGATED
    return "moyenne pondérée"


# --- scalar wrappers (one value at a time: tests, cards) -------------------------------------


def gap(qpv: float | None, ref: float | None, unite: str) -> float | None:
    """The gap of one QPV value to one reference value (see `gap_expr`)."""
    frame = pl.DataFrame({"q": [qpv], "r": [ref]}, schema={"q": pl.Float64, "r": pl.Float64})
    return frame.select(gap_expr(pl.col("q"), pl.col("r"), pl.lit(is_rate(unite)))).item()


def trend(
    *,
    base_value: float | None,
    latest_value: float | None,
    base_ref: float | None,
    latest_ref: float | None,
    base_date,
    latest_date,
    sens: str,
    unite: str,
) -> dict:
    """The trend of one QPV: `{"evolution", "mesure_tendance", "tendance"}` (see `trend_expr`)."""
    frame = pl.DataFrame(
        {
            "bv": [base_value],
            "lv": [latest_value],
            "br": [base_ref],
            "lr": [latest_ref],
            "bd": [base_date],
            "ld": [latest_date],
            "sens": [sens],
        },
        schema={
            "bv": pl.Float64,
            "lv": pl.Float64,
            "br": pl.Float64,
            "lr": pl.Float64,
            "bd": pl.Date,
            "ld": pl.Date,
            "sens": pl.String,
        },
    )
    rate = pl.lit(is_rate(unite))
    exprs = trend_expr(
        base_gap=gap_expr(pl.col("bv"), pl.col("br"), rate),
        latest_gap=gap_expr(pl.col("lv"), pl.col("lr"), rate),
        base_value=pl.col("bv"),
        latest_value=pl.col("lv"),
        base_date=pl.col("bd"),
        latest_date=pl.col("ld"),
        sens=pl.col("sens"),
    )
    return frame.select(*exprs).row(0, named=True)
