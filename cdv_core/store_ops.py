"""Whole-store operations of the command line: copy a store to another backend (a laptop file
moving to a shared DuckLake, or back), its per-table digest, and periodic maintenance."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cdv_core import store

_SOURCE = "cdv_source"
ROLLBACK_SCHEMA = "annulation"  # rollback data of imports (migration 0003): copied with the rest


def digest(cur: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, tuple[int, int]]:
    """Per table (`schema.table`), its row count and an order-free hash of its rows: two stores
    with the same digest hold the same rows."""
    catalog = catalog or store.scalar(cur, "SELECT current_database()")
    tables = cur.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = $c "
                         "AND table_schema IN ('main', $r) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
                         {"c": catalog, "r": ROLLBACK_SCHEMA}).fetchall()
    result = {}
    for schema, table in tables:
        store.check_identifier(schema, table)
        count, total = cur.execute(
            f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{catalog}".{schema}.{table} t').fetchall()[0]
        result[f"{schema}.{table}"] = (int(count), int(total))
    return result


def copy_store(source: Path | str, target: Path | str) -> dict[str, int]:
    """Copy every table of `source` into a new or empty `target` (file or DuckLake), in one
    transaction, then compare their digests. Returns the rows copied per table. The source is
    only read; a refused copy leaves the target as it was."""
    store.connect(source).close()  # brings the source's schema up to date, and fails in French early
    if not store.is_lake(target) and Path(target).exists():
        raise store.StoreError(f"Le fichier {target} existe déjà : la copie s'écrit dans un fichier nouveau "
                               "ou une base partagée vide.")
    if not store.is_lake(target):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        duckdb.connect(str(target)).close()
    try:
        con = store.connect(target)
    except BaseException:
        if not store.is_lake(target):
            Path(target).unlink(missing_ok=True)
        raise
    try:
        cur = con.cursor()
        if not store.is_empty(cur):
            raise store.StoreError(f"La base {store.describe(target)} contient déjà des données : la copie s'écrit "
                                   "dans une base vide. Rien n'a été modifié.")
        _attach_read_only(cur, source)
        try:
            copied = _copy_tables(cur)
            theirs, ours = digest(cur, _SOURCE), digest(cur)
        finally:
            cur.execute(f"DETACH {_SOURCE}")
    finally:
        con.close()
    if theirs != ours:
        different = sorted(t for t in theirs.keys() | ours.keys() if theirs.get(t) != ours.get(t))
        raise store.StoreError("La copie ne correspond pas à la source pour : " + ", ".join(different)
                               + ". Ne l'utilisez pas ; recommencez dans une base vide.")
    return copied


def _attach_read_only(cur: duckdb.DuckDBPyConnection, source: Path | str) -> None:
    if store.is_lake(source):
        store.lake_conninfo(str(source))  # a PostgreSQL catalog, or a French error
        store.install_lake_extensions()
    cur.execute("ATTACH '" + str(source).replace("'", "''") + f"' AS {_SOURCE} (READ_ONLY)")


def _copy_tables(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    copied = {}
    ours = set(store.table_names(cur))
    with store.plain_transaction(cur) as tx:  # not `store.transaction`: the copy bumps and logs nothing
        for schema, table in tx.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = $c "
                "AND table_schema IN ('main', $r) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
                {"c": _SOURCE, "r": ROLLBACK_SCHEMA}).fetchall():
            store.check_identifier(schema, table)
            if schema == "main" and table not in ours:
                raise store.StoreError(f"Table {table} de la source inconnue de cette version de l'application.")
            if schema == "main":
                tx.execute(f"DELETE FROM main.{table}")  # bookkeeping rows the new schema wrote
                tx.execute(f"INSERT INTO main.{table} BY NAME SELECT * FROM {_SOURCE}.main.{table}")
            else:
                tx.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                tx.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM {_SOURCE}.{schema}.{table}")
            copied[f"{schema}.{table}"] = store.scalar(tx, f"SELECT count(*) FROM {schema}.{table}")
    return copied


def maintenance(target: Path | str, *, keep_days: int = 7) -> list[str]:
    """Periodic upkeep; returns what was done, in French. A DuckLake: small files merged, inlined
    rows flushed to files, snapshots older than `keep_days` expired and their files deleted.
    An import's rollback does not need old snapshots (it keeps its own copy of the rows it
    replaced, in the `annulation` schema), so expiry never prevents one. A file: CHECKPOINT."""
    con = store.connect(target)
    try:
        cur = con.cursor()
        if not store.on_lake(cur):
            cur.execute("CHECKPOINT")
            return ["fichier : point de contrôle écrit (CHECKPOINT)"]
        lake = store.scalar(cur, "SELECT current_database()")
        done = []
        # counted in SQL: the rows hold time-zone timestamps, which Python would need pytz to read
        n = store.scalar(cur, "SELECT count(*) FROM ducklake_flush_inlined_data($l)", {"l": lake})
        done.append(f"données en attente écrites dans des fichiers ({n} table(s))")
        n = store.scalar(cur, "SELECT count(*) FROM ducklake_merge_adjacent_files($l)", {"l": lake})
        done.append(f"petits fichiers fusionnés ({n} opération(s))")
        n = store.scalar(cur, "SELECT count(*) FROM ducklake_expire_snapshots($l, older_than => now() - to_days($d))",
                         {"l": lake, "d": keep_days})
        done.append(f"{n} version(s) de plus de {keep_days} jours expirée(s)")
        n = store.scalar(cur, "SELECT count(*) FROM ducklake_cleanup_old_files($l, cleanup_all => true)", {"l": lake})
        done.append(f"{n} fichier(s) devenu(s) inutile(s) supprimé(s)")
        return done
    finally:
        con.close()
