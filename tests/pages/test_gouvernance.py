"""The « Gouvernance » page in AppTest: the demo's late instance is flagged; recording a held
meeting through the form removes the flag (here and in the overview's alerts); invalid input
gives French errors and writes nothing."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from cdv_core import fmt, settings
from cdv_core.queries import gouvernance as gouv
from tests.conftest import DEMO_AU, run_app

CONTRAT = "CV-DEMO-VERM"
LATE = "I-CV-DEMO-VERM-COTE"
LATE_LABEL = "Comité technique — CA du Pays de Vermandie"
TABLES = ("reunion", "decision", "decision_action")


def _counts(path) -> dict:
    # same process as the app: duckdb hands back the already-open database instance
    con = duckdb.connect(str(path))
    try:
        counts = {t: con.execute("SELECT count(*) FROM " + t).fetchall()[0][0] for t in TABLES}
        counts["version"] = con.execute("SELECT valeur FROM store_meta WHERE cle = 'store_version'").fetchall()[0][0]
        return counts
    finally:
        con.close()


def _late_instances(path) -> int:
    """Late instances of the contract by the query itself (the demo's count is not a constant)."""
    con = duckdb.connect(str(path))
    try:
        frame = gouv.instance_cadence(
            con.cursor(), contrat=CONTRAT, donnees_au=DEMO_AU, tolerance_days=settings.load().cadence_tolerance_days
        )
        return int(frame["en_retard"].sum())
    finally:
        con.close()


def _late_warning(at) -> str:
    return " ".join(w.value for w in at.warning)


def _late_count(at) -> str:
    return next(m.value for m in at.metric if m.label == "Instances en retard")


def _instance_row(at, code):
    table = next(df for df in at.dataframe if "Code" in df.value.columns and "Situation" in df.value.columns).value
    return table[table["Code"] == code].iloc[0]


def _open_tab(at, label):
    at.session_state["gouv_tabs"] = label  # lazy tabs: only the open one runs
    at.run()
    assert not at.exception


def _fill(at, *, instance=LATE, day=date(2026, 11, 10), statut="tenue", participants=14, habitants=2):
    _open_tab(at, "Enregistrer une réunion")
    at.selectbox(key="gouv_instance").set_value(instance)
    at.date_input(key="gouv_date").set_value(day)
    at.selectbox(key="gouv_statut").set_value(statut)
    at.number_input(key="gouv_participants").set_value(participants)
    at.number_input(key="gouv_habitants").set_value(habitants)
    at.text_input(key="gouv_objet").set_value("Instruction des demandes")


def test_page_renders_and_flags_the_late_instance(app_env):
    at = run_app("gouvernance", query={"contrat": CONTRAT})
    assert not at.exception
    assert LATE_LABEL in _late_warning(at)
    assert _instance_row(at, LATE)["Situation"].startswith("en retard de")
    late = _late_instances(app_env)
    assert late >= 2  # the flagged COTECH and at least another one
    assert _late_count(at) == str(late)
    labels = [m.label for m in at.metric]
    assert "Instances en retard" in labels
    _open_tab(at, "Calendrier")
    assert len(at.get("vega_lite_chart")) == 2
    _open_tab(at, "Participation des habitants")
    assert len(at.get("vega_lite_chart")) == 2
    _open_tab(at, "Décisions")
    decisions = at.dataframe[0].value
    assert decisions["Retard"].iloc[0].startswith("en retard de")
    _open_tab(at, "Obligations annuelles")
    assert at.dataframe[0].value["Année"].tolist() == ["2024", "2025", "2026"]


def test_all_contracts_view_renders(app_env):
    at = run_app("gouvernance")
    assert not at.exception
    assert "Tous les contrats" in " ".join(c.value for c in at.caption)
    assert LATE_LABEL in _late_warning(at)


def test_recording_a_held_meeting_removes_the_flag_everywhere(app_env):
    # the overview first: its alerts and the Gouvernance page share the cadence computed for this
    # data version (`memo.per_version`), which the write must not leave behind
    at = run_app("vue_ensemble", query={"contrat": CONTRAT})
    assert LATE_LABEL in _late_warning(at)
    at.switch_page("pages/gouvernance.py")
    at.run()
    before = _counts(app_env)
    late = _late_instances(app_env)
    assert late >= 2
    _fill(at)
    at.text_input(key="gouv_dec1_libelle").set_value("Relancer les porteurs sans bilan")
    at.text_input(key="gouv_dec1_responsable").set_value("Chef de projet")
    at.date_input(key="gouv_dec1_echeance").set_value(date(2027, 1, 31))
    at.button(key="gouv_submit").click()
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("enregistrée" in s.value for s in at.success)
    after = _counts(app_env)
    assert after["reunion"] == before["reunion"] + 1 and after["decision"] == before["decision"] + 1
    assert int(after["version"]) == int(before["version"]) + 1
    assert _late_count(at) == str(late - 1)
    assert LATE_LABEL not in _late_warning(at) and f"{fmt.plural(late - 1, 'instance')} en retard" in _late_warning(at)
    assert _instance_row(at, LATE)["Situation"] == "à jour"
    # the overview's alert forgets it too (the store version bump invalidated the caches)
    at.switch_page("pages/vue_ensemble.py")
    at.run()
    assert not at.exception
    alerts = _late_warning(at)
    assert "Gouvernance" in alerts and LATE_LABEL not in alerts


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"day": date(2031, 3, 1)}, "hors de la période du contrat"),
        ({"participants": -4, "habitants": None}, "ne peut pas être négatif"),
        ({"participants": 3, "habitants": 5}, "dépasse le nombre de participants"),
    ],
)
def test_invalid_input_shows_french_error_and_writes_nothing(app_env, fields, message):
    at = run_app("gouvernance", query={"contrat": CONTRAT})
    before = _counts(app_env)
    _fill(at, **fields)
    at.button(key="gouv_submit").click()
    at.run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "rien n'a été modifié" in errors and message in errors
    assert _counts(app_env) == before
    assert _late_count(at) == str(_late_instances(app_env))
