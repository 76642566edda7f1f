"""`python -m cdv_core precalcul`: every selection's pages computed ahead of the visitors, into
the read cache on disk, under the keys the pages then ask for."""

import os
import re
import subprocess
import sys

import pytest
import streamlit as st

from cdv_core import access, read_cache, store
from cdv_core.queries import territoire
from cdv_core.ui import context, nav, precalcul
from cdv_core.ui.financements import FIXED_FILTERS
from cdv_core.ui.nav import PAGES
from tests.conftest import ROOT

pytestmark = pytest.mark.both_backends


def _command(store_path, folder, *extra):
    env = {**os.environ, "CDV_STORE": "", "CDV_CACHE_DISQUE": str(folder)}
    return subprocess.run(
        [sys.executable, "-m", "cdv_core", "precalcul", "--store", str(store_path), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _choices(stdout: str) -> int:
    found = re.search(r"([\d\u202f]+) filtres? choisis? sur « Actions et financements »", stdout)
    return 0 if found is None else int(found.group(1).replace("\u202f", ""))


@pytest.fixture
def folder(cache_folder):
    return cache_folder


def test_after_the_precompute_no_page_of_any_selection_computes_a_read(app_env, folder, monkeypatch):
    done = _command(app_env, folder)
    assert done.returncode == 0, done.stderr
    con = store.connect(app_env)
    codes = territoire.contracts_by_size(con.cursor())
    con.close()
    assert len(codes) == 3
    assert f"{len(codes) + 1} sélections" in done.stdout and "Tous les contrats" in done.stdout

    # a server starting on the store (this process: empty memory), the same cache folder
    monkeypatch.setenv("CDV_CACHE_DISQUE", str(folder))
    st.cache_data.clear()
    filed = []
    original = read_cache.Shelf.put
    monkeypatch.setattr(read_cache.Shelf, "put", lambda self, token, key, value: filed.append(key[0]))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    visits = 0
    for code in [context.ALL_CONTRACTS, *codes]:
        at.sidebar.selectbox(key="sidebar_contrat").set_value(code)
        at.run()
        for spec in PAGES:
            at.switch_page(spec.path)
            at.run()
            assert not at.exception, (code, spec.path, at.exception)
            visits += 1
    assert visits == 4 * len(PAGES)
    assert filed == []  # every read the pages asked for was on disk

    # on « Tous les contrats », a person's first filter on Financements: one exercice, one value of a list
    def first_visit():
        session = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        session.query_params["contrat"] = "tous"
        session.switch_page("pages/financements.py")
        session.run()
        assert not session.exception
        return session

    tous = first_visit()
    assert tous.selectbox(key="fin_annee").index != 0
    tous.selectbox(key="fin_annee").select_index(0)  # toutes les années
    tous.run()
    assert not tous.exception and tous.selectbox(key="fin_annee").index == 0
    tous = first_visit()
    tous.multiselect(key="fin_fin").set_value([FIXED_FILTERS["fin_fin"][1][-1]])
    tous.run()
    assert not tous.exception
    assert filed == []
    tous.multiselect(key="fin_statut").set_value([FIXED_FILTERS["fin_statut"][1][0]])  # two filters: not ahead
    tous.run()
    assert "cdv_core.queries.financements.funding_totals" in filed
    filed.clear()

    # a read not precomputed (another year's Financements) is computed and filed as before
    monkeypatch.setattr(read_cache.Shelf, "put", original)
    at.switch_page("pages/financements.py")
    at.run()
    monkeypatch.setattr(read_cache.Shelf, "put", lambda self, token, key, value: filed.append(key[0]))
    years = at.selectbox(key="fin_annee").options
    at.selectbox(key="fin_annee").set_value(years[-1] if at.selectbox(key="fin_annee").value != years[-1] else years[0])
    at.run()
    assert not at.exception
    assert filed  # the pages' cache still computes what was not precomputed


def test_the_precompute_refuses_without_the_cache_on_disk_or_a_store(demo_store, folder, tmp_path):
    off = _command(demo_store, "non")
    assert off.returncode == 1
    assert "cache sur disque" in off.stderr and "CDV_CACHE_DISQUE" in off.stderr
    unknown = _command(demo_store, folder, "--contrat", "CV-INCONNU")
    assert unknown.returncode == 1 and "Contrat(s) absent(s) de la base : CV-INCONNU." in unknown.stderr
    missing = tmp_path / "absente.duckdb"
    gone = _command(missing, folder)
    assert gone.returncode == 1 and gone.stderr.strip()
    assert not missing.exists()  # not created as a demo


def test_the_precompute_stops_when_the_data_changes(app_env, folder, monkeypatch):
    monkeypatch.setenv("CDV_CACHE_DISQUE", str(folder))
    st.cache_data.clear()

    def write_at_second(done, total, code):
        if done == 1:  # someone imports while the precompute runs
            con = context.connection(str(app_env))
            with store.transaction(con, written=[], audit=store.Audit("test", "Écriture de test")):
                pass

    report = precalcul.run(str(app_env), filtres=False, progress=write_at_second)
    assert report.stopped == "les données ont changé pendant le précalcul"
    assert report.selections == [None, report.selections[1]] and report.failures == []


def test_an_account_limited_to_one_contract_finds_its_pages_precomputed(app_env, folder, monkeypatch, headers):
    """People log in through a proxy (CDV_AUTH=entete): a chef de projet's reads are filed under
    their périmètre, which the administrator's pass does not cover; the command visits it too."""
    con = store.connect(app_env)
    codes = territoire.contracts_by_size(con.cursor())
    local = access.local_user("test")
    access.add_user(con, user=local, email="admin@ville.fr", role=access.ADMIN)
    access.add_user(con, user=local, email="chef@ville.fr", role="chef_de_projet", contrats=[codes[-1]])
    # the same périmètre as the chef's, another role, listed first: one view, the chef's (who reads more)
    access.add_user(con, user=local, email="alice@ville.fr", role="lecteur", contrats=[codes[-1]])
    con.close()
    monkeypatch.setenv("CDV_AUTH", "entete")
    monkeypatch.setenv("CDV_AUTH_ENTETE", "X-Auth-Request-Email")
    without = _command(app_env, folder, "--sans-comptes")
    assert without.returncode == 0, without.stderr
    assert "4 sélections, " in without.stdout and "Tous mes contrats" not in without.stdout
    done = _command(app_env, folder)
    assert done.returncode == 0, done.stderr
    # the administrator's four selections, then the chef's two (one view for two accounts alike)
    assert "6 sélections (dont les vues de 1 compte limité), " in done.stdout
    # the filters chosen on « Tous les contrats » only: one contract's « Tous mes contrats » reads little
    assert _choices(done.stdout) == _choices(without.stdout) > 0
    assert "Tous mes contrats (compte limité n° 1 sur 1, 1 contrat)" in done.stdout
    assert "chef@ville.fr" not in done.stdout  # no email in a cron's log
    notices = done.stdout + done.stderr  # Streamlit's notices of a run without a server: none in a cron's log
    assert "No runtime found" not in notices and "ScriptRunContext" not in notices
    other = _command(app_env, folder, "--contrat", codes[0], "--sans-filtres")  # the chef's contract is not in it
    assert other.returncode == 0, other.stderr
    assert "2 sélections en" in other.stdout and "compte limité" not in other.stdout

    # the chef's session on a server starting over the same folder computes nothing
    monkeypatch.setenv("CDV_CACHE_DISQUE", str(folder))
    st.cache_data.clear()
    headers.append(("x-auth-request-email", "chef@ville.fr"))
    filed = []
    monkeypatch.setattr(read_cache.Shelf, "put", lambda self, token, key, value: filed.append(key[0]))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    options = at.sidebar.selectbox(key="sidebar_contrat").options
    assert options[0] == "Tous mes contrats" and len(options) == 2  # the chef's view, not the administrator's
    chef = access.User(email="chef@ville.fr", role="chef_de_projet", contrats=(codes[-1],))
    for code in [context.ALL_CONTRACTS, codes[-1]]:
        at.sidebar.selectbox(key="sidebar_contrat").set_value(code)
        at.run()
        for spec in nav.pages_for(chef):
            at.switch_page(spec.path)
            at.run()
            assert not at.exception, (code, spec.path, at.exception)
    assert filed == []


def test_an_account_of_many_contracts_finds_its_first_filter_precomputed(app_env, folder, monkeypatch, headers):
    """An account seeing many contracts (a préfecture de région's) has the Financements filters of
    its « Tous mes contrats » chosen ahead, as the administrator's « Tous les contrats »."""
    monkeypatch.setenv("CDV_CACHE_DISQUE", str(folder))
    monkeypatch.setenv("CDV_AUTH", "entete")
    monkeypatch.setenv("CDV_AUTH_ENTETE", "X-Auth-Request-Email")
    monkeypatch.setattr(precalcul, "FILTER_CHOICES_MIN_CONTRACTS", 2)  # the demo has three contracts
    st.cache_data.clear()
    con = context.connection(str(app_env))
    codes = territoire.contracts_by_size(con.cursor())
    access.add_user(con, user=access.local_user("test"), email="region@ville.fr", role="lecteur", contrats=codes[-2:])
    report = precalcul.run(str(app_env), contrats=[codes[-1]])
    assert report.failures == [] and report.comptes == 1
    assert report.selections == [None, codes[-1], None, codes[-1]]

    st.cache_data.clear()
    headers.append(("x-auth-request-email", "region@ville.fr"))
    filed = []
    monkeypatch.setattr(read_cache.Shelf, "put", lambda self, token, key, value: filed.append(key[0]))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["contrat"] = "tous"
    at.switch_page("pages/financements.py")
    at.run()
    assert at.sidebar.selectbox(key="sidebar_contrat").options[0] == "Tous mes contrats"
    # each exercice but the default, each value of each list: for the administrator and for the account
    other_years = len(at.selectbox(key="fin_annee").options) - 1
    assert report.choix == 2 * (other_years + sum(len(values) for _, values in FIXED_FILTERS.values()))
    at.multiselect(key="fin_them").set_value([FIXED_FILTERS["fin_them"][1][0]])
    at.run()
    assert not at.exception
    assert filed == []


def test_a_refused_account_is_reported_by_its_number(app_env, folder, monkeypatch):
    """An account refused at its login (deactivated since the list was read) stops its own visits
    only, reported without its email; the others go on."""
    monkeypatch.setenv("CDV_CACHE_DISQUE", str(folder))
    monkeypatch.setenv("CDV_AUTH", "entete")
    st.cache_data.clear()
    con = context.connection(str(app_env))
    codes = territoire.contracts_by_size(con.cursor())
    gone = access.User(email="parti@ville.fr", role="chef_de_projet", contrats=(codes[-1],))  # no such account
    monkeypatch.setattr(precalcul, "account_views", lambda cur: [gone])
    report = precalcul.run(str(app_env), contrats=[codes[-1]], tous=False)
    assert report.selections == [codes[-1]]  # the administrator's view of the contract
    assert report.failures == [
        (f"{codes[-1]} (compte limité n° 1 sur 1, 1 contrat)", "connexion", "compte refusé (désactivé ou sans contrat)")
    ]
    assert report.comptes == 0


def test_only_a_command_may_log_every_session_in_as_an_account(monkeypatch):
    from streamlit.runtime import Runtime

    from cdv_core.ui import identity

    with identity.precomputing_as("chef@ville.fr"):
        assert identity._precomputing == "chef@ville.fr"
    assert identity._precomputing is None
    monkeypatch.setattr(Runtime, "exists", staticmethod(lambda: True))  # a server's process
    with pytest.raises(RuntimeError), identity.precomputing_as("chef@ville.fr"):
        pass
    assert identity._precomputing is None
