"""Tables leaving the app (CSV for Excel, XLSX): formula cells neutralised, French CSV dialect."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_cols
    )


def yes_no(frame: pl.DataFrame) -> pl.DataFrame:
    """Boolean columns as « oui » / « non » (never `true`/`false` in a file)."""
    flags = [c for c, t in frame.schema.items() if t == pl.Boolean]
    return (
        frame.with_columns(pl.col(c).replace_strict({True: "oui", False: "non"}, return_dtype=pl.String) for c in flags)
        if flags
        else frame
    )


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """`;`-separated, UTF-8 with BOM and decimal commas, dates as JJ/MM/AAAA: what Excel in
    French opens correctly with a double click."""
    buffer = io.BytesIO()
    neutralise_formulas(yes_no(frame)).write_csv(
        buffer,
        separator=";",
        include_bom=True,
        decimal_comma=True,
        date_format="%d/%m/%Y",
        datetime_format="%d/%m/%Y %H:%M",
    )
    return buffer.getvalue()


# Excel number formats (stored in Excel's neutral notation; a French Excel or LibreOffice shows
# « 884 740 € », « 12,5 % »). A year is written « 2024 », never « 2 024 ».
XLSX_FORMATS = {
    "euros": '#,##0 "€"',
    "integer": "#,##0",
    "number": "#,##0.0",
    "percent": "0.0 %",
    "year": "0",
    "date": "dd/mm/yyyy",
}


@dataclass(frozen=True)
class Number:
    """A number for a spreadsheet cell with its kind (a key of XLSX_FORMATS): lets one column mix
    numbers and words (a figures sheet) in a `pl.Object` column."""

    value: float
    kind: str = "number"


def column_kind(name: str, dtype: pl.DataType) -> str | None:
    """The number format of a typed column from its header and type: years (« Année… », « annee »)
    as « 2024 », euros (« € » in the header) without decimals, shares (« Part », « Part … ») as
    percents, other integers grouped, other decimals with one decimal."""
    if not dtype.is_numeric():
        return None
    low = name.lower()
    if dtype.is_integer() and ("année" in low or low.startswith("annee")):
        return "year"
    if "€" in name:
        return "euros"
    if low == "part" or low.startswith("part "):  # « Part retenue », « Part du chemin… »: a share 0–1
        return "percent"
    return "integer" if dtype.is_integer() else "number"


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_xlsx_bytes(sheets: dict[str, pl.DataFrame]) -> bytes:
    """One worksheet per frame, cells kept typed: numbers as numbers with a French number format
    (`column_kind`, or a `Number` in an object column), dates as dates, booleans as « oui/non »,
    text with formulas neutralised. Sheet names must already fit Excel's 31 characters."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as workbook:
        formats = {kind: workbook.add_format({"num_format": code}) for kind, code in XLSX_FORMATS.items()}
        bold = workbook.add_format({"bold": True})
        for name, frame in sheets.items():
            if len(name) > 31:
                raise ValueError(f"Nom de feuille trop long (31 caractères au plus) : {name}")
            sheet = workbook.add_worksheet(name)
            frame = neutralise_formulas(frame)
            kinds = [column_kind(c, t) for c, t in frame.schema.items()]
            widths = [len(c) for c in frame.columns]
            for c, column in enumerate(frame.columns):
                sheet.write_string(0, c, column, bold)
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, value in enumerate(row):
                    widths[c] = max(widths[c], _write_cell(sheet, r, c, value, kinds[c], formats))
            for c, width in enumerate(widths):
                sheet.set_column(c, c, min(max(width, 6), 60) + 2)
            sheet.freeze_panes(1, 0)
    return buffer.getvalue()


def _write_cell(sheet, r: int, c: int, value, kind: str | None, formats) -> int:
    """Write one cell; returns its rough width in characters (for the column width)."""
    if isinstance(value, Number):
        value, kind = value.value, value.kind
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0
    if isinstance(value, bool):
        text = "oui" if value else "non"
        sheet.write_string(r, c, text)
        return len(text)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, (int, float)):
        sheet.write_number(r, c, value, formats[kind or "number"])
        return len(f"{value:,.0f}") + 3
    if isinstance(value, (date, datetime)):
        sheet.write_datetime(r, c, value, formats["date"])
        return 10
    text = str(value)
    if isinstance(value, str) and kind is None and text[:1] in _FORMULA_START:
        text = "'" + text  # an object column's words: the rule of `neutralise_formulas`
    sheet.write_string(r, c, text)
    return len(text)
