"""Commit an analysed file in one transaction with the import log and rollback data, and roll
an import back; the import log for the page and the CLI. What is written is staged by `diff`."""

from __future__ import annotations

import json
import time
from datetime import datetime

import duckdb
import polars as pl

from cdv_core import access, fmt, store, validation
from cdv_core.ingest.clean import normalise_str
from cdv_core.ingest.diff import (
    CASCADE,
    STAGED,
    TRACKING_COLUMN,
    absent_rows_sql,
    cascade_rows_sql,
    snapshot_table,
    stage,
    table_columns,
    unstage,
)
from cdv_core.ingest.model import Analysis, Load
from cdv_core.perimetre import IMPORT_IN_SCOPE, bind


class ImportRefused(store.WriteRefused):
    """The file has errors (or nothing to write): nothing was written."""


@store.retry_on_conflict
def commit(
    con: duckdb.DuckDBPyConnection,
    analysis: Analysis,
    *,
    user: access.User,
    replace_scope: bool = False,
    confirm_validated: bool = False,
) -> int:
    """Write the analysed file in one transaction, as `user`; returns the import's id. Raises
    ImportRefused (file with errors), access.AccessDenied (a national file and `user` is not an
    administrator, or a row of a contract outside its scope: checked on the rows of the file and
    on those the import changes or deletes), store.IntegrityError (cross-table rule broken) or
    store.StoreError; in every failure nothing is written. An import that changes rows of a
    validated period (`validation.affected_validations`) is refused (ValidatedFiguresChanged)
    unless `confirm_validated`, which needs the right to validate those contracts."""
    if not analysis.ok:
        raise ImportRefused(
            f"Import refusé : le fichier {analysis.fichier} contient {fmt.plural(analysis.errors, 'erreur')}. "
            "Rien n'a été modifié."
        )
    start, t0 = datetime.now(), time.perf_counter()
    written = {"import_log", "import_annulation", "import_correspondance", *(load.table for load in analysis.loads)}
    if replace_scope:  # the tables that hang on deleted rows are written too
        written.update(d.table for load in analysis.loads for d in CASCADE.get(load.table, ()))
    # the next number, read before the transaction that uses it (the log of writes needs it);
    # another writer that takes it first makes this one conflict, and the whole write runs again
    id_import = int(store.scalar(con, "SELECT coalesce(max(id_import), 0) + 1 FROM import_log"))
    audit = store.Audit(user.label, f"Import n° {id_import} ({analysis.kind_label}) : {analysis.fichier}")
    with store.transaction(con, written=written, import_id=id_import, audit=audit) as cur:
        national = analysis.kind in NATIONAL_KINDS or not all(
            access.is_contract_table(load.table) for load in analysis.loads
        )
        if national:
            access.require(cur, user, access.NATIONAL)
        if store.scalar(cur, "SELECT count(*) FROM import_log WHERE id_import = $id", {"id": id_import}):
            raise store.WriteConflict(f"import n° {id_import} pris par un autre import")
        confirmed = validation.check_import(
            cur, analysis.loads, user=user, replace_scope=replace_scope, confirmed=confirm_validated
        )
        cur.execute(
            "INSERT INTO import_log (id_import, type_import, fichier, empreinte, auteur, debut, nb_lignes, statut, "
            "encodage, separateur, nb_avertissements) VALUES ($id, $k, $f, $h, $a, $d, $n, 'validé', $e, $s, $w)",
            {
                "id": id_import,
                "k": analysis.kind,
                "f": analysis.fichier,
                "h": analysis.empreinte,
                "a": user.label,
                "d": start,
                "n": analysis.nb_lignes,
                "e": analysis.encoding,
                "s": analysis.separator,
                "w": analysis.warnings,
            },
        )
        counters = {}
        for i, load in enumerate(analysis.loads):  # orders 0, 10, 20…: the cascades of a load take the next ones
            counters[load.table] = _write(cur, load, id_import, 10 * i, replace_scope)
        if analysis.kind in ("programmation", "insee") and analysis.mapping:
            rows = (
                pl.DataFrame(
                    {
                        "type_import": analysis.kind,
                        "entete": [normalise_str(h) for h in analysis.mapping],
                        "colonne": list(analysis.mapping.values()),
                    }
                )
                .unique("entete")
                .filter(pl.col("colonne") != "code_territoire")
            )
            cur.register("_import_map", rows.to_arrow())
            cur.execute(
                "DELETE FROM import_correspondance USING _import_map m WHERE import_correspondance.type_import "
                "= m.type_import AND import_correspondance.entete = m.entete"
            )
            cur.execute("INSERT INTO import_correspondance SELECT type_import, entete, colonne FROM _import_map")
            cur.unregister("_import_map")
        if not national:
            audit.contrats = _contracts_touched(cur, analysis.loads, id_import)
            access.require(cur, user, access.WRITE, contrats=audit.contrats)
        audit.detail = {"tables": counters, **({"chiffres_valides_modifies": confirmed} if confirmed else {})}
        resume = " ; ".join(
            f"{table} : " + ", ".join(fmt.plural(n, _SINGULAR.get(label, label), label) for label, n in c.items() if n)
            for table, c in counters.items()
        )
        cur.execute(
            "UPDATE import_log SET fin = $fin, compteurs = $c, resume = $r, version_store = $v, duree_s = $t "
            "WHERE id_import = $id",
            {
                "fin": datetime.now(),
                "c": json.dumps(counters, ensure_ascii=False),
                "r": resume,
                "v": store.store_version(cur) + 1,
                "t": time.perf_counter() - t0,
                "id": id_import,
            },
        )
        if "contrats" in table_columns(cur, "import_log"):  # migration 0007 (tests write to older schemas)
            cur.execute(
                "UPDATE import_log SET contrats = $c WHERE id_import = $id",
                {"c": None if national else ",".join(sorted(audit.contrats)), "id": id_import},
            )
    return id_import


# Files that speak for the whole country: only an administrator imports them.
NATIONAL_KINDS = frozenset({"liste_qpv", "contours_qpv", "insee", "adultes-relais"})


_ROWS = "_acces_lignes"


def _contracts_touched(cur: duckdb.DuckDBPyConnection, loads: list[Load], id_import: int) -> set[str]:
    """The contracts of every row of the file and of every row the import changed or deleted
    (its rollback tables hold them as they were): the acting user must have them all."""
    found: set[str | None] = set()
    for load in loads:
        cur.register(_ROWS, load.frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
        try:
            found |= access.contracts_of(cur, load.table, _ROWS)
        finally:
            cur.unregister(_ROWS)
    snapshots = {
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'annulation'"
        ).fetchall()
    }
    for ordre, table in cur.execute(
        "SELECT ordre, nom_table FROM import_annulation WHERE id_import = $id", {"id": id_import}
    ).fetchall():
        avant = snapshot_table("avant", id_import, table, ordre)
        if avant.split(".")[1] in snapshots:
            found |= access.contracts_of(cur, table, avant)
    return {c for c in found if c is not None}


def _write(cur, load: Load, id_import: int, order: int, replace_scope: bool) -> dict:
    """Stage, keep what a rollback needs, then UPDATE, DELETE and INSERT. Rollback data: the rows
    as they were (changed or deleted) in `annulation.i<id>_<table>_avant`; the new rows are
    marked with `id_import` in the tables that have that column (the bulk tables, migration
    0005), else their keys go to `annulation.i<id>_<table>_nouveaux`."""
    types, fresh = stage(cur, load)
    marked = TRACKING_COLUMN in types
    avant, nouveaux = (
        snapshot_table("avant", id_import, load.table, order),
        snapshot_table("nouveaux", id_import, load.table, order),
    )
    absent_sql, deleted = absent_rows_sql(load, replace_scope, fresh)
    gone = absent_sql if deleted else store.sql("SELECT * FROM ({absent}) WHERE false", absent=absent_sql)
    cascaded = _write_cascade(cur, load, gone, id_import, order) if deleted else {}
    names = {"table": load.table, "staged": STAGED, "keys": load.key, "cols": load.frame.columns}
    cur.execute(
        store.sql(
            "CREATE TABLE {avant} AS SELECT t.* FROM {table} t "
            "SEMI JOIN (SELECT {keys} FROM {staged} WHERE _etat = 'modifié') s USING ({keys}) UNION ALL {gone}",
            avant=avant,
            gone=gone,
            **names,
        )
    )
    if not marked:
        cur.execute(
            store.sql(
                "CREATE TABLE {nouveaux} AS SELECT {keys} FROM {staged} WHERE _etat = 'nouveau'",
                nouveaux=nouveaux,
                **names,
            )
        )
    if load.update_cols:
        cur.execute(
            store.sql(
                "UPDATE {table} SET {sets} FROM {staged} s WHERE {on} AND s._etat = 'modifié'",
                sets=store.assignments(load.update_cols, "s"),
                on=store.matching(load.key, load.table, "s"),
                **names,
            )
        )
    if deleted:
        cur.execute(
            store.sql(
                "DELETE FROM {table} USING ({gone}) g WHERE {on}",
                gone=gone,
                on=store.matching(load.key, load.table, "g"),
                **names,
            )
        )
    if marked:
        cur.execute(
            store.sql(
                "INSERT INTO {table} ({cols}, {tracking}) SELECT {cols}, $id FROM {staged} WHERE _etat = 'nouveau'",
                tracking=TRACKING_COLUMN,
                **names,
            ),
            {"id": id_import},
        )
    else:
        cur.execute(
            store.sql("INSERT INTO {table} ({cols}) SELECT {cols} FROM {staged} WHERE _etat = 'nouveau'", **names)
        )
    n = dict(cur.execute(store.sql("SELECT _etat, count(*) FROM {staged} GROUP BY 1", **names)).fetchall())
    n_avant = store.scalar(cur, store.sql("SELECT count(*) FROM {avant}", avant=avant))
    n_new = n.get("nouveau", 0)
    n_gone = n_avant - n.get("modifié", 0)
    cur.execute(
        "INSERT INTO import_annulation VALUES ($id, $o, $t, $k, $a, $n)",
        {"id": id_import, "o": order, "t": load.table, "k": ",".join(load.key), "a": n_avant, "n": n_new},
    )
    unstage(cur)
    return {
        "nouveaux": n_new,
        "modifiés": n.get("modifié", 0),
        "inchangés": n.get("inchangé", 0),
        "supprimés": n_gone,
        **cascaded,
    }


def _write_cascade(cur, load: Load, gone_sql: store.Sql, id_import: int, order: int) -> dict:
    """Save then delete the rows of the dependent tables that hang on the rows about to be
    deleted (each in its own rollback table, with the orders just after the load's)."""
    done = {}
    for i, (dep, child_sql) in enumerate(cascade_rows_sql(load, gone_sql), start=1):
        avant = snapshot_table("avant", id_import, dep.table, order + i)
        cur.execute(store.sql("CREATE TABLE {avant} AS {rows}", avant=avant, rows=child_sql))
        n = store.scalar(cur, store.sql("SELECT count(*) FROM {avant}", avant=avant))
        cur.execute(
            store.sql(
                "DELETE FROM {table} USING {avant} a WHERE {on}",
                table=dep.table,
                avant=avant,
                on=store.matching(dep.key, dep.table, "a"),
            )
        )
        cur.execute(
            "INSERT INTO import_annulation VALUES ($id, $o, $t, $k, $a, 0)",
            {"id": id_import, "o": order + i, "t": dep.table, "k": ",".join(dep.key), "a": n},
        )
        if n:
            done[f"{dep.label[n > 1]} avec leur {load.table}"] = n
    return done


_SINGULAR = {"nouveaux": "nouveau", "modifiés": "modifié", "inchangés": "inchangé", "supprimés": "supprimé"}


@store.retry_on_conflict
def rollback(
    con: duckdb.DuckDBPyConnection, id_import: int, *, user: access.User, confirm_validated: bool = False
) -> dict:
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
        status = cur.execute(
            "SELECT statut, type_import, contrats FROM import_log WHERE id_import = $id", {"id": id_import}
        ).fetchall()
        if not status:
            raise store.WriteRefused(f"L'import n° {id_import} est introuvable.")
        _, kind, contrats = status[0]
        if kind in NATIONAL_KINDS or contrats is None:
            access.require(cur, user, access.NATIONAL)
        else:
            audit.contrats = set(contrats.split(",")) - {""}
            access.require(cur, user, access.WRITE, contrats=audit.contrats)
        if status[0][0] == "annulé":
            raise store.WriteRefused(f"L'import n° {id_import} a déjà été annulé.")
        entries = cur.execute(
            "SELECT ordre, nom_table, cle FROM import_annulation WHERE id_import = $id ORDER BY ordre DESC",
            {"id": id_import},
        ).fetchall()
        later = cur.execute(
            "SELECT DISTINCT a.id_import FROM import_annulation a JOIN import_log l USING (id_import) "
            "WHERE l.statut = 'validé' AND a.id_import > $id AND a.nom_table IN "
            "(SELECT nom_table FROM import_annulation WHERE id_import = $id) ORDER BY 1",
            {"id": id_import},
        ).fetchall()
        if not entries:
            raise store.WriteRefused(
                f"L'import n° {id_import} ne peut pas être annulé : il n'a pas gardé l'état antérieur des données "
                "(import fait avant que l'application ne le garde pour ce type de fichier). Rien n'a été modifié."
            )
        if later:
            ids = [f"n° {r[0]}" for r in later]
            who = (
                f"l'import {ids[0]}, plus récent, a modifié"
                if len(ids) == 1
                else f"les imports {', '.join(ids[:-1])} et {ids[-1]}, plus récents, ont modifié"
            )
            raise store.WriteRefused(
                f"Impossible d'annuler l'import n° {id_import} : {who} les mêmes données. Annulez d'abord "
                "l'import le plus récent. Rien n'a été modifié."
            )
        _refuse_if_edited_since(cur, id_import)
        confirmed = validation.check_rollback(cur, id_import, user=user, confirmed=confirm_validated)
        tables = store.table_names(cur)
        snapshots = {
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'annulation'"
            ).fetchall()
        }
        written.update(table for _, table, _ in entries)
        done: dict[str, dict[str, int]] = {}
        for ordre, table, cle in entries:
            if table not in tables:
                raise store.StoreError(f"Table inconnue : {table}")
            key = cle.split(",")
            cols = table_columns(cur, table)
            if not all(k in cols for k in key):
                raise store.StoreError(f"Clé inconnue pour {table} : {cle}")
            avant, nouveaux = (snapshot_table(kind, id_import, table, ordre) for kind in ("avant", "nouveaux"))
            if avant.split(".")[1] not in snapshots:  # imports made before the order was in the names
                avant, nouveaux = (
                    snapshot_table("avant", id_import, table),
                    snapshot_table("nouveaux", id_import, table),
                )
            names = {"table": table, "avant": avant, "nouveaux": nouveaux, "tracking": TRACKING_COLUMN}
            removed = 0
            if TRACKING_COLUMN in cols:  # rows this import inserted (migration 0005 and later)
                this_import = {"id": id_import}
                removed += store.scalar(
                    cur, store.sql("SELECT count(*) FROM {table} WHERE {tracking} = $id", **names), this_import
                )
                cur.execute(store.sql("DELETE FROM {table} WHERE {tracking} = $id", **names), this_import)
            if nouveaux.split(".")[1] in snapshots:  # keys of inserted rows (other tables; imports before 0005)
                removed += store.scalar(cur, store.sql("SELECT count(*) FROM {nouveaux}", **names))
                on_new = store.matching(key, table, "n")
                cur.execute(store.sql("DELETE FROM {table} USING {nouveaux} n WHERE {on}", on=on_new, **names))
                cur.execute(store.sql("DROP TABLE {nouveaux}", **names))
            on_old = store.matching(key, table, "a")
            cur.execute(store.sql("DELETE FROM {table} USING {avant} a WHERE {on}", on=on_old, **names))
            restored = store.scalar(cur, store.sql("SELECT count(*) FROM {avant}", **names))
            cur.execute(store.sql("INSERT INTO {table} BY NAME SELECT * FROM {avant}", **names))
            cur.execute(store.sql("DROP TABLE {avant}", **names))
            before = done.get(table, {"lignes retirées": 0, "lignes restaurées": 0})  # a table may come twice
            done[table] = {
                "lignes retirées": before["lignes retirées"] + removed,
                "lignes restaurées": before["lignes restaurées"] + restored,
            }
        cur.execute(
            "UPDATE import_log SET statut = 'annulé', annule_le = $t WHERE id_import = $id",
            {"t": datetime.now(), "id": id_import},
        )
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
           GROUP BY 1 ORDER BY 2 DESC NULLS LAST""",
        {"id": id_import},
    ).fetchall()
    if not edits:
        return
    if any(before_log for _, _, before_log in edits):  # the row of migration 0006: earlier writes are unknown
        raise store.WriteRefused(
            f"Impossible d'annuler l'import n° {id_import} : il a été fait avant que la base ne tienne le journal de "
            "ses écritures, et l'application ne peut pas vérifier qu'aucune saisie faite depuis ne serait effacée. "
            "Rien n'a été modifié."
        )
    when = fmt.timestamp(edits[0][1])
    if any(table == "*" for table, _, _ in edits):
        what = "des données ont été modifiées"
    elif len(edits) > 1:
        what = "les tables " + ", ".join(f"« {table} »" for table, _, _ in edits) + " ont été modifiées"
    else:
        what = f"la table « {edits[0][0]} » a été modifiée"
    raise store.WriteRefused(
        f"Impossible d'annuler l'import n° {id_import} : {what} depuis dans l'application (dernière saisie le "
        f"{when}). L'annuler effacerait ces saisies. Rien n'a été modifié."
    )


def import_history(
    cur: duckdb.DuckDBPyConnection, *, limit: int = 200, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The import log, most recent first (for the page and the CLI), within `perimetre`."""
    return cur.execute(
        'SELECT id_import AS "n°", statut, debut AS "date", fichier, type_import AS "type", nb_lignes AS lignes, '
        'resume AS "résumé", auteur, nb_avertissements AS avertissements, round(duree_s, 2) AS "durée (s)", '
        'annule_le AS "annulé le", encodage, left(empreinte, 12) AS empreinte '
        f"FROM import_log WHERE {IMPORT_IN_SCOPE} ORDER BY id_import DESC LIMIT $n",
        parameters={"n": limit, "perimetre": bind(perimetre)},
    ).pl()


def rollback_choices(cur: duckdb.DuckDBPyConnection, *, perimetre: tuple[str, ...] | None = None) -> dict[int, str]:
    """The imports still in force within `perimetre`, most recent first, each with a label:
    number, date, file (last: a long file name is what a narrow select box cuts)."""
    rows = cur.execute(
        f"SELECT id_import, fichier, debut FROM import_log WHERE statut = 'validé' AND {IMPORT_IN_SCOPE} "
        "ORDER BY id_import DESC",
        {"perimetre": bind(perimetre)},
    ).fetchall()
    return {n: f"Import n° {n} · {fmt.timestamp(debut)} · {fichier or 'sans nom'}" for n, fichier, debut in rows}


def contract_codes(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    return tuple(r[0] for r in cur.execute("SELECT code_contrat FROM contrat ORDER BY 1").fetchall())


def indicator_codes(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    return tuple(r[0] for r in cur.execute("SELECT code_indicateur FROM indicateur ORDER BY 1").fetchall())
