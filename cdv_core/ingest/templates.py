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


def template_xlsx(kind: str) -> bytes:
    return tables.to_xlsx_bytes({KINDS[kind].label[:31]: example_frame(kind), "Description": description_frame(kind)})
