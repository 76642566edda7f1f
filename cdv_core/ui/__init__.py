"""Streamlit helpers shared by the pages: bootstrap, cached reads, formatting, KPI cards, charts.

The only part of cdv_core allowed to import Streamlit.
"""

from __future__ import annotations

from cdv_core.ui.context import Context, bootstrap, cached, connection, deferred, own, page_header, url_warning, write
from cdv_core.ui.widgets import card_row, chart, kpi, table

__all__ = [
    "Context",
    "bootstrap",
    "cached",
    "card_row",
    "chart",
    "connection",
    "deferred",
    "kpi",
    "own",
    "page_header",
    "table",
    "url_warning",
    "write",
]
