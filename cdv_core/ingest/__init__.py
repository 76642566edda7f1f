"""Imports (DESIGN §5): read what people upload, validate every cell, show the diff, commit in
one transaction with an import log, roll back exactly.

    analysis = analyse(cur, data, "fichier.csv")          # nothing written
    if analysis.ok: id_import = commit(con, analysis, user=user)   # user: an access.User
    rollback(con, id_import, user=user)
"""

from __future__ import annotations

from cdv_core.ingest.commit import (
    ImportRefused,
    commit,
    contract_codes,
    import_history,
    indicator_codes,
    rollback,
    rollback_choices,
)
from cdv_core.ingest.detect import detect_kind, kind_choices, map_headers
from cdv_core.ingest.diff import diff
from cdv_core.ingest.kinds.insee import mapping_targets
from cdv_core.ingest.model import MAX_UPLOAD_BYTES, Analysis, Load, ReadError
from cdv_core.ingest.pipeline import analyse
from cdv_core.ingest.reading import read_bytes

__all__ = [
    "MAX_UPLOAD_BYTES",
    "Analysis",
    "ImportRefused",
    "Load",
    "ReadError",
    "analyse",
    "commit",
    "contract_codes",
    "detect_kind",
    "diff",
    "import_history",
    "indicator_codes",
    "kind_choices",
    "map_headers",
    "mapping_targets",
    "read_bytes",
    "rollback",
    "rollback_choices",
]
