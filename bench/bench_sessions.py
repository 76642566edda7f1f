"""Load measure (issue #22): N concurrent sessions on the national store, as people drive the
app from their browsers (not part of the test run).

Real servers (`streamlit run app.py`, headless, 127.0.0.1, free ports, the repository's
`.streamlit/config.toml`: its `runner.postScriptGC` is printed in the report) on one of two stores
(`--backend`):
- `file` (default): the national DuckDB file (`bench/out/national.duckdb`), copied afresh for each
  configuration under bench/out/sessions/ (a DuckDB file is opened by one process only: one
  instance, so `2xN` is refused);
- `lake`: the national DuckLake shared by every instance (lake_setup.py: catalog in a throwaway
  PostgreSQL under bench/out/lake/).
Each configuration's servers start with an empty read cache on disk (`CDV_CACHE_DISQUE`, a new
folder under bench/out/sessions/ shared by the configuration's instances, as on one machine);
`--cache-disque DOSSIER` keeps one folder across runs (a second run then measures servers that
restart on the results of the first), `--cache-disque non` turns it off. `--precalcul` runs
`python -m cdv_core precalcul` on the configuration's store into its folder before its servers
start (a store precomputed after its last write, every selection; its duration is printed).

Each session opens the app by a link to its selection, then visits every page through the
sidebar, `--rounds` times (round 1: the selection's queries not cached yet; round 2: cached in the
instance). Selections: the contracts with the most QPV, one per session (as chefs de projet each on
their territory, `?contrat=<code>`); with `--mix`, sessions in pairs alternate between a contract
and « Tous les contrats » (`?contrat=tous`): sessions 0, 3, 4, 7, 8… on a contract, 1, 2, 5, 6… on
all, so that every instance and every starting page gets both. A visit fails when the page's URL
no longer names the session's selection (`contrat=<code>` or `contrat=tous`, as
cdv_core/ui/context.py writes it). Sessions start together, each on a different page, and stay
on one instance (session i → instance i mod n, as a load balancer with sticky sessions does).
`--think S` pauses a session between two visits for a time drawn uniformly in [0,5 S ; 1,5 S]
(a fixed seed per session: the same pauses at every run), as people reading a page; 0 (default):
no pause, a stress test. The page time never includes the pause.

Clients (`--client`):
- `chromium` (default): a headless Chromium context per session (Playwright). Page time: from the
  navigation (goto, or click on the sidebar link) until the page's title is shown,
  `[data-testid='stApp'][data-test-script-state='notRunning']` and no skeleton left: what a user
  sees, drawing included. The browser runs on this machine and competes with the servers for
  its cores: its CPU seconds are reported.
- `websocket`: the same visits over Streamlit's websocket, as the frontend sends them, without
  drawing. Page time: from the request until the end of the script run (its messages received):
  the servers' time alone.

Reported (French Markdown) per configuration: visits succeeded / failed (and why), median, p95
and max of page time, median and p95 of each round, median of the first visit (the link), each
instance's peak RSS (VmHWM in /proc, start-up included) and its RSS at the end of the sessions,
the servers' and clients' CPU seconds; with `--mix` the same split « un contrat » / « Tous les
contrats »; per page, median and p95. « Mémoire après tous les écrans »: each instance's RSS once
every page has been served with a contract and with « Tous les contrats » (every page × both
selections at least once on that instance; what the measured sessions did not cover is visited by
one unmeasured websocket session per missing selection after them).

Configurations, each on freshly started servers (empty caches; the store opened and app.py run by
one unmeasured visit of `/` first, « Tous les contrats »): `1x1` one instance × one session
(reference without concurrency), `1xN` one instance × N sessions, `2xN` two instances × N sessions
(N/2 each; lake only); by default `1x1 1xN` on the file, all three on the lake. Bounded: every
page wait (`--page-timeout`) and the whole run (`--budget-minutes`, shared among the
configurations, the lake's copy aside: past its share a session starts no new visit, and the
report says how many were made); every process is stopped at the end.

    python bench/bench_sessions.py [--client chromium|websocket] [--backend file|lake] [--sessions 10]
                                   [--configs 1x1 1xN 2xN] [--mix] [--think 0] [--rounds 2] [--repeat 1]
                                   [--budget-minutes 10] [--store bench/out/national.duckdb] [--json F]

The issue's targets, each in one run:

    # one instance, national file store, 20 sessions (p95 ≤ 2 s, memory ≤ 1,5 GB)
    python bench/bench_sessions.py --client websocket --backend file --sessions 20 --configs 1x1 1xN --mix
    # two instances on the shared store hold 40 sessions with the same p95 as one with 40
    python bench/bench_sessions.py --client websocket --backend lake --sessions 40 --configs 1xN 2xN --mix
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_pages  # noqa: E402
import lake_setup  # noqa: E402

from cdv_core.links import ALL_CONTRACTS  # noqa: E402
from cdv_core.ui.nav import PAGES  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOG_DIR = ROOT / "bench" / "out" / "sessions"
# The page is shown: its title in an h1, the script finished, no skeleton. The title proves the
# new page's run has begun (the state attribute alone may still be the previous run's). Checked
# in the page at every DOM change (a MutationObserver), so the time is not rounded to a polling step.
READY_JS = """(title) => new Promise((resolve) => {
  const ready = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector("[data-testid='stSkeleton']")) return false;
    return [...document.querySelectorAll('h1')].some(h => h.textContent.trim().startsWith(title));
  };
  const observer = new MutationObserver(() => { if (ready()) { observer.disconnect(); resolve(true); } });
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  if (ready()) { observer.disconnect(); resolve(true); }
})"""
STATE_JS = """() => ({
  url: location.href,
  state: document.querySelector("[data-testid='stApp']")?.getAttribute('data-test-script-state'),
  h1: [...document.querySelectorAll('h1')].map(h => h.textContent.trim()),
  skeletons: document.querySelectorAll("[data-testid='stSkeleton']").length,
  exceptions: [...document.querySelectorAll("[data-testid='stException']")].map(e => e.textContent.slice(0, 300)),
})"""
TIMEOUT = "délai dépassé"
CLOSED = "connexion fermée par le serveur"
THINK_SEED = 22  # the reading pauses of session i: random.Random(THINK_SEED + i)
SELECTIONS = {"contrat": "un contrat", "tous": "Tous les contrats"}  # Visit.selection → the report's words


def selection_of(contract: str) -> str:
    """A session's selection kind: « tous » for `?contrat=tous`, else « contrat »."""
    return "tous" if contract == ALL_CONTRACTS else "contrat"


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    from cdv_core import pg_local

    return pg_local.free_port()


def proc_status_kb(pid: int, name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its reaped children (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> set[int]:
    """Every live process below `root` (walks /proc's parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def fresh_cache_folder(name: str) -> str:
    """An empty folder for the read cache on disk (`CDV_CACHE_DISQUE`), private to this user."""
    folder = Path(tempfile.mkdtemp(prefix=f"cache-{_slug(name)}-", dir=LOG_DIR))
    folder.chmod(0o700)
    return str(folder)


def precalcul(store_url: str, cache: str, contracts: Sequence[str] = ()) -> float:
    """`python -m cdv_core precalcul` on the store into the read cache folder `cache` (every
    selection, or « Tous les contrats » and `contracts`), as after a write made while the servers
    were stopped; its duration in seconds."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cdv_core",
            "precalcul",
            "--store",
            store_url,
            *(["--contrat", ",".join(contracts)] if contracts else []),
        ],
        cwd=ROOT,
        env={**os.environ, "CDV_STORE": store_url, "CDV_CACHE_DISQUE": cache},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


class Instance:
    """`streamlit run app.py` on the shared store, on a free loopback port, in its own process group.
    `cache`: the read cache on disk's folder (`CDV_CACHE_DISQUE`: a folder or `non`); by default an
    empty one of its own, so that a new instance starts with every cache empty. `journal`: a file
    where the server notes when each run is asked and ends (`serveur_chronometre.py`)."""

    def __init__(self, store_url: str, name: str, cache: str | None = None, journal: Path | None = None):
        self.cache = cache or fresh_cache_folder(name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = LOG_DIR / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open while the server runs; closed in stop())
        start = [str(ROOT / "bench" / "serveur_chronometre.py")] if journal else ["-m", "streamlit"]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *start,
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "CDV_STORE": store_url,
                "CDV_CACHE_DISQUE": self.cache,
                **({"CDV_BANC_JOURNAL": str(journal)} if journal else {}),
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit s'est arrêté (code {self.proc.returncode}), voir {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit ne répond pas sur {self.url} après {timeout:.0f} s, voir {self.log_path}")

    def peak_rss_mb(self) -> float:
        return (proc_status_kb(self.proc.pid, "VmHWM") or 0) / 1024

    def rss_mb(self) -> float:
        return (proc_status_kb(self.proc.pid, "VmRSS") or 0) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own group (start_new_session): only ours
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._log.close()


class RssSampler(threading.Thread):
    """Highest VmRSS of each instance while the sessions run (VmHWM also counts the start-up)."""

    def __init__(self, instances: list[Instance]):
        super().__init__(daemon=True)
        self.instances, self.peak_kb = instances, [0] * len(instances)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.2):
            for i, inst in enumerate(self.instances):
                self.peak_kb[i] = max(self.peak_kb[i], proc_status_kb(inst.proc.pid, "VmRSS") or 0)

    def stop(self) -> list[float]:
        self._stop_event.set()
        self.join(timeout=5)
        return [kb / 1024 for kb in self.peak_kb]


# --- sessions --------------------------------------------------------------------------------


@dataclass
class Visit:
    session: int
    instance: int
    round: int
    page: str
    how: str  # "lien" (first visit, a shared link) or "clic" (sidebar)
    seconds: float
    ok: bool
    detail: str = ""
    selection: str = "contrat"  # "contrat" or "tous" (« Tous les contrats »)


@dataclass
class Plan:
    """What every session of a configuration does, and its bounds."""

    label: str
    rounds: int
    timeout_s: float  # one page
    deadline: float  # time.monotonic(): no visit starts after it
    think_s: float = 0.0  # mean pause between two visits of a session (0: none)

    def visits(self, first_page: int):
        """(round, page) in visiting order: every page, starting at `first_page`, `rounds` times."""
        order = list(PAGES[first_page:] + PAGES[:first_page])
        for rnd in range(1, self.rounds + 1):
            for spec in order:
                if time.monotonic() > self.deadline:
                    return
                yield rnd, spec

    def pauses(self, index: int):
        """Session `index`'s pauses before its 2nd, 3rd… visit: uniform in [0,5 ; 1,5] × think_s,
        the same at every run (seeded per session)."""
        rng = random.Random(THINK_SEED + index)
        while True:
            yield rng.uniform(0.5 * self.think_s, 1.5 * self.think_s) if self.think_s > 0 else 0.0

    async def think(self, pauses) -> bool:
        """Pause (reading the page); False when the deadline passed meanwhile: no new visit."""
        seconds = next(pauses)
        if seconds:
            await asyncio.sleep(min(seconds, max(0.0, self.deadline - time.monotonic())))
        return time.monotonic() <= self.deadline


def _path(spec) -> str:
    return "" if spec == PAGES[0] else spec.url_path  # the default page lives at /


async def _ready(page, title: str, timeout_s: float) -> None:
    await asyncio.wait_for(page.evaluate(READY_JS, title), timeout_s)


async def _record_stuck_page(page, name: str) -> None:
    """A page that never got ready: its state (JSON) and a screenshot under bench/out/sessions/."""
    stem = LOG_DIR / ("bloquee_" + "".join(c if c.isalnum() or c in "_-" else "_" for c in name))
    try:
        state = await asyncio.wait_for(page.evaluate(STATE_JS), 20)
        stem.with_suffix(".json").write_text(json.dumps(state, ensure_ascii=False, indent=1))
        await page.screenshot(path=str(stem.with_suffix(".png")), full_page=True, timeout=20_000)
    except Exception as exc:  # a diagnostic must not stop the bench
        stem.with_suffix(".txt").write_text(repr(exc))


async def browser_session(
    browser, plan: Plan, base_url: str, index: int, instance: int, contract: str, visits: list[Visit]
) -> None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        page = await context.new_page()
        first, pauses = True, plan.pauses(index)
        for rnd, spec in plan.visits(index % len(PAGES)):
            if not first and not await plan.think(pauses):
                return
            start = time.perf_counter()
            ok, detail = True, ""
            try:
                if first:
                    await page.goto(f"{base_url}/{_path(spec)}?contrat={contract}", timeout=plan.timeout_s * 1000)
                else:
                    # the navigation's link, or the page's own link when Streamlit serves it
                    # without app.py (the file-name menu is then hidden; its names differ)
                    await (
                        page.get_by_test_id("stSidebar")
                        .get_by_role("link", name=spec.title, exact=True)
                        .click(timeout=plan.timeout_s * 1000)
                    )
                await _ready(page, spec.title, plan.timeout_s - (time.perf_counter() - start))
            except (PlaywrightTimeout, TimeoutError):
                ok, detail = False, TIMEOUT
            except PlaywrightError as exc:  # e.g. the page navigated away during the check
                ok, detail = False, f"erreur du navigateur : {str(exc).splitlines()[0][:80]}"
            seconds = time.perf_counter() - start
            if not ok:
                await _record_stuck_page(page, f"{plan.label}_s{index}_{rnd}_{spec.url_path}")
            elif await page.get_by_test_id("stException").count():
                ok, detail = False, "exception affichée"
            elif (found := re.search(r"[?&]contrat=([^&#]*)", page.url)) is None or found.group(1) != contract:
                ok, detail = False, f"contrat perdu ({found.group(1) if found else None})"
            how = "lien" if first else "clic"
            visits.append(Visit(index, instance, rnd, spec.title, how, seconds, ok, detail, selection_of(contract)))
            first = False
            if not ok and detail != "exception affichée":
                return  # a stuck session stops here
    finally:
        await context.close()


async def _ws_visit(
    ws, spec, query_string: str, hashes: dict[str, str], first: bool, contract: str | None = None
) -> tuple[bool, str]:
    """One page visit as the frontend asks for it: a `rerun_script` BackMsg (the page named by its
    URL path on a session's first visit, by its script hash afterwards, as a click does), then
    every ForwardMsg until the run ends. Ok when the page's h1 title came, no exception, and the
    URL the app wrote still names the session's `contract`."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = query_string
    if first or _path(spec) not in hashes:
        msg.rerun_script.page_name = _path(spec)
    else:
        msg.rerun_script.page_script_hash = hashes[_path(spec)]
    await ws.send(msg.SerializeToString())
    titled, exceptions, url_contract = False, [], None
    while True:
        fwd = ForwardMsg()
        fwd.ParseFromString(await ws.recv())
        kind = fwd.WhichOneof("type")
        if kind == "navigation":  # the pages and their script hashes (the sidebar's links)
            hashes.update({p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages if not p.is_hidden})
        elif kind == "page_info_changed":
            found = re.search(r"(?:^|&)contrat=([^&]*)", fwd.page_info_changed.query_string)
            url_contract = found.group(1) if found else url_contract
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            element = fwd.delta.new_element
            kind_el = element.WhichOneof("type")
            if kind_el == "heading" and element.heading.tag == "h1" and element.heading.body.startswith(spec.title):
                titled = True
            elif kind_el == "exception":
                exceptions.append(element.exception.message[:200])
        elif kind == "script_finished" and fwd.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            if fwd.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                return False, "exécution interrompue"
            if exceptions:
                return False, "exception affichée"
            if contract and url_contract != contract:
                return False, f"contrat perdu ({url_contract})"
            return (True, "") if titled else (False, "titre de la page absent")


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/_stcore/stream"


async def ws_session(plan: Plan, base_url: str, index: int, instance: int, contract: str, visits: list[Visit]) -> None:
    """A session driven over Streamlit's websocket, as the browser's frontend drives it, without
    drawing anything: the page time is the server's (script run and transfer) alone."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(_ws_url(base_url), subprotocols=["streamlit"], max_size=None, open_timeout=plan.timeout_s) as ws:
        hashes: dict[str, str] = {}
        first, pauses = True, plan.pauses(index)
        for rnd, spec in plan.visits(index % len(PAGES)):
            if not first and not await plan.think(pauses):
                return
            start = time.perf_counter()
            try:
                ok, detail = await asyncio.wait_for(
                    _ws_visit(ws, spec, f"contrat={contract}" if first else "", hashes, first, contract), plan.timeout_s
                )
            except TimeoutError:
                ok, detail = False, TIMEOUT
            except ConnectionClosed:
                ok, detail = False, CLOSED
            how = "lien" if first else "clic"
            seconds = time.perf_counter() - start
            visits.append(Visit(index, instance, rnd, spec.title, how, seconds, ok, detail, selection_of(contract)))
            first = False
            if detail in (TIMEOUT, CLOSED):
                return  # the rest of that run would arrive as the next visit's messages


def _client_pids(instances: list[Instance]) -> set[int]:
    """This process's descendants that are not servers: Playwright's driver and Chromium."""
    servers = set()
    for inst in instances:
        servers |= {inst.proc.pid} | descendants(inst.proc.pid)
    return descendants(os.getpid()) - servers


async def drive(
    client: str, plan: Plan, instances: list[Instance], contracts: list[str], sessions: int
) -> tuple[list[Visit], float]:
    """Run the sessions concurrently: (visits, CPU seconds used by the clients)."""
    visits: list[Visit] = []
    assignment = [(s, s % len(instances)) for s in range(sessions)]
    if client == "websocket":
        # one unmeasured visit of `/` per instance: the store is opened, and app.py has run, as on
        # a server in service (before that, Streamlit serves a deep link without app.py's
        # st.navigation: the page then draws its own sidebar links, see cdv_core/ui/nav.py)
        from websockets.asyncio.client import connect

        for inst in instances:
            async with connect(_ws_url(inst.url), subprotocols=["streamlit"], max_size=None) as ws:
                ok, detail = await asyncio.wait_for(_ws_visit(ws, PAGES[0], "", {}, True), plan.timeout_s)
                if not ok:
                    raise RuntimeError(f"première visite de {inst.url} : {detail}")
        before = cpu_seconds(os.getpid())
        await asyncio.gather(*(ws_session(plan, instances[i].url, s, i, contracts[s], visits) for s, i in assignment))
        return visits, cpu_seconds(os.getpid()) - before

    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            warm = await browser.new_context()  # the same unmeasured visit of `/`
            for inst in instances:
                page = await warm.new_page()
                await page.goto(inst.url + "/", timeout=plan.timeout_s * 1000)
                await _ready(page, PAGES[0].title, plan.timeout_s)
                await page.close()
            await warm.close()
            before = sum(cpu_seconds(pid) for pid in _client_pids(instances))
            await asyncio.gather(
                *(browser_session(browser, plan, instances[i].url, s, i, contracts[s], visits) for s, i in assignment)
            )
            client_cpu = sum(cpu_seconds(pid) for pid in _client_pids(instances)) - before
        finally:
            await browser.close()
    return visits, client_cpu


def missing_selections(visits: list[Visit], n_instances: int) -> dict[int, list[str]]:
    """Per instance, the selection kinds ("contrat", "tous") that some page was not served with
    (successfully) by the measured sessions."""
    missing = {}
    for i in range(n_instances):
        served = {(v.page, v.selection) for v in visits if v.ok and v.instance == i}
        kinds = [k for k in SELECTIONS if any((spec.title, k) not in served for spec in PAGES)]
        if kinds:
            missing[i] = kinds
    return missing


async def sweep(instances: list[Instance], missing: dict[int, list[str]], contract: str, timeout_s: float) -> list[str]:
    """Unmeasured: one websocket session per (instance, missing selection kind) visiting every page
    once, so that each instance has served every page with both selections. Returns the problems."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    problems = []
    for i, kinds in missing.items():
        for kind in kinds:
            wanted = ALL_CONTRACTS if kind == "tous" else contract
            async with connect(_ws_url(instances[i].url), subprotocols=["streamlit"], max_size=None) as ws:
                hashes: dict[str, str] = {}
                for k, spec in enumerate(PAGES):
                    try:
                        query = f"contrat={wanted}" if k == 0 else ""
                        ok, detail = await asyncio.wait_for(
                            _ws_visit(ws, spec, query, hashes, k == 0, wanted), timeout_s
                        )
                    except (TimeoutError, ConnectionClosed) as exc:
                        ok, detail = False, TIMEOUT if isinstance(exc, TimeoutError) else CLOSED
                    if not ok:
                        problems.append(f"instance {i + 1}, {SELECTIONS[kind]}, {spec.title} : {detail}")
                        if detail in (TIMEOUT, CLOSED):
                            break
    return problems


# --- configurations and report -----------------------------------------------------------------


@dataclass
class Result:
    label: str
    instances: int
    sessions: int
    planned: int
    visits: list[Visit] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)  # VmHWM at the end of the sessions
    sampled_rss_mb: list[float] = field(default_factory=list)  # highest VmRSS during the sessions
    end_rss_mb: list[float] = field(default_factory=list)  # VmRSS at the end of the sessions
    all_screens_rss_mb: list[float] = field(default_factory=list)  # VmRSS once every page × both selections
    swept: list[str] = field(default_factory=list)  # what the unmeasured sweep visited, and its problems
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0
    repetitions: int = 1
    precalcul_s: float | None = None  # `python -m cdv_core precalcul` before the servers started (--precalcul)


def run_config(
    label: str,
    client: str,
    store_url: str,
    n_instances: int,
    sessions: int,
    contracts: list[str],
    rounds: int,
    timeout_s: float,
    deadline: float,
    think_s: float = 0.0,
    cache: str | None = None,
    precompute: bool = False,
) -> Result:
    """`cache`: the read cache on disk's folder, shared by the instances (as on one machine); by
    default an empty one for this configuration. `precompute`: run `python -m cdv_core precalcul`
    on the store into that folder first, as after a write made while the servers were stopped."""
    print(f"  {label} ({client})…", file=sys.stderr, flush=True)
    instances: list[Instance] = []
    result = Result(label, n_instances, sessions, planned=sessions * rounds * len(PAGES))
    cache = cache or fresh_cache_folder(label)
    if precompute:
        result.precalcul_s = precalcul(store_url, cache)
        deadline += result.precalcul_s  # the sessions' budget starts after it
    try:
        for i in range(n_instances):
            instances.append(Instance(store_url, f"{_slug(label)}_{client}_{i + 1}", cache))
        for inst in instances:
            inst.wait_healthy()
        plan = Plan(label, rounds, timeout_s, deadline, think_s)
        sampler = RssSampler(instances)
        server_before = sum(cpu_seconds(inst.proc.pid) for inst in instances)
        start = time.perf_counter()
        sampler.start()
        try:
            result.visits, result.client_cpu_s = asyncio.run(drive(client, plan, instances, contracts, sessions))
        finally:
            result.sampled_rss_mb = sampler.stop()
        result.wall_s = time.perf_counter() - start
        result.server_cpu_s = sum(cpu_seconds(inst.proc.pid) for inst in instances) - server_before
        result.peak_rss_mb = [inst.peak_rss_mb() for inst in instances]
        result.end_rss_mb = [inst.rss_mb() for inst in instances]
        missing = missing_selections(result.visits, n_instances)
        if missing:  # « mémoire après tous les écrans »: complete what the sessions did not serve
            print(f"    visite complémentaire non mesurée : {missing}", file=sys.stderr, flush=True)
            fallback = next((c for c in contracts if c != ALL_CONTRACTS), None)
            if fallback is None:
                raise RuntimeError("aucun contrat pour la visite complémentaire")
            problems = asyncio.run(sweep(instances, missing, fallback, timeout_s))
            result.swept = [
                f"instance {i + 1} : {', '.join(SELECTIONS[k] for k in kinds)}" for i, kinds in missing.items()
            ] + problems
        result.all_screens_rss_mb = [inst.rss_mb() for inst in instances]
    finally:
        for inst in instances:
            inst.stop()
    return result


def largest_contracts(store: Path, n: int) -> list[str]:
    """The `n` contracts with the most QPV, most first (again from the first when the store has
    fewer than `n`)."""
    from cdv_core import store as store_mod
    from cdv_core.queries import territoire

    if n <= 0:
        return []
    con = store_mod.open_store(store, read_only=True)
    try:
        codes = territoire.contracts_by_size(con.cursor())[:n]
    finally:
        con.close()
    if not codes:
        raise SystemExit(f"aucun contrat dans {store}")
    return [codes[i % len(codes)] for i in range(n)]


def session_selections(store: Path, sessions: int, mix: bool) -> list[str]:
    """Each session's `?contrat=` value: a contract code, one per session, the largest first; with
    `mix`, « tous » for sessions 1, 2, 5, 6, 9, 10… (pairs alternate: with 1 or 2 instances and an
    even number of pages, each instance and each starting page gets both selections)."""
    kinds = ["tous" if mix and s % 4 in (1, 2) else "contrat" for s in range(sessions)]
    codes = iter(largest_contracts(store, kinds.count("contrat")))
    return [ALL_CONTRACTS if k == "tous" else next(codes) for k in kinds]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0–100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def merge(results: list[Result]) -> list[Result]:
    """The repetitions of one configuration as one: every visit; per instance the highest peak;
    CPU and duration per repetition (mean)."""
    grouped: dict[str, list[Result]] = {}
    for r in results:
        grouped.setdefault(r.label, []).append(r)
    out = []
    for label, reps in grouped.items():
        m = Result(label, reps[0].instances, reps[0].sessions, planned=sum(r.planned for r in reps))
        m.visits = [v for r in reps for v in r.visits]
        m.peak_rss_mb = [max(r.peak_rss_mb[i] for r in reps) for i in range(m.instances)]
        m.sampled_rss_mb = [max(r.sampled_rss_mb[i] for r in reps) for i in range(m.instances)]
        m.end_rss_mb = [max(r.end_rss_mb[i] for r in reps) for i in range(m.instances)]
        m.all_screens_rss_mb = [max(r.all_screens_rss_mb[i] for r in reps) for i in range(m.instances)]
        m.swept = [s for r in reps for s in r.swept]
        m.server_cpu_s = statistics.mean(r.server_cpu_s for r in reps)
        m.client_cpu_s = statistics.mean(r.client_cpu_s for r in reps)
        m.wall_s = statistics.mean(r.wall_s for r in reps)
        m.repetitions = len(reps)
        done = [r.precalcul_s for r in reps if r.precalcul_s is not None]
        m.precalcul_s = statistics.mean(done) if done else None
        out.append(m)
    return out


def _run_settings(cache: str | None = None) -> str:
    """What the measure depends on besides the code: Streamlit's postScriptGC, the warm-up and the
    page runs' turns."""
    import tomllib

    try:
        config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        config = {}
    gc = config.get("runner", {}).get("postScriptGC", True)
    # read-only git commands (no index refresh written: the bench may run while someone commits)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    if commit and subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=ROOT, check=False).returncode:
        commit += " + modifications non validées"
    return (
        f"commit {commit or '?'} · runner.postScriptGC = {str(gc).lower()} · "
        f"CDV_PRECALCUL = {os.environ.get('CDV_PRECALCUL', 'oui (défaut)')} · "
        f"CDV_EXECUTIONS_SIMULTANEES = {_turns_setting()} · "
        f"cache sur disque : {cache or 'dossier vide par configuration'}"
    )


def _turns_setting() -> str:
    """The servers' `CDV_EXECUTIONS_SIMULTANEES` (they inherit this environment) and what it gives."""
    from cdv_core import settings

    try:
        count = settings.load_runs_at_once()
    except settings.SettingError:
        return "invalide"
    given = os.environ.get("CDV_EXECUTIONS_SIMULTANEES")
    return f"{given} ({count})" if given else f"auto (défaut : {count})"


def report(results: list[Result], args, load_before: float, seconds: float) -> None:
    from cdv_core import fmt

    results = merge(results)

    def s(value: float) -> str:
        return fmt.number(value, 2)

    def mb(values: list[float]) -> str:
        return " / ".join(fmt.integer(v) for v in values)

    client = (
        f"clients Chromium sans tête ({CHROMIUM}) sur la même machine"
        if args.client == "chromium"
        else "clients websocket Streamlit (sans rendu) sur la même machine"
    )
    backend = (
        "base nationale en fichier DuckDB (une copie par configuration)"
        if args.backend == "file"
        else "base nationale en DuckLake (catalogue PostgreSQL local)"
    )
    selection = (
        "la moitié sur un contrat (le sien), l'autre sur « Tous les contrats »"
        if args.mix
        else "chacune sur son contrat"
    )
    think = (
        "sans pause entre deux visites (stress)"
        if args.think <= 0
        else f"pause de lecture entre deux visites tirée entre {fmt.number(0.5 * args.think, 1)} et "
        f"{fmt.number(1.5 * args.think, 1)} s (graine fixe), hors temps de page"
    )
    print(
        f"Mesure du {time.strftime('%d/%m/%Y %H:%M', time.gmtime())} UTC · {_run_settings(args.cache_disque)}\n\n"
        f"Machine : {os.cpu_count()} cœurs · Python {sys.version.split()[0]} · {backend} · {client}"
    )
    print(
        f"{fmt.plural(args.sessions, 'session simultanée', 'sessions simultanées')}, {selection}, {think}, "
        f"{args.rounds} tour(s) des {len(PAGES)} pages ; "
        f"{max(1, args.repeat)} passage(s) de chaque configuration en alternance (CPU et durée : moyenne par "
        f"passage) ; charge moyenne (1 min) {fmt.number(load_before, 2)} avant, "
        f"{fmt.number(os.getloadavg()[0], 2)} après ; durée totale {fmt.number(seconds, 0)} s\n"
    )

    def row(visits: list[Visit]) -> list[str]:
        """Réussies / échouées, médiane, p95, max, médiane / p95 par tour, 1re visite."""
        ok = [v for v in visits if v.ok]
        times = [v.seconds for v in ok]
        cells = [
            f"{len(ok)} / {len(visits) - len(ok)}",
            s(statistics.median(times)) if times else "—",
            s(percentile(times, 95)) if times else "—",
            s(max(times)) if times else "—",
        ]
        for rnd in range(1, args.rounds + 1):
            values = [v.seconds for v in ok if v.round == rnd]
            cells.append(f"{s(statistics.median(values))} / {s(percentile(values, 95))}" if values else "—")
        links = [v.seconds for v in ok if v.how == "lien"]
        cells.append(s(statistics.median(links)) if links else "—")
        return cells

    def failures(visits: list[Visit]) -> str:
        failed = [v for v in visits if not v.ok]
        if not failed:
            return "—"
        counts: dict[str, int] = {}
        for v in failed:
            counts[v.detail] = counts.get(v.detail, 0) + 1
        return ", ".join(f"{d} × {n}" for d, n in sorted(counts.items()))

    def table(head: list[str], rows: list[list[str]], text: tuple[str, ...] = ("configuration", "page")) -> None:
        """A Markdown table; the `text` columns left-aligned, the figures right-aligned."""
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" if h in text else "---:" for h in head) + "|")
        for cells in rows:
            print("| " + " | ".join(cells) + " |")

    who = "navigateur" if args.client == "chromium" else "clients"
    timing = ["réussies / échouées", "médiane (s)", "p95 (s)", "max (s)"]
    timing += [f"tour {r}, médiane / p95 (s)" for r in range(1, args.rounds + 1)]
    timing += ["1re visite (lien), médiane (s)"]
    text = ("configuration", "page", "sélection", "causes des échecs", "visite complémentaire")
    head = ["configuration", "visites faites / prévues", *timing, "causes des échecs"]
    head += [
        "pic RSS par instance, VmHWM (Mo)",
        "RSS à la fin (Mo)",
        f"CPU serveurs / {who} (s)",
        "durée (s)",
    ]
    table(
        head,
        [
            [
                r.label,
                f"{len(r.visits)} / {r.planned}",
                *row(r.visits),
                failures(r.visits),
                mb(r.peak_rss_mb),
                mb(r.end_rss_mb),
                f"{fmt.number(r.server_cpu_s, 0)} / {fmt.number(r.client_cpu_s, 0)}",
                fmt.number(r.wall_s, 0),
            ]
            for r in results
        ],
        text,
    )
    if args.mix:
        print("\nPar sélection (temps de page, toutes sessions et tous tours) :\n")
        rows = []
        for r in results:
            for kind, words in SELECTIONS.items():
                visits = [v for v in r.visits if v.selection == kind]
                if visits:
                    rows.append([r.label, words, *row(visits), failures(visits)])
        table(["configuration", "sélection", *timing, "causes des échecs"], rows, text)

    for r in results:
        if r.precalcul_s is not None:
            print(
                f"\nPrécalcul avant le démarrage ({r.label}) : `python -m cdv_core precalcul`, « Tous les contrats » "
                f"et chaque contrat, et les premiers filtres d'« Actions et financements » sur « Tous les contrats », "
                f"en {fmt.number(r.precalcul_s, 0)} s (moyenne par passage), hors temps de page."
            )
    print(
        "\nMémoire après tous les écrans (RSS de chaque instance une fois chaque page servie avec un contrat "
        "et avec « Tous les contrats ») :\n"
    )
    table(
        ["configuration", "RSS après tous les écrans (Mo)", "pic RSS, VmHWM (Mo)", "visite complémentaire"],
        [
            [r.label, mb(r.all_screens_rss_mb), mb(r.peak_rss_mb), "; ".join(r.swept) or "aucune (déjà tout vu)"]
            for r in results
        ],
        text,
    )

    print("\nPar page (médiane / p95 en secondes, toutes sessions et tous tours) :\n")
    rows = []
    for spec in PAGES:
        cells = [spec.title]
        for r in results:
            values = [v.seconds for v in r.visits if v.ok and v.page == spec.title]
            cells.append(f"{s(statistics.median(values))} / {s(percentile(values, 95))}" if values else "—")
        rows.append(cells)
    table(["page", *(r.label for r in results)], rows)
    if args.mix:
        print("\nPar page et par sélection (médiane / p95 en secondes ; un contrat · Tous les contrats) :\n")
        rows = []
        for spec in PAGES:
            cells = [spec.title]
            for r in results:
                parts = []
                for kind in SELECTIONS:
                    values = [v.seconds for v in r.visits if v.ok and v.page == spec.title and v.selection == kind]
                    parts.append(f"{s(statistics.median(values))} / {s(percentile(values, 95))}" if values else "—")
                cells.append(" · ".join(parts))
            rows.append(cells)
        table(["page", *(r.label for r in results)], rows)


@contextlib.contextmanager
def config_store(store: Path, lake_url: str | None, label: str):
    """The store URL of one configuration: the shared lake, or a fresh copy of the national file
    (a DuckDB file is opened by one process only; a copy per configuration starts each alike),
    removed afterwards."""
    if lake_url is not None:
        yield lake_url
        return
    copy = LOG_DIR / f"national_{_slug(label)}.duckdb"
    wal = copy.with_name(copy.name + ".wal")
    wal.unlink(missing_ok=True)
    shutil.copyfile(store, copy)
    try:
        yield str(copy)
    finally:
        copy.unlink(missing_ok=True)
        wal.unlink(missing_ok=True)


def _slug(label: str) -> str:
    return label.replace(" ", "_").replace("×", "x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--store", default=str(bench_pages.DEFAULT_STORE), help="the national DuckDB file (built if absent)"
    )
    parser.add_argument("--client", choices=("chromium", "websocket"), default="chromium")
    parser.add_argument(
        "--backend",
        choices=("file", "lake"),
        default="file",
        help="file: one instance on a copy of the national DuckDB file; lake: the national DuckLake (1 or 2 instances)",
    )
    parser.add_argument(
        "--mix", action="store_true", help="half the sessions on « Tous les contrats », half on one contract each"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean pause (s) between two visits of a session, drawn in [0.5, 1.5] × it; 0: none (stress)",
    )
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="visits of every page per session")
    parser.add_argument("--repeat", type=int, default=1, help="run the configurations this many times, alternately")
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=("1x1", "1xN", "2xN"),
        help="1x1: one instance, one session (reference); 1xN / 2xN: one / two instances, N sessions "
        "(default: 1x1 1xN with --backend file, 1x1 1xN 2xN with --backend lake)",
    )
    parser.add_argument("--page-timeout", type=float, default=90, help="seconds; a slower page counts as failed")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=10,
        help="for all the sessions of all configurations; past it no new visit starts",
    )
    parser.add_argument(
        "--cache-disque",
        help="the read cache on disk's folder (CDV_CACHE_DISQUE), or non; by default an empty folder per "
        "configuration, shared by its instances. Give the same folder to two runs to measure servers "
        "that restart on a cache the previous ones filled",
    )
    parser.add_argument(
        "--precalcul",
        action="store_true",
        help="before each configuration's servers start, run `python -m cdv_core precalcul` on its store "
        "(every selection's pages into the cache on disk: a store precomputed after its last write); its "
        "duration is printed. Not with --cache-disque non",
    )
    parser.add_argument("--json", help="also write the raw visits to this file")
    args = parser.parse_args()
    if args.precalcul and args.cache_disque == "non":
        raise SystemExit("--precalcul range ses résultats dans le cache sur disque : pas avec --cache-disque non")
    if args.cache_disque and args.cache_disque != "non":
        Path(args.cache_disque).mkdir(parents=True, exist_ok=True, mode=0o700)
        args.cache_disque = str(Path(args.cache_disque).resolve())
    if args.client == "chromium" and not os.path.exists(CHROMIUM):
        raise SystemExit(f"Chromium est absent ({CHROMIUM}) : apt-get install -y chromium")
    if args.configs is None:
        args.configs = ["1x1", "1xN"] if args.backend == "file" else ["1x1", "1xN", "2xN"]
    if args.backend == "file" and "2xN" in args.configs:
        raise SystemExit(
            "2xN est impossible avec --backend file : un fichier DuckDB n'est ouvert que par un processus à la "
            "fois, donc par une seule instance. Mesurez deux instances avec --backend lake (base partagée)."
        )
    if args.sessions < 1 or args.think < 0:
        raise SystemExit("--sessions doit valoir au moins 1 et --think ne peut pas être négatif")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    store = Path(args.store)
    bench_pages.national_file(store)
    contracts = session_selections(store, args.sessions, args.mix)
    configs = {
        "1x1": ("1 instance × 1 session", 1, 1),
        "1xN": (f"1 instance × {args.sessions} sessions", 1, args.sessions),
        "2xN": (f"2 instances × {args.sessions} sessions", 2, args.sessions),
    }
    runs = [configs[key] for _ in range(max(1, args.repeat)) for key in args.configs]  # alternately
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    results = []
    with lake_setup.national_lake(store) if args.backend == "lake" else contextlib.nullcontext() as lake_url:
        end = time.monotonic() + args.budget_minutes * 60  # the sessions' budget: the lake's copy aside
        for k, (label, n, sessions) in enumerate(runs):
            # this configuration's share of what is left of the budget
            deadline = time.monotonic() + (end - time.monotonic()) / (len(runs) - k)
            with config_store(store, lake_url, label) as url:
                results.append(
                    run_config(
                        label,
                        args.client,
                        url,
                        n,
                        sessions,
                        contracts,
                        args.rounds,
                        args.page_timeout,
                        deadline,
                        args.think,
                        args.cache_disque,
                        args.precalcul,
                    )
                )
            end += results[-1].precalcul_s or 0.0  # the budget is the sessions': the precompute aside
    report(results, args, load_before, time.perf_counter() - started)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [{**r.__dict__, "visits": [v.__dict__ for v in r.visits]} for r in results],
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
