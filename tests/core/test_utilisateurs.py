"""Administering accounts: the command line (`utilisateurs lister|ajouter|modifier|retirer`), the
Administration page (AppTest, CDV_AUTH aucune and oidc), the menu per role, and the
« Historique des modifications » query (who sees which write)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from cdv_core import access, fmt, store, store_ops
from cdv_core.__main__ import main
from cdv_core.access import ADMIN, User, local_user
from cdv_core.edits import acteurs as edits_acteurs
from cdv_core.edits import jalons
from cdv_core.queries import historique
from cdv_core.ui import nav
from tests.conftest import ROOT

LOCAL = local_user("test")
A, B = "CV-DEMO-VERM", "CV-DEMO-BRE"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "secret-de-test",
    "client_id": "cdv",
    "client_secret": "s",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def _digest(path) -> dict:
    con = store.connect(path)
    try:
        return store_ops.digest(con.cursor())
    finally:
        con.close()


def _accounts(path) -> dict[str, dict]:
    con = store.connect(path)
    try:
        return {r["email"]: r for r in access.users(con.cursor()).iter_rows(named=True)}
    finally:
        con.close()


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["utilisateurs", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ command line


def test_first_administrator_then_every_change_needs_an_administrator(demo_store, monkeypatch, capsys):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    s = ("--store", str(demo_store))
    code, out, _ = _cli(capsys, "lister", *s)
    assert code == 0 and "Aucun compte" in out and "aucun administrateur actif" in out

    # before any administrator: a chef de projet cannot be created without --utilisateur
    before = _digest(demo_store)
    code, _, err = _cli(capsys, "ajouter", "--email", "chef@ville.fr", "--role", "chef_de_projet", "--contrat", A, *s)
    assert code == 1 and "--utilisateur" in err and "Rien n'a été modifié" in err
    assert _digest(demo_store) == before

    # the first administrator: accepted from the command line, and said so
    code, out, _ = _cli(capsys, "ajouter", "--email", "Admin@Ville.fr", "--role", ADMIN, "--nom", "Ada Min", *s)
    assert code == 0 and "Compte admin@ville.fr ajouté" in out and "Premier administrateur" in out
    assert _accounts(demo_store)["admin@ville.fr"]["role"] == ADMIN

    # a second administrator without --utilisateur is refused now
    before = _digest(demo_store)
    code, _, err = _cli(capsys, "ajouter", "--email", "autre@ville.fr", "--role", ADMIN, *s)
    assert code == 1 and "Identification requise" in err
    assert _digest(demo_store) == before

    as_admin = ("--utilisateur", "admin@ville.fr")
    code, out, _ = _cli(
        capsys,
        "ajouter",
        "--email",
        "chef@ville.fr",
        "--role",
        "chef_de_projet",
        "--contrat",
        A,
        "--contrat",
        B,
        "--nom",
        "Claire Chef",
        *s,
        *as_admin,
    )
    assert code == 0 and "Chef de projet" in out
    chef = _accounts(demo_store)["chef@ville.fr"]
    assert chef["contrats"] == ", ".join(sorted((A, B))) and chef["actif"]

    # refusals: a chef de projet, an unknown account, an unknown contract, the last administrator
    refusals = {
        (
            "ajouter",
            "--email",
            "x@ville.fr",
            "--role",
            "lecteur",
            "--contrat",
            A,
            "--utilisateur",
            "chef@ville.fr",
        ): "ne permet pas de gérer les utilisateurs",
        ("retirer", "--email", "chef@ville.fr", "--utilisateur", "personne@ville.fr"): "n'existe pas",
        (
            "ajouter",
            "--email",
            "x@ville.fr",
            "--role",
            "lecteur",
            "--contrat",
            "CV-NULLE-PART",
            *as_admin,
        ): "contrat(s) inconnu(s) : CV-NULLE-PART",
        (
            "modifier",
            "--email",
            "admin@ville.fr",
            "--role",
            "lecteur",
            "--contrat",
            A,
            *as_admin,
        ): "dernier administrateur actif",
        ("retirer", "--email", "admin@ville.fr", *as_admin): "dernier administrateur actif",
        ("ajouter", "--email", "chef@ville.fr", "--role", "lecteur", "--contrat", A, *as_admin): "existe déjà",
    }
    before = _digest(demo_store)
    for args, expected in refusals.items():
        code, out, err = _cli(capsys, *args, *s)
        assert code == 1 and expected in err and not out, (args, err)
    assert _digest(demo_store) == before

    code, out, _ = _cli(capsys, "modifier", "--email", "chef@ville.fr", "--contrat", A, "--actif", "non", *s, *as_admin)
    assert code == 0 and "modifié" in out
    chef = _accounts(demo_store)["chef@ville.fr"]
    assert chef["contrats"] == A and not chef["actif"]
    code, out, _ = _cli(capsys, "retirer", "--email", "chef@ville.fr", *s, *as_admin)
    assert code == 0 and "chef@ville.fr" not in _accounts(demo_store)

    # bad usage: exit 2, nothing written
    assert _cli(capsys, "modifier", "--email", "admin@ville.fr", *s, *as_admin)[0] == 2
    assert _cli(capsys, "ajouter", "--email", "x@ville.fr", "--role", "chef", *s)[0] == 2
    assert _cli(capsys, "modifier", "--email", "admin@ville.fr", "--actif", "peut-être", *s)[0] == 2


def test_lister_prints_a_french_table(demo_store, monkeypatch, capsys):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    con = store.connect(demo_store)
    access.add_user(con, user=LOCAL, email="admin@ville.fr", role=ADMIN, nom="Ada Min")
    access.add_user(con, user=LOCAL, email="lea@ville.fr", role="lecteur", contrats=[B, A])
    access.modify_user(con, user=LOCAL, email="lea@ville.fr", actif=False)
    con.close()
    code, out, _ = _cli(capsys, "lister", "--store", str(demo_store))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["Adresse", "Nom", "Rôle", "Actif", "Contrats", "Créé", "le"]
    admin = next(line for line in lines if line.startswith("admin@ville.fr"))
    assert "Ada Min" in admin and "Administrateur" in admin and " oui " in admin and "tous" in admin
    assert date.today().strftime("%d/%m/%Y") in admin
    lea = next(line for line in lines if line.startswith("lea@ville.fr"))
    assert "Lecteur" in lea and " non " in lea and f"{B}, {A}" in lea
    assert "2 comptes" in out
    for english in ("True", "False", "chef_de_projet", "lecteur ", "None"):
        assert english not in out


def test_without_identification_the_command_line_acts_as_the_local_user(demo_store, monkeypatch, capsys):
    monkeypatch.setenv("CDV_AUTH", "aucune")
    monkeypatch.setenv("CDV_UTILISATEUR", "Opératrice")
    code, out, _ = _cli(
        capsys, "ajouter", "--email", "lea@ville.fr", "--role", "lecteur", "--contrat", A, "--store", str(demo_store)
    )
    assert code == 0 and "Premier administrateur" not in out
    con = store.connect(demo_store)
    try:
        authors = historique.changes(con.cursor(), operation="Comptes")["auteur"].to_list()
    finally:
        con.close()
    assert authors == ["Opératrice (ligne de commande)"]
    code, out, _ = _cli(capsys, "lister", "--store", str(demo_store))
    assert "CDV_AUTH=aucune" in out


def test_command_runs_as_a_real_process(demo_store):
    env = {"CDV_AUTH": "entete", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cdv_core",
            "utilisateurs",
            "ajouter",
            "--email",
            "a@ville.fr",
            "--role",
            "administrateur",
            "--store",
            str(demo_store),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "cdv_core", "utilisateurs", "lister", "--store", str(demo_store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert listed.returncode == 0 and "a@ville.fr" in listed.stdout and "Administrateur" in listed.stdout
    assert (
        "commandes :"
        in subprocess.run(
            [sys.executable, "-m", "cdv_core", "utilisateurs", "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout
    )


# ------------------------------------------------------------------ Administration page


def _page(**user) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if user:
        at.user = {"is_logged_in": True, "exp": time.time() + 3600, **user}
        at.secrets["auth"] = AUTH
    at.run()
    at.switch_page("pages/administration.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _submit(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception


def test_administrator_adds_modifies_and_removes_accounts(app_env, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    con = store.connect(app_env)
    access.add_user(con, user=LOCAL, email="admin@ville.fr", role=ADMIN, nom="Ada Min")
    con.close()
    at = _page(email="admin@ville.fr")
    assert not at.warning and not at.error
    assert not any("CDV_AUTH=aucune" in i.value for i in at.info)

    at.text_input(key="adm_ajout_email_0").set_value("Chef@Ville.fr")
    at.text_input(key="adm_ajout_nom_0").set_value("Claire Chef")
    at.selectbox(key="adm_ajout_role_0").set_value("chef_de_projet")
    at.multiselect(key="adm_ajout_contrats_0").set_value([A])
    _submit(at, "Ajouter le compte")
    assert not at.error, [e.value for e in at.error]
    assert any(fmt.md("chef@ville.fr") + " ajouté" in s.value for s in at.success)  # the address as text
    chef = _accounts(app_env)["chef@ville.fr"]
    assert (chef["role"], chef["nom"], chef["contrats"], chef["actif"]) == ("chef_de_projet", "Claire Chef", A, True)

    # a refused add (no contract for a lecteur) says why in French, writes nothing
    before = _digest(app_env)
    at.text_input(key="adm_ajout_email_1").set_value("lea@ville.fr")
    _submit(at, "Ajouter le compte")
    assert any("au moins un contrat" in e.value for e in at.error)
    assert _digest(app_env) == before

    at.selectbox(key="adm_modif_compte_1").set_value("chef@ville.fr")
    at.run()
    k = f"1_{[r for r in _accounts(app_env)].index('chef@ville.fr')}"
    at.multiselect(key=f"adm_modif_contrats_{k}").set_value([A, B])
    at.toggle(key=f"adm_modif_actif_{k}").set_value(False)
    _submit(at, "Enregistrer les modifications")
    assert not at.error, [e.value for e in at.error]
    chef = _accounts(app_env)["chef@ville.fr"]
    assert chef["contrats"] == ", ".join(sorted((A, B))) and not chef["actif"]

    at.selectbox(key="adm_retrait_compte_2").set_value("chef@ville.fr")
    at.checkbox(key="adm_retrait_ok_2").check()
    at.run()
    _submit(at, "Retirer le compte")
    assert "chef@ville.fr" not in _accounts(app_env)
    assert any("supprimé" in s.value for s in at.success)

    # the history tab lists these three writes under the administrator's name
    table = next(df.value for df in at.dataframe if "opération" in df.value.columns)
    ours = table[table["auteur"] == "Ada Min <admin@ville.fr>"]
    assert set(ours["opération"]) == {"Utilisateur ajouté", "Utilisateur modifié", "Utilisateur retiré"}


@pytest.mark.parametrize("role", ["lecteur", "partenaire", "chef_de_projet"])
def test_other_roles_get_the_refusal_and_nothing_else(app_env, monkeypatch, role):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    con = store.connect(app_env)
    access.add_user(con, user=LOCAL, email="admin@ville.fr", role=ADMIN)
    access.add_user(con, user=LOCAL, email="x@ville.fr", role=role, contrats=[A])
    con.close()
    at = _page(email="x@ville.fr")
    assert "Cette page est réservée aux administrateurs." in [w.value for w in at.warning]
    assert not at.dataframe and not at.text_input and not at.tabs
    assert [b.label for b in at.button] == ["Se déconnecter"]  # the sidebar's, nothing of the page
    assert not any("admin@ville.fr" in m.value for m in at.markdown)


def test_without_identification_the_page_explains_and_lets_prepare(app_env, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "aucune")
    at = _page()
    assert any("CDV_AUTH=aucune" in i.value and "docs/acces.md" in i.value for i in at.info)
    at.text_input(key="adm_ajout_email_0").set_value("futur.admin@ville.fr")
    at.selectbox(key="adm_ajout_role_0").set_value(ADMIN)
    _submit(at, "Ajouter le compte")
    assert _accounts(app_env)["futur.admin@ville.fr"]["role"] == ADMIN


def test_menu_shows_administration_to_administrators_only():
    admin = User("a@x.fr", role=ADMIN)
    titles = {p.title for p in nav.pages_for(admin)}
    assert "Administration" in titles and len(titles) == len(nav.PAGES)
    assert "Administration" in {p.title for p in nav.pages_for(local_user("moi"))}
    for role in ("lecteur", "partenaire", "chef_de_projet"):
        shown = {p.title for p in nav.pages_for(User("x@x.fr", role=role, contrats=(A,)))}
        assert "Administration" not in shown and "Vue d'ensemble" in shown
    assert "Administration" not in {p.title for p in nav.pages_for(None)}


# ------------------------------------------------------------------ Historique des modifications


@pytest.fixture
def writes(demo_store):
    """Two chefs de projet (A, B) and an administrator, each with one write; and a write of the
    administrator on both contracts."""
    con = store.connect(demo_store)
    for email, role, contrats in (
        ("admin@ville.fr", ADMIN, ()),
        ("chef.a@ville.fr", "chef_de_projet", (A,)),
        ("chef.b@ville.fr", "chef_de_projet", (B,)),
    ):
        access.add_user(con, user=LOCAL, email=email, role=role, contrats=contrats)
    users = {e: access.load_user(con.cursor(), e) for e in ("admin@ville.fr", "chef.a@ville.fr", "chef.b@ville.fr")}
    milestone = {
        "type_jalon": store.scalar(con, "SELECT min(type_jalon) FROM jalon"),
        "date_prevue": date(2027, 6, 30),
        "today": date(2026, 11, 15),
    }
    jalons.add_milestone(con, user=users["chef.a@ville.fr"], code_contrat=A, libelle="Jalon de A", **milestone)
    jalons.add_milestone(con, user=users["chef.b@ville.fr"], code_contrat=B, libelle="Jalon de B", **milestone)
    edits_acteurs.attach_contract(con, user=users["admin@ville.fr"], code_cv_2015="CV990", code_contrat=B)
    edits_acteurs.attach_contract(con, user=users["admin@ville.fr"], code_cv_2015="CV990", code_contrat=A)
    yield con, users
    con.close()


def test_a_write_appears_with_its_author_operation_contracts_and_tables(writes):
    con, users = writes
    everything = historique.changes(con.cursor())
    row = everything.filter(everything["auteur"] == users["chef.a@ville.fr"].label).row(0, named=True)
    assert (row["type"], row["opération"], row["contrats"], row["tables"]) == ("Jalons", "Jalon ajouté", A, "jalon")
    assert "Jalon de A" in row["détail"] and row["date"].date() == date.today()
    assert everything["version"].to_list() == sorted(everything["version"].to_list(), reverse=True)
    # accounts and the demo's creation: no contract, administrators only
    assert {"Comptes", "Démonstration"} <= set(everything["type"])


def test_a_chef_de_projet_sees_only_writes_on_its_contracts(writes):
    con, users = writes
    seen = historique.changes(con.cursor(), perimetre=(A,))
    assert not seen.filter(seen["auteur"] == users["chef.b@ville.fr"].label).height
    assert not seen.filter(seen["contrats"].str.contains(B)).height
    assert set(seen["type"]) == {"Jalons", "Acteurs"}  # no accounts, no demo, nothing common
    both = seen.filter(seen["type"] == "Acteurs").row(0, named=True)  # the administrator's write on A and B
    assert both["contrats"] == f"{A} (et 1 autre contrat)" and both["détail"].startswith("réservé")
    assert users["chef.b@ville.fr"].label not in historique.authors(con.cursor(), perimetre=(A,))
    assert historique.changes(con.cursor(), perimetre=()).is_empty()
    # the administrator sees the same write whole
    whole = historique.changes(con.cursor(), operation="Acteurs")
    assert whole["contrats"].to_list()[0] == f"{B}, {A}" and "CV990" in whole["détail"].to_list()[0]


def test_history_filters(writes):
    con, users = writes
    cur = con.cursor()
    chef_a = users["chef.a@ville.fr"].label
    assert set(historique.changes(cur, auteur=chef_a)["auteur"]) == {chef_a}
    assert set(historique.changes(cur, contrat=B)["auteur"]) == {
        users["chef.b@ville.fr"].label,
        users["admin@ville.fr"].label,
    }
    assert set(historique.changes(cur, operation="Comptes")["opération"]) == {"Utilisateur ajouté"}
    yesterday, tomorrow = date.today() - timedelta(days=1), date.today() + timedelta(days=1)
    assert historique.changes(cur, jusqu_au=yesterday).is_empty()
    assert historique.changes(cur, depuis=tomorrow).is_empty()
    assert historique.changes(cur, depuis=date.today(), jusqu_au=date.today()).height == historique.changes(cur).height
    assert historique.changes(cur, limit=2).height == 2
    assert "Import" in historique.operation_kinds() and "Annulation d'import" in historique.operation_kinds()
    assert historique.kind_of("Import n° 3 annulé") == "Annulation d'import"
    assert historique.kind_of("Import n° 3 (Financements) : f.csv") == "Import"


def _run_as(email: str, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.user = {"is_logged_in": True, "exp": time.time() + 3600, "email": email}
    at.secrets["auth"] = AUTH
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_history_on_mise_a_jour_for_chefs_de_projet_not_for_lecteurs(app_env, monkeypatch):
    monkeypatch.setenv("CDV_AUTH", "oidc")
    con = store.connect(app_env)
    try:
        for email, role, contrats in (
            ("admin@ville.fr", ADMIN, ()),
            ("chef.a@ville.fr", "chef_de_projet", (A,)),
            ("chef.b@ville.fr", "chef_de_projet", (B,)),
            ("lea@ville.fr", "lecteur", (A,)),
        ):
            access.add_user(con, user=LOCAL, email=email, role=role, contrats=contrats)
        for email, contrat in (("chef.a@ville.fr", A), ("chef.b@ville.fr", B)):
            jalons.add_milestone(
                con,
                user=access.load_user(con.cursor(), email),
                code_contrat=contrat,
                type_jalon=store.scalar(con, "SELECT min(type_jalon) FROM jalon"),
                libelle=f"Jalon de {contrat}",
                date_prevue=date(2027, 6, 30),
                today=date(2026, 11, 15),
            )
    finally:
        con.close()
    chef = _run_as("chef.a@ville.fr", "mise_a_jour")
    assert "Historique des modifications" in [h.value for h in chef.subheader]
    table = next(df.value for df in chef.dataframe if "opération" in df.value.columns)
    assert set(table["auteur"]) == {"chef.a@ville.fr"} and set(table["contrats"]) == {A}
    assert {"Télécharger (CSV)", "Télécharger (Excel)"} <= {b.label for b in chef.get("download_button")}
    lecteur = _run_as("lea@ville.fr", "mise_a_jour")
    assert "Historique des modifications" not in [h.value for h in lecteur.subheader]
    assert not any("opération" in df.value.columns for df in lecteur.dataframe)


def test_detail_in_french_words():
    words = historique.detail_text
    assert (
        words('{"tables": {"financement": {"nouveaux": 1200, "modifiés": 0, "inchangés": 3}}}')
        == "financement (nouveaux : 1\u202f200, inchangés : 3)"
    )
    assert (
        words('{"email": "a@b.fr", "role": "chef_de_projet", "contrats": ["CV-1", "CV-2"], "actif": false}')
        == "adresse : a@b.fr ; rôle : Chef de projet ; contrats : CV-1, CV-2 ; actif : non"
    )
    assert words('{"jalon": "J-1", "réalisé le": "2026-11-01"}') == "jalon : J-1 ; réalisé le : 01/11/2026"
    assert words(None) == "" and words("pas du JSON") == "pas du JSON"
