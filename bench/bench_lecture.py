"""Reading bench (issue 23), not part of the test run:
`python bench/bench_lecture.py [--rows N]`.

1. Excel: a programmation workbook of N rows (200 000 by default, as a « Classeur Excel » writes
   it: numbers as numbers, texts as shared strings) is validated and committed into a fresh copy
   of the demo store; the same rows as « CSV UTF-8 » for comparison. Goal: under 10 s for the
   workbook, reported with the ratio Excel / CSV measured in the same run.
2. Hostile files: the worst file of each kind (tests/hostile.py: a sheet with a cell at the far
   corner, a forged dimension, a header of a million columns, a data line of a million cells, a
   file over the cell bound), read by `ingest.analyse` in a fresh process: its outcome, its time
   and the process's peak memory (VmHWM). Goal: each refused or read in seconds, peak < 600 MB
   (the interpreter with Polars, DuckDB and fastexcel loaded is ≈ 250 MB).
Every case runs in its own process (peak memory is the process's own).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_import import CONTRACTS, LOCAL, _peak_mb  # noqa: E402

from cdv_core import demo, fmt  # noqa: E402
from cdv_core.ingest import samples  # noqa: E402

HOSTILE = {
    "Feuille : cellule au coin XFD1048576": "hostile.far_corner_xlsx()",
    "Feuille : dimension falsifiée": "hostile.forged_dimension_xlsx()",
    "CSV : en-tête d'un million de colonnes (10 Mo)": "hostile.wide_header_csv()",
    "CSV : une ligne d'un million de cellules": "hostile.wide_line_csv()",
    "CSV : 25 millions de cellules (borne 20 M)": "b'a;b;c;d;e\\n' + b'1;2;3;4;5\\n' * 5_000_000",
}


def _child(case: str, arg: str, store_path: str) -> None:
    from cdv_core import ingest, store
    from tests import hostile  # noqa: F401  (used by the expressions of HOSTILE)

    data = Path(arg).read_bytes() if case == "import" else eval(arg)  # eval of our own literals above
    name = Path(arg).name if case == "import" else "hostile.xlsx" if data[:2] == b"PK" else "hostile.csv"
    con = store.connect(store_path)
    start = time.perf_counter()
    analysis = ingest.analyse(con.cursor(), data, name)
    out = {"validation_s": time.perf_counter() - start, "lignes": analysis.nb_lignes}
    if case == "import":
        if not analysis.ok:
            raise SystemExit(f"fichier refusé : {analysis.problems.head(5)}")
        ingest.commit(con, analysis, user=LOCAL)
    else:
        errors = analysis.problems.filter(analysis.problems["gravité"] == "erreur")["problème"].to_list()
        out["issue"] = (errors[0][:90] + "…") if errors else f"lu : {analysis.nb_lignes} ligne(s)"
    con.close()
    out["secondes"] = time.perf_counter() - start
    out["pic_mo"] = _peak_mb()
    print(json.dumps(out))


def _run(case: str, arg: str, master: Path, work: Path) -> dict:
    copy = work / "store.duckdb"
    shutil.copy(master, copy)
    try:
        res = subprocess.run(
            [sys.executable, __file__, "--child", case, arg, str(copy)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
    finally:
        copy.unlink(missing_ok=True)
    if res.returncode != 0:
        raise SystemExit(f"cas en échec :\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-lecture-"))
    try:
        master = work / "demo.duckdb"
        demo.build_store(master, scale="demo", seed=2024)
        frame = samples.programmation(args.rows, contracts=CONTRACTS, porteurs=2000)
        csv_path, xlsx_path = work / "programmation.csv", work / "programmation.xlsx"
        csv_path.write_bytes(samples.to_csv(frame, encoding="utf-8-sig"))
        frame.write_excel(xlsx_path, autofit=False)
        del frame
        csv_run = _run("import", str(csv_path), master, work)
        xlsx_run = _run("import", str(xlsx_path), master, work)
        print(
            f"Programmation de {fmt.integer(args.rows)} lignes : "
            f"CSV {fmt.number(csv_path.stat().st_size / 2**20, 1)} Mo, "
            f"Excel {fmt.number(xlsx_path.stat().st_size / 2**20, 1)} Mo"
        )
        print(f"{'cas':<50} {'secondes':>9} {'pic (Mo)':>9}  note")
        for label, r in (("Import CSV UTF-8", csv_run), ("Import classeur Excel (.xlsx)", xlsx_run)):
            print(
                f"{label:<50} {fmt.number(r['secondes'], 2):>9} {fmt.integer(r['pic_mo']):>9}  "
                f"dont lecture et validation {fmt.number(r['validation_s'], 2)} s"
            )
        print(
            f"Excel / CSV : {fmt.number(xlsx_run['secondes'] / csv_run['secondes'], 2)}× ; "
            f"cible : Excel de 200 000 lignes en moins de 10 s."
        )
        print()
        print(f"{'fichier hostile':<50} {'secondes':>9} {'pic (Mo)':>9}  issue")
        for label, expr in HOSTILE.items():
            r = _run("hostile", expr, master, work)
            print(f"{label:<50} {fmt.number(r['secondes'], 2):>9} {fmt.integer(r['pic_mo']):>9}  {r['issue']}")
        print("Cible : chaque fichier refusé ou lu en quelques secondes, pic < 600 Mo.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
