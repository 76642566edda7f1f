"""Reading a CSV file: its encoding decided on the whole file (`decode`), the separator from the
header line, title lines above the header skipped, parsed by Polars as text; lines with more or
fewer fields than the header located by DuckDB's reject table. Also the table shaping shared with
the other readers (`tidy`, `title_lines`, `header_notes`, `cells_where`, `duckdb_file`)."""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.ingest import decode
from cdv_core.ingest.model import LINE, RawTable, ReadError


def read_csv(data: bytes) -> RawTable:
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raw = _read_utf8_first(data)
        if raw is not None:
            return raw
        damaged = decode.mostly_utf8(data)
        if damaged is not None:
            return _read_damaged_utf8(data, damaged)
    text, encoding = decode.decode(data)
    if text is None:  # valid UTF-8: parsed from the bytes themselves, never decoded whole
        return _read_utf8(data, encoding)
    return _read_csv_text(text, encoding)


def _read_damaged_utf8(data: bytes, text: str) -> RawTable:
    """A UTF-8 file with a few invalid bytes: read as UTF-8, every cell holding one named as an
    error (nothing with a broken character is committed), the bytes located in a note."""
    raw = _read_csv_text(text, "utf-8")
    located = ", ".join(
        f"ligne {fmt.integer(line)} caractère {col} ({' '.join(f'0x{b:02X}' for b in found)})"
        for line, col, found in decode.bad_utf8_bytes(data)
    )
    total = text.count("\ufffd")
    raw.notes.append(
        f"Le fichier est en UTF-8 mais contient {fmt.plural(total, 'octet invalide', 'octets invalides')} "
        f"(par exemple un caractère collé depuis un autre logiciel) : {located}"
        f"{' …' if total > 5 else ''}. Le reste du fichier est lu en UTF-8."
    )
    hits, count = cells_where(raw.frame, lambda v: v.str.contains("\ufffd", literal=True))
    raw.problems += [
        {
            "ligne": line,
            "colonne": col,
            "valeur": value,
            "probleme": "Caractère illisible (octet invalide dans un fichier UTF-8)",
            "correction": "Retapez ce caractère dans le fichier, ou réenregistrez le fichier en « CSV UTF-8 »",
            "gravite": "erreur",
        }
        for line, col, value in hits.iter_rows()
    ]
    if count > hits.height:
        raw.problems.append(
            {
                "ligne": 0,
                "colonne": "",
                "valeur": "",
                "probleme": f"{fmt.integer(count - hits.height)} autres cellules contiennent un caractère illisible",
                "correction": "Réenregistrez le fichier en « CSV UTF-8 »",
                "gravite": "erreur",
            }
        )
    return raw


def detect_separator(text: str) -> str:
    """The separator is the candidate most frequent in the header line (`;` wins ties)."""
    lines = [line for line in text[: 1 << 16].split("\n")[:11] if line.strip()]
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


def _read_utf8_first(data: bytes) -> RawTable | None:
    """The file read as UTF-8, or None when it is not valid UTF-8 (then nothing was decided).

    Polars refuses any field that is not valid UTF-8 (every column is parsed as text); only the
    header line is decoded leniently, a bad byte there becoming U+FFFD in a column name. Every
    other byte is a separator, quote or line break. So a file that Polars parses whole, with no
    U+FFFD in its column names, is valid UTF-8 without a second pass over its bytes; the first
    256 KiB (checked by `decode.utf8_head`) must also hold a line break, so that a bad byte cannot
    hide in a header line Polars reads differently (old Mac files end their lines with a lone
    CR, which Polars does not split on). Otherwise the whole file is checked explicitly."""
    encoding = "utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else "utf-8"
    try:
        head, whole = decode.utf8_head(data, encoding)
    except UnicodeDecodeError:
        return None
    frame = None
    if head[: 1 << 16].strip() and (whole or "\n" in head):  # not empty: the separator is known, parse now
        try:
            frame = pl.read_csv(
                decode.utf8_payload(data, encoding),
                separator=detect_separator(head),
                infer_schema=False,
                has_header=True,
                truncate_ragged_lines=False,
                raise_if_empty=False,
            )
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and any("\ufffd" in c for c in frame.columns):
            frame = None  # a header byte Polars replaced: decided by the explicit check below
    if frame is None and not decode.utf8_valid(memoryview(data)[3:] if encoding == "utf-8-sig" else memoryview(data)):
        return None
    return _read_utf8(data, encoding, frame)


def _read_utf8(data: bytes, encoding: str, frame: pl.DataFrame | None = None) -> RawTable:
    """Valid UTF-8 bytes (BOM or not): what `_read_csv_text` does with the decoded text, reading
    only its first 256 KiB as text (separator, emptiness) and handing the bytes to Polars.
    `frame`: the strict parse of the same payload, when already done."""
    head, whole = decode.utf8_head(data, encoding)
    body = memoryview(data)[3:] if encoding == "utf-8-sig" else memoryview(data)
    if not head[: 1 << 16].strip() and decode.blank(head if whole else decode.without_bom(str(body, "utf-8"))):
        raise ReadError("Le fichier est vide : il ne contient ni en-tête ni ligne de données.")
    stripped = (lambda: data[3:]) if encoding == "utf-8-sig" else (lambda: data)
    return _parse(decode.utf8_payload(data, encoding), stripped, head, encoding, data.endswith((b"\n", b"\r")), frame)


def _read_csv_text(text: str, encoding: str) -> RawTable:
    text = decode.without_bom(text)
    if decode.blank(text):
        raise ReadError("Le fichier est vide : il ne contient ni en-tête ni ligne de données.")
    if "\r" in text[: 1 << 16] and "\n" not in text[: 1 << 16]:  # lone CR line ends (UTF-16 here)
        text = text.replace("\r", "\n")
    payload = text.encode("utf-8")
    if payload[:3] == b"\xef\xbb\xbf":
        payload = payload[3:]
    return _parse(payload, lambda: payload, text[: 1 << 16], encoding, text.endswith(("\n", "\r")))


def _parse(
    payload: bytes, stripped, head: str, encoding: str, ends_with_newline: bool, frame: pl.DataFrame | None = None
) -> RawTable:
    """Polars parses `payload` (UTF-8; `stripped()` is the same without its BOM, for DuckDB's
    location of ragged lines); `head` is the start of the text (separator). `frame`: the strict
    parse, when already done."""
    sep = detect_separator(head)
    skip = title_lines(head.split("\n", 11)[:10], sep)
    if skip:  # a title above the header: Polars and DuckDB read from the header line on
        frame = None
        full = stripped
        stripped = lambda: full().split(b"\n", skip)[-1]  # noqa: E731
    problems: list[dict] = []
    try:
        if frame is None:
            frame = pl.read_csv(
                payload,
                separator=sep,
                infer_schema=False,
                has_header=True,
                truncate_ragged_lines=False,
                raise_if_empty=False,
                skip_lines=skip,
            )
    except pl.exceptions.PolarsError:
        problems = _shifted(_locate_ragged_lines(stripped(), sep), skip)
        try:
            frame = pl.read_csv(
                payload,
                separator=sep,
                infer_schema=False,
                has_header=True,
                truncate_ragged_lines=True,
                raise_if_empty=False,
                skip_lines=skip,
            )
        except pl.exceptions.PolarsError as exc:
            raise ReadError(_unreadable_csv_message(stripped(), sep, exc, skip)) from exc
    raw = RawTable(tidy(frame, skip + 2), encoding, sep, problems)
    raw.notes += header_notes(raw.frame, skip)
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
    return {
        "ligne": last[LINE],
        "colonne": where,
        "valeur": last[where] or "",
        "probleme": "La dernière ligne ne se termine pas par un retour à la ligne : le fichier est peut-être "
        "tronqué" + (" (cellules vides en fin de ligne)" if empty_end else ", cette dernière valeur peut être coupée"),
        "correction": "Vérifiez cette valeur et la fin du fichier (export complet ?)",
        "gravite": "avertissement",
    }


def _unreadable_csv_message(payload: bytes, sep: str, exc: Exception, skip: int = 0) -> str:
    """Why Polars cannot parse the file, in French: an unclosed quote (line located by DuckDB's
    reject table) or lines of different lengths; the parser's own words only as a short detail."""
    detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    quote_lines = [
        line + skip
        for line, error_type in _rejected_lines(payload, sep)
        if error_type in ("UNQUOTED VALUE", "UNTERMINATED QUOTE")
    ]
    if quote_lines:
        return (
            f'Le fichier ne peut pas être lu comme un tableau CSV : un guillemet « " » ouvert à la '
            f"ligne {quote_lines[0]} n'est jamais fermé, et la suite du fichier est lue comme un seul "
            "texte. Fermez ce guillemet (ou supprimez-le), puis réenregistrez le fichier. "
            f"(Détail technique : {detail})"
        )
    return (
        "Le fichier ne peut pas être lu comme un tableau CSV : un guillemet « \" » n'est pas fermé, "
        "ou des lignes n'ont pas le même nombre de cellules que l'en-tête. Vérifiez les guillemets et "
        f"le séparateur. (Détail technique : {detail})"
    )


def _rejected_lines(payload: bytes, sep: str, among: pl.DataFrame | None = None) -> list[tuple[int, str]]:
    """DuckDB's reject table for the file read with the header's number of columns: (line,
    error type) of the first 1 000 lines with more or fewer fields than the header, once per
    line; `among` (a LINE column) restricts them to those rows."""
    with duckdb_file(payload, ".csv") as (con, path):
        try:
            con.execute(
                "SELECT count(*) FROM read_csv($p, all_varchar = true, delim = $d, header = true, "
                "quote = '\"', escape = '\"', store_rejects = true, auto_detect = false, "
                "columns = $cols)",
                {"p": path, "d": sep, "cols": _header_columns(payload, sep)},
            ).fetchall()
            if among is not None:
                con.register("_among", among.select(pl.col(LINE).alias("line")).to_arrow())
            rows = con.execute(
                "SELECT line, min(error_type) FROM reject_errors "
                + ("WHERE line IN (SELECT line FROM _among) " if among is not None else "")
                + "GROUP BY line ORDER BY line LIMIT 1000"
            ).fetchall()
        except duckdb.Error:
            rows = []
    return [(int(line), str(error_type)) for line, error_type in rows]


_SHORT_LINE = "Cette ligne a moins de cellules que l'en-tête"


def _locate_ragged_lines(payload: bytes, sep: str) -> list[dict]:
    """Errors for the lines with more or fewer fields than the header (the strict parse failed)."""
    out = []
    for line, error_type in _rejected_lines(payload, sep):
        too_many = "TOO MANY" in error_type
        out.append(
            {
                "ligne": line,
                "colonne": "",
                "valeur": "",
                "probleme": "Cette ligne a plus de cellules que l'en-tête" if too_many else _SHORT_LINE,
                "correction": "Vérifiez le séparateur (point-virgule partout) et les guillemets autour des textes "
                "contenant le séparateur",
                "gravite": "erreur",
            }
        )
    if not out:
        out.append(
            {
                "ligne": 0,
                "colonne": "",
                "valeur": "",
                "probleme": "Certaines lignes ont plus de cellules que l'en-tête (séparateurs mélangés ?)",
                "correction": "Utilisez le même séparateur sur toutes les lignes",
                "gravite": "erreur",
            }
        )
    return out


def _locate_short_lines(payload: bytes, sep: str, among: pl.DataFrame) -> list[dict]:
    """Warnings for the lines (among the rows of `among`) with fewer fields than the header, which
    the parse read with empty cells at the end (some tools omit trailing empty cells; a cut line
    looks the same)."""
    return [
        {
            "ligne": line,
            "colonne": "",
            "valeur": "",
            "probleme": _SHORT_LINE,
            "correction": "Les cellules manquantes en fin de ligne sont lues comme vides : vérifiez que la "
            "ligne est complète (fichier tronqué, séparateur manquant ?)",
            "gravite": "avertissement",
        }
        for line, error_type in _rejected_lines(payload, sep, among)
        if "MISSING" in error_type
    ]


def _header_columns(payload: bytes, sep: str) -> dict[str, str]:
    header = pl.read_csv(
        io.BytesIO(payload), separator=sep, n_rows=0, infer_schema=False, truncate_ragged_lines=True
    ).columns
    return {f"c{i}": "VARCHAR" for i in range(len(header))}


_LETTER = re.compile(r"[^\W\d_]")


def title_lines(lines: list, sep: str | None) -> int:
    """How many lines above the header to skip (0 nearly always). A title such as « Extraction
    Dauphin du 12/03/2026 » (and blank lines) above the real header: the first of the first ten
    lines has at most half as many non-empty cells as the fullest of them, and a later line as
    full as that one has only cells with letters (a header, not a data row). `lines`: text lines
    (CSV, split on `sep`) or rows of cells (.xlsx, `sep` None)."""
    cells = [
        [(c or "").strip().strip('"').strip() for c in (line.split(sep) if sep is not None else line)] for line in lines
    ]
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


def header_notes(frame: pl.DataFrame, skip: int) -> list[str]:
    """What the user must know about the header line."""
    if skip:
        return [
            f"En-tête trouvé à la ligne {skip + 1} : {'la ligne' if skip == 1 else f'les {skip} lignes'} "
            "au-dessus (titre, lignes vides) " + ("est ignorée." if skip == 1 else "sont ignorées.")
        ]
    unnamed = [c for c in frame.columns if c == "" or c.startswith("_duplicated_") or c.startswith("__UNNAMED__")]
    if unnamed:
        return [
            f"La première ligne ne ressemble pas à un en-tête : {len(unnamed)} colonne(s) contenant des "
            "données n'ont pas de nom. La première ligne du fichier doit donner le nom de chaque colonne "
            "(supprimez les lignes de titre au-dessus, nommez les colonnes)."
        ]
    return []


def tidy(frame: pl.DataFrame, first_line: int = 2) -> pl.DataFrame:
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
        if (
            empty_header
            and frame.select(pl.col(col).str.strip_chars().replace("", None).drop_nulls().len()).item() == 0
        ):
            continue
        keep.append(col)
    frame = frame.select(keep)
    value_cols = [c for c in frame.columns if c != LINE]
    if value_cols:
        frame = frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in value_cols).filter(
            ~pl.all_horizontal(pl.col(c).is_null() for c in value_cols)
        )
    return frame


MAX_LISTED_CELLS = 1_000  # cells listed one by one for a problem of the reading; the count says the rest


def cells_where(frame: pl.DataFrame, test: Callable[[pl.Expr], pl.Expr]) -> tuple[pl.DataFrame, int]:
    """(LINE, colonne, valeur) of the cells where `test(column expr)` holds, at most MAX_LISTED_CELLS,
    and their total count (vectorised: no loop over rows)."""
    cols = [c for c, t in frame.schema.items() if c != LINE and t == pl.String]
    if not cols or not frame.height:
        return pl.DataFrame(schema={LINE: pl.Int64, "__colonne": pl.String, "__valeur": pl.String}), 0
    hits = (
        frame.select([LINE, *cols])
        .unpivot(index=LINE, variable_name="__colonne", value_name="__valeur")
        .filter(test(pl.col("__valeur")))
    )
    return hits.sort(LINE).head(MAX_LISTED_CELLS), hits.height


@contextmanager
def duckdb_file(data: bytes, suffix: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
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
