"""Analyse an uploaded file, stage by stage, in the order the data flows: read the bytes
(`reading`), detect the kind (`detect`), make the typed rows (the kind's columns step, `kinds`),
build what would be written (the kind's builder), complete it from the store's defaults, and
diff it against the store (`diff`). Nothing is written here; `commit` writes."""

from __future__ import annotations

import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import duckdb
import polars as pl

from cdv_core import store
from cdv_core.ingest import kinds, reading
from cdv_core.ingest.detect import detect_kind, detection_memory
from cdv_core.ingest.diff import diff
from cdv_core.ingest.model import (
    ERROR,
    LINE,
    MAX_UPLOAD_BYTES,
    PROBLEM_SCHEMA,
    Analysis,
    Limits,
    Load,
    RawTable,
    ReadError,
    default_scope,
    problem,
    problems_frame,
)
from cdv_core.ingest.spec import KINDS


def analyse(
    cur: duckdb.DuckDBPyConnection,
    data: bytes,
    filename: str,
    *,
    kind: str | None = None,
    mapping: dict[str, str] | None = None,
    contrat: str | None = None,
    replace_scope: bool = False,
    max_bytes: int = MAX_UPLOAD_BYTES,
    date_valeur: date | None = None,
    limits: Limits | None = None,
) -> Analysis:
    """Everything the user must see before a commit; nothing is written to the store.

    `mapping` (file header → our column; for INSEE files: variable → indicator code, "" to
    ignore) overrides the detected/remembered one; `contrat` receives the new QPV of the
    official list; `date_valeur` dates the values of an INSEE wide file."""
    start = time.perf_counter()
    # the file's sha256 is computed on another thread meanwhile (hashlib releases the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        empreinte = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        result = Analysis(fichier=filename, empreinte="", taille=len(data), kind=None, kind_label="inconnu")
        try:
            _analyse(
                cur,
                data,
                result,
                kind=kind,
                mapping=mapping,
                contrat=contrat,
                replace_scope=replace_scope,
                max_bytes=max_bytes,
                limits=limits,
                date_valeur=date_valeur,
            )
        except (OSError, duckdb.Error, MemoryError) as exc:  # the server failed, not the file
            result = _server_failure(filename, len(data), exc)
        result.empreinte = empreinte.result()
    result.seconds = time.perf_counter() - start
    return result


def _analyse(
    cur: duckdb.DuckDBPyConnection,
    data: bytes,
    result: Analysis,
    *,
    kind: str | None,
    mapping: dict[str, str] | None,
    contrat: str | None,
    replace_scope: bool,
    max_bytes: int,
    limits: Limits | None,
    date_valeur: date | None,
) -> None:
    """Fills `result` stage by stage; a stage that finds nothing to pass on ends the analysis."""
    filename = result.fichier
    try:
        raw = reading.read_bytes(data, filename, max_bytes=max_bytes, limits=limits)
    except ReadError as exc:
        # ligne None: a problem of the whole file; the message without its full stop (the
        # report adds « . Attendu : … »)
        result.problems = problems_frame(
            [problem(filename, None, "", "", str(exc).rstrip("."), "Un fichier CSV ou .xlsx lisible")]
        )
        return
    problems = _read(raw, result)
    headers = [c for c in raw.frame.columns if c != LINE]
    code = kind or detect_kind(headers, detection_memory(cur))
    if code not in KINDS:
        result.problems = problems_frame(
            [
                problem(
                    filename,
                    1,
                    "",
                    " ; ".join(headers[:8]),
                    "Type de fichier non reconnu : les en-têtes ne correspondent à aucun modèle",
                    "Téléchargez un modèle sur cette page, ou choisissez le type de fichier et associez les colonnes",
                )
            ]
        )
        return
    spec = KINDS[code]
    result.kind, result.kind_label = code, spec.label
    if raw.frame.height == 0:
        problems.append(
            problems_frame(
                [
                    problem(
                        filename,
                        1,
                        "",
                        "",
                        "Le fichier ne contient que l'en-tête, aucune ligne de données",
                        "Au moins une ligne sous l'en-tête",
                    )
                ]
            )
        )
    columns = kinds.columns_step(code)(cur, spec, raw, filename, mapping=mapping, date_valeur=date_valeur)
    result.mapping, result.unmapped, result.missing = columns.mapping, columns.unmapped, columns.missing
    problems += columns.problems
    if columns.frame is not None:
        result.loads, found, notes = kinds.builder(code)(cur, spec, columns.frame, filename, contrat=contrat)
        problems += found
        result.notes += notes
        _complete(cur, result.loads)
    result.problems = _sorted(pl.concat([p.cast(PROBLEM_SCHEMA) for p in problems]) if problems else result.problems)
    if result.errors == 0 and result.loads:
        result.diff, result.changes = diff(cur, result.loads, replace_scope=replace_scope)


def _read(raw: RawTable, result: Analysis) -> list[pl.DataFrame]:
    """What the reading found: the file's encoding, separator, rows and notes into `result`, and
    its problems (a structural problem of line 0 is one of the whole file)."""
    result.encoding, result.separator = raw.encoding_label, raw.separator_label
    result.nb_lignes = raw.frame.height
    result.notes += raw.notes
    if raw.encoding in ("cp1252", "latin-1"):
        result.notes.append(f"Encodage détecté : {raw.encoding_label} (converti en UTF-8).")
    if not raw.problems:
        return []
    return [
        pl.DataFrame(
            [
                {
                    **p,
                    "fichier": result.fichier,
                    "problème": p["probleme"],
                    "correction attendue": p["correction"],
                    "gravité": p["gravite"],
                }
                for p in raw.problems
            ]
        )
        .select(list(PROBLEM_SCHEMA))
        .cast(PROBLEM_SCHEMA)
        .with_columns(pl.col("ligne").replace(0, None))
    ]  # 0: the whole file


def _server_failure(filename: str, size: int, exc: BaseException) -> Analysis:
    """The analysis that the server could not finish (its disk full while the reading used a
    temporary file, memory, the store unreachable): a French whole-file error that says what to do,
    the detail in the server's log only (see `store.write_error`)."""
    cause = store.failure_cause(exc)
    store.write_error(exc)  # logs the detail
    reasons = {
        "disque_plein": "le disque du serveur est plein ; libérez de la place (ou demandez-le à "
        "l'administrateur), puis déposez à nouveau le fichier",
        "connexion": "la base partagée ne répond plus ; recommencez dans un moment",
    }
    reason = (
        "la mémoire du serveur ne suffit pas ; découpez le fichier et importez les morceaux l'un après l'autre"
        if isinstance(exc, MemoryError)
        else reasons.get(
            cause,
            "erreur du serveur (le détail est dans son journal) ; recommencez, et si le problème "
            "persiste, prévenez l'administrateur",
        )
    )
    result = Analysis(fichier=filename, empreinte="", taille=size, kind=None, kind_label="inconnu")
    result.problems = problems_frame(
        [problem(filename, None, "", "", f"Le fichier n'a pas pu être analysé : {reason}", "Rien n'a été modifié")]
    )
    return result


def _sorted(problems: pl.DataFrame) -> pl.DataFrame:
    """Errors first, then by row (the whole file's problems, ligne null, first) and column."""
    return problems.sort([pl.col("gravité") != ERROR, pl.col("ligne").fill_null(0), "colonne"], nulls_last=True)


def _complete(cur: duckdb.DuckDBPyConnection, loads: list[Load]) -> None:
    """The loads made ready for the diff: NOT NULL columns filled from the store, the default
    « absent » scope where the builder set none."""
    _fill_not_null(cur, loads)
    for load in loads:
        if load.replace_group is None and load.scope_col is None:
            load.scope_col = default_scope(load)


def not_null_defaults(cur: duckdb.DuckDBPyConnection, table: str) -> dict[str, object]:
    """NOT NULL columns of a store table → their schema default (`_NO_DEFAULT` when none).
    Only plain literal defaults are understood (`'hexagone'`, `false`, `1`; DuckDB 1.5 shows
    `false` as `CAST('f' AS BOOLEAN)`)."""
    rows = cur.execute(
        "SELECT column_name, column_default FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = $t AND is_nullable = 'NO'",
        {"t": table},
    ).fetchall()
    return {name: _literal(default) for name, default in rows}


_NO_DEFAULT = object()
_BOOLEAN_CAST = re.compile(r"CAST\('(t|f|true|false)' AS BOOLEAN\)", re.IGNORECASE)  # how DuckDB 1.5 shows `false`


def _literal(default: str | None) -> object:
    if default is None:
        return _NO_DEFAULT
    text = default.strip()
    cast = _BOOLEAN_CAST.fullmatch(text)
    if cast:
        return cast.group(1).lower() in ("t", "true")
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return _NO_DEFAULT


def _fill_not_null(cur: duckdb.DuckDBPyConnection, loads: list[Load]) -> None:
    """Empty cells of optional columns that are NOT NULL in the store (contrat.territoire,
    action.hors_qpv, indicateur.agregation…): a row already in the store keeps its value, a new
    row takes the column's schema default. Vectorised: one join on the key, only when such a
    column has empty cells."""
    for load in loads:
        if load.replace_group is not None or load.table not in store.table_names(cur):
            continue
        defaults = not_null_defaults(cur, load.table)
        holed = [c for c in load.frame.columns if c in defaults and c not in load.key and load.frame[c].null_count()]
        if not holed:
            continue
        cols = [*load.key, *holed]
        if not all(re.fullmatch(r"[a-z_][a-z0-9_]*", c) for c in [load.table, *cols]):  # catalogue names only
            raise store.StoreError(f"Nom de table ou de colonne refusé pour {load.table}")
        current = cur.execute("SELECT " + ", ".join(cols) + " FROM " + load.table).pl()
        current = current.select(
            *[pl.col(k).cast(load.frame.schema[k]) for k in load.key],
            *[pl.col(c).cast(load.frame.schema[c]).alias(f"__old_{c}") for c in holed],
        )
        frame = load.frame.join(current, on=list(load.key), how="left", maintain_order="left")
        filled = []
        for c in holed:
            parts = [pl.col(c), pl.col(f"__old_{c}")]
            if defaults[c] is not _NO_DEFAULT:
                parts.append(pl.lit(defaults[c], dtype=load.frame.schema[c]))
            filled.append(pl.coalesce(parts).alias(c))
        load.frame = frame.with_columns(filled).select(load.frame.columns)
