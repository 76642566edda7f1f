"""« Gouvernance » in headless Chromium: deep link, lazy tabs, and a meeting recorded through the form
makes the late instance's flag disappear."""

from __future__ import annotations

from tests.e2e.conftest import settle, shot

LATE_LABEL = "Comité technique — CA du Pays de Vermandie"


def _late_card(page) -> str:
    card = page.get_by_test_id("stMetric").filter(has_text="Instances en retard")
    return card.get_by_test_id("stMetricValue").inner_text().strip()


def test_record_meeting_clears_late_flag(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/gouvernance?contrat=CV-DEMO-VERM")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Gouvernance").is_visible()
    assert page.get_by_test_id("stAlertContentWarning").filter(has_text=LATE_LABEL).count() == 1
    assert _late_card(page) == "4"

    page.get_by_role("tab", name="Calendrier").click()
    page.get_by_test_id("stVegaLiteChart").nth(1).wait_for(timeout=30_000)  # lazy tab: its script run
    settle(page)
    assert page.get_by_test_id("stVegaLiteChart").count() == 2
    shot(page, "gouvernance-calendrier")

    page.get_by_role("tab", name="Enregistrer une réunion").click()
    page.get_by_test_id("stForm").wait_for(timeout=30_000)
    settle(page)
    form = page.get_by_test_id("stForm")
    form.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=LATE_LABEL).first.click()
    form.get_by_label("Participants").fill("12")
    form.get_by_label("dont habitants").fill("2")
    form.get_by_label("Objet").fill("Instruction des demandes")
    shot(page, "gouvernance-formulaire")
    form.get_by_role("button", name="Enregistrer la réunion").click()
    page.get_by_text("enregistrée pour").first.wait_for(timeout=30_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert _late_card(page) == "3"
    assert page.get_by_test_id("stAlertContentWarning").filter(has_text=LATE_LABEL).count() == 0
    shot(page, "gouvernance-apres-enregistrement")
