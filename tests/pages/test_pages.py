"""AppTest: the app and every page run on the demo store; the selection drives the figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdv_core.ui.nav import PAGES
from tests.conftest import ROOT, metric, run_app

pytestmark = pytest.mark.both_backends  # every page and its writes on the file and on DuckLake


def test_every_page_file_is_in_the_navigation():
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert on_disk == {p.path for p in PAGES}


@pytest.mark.parametrize("page", [Path(p.path).stem for p in PAGES])
def test_page_runs_without_exception(app_env, page):
    at = run_app(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "each page shows its French title"
    assert at.sidebar.selectbox(key="sidebar_contrat").value == "__tous__"


def test_overview_figures_follow_the_contract_selector(app_env):
    at = run_app()
    assert metric(at, "Quartiers prioritaires").value == "12"
    at.sidebar.selectbox(key="sidebar_contrat").set_value("CV-DEMO-MONT").run()
    assert not at.exception
    assert metric(at, "Quartiers prioritaires").value == "2"
    assert metric(at, "Contrats de ville").value == "1"
    assert at.query_params["contrat"] == "CV-DEMO-MONT"


def test_selection_is_read_from_the_url(app_env):
    at = run_app(query={"contrat": "CV-DEMO-BRE", "au": "2026-06-30"})
    assert metric(at, "Quartiers prioritaires").value == "4"
    assert at.sidebar.date_input(key="sidebar_donnees_au").value.isoformat() == "2026-06-30"


def test_selection_survives_a_page_change(app_env):
    at = run_app(query={"contrat": "CV-DEMO-VERM"})
    at.switch_page("pages/gouvernance.py").run()
    assert at.sidebar.selectbox(key="sidebar_contrat").value == "CV-DEMO-VERM"
    at.switch_page("pages/vue_ensemble.py").run()
    assert metric(at, "Quartiers prioritaires").value == "6"


def test_unknown_contract_in_url_falls_back_to_all(app_env):
    at = run_app(query={"contrat": "CV-INCONNU"})
    assert not at.exception
    assert metric(at, "Quartiers prioritaires").value == "12"


def test_unusable_store_shows_a_french_error(tmp_path, monkeypatch):
    bad = tmp_path / "cdv.duckdb"
    bad.write_bytes(b"pas une base" * 500)
    monkeypatch.setenv("CDV_STORE", str(bad))
    monkeypatch.chdir(ROOT)
    at = run_app()
    assert not at.exception
    assert any("endommagé" in e.value for e in at.error)
    assert bad.read_bytes() == b"pas une base" * 500


def test_no_multiselect_offers_streamlits_english_select_all():
    """Streamlit adds a « Select all » option to multi-selects unless told not to."""
    import ast

    missing, found = [], 0
    # the pages' drawing blocks may live in cdv_core/ui (issue #21): their multi-selects count too
    for path in [*sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py", *sorted((ROOT / "cdv_core/ui").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "multiselect":
                given = {k.arg: k.value for k in node.keywords}
                if not node.args and "label" not in given:  # AppTest's lookup of a drawn one (`precalcul`)
                    continue
                found += 1
                if not (isinstance(given.get("select_all"), ast.Constant) and given["select_all"].value is False):
                    missing.append(f"{path.name}:{node.lineno}")
    assert found >= 10 and missing == []
