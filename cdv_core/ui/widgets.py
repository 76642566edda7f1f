"""KPI cards and charts with French number and date formats."""

from __future__ import annotations

import altair as alt
import streamlit as st

from cdv_core import fmt

FRENCH_LOCALE = alt.Locale(
    number={"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"]},
    time={
        "dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S",
        "periods": ["AM", "PM"], "days": list(fmt.DAYS), "shortDays": list(fmt.SHORT_DAYS),
        "months": list(fmt.MONTHS), "shortMonths": list(fmt.SHORT_MONTHS),
    },
)


def altair_fr(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Apply the French locale (decimal comma, narrow-space thousands, French months) to a chart."""
    return chart.configure(locale=FRENCH_LOCALE)


def kpi(label: str, value: str, *, help: str | None = None, delta: str | None = None,
        delta_color: str = "normal") -> None:
    st.metric(label, value, delta=delta, help=help, border=True, delta_color=delta_color)
