"""Validated writes of « Bilans des porteurs » (« Actions et financements »), each in one store
transaction (issue #19):

- `record_bilan`: record, or change, the bilan of one action and exercice (date received,
  status, comment) — table `bilan_action`, one row per (code_action, annee);
- `delete_bilan`: forget a bilan recorded by mistake (it is then missing again);
- `set_porteur_contact`: the porteur's contact for the reminders (name, e-mail, telephone).

The bilans of many actions are recorded at once with the « bilans » import template, and the
contacts of many porteurs with the « porteurs » template (docs/imports.md).

Rights: the writer needs `access.WRITE` on the action's contract (a porteur's contact: on every
contract of its actions; a porteur without action: an administrator). Invalid input raises
`store.IntegrityError` with every French problem found; nothing is written.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb

from cdv_core import access, fmt, store
from cdv_core.domain import model
from cdv_core.edits import typed_text

MAX_COMMENTAIRE = 1000
MAX_CONTACT = 200


def _action(cur, code_action: str | None) -> dict | None:
    if not code_action:
        return None
    rows = cur.execute(
        "SELECT code_action, code_contrat, annee_debut, annee_fin FROM action WHERE code_action = $a",
        {"a": code_action},
    ).fetchall()
    return dict(zip(("code_action", "code_contrat", "annee_debut", "annee_fin"), rows[0])) if rows else None


def validate_bilan(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_action: str | None,
    annee,
    date_reception: date | None,
    statut: str | None,
    commentaire: str | None,
    today: date,
) -> list[str]:
    """Every problem of a bilan, in French (empty when it can be written)."""
    problems: list[str] = []
    action = _action(cur, code_action)
    if action is None:
        problems.append("choisissez une action existante" if not code_action else f"action « {code_action} » inconnue")
    if isinstance(annee, bool) or not isinstance(annee, int):
        problems.append("l'exercice (année) est obligatoire")
    elif action is not None and not action["annee_debut"] <= annee <= action["annee_fin"]:
        problems.append(
            f"l'exercice {annee} est hors des années de l'action {action['code_action']} "
            f"({action['annee_debut']}–{action['annee_fin']})"
        )
    elif action is not None and not store.scalar(
        cur,
        "SELECT count(*) FROM financement WHERE code_action = $a AND annee = $y AND montant_accorde > 0",
        {"a": action["code_action"], "y": annee},
    ):
        problems.append(
            f"aucun montant accordé à l'action {action['code_action']} pour l'exercice {annee} : pas de bilan attendu"
        )
    if statut not in model.STATUTS_BILAN:
        problems.append(f"statut « {statut} » inconnu (attendu : {', '.join(model.STATUTS_BILAN)})")
    if date_reception is None:
        problems.append("la date de réception est obligatoire")
    elif date_reception > today:
        problems.append(f"la date de réception {fmt.day(date_reception)} est dans le futur")
    elif isinstance(annee, int) and not isinstance(annee, bool) and date_reception.year < annee:
        problems.append(f"la date de réception {fmt.day(date_reception)} précède l'exercice {annee}")
    if commentaire is not None and len(commentaire.strip()) > MAX_COMMENTAIRE:
        problems.append(
            f"le commentaire dépasse {fmt.integer(MAX_COMMENTAIRE)} caractères ({len(commentaire.strip())})"
        )
    return problems


@store.retry_on_conflict
def record_bilan(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    code_action: str | None,
    annee: int | None,
    date_reception: date | None,
    statut: str | None,
    commentaire: str | None = None,
    today: date | None = None,
    warnings: list[str] | None = None,
) -> str:
    """Record the bilan of `code_action` for exercice `annee` (replacing the one recorded, if
    any) in one transaction; returns « nouveau » or « modifié »."""
    today = today or date.today()
    audit = store.Audit(
        user.label, "Bilan de porteur enregistré", detail={"code_action": code_action, "annee": annee, "statut": statut}
    )
    with store.transaction(con, written={"bilan_action"}, audit=audit) as cur:
        action = _action(cur, code_action)
        audit.contrats = {action["code_contrat"]} if action else set()
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        problems: list[str] = []
        commentaire = typed_text("commentaire", commentaire, problems=problems, warnings=warnings)
        problems += validate_bilan(
            cur,
            code_action=code_action,
            annee=annee,
            date_reception=date_reception,
            statut=statut,
            commentaire=commentaire,
            today=today,
        )
        if problems:
            raise store.IntegrityError(problems)
        row = {
            "a": code_action,
            "y": annee,
            "d": date_reception,
            "s": statut,
            "c": (commentaire or "").strip() or None,
            "u": user.label,
            "t": datetime.now(),
        }
        known = store.scalar(
            cur,
            "SELECT count(*) FROM bilan_action WHERE code_action = $a AND annee = $y",
            {"a": code_action, "y": annee},
        )
        if known:  # keeps the row's id_import: the import that brought it still accounts for it
            cur.execute(
                "UPDATE bilan_action SET date_reception = $d, statut = $s, commentaire = $c, modifie_par = $u, "
                "modifie_le = $t WHERE code_action = $a AND annee = $y",
                row,
            )
        else:
            cur.execute(
                "INSERT INTO bilan_action (code_action, annee, date_reception, statut, commentaire, modifie_par, "
                "modifie_le) VALUES ($a, $y, $d, $s, $c, $u, $t)",
                row,
            )
    return "modifié" if known else "nouveau"


@store.retry_on_conflict
def delete_bilan(
    con: duckdb.DuckDBPyConnection, *, user: access.User, code_action: str | None, annee: int | None
) -> int:
    """Forget the bilan of `code_action` for `annee`; returns the rows deleted (0: none recorded)."""
    audit = store.Audit(user.label, "Bilan de porteur supprimé", detail={"code_action": code_action, "annee": annee})
    with store.transaction(con, written={"bilan_action"}, audit=audit) as cur:
        action = _action(cur, code_action)
        if action is None:
            raise store.IntegrityError([f"action « {code_action} » inconnue"])
        audit.contrats = {action["code_contrat"]}
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        params = {"a": code_action, "y": annee}
        n = store.scalar(cur, "SELECT count(*) FROM bilan_action WHERE code_action = $a AND annee = $y", params)
        cur.execute("DELETE FROM bilan_action WHERE code_action = $a AND annee = $y", params)
    return int(n or 0)


def validate_contact(
    contact_nom: str | None, contact_email: str | None, contact_telephone: str | None
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a porteur's contact, in French: an e-mail that is not one is a
    problem; a telephone number that does not look French is only a warning (abroad, extension)."""
    problems: list[str] = []
    notes: list[str] = []
    for label, value in (
        ("le nom du contact", contact_nom),
        ("l'adresse électronique", contact_email),
        ("le téléphone", contact_telephone),
    ):
        if value is not None and len(value.strip()) > MAX_CONTACT:
            problems.append(f"{label} dépasse {MAX_CONTACT} caractères ({len(value.strip())})")
    if contact_email and contact_email.strip() and not re.fullmatch(model.CONTACT_EMAIL_SHAPE, contact_email.strip()):
        problems.append(f"adresse électronique « {contact_email.strip()[:80]} » invalide (attendu : nom@domaine.fr)")
    if (
        contact_telephone
        and contact_telephone.strip()
        and not re.fullmatch(model.CONTACT_TELEPHONE_SHAPE, contact_telephone.strip())
    ):
        notes.append(
            f"téléphone « {contact_telephone.strip()[:40]} » enregistré tel quel : ce n'est pas un numéro "
            "français à 10 chiffres (01 23 45 67 89)"
        )
    return problems, notes


@store.retry_on_conflict
def set_porteur_contact(
    con: duckdb.DuckDBPyConnection,
    *,
    user: access.User,
    id_porteur: str | None,
    contact_nom: str | None,
    contact_email: str | None,
    contact_telephone: str | None,
    warnings: list[str] | None = None,
) -> str:
    """Record the contact of porteur `id_porteur` (an empty field clears it); returns its name."""
    audit = store.Audit(user.label, "Contact d'un porteur modifié", detail={"id_porteur": id_porteur})
    with store.transaction(con, written={"porteur"}, audit=audit) as cur:
        rows = cur.execute("SELECT nom FROM porteur WHERE id_porteur = $p", {"p": id_porteur}).fetchall()
        if not rows:
            raise store.IntegrityError([f"porteur « {id_porteur} » inconnu"])
        contracts = {
            r[0]
            for r in cur.execute(
                "SELECT DISTINCT code_contrat FROM action WHERE id_porteur = $p", {"p": id_porteur}
            ).fetchall()
        }
        audit.contrats = contracts
        if contracts:
            access.require(cur, user, access.WRITE, contrats=contracts)
        else:  # a porteur of no contract is shared reference data
            access.require(cur, user, access.NATIONAL)
        problems: list[str] = []
        values = [
            typed_text(label, value, problems=problems, warnings=warnings)
            for label, value in (
                ("nom du contact", contact_nom),
                ("adresse électronique", contact_email),
                ("téléphone", contact_telephone),
            )
        ]
        values = [(v or "").strip() or None for v in values]
        found, notes = validate_contact(*values)
        problems += found
        if problems:
            raise store.IntegrityError(problems)
        if warnings is not None:
            warnings.extend(n for n in notes if n not in warnings)
        cur.execute(
            "UPDATE porteur SET contact_nom = $n, contact_email = $e, contact_telephone = $t WHERE id_porteur = $p",
            {"n": values[0], "e": values[1], "t": values[2], "p": id_porteur},
        )
    return rows[0][0]
