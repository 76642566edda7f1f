"""The generic kind (our templates): one row per record, our columns. Its columns step maps the
file's headers and types every cell; its builder checks the rows and makes the loads (the kind's
table, its link tables, the breakdowns of a value)."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cdv_core.domain import model
from cdv_core.ingest import clean
from cdv_core.ingest.cells import type_cells
from cdv_core.ingest.detect import map_headers, remembered_mappings
from cdv_core.ingest.model import LINE, SCOPES, WARNING, Columns, Load, RawTable, problem, problems_frame, rows_problem
from cdv_core.ingest.spec import KINDS
from cdv_core.ingest.spec_types import Kind
from cdv_core.ingest.territory import territory_code, territory_problems
from cdv_core.ingest.validate import duplicates, example_rows, reference_problems, row_rules


def columns(
    cur: duckdb.DuckDBPyConnection,
    spec: Kind,
    raw: RawTable,
    fichier: str,
    *,
    mapping: dict[str, str] | None,
    date_valeur: date | None = None,
) -> Columns:
    """The file's headers mapped onto the kind's columns (`mapping`: the user's choice, else what
    was remembered, else names and synonyms), then every cell typed. No frame when a required
    column is missing or the file has no row."""
    headers = [c for c in raw.frame.columns if c != LINE]
    found = map_headers(spec, headers, remembered_mappings(cur, spec.code), mapping)
    out = Columns(
        None, found, [h for h in headers if h not in found], [c for c in spec.required if c not in found.values()]
    )
    if out.unmapped:
        out.problems.append(
            problems_frame(
                [
                    problem(
                        fichier,
                        1,
                        h,
                        h,
                        "Colonne non reconnue, ignorée",
                        "Un nom de colonne du modèle (voir la feuille Description)",
                        WARNING,
                    )
                    for h in out.unmapped
                ]
            )
        )
    if out.missing:
        out.problems.append(
            problems_frame(
                [
                    problem(
                        fichier,
                        1,
                        c,
                        "",
                        "Colonne obligatoire absente",
                        f"Une colonne « {c} » : {spec.col(c).description}",
                    )
                    for c in out.missing
                ]
            )
        )
    if out.missing or raw.frame.height == 0:
        return out
    frame = raw.frame.select(LINE, *[pl.col(h).alias(t) for h, t in found.items()])
    out.frame, cell_problems = type_cells(spec, frame, fichier)
    out.problems += cell_problems + example_rows(spec, frame, fichier)
    return out


def build(
    cur: duckdb.DuckDBPyConnection, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat: str | None = None
) -> tuple[list[Load], list[pl.DataFrame], list[str]]:
    problems: list[pl.DataFrame] = []
    notes: list[str] = []
    frame = typed
    if spec.code == "porteurs":
        ident = [pl.col(c) for c in ("id_porteur", "siret", "rna") if c in frame.columns]
        frame = frame.with_columns(pl.coalesce(ident).alias("id_porteur"))
        missing = frame.filter(pl.col("id_porteur").is_null())
        if missing.height:
            problems.append(
                rows_problem(
                    missing,
                    fichier,
                    "id_porteur",
                    pl.lit(""),
                    "Porteur sans identifiant",
                    "Un id_porteur, un SIRET ou un numéro RNA",
                )
            )
    if spec.code == "valeurs_indicateurs":
        frame = frame.with_columns(
            source_fichier=pl.lit(fichier),
            code_territoire=territory_code(pl.col("code_territoire"), pl.col("type_territoire")),
        )
        if "numerateur" not in frame.columns and "denominateur" not in frame.columns:
            # a value given without its parts replaces the parts of the value it replaces
            frame = frame.with_columns(
                pl.lit(None, dtype=pl.Float64).alias("numerateur"), pl.lit(None, dtype=pl.Float64).alias("denominateur")
            )
        problems += territory_problems(
            frame.with_columns(typed["code_territoire"].alias("_brut")),
            fichier,
            "code_territoire",
            "_brut",
            "code_territoire",
            "type_territoire",
        )
        frame, found = _breakdowns(frame, fichier)
        problems += found
    key = (*spec.key, "ventilation") if "ventilation" in frame.columns else spec.key
    problems += duplicates(frame, key, fichier)
    problems += reference_problems(cur, spec, frame, fichier)
    problems += row_rules(cur, spec, frame, fichier)
    loads = []
    base_cols = [c.name for c in spec.columns if c.name in frame.columns and c.name not in spec.links]
    if spec.code == "porteurs" and "id_porteur" not in base_cols:
        base_cols.insert(0, "id_porteur")
    if spec.code == "valeurs_indicateurs":
        base_cols = [c for c in base_cols if c not in BREAKDOWN_COLUMNS] + ["secret", "source_fichier"]
        if "dimension" in frame.columns:
            detail = frame.filter(pl.col("dimension").is_not_null())
            loads.append(
                Load(
                    DETAIL_TABLE,
                    detail.select(*base_cols, "dimension", "modalite"),
                    DETAIL_KEY,
                    tuple(c for c in base_cols if c not in spec.key),
                    scope_col=SCOPES[DETAIL_TABLE],
                )
            )
            frame = frame.filter(pl.col("dimension").is_null())
            if frame.is_empty():  # a file of breakdowns only: the totals are left as they are
                return loads, problems, notes
    if spec.code == "quartiers" and "communes" in frame.columns:
        frame = frame.with_columns(pl.col("communes").list.join("; "))
    main = frame.select(base_cols)
    loads.insert(0, Load(spec.table, main, spec.key, tuple(c for c in base_cols if c not in spec.key)))
    for column, (link_table, key_col, value_col) in spec.links.items():
        if column in frame.columns:
            links = (
                frame.select(pl.col(spec.key[0]).alias(key_col), pl.col(column).alias(value_col))
                .explode(value_col)
                .drop_nulls()
                .unique(maintain_order=True)
            )
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
    frame = frame.with_columns(
        clean.age_band(raw_age).alias("_age"),
        clean.normalise_text(raw_sexe).replace_strict(sexes, default=None).alias("_sexe"),
    )
    sexe = pl.col("_sexe")
    bounds = pl.col("_age").str.extract_groups(r"^(\d+) à (\d+) ans$")
    checks = [
        (
            raw_sexe.is_not_null() & sexe.is_null(),
            "sexe",
            raw_sexe,
            "Sexe non reconnu",
            "femmes ou hommes (F / H, 2 / 1 comme à l'INSEE)",
        ),
        (
            raw_age.is_not_null() & pl.col("_age").is_null(),
            "tranche_age",
            raw_age,
            "Tranche d'âge non reconnue",
            "Ex. « moins de 26 ans », « 26 à 49 ans », « 50 ans et plus » (ou 26-49, <26, 50+)",
        ),
        (
            bounds.struct.field("1").cast(pl.Int32) >= bounds.struct.field("2").cast(pl.Int32),
            "tranche_age",
            raw_age,
            "Tranche d'âge vide",
            "Un premier âge inférieur au dernier, ex. 26 à 49 ans",
        ),
        (
            raw_sexe.is_not_null() & raw_age.is_not_null(),
            "tranche_age",
            raw_age,
            "Une ligne ventilée à la fois par sexe et par âge",
            "Une ligne par ventilation : le sexe, ou la tranche d'âge (laissez l'autre vide)",
        ),
    ]
    problems = []
    for cond, colonne, value, msg, expected in checks:
        bad = frame.filter(cond.fill_null(False))
        if bad.height:
            problems.append(rows_problem(bad, fichier, colonne, value, msg, expected))
    frame = frame.with_columns(
        pl.when(sexe.is_not_null())
        .then(pl.lit(model.DIMENSION_SEXE))
        .when(pl.col("_age").is_not_null())
        .then(pl.lit(model.DIMENSION_AGE))
        .alias("dimension"),
        pl.coalesce(sexe, pl.col("_age")).alias("modalite"),
    )
    # the breakdown as written (an unreadable or double one is not taken for the total)
    frame = frame.with_columns(
        pl.concat_str(
            pl.coalesce(sexe, raw_sexe), pl.coalesce(pl.col("_age"), raw_age), separator=" / ", ignore_nulls=True
        ).alias("ventilation")
    )
    return frame.drop("_age", "_sexe", *present), problems
