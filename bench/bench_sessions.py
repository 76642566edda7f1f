"""Concurrent sessions on the national DuckLake (not part of the test run): one app instance
serving N sessions against two instances serving the same N sessions, N/2 each.

Real servers (`streamlit run app.py`, headless, 127.0.0.1, free ports) share the national DuckLake
(lake_setup.py: catalog in a throwaway PostgreSQL under bench/out/lake/). Each session opens the
app by a link to its own contract (the contracts with the most QPV, one per session, as chefs de
projet each on their territory), then visits every page through the sidebar, `--rounds` times
(round 1: the contract's queries not cached yet; round 2: cached in the instance). Sessions start
together, each on a different page, and stay on one instance (session i → instance i mod n, as a
load balancer with sticky sessions does).

Clients (`--client`):
- `chromium` (default): a headless Chromium context per session (Playwright). Page time: from the
  navigation (goto, or click on the sidebar link) until the page's title is shown,
  `[data-testid='stApp'][data-test-script-state='notRunning']` and no skeleton left: what a user
  sees, drawing included. The browser runs on this machine and competes with the servers for
  its cores: its CPU seconds are reported.
- `websocket`: the same visits over Streamlit's websocket, as the frontend sends them, without
  drawing. Page time: from the request until the end of the script run (its messages received):
  the servers' time alone.

Reported per configuration: median and p95 of page time, each instance's peak RSS (VmHWM in
/proc), CPU seconds of the servers and of the clients. Configurations, each on freshly started
servers (empty caches; the store opened and app.py run by one unmeasured visit of `/` first):
1 instance × 1 session (reference without concurrency), 1 instance × N sessions, 2 instances × N
sessions. Bounded: every page wait (`--page-timeout`) and the whole run (`--budget-minutes`,
shared among the configurations: past its share a session starts no new visit, and the report
says how many were made); every process is stopped at the end.

    python bench/bench_sessions.py [--client chromium|websocket] [--sessions 10] [--rounds 2]
                                   [--repeat 1] [--budget-minutes 10] [--store bench/out/national.duckdb]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_pages  # noqa: E402
import lake_setup  # noqa: E402

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


class Instance:
    """`streamlit run app.py` on the shared store, on a free loopback port, in its own process group."""

    def __init__(self, store_url: str, name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open while the server runs; closed in stop())
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
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
            env={**os.environ, "CDV_STORE": store_url},
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


@dataclass
class Plan:
    """What every session of a configuration does, and its bounds."""

    label: str
    rounds: int
    timeout_s: float  # one page
    deadline: float  # time.monotonic(): no visit starts after it

    def visits(self, first_page: int):
        """(round, page) in visiting order: every page, starting at `first_page`, `rounds` times."""
        order = list(PAGES[first_page:] + PAGES[:first_page])
        for rnd in range(1, self.rounds + 1):
            for spec in order:
                if time.monotonic() > self.deadline:
                    return
                yield rnd, spec


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
        first = True
        for rnd, spec in plan.visits(index % len(PAGES)):
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
            visits.append(Visit(index, instance, rnd, spec.title, "lien" if first else "clic", seconds, ok, detail))
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
        first = True
        for rnd, spec in plan.visits(index % len(PAGES)):
            start = time.perf_counter()
            try:
                ok, detail = await asyncio.wait_for(
                    _ws_visit(ws, spec, f"contrat={contract}" if first else "", hashes, first, contract), plan.timeout_s
                )
            except TimeoutError:
                ok, detail = False, TIMEOUT
            except ConnectionClosed:
                ok, detail = False, "connexion fermée par le serveur"
            visits.append(
                Visit(
                    index,
                    instance,
                    rnd,
                    spec.title,
                    "lien" if first else "clic",
                    time.perf_counter() - start,
                    ok,
                    detail,
                )
            )
            first = False
            if detail in (TIMEOUT, "connexion fermée par le serveur"):
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


# --- configurations and report -----------------------------------------------------------------


@dataclass
class Result:
    label: str
    instances: int
    sessions: int
    planned: int
    visits: list[Visit] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)  # VmHWM at the end
    sampled_rss_mb: list[float] = field(default_factory=list)  # highest VmRSS during the sessions
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0
    repetitions: int = 1


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
) -> Result:
    print(f"  {label} ({client})…", file=sys.stderr, flush=True)
    instances: list[Instance] = []
    result = Result(label, n_instances, sessions, planned=sessions * rounds * len(PAGES))
    try:
        for i in range(n_instances):
            instances.append(Instance(store_url, f"{label.replace(' ', '_').replace('×', 'x')}_{client}_{i + 1}"))
        for inst in instances:
            inst.wait_healthy()
        plan = Plan(label, rounds, timeout_s, deadline)
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
    finally:
        for inst in instances:
            inst.stop()
    return result


def largest_contracts(store: Path, n: int) -> list[str]:
    from cdv_core import store as store_mod

    con = store_mod.open_store(store, read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT code_contrat FROM quartier GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?", [n]
            ).fetchall()
        ]
    finally:
        con.close()


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
        m.server_cpu_s = statistics.mean(r.server_cpu_s for r in reps)
        m.client_cpu_s = statistics.mean(r.client_cpu_s for r in reps)
        m.wall_s = statistics.mean(r.wall_s for r in reps)
        m.repetitions = len(reps)
        out.append(m)
    return out


def report(results: list[Result], args, load_before: float, seconds: float) -> None:
    from cdv_core import fmt

    results = merge(results)

    def s(value: float) -> str:
        return fmt.number(value, 2)

    client = (
        f"clients Chromium sans tête ({CHROMIUM}) sur la même machine"
        if args.client == "chromium"
        else "clients websocket Streamlit (sans rendu) sur la même machine"
    )
    print(
        f"Machine : {os.cpu_count()} cœurs · Python {sys.version.split()[0]} · base nationale en DuckLake "
        f"(catalogue PostgreSQL local) · {client}"
    )
    print(
        f"{args.sessions} sessions simultanées, chacune sur son contrat, "
        f"{args.rounds} tour(s) des {len(PAGES)} pages ; "
        f"{max(1, args.repeat)} passage(s) de chaque configuration en alternance (CPU et durée : moyenne par "
        f"passage) ; charge moyenne (1 min) {fmt.number(load_before, 2)} avant, "
        f"{fmt.number(os.getloadavg()[0], 2)} après ; durée totale {fmt.number(seconds, 0)} s\n"
    )
    who = "navigateur" if args.client == "chromium" else "clients"
    head = ["configuration", "visites faites / prévues", "médiane (s)", "p95 (s)"]
    head += [f"médiane tour {r} (s)" for r in range(1, args.rounds + 1)]
    head += [
        "1re visite (lien), médiane (s)",
        "échecs",
        "pic RSS par instance (Mo)",
        f"CPU serveurs / {who} (s)",
        "durée (s)",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if h in ("configuration", "échecs") else "---:" for h in head) + "|")
    for r in results:
        ok = [v for v in r.visits if v.ok]
        times = [v.seconds for v in ok]
        per_round = []
        for rnd in range(1, args.rounds + 1):
            values = [v.seconds for v in ok if v.round == rnd]
            per_round.append(s(statistics.median(values)) if values else "—")
        links = [v.seconds for v in ok if v.how == "lien"]
        failures = [v for v in r.visits if not v.ok]
        fail_text = "0" if not failures else f"{len(failures)} ({', '.join(sorted({v.detail for v in failures}))})"
        print(
            f"| {r.label} | {len(r.visits)} / {r.planned} | {s(statistics.median(times)) if times else '—'} | "
            f"{s(percentile(times, 95)) if times else '—'} | {' | '.join(per_round)} | "
            f"{s(statistics.median(links)) if links else '—'} | {fail_text} | "
            f"{' / '.join(fmt.integer(p) for p in r.peak_rss_mb)} | "
            f"{fmt.number(r.server_cpu_s, 0)} / {fmt.number(r.client_cpu_s, 0)} | {fmt.number(r.wall_s, 0)} |"
        )
    print("\nPar page (médiane / p95 en secondes, toutes sessions et tous tours) :\n")
    print("| page | " + " | ".join(r.label for r in results) + " |")
    print("|---|" + "---:|" * len(results))
    for spec in PAGES:
        cells = []
        for r in results:
            values = [v.seconds for v in r.visits if v.ok and v.page == spec.title]
            cells.append(f"{s(statistics.median(values))} / {s(percentile(values, 95))}" if values else "—")
        print(f"| {spec.title} | " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--store", default=str(bench_pages.DEFAULT_STORE), help="the national DuckDB file (built if absent)"
    )
    parser.add_argument("--client", choices=("chromium", "websocket"), default="chromium")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="visits of every page per session")
    parser.add_argument("--repeat", type=int, default=1, help="run the configurations this many times, alternately")
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=("1x1", "1xN", "2xN"),
        default=["1x1", "1xN", "2xN"],
        help="1x1: one instance, one session (reference); 1xN / 2xN: one / two instances, N sessions",
    )
    parser.add_argument("--page-timeout", type=float, default=90, help="seconds; a slower page counts as failed")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=10,
        help="for all the sessions of all configurations; past it no new visit starts",
    )
    parser.add_argument("--json", help="also write the raw visits to this file")
    args = parser.parse_args()
    if args.client == "chromium" and not os.path.exists(CHROMIUM):
        raise SystemExit(f"Chromium est absent ({CHROMIUM}) : apt-get install -y chromium")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    store = Path(args.store)
    bench_pages.national_file(store)
    contracts = largest_contracts(store, args.sessions)
    configs = {
        "1x1": ("1 instance × 1 session", 1, 1),
        "1xN": (f"1 instance × {args.sessions} sessions", 1, args.sessions),
        "2xN": (f"2 instances × {args.sessions} sessions", 2, args.sessions),
    }
    runs = [configs[key] for _ in range(max(1, args.repeat)) for key in args.configs]  # alternately
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    end = time.monotonic() + args.budget_minutes * 60
    results = []
    with lake_setup.national_lake(store) as url:
        for k, (label, n, sessions) in enumerate(runs):
            # this configuration's share of what is left of the budget
            deadline = time.monotonic() + (end - time.monotonic()) / (len(runs) - k)
            results.append(
                run_config(label, args.client, url, n, sessions, contracts, args.rounds, args.page_timeout, deadline)
            )
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
