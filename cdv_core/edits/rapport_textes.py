"""Validated write of the texts the team writes for a rapport annuel (table `rapport_annuel`,
migration 0015): orientations, evolution, participation, perspectives, per contract and year,
reused in the generated draft (`cdv_core.rapport`).

The row of (contract, year) may already exist (its life-cycle columns — sending to the conseils
citoyens, publication — are written by the report's cycle): it is then updated on the text
columns only; otherwise it is inserted. Invalid input raises `store.IntegrityError` with every
French problem found; nothing is written.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from cdv_core import access, fmt, store
from cdv_core.edits import typed_text
from cdv_core.rapport.content import TEXTS

MAX_TEXT = 20_000  # characters of one text (about six pages)
FIELDS: tuple[str, ...] = tuple(TEXTS)


def validate_texts(cur: duckdb.DuckDBPyConnection, *, code_contrat: str | None, annee, texts: dict) -> list[str]:
    """Every problem of the texts of (code_contrat, annee), in French (empty when they can be written)."""
    problems: list[str] = []
    period = cur.execute(
        "SELECT year(date_debut), year(date_fin) FROM contrat WHERE code_contrat = $c", {"c": code_contrat or ""}
    ).fetchall()
    if not period:
        problems.append("choisissez un contrat existant" if not code_contrat else f"contrat « {code_contrat} » inconnu")
    if isinstance(annee, bool) or not isinstance(annee, int):
        problems.append(f"l'année du rapport doit être un nombre entier (reçu : « {annee} »)")
    elif period and not period[0][0] <= annee <= period[0][1]:
        problems.append(f"l'année {annee} est hors de la période du contrat ({period[0][0]} à {period[0][1]})")
    for key, text in texts.items():
        if text is not None and len(text.strip()) > MAX_TEXT:
            problems.append(
                f"le texte « {TEXTS[key][0]} » dépasse {fmt.integer(MAX_TEXT)} caractères "
                f"({fmt.integer(len(text.strip()))})"
            )
    return problems


@store.retry_on_conflict
def save_texts(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_contrat: str | None,
    annee: int,
    orientations: str | None = None,
    evolution: str | None = None,
    participation: str | None = None,
    perspectives: str | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Record the four texts of the rapport annuel of `code_contrat` for `annee` in one
    transaction (an empty text is stored as NULL: the draft then shows its placeholder)."""
    given = {
        "orientations": orientations,
        "evolution": evolution,
        "participation": participation,
        "perspectives": perspectives,
    }
    audit = store.Audit(
        user.label,
        "Textes du rapport annuel modifiés",
        set() if code_contrat is None else {code_contrat},
        detail={"annee": annee},
    )
    with store.transaction(con, written={"rapport_annuel"}, audit=audit) as cur:
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        cleaned = {k: typed_text(TEXTS[k][0], v, problems=problems, warnings=warnings) for k, v in given.items()}
        problems += validate_texts(cur, code_contrat=code_contrat, annee=annee, texts=cleaned)
        if problems:
            raise store.IntegrityError(problems)
        values = {k: (v or "").strip() or None for k, v in cleaned.items()}
        params = {"c": code_contrat, "a": annee, **values, "u": user.label, "t": datetime.now()}
        exists = store.scalar(
            cur,
            "SELECT count(*) FROM rapport_annuel WHERE code_contrat = $c AND annee = $a",
            {"c": code_contrat, "a": annee},
        )
        if exists:
            cur.execute(
                """UPDATE rapport_annuel SET orientations = $orientations, evolution = $evolution,
                                  participation = $participation, perspectives = $perspectives,
                                  modifie_par = $u, modifie_le = $t
                           WHERE code_contrat = $c AND annee = $a""",
                params,
            )
        else:
            cur.execute(
                """INSERT INTO rapport_annuel (code_contrat, annee, orientations, evolution, participation,
                                  perspectives, modifie_par, modifie_le)
                           VALUES ($c, $a, $orientations, $evolution, $participation, $perspectives, $u, $t)""",
                params,
            )
