"""Command line: `python -m cdv_core demo|info|export|rapport|publication|import|copier|maintenance|precalcul|…`
(`utilisateurs` too; French messages; exit 0 ok, 1 refused, 2 usage)."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from pathlib import Path
from typing import NoReturn

import duckdb

from cdv_core import fmt, store
from cdv_core import settings as settings_mod


def _demo(args: argparse.Namespace) -> int:
    from cdv_core import demo

    start = time.perf_counter()
    if store.is_lake(args.out):
        if args.force:
            print("--force ne s'applique qu'à un fichier : une base partagée doit être vide.", file=sys.stderr)
            return 1
        try:
            demo.build_store(args.out, scale=args.scale, seed=args.seed)
        except store.StoreError as exc:
            print(exc, file=sys.stderr)
            return 1
        seconds = fmt.number(time.perf_counter() - start, 1)
        print(f"Territoire « {args.scale} » (graine {args.seed}) écrit dans {store.describe(args.out)} en {seconds} s.")
        return 0
    out = Path(args.out)
    if out.exists():
        if not args.force:
            print(
                f"Le fichier {out} existe déjà. Choisissez un autre chemin avec --out, "
                "ou ajoutez --force pour le remplacer.",
                file=sys.stderr,
            )
            return 1
        try:  # refuse to replace a store that another process holds
            store.connect(out).close()
        except store.StoreLocked as exc:
            print(exc, file=sys.stderr)
            return 1
        except store.StoreError:
            pass  # a damaged file may be replaced: that is what --force asks
        out.unlink()
        Path(str(out) + ".wal").unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    demo.build_store(out, scale=args.scale, seed=args.seed)
    seconds = fmt.number(time.perf_counter() - start, 1)
    print(f"Territoire « {args.scale} » (graine {args.seed}) écrit dans {out} en {seconds} s.")
    return 0


def _copy(args: argparse.Namespace) -> int:
    from cdv_core import store_ops

    start = time.perf_counter()
    try:
        copied = store_ops.copy_store(args.de, args.vers)
    except store.StoreError as exc:
        print(exc, file=sys.stderr)
        return 1
    rows = sum(copied.values())
    print(
        f"Copie de {store.describe(args.de)} vers {store.describe(args.vers)} : "
        f"{fmt.plural(len(copied), 'table')}, {fmt.plural(rows, 'ligne')}, empreinte de chaque table identique "
        f"à la source ({fmt.number(time.perf_counter() - start, 1)} s)."
    )
    return 0


def _maintenance(args: argparse.Namespace) -> int:
    from cdv_core import store_ops

    try:
        done = store_ops.maintenance(args.store, keep_days=args.garder_jours)
    except store.StoreError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Maintenance de {store.describe(args.store)} :")
    for line in done:
        print(f"  - {line}")
    return 0


def _precalcul(args: argparse.Namespace) -> int:
    con = store.connect_for_command(args.store)  # refuses a missing, locked or damaged store in French
    if con is None:
        return 1
    con.close()  # the pages open it themselves (one process, one connection to a file)
    codes = [c.strip() for c in args.contrat.split(",") if c.strip()] if args.contrat else None

    def progress(done: int, total: int, label: str) -> None:
        print(f"  {done + 1}/{total} {label}", flush=True)

    # cdv_core.ui makes its caches on import, without a server (headless on purpose): Streamlit's notice of it
    logging.getLogger("streamlit.runtime.caching.cache_data_api").addFilter(
        lambda record: "No runtime found" not in record.getMessage()
    )
    from cdv_core.ui import precalcul

    precalcul.headless_logging()

    try:
        report = precalcul.run(
            args.store,
            contrats=codes,
            tous=not args.sans_tous,
            comptes=not args.sans_comptes,
            filtres=not args.sans_filtres,
            progress=progress,
        )
    except precalcul.PrecalculError as exc:
        print(exc, file=sys.stderr)
        return 1
    pages = fmt.plural(len(report.selections), "sélection", "sélections")
    accounts = (
        f" (dont les vues de {fmt.plural(report.comptes, 'compte limité', 'comptes limités')})"
        if report.comptes
        else ""
    )
    choices = (
        f", {fmt.plural(report.choix, 'filtre choisi', 'filtres choisis')} sur « Actions et financements »"
        if report.choix
        else ""
    )
    seconds = fmt.integer(round(report.seconds))
    print(f"Précalcul de {store.describe(args.store)} : {pages}{accounts}{choices} en {seconds} s.")
    if report.stopped:
        print(f"Arrêté avant la fin : {report.stopped}. Relancez la commande.", file=sys.stderr)
    for label, page, message in report.failures:
        print(f"Erreur sur la page « {page} » ({label}) : {message}", file=sys.stderr)
    return 1 if report.failures or report.stopped else 0


def _au_option(text: str | None):
    """The date of `--au` (None when not given); an unreadable one stops the command (exit 2)."""
    from datetime import date

    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        print(f"Date « {text} » illisible : attendu AAAA-MM-JJ, par exemple 2026-11-30.", file=sys.stderr)
        raise SystemExit(2) from None


def _unknown_contract(cur, code: str) -> bool:
    """True (and the French message printed) when `code` is not a contract of the store."""
    from cdv_core.queries import territoire

    codes = territoire.contracts(cur)["code_contrat"].to_list()
    if code in codes:
        return False
    print(f"Contrat « {code} » inconnu. Contrats disponibles : {', '.join(codes) or 'aucun'}.", file=sys.stderr)
    return True


def _statuts(args: argparse.Namespace) -> int:
    from cdv_core.edits import historique

    au = _au_option(args.au)
    con = store.connect_for_command(args.store)
    if con is None:
        return 1
    try:
        au = au or historique.reference_date(con.cursor())
        changed = historique.record_statuses(con, auteur="Relevé mensuel des statuts", donnees_au=au)
    finally:
        con.close()
    print(
        f"Statuts des QPV au {fmt.day(au)} : "
        + (
            f"{fmt.plural(changed, 'changement enregistré', 'changements enregistrés')} dans l'historique."
            if changed
            else "aucun changement depuis le dernier relevé."
        )
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from datetime import date

    from cdv_core import exports, seance
    from cdv_core.queries import territoire

    con = store.connect_for_command(args.store)
    if con is None:
        return 1
    try:
        cur = con.cursor()
        if _unknown_contract(cur, args.contract):
            return 1
        contracts = territoire.contracts(cur)
        libelle = contracts.filter(contracts["code_contrat"] == args.contract)["libelle"][0]
        au = _au_option(args.au) or territoire.store_context(cur)["donnees_au"] or date.today()
        keys = tuple(args.sections.split(",")) if args.sections else seance.DEFAULT_AGENDA
        unknown = [k for k in keys if k not in seance.SECTIONS]
        if unknown:
            print(
                f"Section(s) inconnue(s) : {', '.join(unknown)} (possibles : {', '.join(seance.SECTIONS)})",
                file=sys.stderr,
            )
            return 2
        cfg = settings_mod.load()
        sections = seance.agenda(
            cur, keys=keys, contrat=args.contract, donnees_au=au, settings=cfg, publiable=args.publiable
        )
        cover = exports.Cover("Point d'étape du contrat de ville", libelle, date.today(), au)
        if args.publiable:
            cover = exports.publishable_cover(cover, threshold=cfg.secret_threshold)
        data = exports.render(
            args.format, cover, sections, progress=lambda share, label: print(f"  {label}", file=sys.stderr)
        )
    finally:
        con.close()
    exports.write(Path(args.out), data)
    print(
        f"Export {args.format.upper()} écrit dans {args.out} ({fmt.integer(len(data))} octets, "
        f"{fmt.plural(len(sections), 'section')}, données au {fmt.day(au)})."
    )
    return 0


def _rapport(args: argparse.Namespace) -> int:
    from datetime import date

    from cdv_core import exports, rapport
    from cdv_core.queries import territoire

    au = _au_option(args.au)
    con = store.connect_for_command(args.store)
    if con is None:
        return 1
    try:
        cur = con.cursor()
        if _unknown_contract(cur, args.contrat):
            return 1
        au = au or territoire.store_context(cur)["donnees_au"] or date.today()
        try:
            data = rapport.draft(cur, contrat=args.contrat, annee=args.annee, donnees_au=au, format=args.format)
        except rapport.ReportError as exc:
            print(exc, file=sys.stderr)
            return 1
    finally:
        con.close()
    exports.write(Path(args.out), data)
    print(
        f"Projet de rapport annuel {args.annee} ({args.format.upper()}) écrit dans {args.out} "
        f"({fmt.integer(len(data))} octets, données au {fmt.day(au)})."
    )
    return 0


def _publication(args: argparse.Namespace) -> int:
    """The publishable figures of a contract (or the national summary) as XLSX, CSV (zip) or PDF."""
    from datetime import date

    from cdv_core import publication
    from cdv_core.queries import territoire

    con = store.connect_for_command(args.store)
    if con is None:
        return 1
    try:
        cur = con.cursor()
        if args.contrat is not None and _unknown_contract(cur, args.contrat):
            return 1
        au = _au_option(args.au) or territoire.store_context(cur)["donnees_au"] or date.today()
        cfg = settings_mod.load()
        data = publication.publication_file(
            cur,
            fmt_name=args.format,
            contrat=args.contrat,
            donnees_au=au,
            threshold=cfg.secret_threshold,
            max_age_months=cfg.indicator_max_age_months,
        )
    finally:
        con.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(data)
    print(
        f"Publication {args.format.upper()} ({args.contrat or 'résumé national'}) écrite dans {args.out} "
        f"({fmt.integer(len(data))} octets, données au {fmt.day(au)})."
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    con = store.connect_for_command(args.store)
    if con is None:
        return 1
    cur = con.cursor()
    print(f"Base : {store.describe(args.store)}")
    print(f"Schéma n° {store.schema_version(cur)}, version des données {store.store_version(cur)}")
    for table in store.table_names(cur):
        n = cur.execute("SELECT count(*) FROM " + table).fetchall()[0][0]
        print(f"  {table:<24} {fmt.integer(n):>12}")
    con.close()
    return 0


# argparse's English messages (Python 3.11) and their French wording.
_FRENCH_ERRORS = (
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"unrecognized arguments: (.*)", r"arguments inconnus : \1"),
    (
        r"argument (.+?): invalid choice: (.*) \(choose from (.*)\)",
        r"argument \1 : valeur \2 inconnue (possibles : \3)",
    ),
    (r"argument (.+?): expected one argument", r"argument \1 : une valeur est attendue"),
    (r"argument (.+?): invalid (\w+) value: (.*)", r"argument \1 : valeur \3 invalide"),
    (r"argument (.+?): ignored explicit argument (.*)", r"argument \1 : valeur \2 inattendue"),
    (r"argument (.+?): not allowed with argument (.*)", r"argument \1 : incompatible avec \2"),
    (r"one of the arguments (.*) is required", r"l'un des arguments \1 est obligatoire"),
    (r"argument (.+?): (.*)", r"argument \1 : \2"),
)
_FRENCH_HELP = (
    ("usage:", "utilisation :"),
    ("positional arguments:", "arguments :"),
    ("options:", "options :"),
    ("commandes:", "commandes :"),
    ("show this help message and exit", "afficher cette aide"),
)


class _FrenchParser(argparse.ArgumentParser):
    """argparse with French help and usage errors (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        for pattern, french in _FRENCH_ERRORS:
            if re.fullmatch(pattern, message):
                message = re.sub(pattern, french, message)
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"Utilisation incorrecte : {message}. Aide : python -m cdv_core --help\n")

    def format_usage(self) -> str:
        return super().format_usage().replace("usage:", "utilisation :", 1)

    def format_help(self) -> str:
        text = super().format_help()
        for english, french in _FRENCH_HELP:
            text = text.replace(english, french)
        return text


def build_parser() -> argparse.ArgumentParser:
    default_store = settings_mod.load().store_path
    shown = store.describe(default_store)  # in --help: never a password
    parser = _FrenchParser(prog="python -m cdv_core", description="Pilotage des contrats de ville")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_FrenchParser, title="commandes", metavar="COMMANDE"
    )
    p = sub.add_parser("demo", help="créer une base de démonstration")
    p.add_argument(
        "--scale",
        choices=("demo", "national"),
        default="demo",
        help="demo : 3 contrats ; national : ≈ 400 contrats, pour les mesures de performance",
    )
    p.add_argument("--seed", type=int, default=2024, help="graine du tirage aléatoire (défaut : 2024)")
    p.add_argument(
        "--out",
        default=default_store,
        metavar="BASE",
        help=f"fichier à écrire, ou base partagée vide ducklake:postgres:… (défaut : {shown})",
    )
    p.add_argument("--force", action="store_true", help="remplacer le fichier s'il existe")
    p.set_defaults(func=_demo)
    p = sub.add_parser(
        "copier", help="copier une base vers une autre (fichier ↔ base partagée), vérifiée table par table"
    )
    p.add_argument("--de", required=True, metavar="BASE", help="base à copier (lue seulement)")
    p.add_argument(
        "--vers", required=True, metavar="BASE", help="fichier nouveau, ou base partagée vide ducklake:postgres:…"
    )
    p.set_defaults(func=_copy)
    p = sub.add_parser("maintenance", help="entretien périodique de la base (fusion de fichiers, anciennes versions)")
    p.add_argument("--store", default=default_store, metavar="BASE", help=f"base à entretenir (défaut : {shown})")
    p.add_argument(
        "--garder-jours",
        type=int,
        default=7,
        metavar="N",
        help="garder les versions de la base partagée des N derniers jours (défaut : 7)",
    )
    p.set_defaults(func=_maintenance)
    p = sub.add_parser(
        "precalcul",
        help="calculer d'avance les pages de chaque contrat dans le cache sur disque (serveur arrêté, "
        "ou base partagée)",
    )
    p.add_argument("--store", default=default_store, metavar="BASE", help=f"base à précalculer (défaut : {shown})")
    p.add_argument(
        "--contrat",
        metavar="CODES",
        help="codes des contrats, séparés par des virgules (défaut : tous, les plus grands d'abord)",
    )
    p.add_argument("--sans-tous", action="store_true", help="sans la sélection « Tous les contrats »")
    p.add_argument(
        "--sans-comptes",
        action="store_true",
        help="sans les vues des comptes limités à certains contrats (par défaut, avec CDV_AUTH oidc ou entete, "
        "les pages de chaque périmètre différent sont aussi précalculées)",
    )
    p.add_argument(
        "--sans-filtres",
        action="store_true",
        help="sans les filtres d'« Actions et financements » choisis un à un sur « Tous les contrats » (exercice, "
        "thématique, financeur, mode, type de porteur, statut)",
    )
    p.set_defaults(func=_precalcul)
    p = sub.add_parser("statuts", help="relever les statuts des QPV dans leur historique (chaque mois, par cron)")
    p.add_argument("--store", default=default_store, metavar="BASE", help=f"base à relever (défaut : {shown})")
    p.add_argument("--au", help="date « données au » (AAAA-MM-JJ) ; par défaut celle de la base, sinon aujourd'hui")
    p.set_defaults(func=_statuts)
    p = sub.add_parser("export", help="exporter un ordre du jour (PowerPoint, PDF, Excel)")
    p.add_argument("--contract", required=True, help="code du contrat")
    p.add_argument("--format", required=True, choices=("pptx", "pdf", "xlsx"))
    p.add_argument("--out", required=True, metavar="CHEMIN", help="fichier à écrire")
    p.add_argument("--store", default=default_store, metavar="BASE", help=f"base à lire (défaut : {shown})")
    p.add_argument("--au", help="date « données au » (AAAA-MM-JJ) ; par défaut celle de la base")
    p.add_argument("--sections", help="sections séparées par des virgules (défaut : toutes)")
    p.add_argument(
        "--publiable",
        action="store_true",
        help="version publiable : sans noms de personnes, effectifs de personnes inférieurs à "
        "CDV_SEUIL_SECRET masqués (« < 11 »)",
    )
    p.set_defaults(func=_export)
    p = sub.add_parser("rapport", help="écrire le projet de rapport annuel d'un contrat (Word ou PDF)")
    p.add_argument("--contrat", required=True, help="code du contrat")
    p.add_argument("--annee", required=True, type=int, metavar="AAAA", help="exercice décrit par le rapport")
    p.add_argument("--format", required=True, choices=("docx", "pdf"))
    p.add_argument("--out", required=True, metavar="CHEMIN", help="fichier à écrire")
    p.add_argument("--store", default=default_store, metavar="BASE", help=f"base à lire (défaut : {shown})")
    p.add_argument("--au", help="date « données au » (AAAA-MM-JJ) ; par défaut celle de la base")
    p.set_defaults(func=_rapport)
    p = sub.add_parser("publication", help="exporter les chiffres publiables d'un contrat ou le résumé national")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--contrat", help="code du contrat")
    which.add_argument("--national", action="store_true", help="résumé national (tous les contrats, un par ligne)")
    p.add_argument("--format", required=True, choices=("xlsx", "csv", "pdf"), help="csv : un zip d'un CSV par tableau")
    p.add_argument("--out", required=True, metavar="CHEMIN", help="fichier à écrire")
    p.add_argument("--store", default=default_store, metavar="BASE", help=f"base à lire (défaut : {shown})")
    p.add_argument("--au", help="date « données au » (AAAA-MM-JJ) ; par défaut celle de la base")
    p.set_defaults(func=_publication)
    p = sub.add_parser("info", help="décrire une base")
    p.add_argument("--store", default=default_store, metavar="BASE", help=f"base à décrire (défaut : {shown})")
    p.set_defaults(func=_info)
    from cdv_core.ingest import cli as ingest_cli  # local: keeps `demo`/`info` light

    ingest_cli.add_parser(sub, default_store)
    from cdv_core import users_cli

    users_cli.add_parser(sub, default_store)
    return parser


def main(argv: list[str] | None = None) -> int:
    store.configure_logging(logging.WARNING)  # stderr: refusals and failures; the output is for people
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            return int(exc.code or 0) and 2
        return args.func(args)
    except settings_mod.SettingError as exc:  # a setting the command reads (CDV_STORE's defaults, CDV_SEUIL_SECRET…)
        print(str(exc).replace("relancez l'application", "relancez la commande"), file=sys.stderr)
        return 2
    except store.StoreError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (duckdb.Error, OSError) as exc:  # a full disk, a read-only file… (the detail goes to stderr's log line)
        print(store.write_error(exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
