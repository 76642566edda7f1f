"""Validated writes of the publication rules of indicator sources (table `source_indicateur`,
migration 0010), each in one store transaction. Shared reference data: only a role that may
import national files (`access.NATIONAL`, the administrator) may change them.

- `set_source_rule`: the rhythm and publication lag of one source (or neither: the age rule);
- `reset_source_rule`: forget the store's row, so the shipped default (or the age rule) applies.

A source is matched as the freshness rule matches it (`freshness.source_key`: case, accents and
surrounding spaces ignored): writing « insee filosofi » replaces the row of « Insee Filosofi ».
Invalid input raises `store.IntegrityError` with every French problem found; nothing is written.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from cdv_core import access, store
from cdv_core.domain import freshness
from cdv_core.edits import typed_text

MAX_SOURCE = 100  # characters of a source's name
MAX_NOTE = 300


def _months(value, what: str, lowest: int, highest: int, problems: list[str]) -> int | None:
    """A whole number of months in [lowest, highest], or a French problem."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        problems.append(f"{what} doit être un nombre entier de mois (reçu : « {value} »)")
        return None
    if not lowest <= int(value) <= highest:
        problems.append(f"{what} doit être compris entre {lowest} et {highest} mois (reçu : {int(value)})")
        return None
    return int(value)


def validate_rule(source: str | None, rythme_mois, delai_publication_mois, note: str | None = None) -> list[str]:
    """Every problem of a source's rule, in French (empty when it can be written)."""
    problems: list[str] = []
    name = (source or "").strip()
    if not name:
        problems.append("le nom de la source est obligatoire")
    elif len(name) > MAX_SOURCE:
        problems.append(f"le nom de la source dépasse {MAX_SOURCE} caractères ({len(name)})")
    if (rythme_mois is None) != (delai_publication_mois is None):
        problems.append("indiquez le rythme et le délai de publication, ou aucun des deux (règle d'âge)")
    _months(rythme_mois, "le rythme de publication", 1, freshness.MAX_RYTHME, problems)
    _months(delai_publication_mois, "le délai de publication", 0, freshness.MAX_DELAI, problems)
    if note is not None and len(note.strip()) > MAX_NOTE:
        problems.append(f"la note dépasse {MAX_NOTE} caractères ({len(note.strip())})")
    return problems


@store.retry_on_conflict
def set_source_rule(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    source: str | None,
    rythme_mois: int | None,
    delai_publication_mois: int | None,
    note: str | None = None,
    warnings: list[str] | None = None,
) -> str:
    """Record the rule of `source` (replacing the store's row for it, if any) in one transaction;
    returns the source's name as stored. `rythme_mois` ≥ 1 and `delai_publication_mois` ≥ 0
    (whole months), or both None: the age rule for this source, even where a default exists."""
    audit = store.Audit(
        user.label,
        "Rythme de publication d'une source modifié",
        detail={"source": source, "rythme_mois": rythme_mois, "delai_publication_mois": delai_publication_mois},
    )
    with store.transaction(con, written={"source_indicateur"}, audit=audit) as cur:
        access.require(cur, user, access.NATIONAL)
        problems: list[str] = []
        name = typed_text("nom de la source", source, problems=problems, warnings=warnings)
        note = typed_text("note", note, problems=problems, warnings=warnings)
        problems += validate_rule(name, rythme_mois, delai_publication_mois, note)
        if problems:
            raise store.IntegrityError(problems)
        name = (name or "").strip()  # not empty: validate_rule refused that
        cur.execute(
            "DELETE FROM source_indicateur WHERE strip_accents(lower(trim(source))) = strip_accents(lower(trim($s)))",
            {"s": name},
        )
        cur.execute(
            "INSERT INTO source_indicateur (source, rythme_mois, delai_publication_mois, note, modifie_par, "
            "modifie_le) VALUES ($s, $r, $d, $n, $u, $t)",
            {
                "s": name,
                "r": None if rythme_mois is None else int(rythme_mois),
                "d": None if delai_publication_mois is None else int(delai_publication_mois),
                "n": (note or "").strip() or None,
                "u": user.label,
                "t": datetime.now(),
            },
        )
    return name


@store.retry_on_conflict
def reset_source_rule(con: duckdb.DuckDBPyConnection, *, user: access.User, source: str | None) -> int:
    """Delete the store's row for `source`: its shipped default applies again (or, for a source
    without one, the age rule). Returns the rows deleted (0: the store had none)."""
    audit = store.Audit(user.label, "Rythme de publication d'une source rétabli", detail={"source": source})
    with store.transaction(con, written={"source_indicateur"}, audit=audit) as cur:
        access.require(cur, user, access.NATIONAL)
        if not (source or "").strip():
            raise store.IntegrityError(["le nom de la source est obligatoire"])
        n = store.scalar(
            cur,
            "SELECT count(*) FROM source_indicateur "
            "WHERE strip_accents(lower(trim(source))) = strip_accents(lower(trim($s)))",
            {"s": source},
        )
        cur.execute(
            "DELETE FROM source_indicateur WHERE strip_accents(lower(trim(source))) = strip_accents(lower(trim($s)))",
            {"s": source},
        )
    return n
