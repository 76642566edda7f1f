"""Recording a meeting (réunion) of a governance instance and its decisions, from the form of the
« Gouvernance » page.

`validate_meeting` returns French error messages (empty when the input is acceptable);
`record_meeting` validates, then writes the meeting and its decisions in one
`store.transaction` (which also checks the cross-table rules, e.g. the meeting date inside the
contract period) and returns the new meeting id; invalid input raises `store.IntegrityError`
with every French problem found, and nothing is written.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date

import duckdb

from cdv_core import access, fmt, store
from cdv_core.domain import model
from cdv_core.edits import seance as seance_edits
from cdv_core.edits import typed_text

_URL = re.compile(r"^(https?://\S+|\S+\.(pdf|docx?|odt))$", re.IGNORECASE)
_SPLIT = re.compile(r"[;,\s]+")
MAX_TEXT = 500
REPLACEABLE: tuple[str, ...] = ("prévue", "reportée")  # meetings that a record may complete


@dataclass(frozen=True)
class DecisionDraft:
    libelle: str
    responsable: str | None = None
    date_echeance: date | None = None
    statut: str = "à faire"
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeetingDraft:
    code_instance: str
    date_reunion: date | None
    statut: str
    nb_participants: int | None = None
    nb_habitants: int | None = None
    objet: str | None = None
    lien_compte_rendu: str | None = None
    decisions: tuple[DecisionDraft, ...] = field(default_factory=tuple)


def parse_action_codes(text: str | None) -> tuple[str, ...]:
    """Action codes typed in a text box, separated by commas, semicolons or spaces."""
    return tuple(dict.fromkeys(c for c in _SPLIT.split((text or "").strip()) if c))


def validate_meeting(
    cur: duckdb.DuckDBPyConnection, draft: MeetingDraft, *, today: date, replaces: str | None = None
) -> list[str]:
    """Every problem of the draft, in French (never stops at the first one). `replaces`: the id of
    a planned (« prévue » or « reportée ») meeting of the same instance that the draft records."""
    errors: list[str] = []
    if replaces is not None:
        found = cur.execute(
            "SELECT code_instance, statut FROM reunion WHERE id_reunion = $r", {"r": replaces}
        ).fetchall()
        if not found:
            errors.append(f"Réunion « {replaces} » introuvable : elle a peut-être été modifiée entre-temps.")
        elif found[0][0] != draft.code_instance:
            errors.append(f"La réunion « {replaces} » appartient à une autre instance.")
        elif found[0][1] not in REPLACEABLE:
            errors.append(
                f"La réunion « {replaces} » est déjà « {found[0][1]} » : seule une réunion prévue ou "
                "reportée peut être complétée."
            )
    rows = cur.execute(
        """SELECT i.code_contrat, i.libelle, c.date_debut, c.date_fin
           FROM instance i JOIN contrat c USING (code_contrat) WHERE i.code_instance = $i""",
        {"i": draft.code_instance},
    ).fetchall()
    contrat = rows[0] if rows else None
    if contrat is None:
        errors.append(f"Instance « {draft.code_instance} » inconnue : choisissez une instance dans la liste.")
    if draft.statut not in model.STATUTS_REUNION:
        errors.append(f"Statut de réunion « {draft.statut} » inconnu (attendu : {', '.join(model.STATUTS_REUNION)}).")
    if draft.date_reunion is None:
        errors.append("La date de la réunion est obligatoire.")
    else:
        if contrat is not None and not (contrat[2] <= draft.date_reunion <= contrat[3]):
            errors.append(
                f"La date de la réunion ({fmt.day(draft.date_reunion)}) est hors de la période du contrat "
                f"({fmt.day(contrat[2])} - {fmt.day(contrat[3])})."
            )
        if draft.statut == "tenue" and draft.date_reunion > today:
            errors.append(
                f"Une réunion « tenue » ne peut pas être datée dans le futur ({fmt.day(draft.date_reunion)}) : "
                "choisissez le statut « prévue »."
            )
    for label, value in (("participants", draft.nb_participants), ("habitants présents", draft.nb_habitants)):
        if value is not None and value < 0:
            errors.append(f"Le nombre de {label} ne peut pas être négatif ({value}).")
    if (
        draft.nb_participants is not None
        and draft.nb_habitants is not None
        and draft.nb_habitants > draft.nb_participants
    ):
        errors.append(
            f"Le nombre d'habitants présents ({draft.nb_habitants}) dépasse le nombre de participants "
            f"({draft.nb_participants})."
        )
    if draft.statut != "tenue" and (draft.nb_participants or draft.nb_habitants):
        errors.append("Des participants ne peuvent être saisis que pour une réunion « tenue ».")
    if draft.statut != "tenue" and draft.decisions:
        errors.append("Des décisions ne peuvent être enregistrées que pour une réunion « tenue ».")
    if draft.objet and len(draft.objet) > MAX_TEXT:
        errors.append(f"L'objet est trop long ({len(draft.objet)} caractères, {MAX_TEXT} au plus).")
    if draft.lien_compte_rendu and not _URL.match(draft.lien_compte_rendu.strip()):
        errors.append(
            "Le lien du compte rendu doit être une adresse web (https://…) ou un nom de fichier "
            "(.pdf, .doc, .docx, .odt)."
        )
    for n, d in enumerate(draft.decisions, start=1):
        errors += decision_errors(
            cur,
            d,
            code_contrat=None if contrat is None else contrat[0],
            date_reunion=draft.date_reunion,
            where=f"Décision {n}",
        )
    return errors


def decision_errors(
    cur: duckdb.DuckDBPyConnection,
    decision: DecisionDraft,
    *,
    code_contrat: str | None,
    date_reunion: date | None,
    where: str = "Décision",
) -> list[str]:
    """Every problem of one decision, in French, each message starting with `where`: the rule
    `validate_meeting` applies to each decision of a meeting, and `check_decision` to a decision
    typed during a séance (so that closing cannot refuse a decision accepted earlier).
    `code_contrat`: the contract whose actions the decision may name (None: not checked)."""
    errors: list[str] = []
    d = decision
    if not (d.libelle or "").strip():
        errors.append(f"{where} : le libellé est obligatoire.")
    elif len(d.libelle) > MAX_TEXT:
        errors.append(f"{where} : le libellé est trop long ({len(d.libelle)} caractères, {MAX_TEXT} au plus).")
    if d.responsable and len(d.responsable) > MAX_TEXT:
        errors.append(f"{where} : le responsable est trop long ({len(d.responsable)} caractères, {MAX_TEXT} au plus).")
    if d.statut not in model.STATUTS_DECISION:
        errors.append(f"{where} : statut « {d.statut} » inconnu (attendu : {', '.join(model.STATUTS_DECISION)}).")
    if d.date_echeance is not None and date_reunion is not None and d.date_echeance < date_reunion:
        errors.append(
            f"{where} : l'échéance ({fmt.day(d.date_echeance)}) précède la réunion ({fmt.day(date_reunion)})."
        )
    if d.actions and code_contrat is not None:
        known = {
            r[0]
            for r in cur.execute(
                "SELECT code_action FROM action WHERE code_contrat = $c AND list_contains($codes, code_action)",
                {"c": code_contrat, "codes": list(d.actions)},
            ).fetchall()
        }
        unknown = [c for c in d.actions if c not in known]
        if unknown:
            errors.append(f"{where} : action(s) inconnue(s) dans ce contrat : {', '.join(unknown)}.")
    return errors


@dataclass(frozen=True)
class DecisionCheck:
    decision: DecisionDraft  # as it would be stored (texts cleaned, action codes parsed)
    errors: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_decision(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_instance: str,
    date_reunion: date | None,
    libelle: str,
    responsable: str | None = None,
    date_echeance: date | None = None,
    actions: str | None = None,
) -> DecisionCheck:
    """A decision typed during a séance, checked when it is added or edited with the very rules
    that closing the séance applies (`clean_decision`, then `decision_errors`, as `record_meeting`
    does): a decision accepted here cannot make the closing fail. `actions`: the codes as typed."""
    warnings: list[str] = []
    decision, errors = clean_decision(
        DecisionDraft(
            libelle=(libelle or "").strip(),
            responsable=_clean(responsable),
            date_echeance=date_echeance,
            actions=parse_action_codes(actions),
        ),
        warnings=warnings,
    )
    rows = cur.execute("SELECT code_contrat FROM instance WHERE code_instance = $i", {"i": code_instance}).fetchall()
    if not rows:
        errors.append(f"Instance « {code_instance} » inconnue : choisissez une instance dans la liste.")
    errors += decision_errors(cur, decision, code_contrat=rows[0][0] if rows else None, date_reunion=date_reunion)
    return DecisionCheck(decision, errors, warnings)


def next_meeting_id(cur: duckdb.DuckDBPyConnection, code_instance: str) -> str:
    """`R-<code_instance>-<n>` with n one more than the instance's highest number (3 digits)."""
    n = store.scalar(
        cur,
        """SELECT coalesce(max(try_cast(regexp_extract(id_reunion, '-(\\d+)$', 1) AS INTEGER)), 0) + 1
           FROM reunion WHERE code_instance = $i AND starts_with(id_reunion, $prefix)""",
        {"i": code_instance, "prefix": f"R-{code_instance}-"},
    )
    candidate = f"R-{code_instance}-{n:03d}"
    while store.scalar(cur, "SELECT count(*) FROM reunion WHERE id_reunion = $id", {"id": candidate}):
        n += 1
        candidate = f"R-{code_instance}-{n:03d}"
    return candidate


# What recording a meeting writes (the log of writes and the rule checks name them; store_meta
# holds the séance's agenda and is not logged).
MEETING_TABLES = frozenset({"reunion", "decision", "decision_action", "store_meta"})


@store.retry_on_conflict
def _write_meeting(
    con: duckdb.DuckDBPyConnection,
    draft: MeetingDraft,
    replaces: str | None,
    meta: tuple[tuple[str, str], ...],
    user: access.User,
    closes_draft: str | None = None,
    *,
    today: date,
    text_errors: tuple[str, ...] = (),
) -> str:
    """The meeting's one transaction (run again when another writer committed first: the
    meeting id and the decisions' numbers are read anew inside it): the right, then every
    problem of the draft (`text_errors`: those of its typed texts), then the rows."""
    audit = store.Audit(user.label, "Séance enregistrée" if meta else "Réunion enregistrée")
    with store.transaction(con, written=MEETING_TABLES, audit=audit) as tx:
        audit.contrats = {
            r[0]
            for r in tx.execute(
                "SELECT code_contrat FROM instance WHERE code_instance = $i", {"i": draft.code_instance}
            ).fetchall()
        }
        access.require(tx, user, access.WRITE, contrats=audit.contrats)
        errors = [*text_errors, *validate_meeting(tx, draft, today=today, replaces=replaces)]
        if errors:
            raise store.IntegrityError(errors)
        values = {
            "i": draft.code_instance,
            "d": draft.date_reunion,
            "s": draft.statut,
            "p": draft.nb_participants,
            "h": draft.nb_habitants,
            "o": _clean(draft.objet),
            "l": _clean(draft.lien_compte_rendu),
        }
        if replaces is None:
            id_reunion = next_meeting_id(tx, draft.code_instance)
            tx.execute(
                """INSERT INTO reunion (id_reunion, code_instance, date_reunion, statut, nb_participants,
                                        nb_habitants, objet, lien_compte_rendu)
                   VALUES ($id, $i, $d, $s, $p, $h, $o, $l)""",
                {"id": id_reunion} | values,
            )
            first = 1
        else:
            id_reunion = replaces
            tx.execute(
                """UPDATE reunion SET date_reunion = $d, statut = $s, nb_participants = $p, nb_habitants = $h,
                                      objet = coalesce($o, objet), lien_compte_rendu = coalesce($l, lien_compte_rendu)
                   WHERE id_reunion = $id AND code_instance = $i""",
                {"id": id_reunion} | values,
            )
            first = 1 + store.scalar(tx, "SELECT count(*) FROM decision WHERE id_reunion = $r", {"r": id_reunion})
        for n, d in enumerate(draft.decisions, start=first):
            id_decision = f"D-{id_reunion[2:]}-{n}"
            tx.execute(
                """INSERT INTO decision (id_decision, id_reunion, libelle, responsable, date_echeance, statut)
                   VALUES ($id, $r, $lib, $resp, $due, $s)""",
                {
                    "id": id_decision,
                    "r": id_reunion,
                    "lib": d.libelle.strip(),
                    "resp": _clean(d.responsable),
                    "due": d.date_echeance,
                    "s": d.statut,
                },
            )
            for code in d.actions:
                tx.execute(
                    "INSERT INTO decision_action (id_decision, code_action) VALUES ($d, $a)",
                    {"d": id_decision, "a": code},
                )
        for key, value in meta:
            store.set_meta(tx, key, value)
        if closes_draft:
            seance_edits.forget_draft(tx, owner=seance_edits.draft_owner(user), code_contrat=closes_draft)
        audit.detail = {
            "réunion": id_reunion,
            "instance": draft.code_instance,
            "décisions": len(draft.decisions),
            "complète": replaces,
        }
    return id_reunion


def clean_texts(draft: MeetingDraft, *, warnings: list[str] | None = None) -> tuple[MeetingDraft, list[str]]:
    """The draft with its typed texts as they may be stored (`edits.typed_text`): control
    characters removed (said in `warnings`); and the French errors of any text a spreadsheet
    would run as a formula (`=HYPERLINK(…)`, `@SUM(…)`…)."""
    errors: list[str] = []

    def typed(label: str, text: str | None) -> str | None:
        return typed_text(label, text, problems=errors, warnings=warnings)

    objet, lien = typed("Objet", draft.objet), typed("Lien du compte rendu", draft.lien_compte_rendu)
    decisions = []
    for n, d in enumerate(draft.decisions, start=1):
        cleaned, problems = clean_decision(d, where=f"Décision {n}", warnings=warnings)
        decisions.append(cleaned)
        errors += problems
    return dataclasses.replace(draft, objet=objet, lien_compte_rendu=lien, decisions=tuple(decisions)), errors


def clean_decision(
    decision: DecisionDraft, *, where: str = "Décision", warnings: list[str] | None = None
) -> tuple[DecisionDraft, list[str]]:
    """One decision's typed texts as they may be stored (see `clean_texts`), and their errors."""
    errors: list[str] = []
    libelle = typed_text(f"{where}, libellé", decision.libelle, problems=errors, warnings=warnings)
    responsable = typed_text(f"{where}, responsable", decision.responsable, problems=errors, warnings=warnings)
    # typed_text returns None only for None: the draft's libellé as it was
    return dataclasses.replace(
        decision, libelle=decision.libelle if libelle is None else libelle, responsable=responsable
    ), errors


def record_meeting(
    con: duckdb.DuckDBPyConnection,
    draft: MeetingDraft,
    *,
    user: access.User,
    today: date,
    replaces: str | None = None,
    meta: tuple[tuple[str, str], ...] = (),
    closes_draft: str | None = None,
    warnings: list[str] | None = None,
) -> str:
    """Validate, then write the meeting and its decisions in one transaction; returns the
    meeting's id.

    With `replaces` (the id of a planned or postponed meeting of the same instance) that meeting is
    completed in place (same id) instead of a new one being added. `meta`: (key, value) entries of
    `store_meta` written in the same transaction (e.g. the séance's agenda, to reuse next time):
    the meeting and them are saved together or not at all. `closes_draft`: the contract whose
    séance draft of `user` this meeting records, deleted in the same transaction (a séance is
    never both recorded and still open). Nothing is written when anything is refused: a `user`
    who may not write the instance's contract (access.AccessDenied), every problem of the draft
    at once (store.IntegrityError), a store that cannot be written (store.WriteFailed…; any
    other StoreError says that the meeting was not recorded). A typed text that a spreadsheet
    would run as a formula is a problem; control characters are removed, said in `warnings`
    (`clean_texts`).
    """
    draft, text_errors = clean_texts(draft, warnings=warnings)
    try:
        return _write_meeting(
            con, draft, replaces, meta, user, closes_draft, today=today, text_errors=tuple(text_errors)
        )
    except (store.WriteRefused, store.WriteFailed, store.WriteConflict):
        raise  # each says what was refused or failed, and that nothing was written
    except store.StoreError as exc:
        raise store.StoreError(f"La réunion n'a pas été enregistrée, rien n'a été modifié : {exc}") from exc


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None
