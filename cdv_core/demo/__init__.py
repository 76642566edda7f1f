"""Deterministic synthetic territories: the demo territory and a national-scale load store.

The territory is built by the steps listed in `STEPS`, in that order; each step is a module with
`generate(rng, frames, scale) -> dict[str, pl.DataFrame]` that reads the frames built before it
and returns its own tables. Each step draws from its own generator, seeded from the demo seed and
the step's name, so changing one step never changes the tables of the others. Frames whose name
starts with « _ » are working tables passed between steps, not tables of the store.

Everything is drawn with NumPy and assembled with Polars, table by table, without Python loops
over rows, so the national scale (~260 000 actions, ~100 000 meetings) builds in seconds. The
`demo` scale is a fictional territory, clearly labelled as demo data in the store meta.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from cdv_core import store
from cdv_core.demo import (
    acteurs,
    actions,
    bilans,
    financements,
    gouvernance,
    indicateurs,
    jalons,
    porteurs,
    projets,
    rapport,
    reference_gel,
    territoire,
)
from cdv_core.demo.common import DEMO, NATIONAL, SCALES, Scale
from cdv_core.domain.cadence import add_months
from cdv_core.edits import historique

__all__ = ["DEMO", "NATIONAL", "SCALES", "STEPS", "Scale", "build_store", "generate", "open_or_create", "write_frames"]

STEPS = (
    territoire,
    projets,
    porteurs,
    actions,
    financements,
    indicateurs,
    gouvernance,
    jalons,
    reference_gel,
    acteurs,
    rapport,
    bilans,
)


def generate(scale: str = "demo", seed: int = 2024) -> dict[str, pl.DataFrame]:
    """All tables of a synthetic territory as Polars frames, keyed by table name."""
    if scale not in SCALES:
        raise ValueError(f"Échelle inconnue : {scale!r} (attendu : {', '.join(SCALES)})")
    params = DEMO if scale == "demo" else NATIONAL
    frames: dict[str, pl.DataFrame] = {}
    for step in STEPS:
        name = step.__name__.rsplit(".", 1)[-1]
        frames |= step.generate(np.random.default_rng([seed, zlib.crc32(name.encode())]), frames, params)
    return {name: frame for name, frame in frames.items() if not name.startswith("_")}


def write_frames(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> None:
    """Insert the frames into the store in one checked transaction."""
    with store.transaction(con, audit=store.Audit("démonstration", "Territoire de démonstration créé")) as cur:
        tables = set(store.table_names(cur))
        for table, frame in frames.items():
            if table not in tables:  # identifiers come from the store's own catalogue only
                raise ValueError(f"Table inconnue dans le store : {table}")
            cur.register("_frame", frame.to_arrow())
            cur.execute("INSERT INTO " + table + " BY NAME SELECT * FROM _frame")
            cur.unregister("_frame")


def build_store(target: Path | str, *, scale: str = "demo", seed: int = 2024) -> None:
    """Create a new store filled with a synthetic territory: a file at `target` (which must not
    exist), or an empty DuckLake (`ducklake:postgres:…`, see `store.is_lake`)."""
    params = DEMO if scale == "demo" else NATIONAL
    if store.is_lake(target):
        con = store.connect(target)
        try:
            if not store.is_empty(con.cursor()):
                raise store.StoreError(
                    f"La base partagée {store.describe(target)} contient déjà des données : "
                    "le territoire de démonstration ne s'écrit que dans une base vide."
                )
            _fill(con, generate(scale, seed), scale, seed, params)
        finally:
            con.close()
        return
    path = Path(target)
    if path.exists():
        raise store.StoreError(f"Le fichier {path} existe déjà : choisissez un autre chemin (--out).")
    frames = generate(scale, seed)
    con = duckdb.connect(str(path))
    try:
        store.migrate(con)
        _fill(con, frames, scale, seed, params)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _fill(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], scale: str, seed: int, params) -> None:
    write_frames(con, frames)
    with store.transaction(
        con, check=False, audit=store.Audit("démonstration", "Territoire de démonstration créé")
    ) as cur:
        store.set_meta(cur, "demo", scale)
        store.set_meta(cur, "demo_seed", str(seed))
        store.set_meta(cur, "donnees_au", params.reference_date.isoformat())
    # A year of monthly status records, as `python -m cdv_core statuts` would have left them (the
    # national scale: the current statuses only — a year of them would cost seconds per month).
    months = range(12, -1, -1) if scale == "demo" else range(0, -1, -1)
    historique.backfill(con, [add_months(params.reference_date, -k) for k in months], auteur="démonstration")


def open_or_create(path: Path | str, *, seed: int = 2024) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """Open the store, creating it with the demo territory when the file is absent.

    Returns the connection and whether the demo store was just created. The demo is written to
    a temporary file first and moved in place, so a crash never leaves a half-built store.
    A DuckLake is never filled with the demo implicitly (`python -m cdv_core demo --out URL`).
    """
    if store.is_lake(path):
        return store.connect(path), False
    path = Path(path)
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cdv-demo-", suffix=".duckdb", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
        try:
            build_store(tmp, scale="demo", seed=seed)
            try:
                os.link(tmp, path)  # fails if another process created it meanwhile: keep theirs
                created = True
            except FileExistsError:
                pass
        finally:
            for leftover in (tmp, tmp + ".wal"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
    return store.connect(path), created
