"""Analyse an uploaded file: read, detect its kind, map headers, type and validate every cell,
build what would be written (loads), and diff it against the store. Nothing is written here."""

from __future__ import annotations

import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import gaps, model
from cdv_core.ingest import clean, reading
from cdv_core.ingest.clean import ERROR, PROBLEM_SCHEMA, WARNING
from cdv_core.ingest.reading import LINE
from cdv_core.ingest.spec import (CONTOURS_QPV, INSEE_WIDE, KINDS, OFFICIAL_QPV, PROGRAMMATION, PROGRAMMATION_SYNONYMS, TEMPLATES,
                                  Col, Kind)


@dataclass
class Load:
    """Rows for one store table: inserted when new, updated (only `update_cols`) when changed."""
    table: str
    frame: pl.DataFrame
    key: tuple[str, ...]
    update_cols: tuple[str, ...]
    replace_group: str | None = None   # link tables: the file gives the whole set for each group
    scope_col: str | tuple[str, ...] | None = None  # « absent » rows: among store rows sharing these
                                       # columns' values with a row of the file ("" = the whole table,
                                       # None = default, see `_default_scope`)


@dataclass
class Analysis:
    fichier: str
    empreinte: str
    taille: int
    kind: str | None
    kind_label: str
    encoding: str = ""
    separator: str = ""
    nb_lignes: int = 0
    problems: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PROBLEM_SCHEMA))
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)      # file header → our column
    unmapped: list[str] = field(default_factory=list)          # file headers not used
    missing: list[str] = field(default_factory=list)           # our required columns not found
    loads: list[Load] = field(default_factory=list)
    diff: pl.DataFrame | None = None                           # counts per table
    changes: pl.DataFrame | None = None                        # details (capped)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return int((self.problems["gravité"] == ERROR).sum())

    @property
    def warnings(self) -> int:
        return int((self.problems["gravité"] == WARNING).sum())

    @property
    def ok(self) -> bool:
        return self.kind is not None and self.errors == 0 and bool(self.loads)

    @property
    def file_errors(self) -> list[str]:
        """The errors of the whole file (unreadable, over a bound…), whose text must be read whole."""
        whole = self.problems.filter(pl.col("ligne").is_null() & (pl.col("gravité") == ERROR))
        return whole["problème"].to_list()


def kind_choices() -> dict[str, str]:
    return {code: k.label for code, k in KINDS.items()}


def _problem(fichier: str, ligne: int | None, colonne: str, valeur: str, probleme: str, correction: str,
             gravite: str = ERROR) -> dict:
    return {"fichier": fichier, "ligne": ligne, "colonne": colonne, "valeur": valeur, "problème": probleme,
            "correction attendue": correction, "gravité": gravite}


# ---------------------------------------------------------------- kind detection and header mapping

def _norm(header: str) -> str:
    return clean.normalise_str(header)


def remembered_mappings(cur: duckdb.DuckDBPyConnection, kind: str) -> dict[str, str]:
    rows = cur.execute("SELECT entete, colonne FROM import_correspondance WHERE type_import = $k",
                       {"k": kind}).fetchall()
    return dict(rows)


def map_headers(kind: Kind, headers: list[str], remembered: dict[str, str] | None = None,
                override: dict[str, str] | None = None) -> dict[str, str]:
    """File header → our column. Order of precedence: the user's choice now, what they chose
    before (remembered), our exact column names, the known synonyms."""
    names = {c.name for c in kind.columns}
    synonyms = {}
    if kind is PROGRAMMATION:
        synonyms = {s: target for target, variants in PROGRAMMATION_SYNONYMS.items() for s in variants}
    out: dict[str, str] = {}
    for h in headers:
        n = _norm(h)
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
        elif re.sub(r" (?:19|20)\d\d$", "", n) in synonyms:  # « Subvention 2026 »: the exercice's column
            target = synonyms[re.sub(r" (?:19|20)\d\d$", "", n)]
        if target in names and target not in out.values():
            out[h] = target
    return out


def detect_kind(headers: list[str], remembered: dict[str, dict[str, str]] | None = None) -> str | None:
    """The kind whose columns the headers match best (required columns first)."""
    normed = [_norm(h) for h in headers]
    if headers and normed[0] == "codgeo":
        return INSEE_WIDE.code
    best, best_score = None, (0.0, 0.0)
    if set(normed) == {"code qp", "contour"}:
        return CONTOURS_QPV.code
    for kind in (OFFICIAL_QPV, *TEMPLATES, PROGRAMMATION):
        mapping = map_headers(kind, headers, (remembered or {}).get(kind.code))
        found = set(mapping.values())
        required = kind.required
        if not required or not set(required) <= found:
            if kind is not PROGRAMMATION or len(found & set(required)) < len(required) - 1:
                continue
        # first the share of the file's headers we understand, then how complete the kind is
        score = (len(found) / len(headers), len(found & set(required)) / len(required) + len(found) / len(kind.columns))
        if kind is OFFICIAL_QPV and {"code_qp", "lib_qp", "insee_com"} <= found:
            score = (10.0, 0.0)
        if score > best_score:
            best, best_score = kind.code, score
    return best


# ---------------------------------------------------------------- analysis

def analyse(cur: duckdb.DuckDBPyConnection, data: bytes, filename: str, *, kind: str | None = None,
            mapping: dict[str, str] | None = None, contrat: str | None = None, replace_scope: bool = False,
            max_bytes: int = reading.MAX_UPLOAD_BYTES, date_valeur: date | None = None,
            limits: reading.Limits | None = None) -> Analysis:
    """Everything the user must see before a commit; nothing is written to the store.

    `mapping` (file header → our column; for INSEE files: variable → indicator code, "" to
    ignore) overrides the detected/remembered one; `contrat` receives the new QPV of the
    official list; `date_valeur` dates the values of an INSEE wide file."""
    start = time.perf_counter()
    # the file's sha256 is computed on another thread meanwhile (hashlib releases the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        empreinte = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        try:
            result = _analyse(cur, data, filename, kind=kind, mapping=mapping, contrat=contrat,
                              replace_scope=replace_scope, max_bytes=max_bytes, date_valeur=date_valeur, limits=limits)
        except (OSError, duckdb.Error, MemoryError) as exc:  # the server failed, not the file
            result = _server_failure(filename, len(data), exc)
        result.empreinte = empreinte.result()
    result.seconds = time.perf_counter() - start
    return result


def _server_failure(filename: str, size: int, exc: BaseException) -> Analysis:
    """The analysis that the server could not finish (its disk full while the reading used a
    temporary file, memory, the store unreachable): a French whole-file error that says what to do,
    the detail in the server's log only (see `store.write_error`)."""
    from cdv_core import store

    cause = store.failure_cause(exc)
    store.write_error(exc)  # logs the detail
    reasons = {"disque_plein": "le disque du serveur est plein ; libérez de la place (ou demandez-le à "
                               "l'administrateur), puis déposez à nouveau le fichier",
               "connexion": "la base partagée ne répond plus ; recommencez dans un moment"}
    reason = ("la mémoire du serveur ne suffit pas ; découpez le fichier et importez les morceaux l'un après l'autre"
              if isinstance(exc, MemoryError) else
              reasons.get(cause, "erreur du serveur (le détail est dans son journal) ; recommencez, et si le problème "
                                 "persiste, prévenez l'administrateur"))
    result = Analysis(fichier=filename, empreinte="", taille=size, kind=None, kind_label="inconnu")
    result.problems = pl.DataFrame([_problem(filename, None, "", "", f"Le fichier n'a pas pu être analysé : {reason}",
                                             "Rien n'a été modifié")], schema=PROBLEM_SCHEMA)
    return result


def _analyse(cur: duckdb.DuckDBPyConnection, data: bytes, filename: str, *, kind, mapping, contrat, replace_scope,
             max_bytes, date_valeur, limits) -> Analysis:
    start = time.perf_counter()
    result = Analysis(fichier=filename, empreinte="", taille=len(data), kind=None, kind_label="inconnu")
    problems: list[pl.DataFrame] = []
    try:
        raw = reading.read_bytes(data, filename, max_bytes=max_bytes, limits=limits)
    except reading.ReadError as exc:
        # ligne None: a problem of the whole file; the message without its full stop (the
        # report adds « . Attendu : … »)
        result.problems = pl.DataFrame([_problem(filename, None, "", "", str(exc).rstrip("."),
                                                 "Un fichier CSV ou .xlsx lisible")],
                                       schema=PROBLEM_SCHEMA)
        result.seconds = time.perf_counter() - start
        return result
    result.encoding, result.separator = raw.encoding_label, raw.separator_label
    result.nb_lignes = raw.frame.height
    result.notes += raw.notes
    if raw.encoding in ("cp1252", "latin-1"):
        result.notes.append(f"Encodage détecté : {raw.encoding_label} (converti en UTF-8).")
    if raw.problems:
        problems.append(pl.DataFrame([{**p, "fichier": filename, "problème": p["probleme"],
                                       "correction attendue": p["correction"], "gravité": p["gravite"]}
                                      for p in raw.problems]).select(list(PROBLEM_SCHEMA)).cast(PROBLEM_SCHEMA)
                        .with_columns(pl.col("ligne").replace(0, None)))  # 0: the whole file
    headers = [c for c in raw.frame.columns if c != LINE]
    remembered_all = {code: remembered_mappings(cur, code) for code in ("programmation",)}
    code = kind or detect_kind(headers, remembered_all)
    if code == INSEE_WIDE.code:
        result.kind, result.kind_label = code, INSEE_WIDE.label
        if raw.frame.height == 0:
            problems.append(pl.DataFrame([_problem(filename, 1, "", "", "Le fichier ne contient que l'en-tête, aucune ligne de données",
                                                   "Au moins une ligne sous l'en-tête")], schema=PROBLEM_SCHEMA))
        else:
            _analyse_insee(cur, raw, result, problems, mapping, date_valeur)
        result.problems = (pl.concat([p.cast(PROBLEM_SCHEMA) for p in problems]) if problems else result.problems)
        result.problems = _sorted(result.problems)
        if result.errors == 0 and result.loads:
            from cdv_core.ingest.commit import diff

            result.diff, result.changes = diff(cur, result.loads, replace_scope=replace_scope)
        result.seconds = time.perf_counter() - start
        return result
    if code not in KINDS:
        result.problems = pl.DataFrame([_problem(
            filename, 1, "", " ; ".join(headers[:8]),
            "Type de fichier non reconnu : les en-têtes ne correspondent à aucun modèle",
            "Téléchargez un modèle sur cette page, ou choisissez le type de fichier et associez les colonnes")],
            schema=PROBLEM_SCHEMA)
        result.seconds = time.perf_counter() - start
        return result
    spec = KINDS[code]
    result.kind, result.kind_label = code, spec.label
    if raw.frame.height == 0:
        problems.append(pl.DataFrame([_problem(filename, 1, "", "", "Le fichier ne contient que l'en-tête, aucune ligne de données",
                                               "Au moins une ligne sous l'en-tête")], schema=PROBLEM_SCHEMA))
    col_map = map_headers(spec, headers, remembered_mappings(cur, code), mapping)
    result.mapping = col_map
    result.unmapped = [h for h in headers if h not in col_map]
    result.missing = [c for c in spec.required if c not in col_map.values()]
    if result.unmapped:
        problems.append(pl.DataFrame([_problem(filename, 1, h, h, "Colonne non reconnue, ignorée",
                                               "Un nom de colonne du modèle (voir la feuille Description)", WARNING)
                                      for h in result.unmapped], schema=PROBLEM_SCHEMA))
    if result.missing:
        problems.append(pl.DataFrame([_problem(filename, 1, c, "", "Colonne obligatoire absente",
                                               f"Une colonne « {c} » : {spec.col(c).description}")
                                      for c in result.missing], schema=PROBLEM_SCHEMA))
    frame = raw.frame.select(LINE, *[pl.col(h).alias(t) for h, t in col_map.items()])
    if result.missing or raw.frame.height == 0:
        result.problems = pl.concat(problems) if problems else result.problems
        result.seconds = time.perf_counter() - start
        return result

    typed, cell_problems = _type_cells(spec, frame, filename)
    problems += cell_problems + _example_rows(spec, frame, filename)
    builder = _BUILDERS.get(code, _build_template)
    loads, extra, notes = builder(cur, spec, typed, filename, contrat=contrat)
    problems += extra
    result.notes += notes
    _fill_not_null(cur, loads)
    for load in loads:
        if load.replace_group is None:
            load.scope_col = _default_scope(load) if load.scope_col is None else load.scope_col
    result.problems = (pl.concat([p.cast(PROBLEM_SCHEMA) for p in problems]) if problems else result.problems)
    result.problems = _sorted(result.problems)
    result.loads = loads
    if result.errors == 0:
        from cdv_core.ingest.commit import diff  # local: commit imports this module

        result.diff, result.changes = diff(cur, loads, replace_scope=replace_scope)
    result.seconds = time.perf_counter() - start
    return result


def not_null_defaults(cur: duckdb.DuckDBPyConnection, table: str) -> dict[str, object]:
    """NOT NULL columns of a store table → their schema default (`_NO_DEFAULT` when none).
    Only plain literal defaults are understood (`'hexagone'`, `false`, `1`; DuckDB 1.5 shows
    `false` as `CAST('f' AS BOOLEAN)`)."""
    rows = cur.execute("SELECT column_name, column_default FROM information_schema.columns "
                       "WHERE table_schema = 'main' AND table_name = $t AND is_nullable = 'NO'", {"t": table}).fetchall()
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
    from cdv_core import store

    for load in loads:
        if load.replace_group is not None or load.table not in store.table_names(cur):
            continue
        defaults = not_null_defaults(cur, load.table)
        holed = [c for c in load.frame.columns
                 if c in defaults and c not in load.key and load.frame[c].null_count()]
        if not holed:
            continue
        cols = [*load.key, *holed]
        if not all(re.fullmatch(r"[a-z_][a-z0-9_]*", c) for c in [load.table, *cols]):  # catalogue names only
            raise store.StoreError(f"Nom de table ou de colonne refusé pour {load.table}")
        current = cur.sql("SELECT " + ", ".join(cols) + " FROM " + load.table).pl()
        current = current.select(*[pl.col(k).cast(load.frame.schema[k]) for k in load.key],
                                 *[pl.col(c).cast(load.frame.schema[c]).alias(f"__old_{c}") for c in holed])
        frame = load.frame.join(current, on=list(load.key), how="left", maintain_order="left")
        filled = []
        for c in holed:
            parts = [pl.col(c), pl.col(f"__old_{c}")]
            if defaults[c] is not _NO_DEFAULT:
                parts.append(pl.lit(defaults[c], dtype=load.frame.schema[c]))
            filled.append(pl.coalesce(parts).alias(c))
        load.frame = frame.with_columns(filled).select(load.frame.columns)


def _sorted(problems: pl.DataFrame) -> pl.DataFrame:
    """Errors first, then by row (the whole file's problems, ligne null, first) and column."""
    return problems.sort([pl.col("gravité") != ERROR, pl.col("ligne").fill_null(0), "colonne"], nulls_last=True)


def _fr_number(expr: pl.Expr) -> pl.Expr:
    """A number as the user typed it in French: `20,5`, `2040` (not `20.5`, `2040.0`)."""
    return expr.cast(pl.String).str.replace(r"\.0$", "").str.replace(".", ",", literal=True)


# Scopes that are not simply « the same contract »: a file of values or of funding lines speaks
# for its indicators at its dates, for its actions in its years, not for their whole history.
_SCOPES = {"valeur_indicateur": ("code_indicateur", "type_territoire", "date_valeur"),
           "valeur_indicateur_detail": ("code_indicateur", "type_territoire", "date_valeur", "dimension"),
           "financement": ("code_action", "annee"),
           "bilan_action": ("code_action", "annee"),  # the file's bilans: nothing else is « absent »
           "cible_indicateur": "code_qp",      # the file's QPV, whatever their contract
           "reunion": "code_instance",         # the file's instances
           "decision": "id_reunion"}           # the file's meetings


def _default_scope(load: Load) -> str | tuple[str, ...] | None:
    if load.table in _SCOPES:
        return _SCOPES[load.table]
    if "code_contrat" in load.frame.columns and load.table != "contrat":
        return "code_contrat"
    if len(load.key) > 1:
        return load.key[0]
    return None


def _type_cells(spec: Kind, frame: pl.DataFrame, fichier: str) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Typed columns (same names) + LINE; list columns become List[String]; all cell problems."""
    # Excel's ="…" trick: only the columns that use it pay for the regex
    work = frame.with_columns(clean.unwrap(pl.col(c)) for c in frame.columns
                              if c != LINE and frame[c].str.starts_with('="').any())
    # (Polars already spreads each column's work over the cores: typing two columns at once on
    # two threads measured no faster)
    results = [_type_column(spec.col(name), work, fichier) for name in frame.columns if name != LINE]
    typed = work.select(LINE).with_columns(series for columns, _ in results for series in columns)
    problems = [p for _, found in results for p in found]
    return typed, [p for p in problems if p.height]


def _type_column(col: Col, work: pl.DataFrame, fichier: str) -> tuple[list[pl.Series], list[pl.DataFrame]]:
    """One column of `work` typed (with its extra columns, e.g. « secret »), and its problems."""
    name = col.name
    problems: list[pl.DataFrame] = []
    if col.required:
        problems.append(_flagged(work, name, work[name].is_null(), "Valeur obligatoire manquante",
                                 col.description or "Une valeur", ERROR, fichier))
    if col.type in clean.LIST_ELEMENT_TYPE:
        # multi-value cells: split and check each distinct cell once, then map back to the rows
        elem = Col("_elem", clean.LIST_ELEMENT_TYPE[col.type])
        cells = work.select(LINE, name)
        exploded = (cells.select(name).drop_nulls().unique()
                    .with_columns(pl.col(name).str.replace_all(clean.LIST_SPLIT, "\x1f").str.split("\x1f").alias("_elem"))
                    .explode("_elem").with_columns(clean.unwrap(pl.col("_elem"))).drop_nulls("_elem"))
        value, checks = clean.typed_column(elem, pl.col("_elem"))
        evaluated = exploded.with_columns(value.alias(clean.VALUE)).with_columns(
            cond.fill_null(False).alias(f"__c{i}") for i, (cond, *_) in enumerate(checks))
        for i, (_, msg, exp, sev) in enumerate(checks):
            bad = evaluated.filter(pl.col(f"__c{i}"))
            if bad.height:
                rows = cells.join(bad.select(name, "_elem"), on=name, how="inner", maintain_order="left")
                problems.append(_rows_problem(rows, fichier, name, pl.col("_elem"), msg, exp, sev))
        listed = evaluated.group_by(name).agg(pl.col(clean.VALUE).unique(maintain_order=True).alias("_list"))
        return [cells.join(listed, on=name, how="left", maintain_order="left")["_list"].alias(name)], problems
    # thousands groupings (`12.500`, `1,234.56`) are looked for only in a column that has their shape
    groups = col.type not in clean.NUMBER_TYPES or clean.has_groups(work[name])
    dot_decimals = groups and col.type in clean.NUMBER_TYPES and clean.uses_dot_decimals(work[name])
    value, checks = clean.typed_column(col, pl.col(name), groups=groups, dot_decimals=dot_decimals)
    extra = {}
    if col.type == "valeur_secret":
        marker = pl.col(name).str.to_lowercase()
        extra["secret"] = pl.when(marker.is_in(list(clean.model.SECRET_MARKERS))).then(marker)
    evaluated = _evaluate(work.select(name), name, value, checks, extra,
                          fast=clean.fast_number(col, pl.col(name), groups=groups))
    for i, (_, msg, exp, sev) in enumerate(checks):
        found = _flagged(work, name, evaluated[f"__c{i}"], msg, exp, sev, fichier)
        if msg in clean.READING_WARNINGS and found.height:  # say how the cell was read: « … : lu 12 500 »
            read = evaluated.filter(pl.col(f"__c{i}")).select(clean.french_number(pl.col(clean.VALUE)))[:, 0]
            found = found.with_columns(pl.concat_str(pl.lit(msg + " : lu "), pl.lit(read)).alias("problème"))
        problems.append(found)
    return [evaluated[clean.VALUE].alias(name), *[evaluated[k].alias(k) for k in extra]], problems


def _evaluate(src: pl.DataFrame, name: str, value: pl.Expr, checks: list, extra: dict | None = None,
              fast: pl.Expr | None = None) -> pl.DataFrame:
    """Typed value (__v) and check flags (__c0, __c1…) of one column, row-aligned with `src`.

    Columns with few distinct values (dates, codes, thèmes, SIRET…) are evaluated once per
    distinct value and joined back: the regexes and checksums then run on thousands of values,
    not on a million rows. `fast` (see `clean.fast_number`) types the plainly written cells;
    only the others go through the full `value` expression."""
    extras = [e.alias(k) for k, e in (extra or {}).items()]
    flags = [cond.fill_null(False).alias(f"__c{i}") for i, (cond, *_) in enumerate(checks)]

    def typed(frame: pl.DataFrame) -> pl.DataFrame:
        if fast is None:
            return frame.with_columns(value.alias(clean.VALUE), *extras)
        frame = frame.with_columns(fast.alias(clean.VALUE), *extras)
        slow = frame[clean.VALUE].is_null() & frame[name].is_not_null()
        if slow.any():
            rows = slow.arg_true()
            values = frame.select(pl.col(name).gather(rows)).select(value)[:, 0]
            frame = frame.with_columns(frame[clean.VALUE].cast(values.dtype).scatter(rows, values))
        return frame

    sample = src[name].head(20_000)
    if src.height > 1000 and sample.n_unique() <= sample.len() // 4:  # a sample decides
        distinct = typed(src.unique(name)).with_columns(flags)
        return src.join(distinct, on=name, how="left", nulls_equal=True, maintain_order="left")
    return typed(src).with_columns(flags)


def _flagged(src: pl.DataFrame, name: str, flag: pl.Series, msg: str, expected: str, severity: str,
             fichier: str) -> pl.DataFrame:
    if not flag.any():
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return src.filter(flag).select(
        pl.lit(fichier).alias("fichier"), pl.col(LINE).alias("ligne"), pl.lit(name).alias("colonne"),
        pl.col(name).cast(pl.String).alias("valeur"), pl.lit(msg).alias("problème"),
        pl.lit(expected).alias("correction attendue"), pl.lit(severity).alias("gravité"))


def _example_rows(spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A row identical to the template's example row, in every column the file has, was left
    there by mistake: importing it would create « CV-075-PARIS » and the like."""
    if spec not in (*TEMPLATES, PROGRAMMATION):
        return []
    cols = [c for c in spec.columns if c.example and c.name in frame.columns]
    if len(cols) < 2:
        return []
    same = pl.all_horizontal([pl.col(c.name).cast(pl.String).str.strip_chars() == c.example for c in cols])
    rows = frame.filter(same.fill_null(False))
    if rows.is_empty():
        return []
    return [_rows_problem(rows, fichier, cols[0].name, pl.col(cols[0].name), "Ligne d'exemple du modèle",
                          "Supprimez cette ligne : elle vient du modèle téléchargé, ce ne sont pas vos données")]


def _rows_problem(frame: pl.DataFrame, fichier: str, colonne: str, value: pl.Expr, msg: str, expected: str,
                  severity: str = ERROR) -> pl.DataFrame:
    """Problems for every row of `frame` (which must carry LINE)."""
    return frame.select(pl.lit(fichier).alias("fichier"), pl.col(LINE).alias("ligne"), pl.lit(colonne).alias("colonne"),
                        value.cast(pl.String).alias("valeur"), pl.lit(msg).alias("problème"),
                        pl.lit(expected).alias("correction attendue"), pl.lit(severity).alias("gravité"))


def _duplicates(typed: pl.DataFrame, key: tuple[str, ...], fichier: str) -> list[pl.DataFrame]:
    present = [k for k in key if k in typed.columns]
    if len(present) != len(key):
        return []
    dup = typed.filter(pl.struct(list(key)).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    if dup.is_empty():
        return []
    return [_rows_problem(dup, fichier, " + ".join(key), pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / "),
                          "Clé en double dans le fichier", "Une seule ligne par " + " + ".join(key))]


def _store_values(cur: duckdb.DuckDBPyConnection, table: str, column: str) -> pl.Series:
    from cdv_core import store

    assert table in store.table_names(cur)
    cols = {r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = $t",
                                      {"t": table}).fetchall()}
    assert column in cols
    return cur.sql("SELECT DISTINCT " + column + " AS v FROM " + table).pl()["v"].cast(pl.String)


def _reference_problems(cur, spec: Kind, typed: pl.DataFrame, fichier: str,
                        also_known: dict[str, pl.Series] | None = None) -> list[pl.DataFrame]:
    out = []
    for ref in spec.refs:
        if ref.column not in typed.columns:
            continue
        known = _store_values(cur, ref.table, ref.table_column)
        if also_known and ref.column in also_known:
            known = pl.concat([known, also_known[ref.column].cast(pl.String)])
        values = typed.select(LINE, pl.col(ref.column))
        if values.schema[ref.column] == pl.List(pl.String):
            values = values.explode(ref.column)
        values = values.drop_nulls(ref.column)
        bad = values.filter(~pl.col(ref.column).is_in(known.implode()))
        if bad.height:
            unknown = "inconnue" if ref.feminine else "inconnu"
            of = "d'" if ref.label[0] in "aeiouyéèêàâîô" else "de "
            out.append(_rows_problem(bad, fichier, ref.column, pl.col(ref.column), f"{ref.label.capitalize()} {unknown} dans la base",
                                     f"Un code {of}{ref.label} existant, ou importez d'abord le fichier des {ref.label}s"))
    return out


def _contract_years(cur) -> pl.DataFrame:
    return cur.sql("SELECT code_contrat, year(date_debut) AS _an_debut, year(date_fin) AS _an_fin, "
                   "date_debut AS _debut, date_fin AS _fin FROM contrat").pl()


# ---------------------------------------------------------------- builders: typed frame → loads

def _build_template(cur, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat=None):
    problems: list[pl.DataFrame] = []
    notes: list[str] = []
    frame = typed
    if spec.code == "porteurs":
        ident = [pl.col(c) for c in ("id_porteur", "siret", "rna") if c in frame.columns]
        frame = frame.with_columns(pl.coalesce(ident).alias("id_porteur"))
        missing = frame.filter(pl.col("id_porteur").is_null())
        if missing.height:
            problems.append(_rows_problem(missing, fichier, "id_porteur", pl.lit(""), "Porteur sans identifiant",
                                          "Un id_porteur, un SIRET ou un numéro RNA"))
    if spec.code == "valeurs_indicateurs":
        frame = frame.with_columns(source_fichier=pl.lit(fichier),
                                   code_territoire=territory_code(pl.col("code_territoire"), pl.col("type_territoire")))
        if "numerateur" not in frame.columns and "denominateur" not in frame.columns:
            # a value given without its parts replaces the parts of the value it replaces
            frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("numerateur"),
                                       pl.lit(None, dtype=pl.Float64).alias("denominateur"))
        problems += _territory_problems(frame.with_columns(typed["code_territoire"].alias("_brut")), fichier,
                                        "code_territoire", "_brut", "code_territoire", "type_territoire")
        frame, found = _breakdowns(frame, fichier)
        problems += found
    key = (*spec.key, "ventilation") if "ventilation" in frame.columns else spec.key
    problems += _duplicates(frame, key, fichier)
    problems += _reference_problems(cur, spec, frame, fichier)
    problems += _row_rules(cur, spec, frame, fichier)
    loads = []
    base_cols = [c.name for c in spec.columns if c.name in frame.columns and c.name not in spec.links]
    if spec.code == "porteurs" and "id_porteur" not in base_cols:
        base_cols.insert(0, "id_porteur")
    if spec.code == "valeurs_indicateurs":
        base_cols = [c for c in base_cols if c not in BREAKDOWN_COLUMNS] + ["secret", "source_fichier"]
        if "dimension" in frame.columns:
            detail = frame.filter(pl.col("dimension").is_not_null())
            loads.append(Load(DETAIL_TABLE, detail.select(*base_cols, "dimension", "modalite"), DETAIL_KEY,
                              tuple(c for c in base_cols if c not in spec.key), scope_col=_SCOPES[DETAIL_TABLE]))
            frame = frame.filter(pl.col("dimension").is_null())
            if frame.is_empty():  # a file of breakdowns only: the totals are left as they are
                return loads, problems, notes
    if spec.code == "quartiers" and "communes" in frame.columns:
        frame = frame.with_columns(pl.col("communes").list.join("; "))
    main = frame.select(base_cols)
    loads.insert(0, Load(spec.table, main, spec.key, tuple(c for c in base_cols if c not in spec.key)))
    for column, (link_table, key_col, value_col) in spec.links.items():
        if column in frame.columns:
            links = (frame.select(pl.col(spec.key[0]).alias(key_col), pl.col(column).alias(value_col))
                     .explode(value_col).drop_nulls().unique(maintain_order=True))
            loads.append(Load(link_table, links, (key_col, value_col), (), replace_group=key_col))
    return loads, problems, notes


# Breakdowns of a value (migration 0014): a row of the « valeurs d'indicateurs » template with a
# sexe or a tranche d'âge is one category of the value, stored apart from the total.
DETAIL_TABLE = "valeur_indicateur_detail"
DETAIL_KEY = ("code_indicateur", "type_territoire", "code_territoire", "date_valeur", "dimension", "modalite")
BREAKDOWN_COLUMNS = ("sexe", "tranche_age")


def _breakdowns(frame: pl.DataFrame, fichier: str) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """`dimension` and `modalite` of each row of a values file with a sexe or tranche_age column
    (null for a total), `ventilation` (the breakdown as written, "" for a total: part of the row's
    key), and the
    problems: an unreadable age band, a band whose first age is not below its last, both
    dimensions on one row (one breakdown per row)."""
    present = [c for c in BREAKDOWN_COLUMNS if c in frame.columns]
    if not present:
        return frame, []
    raw_sexe = pl.col("sexe") if "sexe" in frame.columns else pl.lit(None, dtype=pl.String)
    raw_age = pl.col("tranche_age") if "tranche_age" in frame.columns else pl.lit(None, dtype=pl.String)
    sexes = clean.choice_map(KINDS["valeurs_indicateurs"].col("sexe"))
    frame = frame.with_columns(clean.age_band(raw_age).alias("_age"),
                               clean.normalise_text(raw_sexe).replace_strict(sexes, default=None).alias("_sexe"))
    sexe = pl.col("_sexe")
    bounds = pl.col("_age").str.extract_groups(r"^(\d+) à (\d+) ans$")
    checks = [
        (raw_sexe.is_not_null() & sexe.is_null(), "sexe", raw_sexe, "Sexe non reconnu",
         "femmes ou hommes (F / H, 2 / 1 comme à l'INSEE)"),
        (raw_age.is_not_null() & pl.col("_age").is_null(), "tranche_age", raw_age,
         "Tranche d'âge non reconnue", "Ex. « moins de 26 ans », « 26 à 49 ans », « 50 ans et plus » (ou 26-49, <26, 50+)"),
        (bounds.struct.field("1").cast(pl.Int32) >= bounds.struct.field("2").cast(pl.Int32), "tranche_age", raw_age,
         "Tranche d'âge vide", "Un premier âge inférieur au dernier, ex. 26 à 49 ans"),
        (raw_sexe.is_not_null() & raw_age.is_not_null(), "tranche_age", raw_age,
         "Une ligne ventilée à la fois par sexe et par âge",
         "Une ligne par ventilation : le sexe, ou la tranche d'âge (laissez l'autre vide)"),
    ]
    problems = []
    for cond, colonne, value, msg, expected in checks:
        bad = frame.filter(cond.fill_null(False))
        if bad.height:
            problems.append(_rows_problem(bad, fichier, colonne, value, msg, expected))
    frame = frame.with_columns(
        pl.when(sexe.is_not_null()).then(pl.lit(model.DIMENSION_SEXE))
          .when(pl.col("_age").is_not_null()).then(pl.lit(model.DIMENSION_AGE)).alias("dimension"),
        pl.coalesce(sexe, pl.col("_age")).alias("modalite"))
    # the breakdown as written (an unreadable or double one is not taken for the total)
    frame = frame.with_columns(pl.concat_str(pl.coalesce(sexe, raw_sexe), pl.coalesce(pl.col("_age"), raw_age),
                                             separator=" / ", ignore_nulls=True).alias("ventilation"))
    return frame.drop("_age", "_sexe", *present), problems


SEXES_SUM_TOLERANCE = 0.5  # a count: femmes + hommes equal the total, to the unit


def _sexes_sum_problems(cur, frame: pl.DataFrame, fichier: str, *, column_of: str | None = None) -> list[pl.DataFrame]:
    """For an indicator summed over territories (a count), the femmes and hommes of a value given
    in the file with its total add up to it: a warning on the total's line when they do not (a
    secret category leaves the sum unchecked). `column_of`: the frame's column naming the file's
    column of each value (an INSEE file: its variable), else « valeur »."""
    summed = cur.sql("SELECT code_indicateur FROM indicateur WHERE agregation = 'somme'").pl()
    key = ["code_indicateur", "type_territoire", "code_territoire", "date_valeur"]
    sexes = (frame.filter(pl.col("dimension") == model.DIMENSION_SEXE)
                  .join(summed, on="code_indicateur", how="semi")
                  .group_by(key).agg(pl.col("valeur").sum().alias("_somme"), pl.len().alias("_n"),
                                     pl.col("valeur").is_null().any().alias("_secret"))
                  .filter((pl.col("_n") == len(model.SEXES)) & ~pl.col("_secret")))
    bad = (frame.filter(pl.col("dimension").is_null() & pl.col("valeur").is_not_null())
                .join(sexes, on=key, how="inner")
                .filter((pl.col("valeur") - pl.col("_somme")).abs() > SEXES_SUM_TOLERANCE))
    if bad.is_empty():
        return []
    problem = _rows_problem(bad, fichier, "valeur", _fr_number(pl.col("valeur")),
                            "Femmes et hommes ne font pas le total de cette valeur",
                            "Vérifiez les valeurs par sexe et l'ensemble (avertissement seulement)", WARNING)
    return [problem if column_of is None else problem.with_columns(bad[column_of].alias("colonne"))]


def _row_rules(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """Rules across columns of a row, and dates inside the contract's period."""
    out = []

    def flag(cond: pl.Expr, colonne: str, value: pl.Expr, msg: str, expected: str, severity: str = ERROR,
             source: pl.DataFrame | None = None):
        src = frame if source is None else source
        bad = src.filter(cond.fill_null(False))
        if bad.height:
            out.append(_rows_problem(bad, fichier, colonne, value, msg, expected, severity))

    cols = set(frame.columns)
    if {"date_debut", "date_fin"} <= cols:
        flag(pl.col("date_fin") < pl.col("date_debut"), "date_fin", pl.col("date_fin").dt.strftime("%d/%m/%Y"),
             "Date de fin antérieure à la date de début", "Une date de fin après la date de début")
    if {"annee_debut", "annee_fin"} <= cols:
        flag(pl.col("annee_fin") < pl.col("annee_debut"), "annee_fin", _fr_number(pl.col("annee_fin")),
             "Dernière année antérieure à la première", "annee_fin ≥ annee_debut")
    if {"montant_verse", "montant_accorde"} <= cols:
        flag(pl.col("montant_verse") > pl.col("montant_accorde"), "montant_verse", fmt.number_expr(pl.col("montant_verse"), 2),
             "Montant versé supérieur au montant accordé", "Vérifiez les montants (avertissement seulement)", WARNING)
    if {"nb_habitants", "nb_participants"} <= cols:
        flag(pl.col("nb_habitants") > pl.col("nb_participants"), "nb_habitants", _fr_number(pl.col("nb_habitants")),
             "Plus d'habitants que de participants", "nb_habitants ≤ nb_participants")
    if {"date_signature", "date_fin"} <= cols:
        flag(pl.col("date_signature") > pl.col("date_fin"), "date_signature", pl.col("date_signature").dt.strftime("%d/%m/%Y"),
             "Signature après la fin du contrat", "Une date de signature dans la période")
    if {"valeur_cible_intermediaire", "date_cible_intermediaire"} & cols:
        m = {c: pl.col(c) if c in cols else pl.lit(None) for c in ("valeur_cible_intermediaire", "date_cible_intermediaire",
                                                                 "date_reference", "date_cible")}
        flag(m["valeur_cible_intermediaire"].is_null() != m["date_cible_intermediaire"].is_null(),
             "date_cible_intermediaire", fmt.day_expr(m["date_cible_intermediaire"], missing="—"),
             "Cible intermédiaire sans sa date, ou date sans valeur", "Une valeur et une date, ou aucune des deux")
        flag((m["date_cible_intermediaire"] <= m["date_reference"]) | (m["date_cible_intermediaire"] >= m["date_cible"]),
             "date_cible_intermediaire", fmt.day_expr(m["date_cible_intermediaire"]),
             "Cible intermédiaire hors de la période de la cible",
             "Une date après la date de référence et avant l'échéance de la cible")
    if spec.code == "valeurs_indicateurs" and {"numerateur", "denominateur"} & cols:
        out += _parts_problems(cur, frame, fichier)
    if spec.code == "valeurs_indicateurs" and "dimension" in cols:
        out += _sexes_sum_problems(cur, frame, fichier)
    # periods of the contract (of the row, or of the row's action for financements)
    out += _period_problems(cur, spec, frame, fichier)
    out += _other_contract_problems(cur, spec, frame, fichier)
    if spec.code == "bilans":
        out += _bilan_problems(cur, frame, fichier)
    if spec.code == "porteurs":
        for column, shape, msg, expected, severity in _CONTACT_SHAPES:  # two columns
            if column in cols:
                flag(~pl.col(column).str.strip_chars().str.contains(f"^(?:{shape})$"), column, pl.col(column), msg,
                     expected, severity)
    if spec.code == "reunions":
        per = frame.join(cur.sql("SELECT i.code_instance, c.date_debut AS _debut, c.date_fin AS _fin "
                                 "FROM instance i JOIN contrat c USING (code_contrat)").pl(), on="code_instance", how="inner")
        flag((pl.col("date_reunion") < pl.col("_debut")) | (pl.col("date_reunion") > pl.col("_fin")), "date_reunion",
             pl.col("date_reunion").dt.strftime("%d/%m/%Y"), "Date hors de la période du contrat",
             "Une date entre le début et la fin du contrat", source=per)
    return out


# A porteur's contact (« porteurs » template), as the form checks it (edits.bilans.validate_contact):
# an address that is not one is an error (the reminders would bounce), a phone number that does
# not look French only a warning (abroad, an extension).
_CONTACT_SHAPES = (
    ("contact_email", model.CONTACT_EMAIL_SHAPE, "Adresse électronique mal formée",
     "Une adresse nom@domaine.fr (les relances l'utilisent)", ERROR),
    ("contact_telephone", model.CONTACT_TELEPHONE_SHAPE, "Numéro de téléphone non français ou incomplet",
     "Un numéro à 10 chiffres, ex. 01 23 45 67 89 (avertissement seulement)", WARNING),
)


def _bilan_problems(cur, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """The form's rules (edits.bilans.validate_bilan): a bilan's exercice is one of its action's
    years with an amount granted (else no bilan is owed), its date is neither in the future nor
    before the exercice (errors); a bilan received during its exercice is suspicious (warning: a
    date typed wrong, or an interim report)."""
    if not {"code_action", "annee"} <= set(frame.columns):
        return []
    years = cur.sql("SELECT code_action, annee_debut AS _debut, annee_fin AS _fin FROM action").pl()
    rows = frame.join(years, on="code_action", how="inner")  # unknown actions: their own error
    out = []
    outside = rows.filter(((pl.col("annee") < pl.col("_debut")) | (pl.col("annee") > pl.col("_fin"))).fill_null(False))
    if outside.height:
        out.append(_period_problem(outside, fichier, "annee", _fr_number(pl.col("annee")),
                                   pl.format("Exercice hors des années de l'action ({}–{})", pl.col("_debut"), pl.col("_fin")),
                                   pl.format("Une année de {} à {}", pl.col("_debut"), pl.col("_fin")), ERROR))
    granted = cur.sql("SELECT DISTINCT code_action, annee FROM financement WHERE montant_accorde > 0").pl()
    owed_nothing = rows.join(outside, on=LINE, how="anti").join(granted, on=["code_action", "annee"], how="anti")
    if owed_nothing.height:
        out.append(_rows_problem(owed_nothing, fichier, "annee", _fr_number(pl.col("annee")),
                                 "Aucun montant accordé à cette action pour cet exercice : pas de bilan attendu",
                                 "Un exercice où l'action a reçu une subvention (montant accordé)"))
    if "date_reception" in frame.columns:
        dated = frame.filter(pl.col("date_reception").is_not_null())
        for cond, msg in ((pl.col("date_reception") > pl.lit(date.today()), "Date de réception dans le futur"),
                          (pl.col("date_reception").dt.year() < pl.col("annee"),
                           "Date de réception antérieure à l'exercice")):
            bad = dated.filter(cond.fill_null(False))
            if bad.height:
                out.append(_rows_problem(bad, fichier, "date_reception", pl.col("date_reception").dt.strftime("%d/%m/%Y"),
                                         msg, "La date à laquelle le bilan est arrivé, après la fin de l'exercice"))
        early = frame.filter((pl.col("date_reception").dt.year() == pl.col("annee")).fill_null(False))
        if early.height:
            out.append(_rows_problem(early, fichier, "date_reception", pl.col("date_reception").dt.strftime("%d/%m/%Y"),
                                     "Bilan reçu avant la fin de l'exercice",
                                     "Une date après le 31 décembre de l'exercice ; vérifiez la date et l'exercice "
                                     "(avertissement seulement)", WARNING))
    return out


PARTS_TOLERANCE = 0.051  # in the indicator's unit: a value published with one decimal


def _parts_problems(cur, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A rate's numerator and denominator (`gaps.rate_scale`): both or neither, a denominator
    above 0, no parts for a suppressed value or for an indicator that is not a ratio, a % whose
    numerator does not exceed its denominator, and the value equal to numerator / denominator ×
    the unit's scale (within `PARTS_TOLERANCE`)."""
    rows = frame.with_columns(*(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("numerateur", "denominateur")
                                if c not in frame.columns))
    units = cur.sql("SELECT code_indicateur, unite AS _unite FROM indicateur").pl()
    scales = {u: gaps.rate_scale(u) for u in units["_unite"].unique().to_list()}  # a handful of units
    rows = rows.join(units, on="code_indicateur", how="left").with_columns(
        pl.col("_unite").replace_strict(scales, default=None, return_dtype=pl.Float64).alias("_echelle"))
    n, d = pl.col("numerateur"), pl.col("denominateur")
    parts = n.is_not_null() & d.is_not_null()
    computed = n / d * pl.col("_echelle")
    checks = [
        (n.is_null() != d.is_null(), "numerateur", pl.format("{} / {}", _fr_number(n).fill_null("—"), _fr_number(d).fill_null("—")),
         "Numérateur et dénominateur vont ensemble", "Les deux, ou aucun des deux"),
        (parts & (d <= 0), "denominateur", _fr_number(d), "Dénominateur nul ou négatif", "Un dénominateur supérieur à 0"),
        (parts & pl.col("valeur").is_null(), "numerateur", _fr_number(n),
         "Numérateur et dénominateur d'une valeur secrète", "Aucun des deux : ils révéleraient la valeur"),
        (parts & pl.col("_unite").is_not_null() & pl.col("_echelle").is_null(), "numerateur", pl.col("_unite"),
         "Cet indicateur n'est pas un taux : pas de numérateur ni de dénominateur",
         "Laissez-les vides (ils ne valent que pour un %, un ‰ ou un nombre pour N habitants)"),
        (parts & (pl.col("_unite") == "%") & (n > d), "numerateur", pl.format("{} / {}", _fr_number(n), _fr_number(d)),
         "Numérateur supérieur au dénominateur d'un pourcentage", "Un numérateur au plus égal au dénominateur"),
        (parts & (d > 0) & pl.col("valeur").is_not_null() & ((pl.col("valeur") - computed).abs() > PARTS_TOLERANCE),
         "valeur", _fr_number(pl.col("valeur")),
         "La valeur ne correspond pas au numérateur divisé par le dénominateur",
         pl.format("{} (numérateur / dénominateur × {})", fmt.number_expr(computed, 1), _fr_number(pl.col("_echelle")))),
    ]
    out = []
    for cond, colonne, value, msg, expected in checks:  # a handful of rules, each over all rows
        bad = rows.filter(cond.fill_null(False))
        if bad.height:
            out.append(_period_problem(bad, fichier, colonne, value, pl.lit(msg),
                                       expected if isinstance(expected, pl.Expr) else pl.lit(expected), ERROR))
    return out


# Dates of actions and financements checked against the contract's period, with a slack in
# years (before the start, after the end): a request or a decision often precedes the period
# (call for projects of year N-1), a payment, a status point or the end of an action often
# follows it (balance paid in N+1). Outside → warning (the store accepts it). Years (annee…)
# outside the period → error: the store's integrity rules refuse them anyway.
PERIOD_YEAR_COLUMNS = ("annee_debut", "annee_fin", "annee")
PERIOD_DATE_SLACK_YEARS: dict[str, tuple[int, int]] = {
    "date_debut": (0, 0), "date_fin": (0, 1), "date_statut": (0, 1), "date_decision": (1, 0),
    "date_demande": (1, 0), "date_versement": (0, 1),
}
_PERIOD_KINDS = ("actions", "programmation", "financements")


def _period_problems(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    if spec.code not in _PERIOD_KINDS:
        return []
    years = [c for c in PERIOD_YEAR_COLUMNS if c in frame.columns]
    dates = [c for c in PERIOD_DATE_SLACK_YEARS if c in frame.columns]
    if spec.code == "financements":
        if "code_action" not in frame.columns:
            return []
        periods = cur.sql("SELECT a.code_action, c.date_debut AS _debut, c.date_fin AS _fin "
                          "FROM action a JOIN contrat c USING (code_contrat)").pl()
        on = "code_action"
    else:
        if "code_contrat" not in frame.columns:
            return []
        periods = cur.sql("SELECT code_contrat, date_debut AS _debut, date_fin AS _fin FROM contrat").pl()
        on = "code_contrat"
    rows = (frame.select(LINE, pl.col(on).cast(pl.String), *years, *dates)
            .join(periods, on=on, how="inner")
            .with_columns(pl.col("_debut").dt.year().alias("_an_debut"), pl.col("_fin").dt.year().alias("_an_fin")))
    out = []
    year_period = pl.format("période du contrat : {}–{}", pl.col("_an_debut"), pl.col("_an_fin"))
    for c in years:
        bad = rows.filter(((pl.col(c) < pl.col("_an_debut")) | (pl.col(c) > pl.col("_an_fin"))).fill_null(False))
        if bad.height:
            out.append(_period_problem(bad, fichier, c, _fr_number(pl.col(c)),
                                       pl.format("Année hors de la période du contrat ({})", year_period),
                                       pl.format("Une année de {} à {}", pl.col("_an_debut"), pl.col("_an_fin")), ERROR))
    day = "%d/%m/%Y"
    date_period = pl.format("période du contrat : du {} au {}", pl.col("_debut").dt.strftime(day),
                            pl.col("_fin").dt.strftime(day))
    for c in dates:
        before, after = PERIOD_DATE_SLACK_YEARS[c]
        low = pl.col("_debut").dt.offset_by(f"-{before}y") if before else pl.col("_debut")
        high = pl.col("_fin").dt.offset_by(f"{after}y") if after else pl.col("_fin")
        plausible = pl.col(c).dt.year().is_between(1990, 2100)  # the others already have their error
        bad = rows.filter((plausible & ((pl.col(c) < low) | (pl.col(c) > high))).fill_null(False))
        if bad.height:
            slack = (f" (tolérance : {before} an avant le début)" if before else
                     f" (tolérance : {after} an après la fin)" if after else "")
            out.append(_period_problem(bad, fichier, c, pl.col(c).dt.strftime(day),
                                       pl.format("Date hors de la période du contrat ({})", date_period),
                                       pl.lit("Une date dans la période du contrat" + slack + " ; vérifiez la date "
                                              "(avertissement seulement)"), WARNING))
    return out


def _period_problem(bad: pl.DataFrame, fichier: str, colonne: str, value: pl.Expr, msg: pl.Expr, expected: pl.Expr,
                    severity: str) -> pl.DataFrame:
    return bad.select(pl.lit(fichier).alias("fichier"), pl.col(LINE).alias("ligne"), pl.lit(colonne).alias("colonne"),
                      value.cast(pl.String).alias("valeur"), msg.alias("problème"), expected.alias("correction attendue"),
                      pl.lit(severity).alias("gravité"))


# (column of the file, store table, its key, French label) of the codes that must belong to the
# row's contract
_SAME_CONTRACT = (("quartiers", "quartier", "code_qp", "le QPV"), ("code_qp", "quartier", "code_qp", "le QPV"),
                  ("objectifs", "objectif", "code_objectif", "l'objectif"))
_SAME_CONTRACT_KINDS = ("actions", "programmation", "objectifs", "instances", "projets_quartier")


def _other_contract_problems(cur, spec: Kind, frame: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A QPV (or an objective) of another contract than the row's: an error, with both contracts."""
    if spec.code not in _SAME_CONTRACT_KINDS or "code_contrat" not in frame.columns:
        return []
    out = []
    for column, table, key, label in _SAME_CONTRACT:
        if column not in frame.columns:
            continue
        values = frame.select(LINE, pl.col("code_contrat").cast(pl.String), pl.col(column).alias("_code"))
        if isinstance(values.schema["_code"], pl.List):
            values = values.explode("_code")
        owners = cur.sql("SELECT " + key + " AS _code, code_contrat AS _contrat FROM " + table).pl()
        bad = (values.drop_nulls("_code").join(owners, on="_code", how="inner")
               .filter(pl.col("_contrat") != pl.col("code_contrat")))
        if bad.height:
            out.append(_period_problem(
                bad, fichier, column, pl.col("_code"),
                pl.format(label[0].upper() + label[1:] + " {} appartient au contrat {}", pl.col("_code"), pl.col("_contrat")),
                pl.format("Un code du contrat {} (celui de la ligne)", pl.col("code_contrat")), ERROR))
    return out


# Municipal arrondissements (« Paris 18e Arrondissement », 75118) → their commune: the store
# keeps the commune's code, as the 2024 list does (insee_com 75056, 69123, 13055).
_ARRONDISSEMENTS = ((r"^751(0[1-9]|1\d|20)$", "75056", "Paris"), (r"^6938[1-9]$", "69123", "Lyon"),
                    (r"^132(0[1-9]|1[0-6])$", "13055", "Marseille"))
_NAME_SPLIT = r"\s*[;,]\s*"


def _qpv_department(code_qp: pl.Expr) -> pl.Expr:
    """The département inside a QPV 2024 code: the 3 characters after « QN », a leading 0
    dropped (QN00101M → 01, QN02A01M → 2A, QN97101M → 971)."""
    return code_qp.str.slice(2, 3).str.replace(r"^0", "")


def _qpv_department_problems(typed: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A QPV code whose département is not the row's département column: an error naming both."""
    if "insee_dep" not in typed.columns:
        return []
    inside = _qpv_department(pl.col("code_qp"))
    bad = typed.filter((pl.col("code_qp").str.contains(clean.QPV_2024) & (inside != pl.col("insee_dep"))).fill_null(False))
    if bad.is_empty():
        return []
    return [_period_problem(
        bad, fichier, "insee_dep", pl.col("insee_dep"),
        pl.format("Le code QPV {} est celui d'un quartier du département {}, la ligne indique le département {}",
                  pl.col("code_qp"), inside, pl.col("insee_dep")),
        pl.format("Le même département dans le code QPV et dans la colonne département ({} ou {} : vérifiez la "
                  "ligne dans la liste officielle)", inside, pl.col("insee_dep")), ERROR)]


def _count(n: pl.Expr, one: str, many: str) -> pl.Expr:
    """« 1 nom », « 2 noms » (`fmt.plural` per row)."""
    return pl.format("{} {}", n, pl.when(n > 1).then(pl.lit(many)).otherwise(pl.lit(one)))


def _official_communes(typed: pl.DataFrame, fichier: str) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Per row (LINE): `_com` (main commune), `communes` (every code, "; "-joined), `lib_com`
    (every name, "; "-joined in the order of the codes) and `_lib_com` (the main commune's name).

    A municipal arrondissement of Paris, Lyon or Marseille becomes its commune (one warning per
    cell naming the mapping; two arrondissements of one QPV make one commune). Names are paired
    with codes by position when the cell holds as many names as codes; otherwise the names are
    kept as written, with a warning."""
    problems: list[pl.DataFrame] = []
    split = pl.col("lib_com").str.strip_chars().str.replace_all(_NAME_SPLIT, "\x1f").str.split("\x1f")
    rows = typed.select(LINE, "insee_com", split.list.filter(pl.element() != ""))
    aligned = (pl.col("lib_com").list.len() == pl.col("insee_com").list.len()).fill_null(False)
    uneven = rows.filter(~aligned & pl.col("insee_com").is_not_null() & pl.col("lib_com").is_not_null())
    if uneven.height:
        problems.append(_period_problem(
            uneven, fichier, "lib_com", pl.col("lib_com").list.join("; "),
            pl.format("Pas autant de noms de commune que de codes commune ({}, {}) : les noms sont gardés tels quels",
                      _count(pl.col("lib_com").list.len(), "nom", "noms"),
                      _count(pl.col("insee_com").list.len(), "code", "codes")),
            pl.lit("Un nom par code commune, dans le même ordre (séparés par « ; »)"), WARNING))
    position = pl.int_range(pl.len()).over(LINE)
    codes = (rows.select(LINE, pl.col("insee_com").alias("_code")).explode("_code")
             .with_columns(position.alias("_i")))
    names = (rows.filter(aligned).select(LINE, pl.col("lib_com").alias("_nom")).explode("_nom")
             .with_columns(position.alias("_i")))
    pairs = codes.join(names, on=[LINE, "_i"], how="left", maintain_order="left")
    commune, commune_name = pl.lit(None, dtype=pl.String), pl.lit(None, dtype=pl.String)
    for pattern, code, name in reversed(_ARRONDISSEMENTS):
        hit = pl.col("_code").str.contains(pattern)
        commune = pl.when(hit).then(pl.lit(code)).otherwise(commune)
        commune_name = pl.when(hit).then(pl.lit(name)).otherwise(commune_name)
    pairs = pairs.with_columns(commune.alias("_commune"), commune_name.alias("_commune_nom"))
    mapped = pairs.filter(pl.col("_commune").is_not_null())
    if mapped.height:
        problems.append(_period_problem(
            mapped, fichier, "insee_com", pl.col("_code"),
            pl.format("Arrondissement municipal {}{} remplacé par sa commune {} ({})", pl.col("_code"),
                      pl.when(pl.col("_nom").is_not_null()).then(pl.format(" ({})", pl.col("_nom"))).otherwise(pl.lit("")),
                      pl.col("_commune"), pl.col("_commune_nom")),
            pl.lit("Rien à faire : le quartier est rattaché à la commune (Paris 75056, Lyon 69123, Marseille 13055), "
                   "comme dans la liste officielle 2024"), WARNING))
    pairs = (pairs.with_columns(pl.coalesce("_commune", "_code").alias("_code"),
                                pl.when(pl.col("_commune").is_not_null() & pl.col("_nom").is_not_null())
                                  .then(pl.col("_commune_nom")).otherwise(pl.col("_nom")).alias("_nom"))
             .unique([LINE, "_code"], keep="first", maintain_order=True))
    per_row = pairs.group_by(LINE, maintain_order=True).agg(
        pl.col("_code").drop_nulls().first().alias("_com"),
        pl.col("_code").drop_nulls().str.join("; ").alias("communes"),
        pl.col("_nom").drop_nulls().str.join("; ").alias("_noms"))
    out = (rows.select(LINE, pl.col("lib_com").list.join("; ").alias("_ecrits"), aligned.alias("_aligne"))
           .join(per_row, on=LINE, how="left", maintain_order="left")
           .select(LINE, "_com", pl.col("communes").replace("", None),
                   pl.when(pl.col("_aligne")).then(pl.col("_noms")).otherwise(pl.col("_ecrits")).replace("", None).alias("lib_com")))
    # the main commune's name: paired with its code, else the first name written
    return out.with_columns(pl.col("lib_com").str.split("; ").list.first().alias("_lib_com")), problems


def _build_official_qpv(cur, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat=None):
    """Official ANCT list → quartier rows, and the contracts they need.

    A QPV already in the store keeps its contract. A new QPV goes to `contrat` when the user
    chose one; otherwise to the store's contract signed by its EPCI (siren_signataire), else
    to a contract created for its EPCI (`CV-EPCI-<siren>`), else (no EPCI, e.g. 978/987) for
    its main commune (`CV-COM-<insee>`)."""
    problems = _duplicates(typed, spec.key, fichier)
    problems += _qpv_department_problems(typed, fichier)
    notes: list[str] = []
    communes, found = _official_communes(typed, fichier)
    problems += found
    frame = typed.drop("insee_com", "lib_com").join(communes, on=LINE, how="left", maintain_order="left")
    if "siren_epci" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("siren_epci"))
    else:
        frame = frame.with_columns(pl.col("siren_epci").list.first())
    if "lib_epci" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("lib_epci"))
    if "insee_reg" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("insee_reg"))
    existing = cur.sql("SELECT code_qp, code_contrat AS _existing FROM quartier").pl()
    signed = (cur.sql("SELECT siren_signataire AS siren_epci, min(code_contrat) AS _signed FROM contrat "
                      "WHERE siren_signataire IS NOT NULL GROUP BY 1").pl())
    frame = frame.join(existing, on="code_qp", how="left").join(signed, on="siren_epci", how="left")
    if contrat is not None:
        known = _store_values(cur, "contrat", "code_contrat")
        if contrat not in known.to_list():
            problems.append(pl.DataFrame([_problem(fichier, None, "code_contrat", contrat, "Contrat choisi inconnu",
                                                   "Un contrat existant")], schema=PROBLEM_SCHEMA))
        auto = pl.lit(contrat)
    else:
        auto = pl.coalesce(pl.col("_signed"),
                           pl.when(pl.col("siren_epci").is_not_null()).then(pl.lit("CV-EPCI-") + pl.col("siren_epci")),
                           pl.lit("CV-COM-") + pl.col("_com"))
    frame = frame.with_columns(pl.coalesce(pl.col("_existing"), auto).alias("code_contrat"))
    store_contracts = _store_values(cur, "contrat", "code_contrat")
    new_contracts = (frame.filter(~pl.col("code_contrat").is_in(store_contracts.implode()))
                     .group_by("code_contrat").agg(
                         pl.col("siren_epci").first(), pl.col("lib_epci").first(), pl.col("_lib_com").first(),
                         pl.col("insee_dep").min(), pl.col("insee_reg").first())
                     .with_columns(outre_mer=pl.col("insee_dep").str.len_chars() == 3)
                     .select(
                         "code_contrat",
                         pl.concat_str(pl.lit("Contrat de ville – "), pl.coalesce("lib_epci", "_lib_com")).alias("libelle"),
                         pl.when(pl.col("code_contrat").str.starts_with("CV-COM-")).then(pl.lit("commune"))
                           .otherwise(pl.lit("EPCI")).alias("type_signataire"),
                         pl.when(pl.col("code_contrat").str.starts_with("CV-EPCI-")).then(pl.col("siren_epci")).alias("siren_signataire"),
                         "insee_dep", "insee_reg",
                         pl.when(pl.col("outre_mer")).then(pl.lit("outre-mer")).otherwise(pl.lit("hexagone")).alias("territoire"),
                         pl.when(pl.col("outre_mer")).then(pl.lit(date(2025, 1, 1))).otherwise(pl.lit(date(2024, 1, 1))).alias("date_debut"),
                         pl.lit(date(2030, 12, 31)).alias("date_fin"))
                     .sort("code_contrat"))
    if new_contracts.height:
        created = fmt.plural(new_contracts.height, "contrat de ville créé", "contrats de ville créés")
        notes.append(f"{created} automatiquement pour accueillir les nouveaux "
                     "quartiers (un par EPCI, ou par commune sans EPCI) ; complétez-les ensuite avec le modèle « contrats ».")
    quartier = frame.select("code_qp", pl.col("lib_qp").alias("libelle"), "code_contrat", "insee_dep",
                            pl.col("_com").alias("insee_com"), "lib_com", "communes", "siren_epci")
    loads = []
    if new_contracts.height:
        loads.append(Load("contrat", new_contracts, ("code_contrat",), (), scope_col="code_contrat"))
    # scope "": the official list is national, so every QPV of the store missing from it is « absent »
    loads.append(Load("quartier", quartier, ("code_qp",),
                      ("libelle", "insee_dep", "insee_com", "lib_com", "communes", "siren_epci"), scope_col=""))
    return loads, problems, notes


def _build_programmation(cur, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat=None):
    problems: list[pl.DataFrame] = []
    notes: list[str] = []
    cols = set(typed.columns)
    f = typed
    for name, default in (("financeur", "État P147"), ("siret", None), ("rna", None), ("type_structure", None),
                          ("mode_financement", None), ("statut", None), ("montant_demande", None),
                          ("montant_verse", None), ("date_decision", None)):
        if name not in cols:
            # typed like the column would be (a String « montant_verse » made the row rules fail)
            dtype = {"montant_demande": pl.Float64, "montant_verse": pl.Float64, "date_decision": pl.Date}.get(name, pl.String)
            f = f.with_columns(pl.lit(default, dtype=typed.schema.get(name, dtype)).alias(name))
    # local porteur code (no SIRET, no RNA): computed once per distinct name of the rows that need it
    noms = (f.filter(pl.col("siret").is_null() & pl.col("rna").is_null()).select(pl.col("nom_porteur").cast(pl.String))
            .unique().drop_nulls()
            .with_columns((pl.lit("LOC-") + clean.normalise_text(pl.col("nom_porteur")).str.to_uppercase()
                           .str.replace_all(r"[^A-Z0-9]+", "-").str.slice(0, 40)).alias("_loc")))
    f = f.with_columns(
        pl.col("financeur").fill_null("État P147"),
        pl.coalesce(pl.col("siret"), pl.col("rna"),
                    pl.col("nom_porteur").replace_strict(noms["nom_porteur"], noms["_loc"], default=None,
                                                         return_dtype=pl.String)).alias("id_porteur"),
    )
    if "montant_demande" in cols:
        f = f.with_columns(pl.col("montant_demande").cast(pl.Float64))
    # the usual extract has one row per dossier: then grouping by dossier is a plain projection,
    # and neither (dossier, financeur, année) nor (dossier, quartier) can repeat
    one_row_per_dossier = f.select(pl.col("code_action").n_unique()).item() == f.height
    if not one_row_per_dossier:
        problems += _duplicates(f, ("code_action", "financeur", "annee"), fichier)
    problems += _reference_problems(cur, spec, f, fichier)
    problems += _row_rules(cur, spec, f, fichier)
    conflicting = (f.head(0).select("code_action") if one_row_per_dossier else
                   f.group_by("code_action").agg(pl.col("code_contrat").n_unique().alias("n")).filter(pl.col("n") > 1))
    if conflicting.height:
        bad = f.join(conflicting, on="code_action", how="semi")
        problems.append(_rows_problem(bad, fichier, "code_contrat", pl.col("code_contrat"),
                                      "Le même dossier est rattaché à plusieurs contrats", "Un seul contrat par dossier"))
    # porteurs
    porteur = (f.group_by("id_porteur", maintain_order=True).agg(
        pl.col("siret").drop_nulls().first(), pl.col("rna").drop_nulls().first(), pl.col("nom_porteur").first().alias("nom"),
        pl.col("type_structure").drop_nulls().first()).with_columns(pl.col("type_structure").fill_null("autre")))
    p_update = ["nom"] + [c for c in ("siret", "rna") if c in cols]
    if "type_structure" in cols and f["type_structure"].null_count() == 0:
        p_update.append("type_structure")
    elif "type_structure" not in cols:
        notes.append("Pas de colonne « type de structure » : les nouveaux porteurs sont classés « autre » "
                     "(les porteurs déjà connus gardent leur type).")
    # actions (one per dossier), years widened with what the store already has
    store_years = cur.sql("SELECT code_action, annee_debut AS _d, annee_fin AS _f FROM action").pl()
    if one_row_per_dossier:  # same columns and values as the aggregation below, without grouping
        per_dossier = f.select(
            "code_action", "code_contrat", "id_porteur", "libelle", "thematique", "mode_financement",
            pl.col("annee").alias("annee_debut"), pl.col("annee").alias("annee_fin"), "statut",
            pl.col("montant_accorde").fill_null(0).alias("_accorde"), "date_decision")
    else:
        per_dossier = f.group_by("code_action", maintain_order=True).agg(
            pl.col("code_contrat").first(), pl.col("id_porteur").first(), pl.col("libelle").first(),
            pl.col("thematique").drop_nulls().first(),
            pl.when((pl.col("mode_financement") == "CPO").any()).then(pl.lit("CPO"))
              .otherwise(pl.col("mode_financement").drop_nulls().first()).alias("mode_financement"),
            pl.col("annee").min().alias("annee_debut"), pl.col("annee").max().alias("annee_fin"),
            pl.col("statut").drop_nulls().first(), pl.col("montant_accorde").sum().alias("_accorde"),
            pl.col("date_decision").min())
    if not per_dossier["code_action"].is_in(store_years["code_action"].implode()).any():
        store_years = store_years.head(0)  # only new dossiers: the join below has nothing to add
    action = (per_dossier
        .join(store_years, on="code_action", how="left")
        .with_columns(
            pl.min_horizontal("annee_debut", "_d").alias("annee_debut"),
            pl.max_horizontal("annee_fin", "_f").alias("annee_fin"),
            pl.col("mode_financement").fill_null("AAP"),
            pl.coalesce(pl.col("statut"), pl.when(pl.col("_accorde") > 0).then(pl.lit("accordée")).otherwise(pl.lit("déposée"))).alias("statut"))
        .drop("_d", "_f", "_accorde"))
    a_update = ["code_contrat", "id_porteur", "libelle", "thematique", "annee_debut", "annee_fin"]
    a_update += [c for c in ("mode_financement", "statut", "date_decision") if c in cols]
    fin_cols = ["code_action", "financeur", "annee", "montant_accorde"] + [
        c for c in ("montant_demande", "montant_verse", "date_decision") if c in cols]
    loads = [
        Load("porteur", porteur, ("id_porteur",), tuple(p_update), scope_col="id_porteur"),
        # A Dauphin extract never deletes a dossier: a multi-year CPO may appear with only its
        # current year, and deleting a dossier deletes all its years (the actions template, one
        # row per action of its contracts, is the way to delete actions). « Supprimer les
        # absents » removes the funding lines of the file's dossiers, for the file's years, that
        # the file no longer lists; when the file names no funder (all « État P147 »), only
        # those lines are its scope.
        Load("action", action, ("code_action",), tuple(a_update), scope_col="code_action"),
        Load("financement", f.select(fin_cols), ("code_action", "financeur", "annee"),
             tuple(c for c in fin_cols if c not in ("code_action", "financeur", "annee")),
             scope_col=None if "financeur" in cols else ("code_action", "annee", "financeur")),
    ]
    if "quartiers" in cols:
        links = f.select("code_action", pl.col("quartiers").alias("code_qp")).explode("code_qp").drop_nulls()
        if not one_row_per_dossier:  # a cell's list has no repeats (see `_type_cells`)
            links = links.unique(maintain_order=True)
        loads.append(Load("action_quartier", links, ("code_action", "code_qp"), (), replace_group="code_action"))
    return loads, problems, notes


def _build_contours(cur, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat=None):
    """Contours only fill `quartier.contour` of QPV already in the store; the others are counted
    in one warning (the national file covers every QPV, a store usually a few)."""
    problems = _duplicates(typed, spec.key, fichier)
    known = _store_values(cur, "quartier", "code_qp")
    unknown = typed.filter(~pl.col("code_qp").is_in(known.implode()) & pl.col("code_qp").is_not_null())
    if unknown.height:
        problems.append(pl.DataFrame([_problem(
            fichier, None, "code_qp", f"{fmt.plural(unknown.height, 'quartier')}, ex. {unknown['code_qp'][0]}",
            "Quartiers absents de la base : leurs contours sont ignorés",
            "Importez d'abord la liste officielle des QPV si vous voulez les ajouter", WARNING)], schema=PROBLEM_SCHEMA))
    frame = typed.filter(pl.col("code_qp").is_in(known.implode())).select("code_qp", "contour")
    notes = [fmt.plural(frame.height, "contour de quartier de la base", "contours de quartiers de la base")
             + " dans ce fichier."]
    return [Load("quartier", frame, ("code_qp",), ("contour",), scope_col="code_qp")], problems, notes


FRANCE_CODES = ("FR", "FM", "FXDOM")  # France entière (« FRANCE » is stored as FR), métropole, hors Mayotte
_UU_PATTERN = r"^[0-9][0-9AB]\d{3}$"


def territory_code(code: pl.Expr, type_: pl.Expr | None = None) -> pl.Expr:
    """Canonical territory code, shared by the INSEE wide files and the « valeurs d'indicateurs »
    template: Excel's ="…" removed, upper case, no spaces, FRANCE → FR, and the leading zeros
    Excel strips restored (commune 5, département 2, unité urbaine 5; not an EPCI's SIREN, which
    always starts with 2). `type_`: the territory type when the file gives it (else a 4-digit
    code is taken for a commune)."""
    s = clean.unwrap(code).str.to_uppercase().str.replace_all(r"[\s\u00a0\u202f]", "")
    s = pl.when(s == "FRANCE").then(pl.lit("FR")).otherwise(s)
    if type_ is None:
        return pl.when(s.str.contains(r"^\d{4}$")).then(s.str.zfill(5)).otherwise(s)
    return (pl.when(type_.is_in(["commune", "unité urbaine"]) & s.str.contains(r"^\d{4}$")).then(s.str.zfill(5))
            .when((type_ == "département") & s.str.contains(r"^\d$")).then(s.str.zfill(2))
            .otherwise(s))


def _territory_type(code: pl.Expr) -> pl.Expr:
    return (pl.when(code.str.contains(clean.QPV_2024)).then(pl.lit("QPV"))
            .when(code.str.contains(clean.INSEE_COM_PATTERN)).then(pl.lit("commune"))
            .when(code.str.contains(r"^\d{9}$")).then(pl.lit("EPCI"))
            .when(code.str.contains(clean.INSEE_DEP_PATTERN)).then(pl.lit("département"))
            .when(code.str.to_uppercase().is_in(["FR", "FRANCE", "FM", "FXDOM"])).then(pl.lit("France")))


QPV_2015_MESSAGE = ("Code QPV 2015 (ancienne géographie prioritaire)",
                    "Le code QPV 2024 correspondant (QN…), voir la liste officielle de l'ANCT")


def territory_checks(code: pl.Expr, type_: pl.Expr) -> list[tuple[pl.Expr, str, str]]:
    """(condition, message, expected) of a canonical territory code of a known type (the same
    rules as the templates' code columns, see `clean.typed_column`)."""
    return [
        ((type_ == "QPV") & code.str.contains(clean.QPV_2015), *QPV_2015_MESSAGE),
        ((type_ == "QPV") & ~code.str.contains(clean.QPV_2024) & ~code.str.contains(clean.QPV_2015),
         "Code QPV mal formé", "QN + département (3 caractères) + 2 chiffres + N/M/I/C, ex. QN07511M"),
        ((type_ == "commune") & code.str.contains(r"^20\d{3}$"), "Code commune corse en 20…",
         "2A… (Corse-du-Sud) ou 2B… (Haute-Corse)"),
        ((type_ == "commune") & ~code.str.contains(clean.INSEE_COM_PATTERN) & ~code.str.contains(r"^20\d{3}$"),
         "Code commune INSEE mal formé", "5 caractères, ex. 01053, 2A004, 97411"),
        ((type_ == "EPCI") & ~code.str.contains(r"^\d{9}$"), "SIREN d'EPCI mal formé", "9 chiffres, ex. 200054781"),
        ((type_ == "EPCI") & code.str.contains(r"^\d{9}$") & ~clean.luhn_ok(code, 9),
         "SIREN d'EPCI invalide (clé de contrôle)", "Le SIREN de l'EPCI, ex. 200054781"),
        ((type_ == "département") & ~code.str.contains(clean.INSEE_DEP_PATTERN), "Code département inconnu",
         "01 à 95, 2A, 2B, 971 à 978, 986 à 988"),
        ((type_ == "unité urbaine") & ~code.str.contains(_UU_PATTERN), "Code d'unité urbaine mal formé",
         "5 caractères, ex. 00851"),
        ((type_ == "France") & ~code.is_in(list(FRANCE_CODES)), "Code France non reconnu",
         "FR (France entière), FM (métropole) ou FXDOM"),
    ]


def _territory_problems(frame: pl.DataFrame, fichier: str, colonne: str, raw: str, code: str,
                        type_: str) -> list[pl.DataFrame]:
    """Problems of the territory codes of `frame` (columns LINE, raw cell, canonical code, type);
    evaluated once per distinct (code, type)."""
    checks = territory_checks(pl.col(code), pl.col(type_))
    distinct = (frame.select(code, type_).unique().drop_nulls()
                .with_columns(cond.fill_null(False).alias(f"__t{i}") for i, (cond, *_) in enumerate(checks)))
    out = []
    for i, (_, msg, expected) in enumerate(checks):
        bad = distinct.filter(pl.col(f"__t{i}"))
        if bad.height:
            rows = frame.join(bad.select(code, type_), on=[code, type_], how="semi")
            out.append(_rows_problem(rows, fichier, colonne, pl.col(raw), msg, expected))
    return out


def _analyse_insee(cur, raw: reading.RawTable, result: Analysis, problems: list, override: dict | None,
                   date_valeur: date | None) -> None:
    """INSEE wide file: CODGEO + one column per variable → valeur_indicateur rows. Variables are
    mapped to indicator codes: the user's choice, else the remembered one, else same name."""
    fichier = result.fichier
    headers = [c for c in raw.frame.columns if c != LINE]
    geo, variables = headers[0], headers[1:]
    indicators = _store_values(cur, "indicateur", "code_indicateur").to_list()
    by_norm = {_norm(c): c for c in indicators}
    remembered = remembered_mappings(cur, INSEE_WIDE.code)
    mapping: dict[str, str] = {}
    for v in variables:  # a few dozen column names
        if override is not None and v in override:
            target = override[v] or None
        else:
            target = remembered.get(_norm(v)) or by_norm.get(_norm(v)) or _breakdown_of(v, by_norm)
        parts = split_target(target) if target else None
        if parts is not None and parts[0] in indicators:
            mapping[v] = target
    result.mapping = {geo: "code_territoire", **mapping}
    result.unmapped = [v for v in variables if v not in mapping]
    if result.unmapped:
        problems.append(pl.DataFrame([_problem(fichier, 1, v, v, "Variable non associée à un indicateur, ignorée",
                                               "Associez-la à un indicateur de la base (étape « Associer les colonnes »)",
                                               WARNING) for v in result.unmapped], schema=PROBLEM_SCHEMA))
    if date_valeur is None:
        problems.append(pl.DataFrame([_problem(fichier, None, "date_valeur", "", "Date des valeurs non indiquée",
                                               "La date à laquelle se rapportent les valeurs, ex. 01/01/2021")],
                                     schema=PROBLEM_SCHEMA))
    if not mapping:
        result.missing = ["indicateur"]
        problems.append(pl.DataFrame([_problem(fichier, 1, "", "", "Aucune variable du fichier n'est associée à un indicateur",
                                               "Associez au moins une variable à un indicateur")], schema=PROBLEM_SCHEMA))
    if date_valeur is None or not mapping:
        return
    frame = raw.frame.select(LINE, territory_code(pl.col(geo)).alias("code_territoire"), *[pl.col(v) for v in mapping])
    frame = frame.with_columns(_territory_type(pl.col("code_territoire")).alias("type_territoire"))
    bad_geo = frame.filter(pl.col("type_territoire").is_null())
    if bad_geo.height:
        old_qpv = pl.col("code_territoire").str.contains(clean.QPV_2015)
        if bad_geo.select(old_qpv.any()).item():
            problems.append(_rows_problem(bad_geo.filter(old_qpv), fichier, geo, pl.col("code_territoire"),
                                          *QPV_2015_MESSAGE))
        unknown = bad_geo.filter(~old_qpv)
        if unknown.height:
            problems.append(_rows_problem(unknown, fichier, geo, pl.col("code_territoire"),
                                          "Code territoire non reconnu (ni QPV 2024, ni commune, EPCI, département, France)",
                                          "Un code QN… (QPV 2024), un code commune, un SIREN d'EPCI ou un département"))
    problems += _territory_problems(frame.with_columns(pl.col("code_territoire").alias("_brut")), fichier, geo,
                                    "_brut", "code_territoire", "type_territoire")
    targets = pl.DataFrame([(v, *split_target(t)) for v, t in mapping.items()], orient="row",
                           schema={"_variable": pl.String, "code_indicateur": pl.String,
                                   "dimension": pl.String, "modalite": pl.String})
    long = (frame.unpivot(index=[LINE, "code_territoire", "type_territoire"], on=list(mapping),
                          variable_name="_variable", value_name="valeur")
            .join(targets, on="_variable", how="left", maintain_order="left"))
    # one convention per file: an INSEE file that writes `45.2` somewhere means 12,345 by `12.345`
    value, checks = clean.typed_column(Col("valeur", "valeur_secret"), pl.col("valeur"),
                                       dot_decimals=clean.uses_dot_decimals(long["valeur"]))
    marker = pl.col("valeur").str.to_lowercase()
    evaluated = _evaluate(long.select("valeur"), "valeur", value, checks,
                          {"secret": pl.when(marker.is_in(list(clean.model.SECRET_MARKERS))).then(marker)})
    for i, (_, msg, exp, sev) in enumerate(checks):
        flag = evaluated[f"__c{i}"]
        if flag.any():
            problems.append(_rows_problem(long.filter(flag), fichier, "", pl.col("valeur"), msg, exp, sev)
                            .with_columns(long.filter(flag)["_variable"].alias("colonne")))
    empty = long.filter(pl.col("valeur").is_null())
    if empty.height:
        problems.append(_rows_problem(empty, fichier, "", pl.lit(""), "Cellule vide",
                                      "Une valeur, ou nd / ns / s / so (secret statistique)")
                        .with_columns(empty["_variable"].alias("colonne")))
    rows = long.with_columns(evaluated[clean.VALUE].alias("valeur"), evaluated["secret"],
                             pl.lit(date_valeur).alias("date_valeur"), pl.lit(fichier).alias("source_fichier"))
    rows = rows.with_columns(pl.concat_str("dimension", "modalite", separator=" : ").fill_null("").alias("ventilation"))
    problems += _duplicates(rows, (*INSEE_WIDE.key, "ventilation"), fichier)
    problems += _sexes_sum_problems(cur, rows, fichier, column_of="_variable")
    columns = ("code_indicateur", "type_territoire", "code_territoire", "date_valeur", "valeur", "secret", "source_fichier")
    totals, detail = rows.filter(pl.col("dimension").is_null()), rows.filter(pl.col("dimension").is_not_null())
    result.loads = [Load("valeur_indicateur", totals.select(columns), INSEE_WIDE.key, ("valeur", "secret", "source_fichier"),
                         scope_col=_SCOPES["valeur_indicateur"])] if totals.height else []
    if detail.height:
        result.loads.append(Load(DETAIL_TABLE, detail.select(*columns, "dimension", "modalite"), DETAIL_KEY,
                                 ("valeur", "secret", "source_fichier"), scope_col=_SCOPES[DETAIL_TABLE]))


# An INSEE variable can be one category of an indicator: its target is then « CODE — modalité »
# (« DEFM — femmes », « DEFM — 15 à 24 ans »), found from the usual suffixes (_F / _H / _FEMMES /
# _HOMMES, an age band _15_24, _MOINS26, _50P) or chosen on the mapping step.
BREAKDOWN_SEPARATOR = " — "
_SEX_SUFFIXES = {"f": "femmes", "femmes": "femmes", "h": "hommes", "hommes": "hommes"}


def breakdown_target(code: str, modalite: str) -> str:
    return f"{code}{BREAKDOWN_SEPARATOR}{modalite}"


def split_target(target: str) -> tuple[str, str | None, str | None] | None:
    """(indicator code, dimension, modalité) of a mapping target, (code, None, None) for a total,
    None for a category that is neither a sex nor an age band."""
    code, sep, modalite = target.partition(BREAKDOWN_SEPARATOR)
    if not sep:
        return code, None, None
    if modalite in model.SEXES:
        return code, model.DIMENSION_SEXE, modalite
    band = pl.select(clean.age_band(pl.lit(modalite, dtype=pl.String))).item()
    return (code, model.DIMENSION_AGE, band) if band else None


def _breakdown_of(variable: str, by_norm: dict[str, str]) -> str | None:
    """`variable`'s target when it names an indicator of the store followed by a category suffix."""
    words = _norm(variable).split(" ")
    for cut in range(len(words) - 1, 0, -1):  # a handful of words
        base, suffix = " ".join(words[:cut]), words[cut:]
        if base not in by_norm:
            continue
        if len(suffix) == 1 and suffix[0] in _SEX_SUFFIXES:
            return breakdown_target(by_norm[base], _SEX_SUFFIXES[suffix[0]])
        band = pl.select(clean.age_band(pl.lit("_".join(suffix), dtype=pl.String))).item()
        if band:
            return breakdown_target(by_norm[base], band)
    return None


def mapping_targets(codes: tuple[str, ...], current: dict[str, str]) -> list[str]:
    """The choices of the INSEE mapping step: each indicator, its femmes and hommes, and the
    targets found in the file (an age band)."""
    out = [t for c in codes for t in (c, *(breakdown_target(c, s) for s in model.SEXES))]
    return out + sorted(set(current.values()) - set(out) - {"code_territoire"})


_BUILDERS = {"liste_qpv": _build_official_qpv, "programmation": _build_programmation, "contours_qpv": _build_contours}
