"""Templates generated from the one column specification: CSV (`;`, UTF-8 BOM) and XLSX with an
example row and a « Description » sheet (meaning, type, required, allowed values).

The store's current data of a template kind is exported in exactly the same format
(`current_frame`, `current_csv`, `current_xlsx`): the same columns, every value written as a
user would type it (`31/03/2024`, `12500,5`, `oui`, `QN00281M; QN00282M`, `nd`), so that the
file, corrected or not, imports back through the same pipeline into the same rows."""

from __future__ import annotations

import io

import duckdb
import polars as pl

from cdv_core import tables
from cdv_core.domain import texte
from cdv_core.ingest.spec import KINDS, TEMPLATES
from cdv_core.ingest.spec_types import TYPE_LABELS, Kind
from cdv_core.perimetre import bind

DOWNLOADABLE: tuple[str, ...] = (*(k.code for k in TEMPLATES), "programmation")


def example_frame(kind: str) -> pl.DataFrame:
    """The template's header with one example row (all text, as a user would type it)."""
    spec: Kind = KINDS[kind]
    return pl.DataFrame({c.name: [c.example] for c in spec.columns}, schema={c.name: pl.String for c in spec.columns})


def description_frame(kind: str) -> pl.DataFrame:
    spec = KINDS[kind]
    return pl.DataFrame(
        {
            "colonne": [c.name for c in spec.columns],
            "signification": [c.description for c in spec.columns],
            "type": [TYPE_LABELS[c.type] for c in spec.columns],
            "obligatoire": ["oui" if c.required else "non" for c in spec.columns],
            "valeurs permises": [", ".join(c.allowed) for c in spec.columns],
            "exemple": [c.example for c in spec.columns],
        }
    )


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
    return _workbook(kind, example_frame(kind))


def _workbook(kind: str, data: pl.DataFrame) -> bytes:
    """The template's workbook with `data` (all text, the template's columns) as its first sheet."""
    import xlsxwriter  # only here: 0,2 s to import, for a download

    spec = KINDS[kind]
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as workbook:
        bold = workbook.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1})
        text = workbook.add_format({"num_format": "@"})
        for name, frame in ((spec.label[:31], data), ("Description", description_frame(kind))):
            sheet = workbook.add_worksheet(name)
            # widths from the longest cell, computed by Polars (an export has many rows)
            longest = (
                frame.select(pl.col(c).str.len_chars().max().fill_null(0) for c in frame.columns).row(0)
                if frame.height
                else (0,) * frame.width
            )
            for j, column in enumerate(frame.columns):
                width = min(60, max(12, len(column) + 2, longest[j] + 2))
                is_text = name != "Description" and spec.col(column).type in _TEXT_TYPES
                sheet.set_column(j, j, width, text if is_text else None)
                sheet.write_string(0, j, column, bold)
                for i, value in enumerate(frame[column].to_list(), start=1):
                    if value is not None:
                        sheet.write_string(i, j, value)
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(frame.height, 1), frame.width - 1)
    return buffer.getvalue()


# ---------------------------------------------------------------- the store's current data, as a template

EXPORTABLE: tuple[str, ...] = tuple(k.code for k in TEMPLATES)  # not « programmation »: a view of several kinds
# Beyond this, the CSV only: a workbook is written cell by cell (100 000 rows of actions: ~10 s,
# ~0,5 Go of memory), and a national table would not fit an Excel sheet (1 048 575 rows)
XLSX_MAX_ROWS = 100_000

# Each table's rows with the contract they belong to (`c`): the scope of an export is a contract
# or the reader's périmètre (see `cdv_core.perimetre`). LEFT JOINs: with no restriction, a row
# whose parent is missing is exported too.
_FROM: dict[str, tuple[str, str]] = {
    "contrat": ("contrat t", "t.code_contrat"),
    "quartier": ("quartier t", "t.code_contrat"),
    "projet_quartier": ("projet_quartier t", "t.code_contrat"),
    "objectif": ("objectif t", "t.code_contrat"),
    "action": ("action t", "t.code_contrat"),
    "instance": ("instance t", "t.code_contrat"),
    "jalon": ("jalon t", "t.code_contrat"),
    "financement": ("financement t LEFT JOIN action a ON a.code_action = t.code_action", "a.code_contrat"),
    "bilan_action": ("bilan_action t LEFT JOIN action a ON a.code_action = t.code_action", "a.code_contrat"),
    "cible_indicateur": ("cible_indicateur t LEFT JOIN quartier q ON q.code_qp = t.code_qp", "q.code_contrat"),
    "reunion": ("reunion t LEFT JOIN instance i ON i.code_instance = t.code_instance", "i.code_contrat"),
    "decision": (
        "decision t LEFT JOIN reunion r ON r.id_reunion = t.id_reunion "
        "LEFT JOIN instance i ON i.code_instance = r.code_instance",
        "i.code_contrat",
    ),
    # an actor or a post without a contract (a porteur's typologies, a national post) is exported
    # only with no restriction: it belongs to no contract (and only an administrator writes it)
    "acteur": ("acteur t", "t.code_contrat"),
    "poste": ("poste t", "t.code_contrat"),
    "financement_poste": ("financement_poste t LEFT JOIN poste p ON p.id_poste = t.id_poste", "p.code_contrat"),
}
_IN_SCOPE = "(($contrat IS NULL OR {c} = $contrat) AND ($perimetre IS NULL OR list_contains($perimetre, {c})))"
_EVERYTHING = "($contrat IS NULL AND $perimetre IS NULL)"
# Porteurs belong to no contract: those carrying an action of the scope. Indicators are the
# shared catalogue: all of them. Values: the scope's QPV, and the reference territories its
# pages compare them with (the QPV's communes, EPCI and département, the signatory, France).
_PORTEURS = (
    "porteur t",
    _EVERYTHING
    + " OR t.id_porteur IN (SELECT a.id_porteur FROM action a WHERE "
    + _IN_SCOPE.format(c="a.code_contrat")
    + ")",
)
# A value's breakdowns (migration 0014) are lines of the same template, with their sexe or tranche_age.
_VALEURS_ET_VENTILATIONS = """(
    SELECT *, NULL::VARCHAR AS sexe, NULL::VARCHAR AS tranche_age FROM valeur_indicateur
    UNION ALL BY NAME
    SELECT * EXCLUDE (dimension, modalite),
           CASE WHEN dimension = 'sexe' THEN modalite END AS sexe,
           CASE WHEN dimension = 'âge' THEN modalite END AS tranche_age
    FROM valeur_indicateur_detail) t"""
_VALEURS = (
    _VALEURS_ET_VENTILATIONS,
    _EVERYTHING
    + """ OR (
    (t.type_territoire = 'France' AND EXISTS (SELECT 1 FROM _c))
    OR (t.type_territoire = 'QPV' AND t.code_territoire IN (SELECT code_qp FROM _q))
    OR (t.type_territoire = 'commune' AND t.code_territoire IN (
        SELECT insee_com FROM _q UNION ALL SELECT unnest(regexp_split_to_array(communes, '[;,]\\s*')) FROM _q))
    OR (t.type_territoire = 'EPCI' AND t.code_territoire IN (
        SELECT siren_epci FROM _q UNION ALL SELECT siren_signataire FROM _c))
    OR (t.type_territoire = 'département' AND t.code_territoire IN (
        SELECT insee_dep FROM _q UNION ALL SELECT insee_dep FROM _c)))""",
)
_SCOPED_QPV = (
    "_q AS (SELECT * FROM quartier q WHERE " + _IN_SCOPE.format(c="q.code_contrat") + "), "
    "_c AS (SELECT * FROM contrat k WHERE " + _IN_SCOPE.format(c="k.code_contrat") + "), "
)


def current_frame(
    cur: duckdb.DuckDBPyConnection, *, kind: str, contrat: str | None = None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The store's rows of template `kind` in the template's columns, all text as a user would type
    them (see `_as_typed`), ordered by the template's key. `contrat` None: every contract of the
    `perimetre` (None: everything). The multi-value columns (`Kind.links`) list their values
    `; `-separated, as the importer splits them."""
    ctes = _rows_sql(kind)
    spec = KINDS[kind]
    columns, joins = ["_rows.*"], ""
    for column, (link_table, key_col, value_col) in spec.links.items():
        # the links of the exported rows only (one contract's actions: not the whole table's)
        alias = f"_l_{column}"
        ctes += (
            f", {alias} AS (SELECT l.{key_col}, string_agg(l.{value_col}, '; ' ORDER BY l.{value_col}) AS {column} "
            f"FROM {link_table} l SEMI JOIN _rows ON l.{key_col} = _rows.{spec.key[0]} GROUP BY l.{key_col})"
        )
        joins += f" LEFT JOIN {alias} ON {alias}.{key_col} = _rows.{spec.key[0]}"
        columns.append(f"{alias}.{column}")
    order = ", ".join(f"_rows.{k}" for k in spec.key)
    if spec.table == "valeur_indicateur":  # the total, then its breakdowns by sexe, then by âge
        order += (
            ", _rows.sexe IS NOT NULL OR _rows.tranche_age IS NOT NULL, _rows.tranche_age IS NOT NULL, "
            "_rows.sexe, _rows.tranche_age"
        )
    sql = f"WITH {ctes} SELECT {', '.join(columns)} FROM _rows{joins} ORDER BY {order}"
    return _as_typed(spec, cur.execute(sql, parameters=_params(sql, contrat, perimetre)).pl())


def current_rows(
    cur: duckdb.DuckDBPyConnection, *, kind: str, contrat: str | None = None, perimetre: tuple[str, ...] | None = None
) -> int:
    """How many rows `current_frame` has (a count, nothing formatted)."""
    sql = f"WITH {_rows_sql(kind)} SELECT count(*) FROM _rows"
    return int(cur.execute(sql, _params(sql, contrat, perimetre)).fetchall()[0][0])


def _rows_sql(kind: str) -> str:
    """The CTEs ending with `_rows`: the kind's rows in scope, its columns but the multi-value ones."""
    if kind not in EXPORTABLE:
        raise ValueError(f"Pas d'export des données actuelles pour {kind}")
    spec = KINDS[kind]
    select = [f"t.{c.name}" for c in spec.columns if c.name not in spec.links]
    ctes = ""
    if spec.table == "porteur":
        source, where = _PORTEURS
    elif spec.table == "indicateur":
        source, where = "indicateur t", "true"
    elif spec.table == "valeur_indicateur":
        (source, where), ctes = _VALEURS, _SCOPED_QPV
        select.append("t.secret")
    else:
        source, contract = _FROM[spec.table]
        where = _IN_SCOPE.format(c=contract)
    return ctes + f"_rows AS (SELECT {', '.join(select)} FROM {source} WHERE {where})"


def _params(sql: str, contrat: str | None, perimetre: tuple[str, ...] | None) -> dict:
    """The parameters `sql` uses (DuckDB refuses unused ones)."""
    params = {"contrat": contrat, "perimetre": bind(perimetre)}
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _as_typed(spec: Kind, frame: pl.DataFrame) -> pl.DataFrame:
    """Store values → the text the importer reads back as the same values: dates `JJ/MM/AAAA`,
    numbers with a decimal comma and no grouping (`12500,5`, `0,4`: a share as the 0–1 number it
    is stored as), `oui`/`non`, a suppressed value as its secret marker (`nd`, `s`…)."""
    out = []
    for col in spec.columns:
        x = pl.col(col.name)
        dtype = frame.schema[col.name]
        if col.type == "date":
            x = x.dt.strftime("%d/%m/%Y")
        elif col.type == "booleen":
            x = x.replace_strict({True: "oui", False: "non"}, default=None, return_dtype=pl.String)
        elif dtype.is_numeric():
            # full precision, shortest form (`0.8102950709393675`, `12.0` → `12`, `6180.00` → `6180`)
            x = x.cast(pl.String).str.replace(r"\.0+$", "").str.replace(".", ",", literal=True)
            if col.type == "valeur_secret":
                x = pl.coalesce(pl.col("secret"), x)
        else:
            x = x.cast(pl.String)
        out.append(x.alias(col.name))
    return frame.select(out)


def _protected(frame: pl.DataFrame) -> pl.DataFrame:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (the store refuses
    such text, so this only guards a store written by other means). Unlike
    `tables.neutralise_formulas`, a signed number (`-61,5`) is left as it is: it imports back."""
    return frame.with_columns(
        pl.when(texte.formula_expr(pl.col(c))).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in frame.columns
    )


def current_csv(
    cur: duckdb.DuckDBPyConnection, *, kind: str, contrat: str | None = None, perimetre: tuple[str, ...] | None = None
) -> bytes:
    """`current_frame` as the template's CSV (`;`, UTF-8 with BOM)."""
    buffer = io.BytesIO()
    _protected(current_frame(cur, kind=kind, contrat=contrat, perimetre=perimetre)).write_csv(
        buffer, separator=";", include_bom=True
    )
    return buffer.getvalue()


def current_xlsx(
    cur: duckdb.DuckDBPyConnection, *, kind: str, contrat: str | None = None, perimetre: tuple[str, ...] | None = None
) -> bytes:
    """`current_frame` as the template's workbook (every cell text, identifiers formatted
    « Texte », the « Description » sheet). ValueError beyond `XLSX_MAX_ROWS` rows (never a part
    of the rows: re-imported with « Supprimer les absents », it would delete the others)."""
    frame = current_frame(cur, kind=kind, contrat=contrat, perimetre=perimetre)
    if frame.height > XLSX_MAX_ROWS:
        raise ValueError(f"{frame.height} lignes : au-delà de {XLSX_MAX_ROWS} lignes, le CSV seulement")
    return _workbook(kind, _protected(frame))
