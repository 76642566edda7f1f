"""Shared fixtures: demo and hand-made stores, AppTest runs with a clean Streamlit cache.

Stores come in two backends: a DuckDB file, and a DuckLake on a throwaway PostgreSQL started
for the session. A module marked `pytest.mark.both_backends` runs each test that uses a store
fixture once per backend (ids `[fichier]`, `[ducklake]`); other modules on the file only.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from cdv_core import demo, store

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"
DEMO_AU = demo.DEMO.reference_date


BACKENDS = ("fichier", "ducklake")
_lake_names = itertools.count()


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run the module's store tests on the file and on DuckLake")
    # AppTest runs share this process: a warm-up thread left by one test would reopen its store
    # during the next. tests/core/test_warm.py turns it on; the browser tests' servers have it on.
    os.environ["CDV_PRECALCUL"] = "non"
    # nor write the read cache to the user's folder: tests/core/test_read_cache.py turns it on in a
    # temporary one; the browser tests' servers have it on, each in its own
    os.environ["CDV_CACHE_DISQUE"] = "non"


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("backend", BACKENDS if both else BACKENDS[:1], indirect=True)


@pytest.fixture
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session (DuckLake catalogs). Missing PostgreSQL
    skips on a workstation and fails in CI."""
    from cdv_core import pg_local

    try:
        pg_local.binaries()
    except pg_local.PostgresMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI : obligatoire)")
        pytest.skip(str(exc))
    # Outside pytest's base temp: a second pytest session on the machine prunes the older base
    # temps (it keeps three), which would delete this running cluster's data under it.
    folder = Path(tempfile.mkdtemp(prefix="cdv-test-pg-"))
    cluster = pg_local.start(folder)
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def lake_data() -> Iterable[Path]:
    """The data folder shared by the session's DuckLakes (each writes its own files there);
    outside pytest's base temp for the same reason as the cluster's."""
    folder = Path(tempfile.mkdtemp(prefix="cdv-test-lake-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def new_lake(postgres, lake_data, *, template: str | None = None) -> str:
    """A new DuckLake (an empty PostgreSQL database, or a copy of `template`'s catalog)."""
    name = f"lake_{os.getpid()}_{next(_lake_names)}"
    postgres.create_database(name, template=template)
    os.environ.setdefault("CDV_DATA_PATH", str(lake_data))
    return postgres.lake_url(name)


@pytest.fixture(scope="session")
def demo_store_master(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build_store(path, scale="demo", seed=2024)
    return path


@pytest.fixture(scope="session")
def lake_masters(postgres, lake_data, demo_store_master) -> dict[str, str]:
    """Template catalogs: the demo (copied from the file master) and the empty schema."""
    from cdv_core import store_ops

    names = {}
    for kind in ("demo", "vide"):
        url = new_lake(postgres, lake_data)
        if kind == "demo":
            store_ops.copy_store(demo_store_master, url)
        else:
            store.connect(url).close()
        names[kind] = url.split("dbname=")[1].split()[0]
    return names


def _lake_copy(request, kind: str) -> str:
    masters = request.getfixturevalue("lake_masters")
    return new_lake(request.getfixturevalue("postgres"), request.getfixturevalue("lake_data"), template=masters[kind])


@pytest.fixture
def demo_store(backend, demo_store_master, tmp_path, request) -> Path | str:
    """A private copy of the demo store (tests may write to it): a file path, or a DuckLake URL."""
    if backend == "ducklake":
        return _lake_copy(request, "demo")
    path = tmp_path / "cdv.duckdb"
    shutil.copy(demo_store_master, path)
    return path


@pytest.fixture
def demo_cur(backend, demo_store_master, request):
    if backend == "ducklake":
        con = store.connect(_lake_copy(request, "demo"))
    else:
        con = duckdb.connect(str(demo_store_master), read_only=True)
    yield con.cursor()
    con.close()


@pytest.fixture
def empty_store(backend, tmp_path, request):
    """A migrated, empty store; returns an open connection."""
    if backend == "ducklake":
        con = store.connect(_lake_copy(request, "vide"))
    else:
        con = duckdb.connect(str(tmp_path / "empty.duckdb"))
        store.migrate(con)
    yield con
    con.close()


def demo_agenda(demo_store_master: Path, contrat: str) -> list:
    """The séance sections of a demo contract, computed on a read-only connection closed before
    they are returned (a connection held open on the master file would stop the DuckLake
    fixtures from copying it: « Can't open a connection to same database file with a different
    configuration »)."""
    from cdv_core import seance, settings

    con = duckdb.connect(str(demo_store_master), read_only=True)
    try:
        return seance.agenda(
            con.cursor(), keys=seance.DEFAULT_AGENDA, contrat=contrat, donnees_au=DEMO_AU, settings=settings.load()
        )
    finally:
        con.close()


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[dict]) -> None:
    """Insert hand-made rows (dicts with column names) into a store table, unchecked."""
    frame = pl.DataFrame(list(rows))
    assert table in store.table_names(con.cursor())
    con.register("_rows", frame.to_arrow())
    con.execute("INSERT INTO " + table + " BY NAME SELECT * FROM _rows")
    con.unregister("_rows")


def minimal_contract(con: duckdb.DuckDBPyConnection, code: str = "CV-T", qpv: tuple[str, ...] = ("QN07511M",)) -> None:
    """One contract 2024-2030 with its QPV (population 1 000 each) and one porteur."""
    insert(
        con,
        "contrat",
        [
            {
                "code_contrat": code,
                "libelle": f"Contrat {code}",
                "type_signataire": "EPCI",
                "insee_dep": "75",
                "date_debut": date(2024, 1, 1),
                "date_fin": date(2030, 12, 31),
                "date_signature": date(2024, 3, 31),
            }
        ],
    )
    insert(
        con,
        "quartier",
        [
            {
                "code_qp": q,
                "libelle": f"Quartier {q}",
                "code_contrat": code,
                "insee_dep": "75",
                "insee_com": "75118",
                "lib_com": "Paris",
                "population": 1000,
                "longitude": 2.35,
                "latitude": 48.88,
            }
            for q in qpv
        ],
    )
    insert(
        con,
        "porteur",
        [{"id_porteur": f"P-{code}", "nom": "Association test", "type_structure": "association avec salariés"}],
    )


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    import streamlit as st

    from cdv_core import memo

    st.cache_data.clear()
    st.cache_resource.clear()
    memo.clear()
    switch_interval = sys.getswitchinterval()  # the app's first run shortens it (`runs.SWITCH_INTERVAL_S`)
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
    memo.clear()
    sys.setswitchinterval(switch_interval)


@pytest.fixture
def cache_folder(tmp_path) -> Iterable[Path]:
    """A folder for the read cache on disk (`cdv_core.read_cache`), not created yet; the shelves
    of other tests' folders forgotten before and after."""
    from cdv_core import read_cache

    read_cache.shelf.cache_clear()
    yield tmp_path / "cache"
    read_cache.shelf.cache_clear()


@pytest.fixture
def app_env(demo_store, monkeypatch) -> Path:
    """Point the app at a private copy of the demo store."""
    monkeypatch.setenv("CDV_STORE", str(demo_store))
    monkeypatch.chdir(ROOT)
    return demo_store


def metric(at, label: str, *, prefix: bool = False):
    """The one KPI card of the page whose label is `label` (with `prefix`: starts with it)."""
    found = [m for m in at.metric if (m.label.startswith(label) if prefix else m.label == label)]
    assert len(found) == 1, f"carte « {label} » : {[m.label for m in at.metric]}"
    return found[0]


@pytest.fixture
def headers(monkeypatch):
    """The request headers st.context.headers reads (AppTest's client sends none)."""
    import streamlit.runtime.context as st_context

    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        st_context, "_get_client_context", lambda: SimpleNamespace(headers=sent, cookies={}, remote_ip="127.0.0.1")
    )
    return sent


def run_app(page: str | None = None, *, query: dict | None = None, timeout: float = 30):
    """Run app.py in AppTest, optionally switching to `pages/<page>.py`; returns the AppTest."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py")
        at.run()
    return at


def open_alert_tab(at, start: str):
    """On « Actions et financements », open the alert tab whose label starts with `start` (the
    tabs are lazy: only the open one is built) and rerun; returns the AppTest."""
    return open_tab(at, "fin_alertes", start)


def open_tab(at, key: str, start: str):
    """Open the tab whose label starts with `start` among the lazy tabs of key `key` (only the open
    one is built) and rerun; returns the AppTest."""
    label = next(t.label for t in at.tabs if t.label.startswith(start))
    at.session_state[key] = label
    at.run()
    assert not at.exception, at.exception
    return at


def _kept(monkeypatch, name: str) -> list:
    """The instances AppTest's mock runtime creates of its class `name`, kept for the test."""
    import streamlit.testing.v1.app_test as app_test

    kept = []

    class Keeping(getattr(app_test, name)):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            kept.append(self)

    monkeypatch.setattr(app_test, name, Keeping)
    return kept


def _file_id(url: str) -> str:
    return url.rsplit("/", 1)[1].split(".")[0]


@pytest.fixture
def media(monkeypatch):
    """Keep the media files AppTest's mock runtime stores, so downloads can be read back."""
    storages = _kept(monkeypatch, "MemoryMediaFileStorage")

    def read(url: str) -> bytes:
        return storages[-1].get_file(_file_id(url)).content

    return read


@pytest.fixture
def deferred(monkeypatch):
    """Build a download whose file is made on click (`data=callable`) as the browser's click would,
    and return its bytes."""
    managers = _kept(monkeypatch, "MediaFileManager")

    def click(button) -> bytes:
        url = managers[-1].execute_deferred(button.proto.deferred_file_id)
        return managers[-1]._storage.get_file(_file_id(url)).content

    return click
