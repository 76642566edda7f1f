"""Hostile files (issue #23): each class of file that took the server down or slipped bad data in
is refused or flagged with its French message, the store unchanged, and the reading's memory
bounded. The files are generated (tests/hostile.py): small, or too big to commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user
from cdv_core.ingest import read_csv, reading
from tests import hostile
from tests.conftest import ROOT
from tests.imports.test_bad_files import checksums

LOCAL = local_user("test")
H_PORTEURS = "id_porteur;siret;rna;nom;type_structure"
H_ACTIONS = (
    "code_action;code_contrat;id_porteur;libelle;thematique;mode_financement;annee_debut;annee_fin;statut;code_qp"
)
ACTION = "A-H-{n};CV-DEMO-VERM;37002196811833;{titre};1.1;AAP;2025;2025;accordée;QN00281M"
H_FIN = "code_action;financeur;annee;montant_demande;montant_accorde;montant_verse"


def _actions(*titles: str) -> bytes:
    return (H_ACTIONS + "\n" + "\n".join(ACTION.format(n=i, titre=t) for i, t in enumerate(titles)) + "\n").encode()


# (name, bytes, kind forced or None, fragment of the expected error)
REFUSED = [
    ("coin_eloigne.xlsx", hostile.far_corner_xlsx(), None, "16\u202f384 colonnes (jusqu'à la colonne XFD)"),
    ("million_colonnes.csv", hostile.wide_header_csv(), None, "réglage CDV_MAX_COLONNES"),
    ("ligne_d_un_million.csv", hostile.wide_line_csv(), None, "réglage CDV_MAX_COLONNES"),
    (
        "octet_cp1252_egare.csv",
        (
            "id_porteur;siret;rna;nom;type_structure\n"
            + "".join(f"PH{i};;;Compagnie de l'Été n° {i};association\n" for i in range(300))
        ).encode()
        + "PH999;;;Fête de quartier;association\n".encode("cp1252"),
        None,
        "Caractère illisible",
    ),
    ("formule_cmd.csv", (H_PORTEURS + "\nP1;;;+cmd|' /C calc'!A0;autre\n").encode(), None, "formule de tableur"),
    ("formule_calcul.csv", (H_PORTEURS + "\nP1;;;-1+1;autre\n").encode(), None, "formule de tableur"),
    (
        "formule_arobase.csv",
        (H_PORTEURS + "\nP1;;;@SUM(1+1)*cmd|' /C calc'!A0;autre\n").encode(),
        None,
        "formule de tableur",
    ),
    ("formule_tabulation.csv", _actions("\t=1+1"), None, "formule de tableur"),
    (
        "html_evenement.csv",
        (H_PORTEURS + "\nP1;;;<b onmouseover=alert(1)>Asso</b>;autre\n").encode(),
        None,
        "code HTML",
    ),
    ("html_details.csv", (H_PORTEURS + "\nP1;;;<details open ontoggle=alert(1)>;autre\n").encode(), None, "code HTML"),
]


@pytest.mark.parametrize("name, data, kind, message", REFUSED, ids=[c[0] for c in REFUSED])
def test_hostile_file_is_refused_in_french_and_store_unchanged(name, data, kind, message, demo_store):
    con = store.connect(demo_store)
    try:
        before = checksums(con)
        analysis = ingest.analyse(con.cursor(), data, name, kind=kind)
        errors = analysis.problems.filter(analysis.problems["gravité"] == "erreur")
        assert not analysis.ok
        assert any(message in m for m in errors["problème"].to_list()), errors
        if not name.endswith(".xlsx") and "CDV_MAX" not in message:  # a cell refused: located
            assert errors["ligne"].drop_nulls().len() > 0
        with pytest.raises(ingest.ImportRefused):
            ingest.commit(con, analysis, user=LOCAL)
        assert checksums(con) == before
    finally:
        con.close()


def test_cell_bound_is_a_setting_with_its_value_in_the_message(monkeypatch):
    monkeypatch.setenv("CDV_MAX_CELLULES", "1000")
    data = b"code;libelle\n" + b"A;b\n" * 600
    with pytest.raises(
        reading.ReadError,
        match=r"601 lignes × 2 colonnes, soit 1\u202f202 cellules.*"
        r"\(1\u202f000 cellules, réglage CDV_MAX_CELLULES\)",
    ):
        reading.read_bytes(data, "x.csv")
    sheet = hostile.xlsx({"A1": "code", "A2000": "x"})
    with pytest.raises(reading.ReadError, match=r"jusqu'à la cellule A2\u202f000.*réglage CDV_MAX_CELLULES"):
        reading.read_bytes(sheet, "x.xlsx")


def test_forged_dimension_reads_the_actual_cells():
    raw = reading.read_bytes(hostile.forged_dimension_xlsx(), "x.xlsx")
    assert raw.frame.columns == [reading.LINE, "code", "libelle"]
    assert raw.frame["libelle"].to_list() == ["Un", "Deux"] and raw.frame[reading.LINE].to_list() == [2, 3]


def test_stray_byte_names_its_line_and_keeps_the_rest_utf8():
    data = b"code;titre\n" + "".join(f"A{i};Été {i}\n" for i in range(2999)).encode() + b"A9;F\xeate\n"
    raw = reading.read_bytes(data, "x.csv")
    assert raw.encoding == "utf-8" and raw.frame["titre"][0] == "Été 0"  # not « Ã‰tÃ© »
    assert "ligne 3\u202f001 caractère 5 (0xEA)" in raw.notes[0]
    assert [(p["ligne"], p["colonne"], p["gravite"]) for p in raw.problems] == [(3001, "titre", "erreur")]


def test_cut_last_cell_is_a_warning_naming_the_value(demo_store):
    con = store.connect(demo_store)
    try:
        data = (H_FIN + "\nA-CV-DEMO-BRE-2024-000001;CAF;2024;100;10").encode()  # « 10 000 » cut
        analysis = ingest.analyse(con.cursor(), data, "coupe.csv")
        rows = analysis.problems.filter(analysis.problems["problème"].str.contains("tronqué"))
        assert rows.select("ligne", "colonne", "valeur", "gravité").rows() == [
            (2, "montant_accorde", "10", "avertissement")
        ]
    finally:
        con.close()


def test_control_characters_are_removed_with_a_warning_and_stored_clean(demo_store):
    con = store.connect(demo_store)
    try:
        # a NUL in the first 4 KiB says « binary file »; further down it is a stray character
        filler = "".join(f"P-F{i};;;Association numéro {i};autre\n" for i in range(120))
        data = (H_PORTEURS + "\n" + filler + "P-CTRL;;;Asso\x1b[31m du \x07quartier\x00;autre\n").encode()
        analysis = ingest.analyse(con.cursor(), data, "controle.csv")
        warned = analysis.problems.filter(analysis.problems["problème"] == "Caractère de contrôle invisible retiré")
        assert warned.select("ligne", "colonne", "gravité").rows() == [(122, "nom", "avertissement")]
        assert "␛" in warned["valeur"][0]  # the invisible character shown in the report
        assert analysis.ok, analysis.problems
        ingest.commit(con, analysis, user=LOCAL)
        assert store.scalar(con, "SELECT nom FROM porteur WHERE id_porteur = 'P-CTRL'") == "Asso[31m du quartier"
    finally:
        con.close()


def test_plain_signed_numbers_and_dash_placeholders_are_not_formulas(demo_store):
    con = store.connect(demo_store)
    try:
        data = _actions("- ", "Atelier +", "Sport & santé : -20 % de sédentarité")
        analysis = ingest.analyse(con.cursor(), data, "ok.csv")
        assert not analysis.problems.filter(analysis.problems["problème"].str.contains("formule")).height
    finally:
        con.close()


_MEASURE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from cdv_core.ingest import read_csv, reading
from tests import hostile
data = {make}
start = time.perf_counter()
try:
    reading.read_bytes(data, {name!r}); outcome = "lu"
except reading.ReadError as exc:
    outcome = str(exc)
peak = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:"))  # this process's own peak (ru_maxrss counts the forking parent's)
print(json.dumps({{"outcome": outcome, "seconds": time.perf_counter() - start, "peak_mb": peak / 1024}}))
"""
PEAK_MB = 600  # the interpreter with Polars, DuckDB and fastexcel loaded is ≈ 250 MB


@pytest.mark.parametrize(
    "make, name",
    [
        ("hostile.far_corner_xlsx()", "coin.xlsx"),
        ("hostile.wide_header_csv()", "large.csv"),
        ("b'code;libelle\\n' + b'A;b\\n' * 200_000 + b'A;' + b';' * 1_000_000 + b'\\n'", "ligne.csv"),
    ],
)
def test_hostile_reading_memory_is_bounded(make, name):
    """Each worst file, read in its own process: refused or read in seconds, under PEAK_MB."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE.format(root=str(ROOT), make=make, name=name)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["peak_mb"] < PEAK_MB, result
    assert result["seconds"] < 30, result


def test_command_line_checks_the_size_before_reading(tmp_path, demo_store):
    """A 2 GB file (sparse: no disk used) is refused from its size, without being read."""
    big = tmp_path / "enorme.csv"
    with open(big, "wb") as fh:
        fh.truncate(2 * 1024**3)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy, sys; sys.argv = ['cdv_core', 'import', sys.argv[1], '--store', "
            "sys.argv[2]]\ntry:\n    runpy.run_module('cdv_core', run_name='__main__')\n"
            "finally:\n    print('PEAK', [int(x.split()[1]) // 1024 for x in open('/proc/self/status') "
            "if x.startswith('VmHWM:')][0])",
            str(big),
            str(demo_store),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ},
    )
    assert out.returncode == 1
    assert (
        "enorme.csv : Le fichier pèse 2\u202f048,0 Mo, au-delà de la taille maximale autorisée (200 Mo)" in out.stderr
    )
    assert "Traceback" not in out.stderr
    assert int(out.stdout.split("PEAK")[-1]) < PEAK_MB


def test_adultes_relais_list_has_the_same_bounds(empty_store):
    from cdv_core import ingest

    analysis = ingest.analyse(empty_store.cursor(), hostile.wide_header_csv(), "postes.csv", kind="adultes-relais")
    assert not analysis.ok and "réglage CDV_MAX_COLONNES" in analysis.file_errors[0]


def test_a_full_disk_during_the_analysis_is_a_french_message(demo_store, monkeypatch):
    """The reading writes temporary files (DuckDB's location of ragged lines): a full disk there
    is said in French, with what to do, and nothing is written."""
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/tmpabc.csv")

    monkeypatch.setattr(read_csv, "duckdb_file", full)
    con = store.connect(demo_store)
    try:
        before = checksums(con)
        analysis = ingest.analyse(con.cursor(), b"code;libelle;x\nA;b;c;d\n", "ragged.csv")
        assert not analysis.ok
        assert analysis.file_errors == [
            "Le fichier n'a pas pu être analysé : le disque du serveur est plein ; libérez "
            "de la place (ou demandez-le à l'administrateur), puis déposez à nouveau le "
            "fichier"
        ]
        assert "/tmp" not in analysis.problems.write_csv()
        assert checksums(con) == before
    finally:
        con.close()


def test_a_damaged_workbook_is_a_french_error():
    import io
    import zipfile

    data = hostile.xlsx({"A1": "code", "A2": "x"})
    source, rebuilt = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w") as z:  # the sheet's part is missing
        for info in source.infolist():
            if "sheet1" not in info.filename:
                z.writestr(info, source.read(info))
    with pytest.raises(reading.ReadError, match="endommagé \\(feuille « Feuil1 » illisible\\)"):
        reading.read_bytes(rebuilt.getvalue(), "x.xlsx")
    with pytest.raises(reading.ReadError, match="ne peut pas être ouvert"):
        reading.read_bytes(data[: len(data) // 2], "x.xlsx")  # cut in the middle
