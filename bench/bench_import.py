"""Import bench (issue 8), not part of the test run: `python bench/bench_import.py [--rows N] [--repeat K]`.

A programmation file (`;`, decimal comma, UTF-8 with BOM as Excel's « CSV UTF-8 » writes it) is
validated and committed into a fresh copy of the demo store; the time is reported as a ratio to
DuckDB's `read_csv` of the same file into a table (in memory), measured in the same run; the same
`read_csv` into a table of a DuckDB file is reported for information. The same file in
Windows-1252 (with €, œ, ’) is reported against the same baseline. Peak memory is the process's
maximum resident set size (VmHWM), measured in a child process per case. With `--repeat K` every
case runs K times (each in a fresh process and a fresh store copy) and the fastest run is kept:
the machine is shared, so the best run is the least disturbed one. The load average is printed.
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
from cdv_core.ingest import samples  # noqa: E402

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
    if case in ("duckdb", "duckdb_fichier"):
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
        ingest.commit(con, analysis, auteur="bench")
        out = {"lignes": analysis.nb_lignes, "validation_s": t_valid, "encodage": analysis.encoding,
               "ecriture_s": time.perf_counter() - start - t_valid}
        con.close()
    out["secondes"] = time.perf_counter() - start
    out["pic_mo"] = _peak_mb()
    print(json.dumps(out))


def _run(case: str, path: Path, store_path: Path) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", case, str(path), str(store_path)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _best(case: str, path: Path, master: Path, work: Path, repeat: int) -> dict:
    """The fastest of `repeat` runs (each import on a fresh copy of the store); peak = the largest."""
    runs = []
    for i in range(max(1, repeat)):
        store_copy = work / f"store_{path.stem}_{i}.duckdb"
        if case != "duckdb_fichier":  # that case creates a new, empty file
            shutil.copy(master, store_copy)
        runs.append(_run(case, path, store_copy))
        store_copy.unlink(missing_ok=True)
        Path(str(store_copy) + ".wal").unlink(missing_ok=True)
    best = min(runs, key=lambda r: r["secondes"])
    return {**best, "pic_mo": max(r["pic_mo"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest is kept")
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        frame = samples.programmation(args.rows, contracts=CONTRACTS, porteurs=2000)
        files = {"UTF-8 avec BOM": work / "programmation_utf8.csv", "Windows-1252": work / "programmation_cp1252.csv"}
        files["UTF-8 avec BOM"].write_bytes(samples.to_csv(frame, encoding="utf-8-sig"))
        files["Windows-1252"].write_bytes(samples.to_csv(frame, encoding="cp1252"))
        del frame
        master = work / "demo.duckdb"
        demo.build_store(master, scale="demo", seed=2024)
        load_before = os.getloadavg()[0]
        baseline = _best("duckdb", files["UTF-8 avec BOM"], master, work, args.repeat)
        rows = [("DuckDB read_csv (référence)", baseline["secondes"], 1.0, baseline["pic_mo"], "table en mémoire")]
        on_file = _best("duckdb_fichier", files["UTF-8 avec BOM"], master, work, args.repeat)
        rows.append(("DuckDB read_csv vers un fichier (information)", on_file["secondes"],
                     on_file["secondes"] / baseline["secondes"], on_file["pic_mo"], "table d'un fichier DuckDB"))
        for label, path in files.items():
            r = _best("import", path, master, work, args.repeat)
            rows.append((f"Import {label} (validation + écriture)", r["secondes"], r["secondes"] / baseline["secondes"],
                         r["pic_mo"], f"dont validation {fmt.number(r['validation_s'], 1)} s, "
                                      f"écriture {fmt.number(r['ecriture_s'], 1)} s"))
        size = files["UTF-8 avec BOM"].stat().st_size / 1024 / 1024
        print(f"Fichier : {fmt.integer(args.rows)} lignes, {fmt.number(size, 1)} Mo (UTF-8)")
        print(f"{'cas':<48} {'secondes':>9} {'ratio':>7} {'pic (Mo)':>9}  note")
        for label, seconds, ratio, peak, note in rows:
            print(f"{label:<48} {fmt.number(seconds, 2):>9} {fmt.number(ratio, 2):>7} {fmt.integer(peak):>9}  {note}")
        print("Cibles : ratio ≤ 3 (UTF-8), pic < 2 048 Mo.")
        print(f"Charge moyenne (1 min) : {fmt.number(load_before, 2)} avant, {fmt.number(os.getloadavg()[0], 2)} après ; "
              f"meilleur de {args.repeat} passage(s) par cas.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
