"""Séance: frozen agenda sections, exports (PPTX, PDF, XLSX), live walk-through and closing."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest

from cdv_core import exports, fmt, seance, store
from cdv_core.queries import overview
from tests.conftest import DEMO_AU, demo_agenda, run_app

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

CONTRAT = "CV-DEMO-VERM"


@pytest.fixture(scope="module")
def agenda(demo_store_master):
    return demo_agenda(demo_store_master, CONTRAT)


@pytest.fixture(scope="module")
def decisions():
    return pl.DataFrame(
        {
            "libelle": ["Relancer les porteurs", '=HYPERLINK("http://x")'],
            "responsable": ["Cheffe de projet", None],
            "date_echeance": [date(2027, 1, 31), None],
        }
    )


COVER = exports.Cover(
    "Comité de pilotage", "Contrat de ville de la CA du Pays de Vermandie (démo)", date(2026, 11, 20), DEMO_AU
)


def test_sections_reuse_the_page_figures(agenda, demo_cur):
    overview_section = agenda[0]
    expected = overview.headline(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU)
    values = {f.label: f.value for f in overview_section.figures}
    assert values["Quartiers prioritaires"] == fmt.integer(expected["quartiers"])
    assert values["Montant accordé 2026"] == fmt.euros(expected["accorde"])
    assert [s.key for s in agenda] == list(seance.DEFAULT_AGENDA)
    assert all(s.title.startswith(seance.SECTIONS[s.key][0]) for s in agenda)


def test_pptx_has_the_expected_slides_and_figures(agenda, decisions):
    from pptx import Presentation

    deck = Presentation(io.BytesIO(exports.to_pptx(COVER, agenda, decisions)))
    texts = [" ".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame) for slide in deck.slides]
    assert len(deck.slides) >= 1 + len(agenda) + 1  # a table that does not fit gets a slide of its own
    assert "Comité de pilotage" in texts[0] and "données au 15/11/2026" in texts[0]
    main = [text for text in texts[1:] if "(suite)" not in text]
    for section, text in zip(agenda, main):
        assert section.title in text
        assert section.figures[0].value in text
    last = deck.slides[-1]
    assert "Décisions de la séance" in texts[-1]
    table = next(shape.table for shape in last.shapes if shape.has_table)
    assert table.cell(1, 0).text == "Relancer les porteurs"
    assert any(shape.shape_type == 13 for shape in deck.slides[1].shapes)  # the chart picture


def test_pdf_pages_text_and_non_blank_first_page(agenda, decisions):
    import pypdfium2
    from pypdf import PdfReader

    data = exports.to_pdf(COVER, agenda, decisions)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1 + len(agenda) + 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    for section in agenda:
        assert section.title in text
    amount = next(f.value for f in agenda[0].figures if f.label.startswith("Montant accordé"))
    assert amount.replace("\u202f", " ").replace("\u00a0", " ") in text.replace("\u202f", " ").replace("\u00a0", " ")
    image = pypdfium2.PdfDocument(data)[0].render(scale=1).to_pil().convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 500, "the cover page shows text"


def test_xlsx_has_one_sheet_per_section_and_neutralised_formulas(agenda, decisions):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(exports.to_xlsx(COVER, agenda, decisions)))
    assert book.sheetnames[0] == "Séance"
    for section in agenda:  # full names, never cut mid-word (tests/queries/test_exports.py)
        assert exports._sheet_name(section, set()) in book.sheetnames
    sheet = book["Décisions"]
    assert sheet["A3"].value == '\'=HYPERLINK("http://x")'
    assert sheet["A3"].data_type == "s"


def test_cli_export_writes_each_format(tmp_path, demo_store):
    import subprocess
    import sys

    from tests.conftest import ROOT

    for name in exports.FORMATS:
        out = tmp_path / f"x.{name}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cdv_core",
                "export",
                "--contract",
                CONTRAT,
                "--format",
                name,
                "--out",
                str(out),
                "--store",
                str(demo_store),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 1000
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "cdv_core",
            "export",
            "--contract",
            "CV-INCONNU",
            "--format",
            "pdf",
            "--out",
            str(tmp_path / "y.pdf"),
            "--store",
            str(demo_store),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "inconnu" in bad.stderr


def _start(at):
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    at.button(key="seance_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_walking_the_agenda(app_env):
    at = _start(run_app("seance"))
    assert at.header[0].value == "Vue d'ensemble"
    titles = [at.header[0].value]
    for _ in range(len(seance.DEFAULT_AGENDA) - 1):
        at.button(key="seance_next").click().run()
        assert not at.exception, [e.value for e in at.exception]
        titles.append(at.header[0].value)
    assert titles[1].startswith("Projet de quartier — ")
    assert titles[2:] == [
        "Actions et paiements en retard",
        "Indicateurs hors trajectoire",
        "Gouvernance",
        "Préparation de l'actualisation 2027",
    ]
    assert at.button(key="seance_next").disabled
    at.button(key="seance_prev").click().run()
    assert at.header[0].value == "Gouvernance"


def test_figures_stay_frozen_until_refresh(app_env):
    at = _start(run_app("seance"))
    before = _shown(at)["Montant accordé 2026"]
    con = store.connect(app_env)  # on a file, same process: shares the app's database instance
    try:  # another user's import during the séance adds 1 000 € to an action of 2026
        with store.transaction(con) as tx:
            code = tx.execute(
                "SELECT code_action FROM action WHERE code_contrat = ? AND annee_debut = 2026 "
                "ORDER BY code_action LIMIT 1",
                [CONTRAT],
            ).fetchall()[0][0]
            key = "code_action = ? AND financeur = 'autres' AND annee = 2026"
            if tx.execute(f"SELECT count(*) FROM financement WHERE {key}", [code]).fetchall()[0][0]:
                tx.execute(f"UPDATE financement SET montant_accorde = montant_accorde + 1000 WHERE {key}", [code])
            else:
                tx.execute(
                    "INSERT INTO financement (code_action, financeur, annee, montant_accorde) "
                    "VALUES (?, 'autres', 2026, 1000)",
                    [code],
                )
    finally:
        con.close()
    at.run()
    assert _shown(at)["Montant accordé 2026"] == before
    at.button(key="seance_refresh").click().run()
    after = _shown(at)["Montant accordé 2026"]
    as_number = lambda text: int(text.replace("\u202f", "").replace("\u00a0€", ""))  # noqa: E731
    assert as_number(after) == as_number(before) + 1000


def test_capturing_a_decision_and_closing_writes_the_log(app_env):
    at = _start(run_app("seance"))
    at.text_input(key="seance_dec_libelle").input("Lancer un groupe de travail santé mentale")
    at.text_input(key="seance_dec_resp").input("Délégué du préfet")
    at.button(key="seance_dec_submit").click().run()
    assert not at.exception
    at.number_input(key="seance_participants").set_value(24)
    at.number_input(key="seance_habitants").set_value(4)
    at.button(key="seance_close").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Séance enregistrée" in s.value for s in at.success)
    con = store.connect(app_env)
    try:
        rows = con.execute(
            """SELECT r.statut, r.nb_participants, r.nb_habitants, d.responsable, d.statut
               FROM decision d JOIN reunion r USING (id_reunion)
               WHERE d.libelle = 'Lancer un groupe de travail santé mentale'"""
        ).fetchall()
    finally:
        con.close()
    assert rows == [("tenue", 24, 4, "Délégué du préfet", "à faire")]


def test_exports_without_a_seance_are_built_on_demand(app_env):
    at = run_app("seance")
    assert not at.get("download_button")  # nothing computed before it is asked for
    at.button(key="export_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Télécharger (PowerPoint)", "Télécharger (PDF)", "Télécharger (Excel)"]


def test_closing_remembers_the_agenda_for_the_next_seance(app_env):
    at = run_app("seance")
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    instance = at.selectbox(key="seance_instance").value
    at.multiselect(key="seance_agenda").set_value(["gouvernance", "vue_ensemble"]).run()
    at.button(key="seance_start").click().run()
    assert at.header[0].value == "Gouvernance"
    at.button(key="seance_close").click().run()
    assert not at.exception and not at.error
    at.selectbox(key="seance_instance").set_value(instance).run()
    reused = at.multiselect(key="seance_agenda_gouvernance_vue_ensemble")
    assert reused.value == ["gouvernance", "vue_ensemble"]
    assert any("repris de la dernière séance" in c.value for c in at.caption)
