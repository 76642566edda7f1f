"""The Administration page in the real app (CDV_AUTH=entete, the identity in a header): opened by
deep link on a fresh server, in the menu of an administrator only, refused to a chef de projet."""

from __future__ import annotations

from cdv_core import access, demo, store
from tests.e2e.conftest import IdentityProxy, LiveServer, _require_browser, settle, shot

ADMIN, CHEF = "admin@ville.fr", "chef@ville.fr"


def _menu(page) -> list[str]:
    return [t.strip() for t in page.get_by_test_id("stSidebarNav").locator("a").all_inner_texts()]


def test_administration_menu_and_page_per_role(chromium, tmp_path):
    _require_browser()
    path = tmp_path / "cdv.duckdb"
    demo.build_store(path, scale="demo", seed=2024)
    con = store.connect(path)
    try:
        local = access.local_user("test")
        access.add_user(con, user=local, email=ADMIN, role="administrateur", nom="Ada Min")
        access.add_user(con, user=local, email=CHEF, role="chef_de_projet", contrats=["CV-DEMO-VERM"])
    finally:
        con.close()
    app = LiveServer(path, tmp_path / "streamlit.log", env={"CDV_AUTH": "entete"})
    server = IdentityProxy(app.url, tmp_path / "proxy")  # as deployed: the proxy sets the header
    try:
        # fresh server, deep links: the page runs without app.py, bootstrap draws the menu
        # itself (for the user's role) and the page still checks the role
        chef = server.page_as(chromium, CHEF)
        chef.goto(server.url + "/administration")
        settle(chef)
        assert chef.get_by_text("Cette page est réservée aux administrateurs.").is_visible()
        links = [t.strip() for t in chef.get_by_test_id("stPageLink").all_inner_texts()]
        assert "Mise à jour des données" in " ".join(links) and "Administration" not in " ".join(links)

        admin = server.page_as(chromium, ADMIN)
        admin.goto(server.url + "/administration")
        settle(admin)
        assert admin.get_by_test_id("stException").count() == 0
        assert admin.get_by_role("heading", name="Administration").first.is_visible()
        assert admin.get_by_text("2 comptes").first.is_visible()  # above the accounts table (a canvas)
        assert admin.get_by_role("tab", name="Historique des modifications").is_visible()
        assert "Administration" in " ".join(admin.get_by_test_id("stPageLink").all_inner_texts())

        admin.goto(server.url)
        settle(admin)
        settle(admin)  # an administrator's first run in a session redraws the menu once
        assert "Administration" in " ".join(_menu(admin))
        shot(admin, "administration-menu-admin")
        admin.get_by_test_id("stSidebarNav").get_by_text("Administration").click()
        settle(admin)
        assert admin.get_by_role("heading", name="Ajouter un compte").is_visible()
        shot(admin, "administration")

        chef.goto(server.url)
        settle(chef)
        menu = " ".join(_menu(chef))
        assert "Mise à jour des données" in menu and "Administration" not in menu
        chef.goto(server.url + "/administration")
        settle(chef)
        assert chef.get_by_text("Cette page est réservée aux administrateurs.").is_visible()
        assert chef.get_by_role("heading", name="Ajouter un compte").count() == 0
        assert chef.get_by_test_id("stException").count() == 0
        shot(chef, "administration-refus-chef")
    finally:
        server.stop()
        app.stop()
