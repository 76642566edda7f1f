"""The real app in headless Chromium: French title, a figure, and a page opened by deep link."""

from __future__ import annotations

import re

from tests.e2e.conftest import settle, shot


def test_overview_shows_french_title_and_a_figure(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url)
    settle(page)
    assert page.title().startswith("Vue d'ensemble")
    assert page.get_by_role("heading", name="Vue d'ensemble").is_visible()
    card = page.get_by_test_id("stMetric").filter(has_text="Quartiers prioritaires")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "12"
    assert page.get_by_test_id("stException").count() == 0
    nav = page.get_by_test_id("stSidebarNav")
    assert nav.get_by_role("link", name="Jalons et actualisation 2027").is_visible()
    shot(page, "vue-ensemble")


def test_deep_link_on_fresh_server_runs_bootstrap(live_server, browser_page):
    """A deep link on a fresh server runs the page without app.py: the page must still get
    its config, the store and the sidebar context from bootstrap()."""
    page = browser_page
    page.goto(live_server.url + "/vue_ensemble?contrat=CV-DEMO-MONT")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Vue d'ensemble").is_visible()
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("link", name="Gouvernance", exact=True).is_visible()  # our titles…
    assert not sidebar.get_by_text("vue ensemble", exact=True).is_visible()  # …not the file names
    assert page.get_by_text("Contrat de ville de Montval-sur-Somme (démo)").first.is_visible()
    card = page.get_by_test_id("stMetric").filter(has_text="Quartiers prioritaires")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "2"
    assert re.search(r"contrat=CV-DEMO-MONT", page.url)
    shot(page, "deep-link")
