"""Identity per CDV_AUTH mode, through the real app in AppTest: who sees what before and after
logging in (nothing from the store before), expiry, the entete header, accounts without access
and a store without an administrator."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from google.protobuf import text_format

from cdv_core import access, fmt, store
from cdv_core.ui import identity
from tests.conftest import ROOT

MONT = "CV-DEMO-MONT"
AUTH_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "cdv",
        "client_secret": "secret",
        "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
    }
}


@pytest.fixture
def app_store(demo_store, monkeypatch):
    """A private demo store for the app, with its contract labels; `add(email, role, contrats)`
    creates accounts before the app opens it."""
    monkeypatch.setenv("CDV_STORE", str(demo_store))
    monkeypatch.chdir(ROOT)
    con = store.connect(demo_store)
    try:
        labels = dict(con.execute("SELECT code_contrat, libelle FROM contrat ORDER BY 1").fetchall())
    finally:
        con.close()

    def add(email: str, role: str, contrats=()):
        con = store.connect(demo_store)  # closed before the app opens the store
        try:
            access.add_user(con, user=access.local_user("test"), email=email, role=role, contrats=list(contrats))
        finally:
            con.close()

    return SimpleNamespace(
        path=demo_store,
        labels=list(labels.values()),
        codes=list(labels),
        label=labels,
        add=add,
        shown={c: fmt.short_contract(x) for c, x in labels.items()},
    )  # as the sidebar shows them


def _run(*, user: dict | None = None, secrets: dict | None = None, page: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    if user is not None:
        at.user = user
    if secrets is not None:
        at.secrets = secrets
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _all_text(at) -> str:
    """Every element of the app tree (main area and sidebar), as text."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def _shows_nothing_from_the_store(at, app_store) -> None:
    text = _all_text(at)
    leaked = [x for x in [*app_store.labels, *app_store.shown.values(), *app_store.codes] if x in text]
    assert not leaked, f"visible sans accès : {leaked}"
    assert not at.metric and not at.get("vega_lite_chart") and not at.dataframe
    assert not at.sidebar.selectbox and not at.sidebar.date_input


def _logged_in(email: str, **claims) -> dict:
    now = time.time()
    return {"is_logged_in": True, "email": email, "iat": now - 60, "exp": now + 3600, **claims}


# --- aucune ------------------------------------------------------------------------------------


def test_aucune_says_anyone_can_write_and_writes_under_the_local_name(app_store, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "aucune")
    monkeypatch.setenv("CDV_UTILISATEUR", "Poste de la salle du conseil")
    at = _run(page="jalons")
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert "toute personne qui ouvre l'application peut modifier les données" in caption
    assert "Poste de la salle du conseil" in caption
    assert not [b for b in at.sidebar.button if b.key == "auth_logout"]

    at.sidebar.selectbox(key="sidebar_contrat").set_value(MONT).run()
    from cdv_core.ui.context import connection

    con = connection(str(app_store.path))  # the app's own connection (the file has one writer)
    before = con.execute("SELECT max(version_store) FROM journal_ecriture").fetchone()[0] or 0
    at.button(key="jalons_done_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    new = con.execute(
        "SELECT DISTINCT auteur, contrats FROM journal_ecriture WHERE version_store > $v", {"v": before}
    ).fetchall()
    assert new == [("Poste de la salle du conseil", MONT)]


# --- oidc --------------------------------------------------------------------------------------


def test_oidc_visitor_not_logged_in_sees_only_the_login_page(app_store, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    at = _run(user={"is_logged_in": False}, secrets=AUTH_SECRETS)
    assert [b.label for b in at.button] == ["Se connecter"]
    assert "Connectez-vous" in _all_text(at)
    _shows_nothing_from_the_store(at, app_store)


@pytest.mark.parametrize("page", ["financements", "mise_a_jour", "seance"])
def test_oidc_every_page_is_gated(app_store, monkeypatch, page):
    """The gate is in bootstrap(): a page reached directly shows the same login page."""
    monkeypatch.setenv("CDV_AUTH", "oidc")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=30)
    at.user, at.secrets = {"is_logged_in": False}, AUTH_SECRETS
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b.label for b in at.button] == ["Se connecter"]
    _shows_nothing_from_the_store(at, app_store)


def test_oidc_without_auth_secrets_says_so_in_french(app_store, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    at = _run(user={"is_logged_in": False})
    assert at.subheader[0].value == "Connexion non configurée"
    assert "[auth]" in at.markdown[0].value
    _shows_nothing_from_the_store(at, app_store)


def test_oidc_expired_login_asks_for_a_new_login(app_store, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    app_store.add("admin@ville.fr", "administrateur")
    long_ago = time.time() - (identity.SESSION_HOURS + 1) * 3600
    at = _run(
        user=_logged_in("admin@ville.fr", iat=long_ago, auth_time=long_ago, exp=long_ago + 300), secrets=AUTH_SECRETS
    )
    assert at.subheader[0].value == "Session expirée"
    assert [b.label for b in at.button] == ["Se reconnecter"]
    _shows_nothing_from_the_store(at, app_store)


def test_oidc_short_lived_token_does_not_cut_a_session_short(app_store, monkeypatch):
    """ProConnect's ID token lives 60 s: a login an hour old still holds (SESSION_HOURS)."""
    monkeypatch.setenv("CDV_AUTH", "oidc")
    app_store.add("admin@ville.fr", "administrateur")
    hour_ago = time.time() - 3600
    at = _run(
        user=_logged_in("admin@ville.fr", iat=hour_ago, auth_time=hour_ago, exp=hour_ago + 60), secrets=AUTH_SECRETS
    )
    assert sorted(at.sidebar.selectbox(key="sidebar_contrat").options[1:]) == sorted(app_store.shown.values())


def test_expiry_rule():
    now = 1_000_000_000.0
    assert identity.expired({"exp": now - 1}, now=now)
    assert not identity.expired({"exp": now + 1}, now=now)
    assert identity.expired({}, now=now), "no exp: renew"
    assert not identity.expired({"exp": now - 1, "iat": now - 3600}, now=now)
    assert identity.expired({"exp": now - 1, "iat": now - identity.SESSION_HOURS * 3600 - 1}, now=now)
    assert identity.expired(
        {"exp": now - 1, "iat": now, "auth_time": now - identity.SESSION_HOURS * 3600 - 1}, now=now
    ), "auth_time (the authentication) wins over iat (a refreshed token)"


def test_oidc_lecteur_sees_its_contract_only(app_store, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    app_store.add("admin@ville.fr", "administrateur")
    app_store.add("lecteur@ville.fr", "lecteur", [MONT])
    at = _run(user=_logged_in("Lecteur@Ville.fr"), secrets=AUTH_SECRETS)
    box = at.sidebar.selectbox(key="sidebar_contrat")
    assert box.options == ["Tous mes contrats", app_store.shown[MONT]]
    text = _all_text(at)
    assert not [x for c in app_store.codes if c != MONT for x in (app_store.label[c], app_store.shown[c]) if x in text]
    assert next(m.value for m in at.metric if m.label == "Contrats de ville") == "1"
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert fmt.md("lecteur@ville.fr") in caption and "Lecteur" in caption  # as text, not a mailto link
    assert [b.key for b in at.sidebar.button if b.key == "auth_logout"] == ["auth_logout"]


def test_oidc_unknown_account_is_told_whom_to_ask(app_store, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    app_store.add("admin@ville.fr", "administrateur")
    at = _run(user=_logged_in("inconnu@ville.fr"), secrets=AUTH_SECRETS)
    assert at.subheader[0].value == "Votre compte n'a accès à aucun contrat"
    assert fmt.md("inconnu@ville.fr") in at.markdown[0].value and fmt.md("admin@ville.fr") in at.markdown[0].value
    assert [b.label for b in at.button] == ["Se déconnecter"]
    _shows_nothing_from_the_store(at, app_store)

    monkeypatch.setenv("CDV_CONTACT", "la cellule politique de la ville (pdv@prefecture.gouv.fr)")
    at = _run(user=_logged_in("inconnu@ville.fr"), secrets=AUTH_SECRETS)
    assert "la cellule politique de la ville (pdv@prefecture.gouv.fr)" in at.markdown[0].value


def test_oidc_without_administrator_says_how_to_create_one(app_store, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    at = _run(user=_logged_in("premiere@ville.fr"), secrets=AUTH_SECRETS)
    assert at.subheader[0].value == "Aucun administrateur"
    assert (
        "python -m cdv_core utilisateurs ajouter --email premiere@ville.fr --role administrateur"
        in at.markdown[0].value
    )
    _shows_nothing_from_the_store(at, app_store)


# --- entete ------------------------------------------------------------------------------------


def test_entete_reads_the_configured_header(app_store, monkeypatch, headers):
    monkeypatch.setenv("CDV_AUTH", "entete")
    monkeypatch.setenv("CDV_AUTH_ENTETE", "X-Auth-Request-Email")
    app_store.add("admin@ville.fr", "administrateur")
    app_store.add("chef@ville.fr", "chef_de_projet", [MONT])
    headers.append(("x-auth-request-email", "chef@ville.fr"))
    at = _run()
    assert at.sidebar.selectbox(key="sidebar_contrat").options == ["Tous mes contrats", app_store.shown[MONT]]
    assert fmt.md("chef@ville.fr") in " ".join(c.value for c in at.sidebar.caption)
    assert not [b for b in at.sidebar.button if b.key == "auth_logout"], "the proxy logs out, not the app"


def test_entete_without_the_header_shows_nothing(app_store, monkeypatch, headers):
    monkeypatch.setenv("CDV_AUTH", "entete")
    app_store.add("admin@ville.fr", "administrateur")
    headers.append(("X-Forwarded-User", "admin"))  # another header: not the configured one
    at = _run()
    assert at.subheader[0].value == "Identité non transmise"
    assert "X-Forwarded-Email" in at.markdown[0].value
    _shows_nothing_from_the_store(at, app_store)


def test_entete_repeated_header_is_refused(app_store, monkeypatch, headers):
    monkeypatch.setenv("CDV_AUTH", "entete")
    app_store.add("admin@ville.fr", "administrateur")
    headers.extend([("X-Forwarded-Email", "admin@ville.fr"), ("X-Forwarded-Email", "chef@ville.fr")])
    at = _run()
    assert at.subheader[0].value == "Identité ambiguë"
    _shows_nothing_from_the_store(at, app_store)
