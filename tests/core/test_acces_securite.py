"""Security corpus: every write function of the core × every account that may not use it →
refused (AccessDenied, raised: no write returns its refusal) with the store's digest unchanged;
and every account that may use it → written, under its name in the log of writes.

To cover a new write function, add one `Case` to CASES: who may use it, the function it covers,
and how to call it; `test_every_write_function_is_covered` fails while a function of cdv_core
that opens an audited transaction has no Case.
The refusals share one store (a refusal writes nothing, which each test checks with the digest);
the allowed calls each get a fresh copy. File backend only (≈ 12 s here): on DuckLake a digest
takes 0,4 s and a refused import 0,3 s (measured on the demo), so the 75 refusals alone would
take ≈ 80 s, over the 60 s budget of a both-backends module; the checks are the same SQL inside
the same transaction there.
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import pytest

from cdv_core import access, ingest, seance, store, store_ops, validation
from cdv_core.access import ADMIN, AccessDenied, User, local_user
from cdv_core.edits import acteurs as edits_acteurs
from cdv_core.edits import bilans, gouvernance, jalons, rapport, rapport_textes, sources
from tests.conftest import ROOT

LOCAL = local_user("préparation du test")
A, B = "CV-DEMO-VERM", "CV-DEMO-BRE"
ACCOUNTS = {  # persona → (email, role, contracts, active)
    "administrateur": ("admin@cdv.test", ADMIN, (), True),
    "chef_A": ("chef.a@cdv.test", "chef_de_projet", (A,), True),
    "chef_B": ("chef.b@cdv.test", "chef_de_projet", (B,), True),
    "lecteur_A": ("lecteur.a@cdv.test", "lecteur", (A,), True),
    "partenaire_A": ("partenaire.a@cdv.test", "partenaire", (A,), True),
    "inactif_A": ("ancien.chef@cdv.test", "chef_de_projet", (A,), False),
}
UNKNOWN = "inconnu"
PERSONAS = (*ACCOUNTS, UNKNOWN)
ADMIN_ONLY = frozenset({"administrateur"})
WRITERS_OF_A = frozenset({"administrateur", "chef_A"})
VALID_SIREN = "200099018"  # Luhn-valid, for the QPV list


def acting(persona: str) -> User:
    """The user a session would pass. An inactive or unknown account claims to be an
    administrator: the core must read the store again, never trust the session's object."""
    if persona == UNKNOWN:
        return User(email="inconnu@cdv.test", nom="Inconnu", role=ADMIN)
    email, role, contrats, active = ACCOUNTS[persona]
    return User(email=email, role=role if active else ADMIN, contrats=contrats)


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[str]
    covers: str  # the function opening the write's audited transaction (test_every_write_function_is_covered)
    run: Callable  # (con, user, prepared) → the write's result (or raises)


CASES = (
    Case(
        "import d'un fichier du contrat A",
        WRITERS_OF_A,
        "cdv_core.ingest.commit.commit",
        lambda con, user, p: ingest.commit(con, p["analyse_A"], user=user),
    ),
    Case(
        "import de la liste nationale des QPV",
        ADMIN_ONLY,
        "cdv_core.ingest.commit.commit",
        lambda con, user, p: ingest.commit(con, p["analyse_nationale"], user=user),
    ),
    Case(
        "annulation d'un import du contrat A",
        WRITERS_OF_A,
        "cdv_core.ingest.commit.rollback",
        lambda con, user, p: ingest.rollback(con, p["import_A"], user=user),
    ),
    Case(
        "annulation d'un import national",
        ADMIN_ONLY,
        "cdv_core.ingest.commit.rollback",
        lambda con, user, p: ingest.rollback(con, p["import_national"], user=user),
    ),
    Case(
        "séance du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.gouvernance._write_meeting",
        lambda con, user, p: gouvernance.record_meeting(
            con,
            gouvernance.MeetingDraft(
                code_instance=p["instance_A"],
                date_reunion=date(2026, 10, 1),
                statut="tenue",
                nb_participants=12,
                objet="Comité de pilotage",
            ),
            user=user,
            today=date(2026, 11, 15),
        ),
    ),
    Case(
        "jalon ajouté au contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.jalons.add_milestone",
        lambda con, user, p: jalons.add_milestone(
            con,
            user=user,
            code_contrat=A,
            type_jalon=p["type_jalon"],
            libelle="Jalon du test",
            date_prevue=date(2027, 6, 30),
            today=date(2026, 11, 15),
        ),
    ),
    Case(
        "jalon du contrat A marqué réalisé",
        WRITERS_OF_A,
        "cdv_core.edits.jalons.mark_done",
        lambda con, user, p: jalons.mark_done(
            con, user=user, id_jalon=p["jalon_A"], date_realisation=date(2026, 11, 1), today=date(2026, 11, 15)
        ),
    ),
    Case(
        "référence figée du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.jalons.freeze_baseline",
        lambda con, user, p: jalons.freeze_baseline(
            con,
            user=user,
            code_contrat=A,
            date_gel=date(2026, 1, 1),
            libelle="Bilan du test",
            now=datetime(2026, 11, 15, 9),
        ),
    ),
    Case(
        "liste nationale des adultes-relais",
        ADMIN_ONLY,
        "cdv_core.ingest.commit.commit",
        lambda con, user, p: ingest.commit(con, p["adultes_relais"], user=user),
    ),
    Case(
        "code 2015 rattaché au contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.acteurs.attach_contract",
        lambda con, user, p: edits_acteurs.attach_contract(con, user=user, code_cv_2015="CV999", code_contrat=A),
    ),
    Case(
        "code 2015 du contrat B déplacé vers A",
        ADMIN_ONLY,
        "cdv_core.edits.acteurs.attach_contract",
        lambda con, user, p: edits_acteurs.attach_contract(con, user=user, code_cv_2015="CV998", code_contrat=A),
    ),
    Case(
        "chiffres validés du contrat A",
        WRITERS_OF_A,
        "cdv_core.validation.validate",
        lambda con, user, p: validation.validate(
            con,
            user=user,
            code_contrat=A,
            annees=(2026, 2026),
            libelle="Point d'étape du test",
            sections=(seance.Section("vue", "Vue d'ensemble", (seance.Figure("Actions 2026", "56"),)),),
        ),
    ),
    Case(
        "rythme de publication d'une source",
        ADMIN_ONLY,
        "cdv_core.edits.sources.set_source_rule",
        lambda con, user, p: sources.set_source_rule(
            con, user=user, source="Insee Filosofi", rythme_mois=12, delai_publication_mois=36
        ),
    ),
    Case(
        "rythme par défaut d'une source rétabli",
        ADMIN_ONLY,
        "cdv_core.edits.sources.reset_source_rule",
        lambda con, user, p: sources.reset_source_rule(con, user=user, source="Insee Filosofi"),
    ),
    Case(
        "envoi du rapport annuel du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.rapport.set_envoi",
        lambda con, user, p: rapport.set_envoi(
            con, user=user, code_contrat=A, annee=2026, date_envoi=date(2026, 11, 1), today=date(2026, 11, 15)
        ),
    ),
    Case(
        "contribution au rapport annuel du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.rapport.add_contribution",
        lambda con, user, p: rapport.add_contribution(
            con,
            user=user,
            code_contrat=A,
            annee=2024,
            conseil="Conseil citoyen du test",
            date_reception=date(2025, 4, 30),
            texte="Avis du test",
            today=date(2026, 11, 15),
        ),
    ),
    Case(
        "contribution retirée du rapport annuel du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.rapport.remove_contribution",
        lambda con, user, p: rapport.remove_contribution(
            con,
            user=user,
            code_contrat=A,
            annee=2024,
            conseil=p["contribution_A"][0],
            date_reception=p["contribution_A"][1],
        ),
    ),
    Case(
        "vote du rapport annuel du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.rapport.add_vote",
        lambda con, user, p: rapport.add_vote(
            con,
            user=user,
            code_contrat=A,
            annee=2024,
            assemblee="commune",
            code_collectivite="02994",
            date_vote=date(2025, 8, 1),
            reference_deliberation="DEL-2025-999",
            today=date(2026, 11, 15),
        ),
    ),
    Case(
        "vote retiré du rapport annuel du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.rapport.remove_vote",
        lambda con, user, p: rapport.remove_vote(
            con, user=user, code_contrat=A, annee=2024, assemblee="commune", code_collectivite=p["vote_commune_A"]
        ),
    ),
    Case(
        "publication du rapport annuel du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.rapport.set_publication",
        lambda con, user, p: rapport.set_publication(
            con,
            user=user,
            code_contrat=A,
            annee=2025,
            date_publication=date(2026, 9, 1),
            lien_publication="https://www.exemple.fr/rapport-2025.pdf",
            today=date(2026, 11, 15),
        ),
    ),
    Case(
        "textes du rapport annuel du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.rapport_textes.save_texts",
        lambda con, user, p: rapport_textes.save_texts(
            con, user=user, code_contrat=A, annee=2025, orientations="Texte du test"
        ),
    ),
    Case(
        "bilan d'un porteur du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.bilans.record_bilan",
        lambda con, user, p: bilans.record_bilan(
            con,
            user=user,
            code_action=p["bilan_A"][0],
            annee=p["bilan_A"][1],
            date_reception=date(2026, 5, 2),
            statut="à compléter",
            today=date(2026, 11, 15),
        ),
    ),
    Case(
        "bilan d'un porteur du contrat A supprimé",
        WRITERS_OF_A,
        "cdv_core.edits.bilans.delete_bilan",
        lambda con, user, p: bilans.delete_bilan(con, user=user, code_action=p["bilan_A"][0], annee=p["bilan_A"][1]),
    ),
    Case(
        "contact d'un porteur du contrat A",
        WRITERS_OF_A,
        "cdv_core.edits.bilans.set_porteur_contact",
        lambda con, user, p: bilans.set_porteur_contact(
            con,
            user=user,
            id_porteur=p["porteur_A"],
            contact_nom="Camille Test",
            contact_email="camille@exemple.fr",
            contact_telephone="01 23 45 67 89",
        ),
    ),
    Case(
        "compte ajouté",
        ADMIN_ONLY,
        "cdv_core.access.add_user",
        lambda con, user, p: access.add_user(con, user=user, email="nouveau@cdv.test", role="lecteur", contrats=[A]),
    ),
    Case(
        "compte modifié",
        ADMIN_ONLY,
        "cdv_core.access.modify_user",
        lambda con, user, p: access.modify_user(con, user=user, email=ACCOUNTS["lecteur_A"][0], contrats=[A, B]),
    ),
    Case(
        "compte retiré",
        ADMIN_ONLY,
        "cdv_core.access.remove_user",
        lambda con, user, p: access.remove_user(con, user=user, email=ACCOUNTS["lecteur_A"][0]),
    ),
)
REFUSED = [(case, persona) for case in CASES for persona in PERSONAS if persona not in case.allowed]
ALLOWED = [(case, persona) for case in CASES for persona in sorted(case.allowed)]


def _qpv_list(cur, libelle_suffix: str) -> bytes:
    rows = cur.execute(
        "SELECT code_qp, libelle, insee_dep, insee_com, lib_com FROM quartier WHERE code_contrat = $c "
        "ORDER BY code_qp LIMIT 2",
        {"c": A},
    ).fetchall()
    lines = ["code_qp;lib_qp;insee_reg;lib_reg;insee_dep;lib_dep;insee_com;lib_com;siren_epci;lib_epci"]
    lines += [
        f"{q};{lib}{libelle_suffix};32;Hauts-de-France;{dep};Aisne;{com};{lib_com};{VALID_SIREN};CA du test"
        for q, lib, dep, com, lib_com in rows
    ]
    return ("\n".join(lines) + "\n").encode()


def _funding(cur, year: int) -> bytes:
    action = store.scalar(cur, "SELECT min(code_action) FROM action WHERE code_contrat = $c", {"c": A})
    return (
        f"code_action;financeur;annee;montant_demande;montant_accorde;montant_verse\n{action};CAF;{year};1000;900;0\n"
    ).encode()


@pytest.fixture(scope="module")
def master(demo_store_master, tmp_path_factory):
    """The demo with the accounts, an import of contract A and a national import to roll back,
    a 2015 code attached to B; and what the cases write (prepared once: refusals write nothing)."""
    path = tmp_path_factory.mktemp("acces") / "master.duckdb"
    shutil.copy(demo_store_master, path)
    con = store.connect(path)
    try:
        for email, role, contrats, active in ACCOUNTS.values():
            access.add_user(con, user=LOCAL, email=email, role=role, contrats=contrats)
            if not active:
                access.modify_user(con, user=LOCAL, email=email, actif=False)
        cur = con.cursor()
        national = ingest.commit(con, ingest.analyse(cur, _qpv_list(cur, " (2024)"), "liste_qpv.csv"), user=LOCAL)
        import_a = ingest.commit(con, ingest.analyse(cur, _funding(cur, 2025), "financements.csv"), user=LOCAL)
        edits_acteurs.attach_contract(con, user=LOCAL, code_cv_2015="CV998", code_contrat=B)
        report = ingest.analyse(
            cur,
            json.dumps(
                [
                    {
                        "id_poste": "AR-T1",
                        "code_tiers": "77554402601284",
                        "raison_sociale": "Employeur du test",
                        "annee": 2023,
                        "montant": 22555.73,
                        "code_cv": "CV998",
                        "insee_dep": "60",
                        "insee_reg": "32",
                    }
                ]
            ).encode(),
            "ar.json",
        )
        assert report.ok, report.problems
        prepared = {
            "import_A": import_a,
            "import_national": national,
            "adultes_relais": report,
            "analyse_A": ingest.analyse(cur, _funding(cur, 2026), "financements.csv"),
            "analyse_nationale": ingest.analyse(cur, _qpv_list(cur, " (2025)"), "liste_qpv.csv"),
            "instance_A": store.scalar(
                cur, "SELECT min(code_instance) FROM instance WHERE code_contrat = $c", {"c": A}
            ),
            "jalon_A": store.scalar(
                cur, "SELECT min(id_jalon) FROM jalon WHERE code_contrat = $c AND date_realisation IS NULL", {"c": A}
            ),
            "type_jalon": store.scalar(cur, "SELECT min(type_jalon) FROM jalon"),
            "contribution_A": cur.execute(
                "SELECT conseil, date_reception FROM rapport_annuel_contribution "
                "WHERE code_contrat = $c AND annee = 2024 ORDER BY 1, 2 LIMIT 1",
                {"c": A},
            ).fetchall()[0],
            "vote_commune_A": store.scalar(
                cur,
                "SELECT code_collectivite FROM rapport_annuel_vote WHERE code_contrat = $c "
                "AND annee = 2024 AND assemblee = 'commune' ORDER BY date_vote DESC "
                "LIMIT 1",
                {"c": A},
            ),
            "bilan_A": cur.execute(
                "SELECT b.code_action, b.annee FROM bilan_action b JOIN action a USING (code_action) "
                "WHERE a.code_contrat = $c ORDER BY 1, 2 LIMIT 1",
                {"c": A},
            ).fetchall()[0],
            "porteur_A": store.scalar(
                cur,
                "SELECT min(p) FROM (SELECT id_porteur AS p FROM action GROUP BY id_porteur "
                "HAVING bool_and(code_contrat = $c))",
                {"c": A},
            ),
        }
        assert prepared["analyse_A"].ok and prepared["analyse_nationale"].ok
        assert prepared["analyse_nationale"].kind == "liste_qpv"
    finally:
        con.close()
    return path, prepared


@pytest.fixture(scope="module")
def shared(master, tmp_path_factory):
    """One copy for every refusal (each checks it wrote nothing)."""
    path = tmp_path_factory.mktemp("acces_refus") / "cdv.duckdb"
    shutil.copy(master[0], path)
    con = store.connect(path)
    yield con
    con.close()


def _id(value) -> str:
    return value.name.replace(" ", "_") if isinstance(value, Case) else str(value)


@pytest.mark.parametrize(("case", "persona"), REFUSED, ids=_id)
def test_refused_and_nothing_written(shared, master, case, persona):
    before = store_ops.digest(shared.cursor())
    with pytest.raises(AccessDenied) as refused:  # every write raises its refusal, none returns it
        case.run(shared, acting(persona), master[1])
    message = str(refused.value)
    assert message.startswith("Écriture refusée") and "Rien n'a été modifié" in message, message
    if persona in ("inactif_A", UNKNOWN):
        assert "n'existe pas ou a été désactivé" in message
    assert store_ops.digest(shared.cursor()) == before


@pytest.mark.parametrize(("case", "persona"), ALLOWED, ids=_id)
def test_allowed_writes_under_the_users_name(master, tmp_path, case, persona):
    path = tmp_path / "cdv.duckdb"
    shutil.copy(master[0], path)
    con = store.connect(path)
    try:
        before = store.store_version(con.cursor())
        result = case.run(con, acting(persona), master[1])
        assert getattr(result, "ok", True), result
        cur = con.cursor()
        assert store.store_version(cur) == before + 1
        authors = {
            r[0]
            for r in cur.execute(
                "SELECT auteur FROM journal_ecriture WHERE version_store = $v", {"v": before + 1}
            ).fetchall()
        }
        assert authors == {acting(persona).label}
    finally:
        con.close()


def test_every_persona_is_refused_somewhere_and_every_case_allows_someone():
    """The corpus stays meaningful: no case lets everyone through, none is closed to all."""
    for case in CASES:
        assert case.allowed and set(PERSONAS) - case.allowed, case.name
        assert case.allowed <= set(PERSONAS)
    refused_personas = {persona for _, persona in REFUSED}
    assert refused_personas == set(PERSONAS) - {"administrateur"}


# Writes that need no Case: they build a new store (the demo), with no user to check.
# Writes of no user: the demo's construction, and the QPV status history, which records what a
# user's write (already checked) or the passing of time changed (cdv_core/edits/historique.py).
NO_USER = frozenset({"cdv_core.demo._fill", "cdv_core.demo.write_frames", "cdv_core.edits.historique._write"})
# Write functions still in progress in this tree: add their Case when they land.
PENDING: frozenset[str] = frozenset()


def _audited_writes() -> set[str]:
    """Every function of cdv_core that opens a write with `store.transaction(…, audit=…)`."""
    found = set()
    for path in sorted((ROOT / "cdv_core").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, ast.FunctionDef) and any(
                isinstance(n, ast.Call)
                and getattr(n.func, "attr", None) == "transaction"
                and any(k.arg == "audit" for k in n.keywords)
                for n in ast.walk(fn)
            ):
                found.add(f"{module}.{fn.name}")
    return found


def test_every_write_function_is_covered():
    """A new write function of the core fails here until it has a Case above."""
    writes = _audited_writes()
    assert {case.covers for case in CASES} <= writes  # no stale name
    missing = writes - {case.covers for case in CASES} - NO_USER - PENDING
    assert not missing, f"fonctions d'écriture sans cas dans le corpus de sécurité : {sorted(missing)}"
