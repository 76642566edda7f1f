"""The shared store (DuckLake: catalog in PostgreSQL, data files in a folder) end to end.

Two app servers on one shared store: a meeting recorded in the browser through server A is
seen by server B on reload, and an import by the command line while both serve is seen by both.
Then the deployment example `deploy/local.sh`: nginx in front of two instances with sticky
sessions (page, websocket and upload of each browser on one instance), and `stop` leaving no
process behind.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cdv_core.ingest import samples
from tests.conftest import ROOT, new_lake
from tests.e2e.conftest import LiveServer, _free_port, new_page, require_nginx, require_postgres, settle, shot
from tests.e2e.test_import import _upload

CONTRACT = "CV-DEMO-VERM"
LATE_LABEL = "Comité technique — CA du Pays de Vermandie"
LOCAL_SH = ROOT / "deploy" / "local.sh"


# --- two servers on one shared store ---------------------------------------------------------


@pytest.fixture(scope="module")
def shared_store(postgres, lake_data, lake_masters):
    """A DuckLake holding the demo territory, its catalog in the session's throwaway PostgreSQL
    (tests/conftest.py, which also fails in CI without PostgreSQL): (store URL, data folder)."""
    return new_lake(postgres, lake_data, template=lake_masters["demo"]), lake_data


@pytest.fixture(scope="module")
def two_servers(shared_store, tmp_path_factory):
    """Servers A and B, two `streamlit run app.py` on the same shared store."""
    url, data = shared_store
    logs = tmp_path_factory.mktemp("journaux")
    started: list[LiveServer] = []
    try:
        for name in ("a", "b"):
            started.append(LiveServer(url, logs / f"streamlit-{name}.log", env={"CDV_DATA_PATH": str(data)}))
        yield started
    finally:
        for server in started:
            server.stop()


def _store_version(page) -> int:
    """The sidebar's « Base partagée : version N · JJ/MM/AAAA »."""
    caption = page.get_by_test_id("stSidebar").get_by_text(re.compile(r"Base partagée : version \d+")).inner_text()
    return int(re.search(r"version (\d+)", caption).group(1))


def _card(page, label: str) -> int:
    card = page.get_by_test_id("stMetric").filter(has_text=label)
    return int(re.sub(r"\s", "", card.get_by_test_id("stMetricValue").inner_text()))


def _late_card(page) -> int:
    return _card(page, "Instances en retard")


def _open_gouvernance(page, server: LiveServer) -> None:
    page.goto(f"{server.url}/gouvernance?contrat={CONTRACT}")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Gouvernance").is_visible()


def _record_meeting(page) -> None:
    """Record a COTECH meeting through the Gouvernance form (the instance is late in the demo)."""
    page.get_by_role("tab", name="Enregistrer une réunion").click()
    page.get_by_test_id("stForm").wait_for(timeout=30_000)
    settle(page)
    form = page.get_by_test_id("stForm")
    form.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=LATE_LABEL).first.click()
    form.get_by_label("Participants").fill("9")
    form.get_by_label("dont habitants").fill("1")
    form.get_by_label("Objet").fill("Réunion saisie sur l'instance A")
    form.get_by_role("button", name="Enregistrer la réunion").click()
    page.get_by_text("enregistrée pour").first.wait_for(timeout=30_000)
    settle(page)


def test_meeting_recorded_through_one_server_is_seen_by_the_other(two_servers, chromium):
    server_a, server_b = two_servers
    page_b = new_page(chromium)
    _open_gouvernance(page_b, server_b)
    version, late = _store_version(page_b), _late_card(page_b)
    assert page_b.get_by_test_id("stAlertContentWarning").filter(has_text=LATE_LABEL).count() == 1

    page_a = new_page(chromium)
    _open_gouvernance(page_a, server_a)
    assert (_store_version(page_a), _late_card(page_a)) == (version, late)  # one store behind both
    _record_meeting(page_a)
    assert page_a.get_by_test_id("stException").count() == 0
    assert _late_card(page_a) == late - 1
    assert _store_version(page_a) == version + 1

    page_b.reload()
    settle(page_b)
    assert page_b.get_by_test_id("stException").count() == 0
    assert _store_version(page_b) == version + 1
    assert _late_card(page_b) == late - 1
    assert page_b.get_by_test_id("stAlertContentWarning").filter(has_text=LATE_LABEL).count() == 0
    shot(page_b, "base-partagee-instance-b")


def test_import_by_command_while_both_serve_is_seen_by_both(two_servers, shared_store, chromium, tmp_path):
    """A third writer, the command line, imports while both servers serve the store."""
    url, _ = shared_store
    pages = []
    for server in two_servers:
        page = new_page(chromium)
        page.goto(f"{server.url}/?contrat={CONTRACT}")
        settle(page)
        pages.append(page)
    version, actions = _store_version(pages[0]), _card(pages[0], "Actions 2026")  # données au 15/11/2026
    assert [(_store_version(p), _card(p, "Actions 2026")) for p in pages] == [(version, actions)] * 2

    path = tmp_path / "programmation_2026.csv"
    path.write_bytes(
        samples.to_csv(samples.programmation(10, contracts={CONTRACT: ["QN00281M"]}, year=2026), encoding="cp1252")
    )
    done = subprocess.run(
        [sys.executable, "-m", "cdv_core", "import", str(path), "--store", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validé" in done.stdout

    for page in pages:
        page.reload()
        settle(page)
        assert page.get_by_test_id("stException").count() == 0
        assert (_store_version(page), _card(page, "Actions 2026")) == (version + 1, actions + 10)


# --- the deployment example: deploy/local.sh ---------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port_block(count: int = 4) -> int:
    """The first of `count` consecutive free loopback ports (local.sh uses 4 from CDV_DEPLOY_PORT)."""
    for _ in range(100):
        first = _free_port()
        if first + count < 65535 and all(_port_free(first + i) for i in range(count)):
            return first
    raise RuntimeError("pas de ports libres consécutifs")


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (FileNotFoundError, IndexError, ValueError):
            continue
    return found


class Deployment:
    def __init__(self, run: Path, port: int, env: dict[str, str]):
        self.run, self.env = run, env
        self.url = f"http://127.0.0.1:{port}"
        self.instances = [f"127.0.0.1:{port + 1}", f"127.0.0.1:{port + 2}"]

    def script(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(LOCAL_SH), command], env=self.env, capture_output=True, text=True, timeout=240, check=False
        )

    def processes(self) -> list[int]:
        """Every process the example started: its pid files and their children."""
        pidfiles = [
            self.run / "instance-1.pid",
            self.run / "instance-2.pid",
            self.run / "nginx" / "nginx.pid",
            self.run / "postgresql" / "data" / "postmaster.pid",
        ]
        mains = [int(f.read_text().split()[0]) for f in pidfiles if f.exists()]
        return mains + [c for pid in mains for c in _children(pid)]

    def served_by(self, affinity: str) -> set[str]:
        """The instances nginx's access log names for requests carrying this affinity cookie."""
        log = (self.run / "nginx" / "access.log").read_text()
        return set(re.findall(rf"instance=(\S+) affinite={re.escape(affinity)} ", log))


@pytest.fixture
def deployment(tmp_path):
    require_postgres()
    nginx = require_nginx()
    port = _free_port_block()
    env = {
        **os.environ,
        "CDV_DEPLOY_RUN": str(tmp_path / "run"),
        "CDV_DEPLOY_PORT": str(port),
        "PYTHON": sys.executable,
        "NGINX": nginx,
    }
    deployment = Deployment(tmp_path / "run", port, env)
    try:
        yield deployment
    finally:
        deployment.script("stop")  # again, whatever the test did: nothing may outlive it


def _get(url: str, *, cookie: str | None = None) -> tuple[int, str, list[str]]:
    """Status, body and the Set-Cookie headers of a GET."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status, r.read().decode(), r.headers.get_all("Set-Cookie") or []


def test_local_deployment_serves_through_nginx_and_stops_cleanly(deployment, chromium, tmp_path):
    started_at = time.monotonic()
    started = deployment.script("start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"Application disponible à l'adresse : {deployment.url}" in started.stdout
    seconds_to_start = time.monotonic() - started_at
    status = deployment.script("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("en marche") == 4

    code, body, cookies = _get(deployment.url + "/_stcore/health")
    assert (code, body) == (200, "ok")
    assert any(c.startswith("cdv_affinite=") for c in cookies), cookies  # the first answer gives it

    # Stickiness: a cookie always reaches the same instance; new visitors are spread over both.
    affinities = [f"test{i}" for i in range(24)]
    for affinity in affinities:
        for _ in range(3):
            _get(deployment.url + "/_stcore/health", cookie=f"cdv_affinite={affinity}")
    instances = [deployment.served_by(a) for a in affinities]
    assert all(len(s) == 1 for s in instances), instances
    assert set().union(*instances) == set(deployment.instances)

    # A real browser on each instance through nginx: page, websocket and a file upload (the
    # upload is a separate HTTP request that only the session's instance can accept).
    csv = tmp_path / "programmation_2026.csv"
    csv.write_bytes(
        samples.to_csv(samples.programmation(5, contracts={CONTRACT: ["QN00281M"]}, year=2026), encoding="cp1252")
    )
    for instance in deployment.instances:
        affinity = next(a for a, s in zip(affinities, instances) if s == {instance})
        page = new_page(chromium)
        page.context.add_cookies([{"name": "cdv_affinite", "value": affinity, "url": deployment.url}])
        page.goto(deployment.url)
        settle(page)
        assert page.get_by_test_id("stException").count() == 0
        assert page.title().startswith("Vue d'ensemble")
        assert page.get_by_role("heading", name="Vue d'ensemble").is_visible()
        assert page.get_by_test_id("stSidebar").get_by_text("Pilotage des contrats de ville").is_visible()
        _upload(page, deployment.url, csv)
        card = page.get_by_test_id("stMetric").filter(has_text="Erreurs")
        assert card.get_by_test_id("stMetricValue").inner_text().strip() == "0"
        log = (deployment.run / "nginx" / "access.log").read_text()
        assert re.search(rf'"GET /_stcore/stream HTTP/1.1" 101 .*instance={instance} affinite={affinity} ', log)
        assert re.search(
            rf'"PUT /_stcore/upload_file/\S+ HTTP/1.1" 204 .*instance={instance} affinite={affinity} ', log
        )
        assert deployment.served_by(affinity) == {instance}
        shot(page, f"deploiement-{instance.rsplit(':', 1)[1]}")
        page.context.close()

    processes = deployment.processes()
    assert len(processes) >= 5  # 2 instances, nginx master and worker, PostgreSQL and its workers
    stopped_at = time.monotonic()
    stopped = deployment.script("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert [pid for pid in processes if _running(pid)] == []
    status = deployment.script("status")
    assert status.returncode == 3 and "en marche" not in status.stdout
    print(f"\ndeploy/local.sh : démarrage {seconds_to_start:.1f} s, arrêt {time.monotonic() - stopped_at:.1f} s")
