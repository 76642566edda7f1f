"""A séance in the real browser: start it, move to the next section, screenshot."""

from __future__ import annotations

from tests.e2e.conftest import settle, shot


def test_seance_walkthrough_in_browser(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/seance?contrat=CV-DEMO-BRE")
    settle(page)
    page.get_by_role("button", name="Démarrer la séance").click()
    settle(page)
    section = page.locator(".st-key-seance_section")
    assert section.get_by_role("heading", name="Vue d'ensemble").is_visible()
    page.get_by_role("button", name="Suivant").click()
    settle(page)
    assert section.get_by_role("heading", name="Actions et paiements en retard").is_visible()
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text("données au 15/11/2026").first.is_visible()
    shot(page, "seance")
