"""Reading what people upload: bytes → an all-text Polars frame, plus what was detected.

Bounds (size, columns, cells: `Limits`) are checked on the bytes before any parsing. Decoding is
done on the WHOLE file (UTF-8 with/without BOM, UTF-8 with a few stray bytes named as errors,
UTF-16 with BOM, else Windows-1252, else Latin-1); parsing is done by Polars (CSV) or calamine
through fastexcel (.xlsx, after the sheet's actual extent is measured). Structural problems
(lines with too many fields) are located by DuckDB's reject table. Control characters are
removed with a warning.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import texte

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


@dataclass(frozen=True)
class Limits:
    """Bounds decided before a file is parsed: its size, its columns, its cells (rows × columns).
    Settings CDV_MAX_UPLOAD_MB (the page), CDV_MAX_COLONNES, CDV_MAX_CELLULES."""
    max_bytes: int = MAX_UPLOAD_BYTES
    max_columns: int = 500
    max_cells: int = 20_000_000

    @classmethod
    def from_settings(cls, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Limits:
        from cdv_core import settings

        cfg = settings.load()
        return cls(max_bytes, cfg.max_columns, cfg.max_cells)


def too_big_message(size: int, max_bytes: int) -> str:
    return (f"Le fichier pèse {fmt.number(size / 1024 / 1024, 1)} Mo, au-delà de la taille maximale "
            f"autorisée ({fmt.number(max_bytes / 1024 / 1024)} Mo). Découpez-le (par exemple par année ou "
            "par contrat) et importez les morceaux l'un après l'autre.")


def read_path(path, *, limits: Limits | None = None) -> bytes:
    """A file's bytes, its size checked before it is read (a 2 GB file is never loaded)."""
    limits = limits or Limits.from_settings()
    try:
        size = os.stat(path).st_size
        if size > limits.max_bytes:
            raise ReadError(too_big_message(size, limits.max_bytes))
        with open(path, "rb") as fh:
            return fh.read(limits.max_bytes + 1)
    except PermissionError as exc:
        raise ReadError("Le fichier ne peut pas être lu : accès refusé (droits du fichier).") from exc
    except IsADirectoryError as exc:
        raise ReadError("C'est un dossier, pas un fichier.") from exc
    except OSError as exc:
        raise ReadError(f"Le fichier ne peut pas être lu ({exc.strerror or type(exc).__name__}).") from exc


def read_bytes(data: bytes, filename: str, *, max_bytes: int = MAX_UPLOAD_BYTES,
               limits: Limits | None = None) -> RawTable:
    """Read an uploaded file (CSV or .xlsx) into an all-text frame; raises ReadError in French.
    The bounds (`limits`, else the settings with `max_bytes`) are checked before any parsing."""
    limits = limits or Limits.from_settings(max_bytes=max_bytes)
    if len(data) > limits.max_bytes:
        raise ReadError(too_big_message(len(data), limits.max_bytes))
    if _blank(data):
        raise ReadError("Le fichier est vide : il ne contient ni en-tête ni ligne de données.")
    if data[:4] == b"PK\x03\x04":
        return _without_controls(_read_xlsx(data, limits))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReadError("Ce fichier est au format Excel ancien (.xls), non pris en charge. Dans Excel, "
                        "choisissez « Enregistrer sous » puis « Classeur Excel (.xlsx) » ou « CSV UTF-8 ».")
    if data[:5] == b"%PDF-" or (b"\x00" in data[:4096] and data[:2] not in (b"\xff\xfe", b"\xfe\xff")):
        raise ReadError("Ce fichier n'est ni un fichier CSV ni un classeur Excel (.xlsx) : il contient des "
                        "données binaires. Exportez vos données au format CSV ou .xlsx.")
    if _opening(data) == b"{":
        return _read_geojson(data)
    data, mac = _lone_cr_to_lf(data)
    check_csv_bounds(data, limits)
    raw = _read_csv(data)
    if mac:
        raw.notes.append("Fins de ligne « Macintosh » (retour chariot seul) converties.")
    return _without_controls(raw)


MAX_LISTED_CELLS = 1_000  # cells listed one by one for a problem of the reading; the count says the rest


def _cells_where(frame: pl.DataFrame, test) -> pl.DataFrame:
    """(LINE, colonne, valeur) of the cells where `test(column expr)` holds, at most MAX_LISTED_CELLS,
    and their total count (vectorised: no loop over rows)."""
    cols = [c for c, t in frame.schema.items() if c != LINE and t == pl.String]
    if not cols or not frame.height:
        return pl.DataFrame(schema={LINE: pl.Int64, "__colonne": pl.String, "__valeur": pl.String}), 0
    hits = (frame.select([LINE, *cols]).unpivot(index=LINE, variable_name="__colonne", value_name="__valeur")
            .filter(test(pl.col("__valeur"))))
    return hits.sort(LINE).head(MAX_LISTED_CELLS), hits.height


def _without_controls(raw: RawTable) -> RawTable:
    """Control characters (NUL, BEL, ESC…) removed from every cell and header, each cell named in
    a warning; tabs become spaces and carriage returns line feeds, silently."""
    frame = raw.frame
    renames = {c: texte.strip_control(c).strip() for c in frame.columns if c != LINE and texte.has_control(c)}
    if renames and len(set(renames.values()) | (set(frame.columns) - set(renames))) == frame.width:
        frame = frame.rename(renames)
    hits, total = _cells_where(frame, lambda v: v.str.contains(texte.CONTROL))
    cols = [c for c, t in frame.schema.items() if c != LINE and t == pl.String]
    found = frame.select(texte.control_expr(pl.col(c)).any() for c in cols).row(0) if cols and frame.height else ()
    touched = [c for c, hit in zip(cols, found) if hit]
    if touched:
        frame = frame.with_columns(texte.strip_control_expr(pl.col(c)).str.strip_chars().replace("", None)
                                   for c in touched)
    raw.frame = frame
    if total:
        raw.problems += [{"ligne": line, "colonne": col, "valeur": _visible(value), **_control_problem(value),
                          "gravite": "avertissement"} for line, col, value in hits.iter_rows()]
        if total > hits.height:
            raw.notes.append(f"{fmt.integer(total)} cellules contenaient des caractères de contrôle invisibles, "
                             f"retirés ; les {fmt.integer(hits.height)} premières sont listées.")
    return raw


def _control_problem(value: str) -> dict[str, str]:
    """What the report says of a cell with control characters: removed, or (a Windows-1252
    character read as a control one, see `texte.CP1252_C1`) put back, quoting the value stored."""
    if any(ch in texte.CP1252_C1 for ch in value):
        return {"probleme": "Caractère mal décodé (Windows-1252, par exemple « œ ») rétabli",
                "correction": f"Rien à faire : la valeur est enregistrée ainsi : « {texte.strip_control(value)[:200]} » "
                              "(vérifiez-la)"}
    return {"probleme": texte.CONTROL_PROBLEM,
            "correction": "Rien à faire : la valeur est enregistrée sans ce caractère (vérifiez-la)"}


def _visible(value: str) -> str:
    """A cell's text with its invisible characters shown as ␀-style symbols (for the report)."""
    return "".join(chr(0x2400 + ord(ch)) if ord(ch) < 0x20 else "␡" if ch == "\x7f" else
                   "\ufffd" if 0x80 <= ord(ch) < 0xa0 else ch for ch in value[:200])


def check_csv_bounds(data: bytes, limits: Limits) -> None:
    """Columns (the widest of the first lines: a header below a title counts) and cells (lines ×
    columns) within the bounds, measured on the bytes before anything is parsed: a 10 MB line of
    a million separators is refused in milliseconds."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
    head = data[:1 << 19]
    text = head.decode("utf-16" if utf16 else "latin-1", errors="ignore")
    sep = _detect_separator(text)
    lines = text.split("\n", 11)[:11]
    columns = max(line.count(sep) + 1 for line in lines)
    whole_line = len(lines) > 1 or len(head) == len(data)
    if columns > limits.max_columns:
        raise ReadError(f"Le fichier a {'' if whole_line else 'au moins '}{fmt.integer(columns)} colonnes "
                        f"(séparateur {_SEPARATOR_LABELS.get(sep, sep)}), au-delà du maximum autorisé "
                        f"({fmt.integer(limits.max_columns)}, réglage CDV_MAX_COLONNES). Gardez les colonnes utiles "
                        "et vérifiez le séparateur, puis réimportez.")
    if not whole_line:
        raise ReadError(f"La première ligne du fichier dépasse {fmt.integer(len(head) // 1024)} Ko sans fin de ligne : "
                        "ce n'est pas un en-tête de tableau. Vérifiez que le fichier est bien un tableau CSV (une ligne "
                        "par enregistrement).")
    newline = b"\n\x00" if data[:2] == b"\xff\xfe" else b"\x00\n" if utf16 else b"\n"
    rows = data.count(newline) + (0 if data.endswith((b"\n", b"\n\x00")) else 1)
    if rows * columns > limits.max_cells:
        raise ReadError(f"Le fichier compte {fmt.integer(rows)} lignes × {fmt.integer(columns)} colonnes, soit "
                        f"{fmt.integer(rows * columns)} cellules, au-delà du maximum autorisé "
                        f"({fmt.integer(limits.max_cells)} cellules, réglage CDV_MAX_CELLULES). Découpez-le (par "
                        "exemple par année ou par contrat) et importez les morceaux l'un après l'autre.")


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
        damaged = _mostly_utf8(data)
        if damaged is not None:
            return _read_damaged_utf8(data, damaged)
    text, encoding = _decode(data)
    if text is None:  # valid UTF-8: parsed from the bytes themselves, never decoded whole
        return _read_utf8(data, encoding)
    return _read_csv_text(text, encoding)


def _mostly_utf8(data: bytes) -> str | None:
    """The text of a file that is UTF-8 except for a few bytes (a stray Windows-1252 « é » pasted
    in a UTF-8 file), decoded with those bytes replaced by U+FFFD; None when the evidence says
    Windows-1252 (no valid UTF-8 accented character, or far more invalid bytes than valid ones).
    Re-decoding such a file whole as Windows-1252 would turn every « é » into « Ã© » silently."""
    if data[:3] == b"\xef\xbb\xbf":
        return None  # a BOM says UTF-8: `_decode` refuses the bad byte by its position
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    accented = len(text) - len(text.encode("ascii", "ignore")) - bad
    return text if accented and bad <= 50 * accented else None


def _bad_utf8_bytes(data: bytes, first: int = 5) -> list[tuple[int, int, bytes]]:
    """(line of the file, character position in that line, the bytes) of the first invalid UTF-8
    sequences."""
    out, pos, view = [], 0, memoryview(data)
    while len(out) < first:
        try:
            str(view[pos:], "utf-8")
            break
        except UnicodeDecodeError as exc:
            start = pos + exc.start
            line_start = data.rfind(b"\n", 0, start) + 1
            column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
            out.append((data.count(b"\n", 0, start) + 1, column, data[start:pos + exc.end]))
            pos += exc.end
    return out


def _read_damaged_utf8(data: bytes, text: str) -> RawTable:
    """A UTF-8 file with a few invalid bytes: read as UTF-8, every cell holding one named as an
    error (nothing with a broken character is committed), the bytes located in a note."""
    raw = _read_csv_text(text, "utf-8")
    located = ", ".join(f"ligne {fmt.integer(line)} caractère {col} ({' '.join(f'0x{b:02X}' for b in found)})"
                        for line, col, found in _bad_utf8_bytes(data))
    total = text.count("\ufffd")
    raw.notes.append(f"Le fichier est en UTF-8 mais contient {fmt.plural(total, 'octet invalide', 'octets invalides')} "
                     f"(par exemple un caractère collé depuis un autre logiciel) : {located}"
                     f"{' …' if total > 5 else ''}. Le reste du fichier est lu en UTF-8.")
    hits, count = _cells_where(raw.frame, lambda v: v.str.contains("\ufffd", literal=True))
    raw.problems += [{"ligne": line, "colonne": col, "valeur": value,
                      "probleme": "Caractère illisible (octet invalide dans un fichier UTF-8)",
                      "correction": "Retapez ce caractère dans le fichier, ou réenregistrez le fichier en « CSV UTF-8 »",
                      "gravite": "erreur"} for line, col, value in hits.iter_rows()]
    if count > hits.height:
        raw.problems.append({"ligne": 0, "colonne": "", "valeur": "",
                             "probleme": f"{fmt.integer(count - hits.height)} autres cellules contiennent un caractère "
                                         "illisible", "correction": "Réenregistrez le fichier en « CSV UTF-8 »",
                             "gravite": "erreur"})
    return raw


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
        raw.problems.append(_cut_last_line(raw.frame))
    return raw


def _cut_last_line(frame: pl.DataFrame) -> dict:
    """The warning for a file whose last line has no line break: the file may have been cut in
    the middle of that line (« 10 000 » read « 10 »), so its last value is named."""
    last = frame.tail(1).row(0, named=True)
    cols = [c for c in frame.columns if c != LINE]
    filled = [c for c in cols if last[c] is not None]
    where = filled[-1] if filled else cols[-1]
    empty_end = filled[-1:] != cols[-1:]
    return {"ligne": last[LINE], "colonne": where, "valeur": last[where] or "",
            "probleme": "La dernière ligne ne se termine pas par un retour à la ligne : le fichier est peut-être "
                        "tronqué" + (" (cellules vides en fin de ligne)" if empty_end else
                                     ", cette dernière valeur peut être coupée"),
            "correction": "Vérifiez cette valeur et la fin du fichier (export complet ?)",
            "gravite": "avertissement"}


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


def _read_xlsx(data: bytes, limits: Limits) -> RawTable:
    """The first sheet with data that is not our template's « Description » sheet, read whole:
    every cell of the sheet, whatever Excel « tables » (ListObjects) or recorded dimension it
    declares — a table whose range was not extended must not hide the rows typed under it, and
    a forged dimension must not size the read. The sheet's actual cells are measured first
    (`_sheet_extent`, streamed); only a sheet within the bounds is read, by calamine (fastexcel),
    as text. Floats shaped like `12.345` become `12.3450`: an Excel number is no thousands
    grouping (see `clean.DOT_GROUPS_ONE`), it is read back as the number it is."""
    import fastexcel

    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in book.infolist())
        sheets = _sheet_paths(book)
    except (zipfile.BadZipFile, KeyError, ValueError, ET.ParseError, EOFError, OSError) as exc:
        raise ReadError("Le classeur Excel ne peut pas être ouvert (fichier endommagé ou protégé par mot de passe). "
                        "Ouvrez-le dans Excel et réenregistrez-le au format « Classeur Excel (.xlsx) ».") from exc
    if expanded > MAX_XLSX_EXPANDED:
        raise ReadError(f"Le classeur Excel occupe {fmt.number(expanded / 1024 ** 3, 1)} Go une fois décompressé, au-delà "
                        f"de ce qui peut être lu ({fmt.number(MAX_XLSX_EXPANDED / 1024 ** 3)} Go). Enregistrez les "
                        "données utiles au format CSV, ou découpez le classeur.")
    strings = next((i for i in book.infolist() if i.filename.lower().endswith("sharedstrings.xml")), None)
    if strings is not None and strings.file_size > MAX_XLSX_SHARED_STRINGS:
        raise ReadError(f"Le classeur Excel contient {fmt.number(strings.file_size / 1024 ** 2)} Mo de textes, au-delà de "
                        f"ce qui peut être lu ({fmt.number(MAX_XLSX_SHARED_STRINGS / 1024 ** 2)} Mo). Enregistrez les "
                        "données utiles au format CSV, ou découpez le classeur.")
    for name, path in sheets:
        if name.lower().startswith("description"):
            continue
        try:
            extent = _sheet_extent(book, path, name, limits)
        except (zipfile.BadZipFile, KeyError, EOFError, zlib.error) as exc:  # a part missing or damaged
            raise ReadError(f"Le classeur Excel est endommagé (feuille « {name} » illisible). Ouvrez-le dans Excel "
                            "et réenregistrez-le au format « Classeur Excel (.xlsx) ».") from exc
        if extent is None:
            continue
        try:
            frame = (fastexcel.read_excel(data).load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
                     .to_polars())
        except Exception as exc:  # fastexcel raises its own kinds
            raise ReadError("Le classeur Excel ne peut pas être lu (feuille « " + name + " » endommagée). Détail : "
                            + (str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__)) from exc
        frame = frame.with_columns(pl.when(pl.col(c).str.contains(_FLOAT_GROUPED.pattern))
                                   .then(pl.col(c) + "0").otherwise(pl.col(c)) for c in frame.columns)
        filled = frame.select(pl.any_horizontal(pl.col(c).str.strip_chars().replace("", None).is_not_null()
                                                for c in frame.columns)).to_series()
        lead = filled.arg_true()[0] if filled.any() else None  # blank rows above the header
        if lead is None:
            continue
        head_rows = frame.slice(lead, 10).rows()
        skip = lead + _title_lines([list(r) for r in head_rows], None)
        raw = RawTable(_tidy(_sheet_frame(frame.slice(skip)), skip + 2), "xlsx", None)
        raw.notes += _header_notes(raw.frame, skip)
        if len(sheets) > 1:
            raw.notes.append(f"Feuille lue : « {name} ».")
        return raw
    raise ReadError("Le classeur Excel ne contient aucune feuille avec des données.")


MAX_XLSX_EXPANDED = 2 * 1024 ** 3  # decompressed bytes of a workbook: a zip bomb is refused before any reading
MAX_XLSX_SHARED_STRINGS = 256 * 1024 ** 2  # its shared texts are held in memory by the reader


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
        raise ReadError(f"La feuille « {name} » a des cellules remplies sur {fmt.integer(width)} colonnes (jusqu'à la "
                        f"colonne {_column_letters(numbers[-1])}), au-delà du maximum autorisé "
                        f"({fmt.integer(limits.max_columns)} colonnes, réglage CDV_MAX_COLONNES). Supprimez les "
                        "colonnes inutiles ou les cellules éloignées (dans Excel, Ctrl+Fin montre la dernière cellule "
                        "utilisée), puis réenregistrez le classeur.")
    if last_row * width > limits.max_cells:
        raise ReadError(f"La feuille « {name} » s'étend jusqu'à la cellule {far} : "
                        f"{fmt.integer(last_row)} lignes × {fmt.integer(width)} colonnes, soit "
                        f"{fmt.integer(last_row * width)} cellules, au-delà du maximum autorisé "
                        f"({fmt.integer(limits.max_cells)} cellules, réglage CDV_MAX_CELLULES). Supprimez les lignes "
                        "ou cellules éloignées (dans Excel, Ctrl+Fin montre la dernière cellule utilisée), ou "
                        "découpez le fichier.")
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
    for cell in (sheet.row(0) if sheet.height else [None] * sheet.width):
        name = (cell or "").strip()
        if name in seen:
            name = f"{name}_duplicated_{n_dup}"
            n_dup += 1
        seen.add(name)
        header.append(name)
    return sheet.slice(1).rename(dict(zip(sheet.columns, header)))


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
