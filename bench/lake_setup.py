"""The national-scale DuckLake of the benches (not part of the test run).

A throwaway PostgreSQL cluster (`cdv_core.pg_local`) holds the catalog, its data files sit beside
it, both under `bench/out/lake/` (git-ignored) and kept between runs. The lake is a copy of the
national DuckDB file made by `python -m cdv_core copier` (digest-checked, faster than generating
again); it is copied again when the file changed (size or modification time) since the last copy.

    with national_lake(Path("bench/out/national.duckdb")) as url:   # PostgreSQL started…
        ...                                                          # …and stopped at the end

One bench at a time: two would start the same cluster folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdv_core import pg_local, store  # noqa: E402

LAKE_DIR = ROOT / "bench" / "out" / "lake"
DB_NAME = "cdv_national"


def _source_id(file: Path) -> dict:
    st = file.stat()
    return {"fichier": str(file.resolve()), "taille": st.st_size, "mtime_ns": st.st_mtime_ns}


def _database_exists(cluster: pg_local.Cluster, name: str) -> bool:
    import psycopg

    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as con:
        return bool(con.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone()[0])


def copy_into_new_lake(cluster: pg_local.Cluster, name: str, source: Path, data_path: Path) -> float:
    """Create database `name` (which must not exist) and copy the `source` file store into it as a
    DuckLake whose data files go to `data_path` (emptied first). Returns the copy's seconds."""
    shutil.rmtree(data_path, ignore_errors=True)
    cluster.create_database(name)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cdv_core", "copier", "--de", str(source), "--vers", cluster.lake_url(name)],
        cwd=ROOT,
        env={**os.environ, "CDV_DATA_PATH": str(data_path)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def drop_lake(cluster: pg_local.Cluster, name: str, data_path: Path | None) -> None:
    cluster.sql(store.sql("DROP DATABASE IF EXISTS {name} WITH (FORCE)", name=name))
    if data_path is not None:
        shutil.rmtree(data_path, ignore_errors=True)


@contextmanager
def national_lake(file: Path) -> Iterator[str]:
    """Start the benches' PostgreSQL, make sure it holds a current copy of `file`, yield the
    DuckLake URL (`ducklake:postgres:…`); stop PostgreSQL at the end, whatever happens."""
    marker, data_path = LAKE_DIR / "copie.json", LAKE_DIR / "donnees"
    cluster = pg_local.start(LAKE_DIR / "pg", port=_same_port_if_free(LAKE_DIR / "port"))
    try:
        wanted = _source_id(file)
        current = json.loads(marker.read_text()) if marker.exists() else None
        if current != wanted or not _database_exists(cluster, DB_NAME):
            marker.unlink(missing_ok=True)
            drop_lake(cluster, DB_NAME, data_path)
            print(f"Copie de {file.name} dans la base partagée du banc…", file=sys.stderr, flush=True)
            seconds = copy_into_new_lake(cluster, DB_NAME, file, data_path)
            print(f"  copiée en {seconds:.1f} s", file=sys.stderr, flush=True)
            marker.write_text(json.dumps(wanted))
        yield cluster.lake_url(DB_NAME)
    finally:
        cluster.stop()


def _same_port_if_free(saved: Path) -> int:
    """The port of the previous run when it is free (the lake's URL names it: the same URL files
    the read cache on disk under the same store, so `bench_sessions --cache-disque DOSSIER
    --precalcul` precomputes once for several runs), else a free one; kept for the next run."""
    with contextlib.suppress(OSError, ValueError):
        port = int(saved.read_text())
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL: a port just freed is reusable
            s.bind(("127.0.0.1", port))
        return port
    port = pg_local.free_port()
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(str(port))
    return port


def lake_data_mb() -> float:
    """Size of the national lake's data files (MB)."""
    folder = LAKE_DIR / "donnees"
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1024 / 1024
