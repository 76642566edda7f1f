"""Latency as a user's browser sees it (issue #22; not part of the test run): a real server
(`streamlit run app.py`, headless, 127.0.0.1, a free port, on a copy of the store) and Debian's
headless Chromium under Playwright (1400×1000, fr-FR), one user at a time.

Each view is measured three ways; times are taken in the page (performance.now(), by a hook
installed before Streamlit's code: it wraps `WebSocket` and listens to pointer and key presses):
- temps serveur: from the moment the browser sends the `rerun_script` BackMsg that the view
  triggers to the moment it receives the ForwardMsg `script_finished` that ends it
  (FINISHED_SUCCESSFULLY, or of a fragment; a run stopped early by `st.rerun()` is not the end);
  « dont serveur seul »: the same run in the server's journal (`serveur_chronometre.py`, through
  which the server is started), from the `rerun_script` received to the `script_finished` sent.
  The page stamps both ends on its main thread, which may still be drawing what the run sent
  before: the difference is the time the last messages waited for the page;
- écran prêt: from the user's gesture (the press on the link, tab, option or button; for a deep
  link, the navigation's start) until the run has ended and the page is settled:
  `[data-testid='stApp'][data-test-script-state='notRunning']`, no skeleton, no element still
  marked stale (`[data-stale='true']`), every Vega-Lite chart drawn (a canvas or svg inside) and
  every map (`stDeckGlJsonChart`) with its canvas. Checked at every DOM change (MutationObserver).
  A gesture that starts no run (a tab drawn by the browser alone; known once 1,5 s passed without
  a run asked) is ready from the moment the page last became settled;
- octets reçus: the payloads of the websocket frames received during the view, counted and
  parsed (ForwardMsg: end of run, exceptions shown, « réf. en cache »: references to messages
  the browser holds already) by Playwright's `framereceived`; and, as information, the bytes of
  HTTP responses (static assets) on a deep link (Resource Timing's transferSize).

Views, for two selections (one contract: the first demo contract, or the national contract with
the most QPV; and « Tous les contrats »): the 1re visite of each page by a deep link (a new
session); each page reached through the sidebar (second visit, caches warm); then interactions,
each from a fresh deep link to its page: the year, a financeur, an alert tab and a bilans tab on
« Actions et financements », the quartier on « Projets de quartier », the contract in the sidebar,
a tab of « Indicateurs »,
starting a séance and « Suivant » (for the contract only). Each view `--repeat` times; median and
max are reported. `--precalcul` runs `python -m cdv_core precalcul` on the two selections before the
server starts, as after a write made while it was stopped (every read of a first visit, and the
first filter on « Actions et financements » for « Tous les contrats », then filed on disk).
A view past `--timeout` counts as failed (its screenshot under bench/out/navigateur/); Ctrl-C
reports the views measured so far. The server is stopped at the end, even on error.

    python bench/bench_navigateur.py [--scale demo|national|both] [--repeat 5] [--quick]
                                     [--interactions financements séance] [--cache-disque non]
                                     [--precalcul]
                                     [--timeout 90] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pages  # noqa: E402
import bench_sessions  # noqa: E402
import serveur_chronometre  # noqa: E402
from bench_sessions import CHROMIUM, CHROMIUM_ARGS, Instance, _path  # noqa: E402

from cdv_core.ui.nav import PAGES  # noqa: E402

OUT = ROOT / "bench" / "out" / "navigateur"
ALL = "tous"
GRACE_MS = 1500  # a gesture without any run asked within this delay is drawn by the browser alone
# Installed before the page's own scripts: every websocket frame (time, direction, size; for the
# top-level protobuf fields, whether a BackMsg asks a run and a ForwardMsg's end-of-run status),
# and the time of the first press once armed.
HOOK_JS = """(() => {
  const log = window.__bn = {frames: [], t0: null, armed: false};
  const press = () => { if (log.armed && log.t0 === null) log.t0 = performance.now(); };
  for (const kind of ['pointerdown', 'keydown']) document.addEventListener(kind, press, true);
  const varint = (b, i) => { let v = 0, m = 1; for (;;) { const x = b[i++]; v += (x & 127) * m; m *= 128;
    if (x < 128) return [v, i]; } };
  const fields = (b) => { const out = {}; let i = 0;
    while (i < b.length) { let tag; [tag, i] = varint(b, i); const n = Math.floor(tag / 8), w = tag & 7;
      if (w === 0) { let v; [v, i] = varint(b, i); out[n] = v; }
      else if (w === 2) { let len; [len, i] = varint(b, i); out[n] = -1; i += len; }
      else if (w === 1) i += 8; else if (w === 5) i += 4; else break; }
    return out; };
  const bytes = (d) => d instanceof ArrayBuffer ? new Uint8Array(d)
    : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => { const b = bytes(ev.data);
        log.frames.push({t: performance.now(), out: false, fin: b ? (fields(b)[6] ?? null) : null}); });
    }
    send(d) { const b = bytes(d);
      log.frames.push({t: performance.now(), out: true, rerun: b ? 11 in fields(b) : false});
      return super.send(d); }
  };
})();"""
# Resolves when the view is settled: {ready, send, finished, shown} in the page's milliseconds.
READY_JS = """([t0, timeoutMs, graceMs]) => new Promise((resolve) => {
  const log = window.__bn, start = t0 ?? log.t0 ?? 0;
  let okSince = null;
  const settled = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector("[data-testid='stSkeleton'], [data-stale='true']")) return false;
    for (const c of document.querySelectorAll("[data-testid='stVegaLiteChart']"))  // shown ones: not in a hidden tab
      if (c.getBoundingClientRect().width > 0 && !c.querySelector('canvas, svg')) return false;
    for (const m of document.querySelectorAll("[data-testid='stDeckGlJsonChart']"))
      if (!m.querySelector('canvas')) return false;
    return true;
  };
  const frames = () => log.frames.filter((f) => f.t >= start);
  const finish = (extra) => { observer.disconnect(); clearInterval(timer); clearTimeout(limit);
    const fs = frames(), send = fs.find((f) => f.out && f.rerun);
    const end = fs.filter((f) => !f.out && (f.fin === 0 || f.fin === 3)).pop();
    resolve({start, send: send?.t ?? null, finished: end?.t ?? null, ...extra}); };
  const check = () => {
    const ok = settled();
    okSince = ok ? (okSince ?? performance.now()) : null;
    if (!ok) return;
    const fs = frames();
    if (fs.some((f) => !f.out && (f.fin === 0 || f.fin === 3))) finish({shown: performance.now()});
    else if (!fs.some((f) => f.out && f.rerun) && performance.now() - start > graceMs) finish({shown: okSince});
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  const timer = setInterval(check, 100);
  const limit = setTimeout(() => finish({shown: null}), timeoutMs);
  check();
})"""
ASSETS_JS = """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .reduce((s, e) => s + (e.transferSize || 0), 0)"""


@dataclass
class Measure:
    scale: str
    selection: str
    interaction: str
    rep: int
    server_s: float | None = None
    server_side_s: float | None = None  # the same run in the server's journal (`serveur_chronometre`)
    ready_s: float | None = None
    received_bytes: int = 0
    frames: int = 0
    cached_refs: int = 0  # ForwardMsg references to messages the browser holds already
    asset_bytes: int | None = None  # deep links only
    ok: bool = True
    detail: str = ""


@dataclass
class Frames:
    """The ForwardMsgs received by one page, parsed as they come (Playwright's `framereceived`)."""

    sizes: list[int] = field(default_factory=list)
    refs: list[bool] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        data = payload if isinstance(payload, bytes) else payload.encode()
        msg = ForwardMsg()
        msg.ParseFromString(data)
        self.sizes.append(len(data))
        self.refs.append(msg.WhichOneof("type") == "ref_hash")
        element = msg.delta.new_element if msg.WhichOneof("type") == "delta" else None
        if element is not None and element.WhichOneof("type") == "exception":
            self.exceptions.append(element.exception.message[:200])


def new_page(browser, timeout_s: float):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    context.add_init_script(HOOK_JS)
    context.set_default_timeout(timeout_s * 1000)
    page = context.new_page()
    frames = Frames()
    frames.attach(page)
    return page, frames


def measure(
    page,
    frames: Frames,
    gesture: Callable[[], None],
    m: Measure,
    timeout_s: float,
    *,
    link: bool = False,
    journal: Path | None = None,
):
    """Fill `m` with one view: `gesture` is the user's (a goto when `link`, timed from the navigation's
    start; otherwise timed from its press); then wait until the page is settled. `journal`: the
    server's (`serveur_chronometre`), for the run's time on the server's side."""
    first_frame, first_exc = len(frames.sizes), len(frames.exceptions)
    try:
        if not link:
            page.evaluate("() => { window.__bn.t0 = null; window.__bn.armed = true; }")
        gesture()
        if not link and page.evaluate("() => window.__bn.t0") is None:
            page.evaluate("() => { window.__bn.t0 = performance.now(); }")  # a press Playwright did not dispatch
        r = _settled(page, 0 if link else None, timeout_s)
    except Exception as exc:  # a widget not found or a click refused: the view failed
        m.ok, m.detail = False, "geste impossible : " + str(exc).splitlines()[0][:100]
        return _screenshot(page, m)
    if r["shown"] is None:
        m.ok, m.detail = False, f"page non prête après {timeout_s:.0f} s"
        return _screenshot(page, m)
    m.ready_s = (r["shown"] - r["start"]) / 1000
    if r["send"] is not None and r["finished"] is not None:
        m.server_s = (r["finished"] - r["send"]) / 1000
        if journal is not None:  # the page's clock as seconds since the epoch, as the journal's (taken
            # at each view: the page's monotonic clock and the wall clock may drift apart over a session)
            origin = page.evaluate("() => Date.now() - performance.now()")
            m.server_side_s = serveur_chronometre.server_seconds(
                serveur_chronometre.read(str(journal)), (origin + r["send"]) / 1000, (origin + r["finished"]) / 1000
            )
    if link:
        m.asset_bytes = page.evaluate(ASSETS_JS)
    m.received_bytes = sum(frames.sizes[first_frame:])
    m.frames = len(frames.sizes) - first_frame
    m.cached_refs = sum(frames.refs[first_frame:])
    if exceptions := frames.exceptions[first_exc:]:
        m.ok, m.detail = False, "exception affichée : " + exceptions[0][:80]
        _screenshot(page, m)
    page.evaluate("() => { window.__bn.armed = false; }")


def _settled(page, t0: float | None, timeout_s: float) -> dict:
    """READY_JS's answer. Chromium seldom drops a pending evaluation (« Resulting promise was garbage
    collected », about once in 200 views): asked again, from the same start kept in the page."""
    try:
        return page.evaluate(READY_JS, [t0, timeout_s * 1000, GRACE_MS])
    except Exception as exc:
        if "garbage collected" not in str(exc):
            raise
        return page.evaluate(READY_JS, [t0, timeout_s * 1000, GRACE_MS])


def _screenshot(page, m: Measure) -> None:
    name = f"{m.scale}_{m.selection}_{m.interaction}_{m.rep}"
    path = OUT / ("".join(c if c.isalnum() or c in "_-" else "_" for c in name) + ".png")
    try:
        page.screenshot(path=str(path), full_page=True, timeout=20_000)
    except Exception as exc:  # a diagnostic must not stop the bench
        path.with_suffix(".txt").write_text(repr(exc))


# --- gestures ----------------------------------------------------------------------------------


def pick(page, frames: Frames, rep: int, timeout_s: float, *, root: str) -> Callable[[], None]:
    """Open the select box (or multiselect) `root` and return the gesture: a press on one of the
    options not chosen yet (a different one at each repetition)."""
    page.locator(f"{root} [role='combobox']").first.click()
    options = page.locator("[role='option']:not([aria-selected='true'])")
    options.first.wait_for()
    option = options.nth(rep % min(options.count(), 3))
    return lambda: option.click()


def tab(page, frames: Frames, rep: int, timeout_s: float, *, name: str) -> Callable[[], None]:
    return lambda: page.get_by_role("tab", name=name).click()


def sidebar_link(page, spec) -> Callable[[], None]:
    link = page.get_by_test_id("stSidebar").get_by_role("link", name=spec.title, exact=True)
    return lambda: link.click()


def goto(page, url: str, timeout_s: float) -> None:
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)


def unmeasured(page, frames: Frames, gesture: Callable[[], None], timeout_s: float, *, link: bool = False) -> None:
    """A view waited for but not reported (what an interaction starts from)."""
    m = Measure("", "", "préparation", 0)
    measure(page, frames, gesture, m, timeout_s, link=link)
    if not m.ok:
        raise RuntimeError(m.detail)


def open_settled(page, frames: Frames, url: str, timeout_s: float) -> None:
    unmeasured(page, frames, lambda: goto(page, url, timeout_s), timeout_s, link=True)


def by_title(title: str):
    return next(p for p in PAGES if p.title == title)


def seance_start(page, frames: Frames, rep: int, timeout_s: float) -> Callable[[], None]:
    """The gesture « Démarrer la séance », once a séance left by a previous view (a draft kept in
    the store, resumed by every new session) is abandoned (unmeasured)."""
    if page.locator(".st-key-seance_next").count():
        page.get_by_role("button", name="Abandonner la séance").click()
        unmeasured(page, frames, lambda: page.locator(".st-key-seance_abandon button").click(), timeout_s)
    return lambda: page.locator(".st-key-seance_start button").click()


def seance_next(page, frames: Frames, rep: int, timeout_s: float) -> Callable[[], None]:
    """The gesture « Suivant », on a séance started (unmeasured) or resumed."""
    if not page.locator(".st-key-seance_next").count():
        unmeasured(page, frames, seance_start(page, frames, rep, timeout_s), timeout_s)
    return lambda: page.locator(".st-key-seance_next button").click()


# name → (page, how to prepare the gesture on the settled page: (page, frames, rep, timeout) → gesture)
INTERACTIONS: dict[str, tuple[str, Callable]] = {
    "financements : exercice": ("Actions et financements", partial(pick, root=".st-key-fin_annee")),
    "financements : financeur": ("Actions et financements", partial(pick, root=".st-key-fin_fin")),
    "financements : onglet d'alerte": ("Actions et financements", partial(tab, name="Versé > accordé")),
    "financements : onglet des bilans": ("Actions et financements", partial(tab, name="Par porteur")),
    "projets : quartier": ("Projets de quartier", partial(pick, root="[class*='st-key-projets_qpv_']")),
    "barre latérale : contrat": ("Vue d'ensemble", partial(pick, root=".st-key-sidebar_contrat")),
    "indicateurs : onglet": ("Indicateurs", partial(tab, name="Comparaison des quartiers")),
    "séance : démarrer": ("Séance et exports", seance_start),
    "séance : suivant": ("Séance et exports", seance_next),
}
QUICK_PAGES = ("Vue d'ensemble", "Actions et financements")
QUICK_INTERACTIONS = ("financements : exercice", "indicateurs : onglet")


def run_selection(
    browser, base: str, scale: str, selection: str, args, out: list[Measure], journal: Path | None = None
) -> None:
    """Every view of one selection (a contract code, or `tous`), `args.repeat` times, into `out`;
    `journal`: the server's (`serveur_chronometre`)."""
    query, t = f"?contrat={selection}", args.timeout
    pages = [p for p in PAGES if not args.quick or p.title in QUICK_PAGES]
    if args.interactions:  # only the interactions named (e.g. to measure a change), no page visit
        pages = []
    for rep in range(args.repeat):
        for spec in pages:  # a) 1re visite: a deep link in a new session
            page, frames = new_page(browser, t)
            m = Measure(scale, selection, f"1re visite : {spec.title}", rep)
            measure(
                page, frames, partial(goto, page, f"{base}/{_path(spec)}{query}", t), m, t, link=True, journal=journal
            )
            out.append(m)
            page.context.close()
        if pages:  # b) the sidebar, in one session
            page, frames = new_page(browser, t)
            try:
                open_settled(page, frames, f"{base}/{_path(pages[-1])}{query}", t)
                for spec in pages:
                    m = Measure(scale, selection, f"barre latérale : {spec.title}", rep)
                    measure(page, frames, sidebar_link(page, spec), m, t, journal=journal)
                    out.append(m)
            except Exception as exc:
                out.append(Measure(scale, selection, "barre latérale", rep, ok=False, detail=str(exc)[:120]))
            page.context.close()
        for name, (title, prepare) in INTERACTIONS.items():  # c) from a fresh deep link each time
            if (args.quick and name not in QUICK_INTERACTIONS) or (selection == ALL and title == "Séance et exports"):
                continue  # a séance is led for one contract
            if args.interactions and not any(wanted in name for wanted in args.interactions):
                continue
            page, frames = new_page(browser, t)
            m = Measure(scale, selection, name, rep)
            try:
                open_settled(page, frames, f"{base}/{_path(by_title(title))}{query}", t)
                measure(page, frames, prepare(page, frames, rep, t), m, t, journal=journal)
            except Exception as exc:
                m.ok, m.detail = False, "préparation impossible : " + str(exc).splitlines()[0][:100]
                _screenshot(page, m)
            out.append(m)
            page.context.close()
        print(f"    {scale} {selection} : passage {rep + 1}/{args.repeat} fait", file=sys.stderr, flush=True)


# --- stores, server, report ----------------------------------------------------------------------


def store_for(scale: str, folder: Path) -> Path:
    """A private copy of the scale's store (a DuckDB file is opened by one process at a time)."""
    copy = folder / f"{scale}.duckdb"
    if scale == "demo":
        subprocess.run([sys.executable, "-m", "cdv_core", "demo", "--out", str(copy), "--force"], cwd=ROOT, check=True)
    else:
        bench_pages.national_file(bench_pages.DEFAULT_STORE)
        shutil.copy(bench_pages.DEFAULT_STORE, copy)
    return copy


def first_contract(store: Path, scale: str) -> str:
    if scale == "national":
        return bench_sessions.largest_contracts(store, 1)[0]
    from cdv_core import store as store_mod

    con = store_mod.open_store(store, read_only=True)
    try:
        return store_mod.scalar(con, "SELECT min(code_contrat) FROM contrat")
    finally:
        con.close()


def run_scale(browser, scale: str, folder: Path, args, measures: list[Measure], peaks: dict[str, float]) -> None:
    """The views of a scale into `measures`, on a server of its own; its peak memory (MB) into `peaks`."""
    store = store_for(scale, folder)
    contract = first_contract(store, scale)
    journal = folder / f"journal_{scale}.txt"
    cache = args.cache_disque
    if args.precalcul:
        cache = cache or bench_sessions.fresh_cache_folder(f"navigateur_{scale}")
        print(f"  {scale} : précalcul…", file=sys.stderr, flush=True)
        bench_sessions.precalcul(str(store), cache, [contract])
    server = Instance(str(store), f"navigateur_{scale}", cache=cache, journal=journal)
    try:
        server.wait_healthy()
        page, frames = new_page(browser, args.timeout)
        open_settled(page, frames, server.url + "/", args.timeout)  # the store opened, app.py run
        page.context.close()
        for selection in (contract, ALL):
            print(f"  {scale} : {selection}…", file=sys.stderr, flush=True)
            run_selection(browser, server.url, scale, selection, args, measures, journal)
    finally:
        peaks[scale] = server.peak_rss_mb()
        server.stop()


def _n(value: float | None, digits: int = 2) -> str:
    from cdv_core import fmt

    return "—" if value is None else fmt.number(value, digits)


def table(measures: list[Measure]) -> list[str]:
    head = ["interaction", "temps serveur, médiane / max (s)", "dont serveur seul, médiane / max (s)"]
    head += ["écran prêt, médiane / max (s)"]
    head += ["octets reçus, médiane (Ko)", "réf. en cache", "échecs"]
    lines = ["| " + " | ".join(head) + " |", "|---|---:|---:|---:|---:|---:|---|"]
    for name in dict.fromkeys(m.interaction for m in measures):
        ms = [m for m in measures if m.interaction == name]
        ok = [m for m in ms if m.ok]
        server = [m.server_s for m in ok if m.server_s is not None]
        own = [m.server_side_s for m in ok if m.server_side_s is not None]
        ready = [m.ready_s for m in ok]
        fails = [m for m in ms if not m.ok]
        cells = [
            name,
            f"{_n(statistics.median(server))} / {_n(max(server))}" if server else "— (pas d'exécution)",
            f"{_n(statistics.median(own))} / {_n(max(own))}" if own else "—",
            f"{_n(statistics.median(ready))} / {_n(max(ready))}" if ready else "—",
            _n(statistics.median(m.received_bytes for m in ok) / 1024, 1) if ok else "—",
            _n(statistics.median(m.cached_refs for m in ok), 0) if ok else "—",
            f"{len(fails)} ({fails[0].detail})" if fails else "0",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(measures: list[Measure], peaks: dict[str, float], load: tuple[float, float], args, commit: str) -> None:
    from cdv_core import fmt

    print(
        f"Banc navigateur : Chromium sans tête ({CHROMIUM}), 1400×1000, un utilisateur à la fois ; "
        f"{args.repeat} passage(s) ; commit {commit or '?'} ; "
        f"{time.strftime('%d/%m/%Y %H:%M', time.gmtime())} UTC ; {os.cpu_count()} cœurs ; charge moyenne (1 min) "
        f"{fmt.number(load[0], 2)} avant, {fmt.number(load[1], 2)} après ; "
        + ("base précalculée avant le démarrage du serveur\n" if args.precalcul else "sans --precalcul\n")
    )
    for scale, peak in peaks.items():
        for selection in dict.fromkeys(m.selection for m in measures if m.scale == scale):
            shown = "Tous les contrats" if selection == ALL else f"contrat {selection}"
            print(f"### Base {scale}, {shown}\n")
            print("\n".join(table([m for m in measures if m.scale == scale and m.selection == selection])))
            if assets := [
                m.asset_bytes for m in measures if (m.scale, m.selection) == (scale, selection) and m.asset_bytes
            ]:
                print(f"\nRessources HTTP d'un lien direct (médiane) : {_n(statistics.median(assets) / 1024, 0)} Ko")
            print()
        print(f"Pic de mémoire du serveur, base {scale} (VmHWM) : {fmt.integer(peak)} Mo\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("demo", "national", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one repetition, two pages, two interactions")
    parser.add_argument("--timeout", type=float, default=90, help="seconds; a slower view counts as failed")
    parser.add_argument("--json", help="also write the raw measures to this file")
    parser.add_argument(
        "--interactions",
        nargs="*",
        default=[],
        help="only the interactions whose name holds one of these, no page visit",
    )
    parser.add_argument(
        "--cache-disque",
        help="the read cache on disk's folder (CDV_CACHE_DISQUE), or non; by default an empty folder of its own",
    )
    parser.add_argument(
        "--precalcul",
        action="store_true",
        help="run `python -m cdv_core precalcul` on the two selections into the cache folder before the server starts",
    )
    args = parser.parse_args()
    if args.precalcul and args.cache_disque == "non":
        raise SystemExit("--precalcul range ses résultats dans le cache sur disque : pas avec --cache-disque non")
    if args.quick:
        args.repeat = 1
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"Chromium est absent ({CHROMIUM}) : apt-get install -y chromium")
    OUT.mkdir(parents=True, exist_ok=True)
    bench_sessions.LOG_DIR.mkdir(parents=True, exist_ok=True)  # the servers' logs
    from playwright.sync_api import sync_playwright

    load_before, measures, peaks = os.getloadavg()[0], [], {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory(prefix="bench_navigateur_") as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for scale in ("demo", "national") if args.scale == "both" else (args.scale,):
                run_scale(browser, scale, Path(tmp), args, measures, peaks)
        except KeyboardInterrupt:  # Ctrl-C (or `timeout -s INT`): the views measured so far are reported
            print("Banc interrompu : résultats partiels.\n")
        finally:
            browser.close()
    report(measures, peaks, (load_before, os.getloadavg()[0]), args, commit.strip())
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(m) for m in measures], ensure_ascii=False, indent=1))
    return 0 if all(m.ok for m in measures) else 1


if __name__ == "__main__":
    sys.exit(main())
