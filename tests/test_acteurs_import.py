"""Importer of the national adulte-relais list: validation, idempotence, the real 2023 file."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cdv_core import acteurs_import
from cdv_core.queries import acteurs as q
from tests.conftest import REFERENCE, minimal_contract

from cdv_core.access import local_user

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

REAL_FILE = REFERENCE / "adulte-relais-2023.json"


def _rec(id_poste, siret, code_cv="CV001", **extra):
    return {"id_poste": id_poste, "code_tiers": siret, "raison_sociale": f"Employeur {siret}", "annee": 2023,
            "montant": 22555.73, "code_cv": code_cv, "insee_dep": "01", "insee_reg": "84"} | extra


GOOD = "77554402601284"   # Luhn-valid (from the public list)
OTHER = "31538511200026"


def test_validation_reports_every_bad_row_in_french():
    frame = acteurs_import.read(json.dumps([
        _rec("A1", GOOD), _rec("", GOOD), _rec("A3", "123"), _rec("A4", GOOD, annee="deux mille"),
        _rec("A5", GOOD, montant=-5)]).encode())
    report = acteurs_import.validate(frame)
    assert not report.ok
    assert any("ligne 2, colonne id_poste" in e for e in report.errors)
    assert any("ligne 4, colonne annee" in e and "deux mille" in e for e in report.errors)
    assert any("ligne 5, colonne montant" in e for e in report.errors)
    # "123" is re-padded to 14 digits (Excel strips zeros) and kept, with a checksum warning.
    assert not any("ligne 3" in e for e in report.errors)


def test_missing_columns_are_refused():
    report = acteurs_import.validate(acteurs_import.read(b'[{"id_poste": "A1"}]'))
    assert not report.ok and "code_tiers" in report.errors[0]


def test_duplicates_and_reimport(empty_store):
    minimal_contract(empty_store)
    data = json.dumps([_rec("A1", GOOD), _rec("A1", OTHER), _rec("A1", OTHER), _rec("B1", GOOD, code_cv=None),
                       _rec("C1", "77554402601285")]).encode()
    report, counts = acteurs_import.import_file(empty_store, data, filename="ar.json", user=LOCAL)
    assert report.ok and counts == {"nouveaux": 4, "modifies": 0, "inchanges": 0}
    assert sorted(report.posts["id_poste"]) == ["A1", "A1-2", "B1", "C1"]
    assert any("double exact" in w for w in report.warnings)
    assert any("clé de contrôle" in w and "77554402601285" in w for w in report.warnings)
    assert any("sans code" in w for w in report.warnings)
    cur = empty_store.cursor()
    assert cur.execute("SELECT count(*), CAST(sum(montant) AS DOUBLE) FROM financement_poste").fetchall() == [(4, pytest.approx(4 * 22555.73))]
    assert cur.execute("SELECT count(*) FROM import_log WHERE type_import = 'adultes-relais'").fetchall() == [(1,)]
    # A user attaches a post to a 2024 contract; a re-import changes nothing and keeps that.
    cur.execute("UPDATE poste SET code_contrat = 'CV-T' WHERE id_poste = 'B1'")
    _, again = acteurs_import.import_file(empty_store, data, filename="ar.json", user=LOCAL)
    assert again == {"nouveaux": 0, "modifies": 0, "inchanges": 4}
    assert cur.execute("SELECT code_contrat FROM poste WHERE id_poste = 'B1'").fetchall() == [("CV-T",)]
    # A changed amount is an update, not a new line.
    changed = json.dumps([_rec("A1", GOOD, montant=23000)]).encode()
    _, third = acteurs_import.import_file(empty_store, changed, user=LOCAL)
    assert third == {"nouveaux": 0, "modifies": 1, "inchanges": 0}
    assert cur.execute("SELECT CAST(montant AS DOUBLE) FROM financement_poste WHERE id_poste = 'A1'").fetchall()[0][0] == 23000


def test_a_bad_file_writes_nothing(empty_store):
    report, counts = acteurs_import.import_file(empty_store, b"[{not json", filename="x.json", user=LOCAL)
    assert counts is None and not report.ok and "illisible" in report.errors[0]
    assert empty_store.execute("SELECT count(*) FROM poste").fetchall() == [(0,)]


def test_csv_with_semicolons_and_stripped_zeros(empty_store):
    text = ("id_poste;code_tiers;raison_sociale;annee;montant;code_cv;insee_dep;insee_reg\n"
            "00112R000103;77554402601284;CENTRE SOCIAL;2023;22555,73;CV002;1;84\n")
    report, counts = acteurs_import.import_file(empty_store, text.encode("cp1252"), filename="ar.csv", user=LOCAL)
    assert report.ok and counts["nouveaux"] == 1
    assert empty_store.execute("SELECT insee_dep, code_cv_2015 FROM poste").fetchall() == [("01", "CV002")]


@pytest.mark.skipif(not REAL_FILE.exists(), reason="../shared/reference/adulte-relais-2023.json absent (données de référence non disponibles)")
def test_real_national_file_imports_and_counts_per_contract_code(empty_store):
    records = json.loads(REAL_FILE.read_text(encoding="utf-8"))
    expected = Counter(r.get("code_cv") or "sans code" for r in records)     # independent count: one post per record
    report, counts = acteurs_import.import_file(empty_store, REAL_FILE, user=LOCAL)
    assert report.ok, report.errors
    assert counts["nouveaux"] == len(records)
    got = q.posts_by_code_2015(empty_store.cursor(), annee=2023)
    assert dict(zip(got["code_cv_2015"], got["nb_postes"])) == dict(expected)
    assert got["montant"].sum() == pytest.approx(sum(r["montant"] for r in records), abs=0.01)
    assert expected["CV049"] == dict(zip(got["code_cv_2015"], got["nb_postes"]))["CV049"] > 100
    _, again = acteurs_import.import_file(empty_store, REAL_FILE, user=LOCAL)
    assert again == {"nouveaux": 0, "modifies": 0, "inchanges": len(records)}


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe\x00garbage", b"[]", b"id_poste\n"])
def test_odd_files_give_a_french_report_not_an_exception(raw):
    report = acteurs_import.check(raw, filename="x")
    assert not report.ok and report.errors
