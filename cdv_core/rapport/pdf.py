"""The rapport annuel's draft as PDF (fpdf2, the DejaVu fonts of static/fonts as the séance
exports use them, so accents, « € » and narrow spaces print): the same content as the DOCX,
with the sections in the document outline."""

from __future__ import annotations

import polars as pl

from cdv_core import exports
from cdv_core.rapport.content import DRAFT_LABEL, FIGURE_HEADERS, Figures, Paragraph, Report, Subheading, Table

BLUE = (31, 78, 121)
RED = (166, 27, 27)


def to_pdf(report: Report) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(exports.FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(exports.FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{report.title} — {report.contrat}")
    pdf.set_lang("fr-FR")
    pdf.set_creator("Pilotage des contrats de ville")

    pdf.add_page()
    pdf.ln(50)
    pdf.set_font("DejaVu", "B", 22)
    pdf.set_text_color(*BLUE)
    pdf.multi_cell(0, 11, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "", 14)
    pdf.ln(4)
    pdf.multi_cell(0, 8, report.contrat, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 8, report.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 13)
    pdf.set_text_color(*RED)
    pdf.multi_cell(0, 8, DRAFT_LABEL, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)

    for section in report.sections:
        pdf.add_page()
        pdf.start_section(section.title, level=0)
        pdf.set_font("DejaVu", "B", 15)
        pdf.set_text_color(*BLUE)
        pdf.multi_cell(0, 8, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", "", 8)
        pdf.cell(0, 5, report.subtitle, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for block in section.blocks:
            if isinstance(block, Subheading):
                pdf.ln(2)
                pdf.start_section(block.text, level=1)
                pdf.set_font("DejaVu", "B", 12)
                pdf.set_text_color(*BLUE)
                pdf.multi_cell(0, 7, block.text, new_x="LMARGIN", new_y="NEXT")
                pdf.set_text_color(0, 0, 0)
            elif isinstance(block, Paragraph):
                if not block.text:
                    continue
                pdf.set_font("DejaVu", "", 10)
                if block.placeholder:
                    pdf.set_text_color(*RED)
                pdf.multi_cell(0, 5, block.text, new_x="LMARGIN", new_y="NEXT")
                pdf.set_text_color(0, 0, 0)
                pdf.ln(2)
            elif isinstance(block, Figures):
                notes = any(f.note for f in block.items)
                headers = list(FIGURE_HEADERS if notes else FIGURE_HEADERS[:2])
                frame = pl.DataFrame(
                    [[f.label, f.value, f.note or ""][: len(headers)] for f in block.items],
                    schema=headers,
                    orient="row",
                )
                exports._pdf_table(pdf, frame, None)
            elif isinstance(block, Table):
                if block.frame.height:
                    exports._pdf_table(pdf, block.frame, block.title)
                else:
                    pdf.set_font("DejaVu", "B", 11)
                    if block.title:
                        pdf.multi_cell(0, 6, block.title, new_x="LMARGIN", new_y="NEXT")
                    pdf.set_font("DejaVu", "", 10)
                    pdf.multi_cell(0, 5, block.empty, new_x="LMARGIN", new_y="NEXT")
                    pdf.ln(2)
    return bytes(pdf.output())
