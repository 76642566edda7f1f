"""« Supprimer les absents »: a file replaces its own scope only (the same indicators at its dates,
its contracts' dossiers of its years), and the actions it deletes take what hangs on them along,
all of it restored by the rollback."""

from __future__ import annotations

import pytest

from cdv_core import ingest, store
from tests.test_ingest_bad_files import checksums

BOOKKEEPING = ("import_log", "import_annulation", "import_correspondance", "store_meta", "journal_ecriture",
               "_annulation_tables")


def _data(con) -> dict:
    return {t: v for t, v in checksums(con).items() if t not in BOOKKEEPING}


def _counts(analysis) -> dict:
    return {r["table"]: r for r in analysis.diff.iter_rows(named=True)}


def _actions_file(con, contrat: str, *, without: str) -> bytes:
    """The contract's actions as the actions template writes them (required columns), but one."""
    rows = con.execute(
        "SELECT code_action, code_contrat, id_porteur, libelle, thematique, mode_financement, annee_debut, annee_fin, statut "
        "FROM action WHERE code_contrat = $c AND code_action <> $x ORDER BY 1", {"c": contrat, "x": without}).fetchall()
    header = "code_action;code_contrat;id_porteur;libelle;thematique;mode_financement;annee_debut;annee_fin;statut\n"
    return (header + "".join(";".join(str(v) for v in r) + "\n" for r in rows)).encode()


def test_deleting_an_absent_action_takes_its_funding_and_links_along_and_rolls_back(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    gone = store.scalar(cur, """SELECT min(a.code_action) FROM action a WHERE a.code_contrat = 'CV-DEMO-VERM'
                                AND a.code_action NOT IN (SELECT code_action FROM decision_action)
                                AND a.code_action IN (SELECT code_action FROM action_objectif)""")
    hanging = {t: store.scalar(cur, f"SELECT count(*) FROM {t} WHERE code_action = $a", {"a": gone})
               for t in ("financement", "action_quartier", "action_objectif")}
    assert all(hanging.values()), hanging
    before = _data(con)
    analysis = ingest.analyse(cur, _actions_file(cur, "CV-DEMO-VERM", without=gone), "actions.csv", replace_scope=True)
    assert analysis.ok, analysis.problems
    counts = _counts(analysis)
    assert counts["action"]["absents du fichier"] == 1 and counts["action"]["sort des absents"] == "supprimés"
    for table, n in hanging.items():
        assert counts[f"{table} (des lignes supprimées de action)"]["absents du fichier"] == n
    id_import = ingest.commit(con, analysis, auteur="test", replace_scope=True)
    for table in ("action", *hanging):
        assert store.scalar(cur, f"SELECT count(*) FROM {table} WHERE code_action = $a", {"a": gone}) == 0
    assert store.scalar(cur, "SELECT count(*) FROM action WHERE code_contrat = 'CV-DEMO-VERM'") == \
        before["action"][0] - 1 - store.scalar(cur, "SELECT count(*) FROM action WHERE code_contrat <> 'CV-DEMO-VERM'")
    done = ingest.rollback(con, id_import)
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
        ingest.commit(con, analysis, auteur="test", replace_scope=True)
    assert _data(con) == before


def test_a_values_file_replaces_its_indicator_at_its_date_only(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    code = store.scalar(cur, "SELECT min(code_indicateur) FROM indicateur")
    qpv = [r[0] for r in cur.execute("SELECT code_territoire FROM valeur_indicateur WHERE code_indicateur = $c "
                                     "AND type_territoire = 'QPV' AND date_valeur = DATE '2024-01-01' ORDER BY 1",
                                     {"c": code}).fetchall()]
    assert len(qpv) > 2
    others = store.scalar(cur, "SELECT count(*) FROM valeur_indicateur WHERE code_indicateur = $c "
                               "AND NOT (type_territoire = 'QPV' AND date_valeur = DATE '2024-01-01')", {"c": code})
    text = "code_indicateur;type_territoire;code_territoire;date_valeur;valeur\n" + "".join(
        f"{code};QPV;{q};01/01/2024;{i},25\n" for i, q in enumerate(qpv[1:]))
    analysis = ingest.analyse(cur, text.encode(), "valeurs.csv", replace_scope=True)
    assert analysis.ok, analysis.problems
    assert _counts(analysis)["valeur_indicateur"]["absents du fichier"] == 1  # the first QPV, that date only
    keys = analysis.changes["clé"].to_list()
    assert f"{code} / QPV / {qpv[0]} / 01/01/2024" in keys  # French dates in the diff's keys
    ingest.commit(con, analysis, auteur="test", replace_scope=True)
    assert store.scalar(cur, "SELECT count(*) FROM valeur_indicateur WHERE code_indicateur = $c AND code_territoire = $q "
                             "AND date_valeur = DATE '2024-01-01'", {"c": code, "q": qpv[0]}) == 0
    assert store.scalar(cur, "SELECT count(*) FROM valeur_indicateur WHERE code_indicateur = $c "
                             "AND NOT (type_territoire = 'QPV' AND date_valeur = DATE '2024-01-01')", {"c": code}) == others


def test_a_programmation_extract_replaces_its_exercice_not_the_other_years(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    # a contract and exercice whose dossiers no meeting decision points at (else the store refuses)
    contrat, year = cur.execute(
        """SELECT code_contrat, annee_debut FROM action WHERE annee_debut = annee_fin GROUP BY ALL
           HAVING count(*) FILTER (WHERE code_action IN (SELECT code_action FROM decision_action)) = 0
           ORDER BY ALL LIMIT 1""").fetchall()[0]
    same = "code_contrat = $c AND annee_debut = $y AND annee_fin = $y"
    other_years = store.scalar(cur, f"SELECT count(*) FROM action WHERE code_contrat = $c AND NOT ({same})",
                               {"c": contrat, "y": year})
    of_year = store.scalar(cur, f"SELECT count(*) FROM action WHERE {same}", {"c": contrat, "y": year})
    text = ("Code dossier;Libellé de l'action;Code SIRET;Raison sociale;Montant engagé;Exercice;Code contrat ville;Thème\n"
            f"D{year}-NEW-1;Atelier d'écriture;77554402601284;Centre social;1 500,00;{year};{contrat};1.1\n")
    analysis = ingest.analyse(cur, text.encode("utf-8"), "programmation.csv", replace_scope=True)
    assert analysis.kind == "programmation" and analysis.ok, analysis.problems
    assert _counts(analysis)["action"]["absents du fichier"] == of_year > 0
    before = _data(con)
    id_import = ingest.commit(con, analysis, auteur="test", replace_scope=True)
    assert store.scalar(cur, f"SELECT count(*) FROM action WHERE code_contrat = $c AND NOT ({same})",
                        {"c": contrat, "y": year}) == other_years
    assert store.scalar(cur, f"SELECT count(*) FROM action WHERE {same}", {"c": contrat, "y": year}) == 1
    assert store.scalar(cur, "SELECT count(*) FROM financement f WHERE NOT EXISTS "
                             "(SELECT 1 FROM action a WHERE a.code_action = f.code_action)") == 0
    ingest.rollback(con, id_import)
    assert _data(con) == before
