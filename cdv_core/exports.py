"""Exports of a séance (or any agenda) for élus: PowerPoint, PDF and Excel.

All three render the same frozen `seance.Section` objects; charts are rendered offline to PNG
(vl-convert) with the French locale. The PDF embeds the DejaVu fonts shipped in static/fonts
so accents, « € » and narrow spaces print on any machine.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from cdv_core import charts, fmt, tables
from cdv_core.domain import secret
from cdv_core.seance import TABLE_ROWS, Section
from cdv_core.settings import PROJECT_ROOT

FONTS = PROJECT_ROOT / "static" / "fonts"
FORMATS = ("pptx", "pdf", "xlsx")
Progress = Callable[[float, str], None]
PUBLISHABLE_NOTE = "Version publiable : sans noms de personnes, effectifs de moins de {seuil} personnes masqués"


@dataclass(frozen=True)
class Cover:
    titre: str  # e.g. « Comité de pilotage du 12/03/2027 »
    contrat: str  # contract label (or « Tous les contrats »)
    date_seance: date
    donnees_au: date
    publiable: str | None = None  # the publishable version's note (PUBLISHABLE_NOTE), printed on the cover


def decisions_table(decisions: pl.DataFrame | None, *, publiable: bool = False) -> pl.DataFrame:
    """The decisions slide/page: libellé, responsable, échéance (JJ/MM/AAAA); `publiable`: without
    the responsable (a person's name)."""
    if decisions is None or decisions.is_empty():
        table = pl.DataFrame(
            {"Décision": [], "Responsable": [], "Échéance": []},
            schema={"Décision": pl.String, "Responsable": pl.String, "Échéance": pl.String},
        )
    else:
        table = decisions.select(
            pl.col("libelle").cast(pl.String).alias("Décision"),
            pl.col("responsable").cast(pl.String).fill_null("—").alias("Responsable"),
            fmt.day_expr(pl.col("date_echeance").cast(pl.Date)).fill_null("—").alias("Échéance"),
        )
    return secret.remove_names(table) if publiable else table


def publishable_cover(cover: Cover, *, threshold: int) -> Cover:
    """The cover of a publishable version: it says so (and the renderers drop the names)."""
    return Cover(
        cover.titre,
        cover.contrat,
        cover.date_seance,
        cover.donnees_au,
        PUBLISHABLE_NOTE.format(seuil=fmt.integer(threshold)),
    )


def _noop(_share: float, _label: str) -> None:
    return None


# --- PowerPoint -----------------------------------------------------------------------------


def to_pptx(
    cover: Cover, sections: Sequence[Section], decisions: pl.DataFrame | None = None, *, progress: Progress = _noop
) -> bytes:
    from pptx import Presentation
    from pptx.enum.text import MSO_AUTO_SIZE
    from pptx.util import Inches, Pt

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    blank = deck.slide_layouts[6]

    def text(slide, left, top, width, height, value, size, *, bold=False, color=None):
        box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
        frame = box.text_frame
        frame.word_wrap = True
        run = frame.paragraphs[0].add_run()
        run.text = value
        run.font.size = Pt(size)
        run.font.bold = bold
        if color:
            from pptx.dml.color import RGBColor

            run.font.color.rgb = RGBColor(*color)
        return box

    slide = deck.slides.add_slide(blank)
    text(slide, 0.8, 2.0, 11.7, 1.2, cover.titre, 40, bold=True, color=(31, 78, 121))
    text(slide, 0.8, 3.3, 11.7, 0.8, cover.contrat, 24)
    text(
        slide,
        0.8,
        4.3,
        11.7,
        0.6,
        f"Séance du {fmt.day(cover.date_seance)} · données au {fmt.day(cover.donnees_au)}",
        18,
    )
    if cover.publiable:
        text(slide, 0.8, 5.1, 11.7, 0.6, cover.publiable, 16)

    def title(slide, value: str) -> None:
        # 8,4 in hold about 38 characters at 28 pt: a longer title (a quartier's name) gets smaller
        size = 28 if len(value) <= 38 else 22 if len(value) <= 50 else 18
        box = text(slide, 0.5, 0.3, 9.0 - 0.5 - 0.1, 0.8, value, size, bold=True, color=(31, 78, 121))
        box.text_frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
        text(slide, 9.3, 0.35, 3.5, 0.5, f"données au {fmt.day(cover.donnees_au)}", 12)

    for i, section in enumerate(sections):
        progress(i / max(len(sections), 1), f"Diapositive « {section.title} »")
        slide = deck.slides.add_slide(blank)
        title(slide, section.title)
        for j, figure in enumerate(section.figures[:8]):
            left, top = 0.5 + (j % 4) * 3.1, 1.2 + (j // 4) * 1.35
            text(slide, left, top, 3.0, 0.4, figure.label, 13)
            text(slide, left, top + 0.35, 3.0, 0.6, figure.value, 26, bold=True)
            if figure.note:
                text(slide, left, top + 0.95, 3.0, 0.3, figure.note, 10)
        top = 1.2 + 1.35 * (1 + (min(len(section.figures), 8) - 1) // 4) + 0.1
        if section.notes:  # the sentence the PDF prints under the figures
            text(slide, 0.5, top, 12.3, 0.5, section.notes[0], 12)
            top += 0.55
        table = section.table.head(TABLE_ROWS) if section.table is not None and section.table.height else None
        if section.chart:
            _pptx_picture(slide, charts.png(section.chart), top)
        elif table is not None and _pptx_table_fits(table, top, section.table_title):
            _pptx_table(slide, table, top, section.table_title)
            table = None
        if table is not None:  # the PDF's table, on a slide of its own when it does not fit
            slide = deck.slides.add_slide(blank)
            title(slide, f"{section.title} (suite)")
            _pptx_table(slide, table, 1.2, section.table_title)
    table = decisions_table(decisions, publiable=bool(cover.publiable))
    chunks = [table.slice(k, TABLE_ROWS) for k in range(0, table.height, TABLE_ROWS)] or [table]
    for k, chunk in enumerate(chunks):
        slide = deck.slides.add_slide(blank)
        title(slide, "Décisions de la séance" + (" (suite)" if k else ""))
        if chunk.height:
            _pptx_table(slide, chunk, 1.3, None)
        else:
            text(slide, 0.5, 1.4, 12.3, 0.6, "Aucune décision enregistrée pendant la séance.", 18)
    progress(1.0, "Présentation prête")
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


SLIDE_W, SLIDE_H, MARGIN = 13.333, 7.5, 0.5  # inches (16:9)
ROW_H, TITLE_H = 0.3, 0.45  # a table row, a table title


def _pptx_picture(slide, png: bytes, top: float) -> None:
    """A chart scaled to fit the room left under `top` (both dimensions, aspect kept), centred."""
    from pptx.util import Emu, Inches

    picture = slide.shapes.add_picture(io.BytesIO(png), Inches(MARGIN), Inches(top))
    box_w, box_h = Inches(SLIDE_W - 2 * MARGIN), Inches(SLIDE_H - MARGIN / 2 - top)
    scale = min(box_w / picture.width, box_h / picture.height)
    picture.width, picture.height = Emu(int(picture.width * scale)), Emu(int(picture.height * scale))
    picture.left = Emu(int((Inches(SLIDE_W) - picture.width) / 2))


def _pptx_table_fits(frame: pl.DataFrame, top: float, title: str | None) -> bool:
    return top + (TITLE_H if title else 0) + ROW_H * (frame.height + 1) <= SLIDE_H - MARGIN / 2


def _pptx_table(slide, frame: pl.DataFrame, top: float, title: str | None) -> None:
    from pptx.util import Inches, Pt

    if title:
        box = slide.shapes.add_textbox(Inches(MARGIN), Inches(top), Inches(SLIDE_W - 2 * MARGIN), Inches(0.4))
        box.text_frame.text = title
        box.text_frame.paragraphs[0].runs[0].font.size = Pt(14)
        top += TITLE_H
    rows, cols = frame.height + 1, frame.width
    shape = slide.shapes.add_table(
        rows, cols, Inches(MARGIN), Inches(top), Inches(SLIDE_W - 2 * MARGIN), Inches(ROW_H * rows)
    )
    grid = shape.table
    for c, name in enumerate(frame.columns):
        grid.cell(0, c).text = name
    for r, row in enumerate(frame.iter_rows(), start=1):  # ≤ TABLE_ROWS rows of a slide
        for c, value in enumerate(row):
            grid.cell(r, c).text = "" if value is None else str(value)
    for r in range(rows):
        for c in range(cols):
            for paragraph in grid.cell(r, c).text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(11)


# --- PDF ------------------------------------------------------------------------------------


def to_pdf(
    cover: Cover, sections: Sequence[Section], decisions: pl.DataFrame | None = None, *, progress: Progress = _noop
) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(cover.titre)
    pdf.set_creator("Pilotage des contrats de ville")

    pdf.add_page()
    pdf.set_font("DejaVu", "B", 22)
    pdf.set_text_color(31, 78, 121)
    pdf.ln(50)
    pdf.multi_cell(0, 11, cover.titre, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "", 14)
    pdf.ln(4)
    pdf.multi_cell(0, 8, cover.contrat, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0,
        8,
        f"Séance du {fmt.day(cover.date_seance)} · données au {fmt.day(cover.donnees_au)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if cover.publiable:
        pdf.multi_cell(0, 8, cover.publiable, new_x="LMARGIN", new_y="NEXT")

    for i, section in enumerate(sections):
        progress(i / max(len(sections), 1), f"Page « {section.title} »")
        pdf.add_page()
        pdf.set_font("DejaVu", "B", 16)
        pdf.set_text_color(31, 78, 121)
        pdf.cell(0, 10, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(0, 5, f"Données au {fmt.day(cover.donnees_au)}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for figure in section.figures:
            pdf.set_font("DejaVu", "", 10)
            pdf.cell(80, 7, figure.label)
            pdf.set_font("DejaVu", "B", 11)
            pdf.multi_cell(
                0, 7, figure.value + (f"  ({figure.note})" if figure.note else ""), new_x="LMARGIN", new_y="NEXT"
            )
        if section.notes:
            pdf.set_font("DejaVu", "", 9)
            pdf.multi_cell(0, 5, section.notes[0], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        if section.chart:
            pdf.image(io.BytesIO(charts.png(section.chart)), w=170)
            pdf.ln(3)
        if section.table is not None and section.table.height:
            _pdf_table(pdf, section.table.head(TABLE_ROWS), section.table_title)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 10, "Décisions de la séance", new_x="LMARGIN", new_y="NEXT")
    table = decisions_table(decisions, publiable=bool(cover.publiable))
    if table.height:
        _pdf_table(pdf, table, None)
    else:
        pdf.set_font("DejaVu", "", 11)
        pdf.cell(0, 8, "Aucune décision enregistrée pendant la séance.", new_x="LMARGIN", new_y="NEXT")
    progress(1.0, "Rapport prêt")
    return bytes(pdf.output())


def _pdf_table(pdf, frame: pl.DataFrame, title: str | None) -> None:
    if title:
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    with pdf.table(text_align="LEFT", line_height=4.5) as grid:
        header = grid.row()
        for name in frame.columns:
            header.cell(name)
        for values in frame.iter_rows():  # ≤ TABLE_ROWS rows of a page
            row = grid.row()
            for value in values:
                row.cell("" if value is None else str(value))
    pdf.ln(3)


# --- Excel ----------------------------------------------------------------------------------


def to_xlsx(
    cover: Cover, sections: Sequence[Section], decisions: pl.DataFrame | None = None, *, progress: Progress = _noop
) -> bytes:
    """One sheet per section (its figures, numbers as numbers), then one with its full table
    (typed: `Section.data` when the section has it), plus the decisions."""
    sheets: dict[str, pl.DataFrame] = {
        "Séance": pl.DataFrame(
            {
                "Rubrique": ["Titre", "Contrat", "Date de la séance", "Données au", "Version"],
                "Valeur": [
                    cover.titre,
                    cover.contrat,
                    cover.date_seance,
                    cover.donnees_au,
                    cover.publiable or "complète (usage interne)",
                ],
            },
            schema={"Rubrique": pl.String, "Valeur": pl.Object},
        ),
    }
    used = set(sheets)
    for section in sections:
        values = [f.value if f.number is None else tables.Number(f.number, f.kind or "number") for f in section.figures]
        sheets[_sheet_name(section, used)] = pl.DataFrame(
            {
                "Indicateur": [f.label for f in section.figures],
                "Valeur": values,
                "Précision": [f.note or "" for f in section.figures],
            },
            schema={"Indicateur": pl.String, "Valeur": pl.Object, "Précision": pl.String},
        )
        if section.table is not None and section.table.height:
            sheets[_sheet_name(section, used, suffix=DETAIL)] = (
                section.data if section.data is not None else section.table
            )
    table = decisions_table(decisions, publiable=bool(cover.publiable))
    if not table.height:  # as the slides and the PDF say it (and no sheet reduced to its header)
        table = pl.DataFrame({"Décision": ["Aucune décision enregistrée pendant la séance."]})
    sheets[_sheet_name(None, used, title="Décisions")] = table
    progress(1.0, "Classeur prêt")
    return tables.to_xlsx_bytes(sheets)


SHEET_MAX, DETAIL = 31, " (détail)"  # characters in an Excel sheet name; the suffix of a table's sheet
# Short sheet names of the sections whose title does not fit (with « (détail) ») in 31 characters.
SHEET_TITLES = {
    "actions_en_retard": "Retards de paiement",
    "indicateurs": "Indicateurs en retard",
    "actualisation": "Actualisation 2027",
    "projet_quartier": "Projet de quartier",
}


def _sheet_name(section: Section | None, used: set[str], *, suffix: str = "", title: str | None = None) -> str:
    """A unique sheet name of at most 31 characters, cut between words: the section's title when
    it fits with « (détail) », else its short name (SHEET_TITLES), else its title cut at a word."""
    room = SHEET_MAX - len(DETAIL)  # the same base for a section's two sheets
    if section is None:
        if title is None:
            raise ValueError("a sheet without a section needs a title")
        candidates = [title]
    else:
        candidates = [section.title, SHEET_TITLES.get(section.key, section.title)]
    clean = ["".join(ch for ch in c if ch not in "[]:*?/\\").strip() for c in candidates]
    base = next((c for c in clean if len(c) <= room), None) or _cut_at_word(clean[-1], room)
    name, n = base + suffix, 2
    while name in used:
        tag = f" {n}"
        name, n = _cut_at_word(base, room - len(tag)) + tag + suffix, n + 1
    used.add(name)
    return name


def _cut_at_word(text: str, room: int) -> str:
    """`text` cut to `room` characters at the last word boundary (mid-word only for one long word)."""
    if len(text) <= room:
        return text
    head = text[: room + 1].rsplit(" ", 1)[0].rstrip(" —-–,;")
    return head if 0 < len(head) <= room else text[:room]


RENDERERS = {"pptx": to_pptx, "pdf": to_pdf, "xlsx": to_xlsx}
MIME = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pdf": "application/pdf",
    "xlsx": tables.XLSX_MIME,
}


def render(
    fmt_name: str,
    cover: Cover,
    sections: Sequence[Section],
    decisions: pl.DataFrame | None = None,
    *,
    progress: Progress = _noop,
) -> bytes:
    if fmt_name not in RENDERERS:
        raise ValueError(f"Format inconnu : {fmt_name} (attendu : {', '.join(FORMATS)})")
    return RENDERERS[fmt_name](cover, sections, decisions, progress=progress)


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
