"""Streamlit's own strings are French on screen (cdv_core/ui/francais.py), in the text, the
placeholders, tooltips (title) and aria labels: in the main menu and the table and chart
toolbars, a form's hint, an uploaded file's size, after a page change, in the date picker, the
« page not found » box and the connection-lost dialog. Every page for one contract and for all of
them is checked by the projector tour (tests/e2e/test_projecteur.py), with `_english` below."""

from __future__ import annotations

import shutil
import time

import pytest

from cdv_core.ui import francais
from tests.e2e.conftest import LiveServer, _require_browser, server_on_demo_copy, settle, shot
from tests.pages.test_francais import SAMPLES

CONTRAT = "CV-DEMO-VERM"

# Every text line and placeholder / title / aria-label value in the document (menus and tooltips
# are portals under <body>); Material icons' ligatures (« dashboard ») are left out.
_COLLECT = """() => {
  const out = new Set();
  const body = document.body.cloneNode(true);
  body.querySelectorAll('[data-testid="stIconMaterial"]').forEach(e => e.remove());
  document.body.after(body);  // innerText needs a rendered node
  body.style.position = 'absolute'; body.style.left = '-99999px';
  for (const line of body.innerText.split('\\n')) if (line.trim()) out.add(line.trim());
  body.remove();
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label]'))
    for (const a of ['placeholder', 'title', 'aria-label']) { const v = el.getAttribute(a); if (v) out.add(v); }
  return [...out];
}"""


def _english(page) -> list[str]:
    """What is still one of Streamlit's English strings (known to francais.py, or a marker)."""
    found = []
    for value in page.evaluate(_COLLECT):
        if francais.translate(value) is not None or any(m in value for m in francais.ENGLISH_MARKERS):
            found.append(value)
    return found


def _viewport_page(browser):
    return browser.new_page(viewport={"width": 1280, "height": 720}, locale="fr-FR")


@pytest.fixture(scope="module")
def server(demo_store_master, tmp_path_factory):
    with server_on_demo_copy(demo_store_master, tmp_path_factory.mktemp("francais")) as live:
        yield live


def test_what_appears_on_demand_is_french(server, chromium):
    """Every page, both selections, each tab, the import report and the séance are checked for
    English by the projector tour (tests/e2e/test_projecteur.py); here, what only shows on demand."""
    page = _viewport_page(chromium)
    leftovers: dict[str, list[str]] = {}
    # what appears on demand: a table's and a chart's toolbar and its tooltip, the main menu
    page.goto(f"{server.url}/financements?contrat={CONTRAT}")
    settle(page)
    page.get_by_test_id("stDataFrame").first.hover()
    page.get_by_role("button", name="Rechercher").first.wait_for(state="visible")
    page.get_by_test_id("stVegaLiteChart").first.hover()
    page.get_by_role("button", name="Plein écran").first.hover()
    page.get_by_test_id("stTooltipContent").filter(has_text="Plein écran").first.wait_for(state="visible")
    if found := _english(page):
        leftovers["barres d'outils"] = found
    shot(page, "francais-barre-outils")
    menu = page.get_by_test_id("stMainMenu")  # toolbarMode = "minimal": absent when it has nothing to offer
    if menu.count():
        menu.click()
        page.get_by_test_id("stMainMenuPopover").wait_for(state="visible")
        if found := _english(page):
            leftovers["menu principal"] = found
        page.keyboard.press("Escape")

    # a form's typing hint, a file's size in the uploader
    page.goto(f"{server.url}/jalons?contrat={CONTRAT}")
    settle(page)
    page.get_by_role("tab", name="Saisir un jalon").click()
    page.get_by_placeholder("Ex. : Rapport annuel 2026 voté").fill("Essai")
    page.get_by_test_id("InputInstructions").filter(has_text="Entrée").first.wait_for(state="visible")
    if found := _english(page):
        leftovers["formulaire"] = found
    page.goto(f"{server.url}/mise_a_jour?contrat={CONTRAT}")
    settle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "essai.csv", "mimeType": "text/csv", "buffer": b"a;b\n1;2\n" * 40}]
    )
    page.get_by_test_id("stFileChip").filter(has_text="\u00a0o").first.wait_for(state="visible")
    settle(page)
    if found := _english(page):
        leftovers["fichier déposé"] = found
    shot(page, "francais-fichier")

    # a page change keeps the document, hence the translation (no new session, no new script)
    # the sidebar menu: st.navigation's, or the one bootstrap() draws on a deep link opened before app.py ran
    page.get_by_test_id("stSidebar").get_by_text("Indicateurs", exact=True).first.click()
    settle(page)
    page.get_by_role("heading", name="Indicateurs").first.wait_for(state="visible")
    if found := _english(page):
        leftovers["après un changement de page"] = found
    cost = page.evaluate("window.__cdvFr")
    assert cost["batches"] > 0
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert not leftovers, leftovers


def test_the_browser_applies_the_rule_of_the_unit_tests(server, chromium):
    page = _viewport_page(chromium)
    page.goto(server.url + "/")
    settle(page)
    # the script's element takes no room above the page's title
    assert page.locator("[data-testid='stLayoutWrapper']:has(> .st-key-cdv_francais)").is_hidden()
    texts = [*SAMPLES, "Vue d'ensemble", "359.0 B"]
    in_browser = page.evaluate("texts => texts.map(t => window.__cdvFr.translate(t))", texts)
    assert in_browser == [francais.translate(t) for t in texts]


def test_date_picker_is_french_in_an_english_browser(server, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
    page.goto(f"{server.url}/?contrat={CONTRAT}&au=2026-11-15")
    settle(page)
    # Streamlit hands the (now French) language to its widgets when it next renders the app: on the
    # next run. The first run of a session may render before the script is in (docs/deploiement.md).
    # the sidebar menu: st.navigation's, or the one bootstrap() draws on a deep link opened before app.py ran
    page.get_by_test_id("stSidebar").get_by_text("Indicateurs", exact=True).first.click()
    settle(page)
    page.get_by_test_id("stSidebar").get_by_test_id("stDateInput").get_by_role("button").last.click()
    calendar = page.get_by_test_id("stDateInputCalendar")
    calendar.get_by_text("novembre 2026").first.wait_for(state="visible")
    assert calendar.get_by_role("button", name="Mois précédent").count() == 1
    shot(page, "francais-calendrier")
    assert not _english(page)


def test_unknown_address_says_so_in_french(server, chromium):
    page = _viewport_page(chromium)
    page.goto(server.url + "/nexiste_pas")
    settle(page)
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Page introuvable").wait_for(state="visible")
    shot(page, "francais-page-introuvable")
    assert not _english(page)


def test_connection_lost_dialog_is_french(demo_store_master, chromium, tmp_path):
    _require_browser()
    shutil.copy(demo_store_master, tmp_path / "cdv.duckdb")
    live = LiveServer(tmp_path / "cdv.duckdb", tmp_path / "streamlit.log")
    try:
        page = _viewport_page(chromium)
        page.goto(live.url + "/")
        settle(page)
    finally:
        live.stop()
    started = time.monotonic()
    page.get_by_text("Connexion perdue").wait_for(state="visible", timeout=60_000)
    page.get_by_text("Le serveur de l'application ne répond pas", exact=False).first.wait_for(state="visible")
    shot(page, "francais-connexion-perdue")
    assert not _english(page), time.monotonic() - started
