"""The rapport annuel's draft as an editable Word document (python-docx): a cover, then each
section of `content.Report` under a real « Heading 1 » (« Heading 2 » inside it), key figures
and tables with French headers, the team's missing texts in italics so they stand out."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_BREAK
from docx.shared import Pt, RGBColor

from cdv_core.rapport.content import DRAFT_LABEL, FIGURE_HEADERS, Figures, Paragraph, Report, Subheading, Table

PLACEHOLDER_COLOR = RGBColor(0xA6, 0x1B, 0x1B)


def _table(doc, headers: list[str], rows: list[tuple[str, ...]]) -> None:
    grid = doc.add_table(rows=1, cols=len(headers))
    grid.style = "Table Grid"
    for cell, name in zip(grid.rows[0].cells, headers):
        cell.text = ""
        run = cell.paragraphs[0].add_run(name)
        run.bold = True
    for values in rows:  # a section's table: tens of rows at most
        cells = grid.add_row().cells
        for cell, value in zip(cells, values):
            cell.text = "" if value is None else str(value)
    for row in grid.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(8.5)
    doc.add_paragraph()


def to_docx(report: Report) -> bytes:
    doc = Document()
    doc.core_properties.title = f"{report.title} — {report.contrat}"
    doc.core_properties.subject = report.subtitle
    doc.core_properties.language = "fr-FR"
    doc.core_properties.author = "Pilotage des contrats de ville"
    doc.styles["Normal"].font.size = Pt(10.5)

    doc.add_paragraph(report.title, style="Title")
    doc.add_paragraph(report.contrat, style="Subtitle")
    doc.add_paragraph(report.subtitle)
    note = doc.add_paragraph()
    run = note.add_run(DRAFT_LABEL)
    run.bold = True
    run.font.color.rgb = PLACEHOLDER_COLOR
    doc.add_paragraph(
        "Les chiffres viennent des écrans du tableau de bord à la date des données ; les passages "
        "« [À rédiger par l'équipe] » sont à écrire (ou à saisir dans l'onglet « Rapport annuel » de "
        "l'écran « Jalons et actualisation 2027 »)."
    )
    doc.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)

    for section in report.sections:
        doc.add_heading(section.title, level=1)
        for block in section.blocks:
            if isinstance(block, Subheading):
                doc.add_heading(block.text, level=2)
            elif isinstance(block, Paragraph):
                if not block.text:
                    continue
                paragraph = doc.add_paragraph()
                run = paragraph.add_run(block.text)
                if block.placeholder:
                    run.italic = True
                    run.font.color.rgb = PLACEHOLDER_COLOR
            elif isinstance(block, Figures):
                notes = any(f.note for f in block.items)
                headers = list(FIGURE_HEADERS if notes else FIGURE_HEADERS[:2])
                _table(doc, headers, [(f.label, f.value, f.note or "")[: len(headers)] for f in block.items])
            elif isinstance(block, Table):
                if block.title:
                    doc.add_paragraph(block.title, style="Heading 3")
                if block.frame.height:
                    _table(doc, block.frame.columns, block.frame.rows())
                else:
                    doc.add_paragraph(block.empty)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
