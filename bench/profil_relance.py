"""Where a rerun's time goes (not part of the test run): a real server sampled while one session
drives every page over Streamlit's websocket, as a browser does.

A server (`streamlit run app.py`, headless, loopback) is started on a copy of the store; one
unmeasured tour of both selections opens the store and fills the read cache and the figures kept
by content (`--froid` skips it: then the first visits are profiled); then py-spy samples the
server (`--rate` per second) while one websocket session visits every page `--rounds` times, for
one contract and then « Tous les contrats ». Only the samples of script runs count (Streamlit's
script thread). Each sample is given to one category (`CATEGORIES`, in order of precedence), so
the shares add up to 100 %.

    pip install -r bench/requirements.txt   # py-spy
    python bench/profil_relance.py [--store bench/out/national.duckdb] [--rounds 4] [--froid] [--gc]
                                   [--fonctions 30] [--brut samples.txt]

`--fonctions N` adds the N application functions with the most samples (inclusive: a function
counts every sample where it is on the stack); `--brut` keeps py-spy's raw samples.

`--gc` turns Streamlit's full `gc.collect()` after every script run back on (the project turns it
off in `.streamlit/config.toml`), to see what it cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pages  # noqa: E402
import bench_sessions  # noqa: E402

from cdv_core.ui.nav import PAGES  # noqa: E402

# (label, a frame's text that marks it), in order of precedence: a sample goes to the first label
# whose mark is anywhere in its stack; a sample matching none goes to its leaf frame's side
# (Streamlit's own code, or the application's).
CATEGORIES = (
    ("ramasse-miettes de Streamlit après chaque exécution (gc.collect)", "_on_script_finished"),
    ("requêtes DuckDB (cache vide)", "_handle_cache_miss"),
    ("lecture du cache (copie des résultats)", "read_result"),
    ("graphiques Altair : spécification et validation", "_convert_altair_to_vega_lite_spec"),
    ("graphiques Altair : construction", "altair/"),
    ("tableaux : conversion pour le navigateur", "ArrowMixin.dataframe"),
    ("carte pydeck", "pydeck"),
    ("mise en forme Polars (figures)", "polars/"),
    ("version de la base et panneau latéral (bootstrap)", "bootstrap (cdv_core/ui/context.py:"),
    ("envoi des messages au navigateur", "enqueue"),
)
LEAF = (("autres éléments Streamlit", "streamlit/"), ("code de l'application (Python)", ""))
SCRIPT_THREAD = "_run_script_thread"


def categorize(raw: str) -> tuple[Counter, int]:
    """py-spy's raw output (`frame;frame;… count` per line) → samples per category, total."""
    counts: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if SCRIPT_THREAD not in stack or not n.isdigit():
            continue
        total += int(n)
        frames = stack.split(";")
        label = next((lab for lab, mark in CATEGORIES if any(mark in frame for frame in frames)), None)
        label = label or next(lab for lab, mark in LEAF if mark in frames[-1])
        counts[label] += int(n)
    return counts, total


def by_function(raw: str, top: int) -> list[tuple[str, int]]:
    """The application's functions (`module/path.function`) by inclusive samples of the script thread:
    each sample counts once for every distinct application function on its stack."""
    counts: Counter = Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if SCRIPT_THREAD not in stack or not n.isdigit():
            continue
        names = {f"{m[2] or 'pages/' + m[3]}.{m[1]}" for m in map(APP_FRAME.search, stack.split(";")) if m}
        for name in names:
            counts[name] += int(n)
    return counts.most_common(top)


# py-spy's frame text: `function (path/to/file.py:line)`; the application's are under cdv_core/, or
# pages' files (which py-spy names without their folder)
APP_FRAME = re.compile(
    r"^(\S+) \((?:(?:\S*/)?(cdv_core/\S+?)|(" + "|".join(p.stem for p in (ROOT / "pages").glob("*.py")) + r"))\.py:"
)


async def tour(url: str, contract: str, rounds: int) -> list[tuple[str, float]]:
    """One session: a link to `contract`, then every page `rounds` times (page, seconds)."""
    from websockets.asyncio.client import connect

    times = []
    async with connect(bench_sessions._ws_url(url), subprotocols=["streamlit"], max_size=None) as ws:
        hashes: dict[str, str] = {}
        first = True
        for _ in range(rounds):
            for spec in PAGES:
                start = time.perf_counter()
                query = f"contrat={contract}" if first else ""
                ok, detail = await bench_sessions._ws_visit(ws, spec, query, hashes, first)
                if not ok:
                    raise RuntimeError(f"{spec.title} : {detail}")
                times.append((spec.title, time.perf_counter() - start))
                first = False
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=str(bench_pages.DEFAULT_STORE))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--froid", action="store_true", help="profile the first visits (no warming tour)")
    parser.add_argument("--fonctions", type=int, default=0, help="also list the N costliest application functions")
    parser.add_argument("--brut", help="also keep py-spy's raw samples in this file")
    parser.add_argument("--gc", action="store_true", help="Streamlit's gc.collect() after every run, as by default")
    args = parser.parse_args()
    if not shutil.which("py-spy"):
        raise SystemExit("py-spy est absent : pip install -r bench/requirements.txt")
    store = Path(args.store)
    bench_pages.national_file(store)
    contract = bench_sessions.largest_contracts(store, 1)[0]
    bench_sessions.LOG_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cdv-profil-") as tmp:
        copy = Path(tmp) / store.name
        shutil.copy(store, copy)
        if args.gc:  # Streamlit reads its options from STREAMLIT_<SECTION>_<OPTION> too
            os.environ["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "true"
        server = bench_sessions.Instance(str(copy), "profil")
        try:
            server.wait_healthy()
            # opens the store; unless --froid, fills the cache for both selections profiled
            for selection in ("tous",) if args.froid else (contract, "tous"):
                asyncio.run(tour(server.url, selection, 1 if args.froid else 2))
            if args.froid:
                server.stop()
                server = bench_sessions.Instance(str(copy), "profil")
                server.wait_healthy()
            out = Path(tmp) / "profil.txt"
            spy = subprocess.Popen(
                ["py-spy", "record", "-p", str(server.proc.pid), "-o", str(out), "-f", "raw", "-r", str(args.rate)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
            times = []
            for selection in (contract, "tous"):
                times += asyncio.run(tour(server.url, selection, args.rounds))
            spy.send_signal(2)  # SIGINT: py-spy writes its file
            spy.wait(timeout=60)
            raw = out.read_text()
            if args.brut:
                Path(args.brut).write_text(raw)
            counts, total = categorize(raw)
        finally:
            server.stop()
    print(f"Profil d'une relance — {time.strftime('%d/%m/%Y %H:%M')}, charge {os.getloadavg()[0]:.1f}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"commit {commit.stdout.strip()}")
    print(
        f"base {store.name}, contrat {contract} puis « Tous les contrats », {args.rounds} tours des {len(PAGES)} écrans"
    )
    print("gc.collect() après chaque exécution : " + ("oui (--gc)" if args.gc else "non (réglage du projet)") + "\n")
    print(f"Temps des écrans : total {sum(t for _, t in times):.2f} s, {len(times)} visites".replace(".", ","))
    print(f"\n| catégorie | part des échantillons ({total} au total) |\n|---|---:|")
    for label, n in counts.most_common():
        share = f"{100 * n / total:.1f}".replace(".", ",")
        print(f"| {label} | {share} % |")
    if args.fonctions:
        print("\n| fonction de l'application (échantillons inclusifs) | part |\n|---|---:|")
        for name, n in by_function(raw, args.fonctions):
            share = f"{100 * n / total:.1f}".replace(".", ",")
            print(f"| `{name}` | {share} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
