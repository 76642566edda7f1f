"""Who may see and write what: users, roles per contract, and the checks every write makes
inside its own transaction (the pages only hide what a role cannot use; the guarantee is here).

    user = access.load_user(cur, "agent@ville.fr")        # None: unknown or inactive
    with store.transaction(con, audit=...) as cur:
        access.require(cur, user, WRITE, contrats={"CV-001"})   # AccessDenied: nothing written

With `CDV_AUTH=aucune` nobody logs in: the app acts as `local_user(name)`, who may do
everything (the sidebar says so). Otherwise the user's row is read again inside each write's
transaction, so a role withdrawn a minute ago is withdrawn for the next click.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from cdv_core import store
from cdv_core.domain import texte
from cdv_core.edits import typed_text

ROLES: dict[str, str] = {  # role → its French label
    "lecteur": "Lecteur",
    "partenaire": "Partenaire",
    "chef_de_projet": "Chef de projet",
    "administrateur": "Administrateur",
}
ADMIN = "administrateur"

# Actions a write may require (the role × action matrix of docs/acces.md).
WRITE = "écrire"  # imports, rollbacks, forms, séance, jalons… for the given contracts
NATIONAL = "importer_national"  # files that speak for the whole country: QPV list, contours, INSEE
VALIDATE = "valider"  # validate a set of figures; confirm an import that changes them
ADMINISTER = "administrer"  # users
_ALLOWED: dict[str, frozenset[str]] = {
    "lecteur": frozenset(),
    "partenaire": frozenset(),
    "chef_de_projet": frozenset({WRITE, VALIDATE}),
    ADMIN: frozenset({WRITE, VALIDATE, NATIONAL, ADMINISTER}),
}
_WHAT = {
    WRITE: "modifier ces données",
    NATIONAL: "importer un fichier national (liste des QPV, contours, INSEE, adultes-relais)",
    VALIDATE: "valider des chiffres",
    ADMINISTER: "gérer les utilisateurs",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AccessDenied(store.WriteRefused):
    """The acting user may not do this: nothing was written."""


@dataclass(frozen=True)
class User:
    email: str
    nom: str = ""
    role: str = "lecteur"
    contrats: tuple[str, ...] = ()  # the contracts in scope (an administrator has them all)
    local: bool = False  # CDV_AUTH=aucune: nobody is identified, everything is allowed

    @property
    def label(self) -> str:
        """How the log of writes names this user."""
        if self.local:
            return self.nom
        return f"{self.nom} <{self.email}>" if self.nom else self.email

    @property
    def perimetre(self) -> tuple[str, ...] | None:
        """The contracts this user may read; None: every contract."""
        return None if self.local or self.role == ADMIN else self.contrats

    @property
    def publishable_only(self) -> bool:
        """A partenaire sees what may be published: no names of people, small counts masked."""
        return self.role == "partenaire" and not self.local

    def can(self, action: str, contrat: str | None = None) -> bool:
        """Whether the pages should offer the action (the core checks again on write).
        `contrat` None: for at least one contract in scope."""
        if self.local:
            return True
        if action not in _ALLOWED.get(self.role, frozenset()):
            return False
        if self.role == ADMIN or action in (NATIONAL, ADMINISTER):
            return True
        return contrat in self.contrats if contrat else bool(self.contrats)


def local_user(name: str) -> User:
    """The user of an app or a command line without authentication (CDV_AUTH=aucune)."""
    return User(email="", nom=name, role=ADMIN, local=True)


def local_name(configured: str = "") -> str:
    """The name writes are recorded under without authentication: CDV_UTILISATEUR, else the OS user."""
    if configured:
        return configured
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "utilisateur local"


def command_line_user(cur: duckdb.DuckDBPyConnection, *, auth: str, email: str | None, local: str = "") -> User:
    """The acting user of a write command. Without authentication (`auth` « aucune ») a local
    user named by `--utilisateur`, CDV_UTILISATEUR or the OS user; otherwise `--utilisateur`
    must name an active account (AccessDenied, French, otherwise)."""
    if auth == "aucune":
        return local_user((email or local_name(local)) + " (ligne de commande)")
    if not email:
        raise AccessDenied(
            f"Identification requise (CDV_AUTH={auth}) : indiquez --utilisateur ADRESSE "
            "(un compte de la base, voir « python -m cdv_core utilisateurs lister »). Rien n'a été modifié."
        )
    found = load_user(cur, email)
    if found is None:
        raise AccessDenied(f"Le compte {normalise_email(email)} n'existe pas ou a été désactivé. Rien n'a été modifié.")
    return found


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def load_user(cur: duckdb.DuckDBPyConnection, email: str | None) -> User | None:
    """The active user with this email, with its contracts; None when unknown or inactive."""
    email = normalise_email(email)
    if not email:
        return None
    rows = cur.execute("SELECT nom, role FROM utilisateur WHERE email = $e AND actif", {"e": email}).fetchall()
    if not rows:
        return None
    nom, role = rows[0]
    contrats = tuple(
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT code_contrat FROM utilisateur_contrat WHERE email = $e ORDER BY 1", {"e": email}
        ).fetchall()
    )
    return User(email=email, nom=nom or "", role=role, contrats=() if role == ADMIN else contrats)


def require(
    cur: duckdb.DuckDBPyConnection, user: User | None, action: str, *, contrats: Iterable[str | None] = ()
) -> None:
    """Refuse (AccessDenied, French) unless `user` may do `action` on every one of `contrats`.
    Call it inside the write's transaction: the user's role and scope are read from the store
    there, not taken from the session, so a withdrawn right holds at once."""
    if user is None:
        raise AccessDenied("Écriture refusée : aucun utilisateur identifié. Rien n'a été modifié.")
    if user.local:
        return
    current = load_user(cur, user.email)
    if current is None:
        raise AccessDenied(
            f"Écriture refusée : le compte {user.email} n'existe pas ou a été désactivé. Rien n'a été modifié."
        )
    if action not in _ALLOWED.get(current.role, frozenset()):
        raise AccessDenied(
            f"Écriture refusée : le rôle « {ROLES.get(current.role, current.role)} » ne permet pas de "
            f"{_WHAT.get(action, action)}. Rien n'a été modifié."
        )
    if current.role == ADMIN:
        return
    outside = sorted({c for c in contrats if c is not None} - set(current.contrats))
    if NO_CONTRACT in outside:
        raise AccessDenied(
            "Écriture refusée : des lignes (acteurs ou postes) ne sont rattachées à aucun contrat ; "
            "seul un administrateur les écrit. Rien n'a été modifié."
        )
    if outside:
        raise AccessDenied(
            f"Écriture refusée : {_plural_contracts(outside)} hors de votre périmètre "
            f"({', '.join(current.contrats) or 'aucun contrat'}). Rien n'a été modifié."
        )


def _plural_contracts(codes: list[str]) -> str:
    shown = ", ".join(codes[:5]) + (" …" if len(codes) > 5 else "")
    return f"le contrat {shown} est" if len(codes) == 1 else f"les contrats {shown} sont"


# --- the contract a row belongs to ----------------------------------------------------------
# For each table a write may touch: SQL giving the contract of the rows of `{rel}` (a table or
# registered frame with that table's columns, or at least its key). NULL: common data of every
# contract (porteurs, the indicator catalogue, values of communes and départements).
# `NO_CONTRACT`: the « contract » of an actor or a post recorded without one, as a refusal names
# it; no user has it, so only an administrator writes such rows.
NO_CONTRACT = "(aucun : réservé aux administrateurs)"
# the row's own code_contrat when `{rel}` has the column (even empty), else the stored row's (alias {s})
_OWN_OR_STORED = (
    "CASE WHEN json_exists(to_json(r), '$.code_contrat') THEN coalesce(to_json(r) ->> 'code_contrat', '"
    + NO_CONTRACT
    + "') ELSE coalesce({s}.code_contrat, '"
    + NO_CONTRACT
    + "') END"
)
_STORED_A = "coalesce(a.code_contrat, '" + NO_CONTRACT + "')"
_STORED_P = "coalesce(p.code_contrat, '" + NO_CONTRACT + "')"
_CONTRACT_OF: dict[str, str] = {
    "contrat": "SELECT code_contrat FROM {rel}",
    "quartier": "SELECT code_contrat FROM {rel}",
    "objectif": "SELECT code_contrat FROM {rel}",
    "action": "SELECT code_contrat FROM {rel}",
    "instance": "SELECT code_contrat FROM {rel}",
    "jalon": "SELECT code_contrat FROM {rel}",
    "reference_gel": "SELECT code_contrat FROM {rel}",
    "rapport_annuel": "SELECT code_contrat FROM {rel}",
    "rapport_annuel_vote": "SELECT code_contrat FROM {rel}",
    "rapport_annuel_contribution": "SELECT code_contrat FROM {rel}",
    "projet_quartier": "SELECT q.code_contrat FROM {rel} r LEFT JOIN quartier q USING (code_qp)",
    "cible_indicateur": "SELECT q.code_contrat FROM {rel} r LEFT JOIN quartier q USING (code_qp)",
    "action_quartier": "SELECT a.code_contrat FROM {rel} r LEFT JOIN action a USING (code_action)",
    "action_objectif": "SELECT a.code_contrat FROM {rel} r LEFT JOIN action a USING (code_action)",
    "financement": "SELECT a.code_contrat FROM {rel} r LEFT JOIN action a USING (code_action)",
    "bilan_action": "SELECT a.code_contrat FROM {rel} r LEFT JOIN action a USING (code_action)",
    "reunion": "SELECT i.code_contrat FROM {rel} r LEFT JOIN instance i USING (code_instance)",
    "decision": "SELECT i.code_contrat FROM {rel} r LEFT JOIN reunion m USING (id_reunion) "
    "LEFT JOIN instance i ON i.code_instance = m.code_instance",
    "valeur_indicateur": "SELECT q.code_contrat FROM {rel} r LEFT JOIN quartier q "
    "ON r.type_territoire = 'QPV' AND q.code_qp = r.code_territoire",
    "valeur_indicateur_detail": "SELECT q.code_contrat FROM {rel} r LEFT JOIN quartier q "
    "ON r.type_territoire = 'QPV' AND q.code_qp = r.code_territoire",
    "porteur": "SELECT NULL::VARCHAR FROM {rel}",
    "indicateur": "SELECT NULL::VARCHAR FROM {rel}",
    # Actors and posts (migration 0004) belong to their `code_contrat`; one without a contract (a
    # porteur's typologies, a post of a national list) to `NO_CONTRACT`, which no périmètre holds:
    # only an administrator writes it. The file's rows may lack the column (then the store's row,
    # already written, says it); a snapshot of rows as they were has it. Their links and funding
    # lines: through the actor or the post, as stored.
    "acteur": f"SELECT {_OWN_OR_STORED.format(s='a')} FROM {{rel}} r LEFT JOIN acteur a USING (id_acteur)",
    "poste": f"SELECT {_OWN_OR_STORED.format(s='p')} FROM {{rel}} r LEFT JOIN poste p USING (id_poste)",
    "acteur_domaine": f"SELECT {_STORED_A} FROM {{rel}} r LEFT JOIN acteur a USING (id_acteur)",
    "acteur_quartier": f"SELECT {_STORED_A} FROM {{rel}} r LEFT JOIN acteur a USING (id_acteur)",
    "acteur_instance": f"SELECT {_STORED_A} FROM {{rel}} r LEFT JOIN acteur a USING (id_acteur)",
    "financement_poste": f"SELECT {_STORED_P} FROM {{rel}} r LEFT JOIN poste p USING (id_poste)",
}


def contracts_of(cur: duckdb.DuckDBPyConnection, table: str, rel: str) -> set[str | None]:
    """The contracts of the rows of `rel` (rows of `table`); a table this module does not know
    counts as national (`{None}`: only an administrator writes it)."""
    template = _CONTRACT_OF.get(table)
    if template is None:
        return {None}
    rows = store.sql("SELECT DISTINCT * FROM ({rows})", rows=store.sql(template, rel=rel))
    return {r[0] for r in cur.execute(rows).fetchall()} - {None}


def is_contract_table(table: str) -> bool:
    return table in _CONTRACT_OF


# --- users ------------------------------------------------------------------------------------
USER_TABLES = frozenset({"utilisateur", "utilisateur_contrat"})


def users(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every account, for the Administration page and `utilisateurs lister`."""
    return cur.execute("""
        SELECT u.email, u.nom, u.role, u.actif,
               coalesce(string_agg(c.code_contrat, ', ' ORDER BY c.code_contrat), '') AS contrats,
               u.cree_le, u.modifie_le
        FROM utilisateur u LEFT JOIN utilisateur_contrat c USING (email)
        GROUP BY ALL ORDER BY u.actif DESC, u.role, u.email""").pl()


def administrators(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in cur.execute(
            "SELECT email FROM utilisateur WHERE actif AND role = $r ORDER BY 1", {"r": ADMIN}
        ).fetchall()
    ]


def _validate(cur, email: str, role: str | None, contrats: Iterable[str] | None) -> list[str]:
    problems = []
    if not _EMAIL.fullmatch(email) or texte.is_formula(email) or texte.has_control(email):
        problems.append(f"adresse électronique « {texte.strip_control(email)[:80]} » invalide")
    if role is not None and role not in ROLES:
        problems.append(f"rôle « {role} » inconnu (attendu : {', '.join(ROLES)})")
    if contrats is not None:
        known = {r[0] for r in cur.execute("SELECT code_contrat FROM contrat").fetchall()}
        unknown = sorted(set(contrats) - known)
        if unknown:
            problems.append(f"contrat(s) inconnu(s) : {', '.join(unknown)}")
        if role is not None and role != ADMIN and not contrats:
            problems.append("indiquez au moins un contrat (sauf pour un administrateur)")
    return problems


def _user_audit(actor: User, what: str, email: str, **detail) -> store.Audit:
    return store.Audit(actor.label, what, detail={"email": email, **detail})


@store.retry_on_conflict
def add_user(
    con: duckdb.DuckDBPyConnection,
    *,
    user: User,
    email: str,
    role: str,
    nom: str = "",
    contrats: Iterable[str] = (),
    warnings: list[str] | None = None,
) -> None:
    """Create an account. The very first administrator may be created by anyone who can run
    the command line on the store (`user` a local user): that is how a store is opened.
    A name that a spreadsheet would run as a formula is refused; control characters are removed
    from it (said in `warnings`)."""
    email, contrats = normalise_email(email), tuple(dict.fromkeys(c.strip() for c in contrats if c.strip()))
    with store.transaction(
        con, written=USER_TABLES, audit=_user_audit(user, "Utilisateur ajouté", email, role=role, contrats=contrats)
    ) as cur:
        require(cur, user, ADMINISTER)
        problems = _validate(cur, email, role, contrats)
        nom = typed_text("nom", nom, problems=problems, warnings=warnings) or ""
        if store.scalar(cur, "SELECT count(*) FROM utilisateur WHERE email = $e", {"e": email}):
            problems.append(f"le compte {email} existe déjà (modifiez-le)")
        if problems:
            raise store.IntegrityError(problems)
        now = datetime.now()
        cur.execute(
            "INSERT INTO utilisateur VALUES ($e, $n, $r, true, $t, $t)",
            {"e": email, "n": nom.strip() or None, "r": role, "t": now},
        )
        _set_contracts(cur, email, () if role == ADMIN else contrats)


@store.retry_on_conflict
def modify_user(
    con: duckdb.DuckDBPyConnection,
    *,
    user: User,
    email: str,
    role: str | None = None,
    nom: str | None = None,
    contrats: Iterable[str] | None = None,
    actif: bool | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Change an account (only what is given). The last active administrator cannot lose that role.
    The name is checked as in `add_user`."""
    email = normalise_email(email)
    contrats = None if contrats is None else tuple(dict.fromkeys(c.strip() for c in contrats if c.strip()))
    changes = {
        k: v for k, v in {"role": role, "nom": nom, "contrats": contrats, "actif": actif}.items() if v is not None
    }
    with store.transaction(
        con, written=USER_TABLES, audit=_user_audit(user, "Utilisateur modifié", email, **changes)
    ) as cur:
        require(cur, user, ADMINISTER)
        rows = cur.execute("SELECT role, actif FROM utilisateur WHERE email = $e", {"e": email}).fetchall()
        if not rows:
            raise store.IntegrityError([f"compte {email} introuvable"])
        new_role = role or rows[0][0]
        problems = _validate(
            cur,
            email,
            new_role,
            contrats
            if contrats is not None
            else [
                r[0]
                for r in cur.execute(
                    "SELECT code_contrat FROM utilisateur_contrat WHERE email = $e", {"e": email}
                ).fetchall()
            ],
        )
        nom = typed_text("nom", nom, problems=problems, warnings=warnings)
        if rows[0][0] == ADMIN and (new_role != ADMIN or actif is False) and administrators(cur) == [email]:
            problems.append("c'est le dernier administrateur actif : nommez-en un autre d'abord")
        if problems:
            raise store.IntegrityError(problems)
        cur.execute(
            "UPDATE utilisateur SET role = $r, nom = coalesce($n, nom), actif = coalesce($a, actif), "
            "modifie_le = $t WHERE email = $e",
            {
                "r": new_role,
                "n": None if nom is None else (nom.strip() or None),
                "a": actif,
                "t": datetime.now(),
                "e": email,
            },
        )
        if contrats is not None or new_role == ADMIN:
            _set_contracts(cur, email, () if new_role == ADMIN else (contrats or ()))


@store.retry_on_conflict
def remove_user(con: duckdb.DuckDBPyConnection, *, user: User, email: str) -> None:
    """Delete an account (its past writes keep its name in the log)."""
    email = normalise_email(email)
    with store.transaction(con, written=USER_TABLES, audit=_user_audit(user, "Utilisateur retiré", email)) as cur:
        require(cur, user, ADMINISTER)
        rows = cur.execute("SELECT role FROM utilisateur WHERE email = $e", {"e": email}).fetchall()
        if not rows:
            raise store.IntegrityError([f"compte {email} introuvable"])
        if rows[0][0] == ADMIN and administrators(cur) == [email]:
            raise store.IntegrityError(["c'est le dernier administrateur actif : nommez-en un autre d'abord"])
        cur.execute("DELETE FROM utilisateur_contrat WHERE email = $e", {"e": email})
        cur.execute("DELETE FROM utilisateur WHERE email = $e", {"e": email})


def _set_contracts(cur: duckdb.DuckDBPyConnection, email: str, contrats: Iterable[str]) -> None:
    cur.execute("DELETE FROM utilisateur_contrat WHERE email = $e", {"e": email})
    cur.execute(
        "INSERT INTO utilisateur_contrat SELECT $e, c FROM unnest($c) AS t(c)", {"e": email, "c": list(contrats)}
    )


__all__ = [
    "ADMIN",
    "ADMINISTER",
    "NATIONAL",
    "ROLES",
    "USER_TABLES",
    "VALIDATE",
    "WRITE",
    "AccessDenied",
    "User",
    "add_user",
    "administrators",
    "command_line_user",
    "contracts_of",
    "is_contract_table",
    "load_user",
    "local_name",
    "local_user",
    "modify_user",
    "normalise_email",
    "remove_user",
    "require",
    "users",
]
