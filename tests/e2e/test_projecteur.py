"""Every page on a 1280×720 projector (and on a 1920×1080 screen): no text the browser cuts, and
(at 1280×720) none of Streamlit's own English strings in the text, placeholders, tooltips or aria
labels (`tests/e2e/test_francais._english`).

One server on a copy of the demo store and one browser for the whole tour: every page of
`nav.PAGES`, for « Tous les contrats » and for one contract, each tab of the page opened in turn
(and the « Ingénierie » view of Acteurs), then the import report and the rollback of Mise à jour
(an upload and a commit), then each section of a live séance. What is checked, in the browser's own layout:

- text cut at its end (`scrollWidth > clientWidth` on an element that hides its overflow or ends
  it with « … »): widget labels, toggles and checkboxes, buttons, tabs, figure cards, expander
  titles, captions, multiselect tags;
- a value wider than its field: select boxes (the chosen option), text fields; a date field or a
  tab bar that has to scroll;
- tables (`st.dataframe`, drawn on a canvas by glide-data-grid): each column's width as the grid
  lays it out (the props of its React component) against the width of the table's view: a column
  that matters (`KEY_COLUMNS`) must show at least `MIN_SHOWN_PX` (or all of itself) without
  scrolling the table sideways; no cell of the rows in view reads « None » (the grid's
  accessibility table holds their text).

What it cannot see: text inside a table's cells (canvas: a narrow column ends its cells in « … »
without any DOM trace), text in charts (Vega canvas/SVG) and maps (deck.gl canvas), tooltips and
popovers that are not open, expanders left closed, rows of a table below its visible height,
and widgets shown only after other interactions than the ones above.
"""

from __future__ import annotations

import pytest

from cdv_core.ingest import samples
from cdv_core.ui.nav import PAGES
from tests.conftest import ROOT
from tests.e2e.conftest import launched_chromium, server_on_demo_copy, settle, shot
from tests.e2e.test_francais import _english

CONTRAT = "CV-DEMO-VERM"
SELECTIONS = (("Tous les contrats", ""), (CONTRAT, f"?contrat={CONTRAT}"))
SIZES = ((1280, 720), (1920, 1080))
# Columns a committee reads first: they must be in view without scrolling the table sideways.
KEY_COLUMNS = ("Pourquoi", "Constat", "Problème", "Correction attendue", "Gravité", "Échéance", "Statut")
VIEWS = {"acteurs": ("Ingénierie",)}  # the other choices of a page's st.segmented_control
MIN_SHOWN_PX = 320  # a partly hidden column in view: enough of it to read the start of its sentences
BAD_FILE = ROOT / "tests" / "bad_files" / "fichier_insee_sans_indicateur.csv"  # a file-level problem (no line)

_CUT_JS = r"""
() => {
  const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const where = el => el.closest('[data-testid="stSidebar"]') ? 'panneau latéral : ' : '';
  const out = [];
  const seen = new Set();
  const TEXT = ['label', '[data-testid="stWidgetLabel"]', 'button', '[role="tab"]', '[data-testid="stMetricLabel"]',
    '[data-testid="stMetricValue"]', '[data-testid="stMetricDelta"]', '[data-testid="stExpander"] summary',
    '[data-baseweb="tag"]', '[data-testid="stCaptionContainer"]'].join(', ');
  for (const root of document.querySelectorAll(TEXT)) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      if (seen.has(el)) continue;
      seen.add(el);
      if (!visible(el)) continue;
      const cs = getComputedStyle(el);
      const clips = cs.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(cs.overflowX);
      const text = (el.innerText || '').trim();
      // clientWidth > 1: not a 1 px text for screen readers
      if (clips && text && el.clientWidth > 1 && el.scrollWidth > el.clientWidth + 1)
        out.push(`${where(el)}texte coupé « ${text.slice(0, 80)} » (${el.clientWidth} px pour ${el.scrollWidth})`);
    }
  }
  for (const el of document.querySelectorAll('input')) {  // a select box's chosen option, a text field's value
    if (!visible(el) || !el.value || ['file', 'hidden', 'checkbox', 'radio'].includes(el.type)) continue;
    if (el.scrollWidth > el.clientWidth + 1)
      out.push(`${where(el)}valeur coupée « ${el.value.slice(0, 80)} » ` +
               `dans « ${el.getAttribute('aria-label') || ''} » ` +
               `(${el.clientWidth} px pour ${el.scrollWidth})`);
  }
  for (const el of document.querySelectorAll('[data-testid="stDateInput"] [role="group"], [role="tablist"]')) {
    if (!visible(el) || el.scrollWidth <= el.clientWidth + 1) continue;
    const what = el.getAttribute('role') === 'tablist' ? 'onglets hors de vue' : 'date coupée';
    out.push(`${where(el)}${what} « ${(el.innerText || '').replace(/\s+/g, ' ').trim().slice(0, 80)} »`);
  }
  return out;
}
"""

# Each table's columns and their widths in px, as the grid lays them out: read from the props of
# glide-data-grid's React component (Streamlit's column widths, auto or from column_config); the
# width of the table's view; the texts of the cells its accessibility table holds (rows in view).
_GRIDS_JS = r"""
() => {
  const out = [];
  for (const df of document.querySelectorAll('[data-testid="stDataFrame"]')) {
    const scroller = df.querySelector('.dvn-scroller');
    if (!df.getClientRects().length || !scroller) continue;
    let fiber = null;
    for (const el of [df.querySelector('canvas'), scroller]) {
      const key = el && Object.keys(el).find(k => k.startsWith('__reactFiber$'));
      if (key) { fiber = el[key]; break; }
    }
    let columns = null;
    for (let f = fiber; f && !columns; f = f.return) {
      const c = f.memoizedProps && f.memoizedProps.columns;
      if (Array.isArray(c) && c.length && c[0].width !== undefined && c[0].title !== undefined)
        columns = c.map(x => [String(x.title), Number(x.width)]);
    }
    const cells = [...df.querySelectorAll('td[role="gridcell"]')].map(td => td.textContent.trim());
    out.push({columns, view: scroller.clientWidth, cells});
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def server(demo_store_master, tmp_path_factory):
    with server_on_demo_copy(demo_store_master, tmp_path_factory.mktemp("projecteur")) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


def cut_elements(page) -> list[str]:
    """What the page shows cut, in French, one line each (see the module's docstring)."""
    found = page.evaluate(_CUT_JS)
    for grid in page.evaluate(_GRIDS_JS):
        if grid["columns"] is None:
            found.append("tableau dont les colonnes sont illisibles pour le test (glide-data-grid a changé ?)")
            continue
        names = [name for name, _ in grid["columns"]]
        start = 0
        for name, width in grid["columns"]:
            shown = min(width, grid["view"] - start)  # px of the column in view before any scroll
            if name in KEY_COLUMNS and shown < min(width, MIN_SHOWN_PX):
                found.append(
                    f"colonne « {name} » hors de vue ({max(shown, 0):.0f} px en vue sur {width:.0f}, "
                    f"tableau de {grid['view']} px : {', '.join(names)})"
                )
            start += width
        if "None" in grid["cells"]:
            found.append(f"cellule « None » (tableau : {', '.join(names)})")
    return found


def _open(page, url: str) -> None:
    page.goto(url)
    page.get_by_test_id("stSidebarUserContent").get_by_test_id("stSelectbox").first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0, url


def _tour_tabs(page, where: str, report) -> None:
    tabs = page.get_by_test_id("stMain").get_by_role("tab")
    for i in range(1, tabs.count()):
        tab = tabs.nth(i)
        name = tab.inner_text().strip()
        tab.click()
        settle(page)
        report(f"{where} / onglet « {name} »", cut_elements(page))


def _tour_pages(page, base: str, report) -> None:
    """Every page, both selections, every tab, every view of a page's segmented control (`VIEWS`)."""
    for spec in PAGES:
        for selection, query in SELECTIONS:
            _open(page, f"{base}/{spec.url_path}{query}")
            where = f"{spec.title} / {selection}"
            report(where, cut_elements(page))
            _tour_tabs(page, where, report)
            for view in VIEWS.get(spec.url_path, ()):
                page.get_by_test_id("stMain").get_by_test_id("stButtonGroup").get_by_text(view, exact=True).click()
                settle(page)
                report(f"{where} / volet « {view} »", cut_elements(page))
                _tour_tabs(page, f"{where} / volet « {view} »", report)


def _tour_import(page, base: str, report, folder) -> None:
    """Mise à jour: a report with a problem of the whole file, then a committed import and the
    rollback choices under the journal."""
    _open(page, f"{base}/mise_a_jour?contrat={CONTRAT}")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(BAD_FILE))
    page.get_by_text("2. Rapport de validation").wait_for(timeout=60_000)
    settle(page)
    page.locator(".st-key-maj_rapport").scroll_into_view_if_needed()  # its rows' text, for « None »
    page.locator('.st-key-maj_rapport td[role="gridcell"]').first.wait_for(state="attached")
    report("Mise à jour / rapport d'import", cut_elements(page))
    data = folder / "programmation_projecteur.csv"
    data.write_bytes(samples.to_csv(samples.programmation(5, contracts={CONTRAT: ["QN00281M"]})))
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(data))
    page.get_by_text("Différences avec la base").wait_for(timeout=60_000)
    settle(page)
    report("Mise à jour / différences", cut_elements(page))
    page.get_by_role("button", name="Valider l'import").click()
    page.get_by_test_id("stAlertContentSuccess").first.wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("button", name="Annuler l'import").wait_for(timeout=60_000)
    report("Mise à jour / annulation d'un import", cut_elements(page))


def _tour_seance(page, base: str, report) -> None:
    """Each section of a live séance, for one contract (a draft kept from an earlier pass is taken
    up again: back to its first section)."""
    _open(page, f"{base}/seance?contrat={CONTRAT}")
    start = page.get_by_role("button", name="Démarrer la séance")
    previous, following = (page.get_by_role("button", name=n) for n in ("Précédent", "Suivant"))
    start.or_(following).first.wait_for(timeout=60_000)
    if start.count():
        start.click()
        settle(page)
    following.first.wait_for(timeout=60_000)
    while previous.first.is_enabled():
        previous.first.click()
        settle(page)
    for n in range(1, 20):
        report(f"Séance / section {n}", cut_elements(page))
        if following.first.is_disabled():
            break
        following.first.click()
        settle(page)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_nothing_is_cut_on_a_projector(server, browser, size, tmp_path):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = context.new_page()
    offenders: list[str] = []

    def report(where: str, found: list[str]) -> None:
        if width == 1280:  # and French: none of Streamlit's English strings (cdv_core/ui/francais.py)
            found = found + [f"texte anglais de Streamlit « {e} »" for e in _english(page)]
        offenders.extend(f"{where} : {f}" for f in found)
        if found:
            shot(page, f"projecteur-{width}-" + "".join(c if c.isalnum() else "-" for c in where)[:80])

    try:
        _tour_pages(page, server.url, report)
        _tour_import(page, server.url, report, tmp_path)
        _tour_seance(page, server.url, report)
    finally:
        context.close()
    assert not offenders, f"{len(offenders)} élément(s) coupé(s) à {width}×{height} :\n" + "\n".join(offenders)
