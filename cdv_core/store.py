"""The store: opening (with French errors), numbered migrations, store version, writes.

Two backends, one SQL dialect. By default one DuckDB file holds everything (one process,
embedded). A target written `ducklake:postgres:<libpq conninfo>` is a DuckLake: its catalog in
PostgreSQL, its data files in a shared folder (`CDV_DATA_PATH`), so several app instances and
commands read and write it at once (see `docs/architecture.md`, « Base partagée »).

Every committed write goes through `transaction()`, which checks the cross-table rules before
COMMIT and bumps the store version that read caches are keyed on. On a DuckLake that bump is
also what serialises writers: two transactions that both update the version row conflict at
COMMIT, the loser is rolled back whole and `retry_on_conflict` runs it again on the new state.
"""

from __future__ import annotations

import errno
import functools
import importlib
import json
import logging
import os
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import duckdb

APP_NAME = "cdv"
LAKE_PREFIX = "ducklake:"
LAKE_EXTENSIONS = ("ducklake", "postgres")
_MIGRATION_LOCK_KEY = 0x43_44_56_4D  # « CDVM »: the advisory lock taken while a DuckLake is migrated
REFUSED = "Écriture refusée, rien n'a été modifié"  # how a refused write's message begins


class StoreError(Exception):
    """The store cannot be used, or a write did not happen; the message is French and says what
    to do. The one error shape of writes: every write function of `cdv_core` returns its result
    or raises a StoreError (subclasses below, `access.AccessDenied`, `ingest.ImportRefused`…),
    which `ui.context.write` shows and the command line prints; nothing was written."""

    logged: bool = False  # said in the server's log already (`log_refusal`): once is enough

    @property
    def problems(self) -> list[str]:
        """The French problems to show, one per line: the message itself, unless the error lists several."""
        return [str(self)]


class WriteRefused(StoreError):
    """A write refused before anything was written, for a reason the person can read and act on
    (a rule of the domain, a right, a file with errors): logged at WARNING, not a failure of the server."""


class StoreLocked(StoreError):
    """Another process holds the store file (DuckDB allows one writer process)."""


class WriteConflict(StoreError):
    """Another writer committed first and this write was rolled back whole (DuckLake, or two
    sessions of one process); `retry_on_conflict` runs it again, this message says the rest."""

    def __init__(self, detail: str = ""):
        self.detail = detail
        super().__init__(
            "Quelqu'un a modifié ces données pendant votre saisie : rien n'a été enregistré. Rechargez la page."
        )


class IntegrityError(WriteRefused):
    """A write would break a rule of the domain; nothing was written. `problems`: every French
    problem found (a form's validation never stops at the first one)."""

    def __init__(self, problems: list[str]):
        self._problems = list(problems)
        super().__init__(
            REFUSED
            + " : "
            + " ; ".join(problems[:5])
            + (f" (et {len(problems) - 5} autre(s))" if len(problems) > 5 else "")
        )

    @property
    def problems(self) -> list[str]:
        return self._problems


class WriteFailed(StoreError):
    """A write the disk, the file system or the database refused (`write_error`): the message
    names the cause and what to do; `cause` is its key in `WRITE_FAILURES`."""

    def __init__(self, cause: str):
        self.cause = cause
        super().__init__(WRITE_FAILURES[cause])


_log = logging.getLogger(__name__)

_NOTHING = "rien n'a été enregistré, les données sont restées telles qu'avant"
# Why a write failed, as the user reads it: the cause, that nothing was written, what to do.
WRITE_FAILURES: dict[str, str] = {
    "disque_plein": f"Le disque du serveur est plein : l'écriture n'a pas pu se faire et {_NOTHING}. Libérez de la "
    "place sur ce disque (ou demandez à l'administrateur de le faire), puis recommencez.",
    "fichier_trop_gros": f"Le fichier de la base a atteint la taille maximale permise sur ce serveur : {_NOTHING}. "
    "Demandez à l'administrateur de relever cette limite (système de fichiers, quota du compte "
    "du service) ou de déplacer la base, puis recommencez.",
    "lecture_seule": f"La base est en lecture seule (fichier, dossier ou disque monté en lecture seule) : {_NOTHING}. "
    "Demandez à l'administrateur de la rendre accessible en écriture au service, puis recommencez.",
    "permission": f"Le service n'a pas le droit d'écrire dans le fichier ou le dossier de la base : {_NOTHING}. "
    "Demandez à l'administrateur de rétablir ses droits d'écriture, puis recommencez.",
    "disque": f"Le disque du serveur a refusé l'écriture (erreur d'entrée-sortie) : {_NOTHING}. Recommencez ; si le "
    "problème persiste, prévenez l'administrateur (état du disque, espace libre).",
    "connexion": f"La base partagée ne répond plus (serveur PostgreSQL de son catalogue arrêté ou connexion coupée) : "
    f"{_NOTHING}. Recommencez dans un moment ; si le problème persiste, prévenez l'administrateur.",
    "regle": f"La base a refusé ces données (valeur en double ou obligatoire manquante) : {_NOTHING}. Vérifiez la "
    "saisie ; si elle est juste, prévenez l'administrateur.",
    "autre": f"L'enregistrement a échoué : {_NOTHING}. Recommencez ; si le problème persiste, prévenez "
    "l'administrateur (le détail technique est dans le journal du serveur).",
}
# The causes, by errno and by the words of DuckDB's, PostgreSQL's or the system's message (in
# this order: « Could not write file …: No space left on device » is a full disk, not an I/O error).
_CAUSES: tuple[tuple[str, frozenset[int], tuple[str, ...]], ...] = (
    (
        "disque_plein",
        frozenset({errno.ENOSPC, errno.EDQUOT}),
        ("no space left", "disk quota exceeded", "disk full", "could not extend file", "not enough space"),
    ),
    ("fichier_trop_gros", frozenset({errno.EFBIG}), ("file too large",)),
    (
        "lecture_seule",
        frozenset({errno.EROFS}),
        ("read-only file system", "read-only mode", "read only mode", "read-only transaction"),
    ),
    ("permission", frozenset({errno.EACCES, errno.EPERM}), ("permission denied", "operation not permitted")),
    (
        "connexion",
        frozenset({errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT}),
        (
            "server closed the connection",
            "terminating connection",
            "connection refused",
            "could not connect",
            "no connection to the server",
            "connection has been closed",
            "connection to server",
            "broken pipe",
            "ssl syscall error",
            "connection timed out",
            "connection reset",
            'failed to execute query "rollback"',
        ),
    ),  # DuckLake: the catalog's connection died during COMMIT
    (
        "disque",
        frozenset({errno.EIO}),
        ("could not write", "could not fsync", "could not truncate", "input/output error", "i/o error"),
    ),
)


def failure_cause(exc: BaseException) -> str:
    """The key in `WRITE_FAILURES` of why `exc` (an OSError, a duckdb.Error, a psycopg error…)
    stopped a write; « autre » when it is none of the known causes."""
    if isinstance(exc, duckdb.ConstraintException):
        return "regle"
    seen: BaseException | None = exc
    while seen is not None:  # the cause may be the OSError under a wrapping error
        if isinstance(seen, OSError) and seen.errno is not None:
            for cause, numbers, _ in _CAUSES:
                if seen.errno in numbers:
                    return cause
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    for cause, _, words in _CAUSES:
        if any(w in text for w in words):
            return cause
    return "autre"


def write_error(exc: BaseException) -> StoreError:
    """The French StoreError to show for a write that failed with `exc`: a StoreError as it is,
    a conflict as WriteConflict, anything else (disk full, permission, read-only file or disk,
    file too large, connection lost…) as WriteFailed, whose message names the cause and what to
    do, with no technical detail and no server path: those go to the server's log (stderr)."""
    if isinstance(exc, StoreError):
        return exc
    if _is_conflict(exc):
        return WriteConflict(str(exc))
    cause = failure_cause(exc)
    log_failure(f"Écriture refusée ({cause})", exc)
    return WriteFailed(cause)


def log_failure(what: str, exc: BaseException) -> None:
    """The technical detail of a failure, for the server's log only (passwords masked): the user
    reads a French message without it."""
    detail = describe(" ".join(str(exc).split()) or type(exc).__name__)[:500]
    _log.error("%s : %s: %s", what, type(exc).__name__, detail)


# --- the server's log (standard `logging`, logger « cdv_core »; English lines, French reasons) ---
# Every committed write at INFO (`transaction`), every refused write at WARNING (`log_refusal`),
# failures at ERROR (`log_failure`), slow queries at WARNING (`ui.context`). A line names the
# user by identifier only (`log_identifier`), never their name or what they typed besides a
# refusal's French reason; passwords are masked (`describe`).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    """Send the `cdv_core` logs to stderr, once per process, unless the host configured logging
    already (a handler on the root logger or on `cdv_core`; Streamlit configures only its own
    loggers, which do not propagate). The app calls it at bootstrap; the command line with
    WARNING (its output is for people: refusals and failures only)."""
    logger = logging.getLogger("cdv_core")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)


def log_identifier(auteur: str | None) -> str:
    """Who, in a log line: the e-mail of « Nom <e-mail> » (`access.User.label`), else the label as
    it is (a local name, a command)."""
    if not auteur:
        return "?"
    found = re.search(r"<([^<>\s]+)>$", auteur)
    return found[1] if found else auteur


def _contracts_text(contrats: Iterable[str | None]) -> str:
    codes = sorted(c for c in contrats if c)
    return ", ".join(codes[:10]) + (f" (+{len(codes) - 10})" if len(codes) > 10 else "") if codes else "-"


def log_refusal(exc: StoreError, *, auteur: str | None, what: str | None, contrats: Iterable[str | None] = ()) -> None:
    """A refused write (a right, a rule, a file with errors), at WARNING with its French reason;
    once per error (the transaction that refused it, or `ui.context.write` for a refusal made
    before any transaction)."""
    if exc.logged:
        return
    exc.logged = True
    reason = describe(" | ".join(" ".join(p.split()) for p in exc.problems))[:500]
    _log.warning(
        "Write refused (%s): %s by %s, contracts %s: %s",
        type(exc).__name__,
        what or "?",
        log_identifier(auteur),
        _contracts_text(contrats),
        reason,
    )


def usable(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` still answers. A fatal error (e.g. a checkpoint that found the disk full)
    invalidates a DuckDB database until it is opened again: its owner must then close the
    connection and connect anew (see `ui.context.write`)."""
    try:
        cur = con.cursor()
        try:
            cur.execute("SELECT 1").fetchall()
        finally:
            cur.close()
        return True
    except duckdb.Error:
        return False


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


def is_lake(target: Path | str) -> bool:
    """Whether a store target names a DuckLake (`ducklake:postgres:<conninfo>`), not a file."""
    return str(target).startswith(LAKE_PREFIX)


def describe(target: Path | str) -> str:
    """A store target or a message as users see it: never with a PostgreSQL password (libpq's
    `password=…`, or a URI's `user:password@`)."""
    text = re.sub(r"password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s\"']+)", "password=…", str(target))
    return re.sub(r"(postgres(?:ql)?://[^:/@\s]+):[^@\s]*@", r"\1:…@", text)


def lake_conninfo(target: str) -> str:
    """The libpq connection string of a DuckLake target's PostgreSQL catalog."""
    rest = target[len(LAKE_PREFIX) :]
    if not rest.startswith("postgres:"):
        raise StoreError(
            f"Base « {describe(target)} » : seul un catalogue PostgreSQL est pris en charge "
            "(ducklake:postgres:dbname=… host=… port=… user=…)."
        )
    return rest[len("postgres:") :]


def extension_file(name: str) -> str:
    """The DuckDB extension binary shipped by the `duckdb-extension-<name>` wheel (installed
    offline: these machines cannot reach DuckDB's extension host)."""
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        raise StoreError(f"L'extension DuckDB « {name} » manque : pip install -r requirements.txt") from exc
    if module.__file__ is None:  # a namespace package: no wheel files behind it
        raise StoreError(f"L'extension DuckDB « {name} » manque : pip install -r requirements.txt")
    path = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise StoreError(
            f"L'extension DuckDB « {name} » ne correspond pas à DuckDB {duckdb.__version__} "
            "(pip install -r requirements.txt)."
        )
    return str(path)


@functools.cache
def install_lake_extensions() -> None:
    """Copy the extension binaries of the wheels into DuckDB's extension folder (once per
    process), where opening a `ducklake:` database finds them."""
    con = duckdb.connect()
    try:
        for name in LAKE_EXTENSIONS:
            con.execute("INSTALL '" + extension_file(name).replace("'", "''") + "'")
    finally:
        con.close()


def _open_lake(target: str, *, data_path: str | None) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the DuckLake, so every cursor sees its tables
    (a cursor does not inherit `USE`). A new catalog is created first, with its data folder,
    under the migration lock (instances starting together on a new catalog create it once)."""
    conninfo = lake_conninfo(target)
    data_path = data_path if data_path is not None else os.environ.get("CDV_DATA_PATH") or None
    try:
        install_lake_extensions()
        try:
            con = duckdb.connect(target)
        except duckdb.Error as exc:
            if "data_path is not set" not in str(exc):
                raise
            if not data_path:
                raise StoreError(
                    f"La base partagée {describe(target)} n'existe pas encore : indiquez le dossier de ses fichiers "
                    "de données avec la variable CDV_DATA_PATH (un dossier partagé par toutes les instances), "
                    "puis relancez."
                ) from exc
            with _migration_lock(target):
                try:
                    con = duckdb.connect(target)  # another instance may have created it meanwhile
                except duckdb.Error as again:
                    if "data_path is not set" not in str(again):
                        raise
                    _create_lake_catalog(conninfo, data_path)
                    con = duckdb.connect(target)
    except (duckdb.Error, OSError) as exc:
        raise StoreError(_explain_lake_error(target, exc)) from exc
    # DuckLake retries a commit that does not conflict; a real conflict is ours (retry_on_conflict)
    con.execute("SET ducklake_max_retry_count = 20")
    return con


def _create_lake_catalog(conninfo: str, data_path: str) -> None:
    if not data_path.startswith(("s3://", "gs://", "az://", "abfss://", "http://", "https://")):
        data_path = str(Path(data_path).absolute())  # not resolve(): a shared mount's own path
        Path(data_path).mkdir(parents=True, exist_ok=True)
    data_path = data_path.rstrip("/") + "/"
    con = duckdb.connect()
    try:
        con.execute(
            "ATTACH '" + (LAKE_PREFIX + "postgres:" + conninfo).replace("'", "''") + "' AS new_lake "
            "(DATA_PATH '" + data_path.replace("'", "''") + "')"
        )
    finally:
        con.close()


def _explain_lake_error(target: str, exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) or "directory" in text.lower() or "permission" in text.lower():
        return (
            f"La base partagée {describe(target)} ne peut pas être ouverte : son dossier de données ou le dossier "
            "des extensions DuckDB n'est pas utilisable (droits, disque, chemin). Vérifiez CDV_DATA_PATH et les "
            f"droits, puis relancez. (Détail technique : {describe(text.splitlines()[0])[:200]})"
        )
    if "connection" in text.lower() or "could not" in text.lower() or "timeout" in text.lower():
        return (
            f"La base partagée {describe(target)} est injoignable : le serveur PostgreSQL de son catalogue ne "
            "répond pas ou refuse la connexion. Vérifiez CDV_STORE (hôte, port, base, utilisateur) et que le "
            f"serveur est démarré. (Détail technique : {describe(text.splitlines()[0])[:200]})"
        )
    return (
        f"La base partagée {describe(target)} ne peut pas être ouverte. "
        f"(Détail technique : {describe(text.splitlines()[0])[:200]})"
    )


def open_store(
    target: Path | str, *, read_only: bool = False, data_path: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open a store without migrating it: a file (which must exist) or a DuckLake."""
    if is_lake(target):
        return _open_lake(str(target), data_path=data_path)
    path = Path(target)
    if not path.exists():
        raise StoreError(f"Le fichier de données {path} est introuvable.")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        error = StoreLocked if _is_lock_error(exc) else StoreError
        raise error(_explain_open_error(path, exc)) from exc


def connect(target: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open an existing store and bring its schema up to date, translating failures into
    French StoreErrors. A file is never created, overwritten or deleted here; a DuckLake
    catalog is created when new (with `CDV_DATA_PATH`), with the empty schema."""
    con = open_store(target, read_only=read_only)
    try:
        if is_lake(target) and not applied_migrations(con.cursor()) >= {n for n, _ in migrations()}:
            with _migration_lock(str(target)):
                migrate(con)
        else:
            migrate(con)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def _migration_lock(target: str) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock while the shared store is migrated: one instance migrates,
    the others wait (and say so), then find nothing left to do."""
    import psycopg

    try:
        lock = psycopg.connect(lake_conninfo(target), autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(_explain_lake_error(target, exc)) from exc
    try:
        if not lock.execute("SELECT pg_try_advisory_lock(%s)", [_MIGRATION_LOCK_KEY]).fetchall()[0][0]:
            print(
                "Mise à jour du schéma de la base partagée en cours par une autre instance : attente de la fin…",
                file=sys.stderr,
                flush=True,
            )
            lock.execute("SELECT pg_advisory_lock(%s)", [_MIGRATION_LOCK_KEY])
        yield
    finally:
        lock.close()  # ends the session, which releases the lock


def connect_for_command(path: Path | str) -> duckdb.DuckDBPyConnection | None:
    """`connect()` for the command line: None, after writing the French reason to stderr,
    when the store cannot be used."""
    try:
        return connect(path)
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return None


def _is_lock_error(exc: Exception) -> bool:
    """Another process holds the file (not « block », as in a checksum error)."""
    return re.search(r"\block\b", str(exc), re.IGNORECASE) is not None


def _explain_open_error(path: Path, exc: Exception) -> str:
    text = str(exc)
    if _is_lock_error(exc):
        return (
            f"Le fichier de données {path} est déjà ouvert par un autre programme "
            "(l'application ou une commande en cours). DuckDB n'autorise qu'un seul processus "
            "en écriture : fermez l'autre programme (ou arrêtez l'application) puis réessayez. "
            "Le fichier n'a pas été modifié. Pour que plusieurs instances et commandes travaillent "
            "en même temps, utilisez une base partagée (DuckLake, voir docs/deploiement.md)."
        )
    if failure_cause(exc) in ("permission", "lecture_seule"):  # not damaged: not writable by this account
        _log.error("Ouverture refusée : %s", describe(" ".join(text.split()))[:500])
        return (
            f"Le fichier de données {path} ne peut pas être ouvert en écriture : le compte du service n'a pas le "
            "droit d'écrire dans ce fichier ou son dossier, ou le disque est en lecture seule. Il n'a pas été "
            "modifié. Demandez à l'administrateur de rétablir les droits d'écriture, puis relancez."
        )
    if "version number 999" in text:  # DuckDB 2.0's storage: this application moved back to 1.5.5
        return (
            f"Le fichier de données {path} a été écrit par DuckDB 2.0, celui des versions précédentes de "
            "l'application ; celle-ci utilise DuckDB 1.5.5 (pour la base partagée). Convertissez-le une fois "
            "(« Fichier écrit par DuckDB 2.0 » dans le README), ou, s'il ne contient que le territoire de "
            "démonstration, supprimez-le : il sera recréé. Le fichier n'a pas été modifié."
        )
    if "version" in text.lower() and (
        "newer" in text.lower() or "can only read" in text.lower() or "created with" in text.lower()
    ):
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
    DuckDB keeps a connection busy while a result is partly fetched)."""
    rows = cur.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def on_lake(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether this cursor's default database is a DuckLake."""
    return scalar(cur, "SELECT type FROM duckdb_databases() WHERE database_name = current_database()") == "ducklake"


def table_names(cur: duckdb.DuckDBPyConnection, schema: str = "main") -> list[str]:
    """The store's tables (the allow-list for any table name used in SQL); not the session's
    temporary tables, nor those of another attached database."""
    return [
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $s "
            "ORDER BY 1",
            {"s": schema},
        ).fetchall()
    ]


def is_empty(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store holds no data of its own (only its schema and bookkeeping)."""
    bookkeeping = {"store_meta", "schema_migration", "journal_ecriture"}
    return not any(
        scalar(cur, f"SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT 1)")
        for t in table_names(cur)
        if t not in bookkeeping
    )


def schema_version(cur: duckdb.DuckDBPyConnection) -> int:
    if "store_meta" not in table_names(cur):
        return 0
    row = scalar(cur, "SELECT valeur FROM store_meta WHERE cle = 'schema_version'")
    return int(row) if row is not None else 0


def applied_migrations(cur: duckdb.DuckDBPyConnection) -> set[int]:
    """Numbers of the migrations this store has. Stores from before the `schema_migration`
    ledger recorded only their highest number, which covered every lower one."""
    if not schema_version(cur):
        return set()
    if "schema_migration" in table_names(cur):
        return {r[0] for r in cur.execute("SELECT numero FROM schema_migration").fetchall()}
    return {n for n, _ in migrations() if n <= schema_version(cur)}


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every shipped migration the store does not have yet, in order, each in its own
    transaction (so a migration added below the store's highest number is applied too).

    A new DuckLake gets the whole schema at once (`_create_lake_schema`); later migrations run
    on it as on a file, so from 0007 on they are written in the dialect both accept (no
    PRIMARY KEY, UNIQUE, CHECK or sequence: such rules go to `_INTEGRITY_RULES`)."""
    cur = con.cursor()
    shipped = migrations()
    latest = shipped[-1][0]
    applied = applied_migrations(cur)
    unknown = sorted(applied - {n for n, _ in shipped})
    if unknown or schema_version(cur) > latest:
        raise StoreError(
            f"Cette base est au schéma n° {max([schema_version(cur), *unknown])}, plus récent que "
            f"celui que connaît cette version de l'application (n° {latest}). Mettez à jour l'application. "
            "La base n'a pas été modifiée."
        )
    if not applied and on_lake(cur):
        _create_lake_schema(cur)
        return latest
    for number, sql in shipped:
        if number in applied:
            continue
        try:
            _apply(cur, number, sql, applied)
        except duckdb.Error as exc:
            raise StoreError(
                f"La mise à jour du schéma de la base (migration n° {number}) a échoué ; elle n'a rien "
                "modifié. Prévenez l'administrateur. (Détail technique : "
                f"{describe(str(exc).splitlines()[0])[:200]})"
            ) from exc
        applied.add(number)
    return latest


def _apply(cur: duckdb.DuckDBPyConnection, number: int, sql: str, applied: set[int]) -> None:
    """One migration, recorded in `schema_migration`, in one transaction."""
    with plain_transaction(cur):
        cur.execute(sql)
        cur.execute("CREATE TABLE IF NOT EXISTS schema_migration (numero INTEGER NOT NULL, applique_le TIMESTAMP)")
        cur.execute(
            "INSERT INTO schema_migration SELECT n, NULL FROM unnest($done) AS t(n) "
            "WHERE n NOT IN (SELECT numero FROM schema_migration)",
            {"done": sorted(applied)},
        )
        cur.execute("INSERT INTO schema_migration VALUES ($n, current_timestamp)", {"n": number})
        if scalar(cur, "SELECT count(*) FROM store_meta WHERE cle = 'store_version'") == 0:
            cur.execute("INSERT INTO store_meta VALUES ('store_version', '0')")
        set_meta(cur, "schema_version", str(max(number, *applied) if applied else number))
        _bump_version(cur)


class _Reference(NamedTuple):
    """What a new DuckLake needs, read off an in-memory DuckDB migrated by every shipped
    migration: the same schemas and tables (NOT NULL and defaults kept; keys, checks and
    sequences left out), the rules that stand for the left-out keys and checks, and the rows
    the migrations themselves wrote (version, ledger, log)."""

    schemas: tuple[str, ...]
    ddl: tuple[str, ...]
    rules: tuple[str, ...]
    seed: dict


@functools.cache
def _reference() -> _Reference:
    ref = duckdb.connect()
    try:
        migrate(ref)
        schemas = tuple(
            r[0]
            for r in ref.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
                "AND NOT internal AND schema_name <> 'main' ORDER BY 1"
            ).fetchall()
        )
        ddl = tuple(
            _table_ddl(ref, schema, name)
            for schema, name in ref.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
                "ORDER BY schema_name, table_name"
            ).fetchall()
        )
        seed = {
            t: ref.sql(sql("SELECT * FROM {t}", t=t)).to_arrow_table()
            for t in ("store_meta", "schema_migration", "journal_ecriture")
        }
        return _Reference(schemas, ddl, _constraint_rules(ref), seed)
    finally:
        ref.close()


def _table_ddl(ref: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    """CREATE TABLE without keys, checks or sequences (DuckLake has none); key columns NOT NULL."""
    keys = {
        c
        for cols in ref.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = $s AND table_name = $t "
            "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
            {"s": schema, "t": name},
        ).fetchall()
        for c in cols[0]
    }
    columns = []
    for column, data_type, nullable, default in ref.execute(
        "SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
        "WHERE schema_name = $s AND table_name = $t ORDER BY column_index",
        {"s": schema, "t": name},
    ).fetchall():
        text = f"{column} {data_type}"
        if not nullable or column in keys:
            text += " NOT NULL"
        if default is not None and "nextval" not in default:
            text += f" DEFAULT {default}"
        columns.append(text)
    return f"CREATE TABLE {schema}.{name} ({', '.join(columns)})"


def _constraint_rules(ref: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The file's PRIMARY KEY, UNIQUE and CHECK constraints as rules: one query per table and
    kind, checked before COMMIT like the other rules."""
    rules = []
    for table, kind, columns, expressions in ref.execute(
        "SELECT table_name, constraint_type, list(constraint_column_names), list(expression) "
        "FROM duckdb_constraints() WHERE schema_name = 'main' "
        "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK') GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        if kind == "CHECK":
            first = scalar(
                ref, "SELECT column_name FROM duckdb_columns() WHERE table_name = $t AND column_index = 1", {"t": table}
            )
            cases = " ".join(f"WHEN NOT ({e}) THEN '{e.replace(chr(39), chr(39) * 2)}'" for e in expressions)
            rules.append(
                f"SELECT '{table} ' || coalesce(CAST({first} AS VARCHAR), '?') || ' : règle « ' "
                f"|| CASE {cases} END || ' » non respectée' FROM {table} "
                f"WHERE " + " OR ".join(f"NOT ({e})" for e in expressions)
            )
        else:
            for cols in columns:
                key = ", ".join(cols)
                shown = " || ' / ' || ".join(f"CAST({c} AS VARCHAR)" for c in cols)
                rules.append(
                    f"SELECT '{table} ' || {shown} || ' : présent plusieurs fois' "
                    f"FROM {table} GROUP BY {key} HAVING count(*) > 1"
                )
    return tuple(rules)


def _create_lake_schema(cur: duckdb.DuckDBPyConnection) -> None:
    """Give a new DuckLake the schema of every shipped migration, in one transaction: the same
    tables and columns as a file, its keys and checks kept as rules (`_Reference.rules`)."""
    reference = _reference()
    with plain_transaction(cur):
        for schema in reference.schemas:
            cur.execute(sql("CREATE SCHEMA IF NOT EXISTS {schema}", schema=schema))
        for ddl in reference.ddl:
            cur.execute(ddl)
        for table, rows in reference.seed.items():
            cur.register("_seed", rows)
            cur.execute(sql("INSERT INTO {table} SELECT * FROM _seed", table=table))
            cur.unregister("_seed")


def store_version(cur: duckdb.DuckDBPyConnection) -> int:
    return int(cur.execute("SELECT valeur FROM store_meta WHERE cle = 'store_version'").fetchall()[0][0])


def meta(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
    return scalar(cur, "SELECT valeur FROM store_meta WHERE cle = ?", [key])


def metas(cur: duckdb.DuckDBPyConnection, *keys: str) -> dict[str, str | None]:
    """Several `meta` values in one query (a DuckLake query costs a round trip to its catalog). The
    table holds a few rows: reading them all, without a parameter to bind, is the cheapest query
    (0,25 ms against 0,65–1,7 ms with the keys as a list), and every page run makes it."""
    found = dict(cur.execute("SELECT cle, valeur FROM store_meta").fetchall())
    return {k: found.get(k) for k in keys}


def set_meta(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Set one store_meta entry (DELETE then INSERT: DuckLake has no key to upsert on)."""
    cur.execute("DELETE FROM store_meta WHERE cle = ?", [key])
    cur.execute("INSERT INTO store_meta VALUES (?, ?)", [key, value])


def _bump_version(cur: duckdb.DuckDBPyConnection) -> None:
    """Move the store version, and draw its token anew (migration 0017; none before it)."""
    cur.execute(
        "UPDATE store_meta SET valeur = CAST(CAST(valeur AS INTEGER) + 1 AS VARCHAR) WHERE cle = 'store_version'"
    )
    cur.execute("UPDATE store_meta SET valeur = CAST(uuid() AS VARCHAR) WHERE cle = 'version_token'")


# Bookkeeping tables: writing them does not change what an import's rollback would restore.
_UNLOGGED = frozenset({"store_meta", "journal_ecriture", "import_log", "import_annulation", "import_correspondance"})


@dataclass
class Audit:
    """Who wrote what, for the log of writes (`journal_ecriture`, the « Historique des
    modifications »). The writer may fill `contrats` and `detail` as it goes: they are read at
    COMMIT, like `written`."""

    auteur: str  # the acting user's label (`access.User.label`)
    operation: str  # in French: « Import n° 12 (actions.csv) », « Jalon ajouté »…
    contrats: set[str] = field(default_factory=set)
    detail: dict = field(default_factory=dict)  # keys and counts (JSON in the log)


def _log_write(
    cur: duckdb.DuckDBPyConnection, written: Iterable[str] | None, import_id: int | None, audit: Audit | None
) -> None:
    """Record the tables of this write under the new store version (one row each, or one row
    « — » for a write of bookkeeping only), with who and what when the schema has the audit
    columns (migration 0007); nothing before migration 0006 has made the log."""
    tables = ["*"] if written is None else sorted(set(written) - _UNLOGGED)
    if "journal_ecriture" not in table_names(cur):
        return
    columns = {
        r[0]
        for r in cur.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'journal_ecriture'"
        ).fetchall()
    }
    if "auteur" not in columns:
        if tables:
            cur.execute(
                "INSERT INTO journal_ecriture SELECT $v, $h, t, $i FROM unnest($t) AS u(t)",
                {"v": store_version(cur), "h": datetime.now(), "t": tables, "i": import_id},
            )
        return
    if not tables and audit is None:
        return
    cur.execute(
        "INSERT INTO journal_ecriture (version_store, horodatage, nom_table, id_import, auteur, operation, "
        "contrats, detail) SELECT $v, $h, t, $i, $a, $o, $c, $d FROM unnest($t) AS u(t)",
        {
            "v": store_version(cur),
            "h": datetime.now(),
            "t": tables or [_NO_TABLE],
            "i": import_id,
            "a": audit.auteur if audit else None,
            "o": audit.operation if audit else None,
            "c": ",".join(sorted(audit.contrats)) if audit and audit.contrats else None,
            "d": json.dumps(audit.detail, ensure_ascii=False, default=str) if audit and audit.detail else None,
        },
    )


_NO_TABLE = "—"  # a logged write that changed only bookkeeping (e.g. the users)


def _is_conflict(exc: BaseException) -> bool:
    """A write-write conflict: DuckLake's at COMMIT, or DuckDB's between two sessions of one process."""
    return isinstance(exc, duckdb.Error) and "conflict" in str(exc).lower()


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def check_identifier(*names: str) -> None:
    """SQL is assembled from table and column names only, never from values: each must be a
    plain identifier, so none can carry SQL."""
    bad = [n for n in names if not _IDENTIFIER.fullmatch(n)]
    if bad:
        raise StoreError(f"Nom de table ou de colonne refusé : {', '.join(bad)}")


class Sql(str):
    """SQL text composed by `sql` (or `matching`, `assignments`) from a template and checked
    names: it may go into another template as is."""


_SQL_TYPE = re.compile(r"[A-Z]+(?: [A-Z]+)*(?:\(\d+(?:, ?\d+)?\))?")


def sql_type(name: str) -> Sql:
    """A column's type as the store's catalog names it (`VARCHAR`, `DECIMAL(14,2)`), checked:
    capital words and a precision only, so it can carry no SQL; it may go into a `sql` template."""
    if not _SQL_TYPE.fullmatch(name):
        raise StoreError(f"Type de colonne refusé : {name}")
    return Sql(name)


def sql(template: str, **names: str | Iterable[str]) -> Sql:
    """`template` with its `{placeholders}` filled with names, never values (values stay bound
    parameters): a name (`table`, or qualified `schema.table`) is checked by `check_identifier`,
    several names are checked and joined with ', ', and text that `sql` composed (`Sql`) goes in
    as is. The import's write and rollback use it; docs/architecture.md (« Rules ») lists the
    statements that still format names checked by `check_identifier` directly."""
    filled: dict[str, str] = {}
    for placeholder, value in names.items():
        if isinstance(value, Sql):
            filled[placeholder] = value
            continue
        listed = [value] if isinstance(value, str) else list(value)
        check_identifier(*(part for name in listed for part in name.split(".")))
        filled[placeholder] = ", ".join(listed)
    return Sql(template.format(**filled))


def matching(columns: Iterable[str], left: str, right: str) -> Sql:
    """`left.c = right.c AND …` over `columns` (a join or delete condition on a key)."""
    return Sql(" AND ".join(sql("{l}.{c} = {r}.{c}", l=left, r=right, c=c) for c in columns))


def assignments(columns: Iterable[str], source: str) -> Sql:
    """`c = source.c, …` over `columns` (an UPDATE's SET list)."""
    return Sql(", ".join(sql("{c} = {s}.{c}", s=source, c=c) for c in columns))


@contextmanager
def plain_transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT on `cur`, rolled back on any error, with no rule, version bump or log
    (migrations and whole-store copies); a failed COMMIT is explained as in `transaction`."""
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
    except BaseException:
        _rollback(cur)
        raise
    _commit(cur)


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """ROLLBACK after a failure inside the transaction. The failure may have ended the
    transaction already (DuckDB then says « no transaction is active ») or invalidated the
    database: the error that reaches the caller stays the failure's own, never this one's."""
    with suppress(duckdb.Error):
        cur.execute("ROLLBACK")


def _commit(cur: duckdb.DuckDBPyConnection) -> None:
    """COMMIT; a failed COMMIT has already ended the transaction (no ROLLBACK after it: it
    would fail too and hide the cause). Its error is said by `write_error`."""
    try:
        cur.execute("COMMIT")
    except duckdb.Error as exc:
        raise write_error(exc) from exc


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection,
    *,
    check: bool = True,
    written: Iterable[str] | None = None,
    import_id: int | None = None,
    audit: Audit | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """One committed write: BEGIN, the caller's statements, integrity checks, version bump, the
    log of writes (`journal_ecriture`), COMMIT.

    `written`: the tables the caller writes; then only the rules that name one of them are
    checked (the others cannot have changed), and the log names them. It is read at COMMIT, so
    a caller may add tables to the set as it goes. Default: every rule, and the log says '*'
    (any table), which forbids rolling back any earlier import. `import_id`: the import this
    write commits or rolls back (see `ingest.commit.rollback`). `audit`: who and what, for the
    log (every write of the app and the command line gives one).
    Any exception (including a broken rule) rolls everything back. Another writer that
    committed first raises WriteConflict: nothing of this write is kept (see `retry_on_conflict`).
    A failure of the disk, the file system or the database is the French WriteFailed of
    `write_error` (the connection may then be unusable: see `usable`).
    """
    start = time.perf_counter()
    try:
        cur = con.cursor()
    except duckdb.Error as exc:  # e.g. a connection closed after a fatal error
        raise write_error(exc) from exc
    try:
        cur.execute("BEGIN TRANSACTION")
    except duckdb.Error as exc:
        cur.close()
        raise write_error(exc) from exc
    try:
        try:
            yield cur
            if check:
                problems = integrity_errors(cur, written=written)
                if problems:
                    raise IntegrityError(problems)
            _bump_version(cur)
            _log_write(cur, written, import_id, audit)
            version = store_version(cur) if _log.isEnabledFor(logging.INFO) else None
        except BaseException as exc:
            _rollback(cur)  # the failure may have ended the transaction: keep its own cause
            if _is_conflict(exc):
                raise WriteConflict(str(exc)) from exc
            if isinstance(exc, (duckdb.Error, OSError)) and not isinstance(exc, duckdb.ConstraintException):
                raise write_error(exc) from exc
            if isinstance(exc, WriteRefused):
                log_refusal(
                    exc,
                    auteur=audit.auteur if audit else None,
                    what=audit.operation if audit else None,
                    contrats=audit.contrats if audit else (),
                )
            raise
        _commit(cur)
    finally:
        cur.close()
    if version is not None:
        _log.info(
            "Write committed: %s by %s, contracts %s, tables %s, store version %s, %.3f s",
            audit.operation if audit else "?",
            log_identifier(audit.auteur if audit else None),
            _contracts_text(audit.contrats if audit else ()),
            "*" if written is None else ", ".join(sorted(set(written))) or "-",
            version,
            time.perf_counter() - start,
        )


def retrying(
    call, *, retry_on: type[BaseException] | tuple[type[BaseException], ...], attempts: int = 6, pause: float = 0.05
):
    """`call()`, run again after `retry_on` with a growing, jittered pause; the last attempt's
    error reaches the caller."""
    for attempt in range(attempts):
        try:
            return call()
        except retry_on:
            if attempt == attempts - 1:
                raise
            time.sleep(pause * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def retry_on_conflict(fn=None, /, *, attempts: int = 6):
    """Run a write function again when another writer committed first (WriteConflict).

    Safe for the store's writes: each one re-reads what it depends on and re-checks every rule
    inside its own transaction, and a conflicting attempt left nothing behind. After the last
    attempt the French WriteConflict reaches the caller. Any other duckdb.Error or OSError,
    inside the transaction or before it (e.g. on a database a fatal error invalidated), reaches
    it as the French StoreError of `write_error`."""

    def decorate(write):
        @functools.wraps(write)
        def run(*args, **kwargs):
            try:
                return retrying(lambda: write(*args, **kwargs), retry_on=WriteConflict, attempts=attempts)
            except (duckdb.Error, OSError) as exc:
                raise write_error(exc) from exc

        return run

    return decorate(fn) if fn is not None else decorate


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
    """SELECT 'cible ' || code_indicateur || ' / ' || code_qp || ' : la cible intermédiaire a une valeur et une date, '
              || 'entre la date de référence et celle de la cible'
       FROM cible_indicateur
       WHERE (valeur_cible_intermediaire IS NULL) <> (date_cible_intermediaire IS NULL)
          OR date_cible_intermediaire <= date_reference OR date_cible_intermediaire >= date_cible""",
    """SELECT 'valeur ' || code_indicateur || ' ' || code_territoire || ' du ' || strftime(date_valeur, '%d/%m/%Y')
              || ' : numérateur et dénominateur vont ensemble, le dénominateur positif, sans valeur secrète'
       FROM valeur_indicateur
       WHERE (numerateur IS NULL) <> (denominateur IS NULL) OR denominateur <= 0 OR numerateur < 0
          OR (numerateur IS NOT NULL AND valeur IS NULL)""",
    # --- breakdowns of values (migration 0014) ---
    """SELECT 'valeur ' || code_indicateur || ' ' || code_territoire || ' du ' || strftime(date_valeur, '%d/%m/%Y')
              || ' (' || dimension || ' : ' || modalite || ') : présente plusieurs fois'
       FROM valeur_indicateur_detail
       GROUP BY code_indicateur, type_territoire, code_territoire, date_valeur, dimension, modalite
       HAVING count(*) > 1""",
    """SELECT 'valeur ' || code_indicateur || ' ' || code_territoire || ' du ' || strftime(date_valeur, '%d/%m/%Y')
              || ' (' || coalesce(dimension, '—') || ' : ' || coalesce(modalite, '—') || ') : '
              || CASE WHEN dimension IS NULL OR modalite IS NULL OR NOT (
                           (dimension = 'sexe' AND modalite IN ('femmes', 'hommes'))
                        OR (dimension = 'âge' AND regexp_full_match(modalite,
                              '(moins de [0-9]{1,3} ans|[0-9]{1,3} à [0-9]{1,3} ans|[0-9]{1,3} ans et plus)')))
                      THEN 'ventilation inconnue (sexe : femmes ou hommes ; âge : une tranche)'
                      WHEN type_territoire NOT IN ('QPV', 'commune', 'EPCI', 'unité urbaine', 'département', 'France')
                      THEN 'type de territoire inconnu'
                      WHEN (valeur IS NULL) = (secret IS NULL) OR secret NOT IN ('nd', 'ns', 's', 'so')
                      THEN 'une valeur, ou la raison de son absence (nd, ns, s, so)'
                      ELSE 'numérateur et dénominateur vont ensemble, le dénominateur positif, sans valeur secrète' END
       FROM valeur_indicateur_detail
       WHERE dimension IS NULL OR modalite IS NULL
          OR NOT ((dimension = 'sexe' AND modalite IN ('femmes', 'hommes'))
                  OR (dimension = 'âge' AND regexp_full_match(modalite,
                        '(moins de [0-9]{1,3} ans|[0-9]{1,3} à [0-9]{1,3} ans|[0-9]{1,3} ans et plus)')))
          OR type_territoire NOT IN ('QPV', 'commune', 'EPCI', 'unité urbaine', 'département', 'France')
          OR (valeur IS NULL) = (secret IS NULL) OR secret NOT IN ('nd', 'ns', 's', 'so')
          OR (numerateur IS NULL) <> (denominateur IS NULL) OR denominateur <= 0 OR numerateur < 0
          OR (numerateur IS NOT NULL AND valeur IS NULL)""",
    """SELECT 'valeur ' || v.code_indicateur || ' (ventilation) : indicateur inconnu'
       FROM (SELECT DISTINCT code_indicateur FROM valeur_indicateur_detail) v
       ANTI JOIN indicateur i USING (code_indicateur)""",
    # --- accounts (migration 0007) ---
    """SELECT 'utilisateur ' || email || ' : présent plusieurs fois'
       FROM utilisateur GROUP BY email HAVING count(*) > 1""",
    """SELECT 'utilisateur ' || email || ' : rôle « ' || role || ' » inconnu'
       FROM utilisateur WHERE role NOT IN ('lecteur', 'partenaire', 'chef_de_projet', 'administrateur')""",
    """SELECT 'utilisateur ' || x.email || ' : contrat ' || x.code_contrat || ' inconnu ou compte absent'
       FROM utilisateur_contrat x
       WHERE NOT EXISTS (SELECT 1 FROM contrat c WHERE c.code_contrat = x.code_contrat)
          OR NOT EXISTS (SELECT 1 FROM utilisateur u WHERE u.email = x.email)""",
    # --- validated figures (migration 0008) ---
    """SELECT 'validation ' || id_validation || ' : présente plusieurs fois'
       FROM validation GROUP BY id_validation HAVING count(*) > 1""",
    """SELECT 'validation ' || v.id_validation || ' : contrat ' || v.code_contrat || ' inconnu ou période '
              || v.annee_debut || '-' || v.annee_fin || ' incohérente'
       FROM validation v WHERE v.annee_fin < v.annee_debut
          OR NOT EXISTS (SELECT 1 FROM contrat c WHERE c.code_contrat = v.code_contrat)""",
    """SELECT 'chiffre validé ' || x.id_validation || ' / ' || x.ordre || ' : validation inconnue ou chiffre en double'
       FROM validation_chiffre x
       WHERE NOT EXISTS (SELECT 1 FROM validation v WHERE v.id_validation = x.id_validation)
       UNION ALL
       SELECT 'chiffre validé ' || id_validation || ' / ' || ordre || ' : validation inconnue ou chiffre en double'
       FROM validation_chiffre GROUP BY id_validation, ordre HAVING count(*) > 1""",
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
    """SELECT DISTINCT 'lien action-objectif ' || x.code_action || ' / ' || x.code_objectif
              || ' : action ou objectif inconnu'
       FROM action_objectif x LEFT JOIN action a USING (code_action) LEFT JOIN objectif o USING (code_objectif)
       WHERE a.code_action IS NULL OR o.code_objectif IS NULL""",
    # one join for both rules of a funding line (the table holds millions of rows)
    """SELECT 'financement ' || f.code_action || ' ' || f.financeur || ' ' || f.annee
              || CASE WHEN a.code_action IS NULL THEN ' : action inconnue'
                      ELSE ' : année hors de la période du contrat' END
       FROM financement f LEFT JOIN action a USING (code_action) LEFT JOIN contrat c ON c.code_contrat = a.code_contrat
       WHERE a.code_action IS NULL OR f.annee < year(c.date_debut) OR f.annee > year(c.date_fin)""",
    """SELECT 'valeur ' || v.code_indicateur || ' : indicateur inconnu'
       FROM (SELECT DISTINCT code_indicateur FROM valeur_indicateur) v
       ANTI JOIN indicateur i USING (code_indicateur)""",
    # --- bilans des porteurs (migration 0016) ---
    """SELECT 'bilan ' || code_action || ' ' || annee || ' : présent plusieurs fois'
       FROM bilan_action GROUP BY code_action, annee HAVING count(*) > 1""",
    """SELECT 'bilan ' || b.code_action || ' ' || b.annee
              || CASE WHEN a.code_action IS NULL THEN ' : action inconnue'
                      ELSE ' : statut « ' || b.statut || ' » inconnu (reçu, accepté ou à compléter)' END
       FROM bilan_action b LEFT JOIN action a USING (code_action)
       WHERE a.code_action IS NULL OR b.statut NOT IN ('reçu', 'accepté', 'à compléter')""",
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
    """SELECT DISTINCT 'lien décision-action ' || x.id_decision || ' / ' || x.code_action
              || ' : décision ou action inconnue'
       FROM decision_action x LEFT JOIN decision d USING (id_decision) LEFT JOIN action a USING (code_action)
       WHERE d.id_decision IS NULL OR a.code_action IS NULL""",
    """SELECT 'jalon ' || j.id_jalon || ' : contrat ' || j.code_contrat || ' inconnu'
       FROM jalon j ANTI JOIN contrat c USING (code_contrat)""",
    # --- rapport annuel: its life cycle (0015, cdv_core.edits.rapport) ---
    """SELECT 'rapport annuel ' || code_contrat || ' ' || annee || ' : présent plusieurs fois'
       FROM rapport_annuel GROUP BY code_contrat, annee HAVING count(*) > 1""",
    """SELECT x.quoi || ' ' || x.code_contrat || ' ' || x.annee
              || CASE WHEN c.code_contrat IS NULL THEN ' : contrat inconnu'
                      ELSE ' : année hors de la période du contrat' END
       FROM (SELECT 'rapport annuel' AS quoi, code_contrat, annee FROM rapport_annuel
             UNION SELECT 'vote du rapport annuel', code_contrat, annee FROM rapport_annuel_vote
             UNION SELECT 'contribution au rapport annuel', code_contrat, annee FROM rapport_annuel_contribution) x
       LEFT JOIN contrat c USING (code_contrat)
       WHERE c.code_contrat IS NULL OR x.annee < year(c.date_debut) OR x.annee > year(c.date_fin)""",
    """SELECT 'vote du rapport annuel ' || code_contrat || ' ' || annee || ' : assemblée « ' || assemblee
              || ' » inconnue (attendu : EPCI ou commune)'
       FROM rapport_annuel_vote WHERE assemblee NOT IN ('EPCI', 'commune')""",
    """SELECT 'vote du rapport annuel ' || code_contrat || ' ' || annee || ' : ' || assemblee || ' '
              || code_collectivite || ' présent plusieurs fois'
       FROM rapport_annuel_vote GROUP BY code_contrat, annee, assemblee, code_collectivite HAVING count(*) > 1""",
    """SELECT 'contribution au rapport annuel ' || code_contrat || ' ' || annee || ' : ' || conseil || ' du '
              || strftime(date_reception, '%d/%m/%Y') || ' présente plusieurs fois'
       FROM rapport_annuel_contribution GROUP BY code_contrat, annee, conseil, date_reception HAVING count(*) > 1""",
    """SELECT 'vote du rapport annuel ' || v.code_contrat || ' ' || v.annee
              || ' le ' || strftime(v.date_vote, '%d/%m/%Y')
              || ' : avant l''envoi aux conseils citoyens (' || strftime(r.date_envoi_conseils, '%d/%m/%Y') || ')'
       FROM rapport_annuel_vote v JOIN rapport_annuel r USING (code_contrat, annee)
       WHERE v.date_vote < r.date_envoi_conseils""",
    """SELECT 'contribution au rapport annuel ' || k.code_contrat || ' ' || k.annee || ' du '
              || strftime(k.date_reception, '%d/%m/%Y')
              || CASE WHEN r.date_envoi_conseils IS NULL THEN ' : sans envoi aux conseils citoyens enregistré'
                      ELSE ' : avant l''envoi aux conseils citoyens ('
                           || strftime(r.date_envoi_conseils, '%d/%m/%Y') || ')' END
       FROM rapport_annuel_contribution k LEFT JOIN rapport_annuel r USING (code_contrat, annee)
       WHERE r.date_envoi_conseils IS NULL OR k.date_reception < r.date_envoi_conseils""",
    """SELECT 'publication du rapport annuel ' || r.code_contrat || ' ' || r.annee || ' le '
              || strftime(r.date_publication, '%d/%m/%Y')
              || CASE WHEN v.premier_vote IS NULL THEN ' : aucun vote enregistré'
                      ELSE ' : avant le premier vote (' || strftime(v.premier_vote, '%d/%m/%Y') || ')' END
       FROM rapport_annuel r LEFT JOIN (SELECT code_contrat, annee, min(date_vote) AS premier_vote
                                        FROM rapport_annuel_vote GROUP BY ALL) v USING (code_contrat, annee)
       WHERE r.date_publication IS NOT NULL AND (v.premier_vote IS NULL OR r.date_publication < v.premier_vote)""",
    """SELECT 'publication du rapport annuel ' || code_contrat || ' ' || annee
              || ' : la date et le lien (https://…) vont ensemble'
       FROM rapport_annuel
       WHERE (date_publication IS NULL) <> (lien_publication IS NULL)
          OR (lien_publication IS NOT NULL AND NOT starts_with(lien_publication, 'https://'))""",
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
          OR (f.id_decision IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM decision d WHERE d.id_decision = f.id_decision))""",
)


def rule_tables(rule: str) -> set[str]:
    """The names a rule's SQL contains, as words (table names among them): a rule is checked
    after a write to any of them. A word that is not a table only makes the rule run more often."""
    return set(re.findall(r"[a-z_][a-z0-9_]*", rule))


def integrity_errors(
    cur: duckdb.DuckDBPyConnection, *, limit: int = 50, written: Iterable[str] | None = None
) -> list[str]:
    """Cross-table rules that no CHECK constraint can express (on a DuckLake, its keys and
    checks too); empty when the store is sound. `written`: only the rules naming one of these
    tables (see `transaction`)."""
    problems: list[str] = []
    tables = None if written is None else set(written)
    rules = _INTEGRITY_RULES + _reference().rules if on_lake(cur) else _INTEGRITY_RULES
    for rule in rules:
        if tables is not None and not tables & rule_tables(rule):
            continue
        # sorted: the same store gives the same message (a parallel scan returns rows in any order)
        try:
            problems += [
                row[0]
                for row in cur.execute(
                    "SELECT * FROM (" + rule + ") ORDER BY 1 LIMIT $limit", {"limit": limit}
                ).fetchall()
            ]
        except duckdb.CatalogException as exc:
            # a rule of a later migration on a store not migrated that far (tests of migrations
            # write to older schemas): a table it names does not exist, so it has nothing to check
            # (a binder error leaves the transaction usable)
            missing = re.search(r"Table with name (\w+) does not exist", str(exc))
            if missing is None or missing[1] not in rule_tables(rule) or missing[1] in table_names(cur):
                raise
            continue
        if len(problems) >= limit:
            break
    return problems
