"""Altair chart helpers shared by the pages and the exports (no Streamlit here)."""

from __future__ import annotations

import altair as alt

from cdv_core import fmt

FRENCH_LOCALE = alt.Locale(
    number={"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"]},
    time={
        "dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S",
        "periods": ["AM", "PM"], "days": list(fmt.DAYS), "shortDays": list(fmt.SHORT_DAYS),
        "months": list(fmt.MONTHS), "shortMonths": list(fmt.SHORT_MONTHS),
    },
)


def french(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
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
