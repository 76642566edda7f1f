"""Validated figures (issue #15): who validates, what is kept, which import is flagged, refused or
confirmed, and the validated value beside today's."""

from __future__ import annotations

import json

import pytest

from cdv_core import access, fmt, ingest, seance, settings, store, store_ops, validation
from tests.conftest import DEMO_AU

pytestmark = pytest.mark.both_backends

LOCAL = access.local_user("test")
CHEF, LECTEUR = "chef@ville.fr", "lecteur@ville.fr"
HEADER = "Code dossier;Libellé de l'action;Code SIRET;Raison sociale;Montant engagé;Exercice;Code contrat ville;Thème"


@pytest.fixture
def con(demo_store):
    con = store.connect(demo_store)
    yield con
    con.close()


def _users(con, contrat: str) -> tuple[access.User, access.User]:
    access.add_user(con, user=LOCAL, email=CHEF, nom="Claire Chef", role="chef_de_projet", contrats=[contrat])
    access.add_user(con, user=LOCAL, email=LECTEUR, role="lecteur", contrats=[contrat])
    cur = con.cursor()
    return access.load_user(cur, CHEF), access.load_user(cur, LECTEUR)


def _agenda(cur, contrat: str) -> tuple[seance.Scope, tuple[seance.Section, ...]]:
    scope = seance.Scope(contrat, DEMO_AU, settings.Settings(), None)
    return scope, seance.build_agenda(cur, ("vue_ensemble", "gouvernance"), scope)


def _funding_line(cur, contrat: str, year: int) -> tuple[str, float]:
    """A « État P147 » funding line of the contract and year, of an action of that year only (the
    extract rewrites the action too, and a multi-year action belongs to each of its years)."""
    return cur.execute(
        """SELECT f.code_action, f.montant_accorde FROM financement f JOIN action a USING (code_action)
           WHERE a.code_contrat = $c AND f.annee = $y AND f.financeur = 'État P147' AND f.montant_accorde > 1000
             AND a.annee_debut = $y AND a.annee_fin = $y
           ORDER BY 1 LIMIT 1""",
        {"c": contrat, "y": year},
    ).fetchall()[0]


def _programmation(cur, contrat: str, year: int, amount: str):
    """An extract that changes the amount granted of one line of `contrat` and `year`."""
    code, _ = _funding_line(cur, contrat, year)
    row = f"{code};Action test;77554402601284;Centre social;{amount};{year};{contrat};1.1"
    analysis = ingest.analyse(cur, f"{HEADER}\n{row}\n".encode(), "programmation.csv")
    assert analysis.ok, analysis.problems
    return analysis


def _contracts(cur) -> list[str]:
    return [r[0] for r in cur.execute("SELECT code_contrat FROM contrat ORDER BY 1").fetchall()]


def test_a_chef_validates_the_figures_as_shown(con):
    cur = con.cursor()
    contrat = _contracts(cur)[0]
    chef, _ = _users(con, contrat)
    scope, sections = _agenda(cur, contrat)
    n = validation.validate(
        con,
        user=chef,
        code_contrat=contrat,
        annees=(DEMO_AU.year, DEMO_AU.year),
        sections=sections,
        libelle="Séance du 12/03/2026 — COPIL",
        scope=scope,
    )
    listed = validation.validations(cur, contrat=contrat).row(0, named=True)
    assert (listed["id_validation"], listed["valide_par"], listed["periode"]) == (n, chef.label, str(DEMO_AU.year))
    kept = cur.execute(
        "SELECT section, libelle, valeur, note FROM validation_chiffre WHERE id_validation = $n ORDER BY ordre",
        {"n": n},
    ).fetchall()
    assert kept == [(s.key, f.label, f.value, f.note) for s in sections for f in s.figures]
    log = cur.execute("SELECT auteur, contrats, detail FROM journal_ecriture WHERE nom_table = 'validation'").fetchall()
    assert log[0][:2] == (chef.label, contrat) and json.loads(log[0][2])["id_validation"] == n
    # nothing changed since: every figure rebuilt by the séance's functions is the one shown
    now = validation.compare(cur, n, settings=settings.Settings())
    assert now["valeur_validee"].to_list() == [f.value for s in sections for f in s.figures]
    assert now["valeur_actuelle"].to_list() == now["valeur_validee"].to_list() and not now["modifie"].any()
    assert validation.changed_tables(cur, n) == []
    # another contract's reader does not see it
    assert validation.validations(cur, contrat=None, perimetre=(_contracts(cur)[1],)).is_empty()


def test_a_lecteur_cannot_validate(con):
    cur = con.cursor()
    contrat = _contracts(cur)[0]
    _, lecteur = _users(con, contrat)
    scope, sections = _agenda(cur, contrat)
    before = store_ops.digest(cur)
    with pytest.raises(access.AccessDenied, match="valider des chiffres"):
        validation.validate(
            con,
            user=lecteur,
            code_contrat=contrat,
            annees=(DEMO_AU.year, DEMO_AU.year),
            sections=sections,
            libelle="Séance",
            scope=scope,
        )
    assert store_ops.digest(cur) == before


def test_an_import_changing_a_validated_year_needs_a_chefs_confirmation(con):
    cur = con.cursor()
    contrat, year = _contracts(cur)[0], DEMO_AU.year
    chef, lecteur = _users(con, contrat)
    scope, sections = _agenda(cur, contrat)
    n = validation.validate(
        con,
        user=chef,
        code_contrat=contrat,
        annees=(year, year),
        sections=sections,
        libelle="Séance du 12/03/2026 — COPIL",
        scope=scope,
    )
    shown = validation.compare(cur, n, settings=settings.Settings())
    label = f"Montant accordé {year}"
    validated = shown.filter(shown["libelle"] == label)["valeur_validee"].item()
    code, _ = _funding_line(cur, contrat, year)
    analysis = _programmation(cur, contrat, year, "1 000,00")

    affected = validation.affected_validations(cur, analysis.loads)
    assert affected["id_validation"].to_list() == [n]
    when = fmt.day(affected["valide_le"].item())
    assert validation.describe(affected) == [
        (
            f"Cet import modifie des chiffres validés le {when} par {chef.label} "
            f"(Séance du 12/03/2026 — COPIL ; contrat {contrat}, période {year})."
        )
    ]

    before = store_ops.digest(cur)
    with pytest.raises(validation.ValidatedFiguresChanged, match=f"modifie des chiffres validés le {when}"):
        ingest.commit(con, analysis, user=chef)
    with pytest.raises(access.AccessDenied, match="valider des chiffres"):
        ingest.commit(con, analysis, user=lecteur, confirm_validated=True)
    assert store_ops.digest(cur) == before

    id_import = ingest.commit(con, analysis, user=chef, confirm_validated=True)
    assert (
        store.scalar(
            cur,
            "SELECT montant_accorde FROM financement WHERE code_action = $a AND annee = $y AND financeur = 'État P147'",
            {"a": code, "y": year},
        )
        == 1000
    )
    detail = json.loads(
        store.scalar(
            cur,
            "SELECT detail FROM journal_ecriture WHERE id_import = $i AND nom_table = 'financement'",
            {"i": id_import},
        )
    )
    assert detail["chiffres_valides_modifies"] == [n]

    now = validation.compare(cur, n, settings=settings.Settings())
    row = now.filter(now["libelle"] == label).row(0, named=True)
    rebuilt = {f.label: f.value for f in seance.build_section(cur, "vue_ensemble", scope).figures}[label]
    assert (row["valeur_validee"], row["valeur_actuelle"], row["modifie"]) == (validated, rebuilt, True)
    assert validated != rebuilt
    assert "financement" in validation.changed_tables(cur, n)
    # the unchanged figures are not marked
    assert not now.filter(now["libelle"] == "Quartiers prioritaires")["modifie"].item()

    # rolling the import back changes the validated figures again: confirmed the same way
    assert validation.affected_by_rollback(cur, id_import=id_import)["id_validation"].to_list() == [n]
    before = store_ops.digest(cur)
    with pytest.raises(
        validation.ValidatedFiguresChanged, match=f"Annuler cet import modifie des chiffres validés le {when}"
    ):
        ingest.rollback(con, id_import, user=chef)
    assert store_ops.digest(cur) == before
    ingest.rollback(con, id_import, user=chef, confirm_validated=True)
    back = validation.compare(cur, n, settings=settings.Settings())
    assert not back["modifie"].any() and validation.changed_tables(cur, n) == []


def test_an_import_on_another_year_or_contract_is_not_flagged(con):
    cur = con.cursor()
    contrat, other = _contracts(cur)[:2]
    year = DEMO_AU.year
    chef, _ = _users(con, contrat)
    scope, sections = _agenda(cur, contrat)
    validation.validate(
        con, user=chef, code_contrat=contrat, annees=(year, year), sections=sections, libelle="Séance", scope=scope
    )
    for analysis in (_programmation(cur, contrat, year - 1, "1 000,00"), _programmation(cur, other, year, "1 000,00")):
        assert validation.affected_validations(cur, analysis.loads).is_empty()
        id_import = ingest.commit(con, analysis, user=LOCAL)  # no confirmation needed
        assert validation.affected_by_rollback(cur, id_import=id_import).is_empty()
    # re-importing what the store already holds changes nothing, so nothing validated either
    ingest.rollback(con, 2, user=LOCAL)
    ingest.rollback(con, 1, user=LOCAL)  # rollbacks on another year or contract: no confirmation either
    ingest.commit(con, _programmation(cur, contrat, year - 1, "1 000,00"), user=LOCAL)
    same = _programmation(cur, contrat, year - 1, "1 000,00")
    assert validation.affected_validations(cur, same.loads).is_empty()


def test_a_period_of_several_years_is_touched_by_any_of_them(con):
    cur = con.cursor()
    contrat, year = _contracts(cur)[0], DEMO_AU.year
    scope, sections = _agenda(cur, contrat)
    n = validation.validate(
        con,
        user=LOCAL,
        code_contrat=contrat,
        annees=(year - 1, year),
        sections=sections,
        libelle="Rapport annuel",
        scope=scope,
    )
    analysis = _programmation(cur, contrat, year - 1, "1 000,00")
    assert validation.affected_validations(cur, analysis.loads)["id_validation"].to_list() == [n]


def test_validating_nothing_or_a_reversed_period_is_refused(con):
    cur = con.cursor()
    contrat = _contracts(cur)[0]
    _, sections = _agenda(cur, contrat)
    with pytest.raises(store.IntegrityError, match="aucun chiffre"):
        validation.validate(con, user=LOCAL, code_contrat=contrat, annees=(2026, 2026), sections=(), libelle="x")
    with pytest.raises(store.IntegrityError, match="incohérente"):
        validation.validate(con, user=LOCAL, code_contrat=contrat, annees=(2027, 2026), sections=sections, libelle="x")
    assert validation.validations(cur, contrat=None).is_empty()
