"""The read cache on disk (`cdv_core.read_cache`): a page's reads outlive the process and are
shared by the instances of the machine, read back only for the same data and the same code."""

import functools
import logging
import os
import uuid

import polars as pl
import pytest
import streamlit as st

from cdv_core import read_cache, store
from cdv_core.queries import financements as fin
from cdv_core.ui import context
from tests.conftest import metric, run_app

T1, T2, OLD, RECENT, NEW = (str(uuid.uuid4()) for _ in range(5))
KEY = ("cdv_core.queries.financements.funding_totals", (("annee", 2025), ("contrat", None)), "*")


@pytest.fixture
def folder(cache_folder):
    return cache_folder


def test_a_result_is_read_back_for_the_same_store_token_and_code_only(folder, monkeypatch, caplog):
    frame = pl.DataFrame({"financeur": ["État (P147)", "Ville"], "accorde": [1500.5, 200.0]})
    shelf = read_cache.shelf(str(folder), "/bases/cdv.duckdb")
    assert shelf.get(T1, KEY) is read_cache.MISSING
    shelf.put(T1, KEY, {"cadre": frame, "total": 1700.5})

    again = read_cache.Shelf(folder, "/bases/cdv.duckdb")  # another process, the same folder
    found = again.get(T1, KEY)
    assert found["total"] == 1700.5 and found["cadre"].equals(frame)
    assert again.get(T2, KEY) is read_cache.MISSING  # other data
    assert again.get(T1, (*KEY[:2], "autre périmètre")) is read_cache.MISSING
    assert read_cache.Shelf(folder, "/bases/autre.duckdb").get(T1, KEY) is read_cache.MISSING
    monkeypatch.setattr(read_cache, "code_digest", lambda: "autre-code")
    assert read_cache.Shelf(folder, "/bases/cdv.duckdb").get(T1, KEY) is read_cache.MISSING
    monkeypatch.undo()

    (file,) = (folder).rglob("*.pkl")
    file.write_bytes(b"tronque")  # damaged: computed again, never an error on the page
    with caplog.at_level(logging.WARNING, logger="cdv_core"):
        assert again.get(T1, KEY) is read_cache.MISSING
    assert "unreadable" in caplog.text
    assert not list(folder.rglob("*.tmp"))  # files are written whole, then renamed
    again.put("../../ailleurs", KEY, 1)  # the token names a folder: a uuid, nothing else
    assert again.get("../../ailleurs", KEY) is read_cache.MISSING
    assert not (folder / "ailleurs").exists() and not (folder.parent / "ailleurs").exists()


def test_other_tokens_folders_are_removed_once_left_alone(folder):
    shelf = read_cache.shelf(str(folder), "/bases/cdv.duckdb")
    shelf.put(OLD, KEY, 1)
    shelf.put(RECENT, KEY, 2)  # another instance may still serve OLD: kept for now
    assert shelf.get(OLD, KEY) == 1
    old = shelf.folder / OLD
    assert old.is_dir()
    os.utime(old, (0, 0))  # left for long
    read_cache.Shelf(folder, "/bases/cdv.duckdb").put(NEW, KEY, 3)
    assert not old.exists()
    assert shelf.get(RECENT, KEY) == 2 and shelf.get(NEW, KEY) == 3


def test_a_token_folder_holds_at_most_its_bound_of_files(folder, monkeypatch, caplog):
    monkeypatch.setattr(read_cache, "MAX_FILES_PER_TOKEN", 3)
    shelf = read_cache.shelf(str(folder), "/bases/cdv.duckdb")
    shelf.put(T1, (*KEY[:2], "déjà là"), 0)
    again = read_cache.Shelf(folder, "/bases/cdv.duckdb")  # another process: counts what is there
    with caplog.at_level(logging.WARNING, logger="cdv_core"):
        for i in range(5):
            again.put(T1, (*KEY[:2], f"périmètre {i}"), i)
    assert len(list((again.folder / T1).glob("*.pkl"))) == 3
    [said] = [r.getMessage() for r in caplog.records if "the bound" in r.getMessage()]  # once, not per result
    assert said.endswith("holds 3 results, the bound: later ones stay in memory")
    assert again.get(T1, (*KEY[:2], "périmètre 1")) == 1
    assert again.get(T1, (*KEY[:2], "périmètre 2")) is read_cache.MISSING  # kept in memory only


def test_a_folder_open_to_others_is_not_used(folder, caplog):
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    with caplog.at_level(logging.WARNING, logger="cdv_core"):
        assert read_cache.shelf(str(folder), "/bases/cdv.duckdb") is None
    assert "chmod 700" in caplog.text
    folder.chmod(0o700)
    read_cache.shelf.cache_clear()
    assert read_cache.shelf(str(folder), "/bases/cdv.duckdb") is not None


def test_every_write_draws_a_new_version_token(demo_store):
    con = store.connect(demo_store)
    try:
        cur = con.cursor()
        seen = {store.meta(cur, "version_token")}
        for _ in range(2):
            with store.transaction(con, written=[], audit=store.Audit("test", "Écriture de test")):
                pass
            seen.add(store.meta(cur, "version_token"))
        assert None not in seen and len(seen) == 3
    finally:
        con.close()


def test_a_new_process_reads_the_page_from_disk_until_the_data_changes(app_env, folder, monkeypatch):
    monkeypatch.setenv("CDV_CACHE_DISQUE", str(folder))
    computed = []
    original = fin.funding_totals

    @functools.wraps(original)  # the same name: the same entry of the cache
    def counted(cur, **kwargs):
        computed.append(kwargs)
        return original(cur, **kwargs)

    monkeypatch.setattr(fin, "funding_totals", counted)
    first = run_app("financements")
    assert not first.exception and computed
    n = len(computed)
    accorde = metric(first, "Montant accordé").value
    assert list(folder.rglob("*.pkl"))

    st.cache_data.clear()  # the memory of this process gone: as a server that restarts
    again = run_app("financements")
    assert not again.exception
    assert len(computed) == n  # read from disk, not computed
    assert metric(again, "Montant accordé").value == accorde

    con = context.connection(str(app_env))
    with store.transaction(con, written=["financement"], audit=store.Audit("test", "Écriture de test")) as cur:
        cur.execute("UPDATE financement SET montant_accorde = montant_accorde + 1000000")
    st.cache_data.clear()
    after = run_app("financements")
    assert not after.exception
    assert len(computed) == 2 * n  # new data: computed again, never read from the older files
    assert metric(after, "Montant accordé").value != accorde
