"""Shared fixtures: demo and hand-made stores, AppTest runs with a clean Streamlit cache."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cdv_core import demo, store

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"
DEMO_AU = demo.DEMO.reference_date


@pytest.fixture(scope="session")
def demo_store_master(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build_store(path, scale="demo", seed=2024)
    return path


@pytest.fixture
def demo_store(demo_store_master, tmp_path) -> Path:
    """A private copy of the demo store (tests may write to it)."""
    path = tmp_path / "cdv.duckdb"
    shutil.copy(demo_store_master, path)
    return path


@pytest.fixture
def demo_cur(demo_store_master):
    con = duckdb.connect(str(demo_store_master), read_only=True)
    yield con.cursor()
    con.close()


@pytest.fixture
def empty_store(tmp_path):
    """A migrated, empty store; returns an open connection."""
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    store.migrate(con)
    yield con
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
    insert(con, "contrat", [{"code_contrat": code, "libelle": f"Contrat {code}", "type_signataire": "EPCI",
                             "insee_dep": "75", "date_debut": date(2024, 1, 1), "date_fin": date(2030, 12, 31),
                             "date_signature": date(2024, 3, 31)}])
    insert(con, "quartier", [{"code_qp": q, "libelle": f"Quartier {q}", "code_contrat": code, "insee_dep": "75",
                              "insee_com": "75118", "lib_com": "Paris", "population": 1000,
                              "longitude": 2.35, "latitude": 48.88} for q in qpv])
    insert(con, "porteur", [{"id_porteur": f"P-{code}", "nom": "Association test",
                             "type_structure": "association avec salariés"}])


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app_env(demo_store, monkeypatch) -> Path:
    """Point the app at a private copy of the demo store."""
    monkeypatch.setenv("CDV_STORE", str(demo_store))
    monkeypatch.chdir(ROOT)
    return demo_store


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


@pytest.fixture
def media(monkeypatch):
    """Keep the media files AppTest's mock runtime stores, so downloads can be read back."""
    import streamlit.testing.v1.app_test as app_test
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    storages: list[MemoryMediaFileStorage] = []

    class Keeping(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            storages.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Keeping)

    def read(url: str) -> bytes:
        file_id = url.rsplit("/", 1)[1].split(".")[0]
        return storages[-1].get_file(file_id).content

    return read
