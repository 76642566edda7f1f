"""Typing every cell of a file: each column through `clean.typed_column` (list columns cell by
distinct cell), and the problems of the cells that do not read as their column's type."""

from __future__ import annotations

import polars as pl

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.ingest import clean, numbers
from cdv_core.ingest.model import ERROR, LINE, PROBLEM_SCHEMA, rows_problem
from cdv_core.ingest.spec_types import Col, Kind


def type_cells(spec: Kind, frame: pl.DataFrame, fichier: str) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Typed columns (same names) + LINE; list columns become List[String]; all cell problems."""
    # Excel's ="…" trick: only the columns that use it pay for the regex
    work = frame.with_columns(
        clean.unwrap(pl.col(c)) for c in frame.columns if c != LINE and frame[c].str.starts_with('="').any()
    )
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
        problems.append(
            _flagged(
                work,
                name,
                work[name].is_null(),
                "Valeur obligatoire manquante",
                col.description or "Une valeur",
                ERROR,
                fichier,
            )
        )
    if col.type in clean.LIST_ELEMENT_TYPE:
        # multi-value cells: split and check each distinct cell once, then map back to the rows
        elem = (
            Col("_elem", "choix", allowed=col.allowed)
            if col.allowed  # each value of a list of choices
            else Col("_elem", clean.LIST_ELEMENT_TYPE[col.type])
        )
        cells = work.select(LINE, name)
        exploded = (
            cells.select(name)
            .drop_nulls()
            .unique()
            .with_columns(pl.col(name).str.replace_all(clean.LIST_SPLIT, "\x1f").str.split("\x1f").alias("_elem"))
            .explode("_elem")
            .with_columns(clean.unwrap(pl.col("_elem")))
            .drop_nulls("_elem")
        )
        value, checks = clean.typed_column(elem, pl.col("_elem"))
        evaluated = exploded.with_columns(value.alias(clean.VALUE)).with_columns(
            cond.fill_null(False).alias(f"__c{i}") for i, (cond, *_) in enumerate(checks)
        )
        for i, (_, msg, exp, sev) in enumerate(checks):
            bad = evaluated.filter(pl.col(f"__c{i}"))
            if bad.height:
                rows = cells.join(bad.select(name, "_elem"), on=name, how="inner", maintain_order="left")
                problems.append(rows_problem(rows, fichier, name, pl.col("_elem"), msg, exp, sev))
        listed = evaluated.group_by(name).agg(pl.col(clean.VALUE).unique(maintain_order=True).alias("_list"))
        return [cells.join(listed, on=name, how="left", maintain_order="left")["_list"].alias(name)], problems
    # thousands groupings (`12.500`, `1,234.56`) are looked for only in a column that has their shape
    groups = col.type not in numbers.NUMBER_TYPES or numbers.has_groups(work[name])
    dot_decimals = groups and col.type in numbers.NUMBER_TYPES and numbers.uses_dot_decimals(work[name])
    value, checks = clean.typed_column(col, pl.col(name), groups=groups, dot_decimals=dot_decimals)
    extra = {}
    if col.type == "valeur_secret":
        marker = pl.col(name).str.to_lowercase()
        extra["secret"] = pl.when(marker.is_in(list(model.SECRET_MARKERS))).then(marker)
    evaluated = evaluate(
        work.select(name), name, value, checks, extra, fast=numbers.fast_number(col, pl.col(name), groups=groups)
    )
    for i, (_, msg, exp, sev) in enumerate(checks):
        found = _flagged(work, name, evaluated[f"__c{i}"], msg, exp, sev, fichier)
        if msg in numbers.READING_WARNINGS and found.height:  # say how the cell was read: « … : lu 12 500 »
            read = evaluated.filter(pl.col(f"__c{i}")).select(_as_read(pl.col(clean.VALUE)))[:, 0]
            found = found.with_columns(pl.concat_str(pl.lit(msg + " : lu "), pl.lit(read)).alias("problème"))
        problems.append(found)
    return [evaluated[clean.VALUE].alias(name), *[evaluated[k].alias(k) for k in extra]], problems


def evaluate(
    src: pl.DataFrame, name: str, value: pl.Expr, checks: list, extra: dict | None = None, fast: pl.Expr | None = None
) -> pl.DataFrame:
    """Typed value (__v) and check flags (__c0, __c1…) of one column, row-aligned with `src`.

    Columns with few distinct values (dates, codes, thèmes, SIRET…) are evaluated once per
    distinct value and joined back: the regexes and checksums then run on thousands of values,
    not on a million rows. `fast` (see `numbers.fast_number`) types the plainly written cells;
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


def _flagged(
    src: pl.DataFrame, name: str, flag: pl.Series, msg: str, expected: str, severity: str, fichier: str
) -> pl.DataFrame:
    if not flag.any():
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return src.filter(flag).select(
        pl.lit(fichier).alias("fichier"),
        pl.col(LINE).alias("ligne"),
        pl.lit(name).alias("colonne"),
        pl.col(name).cast(pl.String).alias("valeur"),
        pl.lit(msg).alias("problème"),
        pl.lit(expected).alias("correction attendue"),
        pl.lit(severity).alias("gravité"),
    )


def _as_read(value: pl.Expr) -> pl.Expr:
    """How a number was read, for the report: `12 500`, `1 234,56` (cents only when there are some)."""
    cents = (value.cast(pl.Float64).abs() * 100).round(0) % 100 != 0
    return pl.when(cents).then(fmt.number_expr(value, 2)).otherwise(fmt.number_expr(value))
