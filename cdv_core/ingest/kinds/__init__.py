"""The registry of file kinds: for each kind's code, the builder that turns its typed rows into
what would be written (loads), the problems only that kind knows about, and notes for the user.

A kind of `spec.KINDS` that is not listed here uses the generic `template.build`. A kind whose
file is not one row per record with our columns (INSEE « wide » files) also registers its own
columns step in `COLUMNS` (raw table → the typed frame its builder receives; the default is
`template.columns`: header mapping and cell typing).

To add a file kind: its `Kind` (columns, header synonyms) in the `spec_*.py` module of its family
(registered in `spec.KINDS`), a module here with its `build` (and `columns` when needed), and one
line below."""

from __future__ import annotations

from cdv_core.ingest.kinds import adultes_relais, contours_qpv, insee, liste_qpv, programmation, template
from cdv_core.ingest.model import Builder, ColumnsStep

BUILDERS: dict[str, Builder] = {
    "liste_qpv": liste_qpv.build,
    "programmation": programmation.build,
    "contours_qpv": contours_qpv.build,
    "insee": insee.build,
    "adultes-relais": adultes_relais.build,
}

COLUMNS: dict[str, ColumnsStep] = {
    "insee": insee.columns,
}


def builder(code: str) -> Builder:
    return BUILDERS.get(code, template.build)


def columns_step(code: str) -> ColumnsStep:
    return COLUMNS.get(code, template.columns)
