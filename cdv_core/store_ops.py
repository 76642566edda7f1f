"""Whole-store operations of the command line: copy a store to another backend (a laptop file
moving to a shared DuckLake, or back), its per-table digest, and periodic maintenance."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from cdv_core import store

_log = logging.getLogger(__name__)
_SOURCE = "cdv_source"
ROLLBACK_SCHEMA = "annulation"  # rollback data of imports (migration 0003): copied with the rest


def digest(cur: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, tuple[int, int]]:
    """Per table (`schema.table`), its row count and an order-free hash of its rows: two stores
    with the same digest hold the same rows."""
    catalog = catalog or store.scalar(cur, "SELECT current_database()")
    tables = cur.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = $c "
        "AND table_schema IN ('main', $r) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
        {"c": catalog, "r": ROLLBACK_SCHEMA},
    ).fetchall()
    result = {}
    for schema, table in tables:
        store.check_identifier(schema, table)
        # the version row is the store's own counter: a copy starts above the target's (see _copy_tables)
        where = " WHERE cle <> 'store_version'" if (schema, table) == ("main", "store_meta") else ""
        count, total = cur.execute(
            f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{catalog}".{schema}.{table} t{where}'
        ).fetchall()[0]
        result[f"{schema}.{table}"] = (int(count), int(total))
    return result


def copy_store(source: Path | str, target: Path | str) -> dict[str, int]:
    """Copy every table of `source` into a new or empty `target` (file or DuckLake), in one
    transaction whose digests are compared before COMMIT. Returns the rows copied per table.
    The source is only read; a refused or failed copy raises a French StoreError and leaves the
    target as it was (a new file is removed)."""
    store.connect(source).close()  # brings the source's schema up to date, and fails in French early
    new_file = not store.is_lake(target)
    if new_file and Path(target).exists():
        raise store.StoreError(
            f"Le fichier {target} existe déjà : la copie s'écrit dans un fichier nouveau ou une base partagée vide."
        )
    try:
        if new_file:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            duckdb.connect(str(target)).close()
        con = store.connect(target)
        try:
            cur = con.cursor()
            if not store.is_empty(cur):
                raise store.StoreError(
                    f"La base {store.describe(target)} contient déjà des données : la copie "
                    "s'écrit dans une base vide. Rien n'a été modifié."
                )
            _attach_read_only(cur, source)
            try:
                copied = _copy_tables(cur)
            finally:
                cur.execute(store.sql("DETACH {source}", source=_SOURCE))
        finally:
            con.close()
    except BaseException as exc:
        if new_file:
            for leftover in (Path(target), Path(str(target) + ".wal")):
                leftover.unlink(missing_ok=True)
        if isinstance(exc, (duckdb.Error, OSError)):  # a full disk, a lost connection…: said in French
            raise store.write_error(exc) from exc
        raise
    _log.info(
        "Store copied: %s -> %s, %d tables, %d rows",
        store.describe(source),
        store.describe(target),
        len(copied),
        sum(copied.values()),
    )
    return copied


def _attach_read_only(cur: duckdb.DuckDBPyConnection, source: Path | str) -> None:
    if store.is_lake(source):
        store.lake_conninfo(str(source))  # a PostgreSQL catalog, or a French error
        store.install_lake_extensions()
    cur.execute("ATTACH '" + str(source).replace("'", "''") + f"' AS {_SOURCE} (READ_ONLY)")


def _copy_tables(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    copied = {}
    ours = set(store.table_names(cur))
    with store.plain_transaction(cur) as tx:  # not `store.transaction`: the copy logs nothing
        version = max(
            store.store_version(tx),
            int(
                store.scalar(
                    tx, store.sql("SELECT valeur FROM {src}.main.store_meta WHERE cle = 'store_version'", src=_SOURCE)
                )
            ),
        )
        for schema, table in tx.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = $c "
            "AND table_schema IN ('main', $r) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            {"c": _SOURCE, "r": ROLLBACK_SCHEMA},
        ).fetchall():
            name, source = (
                store.sql("{s}.{t}", s=schema, t=table),
                store.sql("{src}.{s}.{t}", src=_SOURCE, s=schema, t=table),
            )
            if schema == "main" and table not in ours:
                raise store.StoreError(f"Table {table} de la source inconnue de cette version de l'application.")
            if schema == "main":
                tx.execute(store.sql("DELETE FROM {n}", n=name))  # bookkeeping rows the new schema wrote
                tx.execute(store.sql("INSERT INTO {n} BY NAME SELECT * FROM {src}", n=name, src=source))
            else:
                tx.execute(store.sql("CREATE SCHEMA IF NOT EXISTS {s}", s=schema))
                tx.execute(store.sql("CREATE TABLE {n} AS SELECT * FROM {src}", n=name, src=source))
            copied[f"{schema}.{table}"] = store.scalar(tx, store.sql("SELECT count(*) FROM {n}", n=name))
        # never below what an instance already open on the target has cached
        tx.execute("UPDATE main.store_meta SET valeur = $v WHERE cle = 'store_version'", {"v": str(version + 1)})
        theirs, ours_now = digest(tx, _SOURCE), digest(tx)
        if theirs != ours_now:  # before COMMIT: a copy that differs is never kept
            different = sorted(t for t in theirs.keys() | ours_now.keys() if theirs.get(t) != ours_now.get(t))
            raise store.StoreError(
                "La copie ne correspondait pas à la source pour : " + ", ".join(different) + ". Rien n'a été écrit."
            )
    return copied


def maintenance(target: Path | str, *, keep_days: int = 7) -> list[str]:
    """Periodic upkeep; returns what was done, in French (a failure: a French StoreError). A
    DuckLake: small files merged, inlined rows flushed to files, snapshots older than `keep_days`
    expired and their files deleted. An import's rollback does not need old snapshots (it keeps its
    own copy of the rows it replaced, in the `annulation` schema), so expiry never prevents one.
    A file: CHECKPOINT."""
    con = store.connect(target)
    try:
        cur = con.cursor()
        if not store.on_lake(cur):
            cur.execute("CHECKPOINT")
            return ["fichier : point de contrôle écrit (CHECKPOINT)"]
        lake = store.scalar(cur, "SELECT current_database()")
        steps: tuple[tuple[str, dict[str, object], str], ...] = (
            # counted in SQL: the rows hold time-zone timestamps, which Python would need pytz to read
            (
                "SELECT count(*) FROM ducklake_flush_inlined_data($l)",
                {},
                "données en attente écrites dans des fichiers ({n} table(s))",
            ),
            (
                "SELECT count(*) FROM ducklake_merge_adjacent_files($l)",
                {},
                "petits fichiers fusionnés ({n} opération(s))",
            ),
            (
                "SELECT count(*) FROM ducklake_expire_snapshots($l, older_than => now() - to_days($d))",
                {"d": keep_days},
                f"{{n}} version(s) de plus de {keep_days} jours expirée(s)",
            ),
            (
                "SELECT count(*) FROM ducklake_cleanup_old_files($l, cleanup_all => true)",
                {},
                "{n} fichier(s) devenu(s) inutile(s) supprimé(s)",
            ),
            # files of writes that never committed (a killed import); a day old, so none still being written
            (
                "SELECT count(*) FROM ducklake_delete_orphaned_files($l, older_than => now() - INTERVAL 1 DAY)",
                {},
                "{n} fichier(s) orphelin(s) d'écritures interrompues supprimé(s)",
            ),
        )
        done = []
        for sql, params, label in steps:
            done.append(label.format(n=_with_retries(cur, sql, {"l": lake} | params)))
        _log.info("Store maintenance: %s: %s", store.describe(target), "; ".join(done))
        return done
    except (duckdb.Error, OSError) as exc:  # e.g. CHECKPOINT on a full disk: said in French
        raise store.write_error(exc) from exc
    finally:
        con.close()


def _with_retries(cur: duckdb.DuckDBPyConnection, sql: str, params: dict):
    """One maintenance step; the app's writes may commit meanwhile (PostgreSQL then refuses the
    step's catalog update): it runs again, and after the last attempt says so in French."""
    try:
        return store.retrying(lambda: store.scalar(cur, sql, params), retry_on=duckdb.Error, pause=0.2)
    except duckdb.Error as exc:
        raise store.StoreError(
            "La maintenance n'a pas pu se faire pendant que l'application écrivait ; "
            "relancez-la plus tard (rien n'a été perdu). (Détail technique : "
            f"{store.describe(str(exc).splitlines()[0])[:200]})"
        ) from exc
