"""National-scale benchmark (not part of the test run).

Builds the national-scale store (generation time and peak memory measured in a child process),
then, for every page of the navigation, measures with AppTest the first script run (cold read
cache) and the warm reruns, and prints a Markdown table to paste into docs/performance.md.

    python bench/bench_pages.py [--store bench/out/national.duckdb] [--rebuild] [--pages gouvernance ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"warm": 0.3, "first": 2.0, "generation": 60.0, "memory_mb": 1536}


def build(store: Path) -> tuple[float, float]:
    """Generate the national store in a child process: (seconds, peak RSS in MB)."""
    store.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (store, Path(str(store) + ".wal")):
        leftover.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cdv_core", "demo", "--scale", "national", "--out", str(store)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak_mb


def measure_pages(store: Path, only: list[str] | None, warm_runs: int) -> list[dict]:
    os.environ["CDV_STORE"] = str(store)
    os.chdir(ROOT)
    import logging

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)

    from cdv_core.ui.nav import PAGES

    rows = []
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()  # opens the store once (process start-up cost, not a page cost)
    for spec in PAGES:
        name = Path(spec.path).stem
        if only and name not in only:
            continue
        at.switch_page(spec.path)
        st.cache_data.clear()
        start = time.perf_counter()
        at.run()
        first = time.perf_counter() - start
        warm = []
        for _ in range(warm_runs):
            start = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - start)
        errors = [e.value for e in at.exception]
        rows.append({"page": spec.title, "first": first, "warm": statistics.median(warm), "errors": errors})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default=str(ROOT / "bench" / "out" / "national.duckdb"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--pages", nargs="*")
    parser.add_argument("--warm-runs", type=int, default=5)
    args = parser.parse_args()
    store = Path(args.store)
    gen = None
    if args.rebuild or not store.exists():
        gen = build(store)
    rows = measure_pages(store, args.pages, args.warm_runs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from cdv_core import fmt

    def ok(value, target):
        return "oui" if value <= target else "**non**"

    def n(value, decimals):
        return fmt.number(value, decimals)

    print(f"Machine : {os.cpu_count()} cœurs · Python {sys.version.split()[0]} · base {store.name}")
    if gen:
        print(f"\nGénération nationale : {n(gen[0], 1)} s (cible ≤ {TARGETS['generation']:.0f} s : "
              f"{ok(gen[0], TARGETS['generation'])}), mémoire max {n(gen[1], 0)} Mo "
              f"(cible ≤ {TARGETS['memory_mb']} Mo : {ok(gen[1], TARGETS['memory_mb'])})")
    print(f"Mémoire max du processus de mesure des pages : {n(peak_mb, 0)} Mo "
          f"(cible ≤ {TARGETS['memory_mb']} Mo : {ok(peak_mb, TARGETS['memory_mb'])})\n")
    print("| page | 1re exécution (s) | ≤ 2 s | relance, médiane (s) | ≤ 0,3 s | erreurs |")
    print("|---|---:|:-:|---:|:-:|---|")
    for r in rows:
        print(f"| {r['page']} | {n(r['first'], 2)} | {ok(r['first'], TARGETS['first'])} | {n(r['warm'], 3)} | "
              f"{ok(r['warm'], TARGETS['warm'])} | {'; '.join(e[:80] for e in r['errors']) or '—'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
