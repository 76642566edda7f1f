"""The browser bench's measuring function (bench/bench_navigateur.py) on the demo store, for one
view: a sidebar navigation gives a well-formed measure. No threshold on time: the bench reports
times, the tests only check that it measures."""

from __future__ import annotations

import shutil
import sys

from cdv_core.ui.nav import PAGES
from tests.conftest import ROOT
from tests.e2e.conftest import server_on_demo_copy

sys.path.insert(0, str(ROOT / "bench"))

import bench_navigateur as bench
import serveur_chronometre

CONTRACT = "CV-DEMO-BRE"


def test_a_sidebar_navigation_is_measured(demo_store_master, chromium, tmp_path):
    target = next(p for p in PAGES if p.title == "Actions et financements")
    with server_on_demo_copy(demo_store_master, tmp_path) as live:
        page, frames = bench.new_page(chromium, 45)
        try:
            bench.open_settled(page, frames, f"{live.url}/?contrat={CONTRACT}", 45)
            m = bench.Measure("demo", CONTRACT, f"barre latérale : {target.title}", 0)
            bench.measure(page, frames, bench.sidebar_link(page, target), m, 45)
        finally:
            page.context.close()
    assert m.ok, m.detail
    assert m.server_s is not None and m.server_s > 0
    # the gesture comes before the request and the drawing after the end of the run
    assert m.ready_s is not None and m.ready_s >= m.server_s
    assert m.frames > 0 and m.received_bytes > 0
    assert m.asset_bytes is None  # counted on a deep link only


def test_the_server_notes_each_run_it_is_asked_and_ends(demo_store_master, chromium, tmp_path):
    """Started through `serveur_chronometre.py`, the server notes a year's change on « Actions et
    financements »: the run it clocks lies inside the one the page clocked (asked after the page
    sent it, ended before the page received its end)."""
    store, journal = tmp_path / "demo.duckdb", tmp_path / "journal.txt"
    shutil.copy(demo_store_master, store)
    target = next(p for p in PAGES if p.title == "Actions et financements")
    server = bench.Instance(str(store), "test_chronometre", cache="non", journal=journal)
    try:
        server.wait_healthy()
        page, frames = bench.new_page(chromium, 45)
        try:
            bench.open_settled(page, frames, f"{server.url}/{bench._path(target)}?contrat={CONTRACT}", 45)
            m = bench.Measure("demo", CONTRACT, "financements : exercice", 0)
            gesture = bench.pick(page, frames, 0, 45, root=".st-key-fin_annee")
            bench.measure(page, frames, gesture, m, 45, journal=journal)
        finally:
            page.context.close()
    finally:
        server.stop()
    assert m.ok, m.detail
    noted = serveur_chronometre.read(str(journal))
    assert [what for _, what in noted].count("relance") >= 2  # the page's first run, then the year's
    assert m.server_s is not None and m.server_side_s is not None
    assert 0 < m.server_side_s <= m.server_s + 0.05  # the journal's clock is the machine's, as the page's


def test_the_server_side_of_a_run_is_found_between_the_page_clocks():
    journal = [(9.0, "relance"), (9.5, "fin 0"), (10.02, "relance"), (10.4, "fin 3"), (10.7, "fin 0"), (12.0, "fin 0")]
    assert serveur_chronometre.server_seconds(journal, sent=10.0, received=10.8) == 10.7 - 10.02
    assert serveur_chronometre.server_seconds(journal, sent=10.5, received=10.8) is None  # no run asked
    assert serveur_chronometre.server_seconds([(10.02, "relance")], sent=10.0, received=10.8) is None  # no end


def test_a_line_the_server_is_still_writing_is_left_for_the_next_read(tmp_path):
    journal = tmp_path / "journal.txt"
    journal.write_text("10.0200 relance\n10.7000 fin 0\n10.9")
    assert serveur_chronometre.read(str(journal)) == [(10.02, "relance"), (10.7, "fin 0")]
