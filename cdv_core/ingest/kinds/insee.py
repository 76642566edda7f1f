"""INSEE « wide » files: CODGEO then one column per variable, each variable mapped to an
indicator (or to one category of it: « DEFM — femmes »). The columns step turns the file into
one typed row per (territory, variable); the builder makes the values and their breakdowns."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cdv_core.domain import model
from cdv_core.ingest import clean, numbers
from cdv_core.ingest.cells import evaluate
from cdv_core.ingest.clean import normalise_str
from cdv_core.ingest.detect import remembered_mappings
from cdv_core.ingest.kinds.template import DETAIL_KEY, DETAIL_TABLE
from cdv_core.ingest.model import LINE, SCOPES, WARNING, Columns, Load, RawTable, problem, problems_frame, rows_problem
from cdv_core.ingest.spec_national import INSEE_WIDE
from cdv_core.ingest.spec_types import Col, Kind
from cdv_core.ingest.territory import QPV_2015_MESSAGE, territory_code, territory_problems, territory_type
from cdv_core.ingest.validate import duplicates, store_values
from cdv_core.ingest.validate_values import sexes_sum_problems


def columns(
    cur: duckdb.DuckDBPyConnection,
    spec: Kind,
    raw: RawTable,
    fichier: str,
    *,
    mapping: dict[str, str] | None,
    date_valeur: date | None,
) -> Columns:
    """Each variable mapped to an indicator (`mapping`: the user's choice, "" to ignore; else the
    remembered one, else the same name, else an indicator's name with a category suffix), then
    one typed row per (territory, variable). No frame without the values' date or a variable
    mapped, nor for a file without rows."""
    if raw.frame.height == 0:
        return Columns(None)
    headers = [c for c in raw.frame.columns if c != LINE]
    geo, variables = headers[0], headers[1:]
    found = _variable_targets(cur, variables, mapping)
    out = Columns(None, {geo: "code_territoire", **found}, [v for v in variables if v not in found])
    if out.unmapped:
        out.problems.append(
            problems_frame(
                [
                    problem(
                        fichier,
                        1,
                        v,
                        v,
                        "Variable non associée à un indicateur, ignorée",
                        "Associez-la à un indicateur de la base (étape « Associer les colonnes »)",
                        WARNING,
                    )
                    for v in out.unmapped
                ]
            )
        )
    if date_valeur is None:
        out.problems.append(
            problems_frame(
                [
                    problem(
                        fichier,
                        None,
                        "date_valeur",
                        "",
                        "Date des valeurs non indiquée",
                        "La date à laquelle se rapportent les valeurs, ex. 01/01/2021",
                    )
                ]
            )
        )
    if not found:
        out.missing = ["indicateur"]
        out.problems.append(
            problems_frame(
                [
                    problem(
                        fichier,
                        1,
                        "",
                        "",
                        "Aucune variable du fichier n'est associée à un indicateur",
                        "Associez au moins une variable à un indicateur",
                    )
                ]
            )
        )
    if date_valeur is None or not found:
        return out
    frame = raw.frame.select(LINE, territory_code(pl.col(geo)).alias("code_territoire"), *[pl.col(v) for v in found])
    frame = frame.with_columns(territory_type(pl.col("code_territoire")).alias("type_territoire"))
    out.problems += _territory_problems(frame, fichier, geo)
    targets = pl.DataFrame(
        [(v, *parts) for v, t in found.items() if (parts := split_target(t)) is not None],
        orient="row",
        schema={"_variable": pl.String, "code_indicateur": pl.String, "dimension": pl.String, "modalite": pl.String},
    )
    long = frame.unpivot(
        index=[LINE, "code_territoire", "type_territoire"],
        on=list(found),
        variable_name="_variable",
        value_name="valeur",
    ).join(targets, on="_variable", how="left", maintain_order="left")
    values, found_problems = _typed_values(long, fichier)
    out.problems += found_problems
    rows = long.with_columns(
        values[clean.VALUE].alias("valeur"),
        values["secret"],
        pl.lit(date_valeur).alias("date_valeur"),
        pl.lit(fichier).alias("source_fichier"),
    )
    out.frame = rows.with_columns(
        pl.concat_str("dimension", "modalite", separator=" : ").fill_null("").alias("ventilation")
    )
    return out


def build(
    cur: duckdb.DuckDBPyConnection, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat: str | None = None
) -> tuple[list[Load], list[pl.DataFrame], list[str]]:
    """The typed rows of `columns` → the values (totals) and their breakdowns."""
    problems = duplicates(typed, (*spec.key, "ventilation"), fichier)
    problems += sexes_sum_problems(cur, typed, fichier, column_of="_variable")
    cols = (
        "code_indicateur",
        "type_territoire",
        "code_territoire",
        "date_valeur",
        "valeur",
        "secret",
        "source_fichier",
    )
    updated = ("valeur", "secret", "source_fichier")
    totals, detail = typed.filter(pl.col("dimension").is_null()), typed.filter(pl.col("dimension").is_not_null())
    loads = (
        [Load("valeur_indicateur", totals.select(cols), spec.key, updated, scope_col=SCOPES["valeur_indicateur"])]
        if totals.height
        else []
    )
    if detail.height:
        loads.append(
            Load(
                DETAIL_TABLE,
                detail.select(*cols, "dimension", "modalite"),
                DETAIL_KEY,
                updated,
                scope_col=SCOPES[DETAIL_TABLE],
            )
        )
    return loads, problems, []


def _variable_targets(
    cur: duckdb.DuckDBPyConnection, variables: list[str], override: dict[str, str] | None
) -> dict[str, str]:
    """Variable → mapping target (an indicator code, or « CODE — modalité ») of the store's indicators."""
    indicators = store_values(cur, "indicateur", "code_indicateur").to_list()
    by_norm = {normalise_str(c): c for c in indicators}
    remembered = remembered_mappings(cur, INSEE_WIDE.code)
    found: dict[str, str] = {}
    for v in variables:  # a few dozen column names
        if override is not None and v in override:
            target = override[v] or None
        else:
            target = remembered.get(normalise_str(v)) or by_norm.get(normalise_str(v)) or _breakdown_of(v, by_norm)
        parts = split_target(target) if target else None
        if target and parts is not None and parts[0] in indicators:
            found[v] = target
    return found


def _territory_problems(frame: pl.DataFrame, fichier: str, geo: str) -> list[pl.DataFrame]:
    """Codes of no known territory type (an old QPV code said as such), and the checks of each type."""
    problems = []
    bad_geo = frame.filter(pl.col("type_territoire").is_null())
    if bad_geo.height:
        old_qpv = pl.col("code_territoire").str.contains(clean.QPV_2015)
        if bad_geo.select(old_qpv.any()).item():
            problems.append(
                rows_problem(bad_geo.filter(old_qpv), fichier, geo, pl.col("code_territoire"), *QPV_2015_MESSAGE)
            )
        unknown = bad_geo.filter(~old_qpv)
        if unknown.height:
            problems.append(
                rows_problem(
                    unknown,
                    fichier,
                    geo,
                    pl.col("code_territoire"),
                    "Code territoire non reconnu (ni QPV 2024, ni commune, EPCI, département, France)",
                    "Un code QN… (QPV 2024), un code commune, un SIREN d'EPCI ou un département",
                )
            )
    return problems + territory_problems(
        frame.with_columns(pl.col("code_territoire").alias("_brut")),
        fichier,
        geo,
        "_brut",
        "code_territoire",
        "type_territoire",
    )


def _typed_values(long: pl.DataFrame, fichier: str) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The typed value and secret marker of each cell (row-aligned with `long`), and the problems."""
    # one convention per file: an INSEE file that writes `45.2` somewhere means 12,345 by `12.345`
    value, checks = clean.typed_column(
        Col("valeur", "valeur_secret"), pl.col("valeur"), dot_decimals=numbers.uses_dot_decimals(long["valeur"])
    )
    marker = pl.col("valeur").str.to_lowercase()
    evaluated = evaluate(
        long.select("valeur"),
        "valeur",
        value,
        checks,
        {"secret": pl.when(marker.is_in(list(model.SECRET_MARKERS))).then(marker)},
    )
    problems = []
    for i, (_, msg, exp, sev) in enumerate(checks):
        flag = evaluated[f"__c{i}"]
        if flag.any():
            problems.append(
                rows_problem(long.filter(flag), fichier, "", pl.col("valeur"), msg, exp, sev).with_columns(
                    long.filter(flag)["_variable"].alias("colonne")
                )
            )
    empty = long.filter(pl.col("valeur").is_null())
    if empty.height:
        problems.append(
            rows_problem(
                empty, fichier, "", pl.lit(""), "Cellule vide", "Une valeur, ou nd / ns / s / so (secret statistique)"
            ).with_columns(empty["_variable"].alias("colonne"))
        )
    return evaluated, problems


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
    words = normalise_str(variable).split(" ")
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
