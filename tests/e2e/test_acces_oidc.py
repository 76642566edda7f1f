"""Logging in through a real OpenID Connect provider (oidc-provider-mock on a loopback port) with
`streamlit run app.py` under CDV_AUTH=oidc: a fresh server sends the visitor to the provider and
back; a chef de projet imports a file of its contract, a lecteur sees and cannot write."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from cdv_core import access, store
from cdv_core.ingest import samples
from tests.e2e.conftest import LiveServer, _unavailable, new_page, settle, shot

VERM = "CV-DEMO-VERM"
USERS = {
    "admin@ville.fr": ("administrateur", []),
    "chef@ville.fr": ("chef_de_projet", [VERM]),
    "lecteur@ville.fr": ("lecteur", [VERM]),
}


@pytest.fixture
def provider():
    """oidc-provider-mock in a thread of this process, on a free loopback port (its « localhost »)."""
    try:
        from oidc_provider_mock import run_server_in_thread
    except ImportError:
        _unavailable("le paquet oidc-provider-mock n'est pas installé (pip install -r requirements-dev.txt)")
    with run_server_in_thread(port=0, require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def secrets_layout() -> str:
    """« simple »: the provider's settings in `[auth]`; « section_nommee »: in `[auth.fournisseur]`, with
    `authorize_params` (the ProConnect set-up of docs/acces.md)."""
    return "simple"


@pytest.fixture
def oidc_app(provider, demo_store_master, tmp_path, chromium, secrets_layout):
    """A copy of the demo store with three accounts, served under CDV_AUTH=oidc; the `[auth]`
    secrets live in a file of the test (STREAMLIT_SECRETS_FILES), not in the project's .streamlit/."""
    path = tmp_path / "cdv.duckdb"
    shutil.copy(demo_store_master, path)
    con = store.connect(path)
    try:
        for email, (role, contrats) in USERS.items():
            access.add_user(con, user=access.local_user("test"), email=email, role=role, contrats=contrats)
        labels = [r[0] for r in con.execute("SELECT libelle FROM contrat").fetchall()]
        version = con.execute("SELECT max(version_store) FROM journal_ecriture").fetchone()[0]
    finally:
        con.close()
    secrets = tmp_path / "secrets.toml"
    provider_settings = f"""client_id = "cdv-e2e"
client_secret = "cdv-e2e-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
"""
    if secrets_layout == "section_nommee":
        provider_settings = (
            "\n[auth.fournisseur]\n"
            + provider_settings
            + """authorize_params = { claims = '{"id_token":{"email":{"essential":true}}}' }\n"""
        )
    secrets.write_text(
        f"""[auth]
redirect_uri = "http://localhost:{{port}}/oauth2callback"
cookie_secret = "e2e-cookie-secret-0123456789abcdef"
{provider_settings}""",
        encoding="utf-8",
    )
    server = LiveServer(
        path, tmp_path / "streamlit.log", env={"CDV_AUTH": "oidc", "STREAMLIT_SECRETS_FILES": str(secrets)}
    )
    try:
        # the browser uses the redirect_uri's host: the login cookies must come back to it
        yield SimpleNamespace(
            url=f"http://localhost:{server.port}", server=server, store=path, labels=labels, version=version
        )
    finally:
        server.stop()


def _login(page, app, email: str, *, first_url: str) -> None:
    """From the app's login page, through the provider's form, back to the app."""
    page.goto(app.url + first_url)
    settle(page)
    assert page.get_by_text("Connectez-vous pour voir les contrats").is_visible()
    assert page.get_by_test_id("stMetric").count() == 0
    body = page.locator("body").inner_text()
    assert not [x for x in [VERM, *app.labels] if x in body]
    if first_url != "/":  # a deep link runs the page without app.py: no file-name menu either
        assert not page.get_by_test_id("stSidebarNav").is_visible()
    shot(page, "acces-oidc-connexion" + first_url.replace("/", "-").rstrip("-"))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: not url.startswith(app.url), timeout=30_000)  # at the provider
    page.locator("input[name='sub']").fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(lambda url: url.startswith(app.url), timeout=30_000)
    settle(page)
    page.get_by_test_id("stSidebar").get_by_text(email).wait_for(timeout=30_000)


@pytest.mark.parametrize("secrets_layout", ["section_nommee"])
def test_chef_de_projet_logs_in_and_imports_a_file_of_its_contract(oidc_app, chromium, tmp_path, caplog):
    page = new_page(chromium)
    with caplog.at_level("INFO", logger="werkzeug"):
        _login(page, oidc_app, "chef@ville.fr", first_url="/mise_a_jour")  # a deep link on a fresh server
    authorize = [r.getMessage() for r in caplog.records if "/oauth2/authorize?" in r.getMessage()]
    assert authorize and all("claims=" in m for m in authorize), "authorize_params reach the provider"
    page.goto(oidc_app.url + "/mise_a_jour")
    settle(page)
    assert page.get_by_test_id("stSidebar").get_by_text("Chef de projet").is_visible()
    path = tmp_path / "programmation_verm.csv"
    path.write_bytes(samples.to_csv(samples.programmation(5, contracts={VERM: ["QN00281M"]}), encoding="utf-8"))
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    page.get_by_text("Différences avec la base").wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("button", name="Valider l'import").click()
    page.get_by_text("validé").first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0
    shot(page, "acces-oidc-chef-import")
    oidc_app.server.stop()  # the file store has one writer: read it once the app is gone
    con = store.connect(oidc_app.store, read_only=True)
    try:
        authors = {
            r[0]
            for r in con.execute(
                "SELECT auteur FROM journal_ecriture WHERE version_store > $v", {"v": oidc_app.version}
            ).fetchall()
        }
    finally:
        con.close()
    assert authors == {"chef@ville.fr"}


def test_lecteur_logs_in_sees_the_dashboard_and_no_way_to_write(oidc_app, chromium):
    page = new_page(chromium)
    _login(page, oidc_app, "lecteur@ville.fr", first_url="/")
    card = page.get_by_test_id("stMetric").filter(has_text="Contrats de ville")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "1"
    shot(page, "acces-oidc-lecteur")
    page.goto(oidc_app.url + "/mise_a_jour")
    settle(page)
    assert page.get_by_text("pas d'importer de fichier").is_visible()
    assert page.get_by_test_id("stFileUploaderDropzoneInput").count() == 0
    for url in (f"/jalons?contrat={VERM}", f"/gouvernance?contrat={VERM}"):
        page.goto(oidc_app.url + url)
        settle(page)
        assert page.get_by_test_id("stSidebar").get_by_text("lecteur@ville.fr").is_visible()
        assert page.get_by_test_id("stForm").count() == 0, url
        assert page.get_by_test_id("stException").count() == 0
