"""The contract's actors and team as template file kinds of the import pipeline (docs/acteurs.md,
« Acteurs et équipe par modèle »): « acteurs » (with their domains and QPV), « postes » and
« financements_postes ». Detected from their headers, offered on « Mise à jour des données »,
exported from the store in the same format; bad values reported in French, nothing written;
re-import changes nothing; rollback restores; a chef de projet writes only the actors and posts
of its contracts (one without a contract, and the national adulte-relais list: administrators)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from cdv_core import access, ingest, store
from cdv_core.ingest import templates
from cdv_core.ingest.spec import KINDS, TEMPLATES
from tests.conftest import ROOT, minimal_contract, run_app
from tests.imports.test_bad_files import checksums

LOCAL = access.local_user("test")
NEW_KINDS = ("acteurs", "postes", "financements_postes")
BOOKKEEPING = (
    "import_log",
    "import_annulation",
    "import_correspondance",
    "store_meta",
    "journal_ecriture",
    "_annulation_tables",
)

ACTEURS = (
    "id_acteur;code_contrat;nom;type_structure;mode_intervention;domaines;quartiers\n"
    "ACT-A-1;CV-A;Collectif des habitants;association sans salarié;installé dans le quartier;"
    "médiation, participation;QN07511M, QN07512M\n"
    "P-CV-A;CV-A;;;en proximité;éducation;\n"
)
POSTES = (
    "id_poste;code_contrat;code_qp;type_poste;employeur;siret_employeur;etp;date_debut;date_fin;cout_annuel\n"
    "POSTE-A-1;CV-A;;chef de projet politique de la ville;Ville;21750001600019;1;01/01/2024;;62 000\n"
    "POSTE-A-2;CV-A;QN07511M;adulte-relais;Association test;;0,5;01/01/2024;31/12/2026;\n"
)
FINANCEMENTS = (
    "id_poste;financeur;annee;montant\n"
    "POSTE-A-1;État P147;2024;25 000\n"
    "POSTE-A-1;EPCI;2024;37 000\n"
    "POSTE-A-2;État P147;2024;22 555,73\n"
)


def _analyse(con, text: str, name: str = "fichier.csv") -> ingest.Analysis:
    return ingest.analyse(con.cursor(), text.encode("utf-8"), name)


def _import(con, text: str, user: access.User = LOCAL, name: str = "fichier.csv") -> int:
    analysis = _analyse(con, text, name)
    assert analysis.ok, analysis.problems.rows()
    return ingest.commit(con, analysis, user=user)


def _data(con) -> dict:
    return {t: v for t, v in checksums(con).items() if t not in BOOKKEEPING}


def _rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.fixture
def two_contracts(empty_store):
    """Contracts CV-A (QN07511M, QN07512M) and CV-B (QN07513M), an administrator and a chef de
    projet of each; returns (connection, {role: user})."""
    con = empty_store
    minimal_contract(con, "CV-A", ("QN07511M", "QN07512M"))
    minimal_contract(con, "CV-B", ("QN07513M",))
    access.add_user(con, user=LOCAL, email="admin@exemple.fr", role=access.ADMIN)
    access.add_user(con, user=LOCAL, email="a@exemple.fr", role="chef_de_projet", contrats=["CV-A"])
    access.add_user(con, user=LOCAL, email="b@exemple.fr", role="chef_de_projet", contrats=["CV-B"])
    users = {k: access.load_user(con.cursor(), f"{k}@exemple.fr") for k in ("admin", "a", "b")}
    return con, users


# ---------------------------------------------------------------- the kinds


def test_the_new_kinds_are_templates_detected_offered_and_exported():
    codes = [k.code for k in TEMPLATES]
    assert all(code in codes and code in templates.DOWNLOADABLE and code in templates.EXPORTABLE for code in NEW_KINDS)
    for code in NEW_KINDS:
        assert ingest.detect_kind(templates.example_frame(code).columns) == code
    spec = KINDS["acteurs"]
    assert spec.key == ("id_acteur",) and set(spec.links) == {"domaines", "quartiers"}
    assert KINDS["postes"].key == ("id_poste",)
    assert KINDS["financements_postes"].key == ("id_poste", "financeur", "annee")
    described = templates.description_frame("acteurs").filter(pl.col("colonne") == "domaines")
    assert "accès aux droits" in described["valeurs permises"][0]
    # the national list keeps its own detection
    gispro = (ROOT / "tests" / "fixtures" / "gispro_adultes_relais_2024.csv").read_bytes()
    headers = ingest.read_bytes(gispro, "gispro.csv").frame.columns
    assert ingest.detect_kind([h for h in headers if not h.startswith("_")]) == "adultes-relais"
    assert (
        ingest.detect_kind(
            ["id_poste", "code_tiers", "raison_sociale", "annee", "montant", "code_cv", "insee_dep", "insee_reg"]
        )
        == "adultes-relais"
    )


def test_the_template_example_rows_are_refused(two_contracts):
    con, _ = two_contracts
    for code in NEW_KINDS:
        analysis = ingest.analyse(con.cursor(), templates.template_csv(code), f"modele_{code}.csv")
        assert analysis.kind == code
        assert "Ligne d'exemple du modèle" in analysis.problems["problème"].to_list(), code


# ---------------------------------------------------------------- import, re-import, rollback


def test_actors_are_imported_with_their_domains_and_qpv(two_contracts):
    con, _ = two_contracts
    _import(con, ACTEURS)
    columns = "id_acteur, code_contrat, nom, type_structure, mode_intervention"
    assert _rows(con, f"SELECT {columns} FROM acteur ORDER BY 1") == [
        ("ACT-A-1", "CV-A", "Collectif des habitants", "association sans salarié", "installé dans le quartier"),
        ("P-CV-A", "CV-A", None, None, "en proximité"),
    ]
    assert _rows(con, "SELECT * FROM acteur_domaine ORDER BY ALL") == [
        ("ACT-A-1", "médiation"),
        ("ACT-A-1", "participation"),
        ("P-CV-A", "éducation"),
    ]
    assert _rows(con, "SELECT * FROM acteur_quartier ORDER BY ALL") == [
        ("ACT-A-1", "QN07511M"),
        ("ACT-A-1", "QN07512M"),
    ]
    # a list replaces the actor's list (as an action's quartiers)
    _import(con, "id_acteur;domaines;quartiers\nACT-A-1;sport;QN07512M\n")
    assert _rows(con, "SELECT * FROM acteur_domaine WHERE id_acteur = 'ACT-A-1'") == [("ACT-A-1", "sport")]
    assert _rows(con, "SELECT code_qp FROM acteur_quartier") == [("QN07512M",)]
    assert _rows(con, "SELECT nom FROM acteur WHERE id_acteur = 'ACT-A-1'") == [("Collectif des habitants",)]


def test_posts_and_their_funding_are_imported_and_a_reimport_changes_nothing(two_contracts):
    con, _ = two_contracts
    _import(con, POSTES)
    _import(con, FINANCEMENTS)
    assert _rows(con, "SELECT id_poste, etp, cout_annuel, date_fin FROM poste ORDER BY 1")[1][1] == 0.5
    assert _rows(con, "SELECT sum(montant) FROM financement_poste")[0][0] == Decimal("84555.73")
    before = _data(con)
    for code in NEW_KINDS[1:]:
        analysis = ingest.analyse(con.cursor(), templates.current_csv(con.cursor(), kind=code), f"{code}.csv")
        assert analysis.ok and analysis.kind == code
        counts = analysis.diff.select("nouveaux", "modifiés").sum().row(0)
        assert counts == (0, 0), analysis.diff
        ingest.commit(con, analysis, user=LOCAL)
    assert _data(con) == before


def test_rollback_restores_actors_posts_and_funding_exactly(two_contracts):
    con, _ = two_contracts
    for text in (ACTEURS, POSTES, FINANCEMENTS):
        _import(con, text)
    before = _data(con)
    ids = [
        _import(
            con,
            "id_acteur;code_contrat;nom;type_structure;domaines;quartiers\n"
            "ACT-A-1;CV-A;Collectif renommé;bailleur;santé;\nACT-A-2;CV-A;Nouveau;autre;;QN07512M\n",
        ),
        _import(con, "id_poste;type_poste;employeur;etp\nPOSTE-A-1;chargé de mission;EPCI;0,8\n"),
        _import(con, "id_poste;financeur;annee;montant\nPOSTE-A-1;État P147;2024;30 000\nPOSTE-A-2;CAF;2025;1 000\n"),
    ]
    assert _data(con) != before
    for id_import in reversed(ids):
        ingest.rollback(con, id_import, user=LOCAL)
    assert _data(con) == before


# ---------------------------------------------------------------- French report, nothing written

BAD_VALUES = [
    (
        "acteurs",
        "id_acteur;code_contrat;nom;type_structure\nX;CV-A;Collectif;asso\n",
        "type_structure",
        "Valeur non reconnue",
    ),
    (
        "acteurs",
        "id_acteur;code_contrat;nom;type_structure;mode_intervention\nX;CV-A;C;autre;partout\n",
        "mode_intervention",
        "Valeur non reconnue",
    ),
    (
        "acteurs",
        "id_acteur;code_contrat;nom;type_structure;siret\nX;CV-A;C;autre;12345678901234\n",
        "siret",
        "SIRET invalide (clé de contrôle)",
    ),
    ("acteurs", "id_acteur;code_contrat;nom;type_structure;siret\nX;CV-A;C;autre;1234\n", "siret", "SIRET mal formé"),
    (
        "acteurs",
        "id_acteur;code_contrat;nom;type_structure\nX;CV-Z;C;autre\n",
        "code_contrat",
        "Contrat inconnu dans la base",
    ),
    (
        "acteurs",
        "id_acteur;code_contrat;nom;type_structure;quartiers\nX;CV-A;C;autre;QN07599M\n",
        "quartiers",
        "Quartier inconnu dans la base",
    ),
    (
        "postes",
        "id_poste;type_poste;employeur;etp\nP;chef de projet politique de la ville;Ville;2,5\n",
        "etp",
        "Valeur trop grande",
    ),
    (
        "postes",
        "id_poste;type_poste;employeur;etp\nP;chef de projet politique de la ville;Ville;0\n",
        "etp",
        "Valeur trop petite",
    ),
    (
        "postes",
        "id_poste;type_poste;employeur;etp;date_debut;date_fin\nP;médiateur;Ville;1;01/01/2025;31/12/2024\n",
        "date_fin",
        "Date de fin antérieure à la date de début",
    ),
    ("postes", "id_poste;type_poste;employeur;etp\nP;stagiaire;Ville;1\n", "type_poste", "Valeur non reconnue"),
    (
        "postes",
        "id_poste;type_poste;employeur;etp;siret_employeur\nP;médiateur;Ville;1;21750001600018\n",
        "siret_employeur",
        "SIRET invalide (clé de contrôle)",
    ),
    (
        "postes",
        "id_poste;type_poste;employeur;etp;niveau_responsabilite\nP;médiateur;Ville;1;chef\n",
        "niveau_responsabilite",
        "Valeur non reconnue",
    ),
    ("postes", "id_poste;type_poste;employeur;etp\nP;médiateur;;1\n", "employeur", "Valeur obligatoire manquante"),
    (
        "financements_postes",
        "id_poste;financeur;annee;montant\nPOSTE-Z;État P147;2024;10\n",
        "id_poste",
        "Poste inconnu dans la base",
    ),
    (
        "financements_postes",
        "id_poste;financeur;annee;montant\nPOSTE-A-1;Mairie de quartier;2024;10\n",
        "financeur",
        "Valeur non reconnue",
    ),
    ("financements_postes", "id_poste;financeur;annee;montant\nPOSTE-A-1;CAF;2040;10\n", "annee", "Valeur trop grande"),
    ("financements_postes", "id_poste;financeur;annee;montant\nPOSTE-A-1;CAF;2024;-10\n", "montant", "Montant négatif"),
]


@pytest.mark.parametrize(
    ("kind", "text", "column", "message"), BAD_VALUES, ids=[f"{k}-{c}-{m}" for k, _, c, m in BAD_VALUES]
)
def test_a_bad_value_is_reported_in_french_and_nothing_is_written(two_contracts, kind, text, column, message):
    con, _ = two_contracts
    _import(con, POSTES)
    before = _data(con)
    analysis = _analyse(con, text)
    assert analysis.kind == kind
    found = analysis.problems.filter((pl.col("colonne") == column) & (pl.col("gravité") == "erreur"))
    assert message in found["problème"].to_list(), analysis.problems.rows()
    assert found["ligne"].to_list() == [2] and found["correction attendue"][0]
    with pytest.raises(ingest.ImportRefused, match=r"contient 1 erreur|contient 2 erreurs"):
        ingest.commit(con, analysis, user=LOCAL)
    assert _data(con) == before


def test_an_unknown_domain_is_reported_in_french(two_contracts):
    con, _ = two_contracts
    analysis = _analyse(
        con, "id_acteur;code_contrat;nom;type_structure;domaines\nX;CV-A;C;autre;Médiation, bricolage\n"
    )
    found = analysis.problems.filter(pl.col("colonne") == "domaines")
    assert found.select("valeur", "problème").rows() == [("bricolage", "Valeur non reconnue")]
    assert "accès aux droits" in found["correction attendue"][0]
    # a value written with a capital or without its accents is read as the allowed one
    assert _analyse(con, "id_acteur;domaines\nP-CV-A;Mediation\n").loads[1].frame.rows() == [("P-CV-A", "médiation")]


def test_an_actor_without_funding_needs_a_name_and_a_type(two_contracts):
    con, _ = two_contracts
    before = _data(con)
    analysis = _analyse(con, "id_acteur;code_contrat;nom;mode_intervention\nX;CV-A;;en proximité\n")
    assert analysis.ok
    with pytest.raises(store.IntegrityError, match="sans financement, il lui faut un nom, un type de structure"):
        ingest.commit(con, analysis, user=LOCAL)
    assert _data(con) == before


# ---------------------------------------------------------------- who may write what


def _refused(con, text: str, user: access.User, match: str) -> None:
    before = _data(con)
    analysis = _analyse(con, text)
    assert analysis.ok, analysis.problems.rows()
    with pytest.raises(access.AccessDenied, match=match):
        ingest.commit(con, analysis, user=user)
    assert _data(con) == before


def test_a_chef_de_projet_writes_the_actors_and_posts_of_its_contracts_only(two_contracts):
    con, users = two_contracts
    _import(con, ACTEURS, users["a"])
    _import(con, POSTES, users["a"])
    _import(con, FINANCEMENTS, users["a"])
    b_posts = "id_poste;code_contrat;type_poste;employeur;etp\nPOSTE-B-1;CV-B;médiateur;Ville;1\n"
    _import(con, b_posts, users["b"])
    # another contract's rows, in the file or as stored, and through the post of a funding line
    _refused(con, "id_acteur;code_contrat;nom;type_structure\nX;CV-B;C;autre\n", users["a"], "le contrat CV-B est")
    _refused(
        con, "id_poste;code_contrat;type_poste;employeur;etp\nPOSTE-B-1;CV-A;médiateur;Ville;1\n", users["a"], "CV-B"
    )
    _refused(con, "id_poste;type_poste;employeur;etp\nPOSTE-B-1;médiateur;Autre employeur;1\n", users["a"], "CV-B")
    _refused(con, "id_poste;financeur;annee;montant\nPOSTE-B-1;commune;2024;1 000\n", users["a"], "CV-B")
    _refused(con, "id_acteur;domaines\nACT-A-1;sport\n", users["b"], "CV-A")
    # an actor or a post without a contract: administrators only
    no_contract = "id_acteur;nom;type_structure;mode_intervention\nP-CV-B;;;en proximité\n"
    _refused(con, no_contract, users["b"], "aucun contrat ; seul un administrateur")
    _refused(
        con,
        "id_poste;type_poste;employeur;etp\nPOSTE-X;autre;Préfecture;1\n",
        users["a"],
        "aucun contrat ; seul un administrateur",
    )
    ingest.commit(con, _analyse(con, no_contract), user=users["admin"])
    # a rollback asks for the same rights
    id_import = _import(con, "id_poste;financeur;annee;montant\nPOSTE-B-1;commune;2024;1 000\n", users["b"])
    with pytest.raises(access.AccessDenied, match="CV-B"):
        ingest.rollback(con, id_import, user=users["a"])
    ingest.rollback(con, id_import, user=users["b"])


def test_the_national_adulte_relais_list_stays_for_administrators(two_contracts):
    con, users = two_contracts
    gispro = (ROOT / "tests" / "fixtures" / "gispro_adultes_relais_2024.csv").read_bytes()
    analysis = ingest.analyse(con.cursor(), gispro, "gispro.csv")
    assert analysis.ok and analysis.kind == "adultes-relais"
    before = _data(con)
    with pytest.raises(access.AccessDenied, match="importer un fichier national"):
        ingest.commit(con, analysis, user=users["a"])
    assert _data(con) == before
    id_import = ingest.commit(con, analysis, user=users["admin"])
    with pytest.raises(access.AccessDenied, match="importer un fichier national"):
        ingest.rollback(con, id_import, user=users["a"])


# ---------------------------------------------------------------- the demo, the page


def test_a_contracts_actors_and_team_exported_from_the_demo_import_back_unchanged(demo_store):
    con = store.connect(demo_store)
    try:
        contrat = store.scalar(con, "SELECT min(code_contrat) FROM poste")
        access.add_user(con, user=LOCAL, email="cdp@exemple.fr", role="chef_de_projet", contrats=[contrat])
        user = access.load_user(con.cursor(), "cdp@exemple.fr")
        before = _data(con)
        for code in NEW_KINDS:
            data = templates.current_csv(con.cursor(), kind=code, contrat=contrat)
            analysis = ingest.analyse(con.cursor(), data, f"{code}.csv")
            assert analysis.ok and analysis.kind == code and analysis.nb_lignes > 0, analysis.problems.rows()
            assert analysis.diff.select("nouveaux", "modifiés").sum().row(0) == (0, 0), analysis.diff
            ingest.commit(con, analysis, user=user)
        assert _data(con) == before
    finally:
        con.close()


def test_the_update_page_offers_and_imports_an_actors_file(app_env):
    con = store.connect(app_env)
    try:
        contrat, qp = con.execute(
            "SELECT code_contrat, min(code_qp) FROM quartier GROUP BY 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    at = run_app("mise_a_jour")
    at.selectbox(key="maj_modele").set_value("acteurs").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="maj_modele").format_func("acteurs") == KINDS["acteurs"].label
    data = (
        f"id_acteur;code_contrat;nom;type_structure;domaines;quartiers\n"
        f"ACT-TEST-1;{contrat};Collectif test;association sans salarié;médiation, sport;{qp}\n"
    ).encode()
    at.file_uploader(key="maj_fichier_0").set_value(("acteurs.csv", data, "text/csv")).run()
    assert not at.exception, at.exception
    assert any(KINDS["acteurs"].label in m.value for m in at.markdown)
    kpis = {m.label: m.value for m in at.metric}
    assert kpis["Erreurs"] == "0" and kpis["Lignes lues"] == "1"
    diff = next(d.value for d in at.dataframe if "nouveaux" in d.value.columns).set_index("table")
    assert diff.loc["acteur", "nouveaux"] == 1 and diff.loc["acteur_domaine", "nouveaux"] == 2
    at.button(key="maj_valider").click().run()
    assert not at.exception, at.exception
    assert any("validé" in s.value for s in at.success)
    con = store.connect(app_env)
    try:
        assert _rows(con, "SELECT count(*) FROM acteur_domaine WHERE id_acteur = 'ACT-TEST-1'") == [(2,)]
    finally:
        con.close()
