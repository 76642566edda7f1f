"""End-to-end fixtures: the real app under `streamlit run` and Debian's headless Chromium.

In CI (CI=true) a missing browser, Playwright, PostgreSQL or nginx is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts" / "e2e"
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _unavailable(problem: str) -> None:
    """A tool the test needs is missing: fail in CI, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Test de bout en bout impossible : " + problem)
    pytest.skip(problem)


def _require_browser():
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "le paquet Python playwright n'est pas installé (pip install -r requirements-dev.txt)"
    if problem is None and not os.path.exists(CHROMIUM):
        problem = f"Chromium est absent ({CHROMIUM}) : apt-get install -y chromium chromium-driver"
    if problem:
        _unavailable(problem)


def require_postgres() -> None:
    """PostgreSQL's server binaries, for a throwaway DuckLake catalog (cdv_core.pg_local)."""
    from cdv_core import pg_local

    try:
        pg_local.binaries()
    except pg_local.PostgresMissing as exc:
        _unavailable(str(exc))


def require_nginx() -> str:
    """The path of Debian's nginx (not always on a non-root PATH)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        _unavailable("nginx est absent : apt-get install -y nginx")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate, then kill after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_healthy(server, what: str, log_path, *, seconds: float) -> None:
    """Wait until `server.url` answers Streamlit's health check (through nginx too); stop
    `server` and raise in French if its process ends or it does not answer in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{what} s'est arrêté (code {server.proc.returncode}), voir {log_path}")
        try:
            with urllib.request.urlopen(server.url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{what} ne répond pas sur {server.url}, voir {log_path}")


class LiveServer:
    """`streamlit run app.py` on a free loopback port, started and waited for; `store_path` is a file
    path or a shared store URL, `env` extra variables (e.g. CDV_DATA_PATH)."""

    def __init__(self, store_path: Path | str, log_path: Path, *, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # the warm-up after a write and the read cache on disk are on, as in service (the AppTest
        # runs turn them off); the cache in a folder of this server's own
        cache = log_path.parent / f"cache-{self.port}"
        env = {
            **os.environ,
            "CDV_PRECALCUL": "oui",
            "CDV_CACHE_DISQUE": str(cache),
            **(env or {}),
            "CDV_STORE": str(store_path),
        }
        self._log = open(log_path, "w")  # noqa: SIM115 (open while the server runs; closed in stop())
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
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_healthy(self, "streamlit", log_path, seconds=60)

    def stop(self):
        stop_process(self.proc)
        self._log.close()


@pytest.fixture
def live_server(tmp_path):
    """A fresh `streamlit run app.py` on a free port, whose store file does not exist yet
    (so the app creates the demo store on start, as on a new machine)."""
    _require_browser()
    server = LiveServer(tmp_path / "store" / "cdv.duckdb", tmp_path / "streamlit.log")
    yield server
    server.stop()


@contextmanager
def launched_chromium() -> Iterator:
    """Debian's headless Chromium under Playwright (a module-scoped fixture may share one)."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chromium():
    """Debian's headless Chromium under Playwright; open pages with `new_page`."""
    with launched_chromium() as browser:
        yield browser


@contextmanager
def server_on_demo_copy(demo_store_master: Path, folder: Path) -> Iterator[LiveServer]:
    """`streamlit run app.py` on a copy of the demo store (faster than creating it), stopped after."""
    _require_browser()
    shutil.copy(demo_store_master, folder / "cdv.duckdb")
    live = LiveServer(folder / "cdv.duckdb", folder / "streamlit.log")
    try:
        yield live
    finally:
        live.stop()


def new_page(browser):
    """A page in a context of its own (its own cookies: one more user)."""
    return browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")


@pytest.fixture
def browser_page(chromium):
    yield new_page(chromium)


RUNNING = "[data-testid='stApp'][data-test-script-state='running']"


def settle(page, timeout: float = 60_000) -> None:
    """Wait until the script has finished running and no skeleton is left (no sleeps).

    After a click the rerun may not have started yet, and the app still reads « not running »
    from the previous run: first give the rerun a moment to start, then wait for its end.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # nothing was rerun (or it already finished)
        page.locator(RUNNING).wait_for(state="attached", timeout=1_500)
    page.locator(READY).wait_for(state="attached", timeout=timeout)
    page.get_by_test_id("stSkeleton").first.wait_for(state="detached", timeout=timeout)


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


__all__ = ["ARTIFACTS", "LiveServer", "new_page", "require_nginx", "require_postgres", "settle", "shot", "shutil"]


class IdentityProxy:
    """nginx in front of `app_url`, standing in for an authenticating proxy (CDV_AUTH=entete): it
    sets the identity header on every request — the page's and the websocket's — from the cookie
    `cdv_test_identite`, as oauth2-proxy sets it from its session, and drops any header the
    browser sent. (Chromium 150 does not add Playwright's extra HTTP headers to a websocket
    handshake, and Streamlit reads the identity from the websocket's.) Open pages with `page_as`."""

    def __init__(self, app_url: str, folder: Path, header: str = "X-Forwarded-Email"):
        nginx = require_nginx()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        (folder / "tmp").mkdir(parents=True, exist_ok=True)
        conf = f"""daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {folder}/tmp/body; proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi; uwsgi_temp_path {folder}/tmp/uwsgi; scgi_temp_path {folder}/tmp/scgi;
    access_log off;
    client_max_body_size 200m;
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass {app_url};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header {header} $cookie_cdv_test_identite;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""
        (folder / "nginx.conf").write_text(conf, encoding="utf-8")
        self.proc = subprocess.Popen(
            [nginx, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_healthy(self, "nginx", folder / "error.log", seconds=15)

    def page_as(self, browser, email: str):
        """A page in a context of its own whose requests carry `email` as the proxy's identity."""
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        context.add_cookies([{"name": "cdv_test_identite", "value": email, "url": self.url}])
        return context.new_page()

    def stop(self):
        stop_process(self.proc)
