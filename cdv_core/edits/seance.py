"""What a séance leaves besides its meeting and decisions: the agenda, to reuse next time, and
the draft of a séance in progress, kept in the store until it is recorded."""

from __future__ import annotations

from datetime import datetime

import duckdb

from cdv_core import access, store
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


# --- drafts: a séance in progress, per person and contract (migration 0009) ---
# Bookkeeping, like store_meta: a draft changes no figure, so it is written without a store
# version bump (the read caches stay valid) and outside the log of writes.


def draft_owner(user: access.User) -> str:
    """Whose draft: the account's email, or the local name when nobody logs in (CDV_AUTH=aucune)."""
    return f"local:{user.nom}" if user.local else user.email


@store.retry_on_conflict  # and a failure of the store as its French StoreError
def save_draft(con: duckdb.DuckDBPyConnection, *, user: access.User, code_contrat: str, contenu: str) -> bool:
    """Keep (replace) `user`'s draft for the contract: the JSON of `cdv_core.seance.draft_json`.
    True once written."""
    cur = con.cursor()
    try:
        with store.plain_transaction(cur) as tx:
            forget_draft(tx, owner=draft_owner(user), code_contrat=code_contrat)
            tx.execute(
                "INSERT INTO seance_brouillon VALUES ($o, $c, $t, $now)",
                {"o": draft_owner(user), "c": code_contrat, "t": contenu, "now": datetime.now()},
            )
    finally:
        cur.close()
    return True


@store.retry_on_conflict  # and a failure of the store as its French StoreError
def drop_draft(con: duckdb.DuckDBPyConnection, *, user: access.User, code_contrat: str) -> bool:
    """Forget `user`'s draft for the contract (the séance was abandoned). True once done."""
    cur = con.cursor()
    try:
        with store.plain_transaction(cur) as tx:
            forget_draft(tx, owner=draft_owner(user), code_contrat=code_contrat)
    finally:
        cur.close()
    return True


def forget_draft(tx: duckdb.DuckDBPyConnection, *, owner: str, code_contrat: str) -> None:
    """The statement that deletes a draft, inside the caller's transaction (`record_meeting`
    deletes the draft of the séance it records in its own)."""
    tx.execute(
        "DELETE FROM seance_brouillon WHERE proprietaire = $o AND code_contrat = $c", {"o": owner, "c": code_contrat}
    )


def drafts(cur: duckdb.DuckDBPyConnection, *, user: access.User) -> dict[str, str]:
    """`user`'s drafts: contract → JSON text, for the contracts `user` may still read."""
    rows = cur.execute(
        "SELECT code_contrat, contenu FROM seance_brouillon WHERE proprietaire = $o ORDER BY modifie_le",
        {"o": draft_owner(user)},
    ).fetchall()
    scope = user.perimetre
    return {c: text for c, text in rows if scope is None or c in scope}
