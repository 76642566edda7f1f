"""Reading and typing fixes of the import (issue 8 audit): Excel tables that hid rows, amounts
off by a factor of 1 000, NaN / inf / huge numbers that crashed the commit, two-digit years,
lone-CR line ends, unclosed quotes and title rows above the header."""

from __future__ import annotations

import io
import subprocess
import sys

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from cdv_core import ingest, store
from cdv_core.access import local_user
from cdv_core.ingest import clean, numbers, reading, templates
from cdv_core.ingest.model import Analysis
from cdv_core.ingest.spec import KINDS
from cdv_core.ingest.spec_types import Col
from tests.conftest import ROOT
from tests.imports.test_bad_files import checksums

LOCAL = local_user("test")  # CDV_AUTH=aucune: may do everything

ACTION = "A-CV-DEMO-BRE-2024-000001"  # an action of the demo store (contract CV-DEMO-BRE)
CONTRAT_ROW = [
    "CV-002-STQ",
    "Contrat de ville de Saint-Quentin",
    "EPCI",
    "200071892",
    "02",
    "32",
    "hexagone",
    "31/03/2024",
    "01/01/2024",
    "31/12/2030",
    "Préfet ; Maire",
]


def _analyse(con, data: bytes | str, name: str = "f.csv", **kw) -> Analysis:
    return ingest.analyse(con.cursor(), data.encode() if isinstance(data, str) else data, name, **kw)


def _problems(a) -> set[tuple]:
    return {(r["ligne"], r["colonne"], r["problème"], r["gravité"]) for r in a.problems.iter_rows(named=True)}


def _load(a, table: str) -> pl.DataFrame:
    return next(load.frame for load in a.loads if load.table == table)


# ------------------------------------------------------------------ A1 Excel tables


def _xlsx_with_table(rows: list[list], table_rows: int) -> bytes:
    """A sheet whose Excel table covers the header and the first `table_rows` data rows only;
    the other rows are typed below it (as LibreOffice / openpyxl leave them)."""
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as wb:
        ws = wb.add_worksheet("Financements")
        header, body = rows[0], rows[1:]
        ws.add_table(
            0, 0, table_rows, len(header) - 1, {"columns": [{"header": h} for h in header], "data": body[:table_rows]}
        )
        for i, row in enumerate(body[table_rows:], start=table_rows + 1):
            ws.write_row(i, 0, row)
    return buffer.getvalue()


FIN_ROWS = [
    ["code_action", "financeur", "annee", "montant_accorde"],
    [ACTION, "CAF", 2024, 100],
    [ACTION, "EPCI", 2024, 200],
    [ACTION, "commune", 2024, 300],
]


def test_rows_typed_below_an_excel_table_are_read():
    raw = reading.read_bytes(_xlsx_with_table(FIN_ROWS, 1), "t.xlsx")
    assert raw.frame["financeur"].to_list() == ["CAF", "EPCI", "commune"]
    assert raw.frame[reading.LINE].to_list() == [2, 3, 4]


def test_rows_of_an_extended_excel_table_and_below_it_are_all_read():
    raw = reading.read_bytes(_xlsx_with_table([*FIN_ROWS, [ACTION, "région", 2024, 400]], 3), "t.xlsx")
    assert raw.frame["montant_accorde"].to_list() == ["100", "200", "300", "400"]


def test_templates_have_no_excel_table_but_a_formatted_header():
    for kind in templates.DOWNLOADABLE:
        wb = openpyxl.load_workbook(io.BytesIO(templates.template_xlsx(kind)))
        ws = wb.worksheets[0]
        assert not ws.tables, kind
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        assert [c.value for c in ws[1]] == [c.name for c in KINDS[kind].columns]
        assert ws["A1"].font.b
        assert [w.title for w in wb.worksheets][1] == "Description"


def test_contract_typed_below_the_template_example_is_imported(demo_store):
    wb = openpyxl.load_workbook(io.BytesIO(templates.template_xlsx("contrats")))
    wb.worksheets[0].append(CONTRAT_ROW)
    buffer = io.BytesIO()
    wb.save(buffer)
    con = store.connect(demo_store)
    a = _analyse(con, buffer.getvalue(), "contrats.xlsx")
    assert a.nb_lignes == 2
    assert "CV-002-STQ" in _load(a, "contrat")["code_contrat"].to_list()
    con.close()


def test_excel_numbers_are_never_read_as_thousands():
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as wb:
        ws = wb.add_worksheet()
        ws.write_row(0, 0, ["code_action", "financeur", "annee", "montant_accorde"])
        ws.write_row(1, 0, [ACTION, "CAF", 2024, 12.345])
    raw = reading.read_bytes(buffer.getvalue(), "t.xlsx")
    value, _ = clean.typed_column(Col("m", "montant"), pl.col("montant_accorde"))
    assert raw.frame.select(value)[0, 0] == pytest.approx(12.345)


# ------------------------------------------------------------------ A2 thousands groupings

FIN_HEADER = "code_action;financeur;annee;montant_demande;montant_accorde;montant_verse\n"


def test_thousands_groupings_are_read_with_a_warning(demo_store):
    con = store.connect(demo_store)
    a = _analyse(
        con,
        FIN_HEADER + f"{ACTION};CAF;2024;12.500;12,500.00;1,234.56\n"
        f"{ACTION};EPCI;2024;1.234.567;1.234.567;1 234,50 €\n",
    )
    assert a.errors == 0, a.problems
    fin = _load(a, "financement").sort("financeur")
    assert fin["montant_demande"].to_list() == [12500.0, 1234567.0]
    assert fin["montant_accorde"].to_list() == [12500.0, 1234567.0]
    assert fin["montant_verse"].to_list() == [1234.56, 1234.5]
    got = _problems(a)
    assert (2, "montant_demande", "Point lu comme séparateur de milliers : lu 12\u202f500", "avertissement") in got
    assert (2, "montant_accorde", numbers.READ_AS_ENGLISH + " : lu 12\u202f500", "avertissement") in got
    assert (2, "montant_verse", numbers.READ_AS_ENGLISH + " : lu 1\u202f234,56", "avertissement") in got
    assert (
        3,
        "montant_demande",
        "Point lu comme séparateur de milliers : lu 1\u202f234\u202f567",
        "avertissement",
    ) in got
    assert not any(r[1] == "montant_verse" and r[0] == 3 for r in got)  # plain French: no warning
    con.close()


def test_ambiguous_amount_is_an_error_never_a_silent_value(demo_store):
    con = store.connect(demo_store)
    a = _analyse(con, FIN_HEADER + f"{ACTION};CAF;2024;12,500;1,23.4;0\n")
    errors = {(r[1], r[2].split(" :")[0]) for r in _problems(a) if r[3] == "erreur"}
    assert ("montant_demande", "Nombre ambigu") in errors
    assert ("montant_accorde", "Valeur non numérique") in errors
    assert not a.ok
    con.close()


@pytest.mark.parametrize(
    ("type_", "cell", "expected", "message"),
    [
        ("montant", "12.500", 12500.0, numbers.READ_AS_THOUSANDS),
        ("montant", "1.000 €", 1000.0, numbers.READ_AS_THOUSANDS),
        ("montant", "12,500", None, numbers.AMBIGUOUS),
        ("montant", "1.234,56", 1234.56, None),
        ("montant", "0.125", 0.125, None),
        ("decimal", "12.500", None, numbers.AMBIGUOUS),  # a measure may have 3 decimals
        ("decimal", "12,500", 12.5, None),  # French decimal comma
        ("decimal", "1.234.567", 1234567.0, numbers.READ_AS_THOUSANDS),
        ("valeur_secret", "1,234,567", 1234567.0, numbers.READ_AS_ENGLISH),
        ("entier", "1.000", 1000, numbers.READ_AS_THOUSANDS),  # was read as 1
        ("entier", "1,000", None, numbers.AMBIGUOUS),  # was read as 1
    ],
)
def test_number_shapes(type_, cell, expected, message):
    value, checks = clean.typed_column(Col("x", type_), pl.col("x"))
    frame = pl.DataFrame({"x": [cell]}).with_columns(value.alias(clean.VALUE))
    flags = frame.select(c.fill_null(False).alias(m) for c, m, *_ in checks).row(0, named=True)
    assert frame[clean.VALUE][0] == (pytest.approx(expected) if isinstance(expected, float) else expected)
    raised = [m for m, on in flags.items() if on]
    assert raised == ([m for m in flags if m.startswith(message)] if message else [])


# ------------------------------------------------------------------ A4 NaN, inf, too big


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("NaN", "Valeur non numérique"),
        ("inf", "Valeur non numérique"),
        ("-Infinity", "Valeur non numérique"),
        ("99999999999999999", "Montant trop grand (au plus 999 999 999 999,99)"),
        ("1000000000000", "Montant trop grand (au plus 999 999 999 999,99)"),
    ],
)
def test_non_finite_or_too_big_amount_is_refused_before_commit(demo_store, cell, message):
    con = store.connect(demo_store)
    before = checksums(con)
    # État P147 / 2024 exists in the store for this action: the diff used to crash on it
    a = _analyse(
        con, f"code_action;financeur;annee;montant_accorde\n{ACTION};État P147;2024;{cell}\n", kind="financements"
    )
    assert [(r[2], r[3]) for r in _problems(a)] == [(message, "erreur")]
    with pytest.raises(ingest.ImportRefused):
        ingest.commit(con, a, user=LOCAL)
    assert checksums(con) == before
    con.close()


def test_largest_amount_is_accepted(demo_store):
    con = store.connect(demo_store)
    a = _analyse(con, f"code_action;financeur;annee;montant_accorde\n{ACTION};CAF;2024;999 999 999 999,99\n")
    assert a.errors == 0, a.problems
    ingest.commit(con, a, user=LOCAL)
    got = con.execute(
        "SELECT montant_accorde FROM financement WHERE code_action = $a AND financeur = 'CAF'", {"a": ACTION}
    ).fetchall()
    assert float(got[0][0]) == 999999999999.99
    con.close()


def test_integer_beyond_the_store_integer_is_refused(demo_store):
    con = store.connect(demo_store)
    instance = con.execute("SELECT code_instance FROM instance LIMIT 1").fetchall()[0][0]
    a = _analyse(
        con,
        "id_reunion;code_instance;date_reunion;statut;nb_participants;nb_habitants\n"
        f"R-BIG;{instance};01/02/2025;tenue;3000000000;2\n",
        kind="reunions",
    )
    assert (2, "nb_participants", "Nombre trop grand (au plus 2 147 483 647)", "erreur") in _problems(a)
    assert not a.ok
    con.close()


def test_cli_dry_run_on_nan_for_an_existing_key_reports_instead_of_crashing(demo_store, tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text(f"code_action;financeur;annee;montant_accorde\n{ACTION};État P147;2024;inf\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "cdv_core", "import", str(path), "--dry-run", "--store", str(demo_store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Valeur non numérique" in out.stdout and "Traceback" not in out.stderr


# ------------------------------------------------------------------ A15 two-digit years


def test_two_digit_year_is_an_explicit_error(demo_store):
    con = store.connect(demo_store)
    a = _analyse(
        con,
        f"code_action;financeur;annee;montant_accorde;date_decision\n{ACTION};CAF;2024;100;1/4/24\n"
        f"{ACTION};EPCI;2024;100;01/04/2024\n",
    )
    errors = [(r[0], r[1], r[2]) for r in _problems(a) if r[3] == "erreur"]
    assert errors == [(2, "date_decision", "Année sur 2 chiffres : écrivez l'année en entier")]
    assert "01/04/2024" in a.problems.filter(pl.col("ligne") == 2)["correction attendue"][0]
    con.close()


def test_two_digit_year_in_a_year_column_says_so(demo_store):
    con = store.connect(demo_store)
    a = _analyse(con, f"code_action;financeur;annee;montant_accorde\n{ACTION};CAF;24;100\n")
    messages = [r[2] for r in _problems(a) if r[1] == "annee"]
    assert "Année sur 2 chiffres : écrivez l'année en entier" in messages
    assert "Valeur trop petite" not in messages
    con.close()


# ------------------------------------------------------------------ A12 lone CR line ends

LINES = ["code_action;financeur;annee;montant_accorde", f"{ACTION};CAF;2024;1 234,50", f"{ACTION};Région;2024;500"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_lone_cr_line_ends_are_read(encoding):
    raw = reading.read_bytes(("\r".join(LINES) + "\r").encode(encoding), "mac.csv")
    assert raw.frame.columns == [reading.LINE, "code_action", "financeur", "annee", "montant_accorde"]
    assert raw.frame["financeur"].to_list() == ["CAF", "Région"]
    assert raw.frame[reading.LINE].to_list() == [2, 3]


def test_crlf_files_are_unchanged_by_the_lone_cr_rule():
    data = ("\r\n".join(LINES) + "\r\n").encode()
    raw = reading.read_bytes(data, "win.csv")
    assert raw.frame["montant_accorde"].to_list() == ["1 234,50", "500"]
    assert not any("Macintosh" in n for n in raw.notes)
    # a quoted lone CR inside a field of a CRLF file stays inside its field, as a line feed
    quoted = b'a;b\r\n"x\ry";2\r\n'
    assert reading.read_bytes(quoted, "q.csv").frame["a"].to_list() == ["x\ny"]


# ------------------------------------------------------------------ A13 messages in French


def test_unclosed_quote_is_explained_in_french_with_its_line(demo_store):
    con = store.connect(demo_store)
    a = _analyse(con, f'code_action;financeur;annee;montant_accorde\n{ACTION};CAF;2024;1\n"{ACTION};EPCI;2024;2\n')
    message = a.problems["problème"][0]
    assert message.startswith("Le fichier ne peut pas être lu comme un tableau CSV : un guillemet")
    assert "ligne 3" in message
    assert message.index("Détail technique") > 150  # the parser's English words only at the end
    con.close()


TITLE = "Extraction Dauphin du 12/03/2026"
PROG_HEADER = [
    "N° dossier",
    "Libellé de l'action",
    "Code SIRET",
    "Raison sociale",
    "Montant engagé",
    "Exercice",
    "Code contrat ville",
    "Thème",
]
PROG_ROW = [
    "2026-T-0001",
    "Action titre",
    "37002196811833",
    "MJC Les Rouliers - Plateau",
    "1500",
    "2026",
    "CV-DEMO-BRE",
    "1.1",
]


@pytest.mark.parametrize("title_line", [TITLE + ";;;;;;;", TITLE, '"' + TITLE + '"'])
def test_title_row_above_the_header_is_skipped_in_csv(demo_store, title_line):
    data = "\n".join([title_line, ";;;;;;;", ";".join(PROG_HEADER), ";".join(PROG_ROW)]) + "\n"
    raw = reading.read_bytes(data.encode("utf-8-sig"), "prog.csv")
    assert raw.frame.columns[1:] == PROG_HEADER
    assert raw.frame[reading.LINE].to_list() == [4]
    assert any("En-tête trouvé à la ligne 3" in n for n in raw.notes)
    con = store.connect(demo_store)
    a = _analyse(con, data.encode("utf-8-sig"), "prog.csv")
    assert a.kind == "programmation" and a.errors == 0, a.problems
    con.close()


def test_title_without_separator_above_a_comma_separated_header():
    data = "\n".join([TITLE, "", ",".join(PROG_HEADER), ",".join(PROG_ROW), ",".join(PROG_ROW)]) + "\n"
    raw = reading.read_bytes(data.encode(), "prog.csv")
    assert raw.separator == "," and raw.frame.columns[1:] == PROG_HEADER
    assert raw.frame[reading.LINE].to_list() == [4, 5]


def test_title_row_above_the_header_is_skipped_in_xlsx():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([TITLE])
    ws.append([])
    ws.append(PROG_HEADER)
    ws.append(PROG_ROW)
    buffer = io.BytesIO()
    wb.save(buffer)
    raw = reading.read_bytes(buffer.getvalue(), "prog.xlsx")
    assert raw.frame.columns[1:] == PROG_HEADER
    assert raw.frame[reading.LINE].to_list() == [4]


def test_data_rows_are_never_taken_for_a_header():
    # a header shorter than its (ragged) data lines: reported, not replaced by a data line
    raw = reading.read_bytes(b"a;b\n1;2;3;4;5\n6;7;8;9;10\n", "r.csv")
    assert raw.frame.columns[1:3] == ["a", "b"]
    assert raw.problems


def test_unnamed_columns_with_data_get_a_french_note():
    raw = reading.read_bytes(b"code_action;;montant\nA-1;x;12\n", "u.csv")
    assert any(n.startswith("La première ligne ne ressemble pas à un en-tête") for n in raw.notes)


def test_a_measure_column_that_uses_the_dot_as_decimal_mark_reads_12_345_as_a_decimal(demo_store):
    """`12.345` alone is ambiguous in a measure (12 345 or 12,345?); in a column whose other cells
    plainly use the dot as decimal mark (`45.2`) and none the comma, it is 12,345."""
    con = store.connect(demo_store)
    code = store.scalar(con, "SELECT min(code_indicateur) FROM indicateur")
    text = (
        "code_indicateur;type_territoire;code_territoire;date_valeur;valeur\n"
        f"{code};QPV;QN00281M;01/01/2029;12.345\n{code};QPV;QN00282M;01/01/2029;45.2\n"
    )
    analysis = ingest.analyse(con.cursor(), text.encode(), "valeurs.csv")
    assert analysis.ok, analysis.problems
    assert analysis.loads[0].frame.sort("code_territoire")["valeur"].to_list() == [12.345, 45.2]
    alone = ingest.analyse(con.cursor(), text.replace("45.2", "45,2").encode(), "valeurs.csv")
    assert "Nombre ambigu" in alone.problems["problème"].str.slice(0, 13).to_list()
