"""The browser bench's measuring function (bench/bench_navigateur.py) on the demo store, for one
view: a sidebar navigation gives a well-formed measure. No threshold on time: the bench reports
times, the tests only check that it measures."""

from __future__ import annotations

import sys

from cdv_core.ui.nav import PAGES
from tests.conftest import ROOT
from tests.e2e.conftest import server_on_demo_copy

sys.path.insert(0, str(ROOT / "bench"))

import bench_navigateur as bench

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
