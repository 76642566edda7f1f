"""The national adulte-relais list, a file kind of the import pipeline (`ingest.analyse` +
`ingest.commit`): validation, idempotence, the real 2023 file."""

from __future__ import annotations

import json
from collections import Counter

import polars as pl
import pytest

from cdv_core import ingest
from cdv_core.access import local_user
from cdv_core.ingest.model import ERROR, WARNING
from cdv_core.queries import acteurs as q
from tests.conftest import REFERENCE, minimal_contract

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything
KIND = "adultes-relais"

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

REAL_FILE = REFERENCE / "adulte-relais-2023.json"


def _rec(id_poste, siret, code_cv="CV001", **extra):
    return {
        "id_poste": id_poste,
        "code_tiers": siret,
        "raison_sociale": f"Employeur {siret}",
        "annee": 2023,
        "montant": 22555.73,
        "code_cv": code_cv,
        "insee_dep": "01",
        "insee_reg": "84",
    } | extra


GOOD = "77554402601284"  # Luhn-valid (from the public list)
OTHER = "31538511200026"


def _problems(analysis, severity=ERROR) -> list[tuple]:
    return (
        analysis.problems.filter(pl.col("gravité") == severity).select("ligne", "colonne", "valeur", "problème").rows()
    )


def _import(con, data: bytes, filename: str = "ar.json"):
    """Analyse then commit; returns the analysis (its diff: what the commit changed)."""
    analysis = ingest.analyse(con.cursor(), data, filename)
    assert analysis.kind == KIND and analysis.ok, analysis.problems
    ingest.commit(con, analysis, user=LOCAL)
    return analysis


def store_amount(cur, id_poste: str) -> float:
    return cur.execute(
        "SELECT CAST(montant AS DOUBLE) FROM financement_poste WHERE id_poste = $p", {"p": id_poste}
    ).fetchall()[0][0]


def _counts(analysis, table: str) -> dict:
    row = analysis.diff.filter(pl.col("table") == table).row(0, named=True)
    return {k: row[k] for k in ("nouveaux", "modifiés", "inchangés")}


def test_validation_reports_every_bad_row_in_french(empty_store):
    data = json.dumps(
        [
            _rec("A1", GOOD),
            _rec("", GOOD),
            _rec("A3", "123"),
            _rec("A4", GOOD, annee="deux mille"),
            _rec("A5", GOOD, montant=-5),
        ]
    ).encode()
    analysis = ingest.analyse(empty_store.cursor(), data, "ar.json")
    assert analysis.kind == KIND and not analysis.ok
    errors = _problems(analysis)
    assert any(line == 2 and col == "id_poste" for line, col, _, _ in errors)
    assert any(line == 4 and col == "annee" and value == "deux mille" for line, col, value, _ in errors)
    assert any(line == 5 and col == "montant" for line, col, _, _ in errors)
    # "123" is re-padded to 14 digits (Excel strips zeros) and kept, with a checksum warning.
    assert not any(line == 3 for line, *_ in errors)
    assert any(line == 3 and value == "00000000000123" for line, _, value, _ in _problems(analysis, WARNING))


def test_missing_columns_are_refused(empty_store):
    analysis = ingest.analyse(empty_store.cursor(), b'[{"id_poste": "A1"}]', "ar.json", kind=KIND)
    assert not analysis.ok and "code_tiers" in analysis.missing
    assert any(col == "code_tiers" and "absente" in why for _, col, _, why in _problems(analysis))


def test_duplicates_and_reimport(empty_store):
    minimal_contract(empty_store)
    data = json.dumps(
        [
            _rec("A1", GOOD),
            _rec("A1", OTHER),
            _rec("A1", OTHER),
            _rec("B1", GOOD, code_cv=None),
            _rec("C1", "77554402601285"),
        ]
    ).encode()
    analysis = _import(empty_store, data)
    assert _counts(analysis, "poste") == {"nouveaux": 4, "modifiés": 0, "inchangés": 0}
    posts = next(load for load in analysis.loads if load.table == "poste").frame
    assert sorted(posts["id_poste"]) == ["A1", "A1-2", "B1", "C1"]
    warnings = _problems(analysis, WARNING)
    assert any("identique" in why for *_, why in warnings)
    assert any("clé de contrôle" in why and value == "77554402601285" for _, _, value, why in warnings)
    assert any("sans code" in note for note in analysis.notes)
    cur = empty_store.cursor()
    assert cur.execute("SELECT count(*), CAST(sum(montant) AS DOUBLE) FROM financement_poste").fetchall() == [
        (4, pytest.approx(4 * 22555.73))
    ]
    assert cur.execute("SELECT count(*) FROM import_log WHERE type_import = 'adultes-relais'").fetchall() == [(1,)]
    # A user attaches a post to a 2024 contract; a re-import changes nothing and keeps that.
    cur.execute("UPDATE poste SET code_contrat = 'CV-T' WHERE id_poste = 'B1'")
    again = ingest.analyse(cur, data, "ar.json")
    assert _counts(again, "poste") == {"nouveaux": 0, "modifiés": 0, "inchangés": 4}
    assert _counts(again, "financement_poste") == {"nouveaux": 0, "modifiés": 0, "inchangés": 4}
    ingest.commit(empty_store, again, user=LOCAL)
    assert cur.execute("SELECT code_contrat FROM poste WHERE id_poste = 'B1'").fetchall() == [("CV-T",)]
    # A changed amount is an update, not a new line.
    third = _import(empty_store, json.dumps([_rec("A1", GOOD, montant=23000)]).encode())
    assert _counts(third, "financement_poste") == {"nouveaux": 0, "modifiés": 1, "inchangés": 0}
    assert store_amount(cur, "A1") == 23000


def test_a_bad_file_writes_nothing(empty_store):
    analysis = ingest.analyse(empty_store.cursor(), b"[{not json", "x.json")
    assert not analysis.ok and "JSON" in analysis.file_errors[0] and "ne peut pas être lu" in analysis.file_errors[0]
    with pytest.raises(ingest.ImportRefused):
        ingest.commit(empty_store, analysis, user=LOCAL)
    assert empty_store.execute("SELECT count(*) FROM poste").fetchall() == [(0,)]


def test_csv_with_semicolons_and_stripped_zeros(empty_store):
    text = (
        "id_poste;code_tiers;raison_sociale;annee;montant;code_cv;insee_dep;insee_reg\n"
        "00112R000103;77554402601284;CENTRE SOCIAL;2023;22555,73;CV002;1;84\n"
    )
    analysis = _import(empty_store, text.encode("cp1252"), "ar.csv")
    assert _counts(analysis, "poste")["nouveaux"] == 1
    assert empty_store.execute("SELECT insee_dep, code_cv_2015 FROM poste").fetchall() == [("01", "CV002")]


@pytest.mark.skipif(
    not REAL_FILE.exists(),
    reason="../shared/reference/adulte-relais-2023.json absent (données de référence non disponibles)",
)
def test_real_national_file_imports_and_counts_per_contract_code(empty_store):
    records = json.loads(REAL_FILE.read_text(encoding="utf-8"))
    expected = Counter(r.get("code_cv") or "sans code" for r in records)  # independent count: one post per record
    analysis = _import(empty_store, REAL_FILE.read_bytes(), REAL_FILE.name)
    assert _counts(analysis, "poste")["nouveaux"] == len(records)
    got = q.posts_by_code_2015(empty_store.cursor(), annee=2023)
    assert dict(zip(got["code_cv_2015"], got["nb_postes"])) == dict(expected)
    assert got["montant"].sum() == pytest.approx(sum(r["montant"] for r in records), abs=0.01)
    assert expected["CV049"] == dict(zip(got["code_cv_2015"], got["nb_postes"]))["CV049"] > 100
    again = ingest.analyse(empty_store.cursor(), REAL_FILE.read_bytes(), REAL_FILE.name)
    assert _counts(again, "poste") == {"nouveaux": 0, "modifiés": 0, "inchangés": len(records)}


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe\x00garbage", b"[]", b"id_poste\n"])
def test_odd_files_give_a_french_report_not_an_exception(empty_store, raw):
    analysis = ingest.analyse(empty_store.cursor(), raw, "x", kind=KIND)
    assert not analysis.ok and analysis.errors
