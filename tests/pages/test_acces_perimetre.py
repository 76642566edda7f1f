"""Scope leaks tried through the app: a lecteur of one demo contract opens every page with
« Tous les contrats », asks for another contract in the URL, and downloads what the pages offer;
nothing of the two other contracts may reach the browser (element protos, including the Arrow
tables and chart data, and the download files)."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from cdv_core import access, fmt, store
from cdv_core.access import local_user
from cdv_core.ui import nav
from tests.pages.test_acces_identite import AUTH_SECRETS

MINE = "CV-DEMO-VERM"
EMAIL = "lecteur.vermandie@example.fr"


@pytest.fixture
def lecteur_env(app_env, monkeypatch):
    con = store.connect(app_env)
    try:
        access.add_user(con, user=local_user("test"), email=EMAIL, role="lecteur", contrats=[MINE])
        cur = con.cursor()
        others = [
            r[0]
            for r in cur.execute("SELECT code_contrat FROM contrat WHERE code_contrat <> $c", {"c": MINE}).fetchall()
        ]
        foreign = set()
        for sql in (
            "SELECT code_contrat, libelle FROM contrat WHERE code_contrat <> $c",
            "SELECT code_qp, libelle FROM quartier WHERE code_contrat <> $c",
            "SELECT code_action, NULL FROM action WHERE code_contrat <> $c",
            "SELECT code_instance, NULL FROM instance WHERE code_contrat <> $c",
        ):
            for code, label in cur.execute(sql, {"c": MINE}).fetchall():
                foreign.add(code)
                if label:
                    foreign.add(label)
                    if code.startswith("CV-"):  # a contract: also its short name, as select boxes show it
                        foreign.add(fmt.short_contract(label))
        # a name that is also one of my contract's (e.g. a quartier name reused) proves nothing
        my_label = cur.execute("SELECT libelle FROM contrat WHERE code_contrat = $c", {"c": MINE}).fetchall()[0][0]
        mine = {
            r[0]
            for sql in (
                "SELECT libelle FROM quartier WHERE code_contrat = $c",
                "SELECT libelle FROM contrat WHERE code_contrat = $c",
            )
            for r in cur.execute(sql, {"c": MINE}).fetchall()
        }
    finally:
        con.close()
    assert len(others) == 2
    monkeypatch.setenv("CDV_AUTH", "oidc")
    return {"others": others, "foreign": sorted(foreign - mine, key=len, reverse=True), "label": my_label}


def _as_lecteur(page: str | None, query: dict | None = None):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.user = {"is_logged_in": True, "email": EMAIL, "exp": int(time.time()) + 3600}
    at.secrets = AUTH_SECRETS
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def _wire_bytes(at) -> bytes:
    """Everything the session would send to the browser: every element's protobuf."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            out.append(proto.SerializeToString())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return b"\n".join(out)


def _file_text(data: bytes) -> bytes:
    if data[:2] == b"PK":  # xlsx, pptx: the text is in the zip members
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return b"\n".join(z.read(n) for n in z.namelist())
    return data


def _leaks(blob: bytes, foreign: list[str]) -> list[str]:
    return [token for token in foreign if token.encode() in blob]


@pytest.mark.parametrize("page", [p.path for p in nav.PAGES if p.action is None])  # Administration: refused
def test_all_contracts_means_mine_on_every_page(lecteur_env, media, deferred, page):
    at = _as_lecteur(page, {"contrat": "tous"})
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == []
    blob = _wire_bytes(at)
    # the page did show my contract (the sidebar at least, by its short name)
    assert fmt.short_contract(lecteur_env["label"]).encode() in blob
    assert len(at.main.children) >= 3  # and the page's own content, not a refusal
    assert _leaks(blob, lecteur_env["foreign"]) == []
    for button in at.get("download_button"):
        # a file built on click (« Données actuelles », big tables, séance exports) is built here too
        data = media(button.proto.url) if button.proto.url else deferred(button)
        assert _leaks(_file_text(data), lecteur_env["foreign"]) == [], button.proto.label


def test_another_contract_in_the_url_is_not_shown(lecteur_env):
    other = lecteur_env["others"][0]
    at = _as_lecteur("pages/financements.py", {"contrat": other})
    assert not at.exception, at.exception
    assert at.selectbox(key="sidebar_contrat").value != other
    assert _leaks(_wire_bytes(at), lecteur_env["foreign"]) == []
    assert at.query_params["contrat"] != [other]


def test_the_contract_menu_offers_only_mine(lecteur_env):
    at = _as_lecteur(None)
    options = at.selectbox(key="sidebar_contrat").options
    assert options[0] == "Tous mes contrats" and len(options) == 2


def test_a_lecteur_gets_no_write_form(lecteur_env):
    at = _as_lecteur("pages/mise_a_jour.py", {"contrat": MINE})
    assert not at.exception, at.exception
    assert at.get("file_uploader") == []
    assert "pas d'importer" in " ".join(i.value for i in at.info)
    assert "Annuler l'import" not in [b.proto.label for b in at.get("button")]
