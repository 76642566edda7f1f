"""Reading what people upload: bytes → an all-text Polars frame (`model.RawTable`), plus what was
detected. `read_bytes` looks at the bytes and hands them to the reader of their format
(`read_csv`, `read_xlsx`, GeoJSON here).

Bounds (size, columns, cells: `Limits`) are checked on the bytes before any parsing. Decoding is
done on the WHOLE file (UTF-8 with/without BOM, UTF-8 with a few stray bytes named as errors,
UTF-16 with BOM, else Windows-1252, else Latin-1); parsing is done by Polars (CSV) or calamine
through fastexcel (.xlsx, after the sheet's actual extent is measured). Structural problems
(lines with too many fields) are located by DuckDB's reject table. Control characters are
removed with a warning.
"""

from __future__ import annotations

import os

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import texte
from cdv_core.ingest import decode
from cdv_core.ingest.model import LINE, MAX_UPLOAD_BYTES, SEPARATOR_LABELS, Limits, RawTable, ReadError
from cdv_core.ingest.read_csv import cells_where, detect_separator, duckdb_file, read_csv
from cdv_core.ingest.read_json import read_records
from cdv_core.ingest.read_xlsx import read_xlsx


def too_big_message(size: int, max_bytes: int) -> str:
    return (
        f"Le fichier pèse {fmt.number(size / 1024 / 1024, 1)} Mo, au-delà de la taille maximale "
        f"autorisée ({fmt.number(max_bytes / 1024 / 1024)} Mo). Découpez-le (par exemple par année ou "
        "par contrat) et importez les morceaux l'un après l'autre."
    )


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


def read_bytes(
    data: bytes, filename: str, *, max_bytes: int = MAX_UPLOAD_BYTES, limits: Limits | None = None
) -> RawTable:
    """Read an uploaded file (CSV or .xlsx) into an all-text frame; raises ReadError in French.
    The bounds (`limits`, else the settings with `max_bytes`) are checked before any parsing."""
    limits = limits or Limits.from_settings(max_bytes=max_bytes)
    if len(data) > limits.max_bytes:
        raise ReadError(too_big_message(len(data), limits.max_bytes))
    if decode.blank(data):
        raise ReadError("Le fichier est vide : il ne contient ni en-tête ni ligne de données.")
    if data[:4] == b"PK\x03\x04":
        return _without_controls(read_xlsx(data, limits))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReadError(
            "Ce fichier est au format Excel ancien (.xls), non pris en charge. Dans Excel, "
            "choisissez « Enregistrer sous » puis « Classeur Excel (.xlsx) » ou « CSV UTF-8 »."
        )
    if data[:5] == b"%PDF-" or (b"\x00" in data[:4096] and data[:2] not in (b"\xff\xfe", b"\xfe\xff")):
        raise ReadError(
            "Ce fichier n'est ni un fichier CSV ni un classeur Excel (.xlsx) : il contient des "
            "données binaires. Exportez vos données au format CSV ou .xlsx."
        )
    if _opening(data) == b"[":  # a JSON array of records (open-data lists)
        return _without_controls(read_records(data, limits))
    if _opening(data) == b"{":
        return _read_geojson(data)
    data, mac = _lone_cr_to_lf(data)
    check_csv_bounds(data, limits)
    raw = read_csv(data)
    if mac:
        raw.notes.append("Fins de ligne « Macintosh » (retour chariot seul) converties.")
    return _without_controls(raw)


def check_csv_bounds(data: bytes, limits: Limits) -> None:
    """Columns (the widest of the first lines: a header below a title counts) and cells (lines ×
    columns) within the bounds, measured on the bytes before anything is parsed: a 10 MB line of
    a million separators is refused in milliseconds."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
    head = data[: 1 << 19]
    text = head.decode("utf-16" if utf16 else "latin-1", errors="ignore")
    sep = detect_separator(text)
    lines = text.split("\n", 11)[:11]
    columns = max(line.count(sep) + 1 for line in lines)
    whole_line = len(lines) > 1 or len(head) == len(data)
    if columns > limits.max_columns:
        raise ReadError(
            f"Le fichier a {'' if whole_line else 'au moins '}{fmt.integer(columns)} colonnes "
            f"(séparateur {SEPARATOR_LABELS.get(sep, sep)}), au-delà du maximum autorisé "
            f"({fmt.integer(limits.max_columns)}, réglage CDV_MAX_COLONNES). Gardez les colonnes utiles "
            "et vérifiez le séparateur, puis réimportez."
        )
    if not whole_line:
        raise ReadError(
            f"La première ligne du fichier dépasse {fmt.integer(len(head) // 1024)} Ko sans fin de ligne : "
            "ce n'est pas un en-tête de tableau. Vérifiez que le fichier est bien un tableau CSV (une ligne "
            "par enregistrement)."
        )
    newline = b"\n\x00" if data[:2] == b"\xff\xfe" else b"\x00\n" if utf16 else b"\n"
    rows = data.count(newline) + (0 if data.endswith((b"\n", b"\n\x00")) else 1)
    if rows * columns > limits.max_cells:
        raise ReadError(
            f"Le fichier compte {fmt.integer(rows)} lignes × {fmt.integer(columns)} colonnes, soit "
            f"{fmt.integer(rows * columns)} cellules, au-delà du maximum autorisé "
            f"({fmt.integer(limits.max_cells)} cellules, réglage CDV_MAX_CELLULES). Découpez-le (par "
            "exemple par année ou par contrat) et importez les morceaux l'un après l'autre."
        )


def _lone_cr_to_lf(data: bytes) -> tuple[bytes, bool]:
    """Old Mac « CSV Macintosh » files end their lines with a lone CR, which the parsers do not
    split on: when the head of the file has CR but no LF, every CR becomes LF (one pass in C;
    CRLF files and the common LF files are left as they are). Not for UTF-16, where a 0x0D byte
    may belong to another character: that text is converted after decoding."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data, False
    head = data[: 1 << 16]
    if b"\r" in head and b"\n" not in head:
        return data.replace(b"\r", b"\n"), True
    return data, False


def _opening(data: bytes) -> bytes:
    """The first byte after any BOM and blank bytes (without copying the whole file)."""
    ws = b"\xef\xbb\xbf \t\r\n"
    head = data[: 1 << 16].lstrip(ws)
    return head[:1] if head or len(data) <= 1 << 16 else data.lstrip(ws)[:1]


def _without_controls(raw: RawTable) -> RawTable:
    """Control characters (NUL, BEL, ESC…) removed from every cell and header, each cell named in
    a warning; tabs become spaces and carriage returns line feeds, silently."""
    frame = raw.frame
    renames = {c: (texte.strip_control(c) or "").strip() for c in frame.columns if c != LINE and texte.has_control(c)}
    if renames and len(set(renames.values()) | (set(frame.columns) - set(renames))) == frame.width:
        frame = frame.rename(renames)
    hits, total = cells_where(frame, lambda v: v.str.contains(texte.CONTROL))
    cols = [c for c, t in frame.schema.items() if c != LINE and t == pl.String]
    found = frame.select(texte.control_expr(pl.col(c)).any() for c in cols).row(0) if cols and frame.height else ()
    touched = [c for c, hit in zip(cols, found) if hit]
    if touched:
        frame = frame.with_columns(
            texte.strip_control_expr(pl.col(c)).str.strip_chars().replace("", None) for c in touched
        )
    raw.frame = frame
    if total:
        raw.problems += [
            {
                "ligne": line,
                "colonne": col,
                "valeur": _visible(value),
                **_control_problem(value),
                "gravite": "avertissement",
            }
            for line, col, value in hits.iter_rows()
        ]
        if total > hits.height:
            raw.notes.append(
                f"{fmt.integer(total)} cellules contenaient des caractères de contrôle invisibles, "
                f"retirés ; les {fmt.integer(hits.height)} premières sont listées."
            )
    return raw


def _control_problem(value: str) -> dict[str, str]:
    """What the report says of a cell with control characters: removed, or (a Windows-1252
    character read as a control one, see `texte.CP1252_C1`) put back, quoting the value stored."""
    if any(ch in texte.CP1252_C1 for ch in value):
        return {
            "probleme": "Caractère mal décodé (Windows-1252, par exemple « œ ») rétabli",
            "correction": "Rien à faire : la valeur est enregistrée ainsi : "
            f"« {(texte.strip_control(value) or '')[:200]} » (vérifiez-la)",
        }
    return {
        "probleme": texte.CONTROL_PROBLEM,
        "correction": "Rien à faire : la valeur est enregistrée sans ce caractère (vérifiez-la)",
    }


def _visible(value: str) -> str:
    """A cell's text with its invisible characters shown as ␀-style symbols (for the report)."""
    return "".join(
        chr(0x2400 + ord(ch)) if ord(ch) < 0x20 else "␡" if ch == "\x7f" else "\ufffd" if 0x80 <= ord(ch) < 0xA0 else ch
        for ch in value[:200]
    )


def _read_geojson(data: bytes) -> RawTable:
    """A GeoJSON FeatureCollection of QPV contours → (code_qp, contour) rows, read by DuckDB's JSON
    reader. The QPV code is taken from the first property among code_qp / CODE_QP / code_quartier."""
    with duckdb_file(data, ".geojson") as (con, path):
        try:
            frame = con.execute(
                "WITH f AS (SELECT unnest(json_extract(json, '$.features[*]')) AS f "
                "           FROM read_json_objects($p, format = 'unstructured', maximum_object_size = 1000000000)) "
                "SELECT coalesce(json_extract_string(f, '$.properties.code_qp'), "
                "                json_extract_string(f, '$.properties.CODE_QP'), "
                "                json_extract_string(f, '$.properties.code_quartier')) AS code_qp, "
                "       CAST(json_extract(f, '$.geometry') AS VARCHAR) AS contour FROM f",
                parameters={"p": path},
            ).pl()
        except duckdb.Error as exc:
            raise ReadError(
                "Le fichier ressemble à du GeoJSON mais ne peut pas être lu (JSON invalide ou sans "
                f"« features »). Détail : {str(exc).splitlines()[0][:160]}"
            ) from exc
    frame = (
        frame.with_row_index(LINE, offset=1)
        .with_columns(pl.col(LINE).cast(pl.Int64))
        .select(LINE, "code_qp", "contour")
    )
    return RawTable(frame, "geojson", None)
