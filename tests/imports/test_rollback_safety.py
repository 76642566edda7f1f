"""Rolling an import back never erases what was written since, and never claims a restore it
cannot make: the log of writes (migration 0006), forms' entries, adulte-relais imports."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user
from cdv_core.edits import acteurs as edits_acteurs
from cdv_core.edits import jalons as edits
from tests.conftest import minimal_contract
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


def _jalons_file(cur, n: int = 3) -> tuple[bytes, list[str]]:
    """A jalons file renaming the first `n` milestones of the store (a change per row)."""
    rows = cur.execute(
        "SELECT id_jalon, code_contrat, type_jalon, libelle, strftime(date_prevue, '%d/%m/%Y') "
        "FROM jalon WHERE date_realisation IS NULL ORDER BY id_jalon LIMIT $n",
        {"n": n},
    ).fetchall()
    text = "id_jalon;code_contrat;type_jalon;libelle;date_prevue\n" + "".join(
        f"{i};{c};{t};{lib} (modifié);{d}\n" for i, c, t, lib, d in rows
    )
    return text.encode("utf-8"), [r[0] for r in rows]


def _import(con, data: bytes, name: str) -> int:
    analysis = ingest.analyse(con.cursor(), data, name)
    assert analysis.ok, analysis.problems
    return ingest.commit(con, analysis, user=LOCAL)


def test_every_write_is_logged_with_its_tables_and_version(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    data, ids = _jalons_file(cur)
    id_import = _import(con, data, "jalons.csv")
    version = store.store_version(cur)
    assert cur.execute(
        "SELECT nom_table, id_import FROM journal_ecriture WHERE version_store = $v", {"v": version}
    ).fetchall() == [("jalon", id_import)]
    edits.mark_done(con, id_jalon=ids[0], date_realisation=date(2026, 11, 1), today=date(2026, 11, 26), user=LOCAL)
    assert cur.execute(
        "SELECT nom_table, id_import FROM journal_ecriture WHERE version_store = $v", {"v": version + 1}
    ).fetchall() == [("jalon", None)]
    with store.transaction(con) as tx:  # a writer that does not say which tables: '*'
        tx.execute("UPDATE contrat SET signataires = signataires")
    assert cur.execute(
        "SELECT nom_table FROM journal_ecriture WHERE version_store = $v", {"v": version + 2}
    ).fetchall() == [("*",)]


def test_rollback_is_refused_when_a_form_changed_the_imported_table_since(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    data, ids = _jalons_file(cur)
    id_import = _import(con, data, "jalons.csv")
    edits.mark_done(con, id_jalon=ids[0], date_realisation=date(2026, 11, 1), today=date(2026, 11, 26), user=LOCAL)
    before = checksums(con)
    with pytest.raises(store.StoreError, match=r"la table « jalon » a été modifiée depuis dans l'application"):
        ingest.rollback(con, id_import, user=LOCAL)
    assert checksums(con) == before  # nothing written, not even the log
    assert store.scalar(cur, "SELECT date_realisation FROM jalon WHERE id_jalon = $i", {"i": ids[0]}) == date(
        2026, 11, 1
    )
    assert store.scalar(cur, "SELECT statut FROM import_log WHERE id_import = $i", {"i": id_import}) == "validé"


def test_a_form_entry_elsewhere_or_before_the_import_does_not_block_its_rollback(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    edits.add_milestone(
        con,
        code_contrat="CV-DEMO-BRE",
        type_jalon="autre",
        libelle="Réunion publique",
        date_prevue=date(2027, 3, 1),
        today=date(2026, 11, 26),
        user=LOCAL,
    )  # before the import
    before = _data(con)
    data, _ = _jalons_file(cur)
    id_import = _import(con, data, "jalons.csv")
    edits_acteurs.attach_contract(con, code_cv_2015="CV049", code_contrat="CV-DEMO-BRE", user=LOCAL)  # another table
    ingest.rollback(con, id_import, user=LOCAL)
    after = _data(con)
    assert after.pop("correspondance_contrat") != before.pop("correspondance_contrat")
    assert after == before


def test_rollback_is_refused_after_a_writer_that_did_not_name_its_tables(demo_store):
    con = store.connect(demo_store)
    data, _ = _jalons_file(con.cursor())
    id_import = _import(con, data, "jalons.csv")
    with store.transaction(con) as tx:
        tx.execute("UPDATE contrat SET signataires = signataires")
    with pytest.raises(store.StoreError, match="des données ont été modifiées depuis"):
        ingest.rollback(con, id_import, user=LOCAL)


def test_rolled_back_later_imports_no_longer_block(demo_store):
    con = store.connect(demo_store)
    cur = con.cursor()
    before = _data(con)
    first, _ = _jalons_file(cur, 2)
    id1 = _import(con, first, "jalons.csv")
    second, _ = _jalons_file(cur, 4)  # renames the renamed ones again, and two more
    id2 = _import(con, second, "jalons2.csv")
    with pytest.raises(store.StoreError, match="plus récent"):
        ingest.rollback(con, id1, user=LOCAL)
    ingest.rollback(con, id2, user=LOCAL)
    ingest.rollback(con, id1, user=LOCAL)
    assert _data(con) == before


def _rec(id_poste: str, montant: float) -> dict:
    return {
        "id_poste": id_poste,
        "code_tiers": "77554402601284",
        "raison_sociale": "CENTRE SOCIAL",
        "annee": 2023,
        "montant": montant,
        "code_cv": "CV001",
        "insee_dep": "01",
        "insee_reg": "84",
    }


def test_an_adulte_relais_import_rolls_back_exactly(empty_store):
    con = empty_store
    minimal_contract(con)
    empty = _data(con)
    first = ingest.analyse(con.cursor(), json.dumps([_rec("A1", 22555.73), _rec("B1", 22555.73)]).encode(), "ar.json")
    ingest.commit(con, first, user=LOCAL)
    after_first = _data(con)
    second = ingest.analyse(con.cursor(), json.dumps([_rec("A1", 23000), _rec("C1", 1000)]).encode(), "ar2.json")
    ingest.commit(con, second, user=LOCAL)
    counts = second.diff.filter(second.diff["table"] == "financement_poste").row(0, named=True)
    assert (counts["nouveaux"], counts["modifiés"], counts["inchangés"]) == (1, 1, 0)
    cur = con.cursor()
    ids = [r[0] for r in cur.execute("SELECT id_import FROM import_log ORDER BY id_import").fetchall()]
    assert store.scalar(cur, "SELECT count(*) FROM poste") == 3
    done = ingest.rollback(con, ids[1], user=LOCAL)
    assert done["poste"] == {"lignes retirées": 1, "lignes restaurées": 0}
    assert done["financement_poste"] == {"lignes retirées": 1, "lignes restaurées": 1}
    assert _data(con) == after_first
    assert float(store.scalar(cur, "SELECT montant FROM financement_poste WHERE id_poste = 'A1'")) == 22555.73
    ingest.rollback(con, ids[0], user=LOCAL)
    assert _data(con) == empty


def test_an_import_without_rollback_data_is_not_marked_as_rolled_back(empty_store):
    """Adulte-relais imports made before this version kept no rollback data."""
    cur = empty_store.cursor()
    cur.execute(
        "INSERT INTO import_log (id_import, type_import, fichier, debut, statut, version_store) "
        "VALUES (1, 'adultes-relais', 'ar.json', now(), 'validé', 3)"
    )
    id_import = store.scalar(cur, "SELECT max(id_import) FROM import_log")
    with pytest.raises(store.StoreError, match="ne peut pas être annulé : il n'a pas gardé l'état antérieur"):
        ingest.rollback(empty_store, id_import, user=LOCAL)
    assert store.scalar(cur, "SELECT statut FROM import_log WHERE id_import = $i", {"i": id_import}) == "validé"


def test_an_import_made_before_the_log_of_writes_is_not_rolled_back_over_unknown_edits(tmp_path, monkeypatch):
    """A store upgraded to 0006 knows nothing of the form entries made before: a milestone marked
    done after a jalons import, then the upgrade, then the rollback must not erase that date."""
    path = tmp_path / "v5.duckdb"
    shipped = store.migrations
    monkeypatch.setattr(store, "migrations", lambda: [m for m in shipped() if m[0] <= 5])
    con = duckdb.connect(str(path))
    store.migrate(con)
    minimal_contract(con, "CV-T", ("QN00281M",))
    con.execute("INSERT INTO jalon VALUES ('J-1', 'CV-T', 'autre', 'Réunion publique', DATE '2026-03-01', NULL, 2026)")
    data = b"id_jalon;code_contrat;type_jalon;libelle;date_prevue\n" + (
        "J-1;CV-T;autre;Réunion publique (modifiée);01/03/2026\n".encode()
    )
    id_import = _import(con, data, "jalons.csv")
    con.execute("UPDATE jalon SET date_realisation = DATE '2026-03-02'")  # a form entry, not logged before 0006
    con.close()
    monkeypatch.undo()
    con = store.connect(path)
    before = checksums(con)
    with pytest.raises(store.StoreError, match="avant que la base ne tienne le journal de ses écritures"):
        ingest.rollback(con, id_import, user=LOCAL)
    assert checksums(con) == before
    assert store.scalar(con, "SELECT date_realisation FROM jalon") == date(2026, 3, 2)
