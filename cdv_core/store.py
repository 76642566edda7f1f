"""The DuckDB store: opening (with French errors), numbered migrations, store version, writes.

One DuckDB file holds everything. Every committed write goes through `transaction()`, which
checks the cross-table rules before COMMIT and bumps the store version that read caches are
keyed on.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path

import duckdb

APP_NAME = "cdv"


class StoreError(Exception):
    """The store cannot be used; the message is French and says what to do."""


class StoreLocked(StoreError):
    """Another process holds the store file (DuckDB allows one writer process)."""


class IntegrityError(StoreError):
    """A write would break a rule of the domain; nothing was written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "Écriture refusée, rien n'a été modifié : " + " ; ".join(problems[:5])
            + (f" (et {len(problems) - 5} autre(s))" if len(problems) > 5 else "")
        )


def migrations() -> list[tuple[int, str]]:
    """The numbered migrations shipped with the code, in order: (number, SQL)."""
    found = []
    for entry in resources.files("cdv_core.migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_[a-z0-9_]+\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_schema_version() -> int:
    return migrations()[-1][0]


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open an existing store file, translating DuckDB's failures into French StoreErrors.

    Never creates, overwrites or deletes the file.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"Le fichier de données {path} est introuvable.")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        error = StoreLocked if "lock" in str(exc).lower() else StoreError
        raise error(_explain_open_error(path, exc)) from exc
    try:
        migrate(con)
    except StoreError:
        con.close()
        raise
    return con


def connect_for_command(path: Path | str) -> duckdb.DuckDBPyConnection | None:
    """`connect()` for the command line: None, after writing the French reason to stderr,
    when the store cannot be used."""
    import sys

    try:
        return connect(path)
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return None


def open_or_create(path: Path | str, *, seed: int = 2024) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """Open the store, creating it with the demo territory when the file is absent.

    Returns the connection and whether the demo store was just created. The demo is written to
    a temporary file first and moved in place, so a crash never leaves a half-built store.
    """
    path = Path(path)
    created = False
    if not path.exists():
        from cdv_core import demo  # local: demo imports store

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cdv-demo-", suffix=".duckdb", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
        try:
            demo.build_store(tmp, scale="demo", seed=seed)
            try:
                os.link(tmp, path)  # fails if another process created it meanwhile: keep theirs
                created = True
            except FileExistsError:
                pass
        finally:
            for leftover in (tmp, tmp + ".wal"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
    return connect(path), created


def _explain_open_error(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "lock" in text.lower():
        return (
            f"Le fichier de données {path} est déjà ouvert par un autre programme "
            "(l'application ou une commande en cours). DuckDB n'autorise qu'un seul processus "
            "en écriture : fermez l'autre programme (ou arrêtez l'application) puis réessayez. "
            "Le fichier n'a pas été modifié."
        )
    if "version" in text.lower() and ("newer" in text.lower() or "can only read" in text.lower()
                                      or "created with" in text.lower()):
        return (
            f"Le fichier de données {path} a été écrit par une version plus récente de DuckDB. "
            "Mettez à jour l'application (pip install -r requirements.txt) ou indiquez un autre "
            "fichier avec la variable CDV_STORE. Le fichier n'a pas été modifié."
        )
    return (
        f"Le fichier de données {path} ne peut pas être lu : il semble endommagé ou n'est pas "
        "un fichier DuckDB. Il n'a été ni modifié ni supprimé. Restaurez une sauvegarde, ou "
        "déplacez-le et relancez l'application pour recréer les données de démonstration. "
        f"(Détail technique : {text.splitlines()[0][:200]})"
    )


def scalar(cur: duckdb.DuckDBPyConnection, sql: str, params=None):
    """The first column of the first row, or None when there is no row (reads the result whole:
    DuckDB 2 keeps a connection busy while a result is partly fetched)."""
    rows = cur.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def table_names(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The store's tables (the allow-list for any table name used in SQL)."""
    return [r[0] for r in cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]


def schema_version(cur: duckdb.DuckDBPyConnection) -> int:
    has_meta = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'store_meta'"
    ).fetchall()[0][0]
    if not has_meta:
        return 0
    row = scalar(cur, "SELECT valeur FROM store_meta WHERE cle = 'schema_version'")
    return int(row) if row is not None else 0


def applied_migrations(cur: duckdb.DuckDBPyConnection) -> set[int]:
    """Numbers of the migrations this store has. Stores from before the `schema_migration`
    ledger recorded only their highest number, which covered every lower one."""
    if not schema_version(cur):
        return set()
    has_ledger = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migration'").fetchall()[0][0]
    if has_ledger:
        return {r[0] for r in cur.execute("SELECT numero FROM schema_migration").fetchall()}
    return {n for n, _ in migrations() if n <= schema_version(cur)}


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every shipped migration the store does not have yet, in order, each in its own
    transaction (so a migration added below the store's highest number is applied too)."""
    cur = con.cursor()
    shipped = migrations()
    latest = shipped[-1][0]
    applied = applied_migrations(cur)
    unknown = sorted(applied - {n for n, _ in shipped})
    if unknown or schema_version(cur) > latest:
        raise StoreError(
            f"Ce fichier de données est au schéma n° {max([schema_version(cur), *unknown])}, plus récent que "
            f"celui que connaît cette version de l'application (n° {latest}). Mettez à jour l'application. "
            "Le fichier n'a pas été modifié."
        )
    for number, sql in shipped:
        if number in applied:
            continue
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(sql)
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migration (numero INTEGER PRIMARY KEY, applique_le TIMESTAMP)")
            cur.execute("INSERT INTO schema_migration SELECT n, NULL FROM unnest($done) AS t(n) "
                        "WHERE n NOT IN (SELECT numero FROM schema_migration)", {"done": sorted(applied)})
            cur.execute("INSERT INTO schema_migration VALUES ($n, current_timestamp)", {"n": number})
            cur.execute(
                "INSERT INTO store_meta VALUES ('schema_version', $v), ('store_version', '0') "
                "ON CONFLICT (cle) DO UPDATE SET valeur = excluded.valeur "
                "WHERE store_meta.cle = 'schema_version'",
                {"v": str(max(number, *applied) if applied else number)},
            )
            _bump_version(cur)
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        applied.add(number)
    return latest


def store_version(cur: duckdb.DuckDBPyConnection) -> int:
    return int(cur.execute("SELECT valeur FROM store_meta WHERE cle = 'store_version'").fetchall()[0][0])


def meta(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
    return scalar(cur, "SELECT valeur FROM store_meta WHERE cle = ?", [key])


def set_meta(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    cur.execute(
        "INSERT INTO store_meta VALUES (?, ?) ON CONFLICT (cle) DO UPDATE SET valeur = excluded.valeur",
        [key, value],
    )


def _bump_version(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(
        "UPDATE store_meta SET valeur = CAST(CAST(valeur AS INTEGER) + 1 AS VARCHAR) "
        "WHERE cle = 'store_version'"
    )


# Bookkeeping tables: writing them does not change what an import's rollback would restore.
_UNLOGGED = frozenset({"store_meta", "journal_ecriture", "import_log", "import_annulation", "import_correspondance"})


def _log_write(cur: duckdb.DuckDBPyConnection, written: Iterable[str] | None, import_id: int | None) -> None:
    """Record the tables of this write under the new store version (one row each); not before
    migration 0006 has made the log (the migrations themselves, and tests of older stores)."""
    tables = ["*"] if written is None else sorted(set(written) - _UNLOGGED)
    if tables and scalar(cur, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary "
                              "AND table_name = 'journal_ecriture'"):
        cur.execute("INSERT INTO journal_ecriture SELECT $v, $h, t, $i FROM unnest($t) AS u(t)",
                    {"v": store_version(cur), "h": datetime.now(), "t": tables, "i": import_id})


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, check: bool = True,
                written: Iterable[str] | None = None,
                import_id: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """One committed write: BEGIN, the caller's statements, integrity checks, version bump, the
    log of writes (`journal_ecriture`), COMMIT.

    `written`: the tables the caller writes; then only the rules that name one of them are
    checked (the others cannot have changed), and the log names them. It is read at COMMIT, so
    a caller may add tables to the set as it goes. Default: every rule, and the log says '*'
    (any table), which forbids rolling back any earlier import. `import_id`: the import this
    write commits or rolls back (see `ingest.commit.rollback`).
    Any exception (including a broken rule) rolls everything back.
    """
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
        if check:
            problems = integrity_errors(cur, written=written)
            if problems:
                raise IntegrityError(problems)
        _bump_version(cur)
        _log_write(cur, written, import_id)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


# Cross-table rules, each a query returning a French description per offending row.
# Fixed SQL only: no user value is ever formatted into these strings.
_INTEGRITY_RULES: tuple[str, ...] = (
    # --- keys of the tables without a PRIMARY KEY index (migration 0005) ---
    """SELECT 'action ' || code_action || ' : code présent plusieurs fois'
       FROM action GROUP BY code_action HAVING count(*) > 1""",
    """SELECT 'lien action-quartier ' || code_action || ' / ' || code_qp || ' : présent plusieurs fois'
       FROM action_quartier GROUP BY code_action, code_qp HAVING count(*) > 1""",
    """SELECT 'financement ' || code_action || ' ' || financeur || ' ' || annee || ' : présent plusieurs fois'
       FROM financement GROUP BY code_action, financeur, annee HAVING count(*) > 1""",
    """SELECT 'valeur ' || code_indicateur || ' ' || code_territoire || ' du ' || strftime(date_valeur, '%d/%m/%Y')
              || ' : présente plusieurs fois'
       FROM valeur_indicateur GROUP BY code_indicateur, type_territoire, code_territoire, date_valeur
       HAVING count(*) > 1""",
    # --- references and periods ---
    """SELECT 'quartier ' || q.code_qp || ' : contrat ' || q.code_contrat || ' inconnu'
       FROM quartier q ANTI JOIN contrat c USING (code_contrat)""",
    """SELECT 'objectif ' || o.code_objectif || ' : quartier ' || o.code_qp || ' inconnu ou hors du contrat'
       FROM objectif o WHERE o.code_qp IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM quartier q WHERE q.code_qp = o.code_qp AND q.code_contrat = o.code_contrat)""",
    """SELECT 'objectif ' || o.code_objectif || ' : contrat ' || o.code_contrat || ' inconnu'
       FROM objectif o ANTI JOIN contrat c USING (code_contrat)""",
    """SELECT 'action ' || a.code_action || ' : porteur ' || a.id_porteur || ' inconnu'
       FROM action a ANTI JOIN porteur p USING (id_porteur)""",
    """SELECT 'action ' || a.code_action || ' : contrat ' || a.code_contrat || ' inconnu'
       FROM action a ANTI JOIN contrat c USING (code_contrat)""",
    """SELECT 'action ' || a.code_action || ' : années ' || a.annee_debut || '-' || a.annee_fin
              || ' hors de la période du contrat'
       FROM action a JOIN contrat c USING (code_contrat)
       WHERE a.annee_debut < year(c.date_debut) OR a.annee_fin > year(c.date_fin)""",
    """SELECT 'lien action-quartier ' || x.code_action || ' / ' || x.code_qp || ' : action ou quartier inconnu'
       FROM action_quartier x
       WHERE NOT EXISTS (SELECT 1 FROM action a WHERE a.code_action = x.code_action)
          OR NOT EXISTS (SELECT 1 FROM quartier q WHERE q.code_qp = x.code_qp)""",
    """SELECT 'action ' || code_action || ' : la somme des parts par quartier dépasse 100 %'
       FROM action_quartier WHERE part IS NOT NULL GROUP BY code_action HAVING sum(part) > 1.0001""",
    # LEFT JOIN, not NOT EXISTS: DuckDB then hashes the small link table, not the million actions
    """SELECT DISTINCT 'lien action-objectif ' || x.code_action || ' / ' || x.code_objectif || ' : action ou objectif inconnu'
       FROM action_objectif x LEFT JOIN action a USING (code_action) LEFT JOIN objectif o USING (code_objectif)
       WHERE a.code_action IS NULL OR o.code_objectif IS NULL""",
    # one join for both rules of a funding line (the table holds millions of rows)
    """SELECT 'financement ' || f.code_action || ' ' || f.financeur || ' ' || f.annee
              || CASE WHEN a.code_action IS NULL THEN ' : action inconnue'
                      ELSE ' : année hors de la période du contrat' END
       FROM financement f LEFT JOIN action a USING (code_action) LEFT JOIN contrat c ON c.code_contrat = a.code_contrat
       WHERE a.code_action IS NULL OR f.annee < year(c.date_debut) OR f.annee > year(c.date_fin)""",
    """SELECT 'valeur ' || v.code_indicateur || ' : indicateur inconnu'
       FROM (SELECT DISTINCT code_indicateur FROM valeur_indicateur) v ANTI JOIN indicateur i USING (code_indicateur)""",
    """SELECT 'cible ' || t.code_indicateur || ' / ' || t.code_qp || ' : indicateur ou quartier inconnu'
       FROM cible_indicateur t
       WHERE NOT EXISTS (SELECT 1 FROM indicateur i WHERE i.code_indicateur = t.code_indicateur)
          OR NOT EXISTS (SELECT 1 FROM quartier q WHERE q.code_qp = t.code_qp)""",
    """SELECT 'instance ' || i.code_instance || ' : contrat ' || i.code_contrat || ' inconnu'
       FROM instance i ANTI JOIN contrat c USING (code_contrat)""",
    """SELECT 'réunion ' || r.id_reunion || ' : instance ' || r.code_instance || ' inconnue'
       FROM reunion r ANTI JOIN instance i USING (code_instance)""",
    """SELECT 'réunion ' || r.id_reunion || ' du ' || strftime(r.date_reunion, '%d/%m/%Y')
              || ' : date hors de la période du contrat ('
              || strftime(c.date_debut, '%d/%m/%Y') || ' - ' || strftime(c.date_fin, '%d/%m/%Y') || ')'
       FROM reunion r JOIN instance i USING (code_instance) JOIN contrat c USING (code_contrat)
       WHERE r.date_reunion < c.date_debut OR r.date_reunion > c.date_fin""",
    """SELECT 'décision ' || d.id_decision || ' : réunion ' || d.id_reunion || ' inconnue'
       FROM decision d ANTI JOIN reunion r USING (id_reunion)""",
    """SELECT DISTINCT 'lien décision-action ' || x.id_decision || ' / ' || x.code_action || ' : décision ou action inconnue'
       FROM decision_action x LEFT JOIN decision d USING (id_decision) LEFT JOIN action a USING (code_action)
       WHERE d.id_decision IS NULL OR a.code_action IS NULL""",
    """SELECT 'jalon ' || j.id_jalon || ' : contrat ' || j.code_contrat || ' inconnu'
       FROM jalon j ANTI JOIN contrat c USING (code_contrat)""",
    # --- acteurs et ingénierie (0004) ---
    """SELECT 'acteur ' || a.id_acteur || ' : sans financement, il lui faut un nom, un type de structure et un contrat'
       FROM acteur a WHERE NOT EXISTS (SELECT 1 FROM porteur p WHERE p.id_porteur = a.id_acteur)
         AND (a.nom IS NULL OR a.type_structure IS NULL OR a.code_contrat IS NULL)""",
    """SELECT 'acteur ' || a.id_acteur || ' : contrat ' || a.code_contrat || ' inconnu'
       FROM acteur a WHERE a.code_contrat IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM contrat c WHERE c.code_contrat = a.code_contrat)""",
    """SELECT 'domaine, quartier ou instance de l''acteur ' || x.id_acteur || ' : acteur inconnu'
       FROM (SELECT id_acteur FROM acteur_domaine UNION SELECT id_acteur FROM acteur_quartier
             UNION SELECT id_acteur FROM acteur_instance) x
       WHERE NOT EXISTS (SELECT 1 FROM acteur a WHERE a.id_acteur = x.id_acteur)
         AND NOT EXISTS (SELECT 1 FROM porteur p WHERE p.id_porteur = x.id_acteur)""",
    """SELECT 'acteur ' || x.id_acteur || ' : quartier ' || x.code_qp || ' inconnu'
       FROM acteur_quartier x ANTI JOIN quartier q USING (code_qp)""",
    """SELECT 'acteur ' || x.id_acteur || ' : instance ' || x.code_instance || ' inconnue'
       FROM acteur_instance x ANTI JOIN instance i USING (code_instance)""",
    """SELECT 'poste ' || p.id_poste || ' : contrat ' || p.code_contrat || ' inconnu'
       FROM poste p WHERE p.code_contrat IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM contrat c WHERE c.code_contrat = p.code_contrat)""",
    """SELECT 'poste ' || p.id_poste || ' : quartier ' || p.code_qp || ' inconnu ou hors du contrat'
       FROM poste p WHERE p.code_qp IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM quartier q WHERE q.code_qp = p.code_qp
           AND (p.code_contrat IS NULL OR q.code_contrat = p.code_contrat))""",
    """SELECT 'financement du poste ' || f.id_poste || ' ' || f.financeur || ' ' || f.annee || ' : poste inconnu'
       FROM financement_poste f ANTI JOIN poste p USING (id_poste)""",
    """SELECT 'correspondance ' || x.code_cv_2015 || ' : contrat ' || x.code_contrat || ' inconnu'
       FROM correspondance_contrat x ANTI JOIN contrat c USING (code_contrat)""",
    """SELECT 'feuille de route ' || f.id_item || ' : contrat, poste ou décision inconnu'
       FROM feuille_de_route f
       WHERE NOT EXISTS (SELECT 1 FROM contrat c WHERE c.code_contrat = f.code_contrat)
          OR (f.id_poste IS NOT NULL AND NOT EXISTS (SELECT 1 FROM poste p WHERE p.id_poste = f.id_poste))
          OR (f.id_decision IS NOT NULL AND NOT EXISTS (SELECT 1 FROM decision d WHERE d.id_decision = f.id_decision))""",
)


def rule_tables(rule: str) -> set[str]:
    """The names a rule's SQL contains, as words (table names among them): a rule is checked
    after a write to any of them. A word that is not a table only makes the rule run more often."""
    return set(re.findall(r"[a-z_][a-z0-9_]*", rule))


def integrity_errors(cur: duckdb.DuckDBPyConnection, *, limit: int = 50,
                     written: Iterable[str] | None = None) -> list[str]:
    """Cross-table rules that no CHECK constraint can express; empty when the store is sound.
    `written`: only the rules naming one of these tables (see `transaction`)."""
    problems: list[str] = []
    tables = None if written is None else set(written)
    for rule in _INTEGRITY_RULES:
        if tables is not None and not tables & rule_tables(rule):
            continue
        problems += [row[0] for row in cur.execute(rule + f" LIMIT {int(limit)}").fetchall()]
        if len(problems) >= limit:
            break
    return problems
