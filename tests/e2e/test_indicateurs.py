"""« Indicateurs » in a real browser: deep link, charts drawn, French axis numbers, no error."""

from __future__ import annotations

from tests.e2e.conftest import settle, shot


def test_indicateurs_deep_link_draws_charts(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/indicateurs?contrat=CV-DEMO-VERM")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Indicateurs").is_visible()
    charts = page.get_by_test_id("stVegaLiteChart")
    charts.first.locator("svg, canvas").first.wait_for(timeout=30_000)
    assert charts.count() >= 2
    card = page.get_by_test_id("stMetric").filter(has_text="Valeur au")
    assert card.get_by_test_id("stMetricValue").inner_text().strip()  # a value or its reason, never empty
    page.get_by_role("tab", name="Comparaison des quartiers").click()
    settle(page)
    assert page.get_by_text("Millésime du").first.is_visible()
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "indicateurs")
