"""Templates generated from the one column specification: CSV (`;`, UTF-8 BOM) and XLSX with an
example row and a « Description » sheet (meaning, type, required, allowed values)."""

from __future__ import annotations

import polars as pl

from cdv_core import tables
from cdv_core.ingest.spec import KINDS, TEMPLATES, TYPE_LABELS, Kind

DOWNLOADABLE: tuple[str, ...] = tuple(k.code for k in TEMPLATES) + ("programmation",)


def example_frame(kind: str) -> pl.DataFrame:
    """The template's header with one example row (all text, as a user would type it)."""
    spec: Kind = KINDS[kind]
    return pl.DataFrame({c.name: [c.example] for c in spec.columns}, schema={c.name: pl.String for c in spec.columns})


def description_frame(kind: str) -> pl.DataFrame:
    spec = KINDS[kind]
    return pl.DataFrame({
        "colonne": [c.name for c in spec.columns],
        "signification": [c.description for c in spec.columns],
        "type": [TYPE_LABELS[c.type] for c in spec.columns],
        "obligatoire": ["oui" if c.required else "non" for c in spec.columns],
        "valeurs permises": [", ".join(c.allowed) for c in spec.columns],
        "exemple": [c.example for c in spec.columns],
    })


def template_csv(kind: str) -> bytes:
    return tables.to_csv_bytes(example_frame(kind))


# identifiers Excel would turn into numbers (leading zeros lost, SIRET in scientific notation)
_TEXT_TYPES = {"siret", "siren", "insee_com", "insee_dep", "code_qp", "rna", "liste_qp", "liste_insee", "liste_siren"}


def template_xlsx(kind: str) -> bytes:
    """Header row (bold, frozen, with an autofilter), the example row, and the « Description »
    sheet. No Excel « table » (ListObject): a table covering only the example row made readers
    that follow tables ignore the rows typed below it; our reader reads the whole sheet anyway.
    Every cell is written as text (nothing is run as a formula); identifier columns are
    formatted « Texte » so that Excel keeps their leading zeros."""
    import io

    import xlsxwriter

    spec = KINDS[kind]
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as workbook:
        bold = workbook.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1})
        text = workbook.add_format({"num_format": "@"})
        for name, frame in ((spec.label[:31], example_frame(kind)), ("Description", description_frame(kind))):
            sheet = workbook.add_worksheet(name)
            for j, column in enumerate(frame.columns):
                width = min(60, max(12, len(column) + 2, *(len(v or "") + 2 for v in frame[column].to_list())))
                is_text = name != "Description" and spec.col(column).type in _TEXT_TYPES
                sheet.set_column(j, j, width, text if is_text else None)
                sheet.write_string(0, j, column, bold)
                for i, value in enumerate(frame[column].to_list(), start=1):
                    if value is not None:
                        sheet.write_string(i, j, value)
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, frame.height, frame.width - 1)
    return buffer.getvalue()
