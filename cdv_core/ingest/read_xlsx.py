"""Reading an Excel workbook (.xlsx): the first sheet with data that is not our template's
« Description » sheet, measured from its XML before it is read (bounds, zip bombs), read whole by
calamine (fastexcel) as text."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib

import fastexcel
import polars as pl

from cdv_core import fmt
from cdv_core.ingest.model import Limits, RawTable, ReadError
from cdv_core.ingest.read_csv import header_notes, tidy, title_lines


def read_xlsx(data: bytes, limits: Limits) -> RawTable:
    """The first sheet with data that is not our template's « Description » sheet, read whole:
    every cell of the sheet, whatever Excel « tables » (ListObjects) or recorded dimension it
    declares — a table whose range was not extended must not hide the rows typed under it, and
    a forged dimension must not size the read. The sheet's actual cells are measured first
    (`_sheet_extent`, streamed); only a sheet within the bounds is read, by calamine (fastexcel),
    as text. Floats shaped like `12.345` become `12.3450`: an Excel number is no thousands
    grouping (see `numbers.DOT_GROUPS_ONE`), it is read back as the number it is."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in book.infolist())
        sheets = _sheet_paths(book)
    except (zipfile.BadZipFile, KeyError, ValueError, ET.ParseError, EOFError, OSError) as exc:
        raise ReadError(
            "Le classeur Excel ne peut pas être ouvert (fichier endommagé ou protégé par mot de passe). "
            "Ouvrez-le dans Excel et réenregistrez-le au format « Classeur Excel (.xlsx) »."
        ) from exc
    if expanded > MAX_XLSX_EXPANDED:
        raise ReadError(
            f"Le classeur Excel occupe {fmt.number(expanded / 1024**3, 1)} Go une fois décompressé, au-delà "
            f"de ce qui peut être lu ({fmt.number(MAX_XLSX_EXPANDED / 1024**3)} Go). Enregistrez les "
            "données utiles au format CSV, ou découpez le classeur."
        )
    strings = next((i for i in book.infolist() if i.filename.lower().endswith("sharedstrings.xml")), None)
    if strings is not None and strings.file_size > MAX_XLSX_SHARED_STRINGS:
        raise ReadError(
            f"Le classeur Excel contient {fmt.number(strings.file_size / 1024**2)} Mo de textes, au-delà de "
            f"ce qui peut être lu ({fmt.number(MAX_XLSX_SHARED_STRINGS / 1024**2)} Mo). Enregistrez les "
            "données utiles au format CSV, ou découpez le classeur."
        )
    for name, path in sheets:
        if name.lower().startswith("description"):
            continue
        try:
            extent = _sheet_extent(book, path, name, limits)
        except (zipfile.BadZipFile, KeyError, EOFError, zlib.error) as exc:  # a part missing or damaged
            raise ReadError(
                f"Le classeur Excel est endommagé (feuille « {name} » illisible). Ouvrez-le dans Excel "
                "et réenregistrez-le au format « Classeur Excel (.xlsx) »."
            ) from exc
        if extent is None:
            continue
        try:
            frame = (
                fastexcel.read_excel(data).load_sheet(name, header_row=None, skip_rows=0, dtypes="string").to_polars()
            )
        except Exception as exc:  # fastexcel raises its own kinds
            raise ReadError(
                "Le classeur Excel ne peut pas être lu (feuille « "
                + name
                + " » endommagée). Détail : "
                + (str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__)
            ) from exc
        frame = frame.with_columns(
            pl.when(pl.col(c).str.contains(_FLOAT_GROUPED.pattern)).then(pl.col(c) + "0").otherwise(pl.col(c))
            for c in frame.columns
        )
        filled = frame.select(
            pl.any_horizontal(pl.col(c).str.strip_chars().replace("", None).is_not_null() for c in frame.columns)
        ).to_series()
        lead = filled.arg_true()[0] if filled.any() else None  # blank rows above the header
        if lead is None:
            continue
        head_rows = frame.slice(lead, 10).rows()
        skip = lead + title_lines([list(r) for r in head_rows], None)
        raw = RawTable(tidy(_sheet_frame(frame.slice(skip)), skip + 2), "xlsx", None)
        raw.notes += header_notes(raw.frame, skip)
        if len(sheets) > 1:
            raw.notes.append(f"Feuille lue : « {name} ».")
        return raw
    raise ReadError("Le classeur Excel ne contient aucune feuille avec des données.")


MAX_XLSX_EXPANDED = 2 * 1024**3  # decompressed bytes of a workbook: a zip bomb is refused before any reading
MAX_XLSX_SHARED_STRINGS = 256 * 1024**2  # its shared texts are held in memory by the reader


def _sheet_paths(book: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(name, part path) of the workbook's sheets, in the workbook's order (transitional or strict
    Open XML: the namespaces are not compared)."""
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = []
    for sheet in workbook.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        rel = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
        target = targets.get(rel, "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out.append((sheet.get("name", ""), path))
    return out


_XML_CELL = re.compile(rb'<c\b[^>]*?\sr="([A-Z]{1,3})[0-9]{1,7}"[^>]*?(/?)>')
_XML_ROW = re.compile(rb'<row\b[^>]*?\sr="([0-9]{1,7})"')
_XML_CHUNK = 1 << 22


def _sheet_extent(book: zipfile.ZipFile, path: str, name: str, limits: Limits) -> tuple[int, int] | None:
    """(last row, columns) spanned by the cells that hold something, read from the sheet's XML as
    a stream (the recorded dimension is not trusted); None when no cell holds anything. Raises
    ReadError in French when the read would exceed the bounds (`limits`)."""
    columns: set[bytes] = set()
    last_row, cells, unnamed, rest = 0, 0, 0, b""
    with book.open(path) as fh:
        while True:
            chunk = fh.read(_XML_CHUNK)
            buf = rest + chunk
            cut = len(buf) if not chunk else buf.rfind(b">") + 1
            buf, rest = buf[:cut], buf[cut:]
            found = _XML_CELL.findall(buf)
            cells += len(found)
            columns.update(col for col, closed in set(found) if not closed)
            unnamed += buf.count(b"<c>") + buf.count(b"<c ") - len(found)  # cells without a reference
            rows = _XML_ROW.findall(buf)
            if rows:
                last_row = max(last_row, max(map(int, rows)))
            if not chunk:
                break
    if not columns and not unnamed:
        return None
    numbers = sorted(_column_number(c) for c in columns) or [1]
    width = numbers[-1] - numbers[0] + 1 if columns else 0
    if unnamed:  # cells placed one after the other: at most as wide as all of them
        width = max(width, min(unnamed, 16_384))
    last_row = max(last_row, 1)
    far = f"{_column_letters(numbers[-1])}{fmt.integer(last_row)}"
    if width > limits.max_columns:
        raise ReadError(
            f"La feuille « {name} » a des cellules remplies sur {fmt.integer(width)} colonnes (jusqu'à la "
            f"colonne {_column_letters(numbers[-1])}), au-delà du maximum autorisé "
            f"({fmt.integer(limits.max_columns)} colonnes, réglage CDV_MAX_COLONNES). Supprimez les "
            "colonnes inutiles ou les cellules éloignées (dans Excel, Ctrl+Fin montre la dernière cellule "
            "utilisée), puis réenregistrez le classeur."
        )
    if last_row * width > limits.max_cells:
        raise ReadError(
            f"La feuille « {name} » s'étend jusqu'à la cellule {far} : "
            f"{fmt.integer(last_row)} lignes × {fmt.integer(width)} colonnes, soit "
            f"{fmt.integer(last_row * width)} cellules, au-delà du maximum autorisé "
            f"({fmt.integer(limits.max_cells)} cellules, réglage CDV_MAX_CELLULES). Supprimez les lignes "
            "ou cellules éloignées (dans Excel, Ctrl+Fin montre la dernière cellule utilisée), ou "
            "découpez le fichier."
        )
    return last_row, width


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


_FLOAT_GROUPED = re.compile(r"^-?[1-9]\d{0,2}\.\d{3}$")


def _sheet_frame(sheet: pl.DataFrame) -> pl.DataFrame:
    """A sheet's rows as text (header first) → an all-String frame of the rows below the header,
    its columns named like Polars' CSV reader does (empty → "", repeated → `name_duplicated_N`)."""
    header, seen, n_dup = [], set(), 0
    for cell in sheet.row(0) if sheet.height else [None] * sheet.width:
        name = (cell or "").strip()
        if name in seen:
            name = f"{name}_duplicated_{n_dup}"
            n_dup += 1
        seen.add(name)
        header.append(name)
    return sheet.slice(1).rename(dict(zip(sheet.columns, header)))
