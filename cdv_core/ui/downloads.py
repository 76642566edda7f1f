"""Download buttons for the tables a page shows (CSV for Excel and XLSX)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cdv_core import tables
from cdv_core.domain import secret


def download_buttons(
    frame: pl.DataFrame,
    *,
    basename: str,
    key: str,
    sheet: str = "Données",
    ctx=None,
    counts: tuple[str, ...] = (),
) -> None:
    """Two buttons side by side: CSV (`;`, UTF-8 BOM, decimal comma) and XLSX, formula cells
    neutralised. A file is built only when its button is clicked, on Streamlit's download thread:
    writing an XLSX costs hundreds of milliseconds per few hundred rows, which no rerun should pay
    (neither should a CSV). A click does not rerun the page (`on_click="ignore"`).
    With `ctx` (the page's `ui.Context`), a partenaire always downloads the publishable version:
    no column of people's names, counts of people (`counts`) below the threshold « < 11 »."""
    if ctx is not None and ctx.user.publishable_only:
        frame = secret.publishable(frame, threshold=ctx.settings.secret_threshold, counts=counts)
        basename += "_publiable"
    left, right = st.columns(2)
    with left:
        st.download_button(
            "Télécharger (CSV)",
            data=lambda: tables.to_csv_bytes(frame),
            file_name=f"{basename}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/download:",
            on_click="ignore",
        )
    with right:
        st.download_button(
            "Télécharger (Excel)",
            data=lambda: tables.to_xlsx_bytes({sheet: frame}),
            file_name=f"{basename}.xlsx",
            key=f"{key}_xlsx",
            icon=":material/download:",
            on_click="ignore",
            mime=tables.XLSX_MIME,
        )
