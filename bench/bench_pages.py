"""National-scale benchmark (not part of the test run).

Builds the national-scale store (generation time and peak memory measured in a child process),
then, for every page of the navigation, measures with AppTest the first script run (cold read
cache), the warm reruns and a change of contract in the sidebar, and prints a Markdown table to
paste into docs/performance.md.

With `--acces both` the same measures run, alternately, without identification (CDV_AUTH=aucune,
every read unrestricted) and as a chef de projet of every contract of the store (CDV_AUTH=oidc: the
login, the account read, and every query filtered by a périmètre of all the contracts — the
costliest list to filter by), with the ratio per page (goal of issue #15: warm reruns ≤ 1,05×).

With `--backend lake` the same measures run on a DuckLake copy of the national file (catalog in a
throwaway PostgreSQL under bench/out/lake/, see lake_setup.py); with `--backend both` on the file
and on the lake in the same run, alternately (`--rounds` rounds, each backend in a fresh
process, the median of the rounds kept), with the ratio lake / file per page (goal ≤ 1,5×).

    python bench/bench_pages.py [--store bench/out/national.duckdb] [--rebuild] [--backend file|lake|both]
                                [--rounds 3] [--pages gouvernance ...] [--acces aucune|perimetre|both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"warm": 0.3, "first": 2.0, "generation": 60.0, "memory_mb": 1536, "lake_ratio": 1.5, "access_ratio": 1.05}
BENCH_EMAIL = "chef.bench@example.fr"  # --acces perimetre: a chef de projet of every contract
_AUTH_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "b" * 32,
        "client_id": "cdv-bench",
        "client_secret": "bench",
        "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
    }
}
DEFAULT_STORE = ROOT / "bench" / "out" / "national.duckdb"
MEASURES = ("first", "warm", "contract")  # 1re exécution, relance (médiane), changement de contrat


def build(store: Path) -> tuple[float, float]:
    """Generate the national store in a child process: (seconds, peak RSS in MB)."""
    store.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (store, Path(str(store) + ".wal")):
        leftover.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cdv_core", "demo", "--scale", "national", "--out", str(store)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak_mb


def national_file(store: Path, rebuild: bool = False) -> tuple[float, float] | None:
    """Build the national file when asked or absent: the generation's (seconds, peak MB), or None."""
    if rebuild or not store.exists():
        return build(store)
    return None


def largest_contract(store: Path | str) -> str:
    """The contract with the most QPV (the selection a change of contract picks): the heaviest
    single-contract view, the same on every backend since the lake is a copy of the file."""
    from cdv_core import store as store_mod
    from cdv_core.queries import territoire

    con = store_mod.open_store(store, read_only=True)
    try:
        return territoire.contracts_by_size(con.cursor())[0]
    finally:
        con.close()


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_account(store: Path | str) -> None:
    """The chef de projet of every contract that `--acces perimetre` logs in as (added once)."""
    from cdv_core import access
    from cdv_core import store as store_mod

    con = store_mod.connect(store)
    try:
        cur = con.cursor()
        if access.load_user(cur, BENCH_EMAIL) is None:
            codes = [r[0] for r in cur.execute("SELECT code_contrat FROM contrat ORDER BY 1").fetchall()]
            if not access.administrators(cur):
                access.add_user(con, user=access.local_user("bench"), email="admin.bench@example.fr", role=access.ADMIN)
            access.add_user(
                con, user=access.local_user("bench"), email=BENCH_EMAIL, role="chef_de_projet", contrats=codes
            )
    finally:
        con.close()


def measure_pages(
    store: Path | str, only: list[str] | None, warm_runs: int, contract: str | None = None, email: str | None = None
) -> list[dict]:
    """Every page (or `only`) in AppTest on `store` (a file path or a DuckLake URL), « Tous les
    contrats »: first run with an empty read cache, median of `warm_runs` reruns, and, when
    `contract` is given, the run after choosing that contract in the sidebar (its queries not
    cached yet); then back to « Tous les contrats » (not measured)."""
    os.environ["CDV_STORE"] = str(store)
    os.chdir(ROOT)
    import logging

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)

    from cdv_core.ui.context import ALL_CONTRACTS
    from cdv_core.ui.nav import PAGES

    rows = []
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if email:  # logged in through st.login (simulated by AppTest), scoped reads
        os.environ["CDV_AUTH"] = "oidc"
        at.user = {"is_logged_in": True, "email": email, "exp": int(time.time()) + 86400}
        at.secrets = _AUTH_SECRETS
    at.run()  # opens the store once (process start-up cost, not a page cost)
    if email and not any("Connecté" in c.value for c in at.sidebar.caption):
        raise SystemExit(f"connexion simulée refusée pour {email} : {[m.value for m in at.main.markdown][:3]}")
    for spec in PAGES:
        name = Path(spec.path).stem
        if only and name not in only:
            continue
        at.switch_page(spec.path)
        st.cache_data.clear()
        start = time.perf_counter()
        at.run()
        first = time.perf_counter() - start
        errors = [e.value for e in at.exception]
        warm = []
        for _ in range(warm_runs):
            start = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - start)
        row = {"page": spec.title, "first": first, "warm": statistics.median(warm)}
        if contract:
            at.sidebar.selectbox(key="sidebar_contrat").set_value(contract)
            start = time.perf_counter()
            at.run()
            row["contract"] = time.perf_counter() - start
            errors += [e.value for e in at.exception]
            at.sidebar.selectbox(key="sidebar_contrat").set_value(ALL_CONTRACTS)
            at.run()
        row["errors"] = sorted(set(errors))
        rows.append(row)
    return rows


def small_query_ms(store: Path | str, runs: int = 50) -> float:
    """Median time (ms) of the smallest read the app makes at every rerun (the store version,
    on a fresh cursor as the app does): on a DuckLake, mostly the catalog's round trips."""
    from cdv_core import store as store_mod

    con = store_mod.open_store(store)  # as the app opens it (the measuring process has it open already)
    try:
        times = []
        for _ in range(runs):
            cur = con.cursor()
            start = time.perf_counter()
            store_mod.store_version(cur)
            times.append((time.perf_counter() - start) * 1000)
            cur.close()
        return statistics.median(times)
    finally:
        con.close()


def measure_in_child(
    store: Path | str, only: list[str] | None, warm_runs: int, contract: str | None, email: str | None = None
) -> dict:
    """`measure_pages` in a fresh process (its own caches, its own peak memory)."""
    cmd = [sys.executable, __file__, "--child", str(store), "--warm-runs", str(warm_runs)]
    if email:
        cmd += ["--as", email]
    if contract:
        cmd += ["--contract", contract]
    if only:
        cmd += ["--pages", *only]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"mesure impossible sur {store} :\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _median_rows(runs: list[dict]) -> list[dict]:
    """Per page, the median over rounds of each measure; errors of every round."""
    rows = []
    for i, first in enumerate(runs[0]["rows"]):
        row = {"page": first["page"], "errors": sorted({e for r in runs for e in r["rows"][i]["errors"]})}
        for m in MEASURES:
            if m in first:
                row[m] = statistics.median(r["rows"][i][m] for r in runs)
        rows.append(row)
    return rows


def access_ab(store: Path, args, contract: str) -> int:
    """`--acces`: the file store without identification and/or as the bench's chef de projet,
    alternately, each in a fresh process; the median of the rounds and the ratio per page."""
    from cdv_core import fmt

    bench_account(store)
    variants = {"aucune": None, "perimetre": BENCH_EMAIL}
    chosen = list(variants) if args.acces == "both" else [args.acces]
    runs: dict[str, list[dict]] = {v: [] for v in chosen}
    load_before, started = os.getloadavg()[0], time.perf_counter()
    for _ in range(max(1, args.rounds)):
        for v in chosen:
            runs[v].append(measure_in_child(store, args.pages, args.warm_runs, contract, variants[v]))
    rows = {v: _median_rows(runs[v]) for v in chosen}
    n = fmt.number
    print(
        f"Machine : {os.cpu_count()} cœurs · base {store.name} · {args.rounds} passage(s), médiane · charge "
        f"{n(load_before, 2)} avant, {n(os.getloadavg()[0], 2)} après ; durée {n(time.perf_counter() - started, 0)} s"
    )
    if len(chosen) == 1:
        for r in rows[chosen[0]]:
            print(f"| {r['page']} | {n(r['first'], 2)} | {n(r['warm'], 3)} | {n(r['contract'], 2)} |")
        return 0
    goal = TARGETS["access_ratio"]
    print(
        "| page | relance sans identification (s) | relance avec périmètre (s) | rapport | ≤ "
        f"{n(goal, 2)} | 1re exécution : sans / avec (s) | erreurs |"
    )
    print("|---|---:|---:|---:|:-:|---:|---|")
    total = {v: 0.0 for v in chosen}
    for plain, scoped in zip(rows["aucune"], rows["perimetre"]):
        ratio = scoped["warm"] / plain["warm"]
        total["aucune"] += plain["warm"]
        total["perimetre"] += scoped["warm"]
        errors = "; ".join(e[:80] for e in plain["errors"] + scoped["errors"]) or "—"
        print(
            f"| {plain['page']} | {n(plain['warm'], 3)} | {n(scoped['warm'], 3)} | {n(ratio, 2)} | "
            f"{'oui' if ratio <= goal else '**non**'} | {n(plain['first'], 2)} / {n(scoped['first'], 2)} | {errors} |"
        )
    overall = total["perimetre"] / total["aucune"]
    print(
        f"| **toutes les pages** | {n(total['aucune'], 3)} | {n(total['perimetre'], 3)} | {n(overall, 2)} | "
        f"{'oui' if overall <= goal else '**non**'} | | |"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=str(DEFAULT_STORE), help="the national DuckDB file (built if absent)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--backend", choices=("file", "lake", "both"), default="file")
    parser.add_argument("--rounds", type=int, default=3, help="measures per backend (fresh process each); median kept")
    parser.add_argument("--pages", nargs="*")
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument(
        "--contract", help="contract chosen for the « changement de contrat » run (default: the one with the most QPV)"
    )
    parser.add_argument(
        "--acces",
        choices=("aucune", "perimetre", "both"),
        default="aucune",
        help="sans identification, connecté avec un périmètre de tous les contrats, ou les deux",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--as", dest="email", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        rows = measure_pages(args.child, args.pages, args.warm_runs, args.contract, args.email)
        peak = peak_rss_mb()
        print(json.dumps({"rows": rows, "peak_mb": peak, "small_query_ms": small_query_ms(args.child)}))
        return 0

    from contextlib import nullcontext

    from cdv_core import fmt

    store = Path(args.store)
    gen = national_file(store, args.rebuild)
    contract = args.contract or largest_contract(store)
    if args.acces != "aucune":
        return access_ab(store, args, contract)
    backends = ["file", "lake"] if args.backend == "both" else [args.backend]
    rounds = max(1, args.rounds)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    if "lake" in backends:
        import lake_setup

        lake = lake_setup.national_lake(store)
    else:
        lake = nullcontext(None)
    runs: dict[str, list[dict]] = {b: [] for b in backends}
    with lake as lake_url:
        targets = {"file": store, "lake": lake_url}
        for _ in range(rounds):  # alternate the backends: a disturbance of the shared machine hits both
            for backend in backends:
                runs[backend].append(measure_in_child(targets[backend], args.pages, args.warm_runs, contract))
    rows = {b: _median_rows(runs[b]) for b in backends}
    peak = {b: max(r["peak_mb"] for r in runs[b]) for b in backends}

    def ok(value, target):
        return "oui" if value <= target else "**non**"

    def n(value, decimals):
        return fmt.number(value, decimals)

    names = {"file": "fichier DuckDB", "lake": "DuckLake (catalogue PostgreSQL local)"}
    print(
        f"Machine : {os.cpu_count()} cœurs · Python {sys.version.split()[0]} · base {store.name} · "
        f"{' puis '.join(names[b] for b in backends)} · {rounds} passage(s) par base, médiane · "
        f"changement de contrat vers {contract}"
    )
    print(
        f"Charge moyenne (1 min) : {n(load_before, 2)} avant, {n(os.getloadavg()[0], 2)} après ; "
        f"durée {n(time.perf_counter() - started, 0)} s"
    )
    if gen:
        print(
            f"\nGénération nationale : {n(gen[0], 1)} s (cible ≤ {TARGETS['generation']:.0f} s : "
            f"{ok(gen[0], TARGETS['generation'])}), mémoire max {n(gen[1], 0)} Mo "
            f"(cible ≤ {TARGETS['memory_mb']} Mo : {ok(gen[1], TARGETS['memory_mb'])})"
        )
    for b in backends:
        small = statistics.median(r["small_query_ms"] for r in runs[b])
        print(
            f"Mémoire max du processus de mesure ({names[b]}) : {n(peak[b], 0)} Mo "
            f"(cible ≤ {TARGETS['memory_mb']} Mo : {ok(peak[b], TARGETS['memory_mb'])}) ; "
            f"plus petite lecture (version de la base) : {n(small, 1)} ms"
        )
    print()
    if len(backends) == 1:
        print(
            "| page | 1re exécution (s) | ≤ 2 s | relance, médiane (s) | ≤ 0,3 s "
            "| changement de contrat (s) | erreurs |"
        )
        print("|---|---:|:-:|---:|:-:|---:|---|")
        for r in rows[backends[0]]:
            print(
                f"| {r['page']} | {n(r['first'], 2)} | {ok(r['first'], TARGETS['first'])} | {n(r['warm'], 3)} | "
                f"{ok(r['warm'], TARGETS['warm'])} | {n(r['contract'], 2)} | "
                f"{'; '.join(e[:80] for e in r['errors']) or '—'} |"
            )
        return 0

    goal = TARGETS["lake_ratio"]
    labels = {"first": "1re exécution", "warm": "relance (médiane)", "contract": "changement de contrat"}
    head = " | ".join(f"{labels[m]} : fichier (s) | lac (s) | lac / fichier" for m in MEASURES)
    print(f"| page | {head} | erreurs |")
    print("|---|" + "---:|---:|---:|" * len(MEASURES) + "---|")
    totals = {b: {m: 0.0 for m in MEASURES} for b in backends}
    for f, k in zip(rows["file"], rows["lake"]):
        cells = []
        for m in MEASURES:
            totals["file"][m] += f[m]
            totals["lake"][m] += k[m]
            ratio = k[m] / f[m]
            mark = f"{n(ratio, 2)}×" if ratio <= goal else f"**{n(ratio, 2)}×**"
            digits = 3 if m == "warm" else 2
            cells.append(f"{n(f[m], digits)} | {n(k[m], digits)} | {mark}")
        errors = "; ".join(e[:80] for e in sorted(set(f["errors"]) | set(k["errors"]))) or "—"
        print(f"| {f['page']} | {' | '.join(cells)} | {errors} |")
    cells = []
    for m in MEASURES:
        digits = 3 if m == "warm" else 2
        cells.append(
            f"{n(totals['file'][m], digits)} | {n(totals['lake'][m], digits)} | "
            f"{n(totals['lake'][m] / totals['file'][m], 2)}×"
        )
    print(f"| **toutes les pages** | {' | '.join(cells)} | |")
    print(f"\nObjectif : lac / fichier ≤ {n(goal, 1)}× par page ; en gras, les rapports au-delà.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
