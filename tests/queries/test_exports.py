"""Exports a partner can reuse (#17): slides with nothing cut and the PDF's tables, Excel with
numbers as numbers (French number formats), years as years, « oui/non », full sheet names."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest

from cdv_core import exports, seance, tables
from cdv_core.figures import financements as fig_fin
from cdv_core.queries import financements as fin
from tests.conftest import DEMO_AU, demo_agenda

CONTRAT = "CV-DEMO-VERM"
COVER = exports.Cover(
    "Comité de pilotage", "Contrat de ville de la CA du Pays de Vermandie (démo)", date(2026, 11, 20), DEMO_AU
)
DECISIONS = pl.DataFrame(
    {
        "libelle": [f"Décision {n}" for n in range(15)] + ['=HYPERLINK("http://x")'],
        "responsable": ["Cheffe de projet"] * 16,
        "date_echeance": [date(2027, 1, 31)] * 16,
    }
)


@pytest.fixture(scope="module")
def agenda(demo_store_master):
    return demo_agenda(demo_store_master, CONTRAT)


@pytest.fixture(scope="module")
def deck(agenda):
    from pptx import Presentation

    return Presentation(io.BytesIO(exports.to_pptx(COVER, agenda, DECISIONS)))


@pytest.fixture(scope="module")
def book(agenda):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(exports.to_xlsx(COVER, agenda, DECISIONS)))


def test_every_shape_inside_its_slide(deck):
    outside = [
        (n, shape.name, shape.left, shape.top, shape.width, shape.height)
        for n, slide in enumerate(deck.slides, start=1)
        for shape in slide.shapes
        if shape.left < 0
        or shape.top < 0
        or shape.left + shape.width > deck.slide_width
        or shape.top + shape.height > deck.slide_height
    ]
    assert not outside
    assert any(shape.shape_type == 13 for slide in deck.slides for shape in slide.shapes)  # charts kept


def _tables(deck) -> list[list[list[str]]]:
    return [
        [[cell.text for cell in row.cells] for row in shape.table.rows]
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_table
    ]


def test_pptx_has_the_pdf_tables(deck, agenda):
    texts = "\n".join(shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame)
    grids = _tables(deck)
    for section in agenda:
        if section.table is None or not section.table.height:
            continue
        assert section.table_title in texts, section.key
        head = section.table.head(seance.TABLE_ROWS)
        wanted = [list(head.columns)] + [["" if v is None else str(v) for v in row] for row in head.iter_rows()]
        assert wanted in grids, section.key
    by_key = {s.key: s for s in agenda}
    assert by_key["vue_ensemble"].table.height and by_key["projet_quartier"].table.height  # alerts, objectives
    assert by_key["projet_quartier"].notes[0] in texts
    decisions = [g for g in grids if g[0] == ["Décision", "Responsable", "Échéance"]]
    assert sum(len(g) - 1 for g in decisions) == DECISIONS.height  # every decision, over several slides


def test_seance_figures_are_numbers(book, agenda):
    for section in agenda:
        sheet = next(book[name] for name in book.sheetnames if name == exports._sheet_name(section, set()))
        values = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
        for figure in section.figures:
            if figure.number is None:
                assert values[figure.label] == figure.value
            else:
                assert isinstance(values[figure.label], int | float), (section.key, figure.label)
                assert values[figure.label] == pytest.approx(figure.number)
    overview = book[exports._sheet_name(agenda[0], set())]
    amount = next(row for row in overview.iter_rows(min_row=2) if row[0].value.startswith("Montant accordé"))
    assert amount[1].number_format == tables.XLSX_FORMATS["euros"]
    cover = {row[0]: row[1] for row in book["Séance"].iter_rows(min_row=2, values_only=True)}
    assert cover["Date de la séance"].date() == COVER.date_seance


def test_seance_detail_sheets_typed(book):
    late = book["Retards de paiement (détail)"]
    header = [c.value for c in late[1]]
    amounts = [row[header.index("Accordé (€)")] for row in late.iter_rows(min_row=2)]
    assert amounts and all(isinstance(c.value, int | float) for c in amounts)
    assert all(c.number_format == tables.XLSX_FORMATS["euros"] for c in amounts)
    decided = [row[header.index("Décision")] for row in late.iter_rows(min_row=2, values_only=True)]
    assert all(hasattr(v, "year") for v in decided)
    behind = book["Indicateurs en retard (détail)"]
    header = [c.value for c in behind[1]]
    for column in ("Référence", "Dernière valeur", "Cible", "Part attendue"):
        cells = [row[header.index(column)].value for row in behind.iter_rows(min_row=2)]
        assert all(v is None or isinstance(v, int | float) for v in cells), column
    decisions = book["Décisions"]
    assert decisions["A17"].value == '\'=HYPERLINK("http://x")' and decisions["A17"].data_type == "s"


def test_sheet_names_full_and_unique(book, agenda):
    names = book.sheetnames
    assert len(names) == len(set(names)) and all(len(n) <= 31 for n in names)
    expected = ["Séance"]
    for section in agenda:
        base = section.title if len(section.title) <= 31 - len(exports.DETAIL) else exports.SHEET_TITLES[section.key]
        expected += [base] + ([base + exports.DETAIL] if section.table is not None and section.table.height else [])
    assert names == [*expected, "Décisions"]
    assert {"Vue d'ensemble", "Gouvernance", "Retards de paiement (détail)", "Actualisation 2027"} <= set(names)


def test_sheet_name_cut_between_words():
    assert exports._cut_at_word("Préparation de l'actualisation 2027", 22) == "Préparation de"
    assert exports._cut_at_word("Anticonstitutionnellement", 10) == "Anticonsti"  # one word: no other way
    used: set[str] = set()
    first = exports._sheet_name(None, used, title="Décisions")
    second = exports._sheet_name(None, used, title="Décisions")
    assert (first, second) == ("Décisions", "Décisions 2")


def test_actions_export_years_euros_flags(demo_cur):
    from openpyxl import load_workbook

    frame = fig_fin.actions_table(fin.action_rows(demo_cur, contrat=CONTRAT, annee=None))
    assert frame.height and frame.schema["Hors QPV"] == pl.Boolean
    sheet = load_workbook(io.BytesIO(tables.to_xlsx_bytes({"Actions": frame})))["Actions"]
    header = [c.value for c in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2))
    for column in ("Année de début", "Année de fin"):
        cells = [r[header.index(column)] for r in rows if r[header.index(column)].value is not None]
        assert cells and all(isinstance(c.value, int) and c.number_format == "0" for c in cells), column
    for column in ("Demandé (€)", "Accordé (€)", "Versé (€)"):
        cells = [r[header.index(column)] for r in rows]
        assert all(isinstance(c.value, int | float) and c.number_format == '#,##0 "€"' for c in cells), column
    assert {r[header.index("Hors QPV")].value for r in rows} <= {"oui", "non"}
    for row in rows:  # no number left as text (identifiers such as the SIRET stay text)
        for cell in row:
            if isinstance(cell.value, str) and header[cell.column - 1] != "SIRET":
                assert not cell.value.replace("\u202f", "").replace(" ", "").replace(",", "").isdigit(), cell.value
    csv = tables.to_csv_bytes(frame).decode("utf-8-sig")
    assert ";false" not in csv and ";true" not in csv and ";non" in csv


def test_mixed_column_numbers_words_and_formulas():
    from openpyxl import load_workbook

    frame = pl.DataFrame(
        {
            "Valeur": [tables.Number(884_740, "euros"), "=1+1", "à surveiller", tables.Number(2024, "year")],
            "Vrai": [True, False, None, True],
        },
        schema={"Valeur": pl.Object, "Vrai": pl.Boolean},
    )
    sheet = load_workbook(io.BytesIO(tables.to_xlsx_bytes({"Feuille": frame})))["Feuille"]
    values = [c.value for c in sheet["A"][1:]]
    assert values == [884_740, "'=1+1", "à surveiller", 2024]
    assert [sheet["A2"].number_format, sheet["A5"].number_format] == ['#,##0 "€"', "0"]
    assert [c.value for c in sheet["B"][1:]] == ["oui", "non", None, "oui"]
    with pytest.raises(ValueError, match="31 caractères"):
        tables.to_xlsx_bytes({"x" * 32: frame})
