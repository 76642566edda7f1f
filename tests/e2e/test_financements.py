"""« Actions et financements » in a real browser: a shared link with filters, then a download; the
alert tab the user opened stays open when a filter changes its count."""

from __future__ import annotations

import io

import polars as pl

from tests.e2e.conftest import settle, shot


def test_shared_link_filters_and_csv_download(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/financements?contrat=CV-DEMO-VERM&fin_annee=2025&fin_mode=CPO")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Actions et financements").is_visible()
    card = page.get_by_test_id("stMetric").filter(has_text="Crédits P147 en CPO")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "100,0\u00a0%"  # only CPO selected
    assert "fin_mode=CPO" in page.url and "contrat=CV-DEMO-VERM" in page.url
    assert page.locator(".st-key-fin_filtres").get_by_text("CPO", exact=True).count() >= 1
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger (CSV)").click()
    with open(download.value.path(), "rb") as f:
        data = f.read()
    frame = pl.read_csv(io.BytesIO(data), separator=";", decimal_comma=True)
    assert frame.height > 0 and set(frame["Mode"].unique().to_list()) == {"CPO"}
    shot(page, "financements")


def test_the_alert_tab_chosen_stays_open_when_a_filter_changes_its_count(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/financements?contrat=CV-DEMO-VERM")
    settle(page)
    tabs = page.locator(".st-key-fin_alertes [role='tab']")
    labels = tabs.all_inner_texts()
    assert len(labels) == 5 and labels[2].startswith("Terminées sans statut final")
    tabs.nth(2).click()
    settle(page)
    assert tabs.nth(2).get_attribute("aria-selected") == "true"
    # one financeur: the counts in the labels change (the alerts look at its lines only)
    funder = page.locator(".st-key-fin_fin [role='combobox']")
    funder.scroll_into_view_if_needed()
    funder.click()
    page.locator("[role='option']").filter(has_text="CAF").click()
    page.keyboard.press("Escape")
    settle(page)
    assert "fin_fin=CAF" in page.url
    assert tabs.all_inner_texts() != labels
    assert tabs.nth(2).get_attribute("aria-selected") == "true"
    shown = page.locator(".st-key-fin_alertes").get_by_test_id("stAlert")
    assert shown.count() == 1  # the open tab's message only: a closed tab's is not built
    assert "déclarez-les réalisées ou abandonnées" in shown.inner_text()
    assert page.locator(".st-key-fin_alertes").get_by_test_id("stDataFrame").count() == 1
    assert page.get_by_test_id("stException").count() == 0


def test_a_bilans_tab_opens_with_its_table_only_and_stays_open_when_a_filter_changes(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/financements?contrat=CV-DEMO-BRE")
    settle(page)
    block = page.locator(".st-key-bilans_onglets")
    tabs = block.locator("[role='tab']")
    assert tabs.all_inner_texts() == [
        "En retard",
        "Par porteur",
        "Par quartier",
        "Par exercice",
        "Enregistrer un bilan",
    ]
    assert block.get_by_test_id("stDataFrame").count() == 1  # the late list: the closed tabs are not built
    tabs.nth(1).scroll_into_view_if_needed()
    tabs.nth(1).click()
    settle(page)
    assert tabs.nth(1).get_attribute("aria-selected") == "true"
    assert block.get_by_test_id("stDataFrame").count() == 1
    assert page.locator("[class*='st-key-bilans_porteurs_dl']").count() >= 1  # the porteurs' table downloads
    assert page.locator(".st-key-bilans_publipostage").count() == 0  # the late list's is not built
    # a filter reruns the page: the bilans (not filtered) keep the tab the user opened
    funder = page.locator(".st-key-fin_fin [role='combobox']")
    funder.scroll_into_view_if_needed()
    funder.click()
    page.locator("[role='option']").first.click()
    page.keyboard.press("Escape")
    settle(page)
    assert "fin_fin=" in page.url
    assert tabs.nth(1).get_attribute("aria-selected") == "true"
    assert block.get_by_test_id("stDataFrame").count() == 1
    assert page.locator("[class*='st-key-bilans_porteurs_dl']").count() >= 1
    assert page.get_by_test_id("stException").count() == 0
