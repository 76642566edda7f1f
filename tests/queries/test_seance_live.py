"""The séance as a reliable live mode: each decision checked when it is added (the rule the
closing applies), decisions corrected and removed until the closing, the draft (decisions,
attendance, position in the agenda) kept across a page change or a change of contract."""

from __future__ import annotations

from datetime import date, timedelta

from cdv_core import store
from cdv_core.edits import gouvernance as edits
from tests.conftest import run_app

CONTRAT = "CV-DEMO-VERM"
UNKNOWN = "ACT-QUI-N-EXISTE-PAS"


def _action_codes(path, contrat: str = CONTRAT, n: int = 2) -> list[str]:
    con = store.connect(path)  # on a file, same process: the app's database instance
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT code_action FROM action WHERE code_contrat = ? ORDER BY code_action LIMIT ?", [contrat, n]
            ).fetchall()
        ]
    finally:
        con.close()


def _instance(cur, contrat: str = CONTRAT) -> str:
    return cur.execute(
        "SELECT code_instance FROM instance WHERE code_contrat = ? ORDER BY code_instance LIMIT 1", [contrat]
    ).fetchall()[0][0]


# --- the core rule: one function, used when adding and when closing --------------------------


def test_check_decision_refuses_what_the_closing_would_refuse(demo_cur):
    instance = _instance(demo_cur)
    known = demo_cur.execute("SELECT code_action FROM action WHERE code_contrat = ? LIMIT 1", [CONTRAT]).fetchall()[0][
        0
    ]
    today = date(2026, 3, 1)
    ok = edits.check_decision(
        demo_cur,
        code_instance=instance,
        date_reunion=today,
        libelle="  Relancer  ",
        responsable="",
        actions=f"{known}, {known}",
    )
    assert ok.ok and ok.decision == edits.DecisionDraft(libelle="Relancer", actions=(known,))
    cases = {
        "unknown action": dict(libelle="Relancer", actions=f"{known}; {UNKNOWN}"),
        "no label": dict(libelle="   "),
        "due before the meeting": dict(libelle="Relancer", date_echeance=today - timedelta(days=1)),
        "formula": dict(libelle='=HYPERLINK("http://x")'),
    }
    for name, typed in cases.items():
        check = edits.check_decision(demo_cur, code_instance=instance, date_reunion=today, **typed)
        assert not check.ok, name
        # the closing applies the same rule to the same decision: same refusal
        draft = edits.MeetingDraft(
            code_instance=instance, date_reunion=today, statut="tenue", decisions=(check.decision,)
        )
        at_close = edits.clean_texts(draft)[1] + edits.validate_meeting(demo_cur, draft, today=today)
        assert at_close, name
    refused = edits.check_decision(
        demo_cur, code_instance=instance, date_reunion=today, libelle="Relancer", actions=UNKNOWN
    )
    assert refused.errors == [f"Décision : action(s) inconnue(s) dans ce contrat : {UNKNOWN}."]


# --- the page ---------------------------------------------------------------------------------


def _start(at):
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    at.button(key="seance_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _type(at, libelle: str, actions: str = "", responsable: str = "") -> None:
    at.text_input(key="seance_dec_libelle").set_value(libelle)
    at.text_input(key="seance_dec_resp").set_value(responsable)
    at.text_input(key="seance_dec_actions").set_value(actions)
    at.button(key="seance_dec_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]


def _decisions(at) -> list[dict]:
    return at.session_state["seance_state"]["decisions"]


def test_unknown_action_code_is_refused_at_the_field(app_env):
    at = _start(run_app("seance"))
    _type(at, "Financer la médiation", actions=UNKNOWN)
    assert any("Décision non ajoutée" in e.value and UNKNOWN in e.value for e in at.error)
    assert at.session_state["seance_state"]["dec_errors"] == [
        f"Décision : action(s) inconnue(s) dans ce contrat : {UNKNOWN}."
    ]
    assert _decisions(at) == []
    # what was typed stays in the form, to be corrected
    assert at.text_input(key="seance_dec_libelle").value == "Financer la médiation"
    assert at.text_input(key="seance_dec_actions").value == UNKNOWN


def test_an_erroneous_decision_is_corrected_then_removed(app_env):
    first, second = _action_codes(app_env)
    at = _start(run_app("seance"))
    _type(at, "Financer la médation", actions=first)
    assert not at.error and [d["libelle"] for d in _decisions(at)] == ["Financer la médation"]
    assert at.text_input(key="seance_dec_libelle").value == ""  # the form is emptied for the next one
    at.button(key="seance_dec_edit_0").click().run()
    assert at.text_input(key="seance_dec_libelle").value == "Financer la médation"  # the form holds it
    _type(at, "Financer la médiation", actions=UNKNOWN)  # a correction is checked too
    assert any("Décision non ajoutée" in e.value and UNKNOWN in e.value for e in at.error)
    assert _decisions(at)[0]["actions"] == first
    _type(at, "Financer la médiation", actions=f"{first}, {second}")
    assert not at.error
    assert _decisions(at) == [
        {
            "libelle": "Financer la médiation",
            "responsable": None,
            "date_echeance": None,
            "actions": f"{first}, {second}",
        }
    ]
    _type(at, "Installer le comité d'usagers")
    assert len(_decisions(at)) == 2
    at.button(key="seance_dec_del_0").click().run()
    assert not at.exception
    assert [d["libelle"] for d in _decisions(at)] == ["Installer le comité d'usagers"]


def test_the_draft_survives_a_page_change_and_a_contract_change_then_closes(app_env):
    code, _ = _action_codes(app_env)
    at = _start(run_app("seance"))
    _type(at, "Relancer le bailleur", actions=code, responsable="Délégué du préfet")
    at.number_input(key="seance_participants").set_value(18)
    at.number_input(key="seance_habitants").set_value(5).run()
    at.button(key="seance_next").click().run()
    at.switch_page("pages/gouvernance.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/seance.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.header[0].value.startswith("Projet de quartier")  # same position in the agenda
    assert at.number_input(key="seance_participants").value == 18
    assert at.number_input(key="seance_habitants").value == 5
    assert [d["libelle"] for d in _decisions(at)] == ["Relancer le bailleur"]
    # another contract parks the séance; choosing its contract again restores it
    con = store.connect(app_env)
    try:
        other = con.execute("SELECT min(code_contrat) FROM contrat WHERE code_contrat <> ?", [CONTRAT]).fetchall()[0][0]
    finally:
        con.close()
    at.sidebar.selectbox(key="sidebar_contrat").set_value(other).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["seance_state"] is None
    assert at.button(key="seance_start")  # a séance may be started there
    assert any("Séance en cours conservée" in c.value for c in at.caption)
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    assert any("Séance en cours reprise" in i.value for i in at.info)
    assert at.header[0].value.startswith("Projet de quartier")
    assert at.number_input(key="seance_participants").value == 18
    assert [d["libelle"] for d in _decisions(at)] == ["Relancer le bailleur"]
    at.button(key="seance_close").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Séance enregistrée" in s.value for s in at.success)
    con = store.connect(app_env)
    try:
        rows = con.execute(
            """SELECT r.nb_participants, r.nb_habitants, d.responsable, list(a.code_action)
               FROM decision d JOIN reunion r USING (id_reunion) JOIN decision_action a USING (id_decision)
               WHERE d.libelle = 'Relancer le bailleur' GROUP BY ALL"""
        ).fetchall()
    finally:
        con.close()
    assert rows == [(18, 5, "Délégué du préfet", [code])]


# --- the draft kept in the store: a reconnection takes the séance up again --------------------


def _stored_drafts(path) -> list[tuple[str, str]]:
    con = store.connect(path)
    try:
        return con.execute("SELECT proprietaire, code_contrat FROM seance_brouillon ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_a_draft_roundtrips_with_its_frozen_sections(demo_cur):
    from cdv_core import seance
    from cdv_core.settings import Settings

    sections = seance.agenda(
        demo_cur, keys=seance.DEFAULT_AGENDA, contrat=CONTRAT, donnees_au=date(2026, 11, 15), settings=Settings()
    )
    state = {
        "contrat": CONTRAT,
        "contrat_libelle": "Contrat « test »",
        "instance": "I-1",
        "instance_libelle": "COPIL",
        "reunion": None,
        "date": date(2026, 12, 2),
        "keys": seance.DEFAULT_AGENDA,
        "code_qp": None,
        "sections": sections,
        "donnees_au": date(2026, 11, 15),
        "index": 2,
        "participants": 18,
        "habitants": None,
        "decisions": [{"libelle": "Relancer", "responsable": None, "date_echeance": date(2027, 1, 31), "actions": ""}],
        "editing": 0,
        "dec_errors": ["transient"],
    }
    back = seance.draft_from_json(seance.draft_json(state))
    assert set(back) == set(seance.DRAFT_KEYS)  # what is being typed (editing, errors) is not kept
    assert {k: back[k] for k in back if k != "sections"} == {k: state[k] for k in back if k != "sections"}
    for mine, theirs in zip(sections, back["sections"], strict=True):
        assert (theirs.key, theirs.title, theirs.figures, theirs.table_title, theirs.chart, theirs.notes) == (
            mine.key,
            mine.title,
            mine.figures,
            mine.table_title,
            mine.chart,
            mine.notes,
        )
        for a, b in ((mine.table, theirs.table), (mine.data, theirs.data)):
            assert (a is None and b is None) or a.equals(b)  # values and types, dates included


def test_a_seance_taken_up_after_a_reconnection_closes_with_its_decisions(app_env):
    code, _ = _action_codes(app_env)
    at = _start(run_app("seance"))
    _type(at, "Relancer le bailleur", actions=code)
    at.number_input(key="seance_participants").set_value(21).run()
    at.button(key="seance_next").click().run()
    assert _stored_drafts(app_env) == [(f"local:{_local_name()}", CONTRAT)]
    # a reconnection: a new session of the same person, nothing in its memory
    again = run_app("seance")
    again.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    assert not again.exception, [e.value for e in again.exception]
    assert any("Séance en cours reprise" in i.value for i in again.info)
    assert again.header[0].value.startswith("Projet de quartier")  # same section
    assert again.number_input(key="seance_participants").value == 21
    assert [d["libelle"] for d in _decisions(again)] == ["Relancer le bailleur"]
    again.button(key="seance_close").click().run()
    assert not again.exception and not again.error, [e.value for e in again.error]
    assert _stored_drafts(app_env) == []  # recorded: the draft goes in the same transaction
    con = store.connect(app_env)
    try:
        rows = con.execute("""SELECT r.nb_participants, list(a.code_action) FROM decision d JOIN reunion r
                              USING (id_reunion) JOIN decision_action a USING (id_decision)
                              WHERE d.libelle = 'Relancer le bailleur' GROUP BY ALL""").fetchall()
    finally:
        con.close()
    assert rows == [(21, [code])]
    # and the next session starts afresh
    third = run_app("seance")
    third.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    assert third.session_state["seance_state"] is None and third.button(key="seance_start")


def test_an_abandoned_seance_is_forgotten_and_nothing_recorded(app_env):
    at = _start(run_app("seance"))
    _type(at, "Décision qui ne sera pas prise")
    assert len(_stored_drafts(app_env)) == 1
    at.button(key="seance_abandon").click().run()
    assert not at.exception and not at.error
    assert any("Séance abandonnée" in s.value for s in at.success)
    assert _stored_drafts(app_env) == [] and at.session_state["seance_state"] is None
    con = store.connect(app_env)
    try:
        assert con.execute(
            "SELECT count(*) FROM decision WHERE libelle = 'Décision qui ne sera pas prise'"
        ).fetchall() == [(0,)]
    finally:
        con.close()


def _local_name() -> str:
    from cdv_core import access

    return access.local_name()


def test_moving_through_the_seance_saves_the_draft_without_recomputing_the_statuses(app_env, monkeypatch):
    """« Suivant » saves the draft (bookkeeping, no new store version): the QPV statuses, which
    take ≈ 1,3 s to recompute at national scale, are recorded only by a write that changes figures."""
    from cdv_core.edits import historique

    calls = []
    real = historique.record_statuses
    monkeypatch.setattr(historique, "record_statuses", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = _start(run_app("seance"))
    before = len(calls)
    for _ in range(2):
        at.button(key="seance_next").click().run()
        assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["seance_state"]["index"] == 2
    assert len(calls) == before  # two drafts saved, no status recomputed
    at.number_input(key="seance_participants").set_value(12).run()
    at.button(key="seance_close").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(calls) == before + 1  # the séance recorded: a write that changes figures
