"""« Jalons et actualisation 2027 » page in AppTest: the missing items of a contract that is not
ready, freezing a baseline then changing data, and the milestone forms."""

from __future__ import annotations

from datetime import date

import pytest

from cdv_core import store
from tests.conftest import run_app

pytestmark = pytest.mark.both_backends  # every page and its writes on the file and on DuckLake


def _app_connection(path):
    """The app process's own connection: DuckDB refuses a second, differently configured one."""
    from cdv_core.ui import context

    return context.connection(str(path))


def _texts(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, _texts(at, "error")


def test_contract_not_ready_shows_its_missing_items(app_env):
    at = run_app("jalons", query={"contrat": "CV-DEMO-MONT"})
    _no_failure(at)
    warnings = " ".join(_texts(at, "warning"))
    assert "Pas encore prêt pour l'actualisation (6 / 8 critères)" in warnings
    assert "Chaque QPV a un projet de quartier avec des objectifs" in warnings
    assert "Chaque objectif a une valeur de référence et une cible" in warnings
    cur = _app_connection(app_env).cursor()
    missing_qpv = [
        r[0]
        for r in cur.execute(
            "SELECT libelle FROM quartier WHERE code_contrat = 'CV-DEMO-MONT' "
            "AND code_qp NOT IN (SELECT code_qp FROM projet_quartier)"
        ).fetchall()
    ]
    cur.close()
    captions = " ".join(_texts(at, "caption"))
    assert missing_qpv and all(name in captions for name in missing_qpv)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Préparation de l'actualisation"] == "6 / 8 critères"
    assert metrics["Actualisation 2027"].startswith("J-")
    links = [p.proto.label for p in at.get("page_link")]
    # Each missing item links to the page that fixes it.
    assert "Compléter : Projets de quartier" in links and "Compléter : Indicateurs" in links
    assert not any(label.startswith("Compléter : Gouvernance") for label in links)
    charts = at.get("vega_lite_chart")
    assert charts, "the 2024-2030 timeline is drawn"


def test_all_contracts_table_and_timeline(app_env):
    at = run_app("jalons", query={"contrat": "tous"})
    _no_failure(at)
    frames = [d.value for d in at.dataframe]
    per_contract = next(f for f in frames if "Critères remplis" in f.columns)
    assert len(per_contract) == 3 and set(per_contract["Prêt"]) == {"non"}


def test_freeze_baseline_then_change_shows_the_change(app_env):
    at = run_app("jalons", query={"contrat": "CV-DEMO-VERM"})
    _no_failure(at)
    assert len(at.selectbox(key="jalons_reference").options) == 1  # the demo's baseline at signature
    at.date_input(key="jalons_gel_date").set_value(date(2026, 11, 15))
    at.text_input(key="jalons_gel_libelle").set_value("Point d'étape")
    at.button(key="jalons_gel_submit").click()
    at.run()
    _no_failure(at)
    assert any("Référence figée" in t for t in _texts(at, "success"))
    picker = at.selectbox(key="jalons_reference")
    assert len(picker.options) == 2 and picker.value == 2  # the new baseline is shown
    assert any("Aucun objectif ajouté, supprimé ou renommé" in t for t in _texts(at, "success"))

    # A later write (as an import would do) renames an objective and drops another.
    con = _app_connection(app_env)
    renamed, dropped = [
        r[0]
        for r in con.cursor()
        .execute(
            "SELECT code_objectif FROM objectif WHERE code_contrat = 'CV-DEMO-VERM' ORDER BY code_objectif LIMIT 2"
        )
        .fetchall()
    ]
    with store.transaction(con) as cur:
        cur.execute("UPDATE objectif SET libelle = 'Objectif reformulé en COPIL' WHERE code_objectif = ?", [renamed])
        for table in ("action_objectif", "objectif_indicateur"):
            cur.execute("DELETE FROM " + table + " WHERE code_objectif = ?", [dropped])
        cur.execute("DELETE FROM objectif WHERE code_objectif = ?", [dropped])
    at.run()
    _no_failure(at)
    table = next(d.value for d in at.dataframe if "Changement" in d.value.columns)
    changes = dict(zip(table["Objectif"], table["Changement"]))
    assert changes == {renamed: "libellé modifié", dropped: "supprimé"}
    assert "Objectif reformulé en COPIL" in table["Libellé actuel"].to_list()


def test_milestone_forms(app_env):
    at = run_app("jalons", query={"contrat": "CV-DEMO-VERM"})
    _no_failure(at)
    assert {m.label: m.value for m in at.metric}["Jalons en retard"] == "1"
    # Invalid: no libellé, no date → French errors, nothing written.
    at.button(key="jalons_add_submit").click()
    at.run()
    errors = " ".join(_texts(at, "error"))
    assert "libellé du jalon est obligatoire" in errors and "date prévue est obligatoire" in errors
    # Mark the late milestone done (it is offered first).
    at.date_input(key="jalons_done_date").set_value(min(date(2026, 11, 10), date.today()))
    at.button(key="jalons_done_submit").click()
    at.run()
    _no_failure(at)
    assert {m.label: m.value for m in at.metric}["Jalons en retard"] == "0"
    # Add a milestone planned before the data date and not done: it is late.
    at.text_input(key="jalons_add_libelle").set_value("Bilan intermédiaire des CPO")
    at.date_input(key="jalons_add_prevue").set_value(date(2026, 10, 1))
    at.selectbox(key="jalons_add_type").set_value("renouvellement CPO")
    at.button(key="jalons_add_submit").click()
    at.run()
    _no_failure(at)
    assert any("Jalon ajouté : Bilan intermédiaire des CPO" in t for t in _texts(at, "success"))
    assert {m.label: m.value for m in at.metric}["Jalons en retard"] == "1"
