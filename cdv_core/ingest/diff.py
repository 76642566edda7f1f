"""What an import would change, read from the store without writing: each load staged against
its table (`stage`: new, changed, unchanged rows), the rows absent from the file within its
scope, the rows that hang on deleted ones (`CASCADE`); the counts and details shown before a
commit (`diff`), and the rows an import or a rollback would touch (`touched`,
`rollback_touched`, read by `validation`). Table and column names come from the store's own
catalogue (allow-list); values only ever travel as registered frames or parameters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import duckdb
import polars as pl

from cdv_core import store
from cdv_core.ingest.model import Load

DETAIL_CAP = 2000
STAGED = "_import_staged"
_INPUT = "_import_input"
TRACKING_COLUMN = "id_import"  # in the bulk tables: the import that inserted the row


def table_columns(cur: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> dict[str, str]:
    rows = cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = $s AND table_name = $t ORDER BY ordinal_position",
        {"s": schema, "t": table},
    ).fetchall()
    return dict(rows)


def scope_columns(load: Load) -> tuple[str, ...]:
    """The columns that delimit the load's « absent » rows (none: the whole table)."""
    group = load.replace_group or load.scope_col
    if not group:
        return ()
    return (group,) if isinstance(group, str) else tuple(group)


class Dependent(NamedTuple):
    """A table whose rows hang on another's: deleted with them (see `CASCADE`)."""

    table: str
    fk: str  # its column holding the parent's key
    key: tuple[str, ...]  # its own key (the rollback restores by it)
    label: tuple[str, str]  # how the import summary names deleted rows (singular, plural)


# When an import deletes actions (« Supprimer les absents »), what hangs on them goes too: their
# funding lines, their links to QPV and objectives and their porteurs' bilans (saved for the
# rollback like the actions).
# A meeting decision that points at one still refuses the import (a store rule).
CASCADE: dict[str, tuple[Dependent, ...]] = {
    "action": (
        Dependent(
            "financement",
            "code_action",
            ("code_action", "financeur", "annee"),
            ("ligne de financement supprimée", "lignes de financement supprimées"),
        ),
        Dependent(
            "action_quartier",
            "code_action",
            ("code_action", "code_qp"),
            ("rattachement à un QPV supprimé", "rattachements à un QPV supprimés"),
        ),
        Dependent(
            "action_objectif",
            "code_action",
            ("code_action", "code_objectif"),
            ("rattachement à un objectif supprimé", "rattachements à un objectif supprimés"),
        ),
        Dependent(
            "bilan_action",
            "code_action",
            ("code_action", "annee"),
            ("bilan de porteur supprimé", "bilans de porteurs supprimés"),
        ),
    )
}


def _casts(columns: Iterable[str], types: dict[str, str]) -> store.Sql:
    """`CAST(c AS type) AS c` for each column, to the store's type of it (checked: `store.sql_type`)."""
    return store.Sql(", ".join(store.sql("CAST({c} AS {t}) AS {c}", c=c, t=store.sql_type(types[c])) for c in columns))


def _check_names(cur, load: Load) -> dict[str, str]:
    if load.table not in store.table_names(cur):
        raise store.StoreError(f"Table inconnue : {load.table}")
    types = table_columns(cur, load.table)
    named = [*load.frame.columns, *load.key, *load.update_cols, *scope_columns(load)]
    unknown = [c for c in named if c and (c not in types or c not in load.frame.columns or c == TRACKING_COLUMN)]
    if unknown:
        raise store.StoreError(f"Colonnes inconnues pour {load.table} : {', '.join(unknown)}")
    store.check_identifier(load.table, *(c for c in named if c))
    return types


def stage(cur: duckdb.DuckDBPyConnection, load: Load, *, slim: bool = False) -> tuple[dict[str, str], bool]:
    """_import_staged: the load's rows cast to the store's types, with _etat = nouveau / modifié /
    inchangé (only `update_cols` count for « modifié »).

    When none of the load's keys is in the table yet (a first import), every row is « nouveau »:
    _import_staged is then a TEMP VIEW over the registered rows, and nothing is copied or joined.
    Otherwise it is a TEMP table joined to the store's rows; `slim` (the diff, which writes
    nothing) then keeps the values of the updated columns only on « modifié » rows: the diff reads
    no other. `unstage` drops either form. Returns the store's column types and whether every
    row is new."""
    types = _check_names(cur, load)
    unstage(cur)
    cols = load.frame.columns
    # plain strings, not Polars' string views: DuckDB 1.5 pushes join filters down to pyarrow,
    # which has no `string_view = string` kernel (« Function 'equal' has no kernel… »)
    cur.register(_INPUT, load.frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
    casts = _casts(cols, types)
    on = " AND ".join(f"i.{k} = t.{k}" for k in load.key)
    if _all_new(cur, load, types):
        cur.execute(
            store.sql(
                "CREATE TEMP VIEW {view} AS SELECT {casts}, 'nouveau' AS _etat FROM {rows}",
                view=STAGED,
                casts=casts,
                rows=_INPUT,
            )
        )
        return types, True
    changed = " OR ".join(f"i.{c} IS DISTINCT FROM t.{c}" for c in load.update_cols) or "false"
    kept = {*load.key, *scope_columns(load)}
    columns = (
        "*"
        if not slim
        else ", ".join(
            [c if c in kept else f"CASE WHEN _etat = 'modifié' THEN {c} END AS {c}" for c in cols] + ["_etat"]
        )
    )
    cur.execute(
        f"CREATE TEMP TABLE {STAGED} AS SELECT {columns} FROM ("
        f"SELECT i.*, CASE WHEN t._found IS NULL THEN 'nouveau' WHEN {changed} THEN 'modifié' "
        f"ELSE 'inchangé' END AS _etat "
        f"FROM (SELECT {casts} FROM {_INPUT}) i "
        f"LEFT JOIN (SELECT *, true AS _found FROM {load.table}) t ON {on})"
    )
    cur.unregister(_INPUT)
    return types, False


def _all_new(cur: duckdb.DuckDBPyConnection, load: Load, types: dict[str, str]) -> bool:
    """Whether no key of the registered rows is in the load's table (stops at the first one found)."""
    key_casts = _casts(load.key, types)
    on = " AND ".join(f"i.{k} = t.{k}" for k in load.key)
    return not store.scalar(
        cur, f"SELECT EXISTS (SELECT 1 FROM (SELECT {key_casts} FROM {_INPUT}) i JOIN {load.table} t ON {on})"
    )


def unstage(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop _import_staged (view or table) and the registered rows."""
    if store.scalar(cur, "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = $n", {"n": STAGED}):
        cur.execute(store.sql("DROP VIEW {staged}", staged=STAGED))
    cur.execute(store.sql("DROP TABLE IF EXISTS {staged}", staged=STAGED))
    cur.unregister(_INPUT)


def absent_rows_sql(load: Load, replace_scope: bool, fresh: bool) -> tuple[store.Sql, bool]:
    """SELECT of the store rows the file does not contain, within the load's scope; and whether
    they will be deleted (link tables: always; others: only when replacing the scope). `fresh`:
    no key of the file is in the table (see `stage`), so every store row is absent from it."""
    names = {"table": load.table, "staged": STAGED}
    absent = (
        store.sql("SELECT t.* FROM {table} t WHERE true", **names)
        if fresh
        else store.sql(
            "SELECT t.* FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM {staged} s WHERE {on})",
            on=store.matching(load.key, "s", "t"),
            **names,
        )
    )
    scope = scope_columns(load)
    if len(scope) == 1:
        # no DISTINCT: DuckDB then hashes the (usually smaller) store side of this semi-join
        absent = store.sql("{absent} AND t.{c} IN (SELECT {c} FROM {staged})", absent=absent, c=scope[0], staged=STAGED)
    elif scope:
        absent = store.sql(
            "{absent} AND EXISTS (SELECT 1 FROM {staged} g WHERE {same})",
            absent=absent,
            staged=STAGED,
            same=store.matching(scope, "g", "t"),
        )
    return absent, bool(load.replace_group) or replace_scope


def cascade_rows_sql(load: Load, gone_sql: store.Sql) -> list[tuple[Dependent, store.Sql]]:
    """(dependent table, SELECT of its rows hanging on the rows `gone_sql` deletes)."""
    return [
        (
            d,
            store.sql(
                "SELECT c.* FROM {table} c WHERE c.{fk} IN (SELECT {fk} FROM ({gone}))",
                table=d.table,
                fk=d.fk,
                gone=gone_sql,
            ),
        )
        for d in CASCADE.get(load.table, ())
    ]


def _key_text(alias: str, key: tuple[str, ...], types: dict[str, str]) -> str:
    return "concat_ws(' / ', " + ", ".join(_as_text(f"{alias}.{k}", types[k]) for k in key) + ")"


def _as_text(expr: str, type_: str) -> str:
    """SQL turning a value into the French text the diff shows: `31/03/2024`, `12 500,50`
    (narrow no-break space between thousands, as `fmt`), « (vide) » for an empty cell."""
    if type_ == "DATE":
        text = f"strftime({expr}, '%d/%m/%Y')"
    elif type_.startswith("DECIMAL"):
        scale = re.search(r",\s*(\d+)\)", type_)
        text = f"translate(format('{{:,.{scale.group(1) if scale else 2}f}}', {expr}), ',.', chr(8239) || ',')"
    elif type_ == "DOUBLE":
        text = f"regexp_replace(translate(format('{{:,}}', {expr}), ',.', chr(8239) || ','), ',0$', '')"
    else:
        text = f"CAST({expr} AS VARCHAR)"
    return f"coalesce({text}, '(vide)')"


def diff(
    cur: duckdb.DuckDBPyConnection, loads: list[Load], *, replace_scope: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Counts per table (nouveaux, modifiés, inchangés, absents) and details (capped)."""
    counts, details = [], []
    for load in loads:
        types, fresh = stage(cur, load, slim=True)
        n = dict(cur.execute(store.sql("SELECT _etat, count(*) FROM {staged} GROUP BY 1", staged=STAGED)).fetchall())
        absent_sql, deleted = absent_rows_sql(load, replace_scope, fresh)
        n_absent = store.scalar(cur, f"SELECT count(*) FROM ({absent_sql})")
        counts.append(
            {
                "table": load.table,
                "nouveaux": n.get("nouveau", 0),
                "modifiés": n.get("modifié", 0),
                "inchangés": n.get("inchangé", 0),
                "absents du fichier": n_absent,
                "sort des absents": ("supprimés" if deleted else "conservés") if n_absent else "",
            }
        )
        if deleted and n_absent:
            for dep, child_sql in cascade_rows_sql(load, absent_sql):
                n_child = store.scalar(cur, f"SELECT count(*) FROM ({child_sql})")
                if n_child:
                    counts.append(
                        {
                            "table": f"{dep.table} (des {load.table}s supprimées)",
                            "nouveaux": 0,
                            "modifiés": 0,
                            "inchangés": 0,
                            "absents du fichier": n_child,
                            "sort des absents": "supprimés",
                        }
                    )
        on = " AND ".join(f"i.{k} = t.{k}" for k in load.key)
        parts = [
            f"SELECT '{load.table}' AS table_, {_key_text('i', load.key, types)} AS cle, 'modifié' AS etat, "
            f"'{c}' AS colonne, {_as_text('t.' + c, types[c])} AS avant, {_as_text('i.' + c, types[c])} AS apres "
            f"FROM {STAGED} i JOIN {load.table} t ON {on} WHERE i._etat = 'modifié' AND i.{c} IS DISTINCT FROM t.{c}"
            for c in load.update_cols
        ]
        parts.append(
            f"SELECT '{load.table}', {_key_text('i', load.key, types)}, 'nouveau', '', '', '' FROM {STAGED} i "
            "WHERE i._etat = 'nouveau'"
        )
        parts.append(
            f"SELECT '{load.table}', {_key_text('t', load.key, types)}, "
            f"'{'supprimé' if deleted else 'absent du fichier (conservé)'}', '', '', '' FROM ({absent_sql}) t"
        )
        for part in parts:
            details.append(cur.execute(part + f" LIMIT {DETAIL_CAP}").pl())
    unstage(cur)
    names = ["table", "clé", "état", "colonne", "avant", "après"]
    detail = (
        pl.concat([d.rename(dict(zip(d.columns, names))) for d in details])
        if details
        else pl.DataFrame(schema={n: pl.String for n in names})
    )
    return pl.DataFrame(counts), detail


def touched(
    cur: duckdb.DuckDBPyConnection, loads: list[Load], *, replace_scope: bool = False
) -> Iterator[tuple[str, str]]:
    """For each load, while it is staged: (table, SELECT of the whole rows of that table the import
    would add, change — both their old and their new values — or delete, with the rows deleted
    along with deleted actions). Nothing is written; `validation.affected_validations` reads them."""
    for load in loads:
        types, fresh = stage(cur, load)
        try:
            keys, on = ", ".join(load.key), " AND ".join(f"s.{k} = t.{k}" for k in load.key)
            # a file may carry some columns only: the others of a changed row are the store's
            new = ", ".join(f"s.{c}" if c in load.frame.columns else f"t.{c}" for c in types)
            absent_sql, deleted = absent_rows_sql(load, replace_scope, fresh)
            yield (
                load.table,
                (
                    f"SELECT {new} FROM {STAGED} s LEFT JOIN {load.table} t ON {on} "
                    "WHERE s._etat IN ('nouveau', 'modifié') "
                    f"UNION ALL SELECT t.* FROM {load.table} t SEMI JOIN "
                    f"(SELECT {keys} FROM {STAGED} WHERE _etat = 'modifié') s USING ({keys})"
                    + (f" UNION ALL {absent_sql}" if deleted else "")
                ),
            )
            if deleted:
                for dep, child_sql in cascade_rows_sql(load, absent_sql):
                    yield dep.table, child_sql
        finally:
            unstage(cur)


def snapshot_table(kind: str, id_import: int, table: str, order: int | None = None) -> str:
    """Name of a rollback table; with the write's order since one import may write a table twice
    (its own rows, and those deleted with the actions they hang on); without it for older imports."""
    tag = "" if order is None else f"{int(order)}_"
    return f"annulation.i{int(id_import)}_{tag}{table}_{kind}"


def rollback_touched(cur: duckdb.DuckDBPyConnection, id_import: int) -> Iterator[tuple[str, str]]:
    """`touched` for the rollback of import `id_import`: per table it wrote, (table, SELECT of
    the whole rows the rollback would remove, replace or restore). Nothing is written."""
    snapshots = {
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'annulation'"
        ).fetchall()
    }
    tables = store.table_names(cur)
    for ordre, table, cle in cur.execute(
        "SELECT ordre, nom_table, cle FROM import_annulation WHERE id_import = $id ORDER BY ordre", {"id": id_import}
    ).fetchall():
        keys = cle.split(",")
        if table not in tables:
            continue
        store.check_identifier(table, *keys)
        avant, nouveaux = (snapshot_table(kind, id_import, table, ordre) for kind in ("avant", "nouveaux"))
        if avant.split(".")[1] not in snapshots:  # as in `rollback`: imports made before the order was in the names
            avant, nouveaux = snapshot_table("avant", id_import, table), snapshot_table("nouveaux", id_import, table)
        using = ", ".join(keys)
        parts = (
            [f"SELECT * FROM {table} WHERE {TRACKING_COLUMN} = {int(id_import)}"]
            if TRACKING_COLUMN in table_columns(cur, table)
            else []
        )
        if avant.split(".")[1] in snapshots:
            parts += [f"SELECT * FROM {avant}", f"SELECT t.* FROM {table} t SEMI JOIN {avant} a USING ({using})"]
        if nouveaux.split(".")[1] in snapshots:
            parts.append(f"SELECT t.* FROM {table} t SEMI JOIN {nouveaux} n USING ({using})")
        if parts:
            yield table, " UNION ALL BY NAME ".join(parts)
