"""Reading what people upload: bytes → an all-text Polars frame, plus what was detected.

Decoding is done on the WHOLE file (UTF-8 with/without BOM, UTF-16 with BOM, else Windows-1252,
else Latin-1); parsing is done by Polars (CSV) or openpyxl through Polars (.xlsx). Structural
problems (lines with too many fields) are located by DuckDB's reject table.
"""

from __future__ import annotations

import io
import os
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
    first = next((line for line in text[:1 << 16].splitlines() if line.strip()), "")  # the header line only
    counts = {sep: first.count(sep) for sep in (";", "\t", ",")}
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
    problems: list[dict] = []
    try:
        if frame is None:
            frame = pl.read_csv(payload, separator=sep, infer_schema=False, has_header=True,
                                truncate_ragged_lines=False, raise_if_empty=False)
    except pl.exceptions.PolarsError:
        problems = _locate_ragged_lines(stripped(), sep)
        try:
            frame = pl.read_csv(payload, separator=sep, infer_schema=False, has_header=True,
                                truncate_ragged_lines=True, raise_if_empty=False)
        except pl.exceptions.PolarsError as exc:
            raise ReadError("Le fichier ne peut pas être lu comme un tableau CSV (guillemets non fermés ou "
                            f"lignes de longueurs différentes). Détail : {str(exc).splitlines()[0][:160]}") from exc
    raw = RawTable(_tidy(frame), encoding, sep, problems)
    if not problems and raw.frame.width > 2:
        # Polars pads a line with fewer cells than the header with empty ones, silently. Such a
        # line ends with an empty cell in the last column kept (trailing unnamed empty columns
        # are dropped): only then does DuckDB look for them, among those rows only
        candidates = raw.frame.filter(pl.col(raw.frame.columns[-1]).is_null()).select(LINE)
        if candidates.height:
            raw.problems = _locate_short_lines(stripped(), sep, candidates)
    if not ends_with_newline and raw.frame.height and raw.frame.width > 1:
        last_col = [c for c in raw.frame.columns if c != LINE][-1]
        if raw.frame[last_col][-1] is None:
            raw.notes.append("La dernière ligne ne se termine pas par un retour à la ligne et a des cellules "
                             "vides en fin de ligne : le fichier est peut-être tronqué.")
    return raw


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


def _tidy(frame: pl.DataFrame) -> pl.DataFrame:
    """Trim headers, drop trailing empty columns and fully empty rows, add the spreadsheet row
    number (header is row 1)."""
    frame = frame.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))
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
    try:
        sheets = pl.read_excel(io.BytesIO(data), engine="openpyxl", sheet_id=0, infer_schema_length=0,
                               raise_if_empty=False)
    except Exception as exc:  # openpyxl raises many kinds
        raise ReadError("Le classeur Excel ne peut pas être ouvert (fichier endommagé ou protégé par mot "
                        f"de passe). Détail : {str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__}") from exc
    # The data sheet is the first non-empty one that is not our template's description sheet.
    for name, frame in sheets.items():
        if name.lower().startswith("description") or frame.width == 0:
            continue
        frame = frame.select(pl.all().cast(pl.String))
        raw = RawTable(_tidy(frame), "xlsx", None)
        if len(sheets) > 1:
            raw.notes.append(f"Feuille lue : « {name} ».")
        return raw
    raise ReadError("Le classeur Excel ne contient aucune feuille avec des données.")


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
