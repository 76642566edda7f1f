"""A séance in the real browser: start it, move to the next section, screenshot."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import settle, shot


def test_seance_walkthrough_in_browser(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/seance?contrat=CV-DEMO-BRE")
    settle(page)
    page.get_by_role("button", name="Démarrer la séance").click()
    section = page.locator(".st-key-seance_section")
    expect(section.get_by_role("heading", name="Vue d'ensemble")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Suivant").click()
    expect(section.get_by_role("heading", name="Projet de quartier")).to_be_visible(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    expect(page.get_by_text("données au 15/11/2026").first).to_be_visible()
    page.locator(".st-key-seance_section").scroll_into_view_if_needed()
    shot(page, "seance")
