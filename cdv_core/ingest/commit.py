"""Diff against the store, commit in one transaction with the import log and rollback data,
and rollback of an import. Table and column names come from the store's own catalogue
(allow-list); values only ever travel as registered frames or parameters."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

import duckdb
import polars as pl

from cdv_core import access, fmt, store
from cdv_core.perimetre import IMPORT_IN_SCOPE, bind
from cdv_core.ingest.pipeline import Analysis, Load

DETAIL_CAP = 2000
_STAGED = "_import_staged"
_INPUT = "_import_input"
TRACKING_COLUMN = "id_import"  # in the bulk tables: the import that inserted the row


class ImportRefused(store.StoreError):
    """The file has errors (or nothing to write): nothing was written."""


def _columns(cur: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> dict[str, str]:
    rows = cur.execute("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = $s AND table_name = $t ORDER BY ordinal_position",
                       {"s": schema, "t": table}).fetchall()
    return dict(rows)




def _scope(load: Load) -> tuple[str, ...]:
    """The columns that delimit the load's « absent » rows (none: the whole table)."""
    group = load.replace_group or load.scope_col
    if not group:
        return ()
    return (group,) if isinstance(group, str) else tuple(group)


class Dependent(NamedTuple):
    """A table whose rows hang on another's: deleted with them (see `CASCADE`)."""

    table: str
    fk: str                      # its column holding the parent's key
    key: tuple[str, ...]         # its own key (the rollback restores by it)
    label: tuple[str, str]       # how the import summary names deleted rows (singular, plural)


# When an import deletes actions (« Supprimer les absents »), what hangs on them goes too: their
# funding lines, their links to QPV and objectives and their porteurs' bilans (saved for the
# rollback like the actions).
# A meeting decision that points at one still refuses the import (a store rule).
CASCADE: dict[str, tuple[Dependent, ...]] = {"action": (
    Dependent("financement", "code_action", ("code_action", "financeur", "annee"),
              ("ligne de financement supprimée", "lignes de financement supprimées")),
    Dependent("action_quartier", "code_action", ("code_action", "code_qp"),
              ("rattachement à un QPV supprimé", "rattachements à un QPV supprimés")),
    Dependent("action_objectif", "code_action", ("code_action", "code_objectif"),
              ("rattachement à un objectif supprimé", "rattachements à un objectif supprimés")),
    Dependent("bilan_action", "code_action", ("code_action", "annee"),
              ("bilan de porteur supprimé", "bilans de porteurs supprimés")),
)}


def _check_names(cur, load: Load) -> dict[str, str]:
    if load.table not in store.table_names(cur):
        raise store.StoreError(f"Table inconnue : {load.table}")
    types = _columns(cur, load.table)
    named = [*load.frame.columns, *load.key, *load.update_cols, *_scope(load)]
    unknown = [c for c in named if c and (c not in types or c not in load.frame.columns or c == TRACKING_COLUMN)]
    if unknown:
        raise store.StoreError(f"Colonnes inconnues pour {load.table} : {', '.join(unknown)}")
    store.check_identifier(load.table, *(c for c in named if c))
    return types


def _stage(cur: duckdb.DuckDBPyConnection, load: Load, *, slim: bool = False) -> tuple[dict[str, str], bool]:
    """_import_staged: the load's rows cast to the store's types, with _etat = nouveau / modifié /
    inchangé (only `update_cols` count for « modifié »).

    When none of the load's keys is in the table yet (a first import), every row is « nouveau »:
    _import_staged is then a TEMP VIEW over the registered rows, and nothing is copied or joined.
    Otherwise it is a TEMP table joined to the store's rows; `slim` (the diff, which writes
    nothing) then keeps the values of the updated columns only on « modifié » rows: the diff reads
    no other. `_unstage` drops either form. Returns the store's column types and whether every
    row is new."""
    types = _check_names(cur, load)
    _unstage(cur)
    cols = load.frame.columns
    # plain strings, not Polars' string views: DuckDB 1.5 pushes join filters down to pyarrow,
    # which has no `string_view = string` kernel (« Function 'equal' has no kernel… »)
    cur.register(_INPUT, load.frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
    casts = ", ".join(f"CAST({c} AS {types[c]}) AS {c}" for c in cols)
    on = " AND ".join(f"i.{k} = t.{k}" for k in load.key)
    if _all_new(cur, load, types):
        cur.execute(f"CREATE TEMP VIEW {_STAGED} AS SELECT {casts}, 'nouveau' AS _etat FROM {_INPUT}")
        return types, True
    changed = " OR ".join(f"i.{c} IS DISTINCT FROM t.{c}" for c in load.update_cols) or "false"
    kept = {*load.key, *_scope(load)}
    columns = "*" if not slim else ", ".join(
        [c if c in kept else f"CASE WHEN _etat = 'modifié' THEN {c} END AS {c}" for c in cols] + ["_etat"])
    cur.execute(f"CREATE TEMP TABLE {_STAGED} AS SELECT {columns} FROM ("
                f"SELECT i.*, CASE WHEN t._found IS NULL THEN 'nouveau' WHEN {changed} THEN 'modifié' "
                f"ELSE 'inchangé' END AS _etat "
                f"FROM (SELECT {casts} FROM {_INPUT}) i "
                f"LEFT JOIN (SELECT *, true AS _found FROM {load.table}) t ON {on})")
    cur.unregister(_INPUT)
    return types, False


def _all_new(cur: duckdb.DuckDBPyConnection, load: Load, types: dict[str, str]) -> bool:
    """Whether no key of the registered rows is in the load's table (stops at the first one found)."""
    key_casts = ", ".join(f"CAST({k} AS {types[k]}) AS {k}" for k in load.key)
    on = " AND ".join(f"i.{k} = t.{k}" for k in load.key)
    return not store.scalar(cur, f"SELECT EXISTS (SELECT 1 FROM (SELECT {key_casts} FROM {_INPUT}) i "
                                 f"JOIN {load.table} t ON {on})")


def _unstage(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop _import_staged (view or table) and the registered rows."""
    if store.scalar(cur, "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = $n", {"n": _STAGED}):
        cur.execute(f"DROP VIEW {_STAGED}")
    cur.execute(f"DROP TABLE IF EXISTS {_STAGED}")
    cur.unregister(_INPUT)


def _absent_sql(load: Load, replace_scope: bool, fresh: bool) -> tuple[str, bool]:
    """SELECT of the store rows the file does not contain, within the load's scope; and whether
    they will be deleted (link tables: always; others: only when replacing the scope). `fresh`:
    no key of the file is in the table (see `_stage`), so every store row is absent from it."""
    on = " AND ".join(f"s.{k} = t.{k}" for k in load.key)
    scope = _scope(load)
    sql = (f"SELECT t.* FROM {load.table} t WHERE " +
           ("true" if fresh else f"NOT EXISTS (SELECT 1 FROM {_STAGED} s WHERE {on})"))
    if len(scope) == 1:
        # no DISTINCT: DuckDB then hashes the (usually smaller) store side of this semi-join
        sql += f" AND t.{scope[0]} IN (SELECT {scope[0]} FROM {_STAGED})"
    elif scope:
        same = " AND ".join(f"g.{c} = t.{c}" for c in scope)
        sql += f" AND EXISTS (SELECT 1 FROM {_STAGED} g WHERE {same})"
    return sql, bool(load.replace_group) or replace_scope


def _cascade_sql(load: Load, gone_sql: str) -> list[tuple[Dependent, str]]:
    """(dependent table, SELECT of its rows hanging on the rows `gone_sql` deletes)."""
    return [(d, f"SELECT c.* FROM {d.table} c WHERE c.{d.fk} IN (SELECT {d.fk} FROM ({gone_sql}))")
            for d in CASCADE.get(load.table, ())]


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


def diff(cur: duckdb.DuckDBPyConnection, loads: list[Load], *, replace_scope: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Counts per table (nouveaux, modifiés, inchangés, absents) and details (capped)."""
    counts, details = [], []
    for load in loads:
        types, fresh = _stage(cur, load, slim=True)
        n = dict(cur.execute(f"SELECT _etat, count(*) FROM {_STAGED} GROUP BY 1").fetchall())
        absent_sql, deleted = _absent_sql(load, replace_scope, fresh)
        n_absent = store.scalar(cur, f"SELECT count(*) FROM ({absent_sql})")
        counts.append({"table": load.table, "nouveaux": n.get("nouveau", 0), "modifiés": n.get("modifié", 0),
                       "inchangés": n.get("inchangé", 0), "absents du fichier": n_absent,
                       "sort des absents": ("supprimés" if deleted else "conservés") if n_absent else ""})
        if deleted and n_absent:
            for dep, child_sql in _cascade_sql(load, absent_sql):
                n_child = store.scalar(cur, f"SELECT count(*) FROM ({child_sql})")
                if n_child:
                    counts.append({"table": f"{dep.table} (des {load.table}s supprimées)", "nouveaux": 0,
                                   "modifiés": 0, "inchangés": 0, "absents du fichier": n_child,
                                   "sort des absents": "supprimés"})
        on = " AND ".join(f"i.{k} = t.{k}" for k in load.key)
        parts = [f"SELECT '{load.table}' AS table_, {_key_text('i', load.key, types)} AS cle, 'modifié' AS etat, "
                 f"'{c}' AS colonne, {_as_text('t.' + c, types[c])} AS avant, {_as_text('i.' + c, types[c])} AS apres "
                 f"FROM {_STAGED} i JOIN {load.table} t ON {on} WHERE i._etat = 'modifié' AND i.{c} IS DISTINCT FROM t.{c}"
                 for c in load.update_cols]
        parts.append(f"SELECT '{load.table}', {_key_text('i', load.key, types)}, 'nouveau', '', '', '' FROM {_STAGED} i "
                     "WHERE i._etat = 'nouveau'")
        parts.append(f"SELECT '{load.table}', {_key_text('t', load.key, types)}, "
                     f"'{'supprimé' if deleted else 'absent du fichier (conservé)'}', '', '', '' FROM ({absent_sql}) t")
        for part in parts:
            details.append(cur.sql(part + f" LIMIT {DETAIL_CAP}").pl())
    _unstage(cur)
    names = ["table", "clé", "état", "colonne", "avant", "après"]
    detail = (pl.concat([d.rename(dict(zip(d.columns, names))) for d in details]) if details
              else pl.DataFrame(schema={n: pl.String for n in names}))
    return pl.DataFrame(counts), detail


def touched(cur: duckdb.DuckDBPyConnection, loads: list[Load], *, replace_scope: bool = False) -> Iterator[tuple[str, str]]:
    """For each load, while it is staged: (table, SELECT of the whole rows of that table the import
    would add, change — both their old and their new values — or delete, with the rows deleted
    along with deleted actions). Nothing is written; `validation.affected_validations` reads them."""
    for load in loads:
        types, fresh = _stage(cur, load)
        try:
            keys, on = ", ".join(load.key), " AND ".join(f"s.{k} = t.{k}" for k in load.key)
            # a file may carry some columns only: the others of a changed row are the store's
            new = ", ".join(f"s.{c}" if c in load.frame.columns else f"t.{c}" for c in types)
            absent_sql, deleted = _absent_sql(load, replace_scope, fresh)
            yield load.table, (
                f"SELECT {new} FROM {_STAGED} s LEFT JOIN {load.table} t ON {on} WHERE s._etat IN ('nouveau', 'modifié') "
                f"UNION ALL SELECT t.* FROM {load.table} t SEMI JOIN "
                f"(SELECT {keys} FROM {_STAGED} WHERE _etat = 'modifié') s USING ({keys})"
                + (f" UNION ALL {absent_sql}" if deleted else ""))
            if deleted:
                for dep, child_sql in _cascade_sql(load, absent_sql):
                    yield dep.table, child_sql
        finally:
            _unstage(cur)


def rollback_touched(cur: duckdb.DuckDBPyConnection, id_import: int) -> Iterator[tuple[str, str]]:
    """`touched` for the rollback of import `id_import`: per table it wrote, (table, SELECT of
    the whole rows the rollback would remove, replace or restore). Nothing is written."""
    snapshots = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'annulation'").fetchall()}
    tables = store.table_names(cur)
    for ordre, table, cle in cur.execute("SELECT ordre, nom_table, cle FROM import_annulation WHERE id_import = $id "
                                         "ORDER BY ordre", {"id": id_import}).fetchall():
        keys = cle.split(",")
        if table not in tables:
            continue
        store.check_identifier(table, *keys)
        avant, nouveaux = (_snapshot(kind, id_import, table, ordre) for kind in ("avant", "nouveaux"))
        if avant.split(".")[1] not in snapshots:  # as in `rollback`: imports made before the order was in the names
            avant, nouveaux = _snapshot("avant", id_import, table), _snapshot("nouveaux", id_import, table)
        using = ", ".join(keys)
        parts = [f"SELECT * FROM {table} WHERE {TRACKING_COLUMN} = {int(id_import)}"] if TRACKING_COLUMN in _columns(
            cur, table) else []
        if avant.split(".")[1] in snapshots:
            parts += [f"SELECT * FROM {avant}", f"SELECT t.* FROM {table} t SEMI JOIN {avant} a USING ({using})"]
        if nouveaux.split(".")[1] in snapshots:
            parts.append(f"SELECT t.* FROM {table} t SEMI JOIN {nouveaux} n USING ({using})")
        if parts:
            yield table, " UNION ALL BY NAME ".join(parts)


@store.retry_on_conflict
def commit(con: duckdb.DuckDBPyConnection, analysis: Analysis, *, user: access.User,
           replace_scope: bool = False, confirm_validated: bool = False) -> int:
    """Write the analysed file in one transaction, as `user`; returns the import's id. Raises
    ImportRefused (file with errors), access.AccessDenied (a national file and `user` is not an
    administrator, or a row of a contract outside its scope: checked on the rows of the file and
    on those the import changes or deletes), store.IntegrityError (cross-table rule broken) or
    store.StoreError; in every failure nothing is written. An import that changes rows of a
    validated period (`validation.affected_validations`) is refused (ValidatedFiguresChanged)
    unless `confirm_validated`, which needs the right to validate those contracts."""
    if not analysis.ok:
        raise ImportRefused(f"Import refusé : le fichier {analysis.fichier} contient {fmt.plural(analysis.errors, 'erreur')}. "
                            "Rien n'a été modifié.")
    start, t0 = datetime.now(), time.perf_counter()
    written = {"import_log", "import_annulation", "import_correspondance", *(load.table for load in analysis.loads)}
    if replace_scope:  # the tables that hang on deleted rows are written too
        written.update(d.table for load in analysis.loads for d in CASCADE.get(load.table, ()))
    # the next number, read before the transaction that uses it (the log of writes needs it);
    # another writer that takes it first makes this one conflict, and the whole write runs again
    id_import = int(store.scalar(con, "SELECT coalesce(max(id_import), 0) + 1 FROM import_log"))
    audit = store.Audit(user.label, f"Import n° {id_import} ({analysis.kind_label}) : {analysis.fichier}")
    with store.transaction(con, written=written, import_id=id_import, audit=audit) as cur:
        national = analysis.kind in NATIONAL_KINDS or not all(access.is_contract_table(load.table)
                                                               for load in analysis.loads)
        if national:
            access.require(cur, user, access.NATIONAL)
        if store.scalar(cur, "SELECT count(*) FROM import_log WHERE id_import = $id", {"id": id_import}):
            raise store.WriteConflict(f"import n° {id_import} pris par un autre import")
        from cdv_core import validation  # it reads this module's staging

        confirmed = validation.check_import(cur, analysis.loads, user=user, replace_scope=replace_scope,
                                            confirmed=confirm_validated)
        cur.execute("INSERT INTO import_log (id_import, type_import, fichier, empreinte, auteur, debut, nb_lignes, statut, "
                    "encodage, separateur, nb_avertissements) VALUES ($id, $k, $f, $h, $a, $d, $n, 'validé', $e, $s, $w)",
                    {"id": id_import, "k": analysis.kind, "f": analysis.fichier, "h": analysis.empreinte, "a": user.label,
                     "d": start, "n": analysis.nb_lignes, "e": analysis.encoding, "s": analysis.separator,
                     "w": analysis.warnings})
        counters = {}
        for i, load in enumerate(analysis.loads):  # orders 0, 10, 20…: the cascades of a load take the next ones
            counters[load.table] = _write(cur, load, id_import, 10 * i, replace_scope)
        if analysis.kind in ("programmation", "insee") and analysis.mapping:
            from cdv_core.ingest.clean import normalise_str

            rows = pl.DataFrame({"type_import": analysis.kind,
                                 "entete": [normalise_str(h) for h in analysis.mapping],
                                 "colonne": list(analysis.mapping.values())}).unique("entete").filter(
                pl.col("colonne") != "code_territoire")
            cur.register("_import_map", rows.to_arrow())
            cur.execute("DELETE FROM import_correspondance USING _import_map m WHERE import_correspondance.type_import "
                        "= m.type_import AND import_correspondance.entete = m.entete")
            cur.execute("INSERT INTO import_correspondance SELECT type_import, entete, colonne FROM _import_map")
            cur.unregister("_import_map")
        if not national:
            audit.contrats = _contracts_touched(cur, analysis.loads, id_import)
            access.require(cur, user, access.WRITE, contrats=audit.contrats)
        audit.detail = {"tables": counters, **({"chiffres_valides_modifies": confirmed} if confirmed else {})}
        resume = " ; ".join(f"{table} : " + ", ".join(fmt.plural(n, _SINGULAR.get(label, label), label)
                                                      for label, n in c.items() if n)
                            for table, c in counters.items())
        cur.execute("UPDATE import_log SET fin = $fin, compteurs = $c, resume = $r, version_store = $v, duree_s = $t "
                    "WHERE id_import = $id",
                    {"fin": datetime.now(), "c": json.dumps(counters, ensure_ascii=False), "r": resume,
                     "v": store.store_version(cur) + 1, "t": time.perf_counter() - t0, "id": id_import})
        if "contrats" in _columns(cur, "import_log"):  # migration 0007 (tests write to older schemas)
            cur.execute("UPDATE import_log SET contrats = $c WHERE id_import = $id",
                        {"c": None if national else ",".join(sorted(audit.contrats)), "id": id_import})
    return id_import


# Files that speak for the whole country: only an administrator imports them.
NATIONAL_KINDS = frozenset({"liste_qpv", "contours_qpv", "insee"})
_ROWS = "_acces_lignes"


def _contracts_touched(cur: duckdb.DuckDBPyConnection, loads: list[Load], id_import: int) -> set[str]:
    """The contracts of every row of the file and of every row the import changed or deleted
    (its rollback tables hold them as they were): the acting user must have them all."""
    found: set[str] = set()
    for load in loads:
        cur.register(_ROWS, load.frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
        try:
            found |= access.contracts_of(cur, load.table, _ROWS)
        finally:
            cur.unregister(_ROWS)
    snapshots = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'annulation'").fetchall()}
    for ordre, table in cur.execute("SELECT ordre, nom_table FROM import_annulation WHERE id_import = $id",
                                    {"id": id_import}).fetchall():
        avant = _snapshot("avant", id_import, table, ordre)
        if avant.split(".")[1] in snapshots:
            found |= access.contracts_of(cur, table, avant)
    return found


def _snapshot(kind: str, id_import: int, table: str, order: int | None = None) -> str:
    """Name of a rollback table; with the write's order since one import may write a table twice
    (its own rows, and those deleted with the actions they hang on); without it for older imports."""
    tag = "" if order is None else f"{int(order)}_"
    return f"annulation.i{int(id_import)}_{tag}{table}_{kind}"


def _write(cur, load: Load, id_import: int, order: int, replace_scope: bool) -> dict:
    """Stage, keep what a rollback needs, then UPDATE, DELETE and INSERT. Rollback data: the rows
    as they were (changed or deleted) in `annulation.i<id>_<table>_avant`; the new rows are
    marked with `id_import` in the tables that have that column (the bulk tables, migration
    0005), else their keys go to `annulation.i<id>_<table>_nouveaux`."""
    types, fresh = _stage(cur, load)
    marked = TRACKING_COLUMN in types
    keys = ", ".join(load.key)
    avant, nouveaux = _snapshot("avant", id_import, load.table, order), _snapshot("nouveaux", id_import, load.table, order)
    absent_sql, deleted = _absent_sql(load, replace_scope, fresh)
    gone = absent_sql if deleted else f"SELECT * FROM ({absent_sql}) WHERE false"
    cascaded = _write_cascade(cur, load, gone, id_import, order) if deleted else {}
    cur.execute(f"CREATE TABLE {avant} AS "
                f"SELECT t.* FROM {load.table} t SEMI JOIN (SELECT {keys} FROM {_STAGED} WHERE _etat = 'modifié') s "
                f"USING ({keys}) UNION ALL {gone}")
    if not marked:
        cur.execute(f"CREATE TABLE {nouveaux} AS SELECT {keys} FROM {_STAGED} WHERE _etat = 'nouveau'")
    on = " AND ".join(f"{load.table}.{k} = s.{k}" for k in load.key)
    if load.update_cols:
        sets = ", ".join(f"{c} = s.{c}" for c in load.update_cols)
        cur.execute(f"UPDATE {load.table} SET {sets} FROM {_STAGED} s WHERE {on} AND s._etat = 'modifié'")
    if deleted:
        on_gone = " AND ".join(f"{load.table}.{k} = g.{k}" for k in load.key)
        cur.execute(f"DELETE FROM {load.table} USING ({gone}) g WHERE {on_gone}")
    cols = ", ".join(load.frame.columns)
    if marked:
        cur.execute(f"INSERT INTO {load.table} ({cols}, {TRACKING_COLUMN}) SELECT {cols}, $id FROM {_STAGED} "
                    "WHERE _etat = 'nouveau'", {"id": id_import})
    else:
        cur.execute(f"INSERT INTO {load.table} ({cols}) SELECT {cols} FROM {_STAGED} WHERE _etat = 'nouveau'")
    n = dict(cur.execute(f"SELECT _etat, count(*) FROM {_STAGED} GROUP BY 1").fetchall())
    n_avant = store.scalar(cur, f"SELECT count(*) FROM {avant}")
    n_new = n.get("nouveau", 0)
    n_gone = n_avant - n.get("modifié", 0)
    cur.execute("INSERT INTO import_annulation VALUES ($id, $o, $t, $k, $a, $n)",
                {"id": id_import, "o": order, "t": load.table, "k": ",".join(load.key), "a": n_avant, "n": n_new})
    _unstage(cur)
    return {"nouveaux": n_new, "modifiés": n.get("modifié", 0), "inchangés": n.get("inchangé", 0), "supprimés": n_gone,
            **cascaded}


def _write_cascade(cur, load: Load, gone_sql: str, id_import: int, order: int) -> dict:
    """Save then delete the rows of the dependent tables that hang on the rows about to be
    deleted (each in its own rollback table, with the orders just after the load's)."""
    done = {}
    for i, (dep, child_sql) in enumerate(_cascade_sql(load, gone_sql), start=1):
        avant = _snapshot("avant", id_import, dep.table, order + i)
        cur.execute(f"CREATE TABLE {avant} AS {child_sql}")
        n = store.scalar(cur, f"SELECT count(*) FROM {avant}")
        on = " AND ".join(f"{dep.table}.{k} = a.{k}" for k in dep.key)
        cur.execute(f"DELETE FROM {dep.table} USING {avant} a WHERE {on}")
        cur.execute("INSERT INTO import_annulation VALUES ($id, $o, $t, $k, $a, 0)",
                    {"id": id_import, "o": order + i, "t": dep.table, "k": ",".join(dep.key), "a": n})
        if n:
            done[f"{dep.label[n > 1]} avec leur {load.table}"] = n
    return done


_SINGULAR = {"nouveaux": "nouveau", "modifiés": "modifié", "inchangés": "inchangé", "supprimés": "supprimé"}


@store.retry_on_conflict
def rollback(con: duckdb.DuckDBPyConnection, id_import: int, *, user: access.User,
             confirm_validated: bool = False) -> dict:
    """Restore exactly what import `id_import` touched; refused when a later import still in
    force touched the same tables (undo that one first), when the app's forms wrote them since
    (see `_refuse_if_edited_since`), when the import kept no rollback data, or when `user` may
    not write every contract the import touched (an import of a national file, or one made
    before the log kept its contracts: administrators only), or when it would change validated
    figures without `confirm_validated` (as `commit`). Returns the number of rows
    restored/removed per table."""
    written = {"import_log"}  # and the tables of the import, added below (checked at COMMIT)
    audit = store.Audit(user.label, f"Import n° {id_import} annulé")
    with store.transaction(con, written=written, import_id=id_import, audit=audit) as cur:
        status = cur.execute("SELECT statut, type_import, contrats FROM import_log WHERE id_import = $id",
                             {"id": id_import}).fetchall()
        if not status:
            raise store.StoreError(f"L'import n° {id_import} est introuvable.")
        _, kind, contrats = status[0]
        if kind in NATIONAL_KINDS or contrats is None:
            access.require(cur, user, access.NATIONAL)
        else:
            audit.contrats = set(contrats.split(",")) - {""}
            access.require(cur, user, access.WRITE, contrats=audit.contrats)
        if status[0][0] == "annulé":
            raise store.StoreError(f"L'import n° {id_import} a déjà été annulé.")
        entries = cur.execute("SELECT ordre, nom_table, cle FROM import_annulation WHERE id_import = $id ORDER BY ordre DESC",
                              {"id": id_import}).fetchall()
        later = cur.execute(
            "SELECT DISTINCT a.id_import FROM import_annulation a JOIN import_log l USING (id_import) "
            "WHERE l.statut = 'validé' AND a.id_import > $id AND a.nom_table IN "
            "(SELECT nom_table FROM import_annulation WHERE id_import = $id) ORDER BY 1", {"id": id_import}).fetchall()
        if not entries:
            raise store.StoreError(
                f"L'import n° {id_import} ne peut pas être annulé : il n'a pas gardé l'état antérieur des données "
                "(import fait avant que l'application ne le garde pour ce type de fichier). Rien n'a été modifié.")
        if later:
            ids = [f"n° {r[0]}" for r in later]
            who = (f"l'import {ids[0]}, plus récent, a modifié" if len(ids) == 1 else
                   f"les imports {', '.join(ids[:-1])} et {ids[-1]}, plus récents, ont modifié")
            raise store.StoreError(
                f"Impossible d'annuler l'import n° {id_import} : {who} les mêmes données. Annulez d'abord "
                "l'import le plus récent. Rien n'a été modifié.")
        _refuse_if_edited_since(cur, id_import)
        from cdv_core import validation  # it reads this module's rollback data

        confirmed = validation.check_rollback(cur, id_import, user=user, confirmed=confirm_validated)
        tables = store.table_names(cur)
        snapshots = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables "
                                                "WHERE table_schema = 'annulation'").fetchall()}
        written.update(table for _, table, _ in entries)
        done = {}
        for ordre, table, cle in entries:
            if table not in tables:
                raise store.StoreError(f"Table inconnue : {table}")
            key = cle.split(",")
            cols = _columns(cur, table)
            if not all(k in cols for k in key):
                raise store.StoreError(f"Clé inconnue pour {table} : {cle}")
            store.check_identifier(table, *key)
            avant, nouveaux = (_snapshot(kind, id_import, table, ordre) for kind in ("avant", "nouveaux"))
            if avant.split(".")[1] not in snapshots:  # imports made before the order was in the names
                avant, nouveaux = _snapshot("avant", id_import, table), _snapshot("nouveaux", id_import, table)
            on_new = " AND ".join(f"{table}.{k} = n.{k}" for k in key)
            on_old = " AND ".join(f"{table}.{k} = a.{k}" for k in key)
            removed = 0
            if TRACKING_COLUMN in cols:  # rows this import inserted (migration 0005 and later)
                removed += store.scalar(cur, f"SELECT count(*) FROM {table} WHERE {TRACKING_COLUMN} = $id", {"id": id_import})
                cur.execute(f"DELETE FROM {table} WHERE {TRACKING_COLUMN} = $id", {"id": id_import})
            if nouveaux.split(".")[1] in snapshots:  # keys of inserted rows (other tables; imports before 0005)
                removed += store.scalar(cur, f"SELECT count(*) FROM {nouveaux}")
                cur.execute(f"DELETE FROM {table} USING {nouveaux} n WHERE {on_new}")
                cur.execute(f"DROP TABLE {nouveaux}")
            cur.execute(f"DELETE FROM {table} USING {avant} a WHERE {on_old}")
            restored = store.scalar(cur, f"SELECT count(*) FROM {avant}")
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {avant}")
            cur.execute(f"DROP TABLE {avant}")
            before = done.get(table, {"lignes retirées": 0, "lignes restaurées": 0})  # a table may come twice
            done[table] = {"lignes retirées": before["lignes retirées"] + removed,
                           "lignes restaurées": before["lignes restaurées"] + restored}
        cur.execute("UPDATE import_log SET statut = 'annulé', annule_le = $t WHERE id_import = $id",
                    {"t": datetime.now(), "id": id_import})
        audit.detail = {"tables": done, **({"chiffres_valides_modifies": confirmed} if confirmed else {})}
    return done


def _refuse_if_edited_since(cur: duckdb.DuckDBPyConnection, id_import: int) -> None:
    """Refuse the rollback when the app's forms wrote one of the import's tables since (the log
    of writes, `journal_ecriture`, names them; '*' for a writer that did not say which):
    restoring the rows as they were before the import would silently erase those entries."""
    edits = cur.execute(
        """SELECT nom_table, max(horodatage), bool_or(horodatage IS NULL) FROM journal_ecriture
           WHERE id_import IS NULL
             AND version_store > (SELECT version_store FROM import_log WHERE id_import = $id)
             AND (nom_table = '*' OR nom_table IN (SELECT nom_table FROM import_annulation WHERE id_import = $id))
           GROUP BY 1 ORDER BY 2 DESC NULLS LAST""", {"id": id_import}).fetchall()
    if not edits:
        return
    if any(before_log for _, _, before_log in edits):  # the row of migration 0006: earlier writes are unknown
        raise store.StoreError(
            f"Impossible d'annuler l'import n° {id_import} : il a été fait avant que la base ne tienne le journal de "
            "ses écritures, et l'application ne peut pas vérifier qu'aucune saisie faite depuis ne serait effacée. "
            "Rien n'a été modifié.")
    when = fmt.timestamp(edits[0][1])
    if any(table == "*" for table, _, _ in edits):
        what = "des données ont été modifiées"
    elif len(edits) > 1:
        what = "les tables " + ", ".join(f"« {table} »" for table, _, _ in edits) + " ont été modifiées"
    else:
        what = f"la table « {edits[0][0]} » a été modifiée"
    raise store.StoreError(
        f"Impossible d'annuler l'import n° {id_import} : {what} depuis dans l'application (dernière saisie le "
        f"{when}). L'annuler effacerait ces saisies. Rien n'a été modifié.")


def import_history(cur: duckdb.DuckDBPyConnection, *, limit: int = 200,
                   perimetre: tuple[str, ...] | None = None) -> pl.DataFrame:
    """The import log, most recent first (for the page and the CLI), within `perimetre`."""
    return cur.sql(
        "SELECT id_import AS \"n°\", statut, debut AS \"date\", fichier, type_import AS \"type\", nb_lignes AS lignes, "
        "resume AS \"résumé\", auteur, nb_avertissements AS avertissements, round(duree_s, 2) AS \"durée (s)\", annule_le AS \"annulé le\", "
        f"encodage, left(empreinte, 12) AS empreinte FROM import_log WHERE {IMPORT_IN_SCOPE} ORDER BY id_import DESC LIMIT $n",
        params={"n": limit, "perimetre": bind(perimetre)}).pl()


def rollback_choices(cur: duckdb.DuckDBPyConnection, *, perimetre: tuple[str, ...] | None = None) -> dict[int, str]:
    """The imports still in force within `perimetre`, most recent first, each with a label:
    number, date, file (last: a long file name is what a narrow select box cuts)."""
    rows = cur.execute(f"SELECT id_import, fichier, debut FROM import_log WHERE statut = 'validé' AND {IMPORT_IN_SCOPE} "
                       "ORDER BY id_import DESC", {"perimetre": bind(perimetre)}).fetchall()
    return {n: f"Import n° {n} · {fmt.timestamp(debut)} · {fichier or 'sans nom'}" for n, fichier, debut in rows}


def contract_codes(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    return tuple(r[0] for r in cur.execute("SELECT code_contrat FROM contrat ORDER BY 1").fetchall())


def indicator_codes(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    return tuple(r[0] for r in cur.execute("SELECT code_indicateur FROM indicateur ORDER BY 1").fetchall())
