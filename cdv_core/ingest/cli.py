"""`python -m cdv_core import PATH [--kind KIND] [--dry-run] [--contrat CODE] [--remplacer]
[--date JJ/MM/AAAA] [--confirmer-chiffres-valides] [--store PATH]`: the page's pipeline
from the command line, with a French report. Exit 0 committed (or clean dry run), 1 rejected, 2 bad usage."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb

from cdv_core import access, fmt, settings, store, validation
from cdv_core.edits import historique
from cdv_core.ingest import pipeline, reading
from cdv_core.ingest.commit import commit as commit_import
from cdv_core.ingest.model import Analysis, ReadError
from cdv_core.ingest.spec import KINDS

MAX_LISTED = 50


def add_parser(sub, default_store: str) -> None:
    p = sub.add_parser("import", help="importer un fichier CSV, Excel ou GeoJSON (rapport en français)")
    p.add_argument("path", metavar="FICHIER", help="fichier CSV, Excel (.xlsx) ou contours GeoJSON")
    p.add_argument(
        "--kind",
        choices=sorted(KINDS),
        metavar="TYPE",
        help="type de fichier, détecté sinon : " + ", ".join(sorted(KINDS)),
    )
    p.add_argument("--dry-run", action="store_true", help="valider et afficher les différences sans rien écrire")
    p.add_argument("--contrat", help="contrat de rattachement des nouveaux QPV (liste officielle)")
    p.add_argument(
        "--remplacer",
        action="store_true",
        help="supprimer les lignes de la base absentes du fichier, dans son périmètre",
    )
    p.add_argument(
        "--date",
        dest="date_valeur",
        type=_french_date,
        metavar="JJ/MM/AAAA",
        help="date des valeurs d'un fichier INSEE « large »",
    )
    p.add_argument(
        "--confirmer-chiffres-valides",
        dest="confirmer",
        action="store_true",
        help="importer même si le fichier modifie des chiffres validés (chef de projet ou administrateur)",
    )
    p.add_argument(
        "--store",
        default=default_store,
        metavar="BASE",
        help=f"base à mettre à jour (défaut : {store.describe(default_store)})",
    )
    p.add_argument(
        "--utilisateur",
        metavar="ADRESSE",
        help="compte au nom duquel importer (obligatoire quand CDV_AUTH n'est pas « aucune »)",
    )
    p.set_defaults(func=run)


def _french_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"date invalide « {text} » : attendu JJ/MM/AAAA") from None


def report_text(a: Analysis) -> str:
    lines = [
        f"Fichier : {a.fichier} ({fmt.number(a.taille / 1024, 1)} Ko, empreinte {a.empreinte[:12]})",
        f"Type : {a.kind_label}" + (f" · encodage {a.encoding} · séparateur {a.separator}" if a.encoding else ""),
        f"Lignes de données : {fmt.integer(a.nb_lignes)}",
    ]
    if a.mapping:
        renamed = [f"« {h} » → {t}" for h, t in a.mapping.items() if h != t]
        if renamed:
            lines.append("Colonnes associées : " + ", ".join(renamed))
    lines += [f"Note : {n}" for n in a.notes]
    lines.append(f"Erreurs : {fmt.integer(a.errors)} · avertissements : {fmt.integer(a.warnings)}")
    for row in a.problems.head(MAX_LISTED).iter_rows(named=True):  # capped listing
        where = f"ligne {row['ligne']}" if row["ligne"] else "fichier"
        col = f", colonne {row['colonne']}" if row["colonne"] else ""
        val = f" : « {row['valeur']} »" if row["valeur"] else ""
        lines.append(
            f"  [{row['gravité']}] {where}{col}{val} — {row['problème']}. Attendu : {row['correction attendue']}."
        )
    if a.problems.height > MAX_LISTED:
        lines.append(f"  … et {fmt.plural(a.problems.height - MAX_LISTED, 'autre problème', 'autres problèmes')}.")
    if a.diff is not None and a.diff.height:
        lines.append("Différences avec la base :")
        for row in a.diff.iter_rows(named=True):
            n_absent = row["absents du fichier"]
            fate = "supprimée" if row["sort des absents"] == "supprimés" else "conservée"
            absent = (
                f", {fmt.plural(n_absent, 'absente')} du fichier ({fate}{'s' if n_absent > 1 else ''})"
                if n_absent
                else ""
            )
            lines.append(
                f"  {row['table']} : {fmt.plural(row['nouveaux'], 'nouvelle')}, "
                f"{fmt.plural(row['modifiés'], 'modifiée')}, {fmt.plural(row['inchangés'], 'inchangée')}{absent}"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.is_file():
        print(f"Le fichier {path} est introuvable.", file=sys.stderr)
        return 2
    try:
        data = reading.read_path(path)  # its size checked before it is read
    except ReadError as exc:
        print(f"{path.name} : {exc}", file=sys.stderr)
        return 1
    con = store.connect_for_command(args.store)
    if con is None:
        return 1
    try:
        analysis = pipeline.analyse(
            con.cursor(),
            data,
            path.name,
            kind=args.kind,
            contrat=args.contrat,
            replace_scope=args.remplacer,
            date_valeur=args.date_valeur,
        )
        print(report_text(analysis), flush=True)
        if analysis.ok:
            for sentence in validation.describe(
                validation.affected_validations(con.cursor(), analysis.loads, replace_scope=args.remplacer)
            ):
                print(sentence, flush=True)
        if not analysis.ok:
            print("Import refusé : corrigez les erreurs ci-dessus puis relancez. Rien n'a été modifié.")
            return 1
        if args.dry_run:
            print("Simulation (--dry-run) : aucune erreur, rien n'a été écrit.")
            return 0
        print("Écriture en cours…", flush=True)
        try:
            cfg = settings.load()
            user = access.command_line_user(con.cursor(), auth=cfg.auth, email=args.utilisateur, local=cfg.local_user)
            id_import = commit_import(
                con, analysis, user=user, replace_scope=args.remplacer, confirm_validated=args.confirmer
            )
        except store.WriteConflict:
            print(
                "Quelqu'un a modifié ces données pendant l'import, à plusieurs reprises : rien n'a été "
                "enregistré. Relancez la commande."
            )
            return 1
        except (store.StoreError, settings.SettingError) as exc:
            print(exc)
            return 1
        except (duckdb.Error, OSError) as exc:  # a full disk, a read-only file…: French, without server paths
            print(store.write_error(exc))
            return 1
        print(f"Import n° {id_import} validé.")
        try:
            changed = historique.record_statuses(con, auteur=user.label)
        except (store.StoreError, duckdb.Error, OSError) as exc:  # the import stays: say so, and why
            print(
                f"Import enregistré, mais l'historique des statuts des QPV n'a pas pu l'être : {store.write_error(exc)}"
            )
            return 0
        if changed:
            print(f"Statut modifié pour {changed} QPV : enregistré dans l'historique des statuts.")
        return 0
    finally:
        con.close()
