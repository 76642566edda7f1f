"""What a form lets into the store: no spreadsheet formula (`=`, `+`, `-`, `@`, tab, carriage
return at the start, except a plain signed number) — refused in French, nothing written — and no
control character (ESC, BEL, NUL…) — removed, stored clean, with a French warning that reaches the
page after the write. Every write function of the core that stores typed text."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cdv_core import access, fmt, seance, settings, store, store_ops, validation
from cdv_core.__main__ import main
from cdv_core.access import local_user
from cdv_core.domain import texte
from cdv_core.edits import gouvernance, jalons
from tests.conftest import DEMO_AU, run_app

LOCAL = local_user("test")
CONTRAT = "CV-DEMO-VERM"
HYPERLINK = '=HYPERLINK("http://x","clic")'
FORMULAS = (HYPERLINK, "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "-1+1", "\t=1+1", " =2")
NUMBERS = ("-12,5", "+3", "-1 234,50 €")
DIRTY, CLEAN = "Réunion\x1b[31m publique\x07 du quartier\x00", "Réunion[31m publique du quartier"


def _formula_message(label: str) -> str:
    return f"{label} : {texte.FORMULA_PROBLEM.lower()}"


def _control_warning(label: str) -> str:
    return f"{label} : {texte.CONTROL_PROBLEM.lower()}."


@pytest.fixture
def con(demo_store):
    con = store.connect(demo_store)
    yield con
    con.close()


def _digest(con) -> dict:
    return store_ops.digest(con.cursor())


# --- meetings (Gouvernance, Séance) ------------------------------------------------------------


def _instance(con) -> str:
    return store.scalar(con.cursor(), "SELECT min(code_instance) FROM instance WHERE code_contrat = $c", {"c": CONTRAT})


def _draft(con, **changes) -> gouvernance.MeetingDraft:
    base = dict(
        code_instance=_instance(con),
        date_reunion=date(2026, 10, 1),
        statut="tenue",
        nb_participants=12,
        nb_habitants=3,
        objet="Instruction",
        lien_compte_rendu="https://exemple.fr/cr.pdf",
    )
    return gouvernance.MeetingDraft(**(base | changes))


@pytest.mark.parametrize("text", FORMULAS)
@pytest.mark.parametrize("field", ["objet", "libellé", "responsable"])
def test_a_formula_in_a_meeting_is_refused_and_nothing_is_written(con, field, text):
    before = _digest(con)
    if field == "objet":
        draft, label = _draft(con, objet=text), "Objet"
    else:
        decision = gouvernance.DecisionDraft(
            text if field == "libellé" else "Relancer", text if field == "responsable" else None
        )
        draft, label = _draft(con, decisions=(decision,)), f"Décision 1, {field}"
    with pytest.raises(store.IntegrityError) as refused:
        gouvernance.record_meeting(con, draft, today=DEMO_AU, user=LOCAL)
    problems = refused.value.problems
    assert any(e.startswith(_formula_message(label)) for e in problems), problems
    assert any("Retirez le premier caractère" in e for e in problems)
    assert _digest(con) == before


def test_plain_signed_numbers_are_accepted_in_a_meeting(con):
    decisions = tuple(gouvernance.DecisionDraft(n, n) for n in NUMBERS)
    id_reunion = gouvernance.record_meeting(
        con, _draft(con, objet="-12,5", decisions=decisions), today=DEMO_AU, user=LOCAL
    )  # raises on a refusal
    stored = con.execute(
        "SELECT libelle, responsable FROM decision WHERE id_reunion = $r ORDER BY id_decision", {"r": id_reunion}
    ).fetchall()
    assert sorted(stored) == sorted((n, n) for n in NUMBERS)


def test_control_characters_in_a_meeting_are_removed_with_a_warning(con):
    warnings: list[str] = []
    draft = _draft(con, objet=DIRTY, decisions=(gouvernance.DecisionDraft(DIRTY, "Chef\x1b de projet"),))
    id_reunion = gouvernance.record_meeting(con, draft, today=DEMO_AU, user=LOCAL, warnings=warnings)
    assert warnings == [
        _control_warning("Objet"),
        _control_warning("Décision 1, libellé"),
        _control_warning("Décision 1, responsable"),
    ]
    assert con.execute("SELECT objet FROM reunion WHERE id_reunion = $r", {"r": id_reunion}).fetchall() == [(CLEAN,)]
    assert con.execute(
        "SELECT libelle, responsable FROM decision WHERE id_reunion = $r", {"r": id_reunion}
    ).fetchall() == [(CLEAN, "Chef de projet")]


# --- jalons ------------------------------------------------------------------------------------


def _milestone(con, libelle, warnings=None):
    return jalons.add_milestone(
        con,
        user=LOCAL,
        code_contrat=CONTRAT,
        type_jalon="autre",
        libelle=libelle,
        date_prevue=date(2027, 3, 1),
        today=DEMO_AU,
        warnings=warnings,
    )


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_as_milestone_title_is_refused(con, text):
    before = _digest(con)
    with pytest.raises(store.IntegrityError) as refused:
        _milestone(con, text)
    assert any(p.startswith(_formula_message("libellé du jalon")) for p in refused.value.problems)
    assert str(refused.value).startswith("Écriture refusée, rien n'a été modifié : libellé du jalon : texte qui")
    assert _digest(con) == before


def test_milestone_title_numbers_accepted_control_characters_removed(con):
    assert con.execute("SELECT libelle FROM jalon WHERE id_jalon = $i", {"i": _milestone(con, "+3")}).fetchall() == [
        ("+3",)
    ]
    warnings: list[str] = []
    new = _milestone(con, DIRTY, warnings)
    assert warnings == [_control_warning("libellé du jalon")]
    assert con.execute("SELECT libelle FROM jalon WHERE id_jalon = $i", {"i": new}).fetchall() == [(CLEAN,)]


def test_a_formula_as_baseline_title_is_refused_control_characters_removed(con):
    before = _digest(con)
    now = datetime(2026, 11, 15, 10, 0)
    with pytest.raises(store.IntegrityError, match="libellé de la référence : texte qui serait exécuté"):
        jalons.freeze_baseline(
            con, user=LOCAL, code_contrat=CONTRAT, date_gel=date(2026, 6, 1), libelle=HYPERLINK, now=now
        )
    assert _digest(con) == before
    warnings: list[str] = []
    id_gel = jalons.freeze_baseline(
        con, user=LOCAL, code_contrat=CONTRAT, date_gel=date(2026, 6, 1), libelle=DIRTY, now=now, warnings=warnings
    )
    assert warnings == [_control_warning("libellé de la référence")]
    assert con.execute("SELECT libelle FROM reference_gel WHERE id_gel = $i", {"i": id_gel}).fetchall() == [(CLEAN,)]


# --- accounts ----------------------------------------------------------------------------------


def test_account_names_and_emails(con):
    before = _digest(con)
    with pytest.raises(store.IntegrityError, match="nom : texte qui serait exécuté comme une formule"):
        access.add_user(con, user=LOCAL, email="a@b.fr", role="administrateur", nom="@SUM(A1)")
    with pytest.raises(store.IntegrityError, match=r"adresse électronique .* invalide"):
        access.add_user(con, user=LOCAL, email="=cmd@b.fr", role="administrateur")
    assert _digest(con) == before
    warnings: list[str] = []
    access.add_user(con, user=LOCAL, email="a@b.fr", role="administrateur", nom="Anne\x07 Martin", warnings=warnings)
    assert warnings == [_control_warning("nom")]
    assert access.load_user(con.cursor(), "a@b.fr").label.startswith("Anne Martin")
    with pytest.raises(store.IntegrityError, match="nom : texte qui serait exécuté"):
        access.modify_user(con, user=LOCAL, email="a@b.fr", nom=HYPERLINK)
    access.modify_user(con, user=LOCAL, email="a@b.fr", nom="-12,5")  # a number is not a formula
    assert con.execute("SELECT nom FROM utilisateur WHERE email = 'a@b.fr'").fetchall() == [("-12,5",)]


def test_the_command_line_prints_the_warning(demo_store, monkeypatch, capsys):
    monkeypatch.setenv("CDV_AUTH", "aucune")
    code = main(
        [
            "utilisateurs",
            "ajouter",
            "--email",
            "c@d.fr",
            "--role",
            "administrateur",
            "--nom",
            "Cé\x1bline",
            "--store",
            str(demo_store),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"Avertissement : {_control_warning('nom')}" in out.out
    code = main(["utilisateurs", "modifier", "--email", "c@d.fr", "--nom", HYPERLINK, "--store", str(demo_store)])
    out = capsys.readouterr()
    assert code == 1 and "nom : texte qui serait exécuté comme une formule de tableur" in out.err


# --- validated figures -------------------------------------------------------------------------


def test_a_formula_as_validation_title_is_refused_control_characters_removed(con):
    cur = con.cursor()
    scope = seance.Scope(CONTRAT, DEMO_AU, settings.Settings(), None)
    sections = seance.build_agenda(cur, ("vue_ensemble",), scope)
    before = _digest(con)
    kwargs = dict(user=LOCAL, code_contrat=CONTRAT, annees=(DEMO_AU.year, DEMO_AU.year), sections=sections, scope=scope)
    with pytest.raises(store.IntegrityError, match="libellé de la validation : texte qui serait exécuté"):
        validation.validate(con, libelle="@SUM(A1)", **kwargs)
    assert _digest(con) == before
    warnings: list[str] = []
    n = validation.validate(con, libelle=DIRTY, warnings=warnings, **kwargs)
    assert warnings == [_control_warning("libellé de la validation")]
    assert con.execute("SELECT libelle FROM validation WHERE id_validation = $n", {"n": n}).fetchall() == [(CLEAN,)]


# --- the adulte-relais list (Acteurs) ---------------------------------------------------------


def test_adulte_relais_list_refuses_formulas_and_removes_control_characters(empty_store):
    import json

    import polars as pl

    from cdv_core import ingest

    def rec(id_poste, employeur):
        return {
            "id_poste": id_poste,
            "code_tiers": "77554402601284",
            "raison_sociale": employeur,
            "annee": 2023,
            "montant": 22555.73,
            "code_cv": "CV001",
            "insee_dep": "01",
            "insee_reg": "84",
        }

    cur = empty_store.cursor()
    analysis = ingest.analyse(cur, json.dumps([rec("A1", HYPERLINK), rec("@A2", "Centre social")]).encode(), "ar.json")
    assert not analysis.ok
    errors = (
        analysis.problems.filter(pl.col("gravité") == "erreur").select("ligne", "colonne", "valeur", "problème").rows()
    )
    assert (2, "id_poste", "@A2", texte.FORMULA_PROBLEM) in errors
    assert (1, "raison_sociale", HYPERLINK, texte.FORMULA_PROBLEM) in errors
    analysis = ingest.analyse(cur, json.dumps([rec("A1", "Centre\x1b social"), rec("A2", "-12,5")]).encode(), "ar.json")
    assert analysis.ok, analysis.problems
    posts = next(load for load in analysis.loads if load.table == "poste").frame
    assert posts["employeur"].to_list() == ["Centre social", "-12,5"]
    warnings = analysis.problems.filter(pl.col("gravité") == "avertissement")
    assert warnings.filter((pl.col("ligne") == 1) & (pl.col("colonne") == "raison_sociale")).height == 1


# --- the page ----------------------------------------------------------------------------------


def test_the_page_refuses_a_formula_and_shows_the_warning_after_a_write(app_env):
    at = run_app("jalons", query={"contrat": CONTRAT})
    at.text_input(key="jalons_add_libelle").set_value(HYPERLINK)
    at.date_input(key="jalons_add_prevue").set_value(date(2027, 3, 1))
    at.button(key="jalons_add_submit").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert (
        len(errors) == 1
        and fmt.md("libellé du jalon : texte qui serait exécuté comme une formule de tableur") in errors[0]
    )
    at.text_input(key="jalons_add_libelle").set_value("Rapport\x07 annuel")
    at.date_input(key="jalons_add_prevue").set_value(date(2027, 3, 1))
    at.button(key="jalons_add_submit").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any(s.value.startswith("Jalon ajouté") for s in at.success)
    assert [w.value for w in at.warning if "contrôle" in w.value] == [fmt.md(_control_warning("libellé du jalon"))]
    con = store.connect(app_env)
    assert store.scalar(con.cursor(), "SELECT count(*) FROM jalon WHERE libelle = 'Rapport annuel'") == 1
    con.close()
