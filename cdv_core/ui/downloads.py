"""Download buttons for the tables a page shows (CSV for Excel and XLSX)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cdv_core import tables


def download_buttons(frame: pl.DataFrame, *, basename: str, key: str, sheet: str = "Données") -> None:
    """Two buttons side by side: CSV (`;`, UTF-8 BOM) and XLSX, formula cells neutralised."""
    left, right = st.columns(2)
    with left:
        st.download_button("Télécharger (CSV)", data=tables.to_csv_bytes(frame), file_name=f"{basename}.csv",
                           mime="text/csv", key=f"{key}_csv", icon=":material/download:")
    with right:
        st.download_button("Télécharger (Excel)", data=tables.to_xlsx_bytes({sheet: frame}),
                           file_name=f"{basename}.xlsx", key=f"{key}_xlsx", icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
