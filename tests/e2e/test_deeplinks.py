"""Deep links to the default page: `/vue_ensemble` must show « Vue d'ensemble », never
Streamlit's English « Page not found » box (the default page itself lives at `/`)."""

from __future__ import annotations

import re

from tests.e2e.conftest import settle, shot


def test_vue_ensemble_path_resolves_to_the_default_page(live_server, browser_page):
    page = browser_page
    # A first session runs app.py (st.navigation): from then on Streamlit routes by url_path,
    # which is when /vue_ensemble used to fall on « Page not found ».
    page.goto(live_server.url)
    settle(page)
    assert page.get_by_role("heading", name="Vue d'ensemble").is_visible()

    page.goto(live_server.url + "/vue_ensemble?contrat=CV-DEMO-MONT")
    settle(page)
    settle(page)  # the alias switches to the default page: a second run
    assert page.get_by_test_id("stDialog").count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Vue d'ensemble").is_visible()
    assert page.title().startswith("Vue d'ensemble")
    # the shared selection survives the redirection
    assert page.get_by_text("Contrat de ville de Montval-sur-Somme (démo)").first.is_visible()
    card = page.get_by_test_id("stMetric").filter(has_text="Quartiers prioritaires")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "2"
    assert re.search(r"contrat=CV-DEMO-MONT", page.url)
    # the menu marks the page as the current one
    nav = page.get_by_test_id("stSidebarNav")
    current = nav.locator("a[aria-current='page']")
    assert current.count() == 1 and current.inner_text().strip().endswith("Vue d'ensemble")  # after its icon
    shot(page, "deeplink-vue-ensemble")
