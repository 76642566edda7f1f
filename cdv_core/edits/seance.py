"""What a séance leaves besides its meeting and decisions: the agenda, to reuse next time."""

from __future__ import annotations

import duckdb

from cdv_core import store
from cdv_core.seance import SECTIONS

_KEY = "agenda:"


def agenda_entry(*, code_instance: str, keys: tuple[str, ...], code_qp: str | None) -> tuple[str, str]:
    """The `store_meta` (key, value) that remembers a séance's agenda (read back by `last_agenda`);
    `edits.gouvernance.record_meeting(meta=...)` writes it with the meeting, in one transaction."""
    return _KEY + code_instance, ",".join(k for k in keys if k in SECTIONS) + ("|" + code_qp if code_qp else "")


def last_agenda(cur: duckdb.DuckDBPyConnection, *, code_instance: str) -> tuple[tuple[str, ...], str | None] | None:
    """The agenda of the instance's last séance (sections still offered), or None."""
    value = store.meta(cur, _KEY + code_instance)
    if not value:
        return None
    sections, _, code_qp = value.partition("|")
    keys = tuple(k for k in sections.split(",") if k in SECTIONS)
    return (keys, code_qp or None) if keys else None
