"""Which kind of file this is, and which of its headers are which of our columns.

Driven by the kinds' data (`spec.KINDS`): their columns, header synonyms, and detection hints
(`first_header`, `exact_headers`, `sure_columns`, `detect_missing`). A kind added to `spec.KINDS`
is detected without any change here."""

from __future__ import annotations

import re

import duckdb

from cdv_core.ingest.clean import normalise_str
from cdv_core.ingest.spec import KINDS
from cdv_core.ingest.spec_types import Kind

_YEAR_SUFFIX = re.compile(r" (?:19|20)\d\d$")  # « Subvention 2026 »: the exercice's column


def kind_choices() -> dict[str, str]:
    return {code: k.label for code, k in KINDS.items()}


def remembered_mappings(cur: duckdb.DuckDBPyConnection, kind: str) -> dict[str, str]:
    """Normalised header → our column, as chosen by the users on earlier imports of `kind`."""
    rows = cur.execute(
        "SELECT entete, colonne FROM import_correspondance WHERE type_import = $k", {"k": kind}
    ).fetchall()
    return dict(rows)


def detection_memory(cur: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """The remembered mappings that detection uses: those of the kinds whose headers vary from
    one file to another (the kinds with header synonyms)."""
    return {code: remembered_mappings(cur, code) for code, kind in KINDS.items() if kind.synonyms}


def map_headers(
    kind: Kind, headers: list[str], remembered: dict[str, str] | None = None, override: dict[str, str] | None = None
) -> dict[str, str]:
    """File header → our column. Order of precedence: the user's choice now, what they chose
    before (remembered), our exact column names, the kind's header synonyms."""
    names = {c.name for c in kind.columns}
    synonyms = {s: target for target, variants in kind.synonyms.items() for s in variants}
    out: dict[str, str] = {}
    for h in headers:
        n = normalise_str(h)
        target = None
        if override and h in override:
            target = override[h] or None
        elif remembered and n in remembered:
            target = remembered[n]
        elif n.replace(" ", "_") in names:
            target = n.replace(" ", "_")
        elif h in names:
            target = h
        elif n in synonyms:
            target = synonyms[n]
        elif _YEAR_SUFFIX.sub("", n) in synonyms:
            target = synonyms[_YEAR_SUFFIX.sub("", n)]
        if target in names and target not in out.values():
            out[h] = target
    return out


def detect_kind(headers: list[str], remembered: dict[str, dict[str, str]] | None = None) -> str | None:
    """The kind whose columns the headers match best (required columns first). A kind with a
    header signature (`first_header`, `exact_headers`) is recognised by it alone."""
    normed = [normalise_str(h) for h in headers]
    for kind in KINDS.values():
        if (kind.first_header is not None and normed[:1] == [kind.first_header]) or (
            kind.exact_headers and set(normed) == kind.exact_headers
        ):
            return kind.code
    best, best_score = None, (0.0, 0.0)
    for kind in KINDS.values():
        if kind.first_header is not None or kind.exact_headers:
            continue
        found = set(map_headers(kind, headers, (remembered or {}).get(kind.code)).values())
        required = set(kind.required)
        if not required or len(found & required) < len(required) - kind.detect_missing:
            continue
        # first the share of the file's headers we understand, then how complete the kind is
        score = (len(found) / len(headers), len(found & required) / len(required) + len(found) / len(kind.columns))
        if kind.sure_columns and set(kind.sure_columns) <= found:
            score = (10.0, 0.0)
        if score > best_score:
            best, best_score = kind.code, score
    return best
