"""Reading a JSON array of records (open-data lists such as the ANCT `adulte-relais-2023.json`):
`[{"id_poste": "…", "montant": 22555.73, …}, …]` → the same all-text frame as a CSV with the
records' keys as headers (a key missing from a record is an empty cell).

Decoded like every other file (`decode.decode`: UTF-8 with or without BOM, else Windows-1252);
parsed by Polars. Numbers become their plain text (`22555.73`, read by the column's type like a
CSV cell); a nested object or list is refused."""

from __future__ import annotations

import io
import json

import polars as pl

from cdv_core import fmt
from cdv_core.ingest.decode import decode
from cdv_core.ingest.model import LINE, Limits, RawTable, ReadError

_NESTED = (pl.List, pl.Struct, pl.Array, pl.Object)


def read_records(data: bytes, limits: Limits) -> RawTable:
    """The records of a JSON array as an all-text frame with LINE (the record's number, from 1:
    a JSON file has no header line); raises ReadError in French."""
    text, encoding = decode(data)
    payload = io.BytesIO(data if text is None else text.encode("utf-8"))
    if encoding == "utf-8-sig":
        payload.seek(3)
    try:
        frame = pl.read_json(payload, infer_schema_length=None)
    except (pl.exceptions.PolarsError, json.JSONDecodeError, ValueError) as exc:
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ReadError(
            "Le fichier ressemble à du JSON (il commence par « [ ») mais ne peut pas être lu : un "
            'tableau d\'objets est attendu, par exemple [{"id_poste": "…", "montant": 22555.73}]. '
            f"Détail : {detail}"
        ) from exc
    if frame.width == 0:
        raise ReadError("Le fichier JSON ne contient aucun enregistrement (tableau vide).")
    if frame.width > limits.max_columns:
        raise ReadError(
            f"Le fichier JSON a {fmt.integer(frame.width)} clés différentes, au-delà du maximum "
            f"autorisé ({fmt.integer(limits.max_columns)})."
        )
    if frame.width * frame.height > limits.max_cells:
        raise ReadError(
            f"Le fichier JSON a {fmt.integer(frame.width * frame.height)} valeurs, au-delà du maximum "
            f"autorisé ({fmt.integer(limits.max_cells)}). Découpez-le et importez les morceaux "
            "l'un après l'autre."
        )
    nested = [name for name, dtype in frame.schema.items() if isinstance(dtype, _NESTED)]
    if nested:
        raise ReadError(
            "Le fichier JSON contient des valeurs imbriquées (objets ou listes) pour "
            f"« {', '.join(nested[:5])} » : chaque enregistrement doit avoir des valeurs simples "
            "(texte, nombre, vide)."
        )
    frame = frame.select(pl.all().cast(pl.String).str.strip_chars().replace("", None))
    frame = frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))
    return RawTable(frame, encoding, None, notes=[f"Tableau JSON de {fmt.plural(frame.height, 'enregistrement')}."])
