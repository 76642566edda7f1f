"""« Historique des modifications »: the log of writes (`journal_ecriture`, one row per table
written), one line per write (store version): when, who, what, for which contracts, which
tables, and its keys and counts.

Who sees which write (`perimetre`, the reader's contracts; None: every write):
- a write belongs to a reader with a périmètre when one of its contracts is in it: a chef de
  projet sees every write on its contracts, whoever made it;
- a write without contract — a national file (QPV list, contours, INSEE, adultes-relais), the
  common data (porteurs, indicator catalogue), the accounts, the demo, or a write made before
  the log kept authors — is seen by administrators only: it concerns every contract, and the
  accounts' changes name people outside the reader's contracts;
- when a visible write touched contracts outside the périmètre too (an administrator's import
  of several contracts), the reader sees its own contracts, how many others there were, and no
  detail (the counts would mix the other contracts' rows).
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl

from cdv_core import access, fmt

DEFAULT_LIMIT = 5000

# Kind of operation, from the start of the operation text each write gives (store.Audit).
KINDS: tuple[tuple[str, str], ...] = (
    ("Import n°", "Import"),
    ("Séance", "Gouvernance"),
    ("Réunion", "Gouvernance"),
    ("Jalon", "Jalons"),
    ("Référence figée", "Jalons"),
    ("Utilisateur", "Comptes"),
    ("Code 2015", "Acteurs"),
    ("Chiffres validés", "Chiffres validés"),
    ("Territoire de démonstration", "Démonstration"),
)
ROLLBACK_KIND = "Annulation d'import"
UNKNOWN_KIND = "Non renseigné"
OTHER_KIND = "Autre"
COLUMNS = ("date", "auteur", "type", "opération", "contrats", "tables", "détail", "version")

_WRITES = """
    WITH j AS (
        SELECT version_store, max(horodatage) AS horodatage, any_value(auteur) AS auteur,
               any_value(operation) AS operation, any_value(contrats) AS contrats, any_value(detail) AS detail,
               string_agg(nom_table, ', ' ORDER BY nom_table) FILTER (WHERE nom_table NOT IN ('*', '—')) AS tables,
               bool_or(nom_table = '*') AS toutes_tables
        FROM journal_ecriture GROUP BY version_store)
    SELECT *, CASE WHEN contrats IS NULL OR contrats = '' THEN []::VARCHAR[]
                   ELSE string_split(contrats, ',') END AS codes
    FROM j
"""


def _bind(perimetre: tuple[str, ...] | None) -> list[str] | None:
    return None if perimetre is None else list(perimetre)


def changes(
    cur: duckdb.DuckDBPyConnection,
    *,
    perimetre: tuple[str, ...] | None = None,
    depuis: date | None = None,
    jusqu_au: date | None = None,
    auteur: str | None = None,
    operation: str | None = None,
    contrat: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> pl.DataFrame:
    """The writes the reader may see, newest first, at most `limit`. Filters: period (dates of
    the write, inclusive), exact author, kind of operation (`KINDS` labels, `ROLLBACK_KIND`…),
    a contract. Columns `COLUMNS`: date (datetime, None before the log kept it), auteur, type,
    opération, contrats (text), tables, détail (text), version (the store version it made)."""
    frame = cur.execute(
        f"""SELECT * FROM ({_WRITES})
            WHERE (CAST($perimetre AS VARCHAR[]) IS NULL OR list_has_any(codes, CAST($perimetre AS VARCHAR[])))
              AND ($contrat IS NULL OR list_contains(codes, $contrat))
              AND ($auteur IS NULL OR auteur = $auteur)
              AND (CAST($depuis AS DATE) IS NULL OR CAST(horodatage AS DATE) >= $depuis)
              AND (CAST($jusqu AS DATE) IS NULL OR CAST(horodatage AS DATE) <= $jusqu)
            ORDER BY version_store DESC""",
        parameters={
            "perimetre": _bind(perimetre),
            "contrat": contrat,
            "auteur": auteur,
            "depuis": depuis,
            "jusqu": jusqu_au,
        },
    ).pl()
    rows = []
    scope = None if perimetre is None else set(perimetre)
    for r in frame.iter_rows(named=True):
        kind = kind_of(r["operation"])
        if operation is not None and kind != operation:
            continue
        codes = r["codes"] or []
        shown = codes if scope is None else [c for c in codes if c in scope]
        hidden = len(codes) - len(shown)
        contrats = ", ".join(shown) + (
            f" (et {fmt.plural(hidden, 'autre contrat', 'autres contrats')})" if hidden else ""
        )
        rows.append(
            {
                "date": r["horodatage"],
                "auteur": r["auteur"] or "",
                "type": kind,
                "opération": r["operation"] or "Modification enregistrée avant l'historique des auteurs",
                "contrats": contrats or "aucun (données communes)",
                "tables": "toutes" if r["toutes_tables"] and not r["tables"] else (r["tables"] or ""),
                "détail": "réservé : touche aussi d'autres contrats" if hidden else detail_text(r["detail"]),
                "version": r["version_store"],
            }
        )
        if len(rows) >= limit:
            break
    return pl.DataFrame(
        rows,
        schema={
            "date": pl.Datetime("us"),
            "auteur": pl.String,
            "type": pl.String,
            "opération": pl.String,
            "contrats": pl.String,
            "tables": pl.String,
            "détail": pl.String,
            "version": pl.Int64,
        },
    )


def authors(cur: duckdb.DuckDBPyConnection, *, perimetre: tuple[str, ...] | None = None) -> list[str]:
    """The authors of the writes the reader may see (for the filter)."""
    return [
        r[0]
        for r in cur.execute(
            f"""SELECT DISTINCT auteur FROM ({_WRITES})
            WHERE auteur IS NOT NULL
              AND (CAST($perimetre AS VARCHAR[]) IS NULL OR list_has_any(codes, CAST($perimetre AS VARCHAR[])))
            ORDER BY 1""",
            {"perimetre": _bind(perimetre)},
        ).fetchall()
    ]


def operation_kinds() -> list[str]:
    """Every kind of operation, for the filter."""
    return list(dict.fromkeys([KINDS[0][1], ROLLBACK_KIND, *(label for _, label in KINDS), OTHER_KIND, UNKNOWN_KIND]))


def kind_of(operation: str | None) -> str:
    if not operation:
        return UNKNOWN_KIND
    if operation.startswith("Import n°") and operation.endswith(" annulé"):
        return ROLLBACK_KIND
    return next((label for prefix, label in KINDS if operation.startswith(prefix)), OTHER_KIND)


def detail_text(detail: str | None) -> str:
    """The JSON detail of a write, in words: « financement (nouveaux : 3, modifiés : 2) »."""
    if not detail:
        return ""
    try:
        value = json.loads(detail)
    except ValueError:
        return detail
    if isinstance(value, dict) and isinstance(value.get("tables"), dict):  # an import's counts per table
        value = {**value.pop("tables"), **value}
    return _words(value)


_KEYS = {"role": "rôle", "email": "adresse"}  # the accounts' detail (access._user_audit) in French


def _words(value, key: str | None = None) -> str:
    if isinstance(value, dict):
        counts = all(isinstance(v, int) for v in value.values())
        parts = [
            f"{_KEYS.get(k, k)} ({_words(v, k)})" if isinstance(v, dict) else f"{_KEYS.get(k, k)} : {_words(v, k)}"
            for k, v in value.items()
            if v not in (None, "", [], {}) and not (counts and v == 0)
        ]
        return ", ".join(parts) if counts or any(isinstance(v, dict) for v in value.values()) else " ; ".join(parts)
    if isinstance(value, list):
        return ", ".join(_words(v, key) for v in value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return fmt.integer(value)
    if isinstance(value, float):
        return fmt.number(value, 1)
    if key == "role" and value in access.ROLES:
        return access.ROLES[value]
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return fmt.day(date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)
