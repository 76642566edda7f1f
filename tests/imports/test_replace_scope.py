"""« Supprimer les absents »: a file replaces its own scope only (the same indicators at its dates,
its contracts' dossiers of its years), and the actions it deletes take what hangs on them along
(funding lines, links, porteurs' bilans),
all of it restored by the rollback."""

from __future__ import annotations

import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user
from tests.imports.test_bad_files import checksums

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

BOOKKEEPING = (
    "import_log",
    "import_annulation",
    "import_correspondance",
    "store_meta",
    "journal_ecriture",
    "_annulation_tables",
)


def _data(con) -> dict:
    return {t: v for t, v in checksums(con).items() if t not in BOOKKEEPING}


def _counts(analysis) -> dict:
    return {r["table"]: r for r in analysis.diff.iter_rows(named=True)}


def _actions_file(con, contrat: str, *, without: str) -> bytes:
    """The contract's actions as the actions template writes them (required columns), but one."""
    rows = con.execute(
        "SELECT code_action, code_contrat, id_porteur, libelle, thematique, mode_financement, annee_debut, annee_fin, "
        "statut "
        "FROM action WHERE code_contrat = $c AND code_action <> $x ORDER BY 1",
        {"c": contrat, "x": without},
    ).fetchall()
    header = "code_action;code_contrat;id_porteur;libelle;thematique;mode_financement;annee_debut;annee_fin;statut\n"
    return (header + "".join(";".join(str(v) for v in r) + "\n" for r in rows)).encode()


def test_deleting_an_absent_action_takes_its_funding_and_links_along_and_rolls_back(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    gone = store.scalar(
        cur,
        """SELECT min(a.code_action) FROM action a WHERE a.code_contrat = 'CV-DEMO-VERM'
                                AND a.code_action NOT IN (SELECT code_action FROM decision_action)
                                AND a.code_action IN (SELECT code_action FROM action_objectif)
                                AND a.code_action IN (SELECT code_action FROM bilan_action)""",
    )
    hanging = {
        t: store.scalar(cur, f"SELECT count(*) FROM {t} WHERE code_action = $a", {"a": gone})
        for t in ("financement", "action_quartier", "action_objectif", "bilan_action")
    }
    assert all(hanging.values()), hanging
    before = _data(con)
    analysis = ingest.analyse(cur, _actions_file(cur, "CV-DEMO-VERM", without=gone), "actions.csv", replace_scope=True)
    assert analysis.ok, analysis.problems
    counts = _counts(analysis)
    assert counts["action"]["absents du fichier"] == 1 and counts["action"]["sort des absents"] == "supprimés"
    for table, n in hanging.items():
        assert counts[f"{table} (des actions supprimées)"]["absents du fichier"] == n
    id_import = ingest.commit(con, analysis, user=LOCAL, replace_scope=True)
    for table in ("action", *hanging):
        assert store.scalar(cur, f"SELECT count(*) FROM {table} WHERE code_action = $a", {"a": gone}) == 0
    assert store.scalar(cur, "SELECT count(*) FROM action WHERE code_contrat = 'CV-DEMO-VERM'") == before["action"][
        0
    ] - 1 - store.scalar(cur, "SELECT count(*) FROM action WHERE code_contrat <> 'CV-DEMO-VERM'")
    resume = store.scalar(cur, "SELECT resume FROM import_log WHERE id_import = $i", {"i": id_import})
    n = hanging["financement"]
    assert f"{n} ligne{'s' if n > 1 else ''} de financement supprimée{'s' if n > 1 else ''} avec leur action" in resume
    version = store.store_version(cur)  # the log of writes names the tables deleted from along the actions
    assert {
        r[0]
        for r in cur.execute(
            "SELECT nom_table FROM journal_ecriture WHERE version_store = $v", {"v": version}
        ).fetchall()
    } >= {"action", *hanging}
    done = ingest.rollback(con, id_import, user=LOCAL)
    assert done["financement"]["lignes restaurées"] == hanging["financement"]
    assert _data(con) == before


def test_an_action_a_decision_points_at_is_not_deleted(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    cited = store.scalar(cur, "SELECT min(x.code_action) FROM decision_action x JOIN action a USING (code_action)")
    contrat = store.scalar(cur, "SELECT code_contrat FROM action WHERE code_action = $a", {"a": cited})
    before = _data(con)
    analysis = ingest.analyse(cur, _actions_file(cur, contrat, without=cited), "actions.csv", replace_scope=True)
    with pytest.raises(store.IntegrityError, match="lien décision-action"):
        ingest.commit(con, analysis, user=LOCAL, replace_scope=True)
    assert _data(con) == before


def test_a_values_file_replaces_its_indicator_at_its_date_only(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    code = store.scalar(cur, "SELECT min(code_indicateur) FROM indicateur")
    qpv = [
        r[0]
        for r in cur.execute(
            "SELECT code_territoire FROM valeur_indicateur WHERE code_indicateur = $c "
            "AND type_territoire = 'QPV' AND date_valeur = DATE '2024-01-01' ORDER BY 1",
            {"c": code},
        ).fetchall()
    ]
    assert len(qpv) > 2
    others = store.scalar(
        cur,
        "SELECT count(*) FROM valeur_indicateur WHERE code_indicateur = $c "
        "AND NOT (type_territoire = 'QPV' AND date_valeur = DATE '2024-01-01')",
        {"c": code},
    )
    text = "code_indicateur;type_territoire;code_territoire;date_valeur;valeur\n" + "".join(
        f"{code};QPV;{q};01/01/2024;{i},25\n" for i, q in enumerate(qpv[1:])
    )
    analysis = ingest.analyse(cur, text.encode(), "valeurs.csv", replace_scope=True)
    assert analysis.ok, analysis.problems
    assert _counts(analysis)["valeur_indicateur"]["absents du fichier"] == 1  # the first QPV, that date only
    keys = analysis.changes["clé"].to_list()
    assert f"{code} / QPV / {qpv[0]} / 01/01/2024" in keys  # French dates in the diff's keys
    ingest.commit(con, analysis, user=LOCAL, replace_scope=True)
    assert (
        store.scalar(
            cur,
            "SELECT count(*) FROM valeur_indicateur WHERE code_indicateur = $c AND code_territoire = $q "
            "AND date_valeur = DATE '2024-01-01'",
            {"c": code, "q": qpv[0]},
        )
        == 0
    )
    assert (
        store.scalar(
            cur,
            "SELECT count(*) FROM valeur_indicateur WHERE code_indicateur = $c "
            "AND NOT (type_territoire = 'QPV' AND date_valeur = DATE '2024-01-01')",
            {"c": code},
        )
        == others
    )


def test_a_programmation_extract_never_deletes_a_dossier_only_its_funders_of_its_years(demo_store):
    """A 2026 extract listing the 2026 part of a multi-year CPO must not delete the contract's
    other dossiers nor any 2024/2025 funding; it removes a funder the file no longer lists for
    that dossier and year, and, without a funder column, no other funder's line."""
    con = store.connect(demo_store)
    cur = con.cursor()
    code, contrat, year = cur.execute(
        """SELECT a.code_action, a.code_contrat, max(f.annee) FROM action a JOIN financement f USING (code_action)
           WHERE a.annee_debut < a.annee_fin GROUP BY ALL
           HAVING count(DISTINCT f.financeur) FILTER (WHERE f.annee = 2026) >= 2 ORDER BY 1 LIMIT 1"""
    ).fetchall()[0]
    funders = [
        r[0]
        for r in cur.execute(
            "SELECT financeur FROM financement WHERE code_action = $a AND annee = $y ORDER BY financeur",
            {"a": code, "y": year},
        ).fetchall()
    ]
    before = _data(con)
    n_actions = store.scalar(cur, "SELECT count(*) FROM action")
    n_other_years = store.scalar(cur, "SELECT count(*) FROM financement WHERE annee <> $y", {"y": year})
    header = (
        "Code dossier;Libellé de l'action;Code SIRET;Raison sociale;Montant engagé;Exercice;Code contrat ville;Thème"
    )
    row = f"{code};Action pluriannuelle;77554402601284;Centre social;1 000,00;{year};{contrat};1.1"
    # no funder column: every line is « État P147 », and only those lines are in scope
    analysis = ingest.analyse(cur, f"{header}\n{row}\n".encode(), "programmation.csv", replace_scope=True)
    assert analysis.kind == "programmation" and analysis.ok, analysis.problems
    assert _counts(analysis)["action"]["absents du fichier"] == 0
    assert _counts(analysis)["financement"]["absents du fichier"] == 0
    # with a funder column naming one funder: the dossier's other funders of that year go, nothing else
    text = f"{header};Financeur\n{row};{funders[0]}\n"
    analysis = ingest.analyse(cur, text.encode(), "programmation.csv", replace_scope=True)
    assert analysis.ok, analysis.problems
    assert _counts(analysis)["financement"]["absents du fichier"] == len(funders) - 1
    id_import = ingest.commit(con, analysis, user=LOCAL, replace_scope=True)
    assert store.scalar(cur, "SELECT count(*) FROM action") == n_actions
    assert store.scalar(cur, "SELECT count(*) FROM financement WHERE annee <> $y", {"y": year}) == n_other_years
    assert [
        r[0]
        for r in cur.execute(
            "SELECT financeur FROM financement WHERE code_action = $a AND annee = $y", {"a": code, "y": year}
        ).fetchall()
    ] == [funders[0]]
    ingest.rollback(con, id_import, user=LOCAL)
    assert _data(con) == before


def test_targets_and_meetings_replace_only_their_own_qpv_and_instances(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    code, qp = cur.execute("SELECT code_indicateur, code_qp FROM cible_indicateur ORDER BY ALL LIMIT 1").fetchall()[0]
    others = store.scalar(cur, "SELECT count(*) FROM cible_indicateur WHERE code_qp <> $q", {"q": qp})
    text = f"code_indicateur;code_qp;valeur_cible\n{code};{qp};50\n"
    analysis = ingest.analyse(cur, text.encode(), "cibles.csv", replace_scope=True)
    assert analysis.ok, analysis.problems
    same_qpv = store.scalar(cur, "SELECT count(*) FROM cible_indicateur WHERE code_qp = $q", {"q": qp})
    assert _counts(analysis)["cible_indicateur"]["absents du fichier"] == same_qpv - 1
    ingest.commit(con, analysis, user=LOCAL, replace_scope=True)
    assert store.scalar(cur, "SELECT count(*) FROM cible_indicateur WHERE code_qp <> $q", {"q": qp}) == others
    instance = store.scalar(cur, "SELECT min(code_instance) FROM reunion")
    meetings = cur.execute(
        "SELECT id_reunion, strftime(date_reunion, '%d/%m/%Y'), statut FROM reunion "
        "WHERE code_instance = $i ORDER BY 1",
        {"i": instance},
    ).fetchall()
    text = "id_reunion;code_instance;date_reunion;statut\n" + "".join(
        f"{r};{instance};{d};{st}\n" for r, d, st in meetings
    )
    analysis = ingest.analyse(cur, text.encode(), "reunions.csv", replace_scope=True)
    assert analysis.ok, analysis.problems
    assert _counts(analysis)["reunion"]["absents du fichier"] == 0  # other instances' meetings are not in scope
