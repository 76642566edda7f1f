"""One error shape for writes, and the server's log (issue #21).

- Every write function of `cdv_core/edits` raises a `store.StoreError` subclass on invalid input
  (never returns its problems), and writes nothing.
- The log (standard `logging`, logger « cdv_core »): every committed write at INFO (who, what,
  which contracts, which tables, how long), every refused write at WARNING with its French reason,
  once; a slow query at WARNING over `CDV_SLOW_QUERY_SECONDS`; a person is named by identifier only.
"""

from __future__ import annotations

import logging
from datetime import date

import pytest

from cdv_core import access, settings, store, store_ops
from cdv_core.access import ADMIN, User, local_user
from cdv_core.edits import acteurs, bilans, gouvernance, jalons, rapport, rapport_textes, sources
from tests.conftest import minimal_contract
from tests.core.test_acces_securite import NO_USER, _audited_writes

LOCAL = local_user("test du journal")  # CDV_AUTH=aucune: every right, so only the input can be refused
ADMIN_USER = User(email="alice.martin@cdv.test", nom="Alice Martin", role=ADMIN)
READER = User(email="lecteur@cdv.test", nom="Bernard Lecteur", role="lecteur", contrats=("CV-T",))
TODAY = date(2026, 11, 15)

# --- one error shape: every write function of cdv_core/edits, called with invalid input ----------
# Keyed by the function that opens the write's audited transaction, as test_acces_securite's
# `test_every_write_function_is_covered` names them (the same AST scan).
INVALID = {
    "cdv_core.edits.gouvernance._write_meeting": lambda con: gouvernance.record_meeting(
        con,
        gouvernance.MeetingDraft(code_instance="I-NOPE", date_reunion=None, statut="tenue"),
        user=LOCAL,
        today=TODAY,
    ),
    "cdv_core.edits.jalons.add_milestone": lambda con: jalons.add_milestone(
        con, user=LOCAL, code_contrat="CV-NOPE", type_jalon="inconnu", libelle="", date_prevue=None, today=TODAY
    ),
    "cdv_core.edits.jalons.mark_done": lambda con: jalons.mark_done(
        con, user=LOCAL, id_jalon="J-NOPE", date_realisation=None, today=TODAY
    ),
    "cdv_core.edits.jalons.freeze_baseline": lambda con: jalons.freeze_baseline(
        con, user=LOCAL, code_contrat="CV-NOPE"
    ),
    "cdv_core.edits.sources.set_source_rule": lambda con: sources.set_source_rule(
        con, user=LOCAL, source="", rythme_mois=0, delai_publication_mois=None
    ),
    "cdv_core.edits.sources.reset_source_rule": lambda con: sources.reset_source_rule(con, user=LOCAL, source=" "),
    "cdv_core.edits.rapport.set_envoi": lambda con: rapport.set_envoi(
        con, user=LOCAL, code_contrat=None, annee=None, date_envoi=None, today=TODAY
    ),
    "cdv_core.edits.rapport.add_contribution": lambda con: rapport.add_contribution(
        con, user=LOCAL, code_contrat=None, annee=None, conseil="", date_reception=None, texte="", today=TODAY
    ),
    "cdv_core.edits.rapport.remove_contribution": lambda con: rapport.remove_contribution(
        con, user=LOCAL, code_contrat="CV-T", annee=2025, conseil=None, date_reception=None
    ),
    "cdv_core.edits.rapport.add_vote": lambda con: rapport.add_vote(
        con,
        user=LOCAL,
        code_contrat=None,
        annee=None,
        assemblee="conseil",
        code_collectivite="",
        date_vote=None,
        today=TODAY,
    ),
    "cdv_core.edits.rapport.remove_vote": lambda con: rapport.remove_vote(
        con, user=LOCAL, code_contrat="CV-T", annee=2025, assemblee="EPCI", code_collectivite=None
    ),
    "cdv_core.edits.rapport.set_publication": lambda con: rapport.set_publication(
        con,
        user=LOCAL,
        code_contrat=None,
        annee=None,
        date_publication=date(2026, 1, 1),
        lien_publication=None,
        today=TODAY,
    ),
    "cdv_core.edits.rapport_textes.save_texts": lambda con: rapport_textes.save_texts(
        con, user=LOCAL, code_contrat="CV-NOPE", annee=2025
    ),
    "cdv_core.edits.bilans.record_bilan": lambda con: bilans.record_bilan(
        con, user=LOCAL, code_action=None, annee=None, date_reception=None, statut=None, today=TODAY
    ),
    "cdv_core.edits.bilans.delete_bilan": lambda con: bilans.delete_bilan(
        con, user=LOCAL, code_action="A-NOPE", annee=2025
    ),
    "cdv_core.edits.bilans.set_porteur_contact": lambda con: bilans.set_porteur_contact(
        con, user=LOCAL, id_porteur="P-NOPE", contact_nom=None, contact_email=None, contact_telephone=None
    ),
    "cdv_core.edits.acteurs.attach_contract": lambda con: acteurs.attach_contract(
        con, user=LOCAL, code_cv_2015="", code_contrat="CV-T"
    ),
}


@pytest.fixture
def con(empty_store):
    minimal_contract(empty_store, "CV-T")
    return empty_store


def test_every_write_function_of_edits_has_an_invalid_call():
    """A new write function of cdv_core/edits fails here until INVALID calls it."""
    edits_writes = {w for w in _audited_writes() if w.startswith("cdv_core.edits.")} - NO_USER
    assert edits_writes == set(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_every_write_function_of_edits_raises_its_problems(con, name):
    before = store_ops.digest(con.cursor())
    with pytest.raises(store.StoreError) as refused:  # a return, of problems or anything else, fails here
        INVALID[name](con)
    assert isinstance(refused.value, store.IntegrityError), refused.value
    problems = refused.value.problems
    assert problems and all(isinstance(p, str) and p for p in problems), problems
    assert str(refused.value).startswith(store.REFUSED)
    assert store_ops.digest(con.cursor()) == before  # nothing written


def test_the_hierarchy_of_refusals():
    """A refusal the person can act on is a WriteRefused (logged at WARNING); a failure of the
    server is not. Every one is a StoreError, whose `problems` the app shows."""
    from cdv_core import ingest

    for refusal in (store.IntegrityError, access.AccessDenied, ingest.ImportRefused):
        assert issubclass(refusal, store.WriteRefused) and issubclass(refusal, store.StoreError)
    for failure in (store.WriteFailed, store.WriteConflict, store.StoreLocked):
        assert issubclass(failure, store.StoreError) and not issubclass(failure, store.WriteRefused)
    assert store.StoreError("Base introuvable.").problems == ["Base introuvable."]
    several = store.IntegrityError(["a", "b"])
    assert several.problems == ["a", "b"] and str(several) == f"{store.REFUSED} : a ; b"


def test_the_app_shows_several_problems_one_per_line():
    from cdv_core import fmt
    from cdv_core.ui import context

    assert context.refusal_text(store.IntegrityError(["la date est obligatoire"])) == fmt.md(
        "Écriture refusée, rien n'a été modifié : la date est obligatoire"
    )  # Markdown: a value may hold « * »
    assert context.refusal_text(store.IntegrityError(["la date est obligatoire", "contrat « X_1 » inconnu"])) == (
        fmt.md("Écriture refusée, rien n'a été modifié :")
        + "\n\n- la date est obligatoire\n- "
        + fmt.md("contrat « X_1 » inconnu")
    )


# --- the log --------------------------------------------------------------------------------------


def _records(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("cdv_core") and r.levelno == level]


def test_a_write_logs_who_what_where_and_how_long_at_info(con, caplog):
    access.add_user(con, user=LOCAL, email=ADMIN_USER.email, role=ADMIN, nom=ADMIN_USER.nom)
    caplog.set_level(logging.INFO, logger="cdv_core")
    new_id = jalons.add_milestone(
        con,
        user=ADMIN_USER,
        code_contrat="CV-T",
        type_jalon="autre",
        libelle="Comité de suivi",
        date_prevue=date(2027, 3, 1),
        today=TODAY,
    )
    [record] = _records(caplog, logging.INFO)
    message = record.getMessage()
    assert message.startswith(
        "Write committed: Jalon ajouté by alice.martin@cdv.test, contracts CV-T, tables jalon, "
        f"store version {store.store_version(con.cursor())}, "
    ), message
    assert message.endswith(" s")
    assert "Alice Martin" not in caplog.text and "Comité de suivi" not in caplog.text  # identifier only, no input
    assert new_id.startswith("J-CV-T-")


def test_an_access_refusal_logs_a_warning_with_its_reason_once(con, caplog):
    access.add_user(con, user=LOCAL, email=READER.email, role="lecteur", contrats=["CV-T"])
    caplog.set_level(logging.INFO, logger="cdv_core")
    with pytest.raises(access.AccessDenied) as refused:
        jalons.add_milestone(
            con,
            user=READER,
            code_contrat="CV-T",
            type_jalon="autre",
            libelle="Essai",
            date_prevue=date(2027, 3, 1),
            today=TODAY,
        )
    assert not _records(caplog, logging.INFO)  # nothing committed
    [record] = _records(caplog, logging.WARNING)
    assert record.getMessage() == (
        "Write refused (AccessDenied): Jalon ajouté by lecteur@cdv.test, contracts CV-T: "
        "Écriture refusée : le rôle « Lecteur » ne permet pas de modifier ces données. Rien n'a été modifié."
    )
    assert refused.value.logged
    store.log_refusal(refused.value, auteur=READER.label, what="again")  # e.g. ui.write, after the transaction
    assert len(_records(caplog, logging.WARNING)) == 1
    assert "Bernard Lecteur" not in caplog.text


def test_an_integrity_refusal_logs_a_warning_with_every_problem(con, caplog):
    caplog.set_level(logging.INFO, logger="cdv_core")
    with pytest.raises(store.IntegrityError):
        jalons.mark_done(con, user=LOCAL, id_jalon="J-NOPE", date_realisation=None, today=TODAY)
    [record] = _records(caplog, logging.WARNING)
    assert record.getMessage() == (
        "Write refused (IntegrityError): Jalon marqué réalisé by test du journal, contracts -: "
        "jalon « J-NOPE » introuvable | la date de réalisation est obligatoire"
    )  # every problem, not the first five


def test_a_refused_rollback_logs_a_warning_with_its_reason(con, caplog):
    from cdv_core import ingest

    caplog.set_level(logging.INFO, logger="cdv_core")
    with pytest.raises(store.WriteRefused, match="introuvable"):
        ingest.rollback(con, 987, user=LOCAL)
    assert not _records(caplog, logging.INFO)  # nothing committed
    [record] = _records(caplog, logging.WARNING)
    assert record.getMessage() == (
        "Write refused (WriteRefused): Import n° 987 annulé by test du journal, contracts -: "
        "L'import n° 987 est introuvable."
    )


def _context(tmp_path, user=LOCAL):
    from cdv_core.ui import context

    return context.Context(
        str(tmp_path / "journal.duckdb"), 1, None, "Tous les contrats", TODAY, None, settings.load(), user
    )


def test_a_refusal_before_any_transaction_is_logged_by_the_app(con, tmp_path, monkeypatch, caplog):
    """ui.write logs what no transaction saw (a file with errors, a draft refused up front)."""
    from cdv_core.ui import context

    def refuse_up_front(con, *, user):
        raise store.IntegrityError(["le fichier contient 2 erreurs"])

    monkeypatch.setattr(context, "connection", lambda path: con)
    caplog.set_level(logging.INFO, logger="cdv_core")
    assert context.write(_context(tmp_path), refuse_up_front, success="jamais") is None
    [record] = _records(caplog, logging.WARNING)
    assert record.getMessage() == (
        "Write refused (IntegrityError): tests.core.test_journal."
        "test_a_refusal_before_any_transaction_is_logged_by_the_app"
        ".<locals>.refuse_up_front by test du journal, contracts -: le fichier contient 2 erreurs"
    )


def _answer(cur, *, n: int):
    return cur.execute("SELECT $n::INTEGER * 2", {"n": n}).fetchall()[0][0]


def test_a_slow_query_logs_a_warning_over_the_setting(con, tmp_path, monkeypatch, caplog):
    from cdv_core.ui import context

    monkeypatch.setattr(context, "connection", lambda path: con)
    caplog.set_level(logging.INFO, logger="cdv_core")
    assert context.cached(_context(tmp_path / "a"), _answer, n=21) == 42  # default: 1 s, far above this query
    assert not _records(caplog, logging.WARNING)
    monkeypatch.setenv("CDV_SLOW_QUERY_SECONDS", "0")
    assert context.cached(_context(tmp_path / "b"), _answer, n=4) == 8
    [record] = _records(caplog, logging.WARNING)
    assert record.getMessage().startswith("Slow query: tests.core.test_journal._answer(n=4) took ")
    assert record.getMessage().endswith(" s (threshold 0.0 s)")
    context.cached(_context(tmp_path / "b"), _answer, n=4)  # a cache hit runs no query: nothing to time
    assert len(_records(caplog, logging.WARNING)) == 1


@pytest.mark.parametrize("text, seconds", [("1", 1.0), ("0", 0.0), ("0,5", 0.5), ("2.5", 2.5)])
def test_the_slow_query_setting(monkeypatch, text, seconds):
    monkeypatch.setenv("CDV_SLOW_QUERY_SECONDS", text)
    assert settings.load().slow_query_seconds == seconds


@pytest.mark.parametrize("text", ["-1", "une seconde", "nan", "99999"])
def test_an_unusable_slow_query_setting_is_said_in_french(monkeypatch, text):
    monkeypatch.setenv("CDV_SLOW_QUERY_SECONDS", text)
    with pytest.raises(settings.SettingError, match="CDV_SLOW_QUERY_SECONDS"):
        settings.load()


def test_logging_is_configured_once_and_never_over_the_hosts(monkeypatch):
    logger, root = logging.getLogger("cdv_core"), logging.getLogger()
    level = logger.level
    store.configure_logging()  # pytest's handlers are on the root logger: the host's setup stays
    assert not logger.handlers
    monkeypatch.setattr(root, "handlers", [])
    try:
        store.configure_logging()
        store.configure_logging()
        [handler] = logger.handlers
        assert isinstance(handler, logging.StreamHandler) and handler.formatter._fmt == store.LOG_FORMAT
        assert logger.level == logging.INFO
    finally:
        logger.handlers.clear()
        logger.setLevel(level)


def test_a_person_is_named_by_identifier_only():
    assert store.log_identifier("Alice Martin <alice.martin@cdv.test>") == "alice.martin@cdv.test"
    assert store.log_identifier("alice.martin@cdv.test") == "alice.martin@cdv.test"
    assert store.log_identifier("jdupont (ligne de commande)") == "jdupont (ligne de commande)"
    assert store.log_identifier(None) == "?"


def test_a_login_without_access_is_logged_with_the_identifier_only(con, monkeypatch, caplog):
    from cdv_core.ui import identity

    class Stopped(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stopped

    monkeypatch.setattr(identity, "_stop_page", stop)
    caplog.set_level(logging.INFO, logger="cdv_core")
    with pytest.raises(Stopped):
        identity._no_access(settings.load(), "inconnu@ville.fr", con.cursor)
    [record] = _records(caplog, logging.WARNING)
    assert record.getMessage() == "Access refused: inconnu@ville.fr has no active account with a contract"
