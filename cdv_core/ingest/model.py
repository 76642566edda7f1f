"""What the stages of an import pass on: the file as read (`RawTable`, or `ReadError`), the rows
to write (`Load`), the analysis shown before a commit (`Analysis`), and the problems table (one
row per problem found)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import duckdb
import polars as pl

from cdv_core import settings
from cdv_core.ingest.spec_types import Kind

LINE = "_ligne"  # spreadsheet row number (header = 1): what the user sees in Excel
MAX_UPLOAD_BYTES = 200 * 1024 * 1024

ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 avec BOM",
    "utf-8": "UTF-8",
    "utf-16": "UTF-16 (texte Unicode)",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "xlsx": "classeur Excel (.xlsx)",
    "geojson": "GeoJSON (UTF-8)",
}
SEPARATOR_LABELS = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}


class ReadError(Exception):
    """The file cannot be read at all; the message is French and says what to do."""


@dataclass
class RawTable:
    frame: pl.DataFrame  # all columns String, plus LINE (Int64)
    encoding: str  # key of ENCODING_LABELS
    separator: str | None  # None for .xlsx
    problems: list[dict] = field(default_factory=list)  # structural problems (see report columns)
    notes: list[str] = field(default_factory=list)

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    @property
    def separator_label(self) -> str:
        return SEPARATOR_LABELS.get(self.separator or "", "sans objet")


@dataclass(frozen=True)
class Limits:
    """Bounds decided before a file is parsed: its size, its columns, its cells (rows × columns).
    Settings CDV_MAX_UPLOAD_MB (the page), CDV_MAX_COLONNES, CDV_MAX_CELLULES."""

    max_bytes: int = MAX_UPLOAD_BYTES
    max_columns: int = 500
    max_cells: int = 20_000_000

    @classmethod
    def from_settings(cls, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Limits:
        cfg = settings.load()
        return cls(max_bytes, cfg.max_columns, cfg.max_cells)


ERROR, WARNING = "erreur", "avertissement"
PROBLEM_SCHEMA = pl.Schema(
    {
        "fichier": pl.String,
        "ligne": pl.Int64,
        "colonne": pl.String,
        "valeur": pl.String,
        "problème": pl.String,
        "correction attendue": pl.String,
        "gravité": pl.String,
    }
)


def problem(
    fichier: str, ligne: int | None, colonne: str, valeur: str, probleme: str, correction: str, gravite: str = ERROR
) -> dict:
    """One row of the problems table (`ligne` None: a problem of the whole file)."""
    return {
        "fichier": fichier,
        "ligne": ligne,
        "colonne": colonne,
        "valeur": valeur,
        "problème": probleme,
        "correction attendue": correction,
        "gravité": gravite,
    }


def problems_frame(rows: list[dict]) -> pl.DataFrame:
    """The problems table of rows built by `problem`."""
    return pl.DataFrame(rows, schema=PROBLEM_SCHEMA)


def rows_problem(
    frame: pl.DataFrame,
    fichier: str,
    colonne: str,
    value: pl.Expr,
    msg: str | pl.Expr,
    expected: str | pl.Expr,
    severity: str = ERROR,
) -> pl.DataFrame:
    """One problem for every row of `frame` (which must carry LINE); `msg` and `expected` may be
    expressions over its columns."""
    return frame.select(
        pl.lit(fichier).alias("fichier"),
        pl.col(LINE).alias("ligne"),
        pl.lit(colonne).alias("colonne"),
        value.cast(pl.String).alias("valeur"),
        (pl.lit(msg) if isinstance(msg, str) else msg).alias("problème"),
        (pl.lit(expected) if isinstance(expected, str) else expected).alias("correction attendue"),
        pl.lit(severity).alias("gravité"),
    )


@dataclass
class Load:
    """Rows for one store table: inserted when new, updated (only `update_cols`) when changed."""

    table: str
    frame: pl.DataFrame
    key: tuple[str, ...]
    update_cols: tuple[str, ...]
    replace_group: str | None = None  # link tables: the file gives the whole set for each group
    scope_col: str | tuple[str, ...] | None = None  # « absent » rows: among store rows sharing these
    # columns' values with a row of the file ("" = the whole table,
    # None = default, see `default_scope`)


# Scopes that are not simply « the same contract »: a file of values or of funding lines speaks
# for its indicators at its dates, for its actions in its years, not for their whole history.
SCOPES: dict[str, str | tuple[str, ...]] = {
    "valeur_indicateur": ("code_indicateur", "type_territoire", "date_valeur"),
    "valeur_indicateur_detail": ("code_indicateur", "type_territoire", "date_valeur", "dimension"),
    "financement": ("code_action", "annee"),
    "bilan_action": ("code_action", "annee"),  # the file's bilans: nothing else is « absent »
    "cible_indicateur": "code_qp",  # the file's QPV, whatever their contract
    "reunion": "code_instance",  # the file's instances
    "decision": "id_reunion",
}  # the file's meetings


def default_scope(load: Load) -> str | tuple[str, ...] | None:
    """The « absent » scope of a load that does not set its own (`Load.scope_col` None)."""
    if load.table in SCOPES:
        return SCOPES[load.table]
    if "code_contrat" in load.frame.columns and load.table != "contrat":
        return "code_contrat"
    if len(load.key) > 1:
        return load.key[0]
    return None


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
    mapping: dict[str, str] = field(default_factory=dict)  # file header → our column
    unmapped: list[str] = field(default_factory=list)  # file headers not used
    missing: list[str] = field(default_factory=list)  # our required columns not found
    loads: list[Load] = field(default_factory=list)
    diff: pl.DataFrame | None = None  # counts per table
    changes: pl.DataFrame | None = None  # details (capped)
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


@dataclass
class Columns:
    """What a kind's columns step makes of the file as read: the typed frame its builder receives
    (None: nothing can be built, the problems say why), how the headers were understood, and the
    problems found on the way."""

    frame: pl.DataFrame | None
    mapping: dict[str, str] = field(default_factory=dict)  # file header → our column
    unmapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[pl.DataFrame] = field(default_factory=list)


class ColumnsStep(Protocol):
    """The file as read → the typed frame a builder receives (`kinds.COLUMNS`). `mapping`: the
    user's choice of header → column (or variable → indicator), overriding what is detected."""

    def __call__(
        self,
        cur: duckdb.DuckDBPyConnection,
        spec: Kind,
        raw: RawTable,
        fichier: str,
        *,
        mapping: dict[str, str] | None,
        date_valeur: date | None,
    ) -> Columns: ...


class Builder(Protocol):
    """Typed rows → (loads: what would be written, problems only this kind knows, notes for the
    user) (`kinds.BUILDERS`). `contrat`: the contract the user chose for new rows, when it applies."""

    def __call__(
        self,
        cur: duckdb.DuckDBPyConnection,
        spec: Kind,
        typed: pl.DataFrame,
        fichier: str,
        *,
        contrat: str | None = None,
    ) -> tuple[list[Load], list[pl.DataFrame], list[str]]: ...
