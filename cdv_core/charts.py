"""Altair chart helpers shared by the pages and the exports (no Streamlit here)."""

from __future__ import annotations

from typing import TypeVar

import altair as alt

from cdv_core import fmt

# Altair checks every schema object against the Vega-Lite JSON schema as it is made (its « debug
# mode »): ≈ 3 % of the server's interpreter time under load, for charts built by fixed code. Their
# tests check each whole spec (`to_dict()` validates), and so do the exports. For the same reason the
# figures give encodings as channel objects (`alt.X("date:T")`, `alt.ColorValue(…)`), never as a
# string or `alt.value`: Altair turns those through `from_dict`, which hashes its whole schema at
# each call (≈ 2 ms each).
alt.utils.schemapi.disable_debug_mode()

FRENCH_LOCALE = alt.Locale(
    number={"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"]},
    time={
        "dateTime": "%A %e %B %Y à %X",
        "date": "%d/%m/%Y",
        "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": list(fmt.DAYS),
        "shortDays": list(fmt.SHORT_DAYS),
        "months": list(fmt.MONTHS),
        "shortMonths": list(fmt.SHORT_MONTHS),
    },
)


ChartT = TypeVar("ChartT", bound=alt.TopLevelMixin)  # a Chart stays a Chart, a LayerChart a LayerChart


def french(chart: ChartT) -> ChartT:
    """Apply the French locale (decimal comma, narrow-space thousands, French months)."""
    return chart.configure(locale=FRENCH_LOCALE)


def png(spec: dict, *, scale: float = 2.0) -> bytes:
    """Render a Vega-Lite spec to PNG offline (vl-convert), honouring its French locale."""
    import vl_convert

    return vl_convert.vegalite_to_png(spec, scale=scale)


NUMBER_AXIS_FORMAT = ",~f"  # d3: grouped thousands (FRENCH_LOCALE), decimals without trailing zeros
# On the canvas, at 1x, the locale's narrow no-break space is about one pixel wide: « 25000 » is what
# people read. Axis labels use a plain no-break space instead (« 25 000 »).
_WIDE_THOUSANDS = "replace(datum.label, regexp('\\u202f', 'g'), '\\u00a0')"


def number_axis(**kwargs) -> alt.Axis:
    """A quantitative axis in French number format that reads well on screen (`25 000`, `2,5`)."""
    return alt.Axis(**{"format": NUMBER_AXIS_FORMAT, "labelExpr": _WIDE_THOUSANDS, **kwargs})


def status_timeline(history, *, until, colors: dict[str, str], title: str = "Statut au fil des relevés") -> alt.Chart:
    """A QPV's recorded statuses (`projets.status_history` of one QPV: donnees_au, statut) as a band
    of coloured stretches, each from its record to the next (the last one up to `until`)."""
    import polars as pl

    data = (
        history.sort("donnees_au")
        .select(
            pl.col("donnees_au").alias("debut"),
            pl.col("donnees_au").shift(-1).fill_null(pl.lit(until)).alias("fin"),
            "statut",
        )
        .with_columns(pl.lit("Statut").alias("ligne"))
    )
    domain = [s for s in colors if s in set(data["statut"])]
    return (
        alt.Chart(data)
        .mark_bar(height=22)
        .encode(
            x=alt.X("debut:T", title=None, axis=alt.Axis(format="%b %Y", tickCount={"interval": "month", "step": 3})),
            x2=alt.X2("fin:T"),
            y=alt.Y("ligne:N", title=None, axis=None),
            color=alt.Color(
                "statut:N",
                title=None,
                scale=alt.Scale(domain=domain, range=[colors[s] for s in domain]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("statut:N", title="Statut"),
                alt.Tooltip("debut:T", title="Relevé du", format="%d/%m/%Y"),
                alt.Tooltip("fin:T", title="Jusqu'au", format="%d/%m/%Y"),
            ],
        )
        .properties(
            title=title,
            height=155,  # all of it: the title, the band, the months and the legend
            autosize=alt.AutoSizeParams(type="fit", contains="padding"),
        )
    )
