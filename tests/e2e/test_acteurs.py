"""« Acteurs et ingénierie » in a real browser: deep link, map drawn, filter, the team."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import settle, shot


def test_acteurs_deep_link_map_filter_and_team(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/acteurs?contrat=CV-DEMO-VERM")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Acteurs et ingénierie").is_visible()
    page.locator(".st-key-acteurs_carte canvas").first.wait_for(state="attached", timeout=30_000)
    card = page.get_by_test_id("stMetric").filter(has_text="Acteurs").first
    before = int(card.get_by_test_id("stMetricValue").inner_text().strip())
    page.locator(".st-key-acteurs_types").click()
    page.get_by_role("option", name="bailleur").click()
    page.keyboard.press("Escape")
    expect(card.get_by_test_id("stMetricValue")).not_to_have_text(str(before), timeout=30_000)
    settle(page)
    after = int(card.get_by_test_id("stMetricValue").inner_text().strip())
    assert 0 < after < before
    shot(page, "acteurs")
    page.get_by_text("Ingénierie", exact=True).first.click()
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    relays = page.get_by_test_id("stMetric").filter(has_text="Adultes-relais")
    assert int(relays.get_by_test_id("stMetricValue").inner_text().strip()) > 0
    shot(page, "acteurs-ingenierie")
