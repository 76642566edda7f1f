"""Reading what people upload: bytes → an all-text Polars frame, plus what was detected.

Decoding is done on the WHOLE file (UTF-8 with/without BOM, UTF-16 with BOM, else Windows-1252,
else Latin-1); parsing is done by Polars (CSV) or openpyxl through Polars (.xlsx). Structural
problems (lines with too many fields) are located by DuckDB's reject table.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import polars as pl

from cdv_core import fmt

LINE = "_ligne"  # spreadsheet row number (header = 1): what the user sees in Excel
MAX_UPLOAD_BYTES = 200 * 1024 * 1024

_ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 avec BOM",
    "utf-8": "UTF-8",
    "utf-16": "UTF-16 (texte Unicode)",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "xlsx": "classeur Excel (.xlsx)",
    "geojson": "GeoJSON (UTF-8)",
}
_SEPARATOR_LABELS = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}


class ReadError(Exception):
    """The file cannot be read at all; the message is French and says what to do."""


@dataclass
class RawTable:
    frame: pl.DataFrame            # all columns String, plus LINE (Int64)
    encoding: str                  # key of _ENCODING_LABELS
    separator: str | None          # None for .xlsx
    problems: list[dict] = field(default_factory=list)  # structural problems (see report columns)
    notes: list[str] = field(default_factory=list)

    @property
    def encoding_label(self) -> str:
        return _ENCODING_LABELS.get(self.encoding, self.encoding)

    @property
    def separator_label(self) -> str:
        return _SEPARATOR_LABELS.get(self.separator or "", "sans objet")


def read_bytes(data: bytes, filename: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> RawTable:
    """Read an uploaded file (CSV or .xlsx) into an all-text frame; raises ReadError in French."""
    if len(data) > max_bytes:
        raise ReadError(
            f"Le fichier pèse {fmt.number(len(data) / 1024 / 1024, 1)} Mo, au-delà de la taille maximale "
            f"autorisée ({fmt.number(max_bytes / 1024 / 1024)} Mo). Découpez-le (par exemple par année ou "
            "par contrat) et importez les morceaux l'un après l'autre.")
    if _blank(data):
        raise ReadError("Le fichier est vide : il ne contient ni en-tête ni ligne de données.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReadError("Ce fichier est au format Excel ancien (.xls), non pris en charge. Dans Excel, "
                        "choisissez « Enregistrer sous » puis « Classeur Excel (.xlsx) » ou « CSV UTF-8 ».")
    if data[:5] == b"%PDF-" or (b"\x00" in data[:4096] and data[:2] not in (b"\xff\xfe", b"\xfe\xff")):
        raise ReadError("Ce fichier n'est ni un fichier CSV ni un classeur Excel (.xlsx) : il contient des "
                        "données binaires. Exportez vos données au format CSV ou .xlsx.")
    if _opening(data) == b"{":
        return _read_geojson(data)
    data, mac = _lone_cr_to_lf(data)
    raw = _read_csv(data)
    if mac:
        raw.notes.append("Fins de ligne « Macintosh » (retour chariot seul) converties.")
    return raw


def _lone_cr_to_lf(data: bytes) -> tuple[bytes, bool]:
    """Old Mac « CSV Macintosh » files end their lines with a lone CR, which the parsers do not
    split on: when the head of the file has CR but no LF, every CR becomes LF (one pass in C;
    CRLF files and the common LF files are left as they are). Not for UTF-16, where a 0x0D byte
    may belong to another character: that text is converted after decoding."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data, False
    head = data[:1 << 16]
    if b"\r" in head and b"\n" not in head:
        return data.replace(b"\r", b"\n"), True
    return data, False


def _read_csv(data: bytes) -> RawTable:
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raw = _read_utf8_first(data)
        if raw is not None:
            return raw
    text, encoding = _decode(data)
    if text is None:  # valid UTF-8: parsed from the bytes themselves, never decoded whole
        return _read_utf8(data, encoding)
    return _read_csv_text(text, encoding)


def _blank(data: bytes | str) -> bool:
    """Only whitespace? (looks at the first 64 KiB before copying the whole file to strip it)"""
    return not data[:1 << 16].strip() and not data.strip()


def _opening(data: bytes) -> bytes:
    """The first byte after any BOM and blank bytes (without copying the whole file)."""
    ws = b"\xef\xbb\xbf \t\r\n"
    head = data[:1 << 16].lstrip(ws)
    return head[:1] if head or len(data) <= 1 << 16 else data.lstrip(ws)[:1]


_UTF8_CHUNK = 1 << 24


def _utf8_valid(view: memoryview) -> bool:
    """Whether `view` is valid UTF-8, checked 16 MiB at a time (the decoded text is dropped at once:
    a 200 MB file never exists as a Python string). Chunks are cut before a character's first
    byte, so each chunk is valid exactly when the whole is."""
    n, start = len(view), 0
    while start < n:
        end = min(start + _UTF8_CHUNK, n)
        for _ in range(3):
            if end < n and view[end] & 0xC0 == 0x80:  # continuation byte: move past it
                end += 1
        try:
            str(view[start:end], "utf-8")
        except UnicodeDecodeError:
            return False
        start = end
    return True


def _decode(data: bytes) -> tuple[str | None, str]:
    """Decode the whole file: a Windows-1252 byte after the first kilobytes is still seen. Valid
    UTF-8 (with or without BOM) is only checked: the text is None."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16"), "utf-16"
    if data[:3] == b"\xef\xbb\xbf":
        if _utf8_valid(memoryview(data)[3:]):
            return None, "utf-8-sig"
        try:
            str(memoryview(data)[3:], "utf-8")  # for the position of the first bad byte
        except UnicodeDecodeError as exc:
            raise ReadError(
                "Le fichier annonce l'encodage UTF-8 (BOM) mais contient des caractères invalides "
                f"(octet n° {exc.start + 4}). Réenregistrez-le depuis Excel en « CSV UTF-8 ».") from exc
    if _utf8_valid(memoryview(data)):
        return None, "utf-8"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _detect_separator(text: str) -> str:
    """The separator is the candidate most frequent in the header line (`;` wins ties)."""
    lines = [line for line in text[:1 << 16].split("\n")[:11] if line.strip()]
    first = lines[0] if lines else ""  # the header line only
    counts = {sep: first.count(sep) for sep in (";", "\t", ",")}
    if not any(counts.values()) and len(lines) > 2:
        # a title line without separators above the header (« Extraction du 12/03/2026 »): the
        # separator that splits two of the next lines into the same number of cells
        for sep in (";", "\t", ","):
            found = [line.count(sep) for line in lines[1:] if line.count(sep)]
            counts[sep] = max((n for n in found if found.count(n) >= 2), default=0)
    best = max(counts, key=lambda s: (counts[s], s == ";"))
    if counts[best] == 0:
        return ";"
    return best


def _utf8_head(data: bytes, encoding: str) -> tuple[str, bool]:
    """The text of the first 256 KiB (at least the first 65 536 characters; without the BOM) and
    whether that is the whole file. Raises UnicodeDecodeError when those bytes are not UTF-8."""
    body = memoryview(data)[3:] if encoding == "utf-8-sig" else memoryview(data)
    cut = min(len(body), 1 << 18)
    for _ in range(3):
        if cut < len(body) and body[cut] & 0xC0 == 0x80:
            cut -= 1
    return _without_bom(str(body[:cut], "utf-8")), cut == len(body)


def _utf8_payload(data: bytes, encoding: str) -> bytes:
    # Polars skips one leading BOM itself; a second one (rare) is left for it to skip as before
    return data[3:] if encoding == "utf-8-sig" and data[3:6] == b"\xef\xbb\xbf" else data


def _read_utf8_first(data: bytes) -> RawTable | None:
    """The file read as UTF-8, or None when it is not valid UTF-8 (then nothing was decided).

    Polars refuses any field that is not valid UTF-8 (every column is parsed as text); only the
    header line is decoded leniently, a bad byte there becoming U+FFFD in a column name. Every
    other byte is a separator, quote or line break. So a file that Polars parses whole, with no
    U+FFFD in its column names, is valid UTF-8 without a second pass over its bytes; the first
    256 KiB (checked by `_utf8_head`) must also hold a line break, so that a bad byte cannot
    hide in a header line Polars reads differently (old Mac files end their lines with a lone
    CR, which Polars does not split on). Otherwise the whole file is checked explicitly."""
    encoding = "utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else "utf-8"
    try:
        head, whole = _utf8_head(data, encoding)
    except UnicodeDecodeError:
        return None
    frame = None
    if head[:1 << 16].strip() and (whole or "\n" in head):  # not empty: the separator is known, parse now
        try:
            frame = pl.read_csv(_utf8_payload(data, encoding), separator=_detect_separator(head),
                                infer_schema=False, has_header=True, truncate_ragged_lines=False,
                                raise_if_empty=False)
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and any("\ufffd" in c for c in frame.columns):
            frame = None  # a header byte Polars replaced: decided by the explicit check below
    if frame is None and not _utf8_valid(memoryview(data)[3:] if encoding == "utf-8-sig" else memoryview(data)):
        return None
    return _read_utf8(data, encoding, frame)


def _read_utf8(data: bytes, encoding: str, frame: pl.DataFrame | None = None) -> RawTable:
    """Valid UTF-8 bytes (BOM or not): what `_read_csv_text` does with the decoded text, reading
    only its first 256 KiB as text (separator, emptiness) and handing the bytes to Polars.
    `frame`: the strict parse of the same payload, when already done."""
    head, whole = _utf8_head(data, encoding)
    body = memoryview(data)[3:] if encoding == "utf-8-sig" else memoryview(data)
    if not head[:1 << 16].strip() and _blank(head if whole else _without_bom(str(body, "utf-8"))):
        raise ReadError("Le fichier est vide : il ne contient ni en-tête ni ligne de données.")
    stripped = (lambda: data[3:]) if encoding == "utf-8-sig" else (lambda: data)
    return _parse(_utf8_payload(data, encoding), stripped, head, encoding, data.endswith((b"\n", b"\r")), frame)


def _without_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _read_csv_text(text: str, encoding: str) -> RawTable:
    text = _without_bom(text)
    if _blank(text):
        raise ReadError("Le fichier est vide : il ne contient ni en-tête ni ligne de données.")
    if "\r" in text[:1 << 16] and "\n" not in text[:1 << 16]:  # lone CR line ends (UTF-16 here)
        text = text.replace("\r", "\n")
    payload = text.encode("utf-8")
    if payload[:3] == b"\xef\xbb\xbf":
        payload = payload[3:]
    return _parse(payload, lambda: payload, text[:1 << 16], encoding, text.endswith(("\n", "\r")))


def _parse(payload: bytes, stripped, head: str, encoding: str, ends_with_newline: bool,
           frame: pl.DataFrame | None = None) -> RawTable:
    """Polars parses `payload` (UTF-8; `stripped()` is the same without its BOM, for DuckDB's
    location of ragged lines); `head` is the start of the text (separator). `frame`: the strict
    parse, when already done."""
    sep = _detect_separator(head)
    skip = _title_lines(head.split("\n", 11)[:10], sep)
    if skip:  # a title above the header: Polars and DuckDB read from the header line on
        frame = None
        full = stripped
        stripped = lambda: full().split(b"\n", skip)[-1]  # noqa: E731
    problems: list[dict] = []
    try:
        if frame is None:
            frame = pl.read_csv(payload, separator=sep, infer_schema=False, has_header=True,
                                truncate_ragged_lines=False, raise_if_empty=False, skip_lines=skip)
    except pl.exceptions.PolarsError:
        problems = _shifted(_locate_ragged_lines(stripped(), sep), skip)
        try:
            frame = pl.read_csv(payload, separator=sep, infer_schema=False, has_header=True,
                                truncate_ragged_lines=True, raise_if_empty=False, skip_lines=skip)
        except pl.exceptions.PolarsError as exc:
            raise ReadError(_unreadable_csv_message(stripped(), sep, exc, skip)) from exc
    raw = RawTable(_tidy(frame, skip + 2), encoding, sep, problems)
    raw.notes += _header_notes(raw.frame, skip)
    if not problems and raw.frame.width > 2:
        # Polars pads a line with fewer cells than the header with empty ones, silently. Such a
        # line ends with an empty cell in the last column kept (trailing unnamed empty columns
        # are dropped): only then does DuckDB look for them, among those rows only
        candidates = raw.frame.filter(pl.col(raw.frame.columns[-1]).is_null()).select(LINE)
        if candidates.height:
            raw.problems = _shifted(_locate_short_lines(stripped(), sep, candidates.select(pl.col(LINE) - skip)), skip)
    if not ends_with_newline and raw.frame.height and raw.frame.width > 1:
        last_col = [c for c in raw.frame.columns if c != LINE][-1]
        if raw.frame[last_col][-1] is None:
            raw.notes.append("La dernière ligne ne se termine pas par un retour à la ligne et a des cellules "
                             "vides en fin de ligne : le fichier est peut-être tronqué.")
    return raw


_LETTER = re.compile(r"[^\W\d_]")


def _title_lines(lines: list, sep: str | None) -> int:
    """How many lines above the header to skip (0 nearly always). A title such as « Extraction
    Dauphin du 12/03/2026 » (and blank lines) above the real header: the first of the first ten
    lines has at most half as many non-empty cells as the fullest of them, and a later line as
    full as that one has only cells with letters (a header, not a data row). `lines`: text lines
    (CSV, split on `sep`) or rows of cells (.xlsx, `sep` None)."""
    cells = [[(c or "").strip().strip('"').strip() for c in (line.split(sep) if sep is not None else line)]
             for line in lines]
    counts = [sum(1 for c in row if c) for row in cells]
    if len(counts) < 2 or max(counts) < 2 or counts[0] * 2 > max(counts):
        return 0
    for i, row in enumerate(cells):
        if counts[i] == max(counts):
            return i if all(_LETTER.search(c) for c in row if c) else 0
    return 0


def _shifted(problems: list[dict], skip: int) -> list[dict]:
    for p in problems:
        if p["ligne"]:
            p["ligne"] += skip
    return problems


def _header_notes(frame: pl.DataFrame, skip: int) -> list[str]:
    """What the user must know about the header line."""
    if skip:
        return [f"En-tête trouvé à la ligne {skip + 1} : {'la ligne' if skip == 1 else f'les {skip} lignes'} "
                "au-dessus (titre, lignes vides) " + ("est ignorée." if skip == 1 else "sont ignorées.")]
    unnamed = [c for c in frame.columns if c == "" or c.startswith("_duplicated_") or c.startswith("__UNNAMED__")]
    if unnamed:
        return [f"La première ligne ne ressemble pas à un en-tête : {len(unnamed)} colonne(s) contenant des "
                "données n'ont pas de nom. La première ligne du fichier doit donner le nom de chaque colonne "
                "(supprimez les lignes de titre au-dessus, nommez les colonnes)."]
    return []


def _unreadable_csv_message(payload: bytes, sep: str, exc: Exception, skip: int = 0) -> str:
    """Why Polars cannot parse the file, in French: an unclosed quote (line located by DuckDB's
    reject table) or lines of different lengths; the parser's own words only as a short detail."""
    detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    quote_lines = [line + skip for line, error_type in _rejected_lines(payload, sep)
                   if error_type in ("UNQUOTED VALUE", "UNTERMINATED QUOTE")]
    if quote_lines:
        return (f"Le fichier ne peut pas être lu comme un tableau CSV : un guillemet « \" » ouvert à la "
                f"ligne {quote_lines[0]} n'est jamais fermé, et la suite du fichier est lue comme un seul "
                "texte. Fermez ce guillemet (ou supprimez-le), puis réenregistrez le fichier. "
                f"(Détail technique : {detail})")
    return ("Le fichier ne peut pas être lu comme un tableau CSV : un guillemet « \" » n'est pas fermé, "
            "ou des lignes n'ont pas le même nombre de cellules que l'en-tête. Vérifiez les guillemets et "
            f"le séparateur. (Détail technique : {detail})")


@contextmanager
def _duckdb_file(data: bytes, suffix: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """An in-memory DuckDB connection and the path of a temporary file holding `data` (DuckDB's
    readers take a path); both are gone afterwards."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        con = duckdb.connect()
        try:
            yield con, path
        finally:
            con.close()
    finally:
        os.unlink(path)


def _rejected_lines(payload: bytes, sep: str, among: pl.DataFrame | None = None) -> list[tuple[int, str]]:
    """DuckDB's reject table for the file read with the header's number of columns: (line,
    error type) of the first 1 000 lines with more or fewer fields than the header, once per
    line; `among` (a LINE column) restricts them to those rows."""
    with _duckdb_file(payload, ".csv") as (con, path):
        try:
            con.execute("SELECT count(*) FROM read_csv($p, all_varchar = true, delim = $d, header = true, "
                        "quote = '\"', escape = '\"', store_rejects = true, auto_detect = false, "
                        "columns = $cols)",
                        {"p": path, "d": sep, "cols": _header_columns(payload, sep)}).fetchall()
            if among is not None:
                con.register("_among", among.select(pl.col(LINE).alias("line")).to_arrow())
            rows = con.execute("SELECT line, min(error_type) FROM reject_errors "
                               + ("WHERE line IN (SELECT line FROM _among) " if among is not None else "")
                               + "GROUP BY line ORDER BY line LIMIT 1000").fetchall()
        except duckdb.Error:
            rows = []
    return [(int(line), str(error_type)) for line, error_type in rows]


_SHORT_LINE = "Cette ligne a moins de cellules que l'en-tête"


def _locate_ragged_lines(payload: bytes, sep: str) -> list[dict]:
    """Errors for the lines with more or fewer fields than the header (the strict parse failed)."""
    out = []
    for line, error_type in _rejected_lines(payload, sep):
        too_many = "TOO MANY" in error_type
        out.append({
            "ligne": line, "colonne": "", "valeur": "",
            "probleme": "Cette ligne a plus de cellules que l'en-tête" if too_many else _SHORT_LINE,
            "correction": "Vérifiez le séparateur (point-virgule partout) et les guillemets autour des textes "
                          "contenant le séparateur",
            "gravite": "erreur"})
    if not out:
        out.append({"ligne": 0, "colonne": "", "valeur": "",
                    "probleme": "Certaines lignes ont plus de cellules que l'en-tête (séparateurs mélangés ?)",
                    "correction": "Utilisez le même séparateur sur toutes les lignes", "gravite": "erreur"})
    return out


def _locate_short_lines(payload: bytes, sep: str, among: pl.DataFrame) -> list[dict]:
    """Warnings for the lines (among the rows of `among`) with fewer fields than the header, which
    the parse read with empty cells at the end (some tools omit trailing empty cells; a cut line
    looks the same)."""
    return [{"ligne": line, "colonne": "", "valeur": "", "probleme": _SHORT_LINE,
             "correction": "Les cellules manquantes en fin de ligne sont lues comme vides : vérifiez que la "
                           "ligne est complète (fichier tronqué, séparateur manquant ?)",
             "gravite": "avertissement"}
            for line, error_type in _rejected_lines(payload, sep, among) if "MISSING" in error_type]


def _header_columns(payload: bytes, sep: str) -> dict[str, str]:
    header = pl.read_csv(io.BytesIO(payload), separator=sep, n_rows=0, infer_schema=False,
                         truncate_ragged_lines=True).columns
    return {f"c{i}": "VARCHAR" for i in range(len(header))}


def _tidy(frame: pl.DataFrame, first_line: int = 2) -> pl.DataFrame:
    """Trim headers, drop trailing empty columns and fully empty rows, add the spreadsheet row
    number (`first_line`: the first data row's, 2 when the header is row 1)."""
    frame = frame.with_row_index(LINE, offset=first_line).with_columns(pl.col(LINE).cast(pl.Int64))
    renames = {c: c.strip().lstrip("\ufeff").strip() for c in frame.columns if c != LINE}
    frame = frame.rename(renames) if len(set(renames.values())) == len(renames) else frame
    keep = []
    for col in frame.columns:
        if col == LINE:
            keep.append(col)
            continue
        empty_header = col == "" or col.startswith("_duplicated_") or col.startswith("__UNNAMED__")
        if empty_header and frame.select(pl.col(col).str.strip_chars().replace("", None).drop_nulls().len()).item() == 0:
            continue
        keep.append(col)
    frame = frame.select(keep)
    value_cols = [c for c in frame.columns if c != LINE]
    if value_cols:
        frame = frame.with_columns(
            pl.col(c).str.strip_chars().replace("", None) for c in value_cols
        ).filter(~pl.all_horizontal(pl.col(c).is_null() for c in value_cols))
    return frame


def _read_xlsx(data: bytes) -> RawTable:
    """The first sheet with data that is not our template's « Description » sheet, read whole:
    every row of the sheet's used range, whatever Excel « tables » (ListObjects) it holds — a
    table whose range was not extended (LibreOffice, openpyxl, rows pasted below it) must not
    hide the rows typed under it. Cells become text as Polars' reader wrote them (`str(value)`),
    except floats shaped like `12.345`, written `12.3450`: an Excel number is no thousands
    grouping (see `clean.DOT_GROUPS_ONE`), it is read back as the number it is."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds
        raise ReadError("Le classeur Excel ne peut pas être ouvert (fichier endommagé ou protégé par mot "
                        f"de passe). Détail : {str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__}") from exc
    try:
        names = workbook.sheetnames
        for name in names:
            if name.lower().startswith("description"):
                continue
            sheet = workbook[name]
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # the recorded dimension may be stale: read every row there is
            rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            lead = 0
            while lead < len(rows) and not any(v is not None and v.strip() for v in rows[lead]):
                lead += 1  # blank rows above the header
            if lead == len(rows):
                continue
            skip = lead + _title_lines(rows[lead:lead + 10], None)
            raw = RawTable(_tidy(_sheet_frame(rows[skip:]), skip + 2), "xlsx", None)
            raw.notes += _header_notes(raw.frame, skip)
            if len(names) > 1:
                raw.notes.append(f"Feuille lue : « {name} ».")
            return raw
    finally:
        workbook.close()
    raise ReadError("Le classeur Excel ne contient aucune feuille avec des données.")


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() is False:
        text = str(value)
        return text + "0" if _FLOAT_GROUPED.match(text) else text
    return str(value)


_FLOAT_GROUPED = re.compile(r"^-?[1-9]\d{0,2}\.\d{3}$")


def _sheet_frame(rows: list[list[str | None]]) -> pl.DataFrame:
    """Rows of text (header first) → an all-String frame; header cells named like Polars' CSV
    reader does (empty → "", repeated → `name_duplicated_N`)."""
    width = max(len(r) for r in rows)
    header, seen, n_dup = [], set(), 0
    for cell in rows[0] + [None] * (width - len(rows[0])):
        name = (cell or "").strip()
        if name in seen:
            name = f"{name}_duplicated_{n_dup}"
            n_dup += 1
        seen.add(name)
        header.append(name)
    body = [r + [None] * (width - len(r)) for r in rows[1:]]
    return pl.DataFrame(body, schema={h: pl.String for h in header}, orient="row")


def _read_geojson(data: bytes) -> RawTable:
    """A GeoJSON FeatureCollection of QPV contours → (code_qp, contour) rows, read by DuckDB's JSON
    reader. The QPV code is taken from the first property among code_qp / CODE_QP / code_quartier."""
    with _duckdb_file(data, ".geojson") as (con, path):
        try:
            frame = con.sql(
                "WITH f AS (SELECT unnest(json_extract(json, '$.features[*]')) AS f "
                "           FROM read_json_objects($p, format = 'unstructured', maximum_object_size = 1000000000)) "
                "SELECT coalesce(json_extract_string(f, '$.properties.code_qp'), json_extract_string(f, '$.properties.CODE_QP'), "
                "                json_extract_string(f, '$.properties.code_quartier')) AS code_qp, "
                "       CAST(json_extract(f, '$.geometry') AS VARCHAR) AS contour FROM f",
                params={"p": path}).pl()
        except duckdb.Error as exc:
            raise ReadError("Le fichier ressemble à du GeoJSON mais ne peut pas être lu (JSON invalide ou sans "
                            f"« features »). Détail : {str(exc).splitlines()[0][:160]}") from exc
    frame = frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64)).select(LINE, "code_qp", "contour")
    return RawTable(frame, "geojson", None)
