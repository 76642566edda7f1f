"""Tables leaving the app (CSV for Excel, XLSX): formula cells neutralised, French CSV dialect."""

from __future__ import annotations

import io

import polars as pl

from cdv_core.domain.texte import FORMULA_START as _FORMULA_START  # the rule of every path in (domain/texte.py)


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR)
    with an apostrophe, so they are shown as text (CSV/formula injection)."""
    text_cols = [c for c, t in frame.schema.items() if t == pl.String]
    if not text_cols:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).str.slice(0, 1).is_in(list(_FORMULA_START)))
          .then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text_cols
    )


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """`;`-separated, UTF-8 with BOM and decimal commas, dates as JJ/MM/AAAA: what Excel in
    French opens correctly with a double click."""
    buffer = io.BytesIO()
    neutralise_formulas(frame).write_csv(buffer, separator=";", include_bom=True, decimal_comma=True,
                                         date_format="%d/%m/%Y", datetime_format="%d/%m/%Y %H:%M")
    return buffer.getvalue()


def to_xlsx_bytes(sheets: dict[str, pl.DataFrame]) -> bytes:
    """One worksheet per frame (names cut to Excel's 31 characters); cells kept typed."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as workbook:
        for name, frame in sheets.items():
            neutralise_formulas(frame).write_excel(workbook=workbook, worksheet=name[:31], autofit=True,
                                                   dtype_formats={pl.Date: "dd/mm/yyyy"})
    return buffer.getvalue()
