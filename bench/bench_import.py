"""Import bench (issue 8), not part of the test run:
`python bench/bench_import.py [--rows N] [--repeat K] [--backend file|lake|both]`.

A programmation file (`;`, decimal comma, UTF-8 with BOM as Excel's « CSV UTF-8 » writes it) is
validated and committed into a fresh copy of the demo store; the time is reported as a ratio to
DuckDB's `read_csv` of the same file into a table (in memory), measured in the same run; the same
`read_csv` into a table of a DuckDB file is reported for information. The same file in
Windows-1252 (with €, œ, ’) is reported against the same baseline. Peak memory is the process's
maximum resident set size (VmHWM), measured in a child process per case. With `--repeat K` every
case runs K times (each in a fresh process and a fresh store copy) and the fastest run is kept:
the machine is shared, so the best run is the least disturbed one. The load average is printed.

`--backend lake` imports into a DuckLake instead (its catalog in a throwaway PostgreSQL started for
the run, see lake_setup.py; each run on a fresh lake copied from the same demo store, its data
files in the run's temporary folder), and reports `read_csv` into a table of a DuckLake for
information; `--backend both` runs the file and lake cases alternately in one run and gives the
ratio lake / file of each import.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdv_core import demo, fmt  # noqa: E402
from cdv_core.access import local_user  # noqa: E402
from cdv_core.ingest import samples  # noqa: E402

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

CONTRACTS = {"CV-DEMO-VERM": ["QN00281M", "QN00282M"], "CV-DEMO-BRE": ["QN06081M"], "CV-DEMO-MONT": ["QN08081M"]}


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: reset at exec, unlike ru_maxrss which a child
    inherits from the parent that forked it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(case: str, path: str, store_path: str) -> None:
    """Run one measured case in this (fresh) process and print JSON."""
    import duckdb

    from cdv_core import ingest, store

    start = time.perf_counter()
    if case == "duckdb_lac":
        # for information: a table of a new DuckLake (`store_path` its URL, CDV_DATA_PATH its folder)
        store.install_lake_extensions()
        start = time.perf_counter()  # the extensions' one-off copy is not part of the write
        con = duckdb.connect()
        con.execute(
            "ATTACH '"
            + store_path.replace("'", "''")
            + "' AS lac (DATA_PATH '"
            + os.environ["CDV_DATA_PATH"].replace("'", "''")
            + "')"
        )
        con.execute("CREATE TABLE lac.t AS SELECT * FROM read_csv($p, delim = ';', header = true)", {"p": path})
        out = {"lignes": con.execute("SELECT count(*) FROM lac.t").fetchall()[0][0]}
        con.close()
    elif case in ("duckdb", "duckdb_fichier"):
        # the reference: an in-memory table; for information, a table of a DuckDB file (persisted
        # like an import's rows; `store_path` is then a fresh file name)
        con = duckdb.connect() if case == "duckdb" else duckdb.connect(store_path)
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv($p, delim = ';', header = true)", {"p": path})
        n = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
        out = {"lignes": n}
    else:
        con = store.connect(store_path)
        analysis = ingest.analyse(con.cursor(), Path(path).read_bytes(), Path(path).name)
        t_valid = time.perf_counter() - start
        if not analysis.ok:
            raise SystemExit(f"fichier refusé : {analysis.problems.head(5)}")
        ingest.commit(con, analysis, user=LOCAL)
        out = {
            "lignes": analysis.nb_lignes,
            "validation_s": t_valid,
            "encodage": analysis.encoding,
            "ecriture_s": time.perf_counter() - start - t_valid,
        }
        con.close()
    out["secondes"] = time.perf_counter() - start
    out["pic_mo"] = _peak_mb()
    print(json.dumps(out))


def _run(case: str, path: Path, store_path: str, env: dict | None = None) -> dict:
    res = subprocess.run(
        [sys.executable, __file__, "--child", case, str(path), store_path],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if res.returncode != 0:
        raise SystemExit(f"cas {case} en échec :\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


class Stores:
    """A fresh store per measured run: a copy of the master demo file, or a new DuckLake database
    filled from it by `python -m cdv_core copier` (not timed); `empty` for the read_csv cases."""

    def __init__(self, master: Path, work: Path, cluster=None):
        self.master, self.work, self.cluster, self.count = master, work, cluster, 0

    def run(self, case: str, backend: str, path: Path, *, empty: bool = False) -> dict:
        self.count += 1
        if backend == "file":
            store_copy = self.work / f"store_{self.count}.duckdb"
            if not empty:
                shutil.copy(self.master, store_copy)
            try:
                return _run(case, path, str(store_copy))
            finally:
                store_copy.unlink(missing_ok=True)
                Path(str(store_copy) + ".wal").unlink(missing_ok=True)
        import lake_setup

        name, data = f"banc_import_{self.count}", self.work / f"lac_{self.count}"
        if empty:
            self.cluster.create_database(name)
            data.mkdir()
        else:
            lake_setup.copy_into_new_lake(self.cluster, name, self.master, data)
        try:
            return _run(case, path, self.cluster.lake_url(name), {"CDV_DATA_PATH": str(data)})
        finally:
            lake_setup.drop_lake(self.cluster, name, data)


def _best(runs: list[dict]) -> dict:
    """The fastest run; peak = the largest."""
    best = min(runs, key=lambda r: r["secondes"])
    return {**best, "pic_mo": max(r["pic_mo"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest is kept")
    parser.add_argument(
        "--backend",
        choices=("file", "lake", "both"),
        default="file",
        help="store imported into: DuckDB file, DuckLake, or both in the same run",
    )
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    backends = ["file", "lake"] if args.backend == "both" else [args.backend]
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    cluster = None
    try:
        frame = samples.programmation(args.rows, contracts=CONTRACTS, porteurs=2000)
        files = {"UTF-8 avec BOM": work / "programmation_utf8.csv", "Windows-1252": work / "programmation_cp1252.csv"}
        files["UTF-8 avec BOM"].write_bytes(samples.to_csv(frame, encoding="utf-8-sig"))
        files["Windows-1252"].write_bytes(samples.to_csv(frame, encoding="cp1252"))
        del frame
        master = work / "demo.duckdb"
        demo.build_store(master, scale="demo", seed=2024)
        if "lake" in backends:
            from cdv_core import pg_local

            cluster = pg_local.start(work / "postgres")
        stores = Stores(master, work, cluster)
        utf8 = files["UTF-8 avec BOM"]
        # (key, label, case, backend, file, empty store); run in rounds, so that a disturbance of
        # the shared machine falls on every case alike
        cases = [("ref", "DuckDB read_csv (référence)", "duckdb", "file", utf8, True)]
        if "file" in backends:
            cases.append(
                ("csv_file", "DuckDB read_csv vers un fichier (information)", "duckdb_fichier", "file", utf8, True)
            )
        if "lake" in backends:
            cases.append(
                ("csv_lake", "DuckDB read_csv vers un DuckLake (information)", "duckdb_lac", "lake", utf8, True)
            )
        names = {"file": "fichier", "lake": "DuckLake"}
        for label, path in files.items():
            for backend in backends:
                cases.append(
                    (f"{label}/{backend}", f"Import {label} → {names[backend]}", "import", backend, path, False)
                )
        load_before = os.getloadavg()[0]
        runs: dict[str, list[dict]] = {c[0]: [] for c in cases}
        for _ in range(max(1, args.repeat)):
            for key, _label, case, backend, path, empty in cases:
                runs[key].append(stores.run(case, backend, path, empty=empty))
        best = {key: _best(r) for key, r in runs.items()}
        reference = best["ref"]["secondes"]
        rows = []
        for key, label, case, backend, _path, _empty in cases:
            r = best[key]
            note = {
                "ref": "table en mémoire",
                "csv_file": "table d'un fichier DuckDB",
                "csv_lake": "table d'un DuckLake neuf",
            }.get(key, "")
            if case == "import":
                note = (
                    f"dont validation {fmt.number(r['validation_s'], 1)} s, écriture {fmt.number(r['ecriture_s'], 1)} s"
                )
                if backend == "lake" and f"{key.split('/')[0]}/file" in best:
                    ratio = r["secondes"] / best[key.split("/")[0] + "/file"]["secondes"]
                    note += f" ; lac / fichier {fmt.number(ratio, 2)}×"
            rows.append((label, r["secondes"], r["secondes"] / reference, r["pic_mo"], note))
        size = utf8.stat().st_size / 1024 / 1024
        print(
            f"Fichier : {fmt.integer(args.rows)} lignes, {fmt.number(size, 1)} Mo (UTF-8) ; "
            f"base importée : {' et '.join(names[b] for b in backends)}"
        )
        print(f"{'cas':<48} {'secondes':>9} {'ratio':>7} {'pic (Mo)':>9}  note")
        for label, seconds, ratio, peak, note in rows:
            print(f"{label:<48} {fmt.number(seconds, 2):>9} {fmt.number(ratio, 2):>7} {fmt.integer(peak):>9}  {note}")
        print("Cibles : ratio ≤ 3 (UTF-8), pic < 2 048 Mo.")
        print(
            f"Charge moyenne (1 min) : {fmt.number(load_before, 2)} avant, {fmt.number(os.getloadavg()[0], 2)} après ; "
            f"meilleur de {args.repeat} passage(s) par cas."
        )
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
