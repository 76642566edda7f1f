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
    lazy: bool = True,
    ctx=None,
    counts: tuple[str, ...] = (),
) -> None:
    """Two buttons side by side: CSV (`;`, UTF-8 BOM, decimal comma) and XLSX, formula cells
    neutralised. With `lazy` (the default) a file is built only when its button is clicked, on
    Streamlit's download thread: writing an XLSX costs hundreds of milliseconds per few hundred
    rows, which no rerun should pay. `lazy=False` builds them at once (small tables).
    With `ctx` (the page's `ui.Context`), a partenaire always downloads the publishable version:
    no column of people's names, counts of people (`counts`) below the threshold « < 11 »."""
    if ctx is not None and ctx.user.publishable_only:
        frame = secret.publishable(frame, threshold=ctx.settings.secret_threshold, counts=counts)
        basename += "_publiable"
    csv = (lambda: tables.to_csv_bytes(frame)) if lazy else tables.to_csv_bytes(frame)
    xlsx = (lambda: tables.to_xlsx_bytes({sheet: frame})) if lazy else tables.to_xlsx_bytes({sheet: frame})
    left, right = st.columns(2)
    with left:
        st.download_button(
            "Télécharger (CSV)",
            data=csv,
            file_name=f"{basename}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/download:",
        )
    with right:
        st.download_button(
            "Télécharger (Excel)",
            data=xlsx,
            file_name=f"{basename}.xlsx",
            key=f"{key}_xlsx",
            icon=":material/download:",
            mime=tables.XLSX_MIME,
        )
