"""The history of the QPV progress statuses (`statut_qpv_historique`).

Each QPV's status (`domain.progress.qpv_status`, the rule of « Projets de quartier ») is
recorded when it differs from the last one recorded for that QPV, at the store's « données au »
date (the `donnees_au` meta, else today). It is recorded:

- after every successful write of the app (`ui.write`) and of the import command line: a write
  that moves a status leaves its trace, with the store version it was computed on;
- by `python -m cdv_core statuts`, run monthly (cron): time alone moves statuses (an action's
  expected progress grows every day);
- for the demo territory, month by month over the last year (`backfill`).

Only changes are written, in one store transaction; nothing is written (and the store version
does not move) when no status changed. A write another writer overtook is computed again; a
failure of the store is its French `store.StoreError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import duckdb
import polars as pl

from cdv_core import store
from cdv_core.domain import progress

TABLE = "statut_qpv_historique"


def reference_date(cur: duckdb.DuckDBPyConnection) -> date:
    """The date statuses are recorded at: the store's « données au », else today."""
    value = store.meta(cur, "donnees_au")
    return date.fromisoformat(value) if value else date.today()


def current_statuses(cur: duckdb.DuckDBPyConnection, *, donnees_au: date) -> pl.DataFrame:
    """(code_qp, statut, ecart) of every QPV of the store at `donnees_au`."""
    codes = cur.execute("SELECT code_qp FROM quartier ORDER BY code_qp").pl()["code_qp"]
    objectives = progress.objective_progress(cur, contrat=None, donnees_au=donnees_au)
    return progress.qpv_status(objectives, codes).select("code_qp", "statut", "ecart")


def _changed(cur: duckdb.DuckDBPyConnection, statuses: pl.DataFrame, donnees_au: date) -> pl.DataFrame:
    """The QPV whose status differs from the last one recorded at or before `donnees_au`."""
    last = cur.execute(
        """
        SELECT code_qp, arg_max(statut, (donnees_au, enregistre_le)) AS dernier
        FROM statut_qpv_historique WHERE donnees_au <= $au GROUP BY code_qp""",
        parameters={"au": donnees_au},
    ).pl()
    return (
        statuses.join(last, on="code_qp", how="left")
        .filter(pl.col("dernier").is_null() | (pl.col("dernier") != pl.col("statut")))
        .drop("dernier")
    )


@store.retry_on_conflict
def record_statuses(con: duckdb.DuckDBPyConnection, *, auteur: str, donnees_au: date | None = None) -> int:
    """Record the QPV whose status changed (see the module); returns how many rows were written."""
    cur = con.cursor()
    try:
        au = donnees_au or reference_date(cur)
        changed = _changed(cur, current_statuses(cur, donnees_au=au), au)
    finally:
        cur.close()
    if changed.is_empty():
        return 0
    return _write(con, [(au, changed)], auteur=auteur)


@store.retry_on_conflict
def backfill(con: duckdb.DuckDBPyConnection, dates: Iterable[date], *, auteur: str) -> int:
    """Record the statuses at each of `dates` in turn (oldest first), as a monthly run would have,
    in one transaction: the demo's year of history."""
    rows = []
    cur = con.cursor()
    try:
        seen = pl.DataFrame(schema={"code_qp": pl.String, "statut": pl.String})
        for au in sorted(dates):  # a dozen dates: the loop is over months, not rows
            statuses = current_statuses(cur, donnees_au=au)
            changed = (
                statuses.join(seen.rename({"statut": "dernier"}), on="code_qp", how="left")
                .filter(pl.col("dernier").is_null() | (pl.col("dernier") != pl.col("statut")))
                .drop("dernier")
            )
            if not changed.is_empty():
                rows.append((au, changed))
            seen = statuses.select("code_qp", "statut")
    finally:
        cur.close()
    return _write(con, rows, auteur=auteur) if rows else 0


def _write(con: duckdb.DuckDBPyConnection, batches: list[tuple[date, pl.DataFrame]], *, auteur: str) -> int:
    now = datetime.now().replace(microsecond=0)
    with store.transaction(con, written=[TABLE], audit=store.Audit(auteur, "Statuts des QPV enregistrés")) as cur:
        version = store.store_version(cur) + 1  # the version this transaction commits
        frame = pl.concat([b.with_columns(pl.lit(au).alias("donnees_au")) for au, b in batches]).with_columns(
            pl.lit(version).alias("version_store"), pl.lit(now).alias("enregistre_le")
        )
        cur.register("_statuts", frame.to_arrow())
        cur.execute("INSERT INTO statut_qpv_historique BY NAME SELECT * FROM _statuts")
        cur.unregister("_statuts")
    return frame.height
