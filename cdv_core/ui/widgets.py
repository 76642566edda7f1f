"""KPI cards and charts with French number and date formats."""

from __future__ import annotations

import altair as alt
import streamlit as st

from cdv_core.charts import FRENCH_LOCALE, french

__all__ = ["FRENCH_LOCALE", "altair_fr", "kpi"]


def altair_fr(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Apply the French locale (decimal comma, narrow-space thousands, French months) to a chart."""
    return french(chart)


def kpi(label: str, value: str, *, help: str | None = None, delta: str | None = None,
        delta_color: str = "normal") -> None:
    st.metric(label, value, delta=delta, help=help, border=True, delta_color=delta_color)
