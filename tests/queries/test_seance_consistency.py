"""Closing a séance writes the meeting, its decisions and the remembered agenda in ONE
transaction: a failure saves nothing, keeps the séance open and says so in French; a retry
records the meeting once."""

from __future__ import annotations

from datetime import date

import pytest

from cdv_core import store
from cdv_core.access import local_user
from cdv_core.edits import gouvernance as edits
from cdv_core.edits import seance as seance_edits
from tests.conftest import insert, minimal_contract, run_app

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

CONTRAT = "CV-DEMO-VERM"


@pytest.fixture
def con(empty_store):
    minimal_contract(empty_store, "CV-T")
    insert(
        empty_store,
        "instance",
        [
            {
                "code_instance": "I1",
                "code_contrat": "CV-T",
                "type_instance": "COPIL",
                "libelle": "COPIL",
                "cadence_mois": 12,
                "date_creation": date(2024, 1, 1),
            }
        ],
    )
    return empty_store


def _draft():
    return edits.MeetingDraft(
        code_instance="I1",
        date_reunion=date(2025, 3, 1),
        statut="tenue",
        nb_participants=10,
        decisions=(edits.DecisionDraft(libelle="Relancer les porteurs"),),
    )


def _count(con, table):
    return con.execute("SELECT count(*) FROM " + table).fetchall()[0][0]


def test_meeting_and_agenda_are_saved_together(con):
    entry = seance_edits.agenda_entry(code_instance="I1", keys=("gouvernance", "vue_ensemble"), code_qp=None)
    edits.record_meeting(con, _draft(), today=date(2025, 3, 2), meta=(entry,), user=LOCAL)  # raises on a refusal
    assert (_count(con, "reunion"), _count(con, "decision")) == (1, 1)
    assert seance_edits.last_agenda(con.cursor(), code_instance="I1") == (("gouvernance", "vue_ensemble"), None)


def test_a_failing_agenda_write_saves_nothing(con, monkeypatch):
    version = store.meta(con.cursor(), "store_version")

    def broken(cur, key, value):
        raise store.StoreError("disque plein")

    monkeypatch.setattr(store, "set_meta", broken)
    entry = seance_edits.agenda_entry(code_instance="I1", keys=("gouvernance",), code_qp=None)
    with pytest.raises(store.StoreError) as failed:
        edits.record_meeting(con, _draft(), today=date(2025, 3, 2), meta=(entry,), user=LOCAL)
    assert failed.value.problems == ["La réunion n'a pas été enregistrée, rien n'a été modifié : disque plein"]
    assert (_count(con, "reunion"), _count(con, "decision")) == (0, 0)
    assert store.meta(con.cursor(), "store_version") == version


def _held(path) -> int:
    c = store.connect(path)  # on a file, same process: the app's database instance
    try:
        return c.execute(
            "SELECT count(*) FROM reunion WHERE objet = 'Séance conduite avec le tableau de bord'"
        ).fetchall()[0][0]
    finally:
        c.close()


def test_page_failure_keeps_the_seance_and_a_retry_records_once(app_env, monkeypatch):
    at = run_app("seance")
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    at.button(key="seance_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    before = _held(app_env)
    real = store.set_meta

    def broken(cur, key, value):
        if key.startswith("agenda:"):
            raise store.StoreError("disque plein")
        real(cur, key, value)

    monkeypatch.setattr(store, "set_meta", broken)
    at.button(key="seance_close").click().run()
    assert not at.exception, [e.value for e in at.exception]  # before: a crash after the meeting was saved
    assert any("rien n'a été modifié" in e.value for e in at.error)
    assert _held(app_env) == before  # nothing saved
    assert at.session_state["seance_state"] is not None  # the séance is still open
    monkeypatch.setattr(store, "set_meta", real)
    at.button(key="seance_close").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Séance enregistrée" in s.value for s in at.success)
    assert _held(app_env) == before + 1  # recorded once
