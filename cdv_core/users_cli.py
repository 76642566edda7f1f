"""`python -m cdv_core utilisateurs lister|ajouter|modifier|retirer`: the accounts of a store
from the command line (French messages; exit 0 done, 1 refused and nothing written, 2 bad usage).

With CDV_AUTH other than « aucune » every change names its author with `--utilisateur ADRESSE`,
an active administrator, and is checked by the core like the Administration page's. One
exception opens a store: while it has no active administrator, `ajouter --role administrateur`
is accepted without `--utilisateur` (whoever runs the command already reaches the store itself).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from cdv_core import access, fmt, settings, store

_ACTIF = {"oui": True, "non": False}


def add_parser(sub, default_store: str) -> None:
    shown = store.describe(default_store)
    group = sub.add_parser("utilisateurs", help="gérer les comptes (lister, ajouter, modifier, retirer)")
    actions = group.add_subparsers(
        dest="action", required=True, parser_class=type(group), title="commandes", metavar="ACTION"
    )

    def common(p: argparse.ArgumentParser, *, writes: bool = True) -> None:
        p.add_argument("--store", default=default_store, metavar="BASE", help=f"base des comptes (défaut : {shown})")
        if writes:
            p.add_argument(
                "--utilisateur",
                metavar="ADRESSE",
                help="administrateur au nom duquel agir (obligatoire quand CDV_AUTH n'est pas « aucune », "
                "sauf pour créer le premier administrateur)",
            )

    p = actions.add_parser("lister", help="afficher les comptes")
    common(p, writes=False)
    p.set_defaults(func=_list)
    p = actions.add_parser("ajouter", help="créer un compte")
    p.add_argument("--email", required=True, metavar="ADRESSE", help="adresse électronique de la personne")
    p.add_argument("--role", required=True, choices=tuple(access.ROLES), help="rôle du compte")
    p.add_argument(
        "--contrat",
        action="append",
        default=[],
        metavar="CODE",
        help="contrat du périmètre (à répéter ; inutile pour un administrateur)",
    )
    p.add_argument("--nom", default="", help="nom affiché")
    common(p)
    p.set_defaults(func=_add)
    p = actions.add_parser("modifier", help="modifier un compte (seulement ce qui est indiqué)")
    p.add_argument("--email", required=True, metavar="ADRESSE", help="adresse du compte à modifier")
    p.add_argument("--role", choices=tuple(access.ROLES), help="nouveau rôle")
    p.add_argument(
        "--contrat",
        action="append",
        default=None,
        metavar="CODE",
        help="nouveau périmètre, qui remplace l'ancien (à répéter)",
    )
    p.add_argument("--nom", help="nouveau nom affiché")
    p.add_argument("--actif", choices=tuple(_ACTIF), help="« non » désactive le compte sans le supprimer")
    common(p)
    p.set_defaults(func=_modify)
    p = actions.add_parser("retirer", help="supprimer un compte (ses modifications passées gardent son nom)")
    p.add_argument("--email", required=True, metavar="ADRESSE", help="adresse du compte à supprimer")
    common(p)
    p.set_defaults(func=_remove)


def users_table(frame) -> str:
    """The accounts as a French text table (`lister`)."""
    if frame.is_empty():
        return "Aucun compte dans cette base."
    header = ("Adresse", "Nom", "Rôle", "Actif", "Contrats", "Créé le")
    rows = [
        (
            r["email"],
            r["nom"] or "",
            access.ROLES.get(r["role"], r["role"]),
            "oui" if r["actif"] else "non",
            "tous" if r["role"] == access.ADMIN else (r["contrats"] or "aucun"),
            fmt.day(r["cree_le"]) if r["cree_le"] else "",
        )
        for r in frame.iter_rows(named=True)
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(fmt.plural(len(rows), "compte"))
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    with _opened(args) as opened:
        if opened is None:
            return 1
        cfg, con = opened
        cur = con.cursor()
        print(users_table(access.users(cur)))
        if cfg.auth == "aucune":
            print(
                "Identification désactivée (CDV_AUTH=aucune) : ces comptes ne servent qu'une fois "
                "l'identification activée (voir docs/acces.md)."
            )
        elif not access.administrators(cur):
            print(_FIRST_ADMIN_HINT)
    return 0


_FIRST_ADMIN_HINT = (
    "Cette base n'a aucun administrateur actif : créez le premier avec "
    "« python -m cdv_core utilisateurs ajouter --email ADRESSE --role administrateur »."
)


def _add(args: argparse.Namespace) -> int:
    def call(con, user, warnings):
        access.add_user(
            con, user=user, email=args.email, role=args.role, nom=args.nom, contrats=args.contrat, warnings=warnings
        )
        scope = (
            "tous les contrats" if args.role == access.ADMIN else "contrats " + ", ".join(dict.fromkeys(args.contrat))
        )
        return f"Compte {access.normalise_email(args.email)} ajouté : {access.ROLES[args.role]}, {scope}."

    return _write(args, call, first_admin=args.role == access.ADMIN)


def _modify(args: argparse.Namespace) -> int:
    if args.role is None and args.contrat is None and args.nom is None and args.actif is None:
        print("Rien à modifier : indiquez --role, --contrat, --nom ou --actif.", file=sys.stderr)
        return 2

    def call(con, user, warnings):
        access.modify_user(
            con,
            user=user,
            email=args.email,
            role=args.role,
            nom=args.nom,
            contrats=args.contrat,
            actif=None if args.actif is None else _ACTIF[args.actif],
            warnings=warnings,
        )
        return f"Compte {access.normalise_email(args.email)} modifié."

    return _write(args, call)


def _remove(args: argparse.Namespace) -> int:
    def call(con, user, warnings):
        access.remove_user(con, user=user, email=args.email)
        return f"Compte {access.normalise_email(args.email)} supprimé (ses modifications passées gardent son nom)."

    return _write(args, call)


def _write(args: argparse.Namespace, call, *, first_admin: bool = False) -> int:
    """Identify the acting user, make the change, say what was done; 1 and nothing written on a refusal."""
    with _opened(args) as opened:
        if opened is None:
            return 1
        cfg, con = opened
        cur = con.cursor()
        opening = first_admin and cfg.auth != "aucune" and not args.utilisateur and not access.administrators(cur)
        if opening:  # the person reaches the store itself: nobody in the app could create this account
            user = access.local_user(access.local_name(cfg.local_user) + " (ligne de commande, premier administrateur)")
        else:
            try:
                user = access.command_line_user(cur, auth=cfg.auth, email=args.utilisateur, local=cfg.local_user)
            except access.AccessDenied as exc:
                store.log_refusal(exc, auteur=args.utilisateur, what=f"utilisateurs {args.action}")
                print(exc, file=sys.stderr)
                if not access.administrators(cur):
                    print(_FIRST_ADMIN_HINT, file=sys.stderr)
                return 1
        cur.close()
        warnings: list[str] = []
        try:
            done = call(con, user, warnings)
        except (store.StoreError, duckdb.Error, OSError) as exc:
            print(store.write_error(exc), file=sys.stderr)
            return 1
        print(done)
        for warning in dict.fromkeys(warnings):
            print(f"Avertissement : {warning}")
        if opening:
            print(
                "Premier administrateur de la base, créé depuis la ligne de commande sans --utilisateur (accès "
                "direct à la base) ; les modifications suivantes des comptes demandent --utilisateur ADRESSE "
                "d'un administrateur."
            )
        return 0


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[settings.Settings, duckdb.DuckDBPyConnection] | None]:
    """The settings and the open store, or None once the French reason is on stderr."""
    cfg = _settings()
    con = None if cfg is None else store.connect_for_command(args.store)
    try:
        yield None if cfg is None or con is None else (cfg, con)
    finally:
        if con is not None:
            con.close()


def _settings() -> settings.Settings | None:
    try:
        return settings.load()
    except settings.SettingError as exc:
        print(exc, file=sys.stderr)
        return None
