"""The rapport annuel's draft (décret n° 2015-1118, issue #19): built from the store as data
(`content`), rendered as an editable DOCX (`docx`) and as PDF (`pdf`). No Streamlit here."""

from __future__ import annotations

from datetime import date

import duckdb

from cdv_core.rapport.content import SECTION_TITLES, Report, ReportError, build

FORMATS: tuple[str, ...] = ("docx", "pdf")
MIME = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf"}


def render(report: Report, fmt_name: str) -> bytes:
    """The draft as a file of `fmt_name` (« docx » or « pdf »)."""
    if fmt_name == "docx":
        from cdv_core.rapport import docx

        return docx.to_docx(report)
    if fmt_name == "pdf":
        from cdv_core.rapport import pdf

        return pdf.to_pdf(report)
    raise ValueError(f"Format inconnu : {fmt_name} (attendu : {', '.join(FORMATS)})")


def draft(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str,
    annee: int,
    donnees_au: date,
    format: str,
    perimetre: tuple[str, ...] | None = None,
) -> bytes:
    """Build and render the draft in one call (a download button's deferred file, the CLI)."""
    return render(build(cur, contrat=contrat, annee=annee, donnees_au=donnees_au, perimetre=perimetre), format)


def file_name(contrat: str, annee: int, fmt_name: str) -> str:
    return f"projet_rapport_annuel_{contrat}_{annee}.{fmt_name}"


__all__ = ["FORMATS", "MIME", "SECTION_TITLES", "Report", "ReportError", "build", "draft", "file_name", "render"]
