"""« Jalons et actualisation 2027 » in a real browser, opened by deep link on a fresh server."""

from __future__ import annotations

from tests.e2e.conftest import settle, shot


def test_jalons_deep_link_shows_missing_items_and_timeline(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/jalons?contrat=CV-DEMO-MONT")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Jalons et actualisation 2027").is_visible()
    verdict = page.locator(".st-key-jalons_verdict")
    assert "Pas encore prêt pour l'actualisation (6 / 8 critères)" in verdict.inner_text()
    checklist = page.locator(".st-key-jalons_checklist")
    assert "Résidence Colette-Marin" in checklist.inner_text()
    assert checklist.get_by_role("link", name="Compléter : Projets de quartier").is_visible()
    card = page.get_by_test_id("stMetric").filter(has_text="Préparation de l'actualisation")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "6 / 8 critères"
    shot(page, "jalons-preparation")
    page.get_by_role("tab", name="Frise 2024-2030").click()
    frise = page.locator(".st-key-jalons_frise")
    frise.get_by_test_id("stVegaLiteChart").wait_for(state="visible", timeout=20000)
    assert frise.locator("canvas, svg").count() > 0
    shot(page, "jalons-frise")
