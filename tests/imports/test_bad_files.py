"""The bad-file corpus (tests/bad_files): every file is refused with its French message, and the
store's content is unchanged (checksum of every table before and after)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user
from tests.conftest import ROOT

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

CORPUS = Path(__file__).resolve().parents[1] / "bad_files"
with open(CORPUS / "expected.csv", encoding="utf-8") as fh:
    CASES = list(csv.DictReader(fh, delimiter=";"))


def checksums(con) -> dict:
    cur = con.cursor()
    sums = {
        t: cur.execute("SELECT count(*), coalesce(sum(hash(x)), 0) FROM " + t + " x").fetchall()[0]
        for t in store.table_names(cur)
    }
    sums["_annulation_tables"] = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'annulation'"
    ).fetchall()[0][0]
    return sums


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert all((CORPUS / c["fichier"]).exists() for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["fichier"] for c in CASES])
def test_bad_file_is_refused_with_french_message_and_store_unchanged(case, demo_store):
    con = store.connect(demo_store)
    before = checksums(con)
    data = (CORPUS / case["fichier"]).read_bytes()
    max_bytes = 1000 if case["fichier"].startswith("trop_gros") else ingest.MAX_UPLOAD_BYTES
    analysis = ingest.analyse(con.cursor(), data, case["fichier"], kind=case["type"] or None, max_bytes=max_bytes)
    messages = analysis.problems.filter(analysis.problems["gravité"] == "erreur")["problème"].to_list()
    assert not analysis.ok
    assert any(case["message"] in m for m in messages), messages
    # every problem row names the file and says what is expected
    assert analysis.problems["fichier"].unique().to_list() == [case["fichier"]]
    assert analysis.problems["correction attendue"].str.len_chars().min() > 0
    with pytest.raises(ingest.ImportRefused):
        ingest.commit(con, analysis, user=LOCAL)
    assert checksums(con) == before
    con.close()


@pytest.mark.parametrize("name", ["binaire.csv", "qpv_inconnu.csv", "separateurs_melanges.csv"])
def test_cli_rejects_bad_file_with_exit_1(name, demo_store):
    con = store.connect(demo_store)
    before = checksums(con)
    con.close()
    out = subprocess.run(
        [sys.executable, "-m", "cdv_core", "import", str(CORPUS / name), "--store", str(demo_store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Import refusé" in out.stdout
    assert "Traceback" not in out.stderr
    con = store.connect(demo_store)
    assert checksums(con) == before
    con.close()
