"""A stored Markdown link and image are shown as text in the browser, and no request leaves the
app: nothing clickable to an outside site, no image fetched from one (fonts, map, charts, icons
included)."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import duckdb

from tests.e2e.conftest import LiveServer, _require_browser, new_page, settle, shot

CONTRAT = "CV-DEMO-VERM"
PAYLOAD = "[cliquez ici](https://exemple.invalid/piege) ![x](https://exemple.invalid/pixel.png)"
OWN_HOSTS = {"127.0.0.1", "localhost"}


def test_stored_markdown_is_text_and_no_request_leaves_the_app(chromium, demo_store_master, tmp_path):
    _require_browser()
    path = tmp_path / "cdv.duckdb"
    shutil.copy(demo_store_master, path)
    con = duckdb.connect(str(path))
    try:  # the payload in the titles of the contract's actions and in its quartiers' names
        values = {"p": " " + PAYLOAD, "c": CONTRAT}
        con.execute("UPDATE action SET libelle = libelle || $p WHERE code_contrat = $c", values)
        con.execute("UPDATE quartier SET libelle = libelle || $p WHERE code_contrat = $c", values)
        (action,) = con.execute(
            "SELECT min(code_action) FROM action WHERE code_contrat = $c", {"c": CONTRAT}
        ).fetchone()
    finally:
        con.close()
    server = LiveServer(path, tmp_path / "streamlit.log")
    try:
        page = new_page(chromium)
        outside: list[str] = []

        def _watch(request) -> None:
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in OWN_HOSTS:
                outside.append(request.url)

        page.on("request", _watch)
        for where, shown in (
            (
                f"/financements?contrat={CONTRAT}&fin_annee=tous&fin_action={action}",
                page.locator(".st-key-fin_detail h4"),
            ),  # the action's title
            (f"/projets_quartier?contrat={CONTRAT}", page.get_by_role("heading", level=2)),
        ):
            page.goto(server.url + where)
            settle(page)
            assert page.get_by_test_id("stException").count() == 0
            shown = shown.filter(has_text="cliquez ici").first
            assert shown.is_visible()
            # literally, as stored (the word joiners that keep addresses whole are invisible)
            assert PAYLOAD in shown.inner_text().replace("\u2060", "")
            assert page.locator('a[href*="exemple.invalid"]').count() == 0
            assert page.locator('img[src*="exemple.invalid"]').count() == 0
            shot(page, "texte-affiche" + where.split("?")[0].replace("/", "-"))
            if where.startswith("/financements"):
                # the table toolbar (.streamlit/config.toml: disableDataExport) offers no raw CSV export
                page.get_by_test_id("stDataFrame").first.hover()
                page.get_by_role("button", name="Rechercher").first.wait_for(state="visible")  # Streamlit's « Search »
                assert page.get_by_role("button", name="Télécharger en CSV").count() == 0
                assert page.get_by_role("button", name="Download as CSV").count() == 0
        assert not outside, outside
    finally:
        server.stop()
