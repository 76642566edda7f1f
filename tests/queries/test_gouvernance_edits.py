"""Recording a meeting and its decisions: validation in French, one transaction, nothing written on error."""

from __future__ import annotations

from datetime import date

import pytest

from cdv_core import store
from cdv_core.access import local_user
from cdv_core.edits import gouvernance as edits
from tests.conftest import insert, minimal_contract

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

TODAY = date(2026, 11, 15)
TABLES = ("reunion", "decision", "decision_action")


@pytest.fixture
def con(empty_store):
    minimal_contract(empty_store, "CV-T")
    insert(
        empty_store,
        "action",
        [
            {
                "code_action": "A-1",
                "code_contrat": "CV-T",
                "id_porteur": "P-CV-T",
                "libelle": "Action",
                "thematique": "1.1",
                "mode_financement": "AAP",
                "annee_debut": 2025,
                "annee_fin": 2025,
                "statut": "en cours",
            }
        ],
    )
    insert(
        empty_store,
        "instance",
        [
            {
                "code_instance": "I-T",
                "code_contrat": "CV-T",
                "type_instance": "COTECH",
                "libelle": "COTECH",
                "cadence_mois": 4,
                "date_creation": date(2024, 1, 1),
            }
        ],
    )
    insert(
        empty_store,
        "reunion",
        [{"id_reunion": "R-I-T-007", "code_instance": "I-T", "date_reunion": date(2024, 5, 1), "statut": "tenue"}],
    )
    return empty_store


def _counts(con):
    cur = con.cursor()
    return {t: store.scalar(cur, "SELECT count(*) FROM " + t) for t in TABLES} | {"version": store.store_version(cur)}


def _draft(**changes):
    base = dict(
        code_instance="I-T",
        date_reunion=date(2026, 10, 1),
        statut="tenue",
        nb_participants=12,
        nb_habitants=3,
        objet="Instruction",
        lien_compte_rendu="https://exemple.fr/cr.pdf",
    )
    return edits.MeetingDraft(**(base | changes))


def test_record_meeting_with_decisions(con):
    before = _counts(con)
    draft = _draft(
        decisions=(
            edits.DecisionDraft("Relancer les porteurs", "Chef de projet", date(2026, 12, 1), "à faire", ("A-1",)),
            edits.DecisionDraft("Préparer le COPIL", None, None, "en cours"),
        )
    )
    id_reunion = edits.record_meeting(con, draft, today=TODAY, user=LOCAL)
    assert id_reunion == "R-I-T-008"  # one more than the instance's highest number
    after = _counts(con)
    assert after == {
        "reunion": before["reunion"] + 1,
        "decision": 2,
        "decision_action": 1,
        "version": before["version"] + 1,
    }
    rows = con.execute(
        "SELECT id_reunion, statut, nb_participants, nb_habitants, lien_compte_rendu FROM reunion "
        "WHERE id_reunion = 'R-I-T-008'"
    ).fetchall()
    assert rows == [("R-I-T-008", "tenue", 12, 3, "https://exemple.fr/cr.pdf")]
    assert con.execute("SELECT id_decision, statut FROM decision ORDER BY 1").fetchall() == [
        ("D-I-T-008-1", "à faire"),
        ("D-I-T-008-2", "en cours"),
    ]
    assert con.execute("SELECT * FROM decision_action").fetchall() == [("D-I-T-008-1", "A-1")]
    # the log of writes names the tables (not '*'), so imports of other tables can still be rolled back
    assert con.execute(
        "SELECT nom_table FROM journal_ecriture WHERE version_store = $v ORDER BY 1", {"v": after["version"]}
    ).fetchall() == [("decision",), ("decision_action",), ("reunion",)]
    assert edits.record_meeting(con, _draft(), today=TODAY, user=LOCAL) == "R-I-T-009"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"date_reunion": date(2031, 1, 15)}, "hors de la période du contrat"),
        ({"date_reunion": date(2023, 12, 31)}, "hors de la période du contrat"),
        ({"nb_participants": -3, "nb_habitants": None}, "ne peut pas être négatif"),
        ({"nb_habitants": -1}, "ne peut pas être négatif"),
        ({"nb_participants": 3, "nb_habitants": 5}, "dépasse le nombre de participants"),
        ({"code_instance": "I-NOPE"}, "Instance « I-NOPE » inconnue"),
        ({"date_reunion": date(2026, 12, 1)}, "ne peut pas être datée dans le futur"),
        ({"date_reunion": None}, "date de la réunion est obligatoire"),
        ({"statut": "annulée"}, "que pour une réunion « tenue »"),
        ({"lien_compte_rendu": "pas un lien"}, "adresse web"),
        ({"decisions": (edits.DecisionDraft("", "X"),)}, "Décision 1 : le libellé est obligatoire"),
        (
            {"decisions": (edits.DecisionDraft("Ok", actions=("A-404",)),)},
            "action(s) inconnue(s) dans ce contrat : A-404",
        ),
        ({"decisions": (edits.DecisionDraft("Ok", date_echeance=date(2026, 1, 1)),)}, "précède la réunion"),
    ],
)
def test_invalid_input_gives_french_errors_and_writes_nothing(con, changes, expected):
    before = _counts(con)
    with pytest.raises(store.IntegrityError) as refused:  # raised, never returned: no meeting id
        edits.record_meeting(con, _draft(**changes), today=TODAY, user=LOCAL)
    assert any(expected in e for e in refused.value.problems), refused.value.problems
    assert _counts(con) == before


def test_all_errors_reported_at_once(con):
    errors = edits.validate_meeting(
        con.cursor(), _draft(date_reunion=date(2031, 1, 1), nb_participants=-2, nb_habitants=4), today=TODAY
    )
    assert len(errors) >= 2


def test_planned_meeting_in_the_future_is_accepted(con):
    edits.record_meeting(
        con,
        _draft(date_reunion=date(2027, 2, 1), statut="prévue", nb_participants=None, nb_habitants=None),
        today=TODAY,
        user=LOCAL,
    )  # raises on any refusal


def test_transaction_integrity_rule_is_the_backstop(con, monkeypatch):
    """Even when validation misses it, the store's integrity rule refuses a date outside the contract."""
    monkeypatch.setattr(edits, "validate_meeting", lambda *a, **k: [])
    before = _counts(con)
    with pytest.raises(store.IntegrityError) as refused:
        edits.record_meeting(
            con,
            _draft(date_reunion=date(2032, 1, 1), statut="prévue", nb_participants=None, nb_habitants=None),
            today=TODAY,
            user=LOCAL,
        )
    assert any("hors de la période du contrat" in e for e in refused.value.problems)
    assert _counts(con) == before


def test_parse_action_codes():
    assert edits.parse_action_codes(" A-1, A-2;A-3  A-1 ") == ("A-1", "A-2", "A-3")
    assert edits.parse_action_codes(None) == ()


def test_record_completes_a_planned_meeting_in_place(con):
    insert(
        con,
        "reunion",
        [
            {
                "id_reunion": "R-I-T-008",
                "code_instance": "I-T",
                "date_reunion": date(2026, 11, 3),
                "statut": "prévue",
                "objet": "COTECH de novembre",
            }
        ],
    )
    before = _counts(con)
    id_reunion = edits.record_meeting(
        con,
        _draft(date_reunion=date(2026, 11, 5), objet="", decisions=(edits.DecisionDraft("Décider"),)),
        today=TODAY,
        replaces="R-I-T-008",
        user=LOCAL,
    )
    assert id_reunion == "R-I-T-008"
    assert _counts(con)["reunion"] == before["reunion"]  # updated, not added
    assert con.execute(
        "SELECT date_reunion, statut, nb_participants, objet FROM reunion WHERE id_reunion = 'R-I-T-008'"
    ).fetchall() == [(date(2026, 11, 5), "tenue", 12, "COTECH de novembre")]
    assert con.execute("SELECT id_decision FROM decision").fetchall() == [("D-I-T-008-1",)]
    with pytest.raises(store.IntegrityError) as again:  # now held: refused
        edits.record_meeting(con, _draft(), today=TODAY, replaces="R-I-T-008", user=LOCAL)
    assert "déjà « tenue »" in again.value.problems[0]
    with pytest.raises(store.IntegrityError) as other:
        edits.record_meeting(con, _draft(), today=TODAY, replaces="R-NOPE", user=LOCAL)
    assert "introuvable" in other.value.problems[0]


def test_a_seance_draft_is_kept_without_a_version_bump_and_goes_with_the_recording(con):
    from cdv_core.access import User
    from cdv_core.edits import seance as seance_edits

    before = _counts(con)
    cur = con.cursor()
    seance_edits.save_draft(con, user=LOCAL, code_contrat="CV-T", contenu='{"index": 1}')
    seance_edits.save_draft(con, user=LOCAL, code_contrat="CV-T", contenu='{"index": 2}')  # replaces
    other = User(email="cdp@exemple.fr", role="chef_de_projet", contrats=("CV-T",))
    seance_edits.save_draft(con, user=other, code_contrat="CV-T", contenu='{"index": 5}')
    assert seance_edits.drafts(cur, user=LOCAL) == {"CV-T": '{"index": 2}'}
    assert seance_edits.drafts(cur, user=other) == {"CV-T": '{"index": 5}'}  # each person their own
    outside = User(email="cdp@exemple.fr", role="chef_de_projet", contrats=("CV-AUTRE",))
    assert seance_edits.drafts(cur, user=outside) == {}  # a contract no longer in scope is not offered
    assert _counts(con) == before  # bookkeeping: no figure changed, the caches stay valid
    assert edits.record_meeting(con, _draft(), today=TODAY, user=LOCAL, closes_draft="CV-T") == "R-I-T-008"
    assert seance_edits.drafts(cur, user=LOCAL) == {}  # recorded: gone in the same transaction
    assert seance_edits.drafts(cur, user=other) == {"CV-T": '{"index": 5}'}
    seance_edits.drop_draft(con, user=other, code_contrat="CV-T")
    assert seance_edits.drafts(cur, user=other) == {}
    cur.close()
