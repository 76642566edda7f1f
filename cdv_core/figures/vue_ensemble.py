"""« Vue d'ensemble »: the headline cards, the 2027 countdown (worded here once for every screen),
the alerts and the provenance of the figures."""

from __future__ import annotations

import polars as pl

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.figures.cards import Card
from cdv_core.memo import by_content
from cdv_core.queries.overview import Actualisation


def countdown_value(countdown: Actualisation) -> str:
    """The days left to the 2027 actualisation (`overview.actualisation`): « J-411 », or
    « dépassée de 3 jours » once its date is past. The one wording of every screen and of the séance."""
    days = countdown["jours"]
    return f"J-{fmt.integer(days)}" if days >= 0 else f"dépassée de {fmt.plural(-days, 'jour')}"


def countdown_card(countdown: Actualisation) -> Card:
    """« Actualisation 2027 »: the days left, its date in the help (and whether it is a default)."""
    return Card(
        "Actualisation 2027",
        countdown_value(countdown),
        help=f"Échéance : {fmt.long_day(countdown['date'])}"
        + ("" if countdown["jalon_enregistre"] else " (aucun jalon enregistré : fin 2027 par défaut)"),
    )


def territory_cards(figures: dict, *, population: str) -> list[Card]:
    """Contracts, QPV, their population (`population`: as this reader may see it), actions of the year."""
    year = figures["annee"]
    return [
        Card("Contrats de ville", fmt.integer(figures["contrats"])),
        Card("Quartiers prioritaires", fmt.integer(figures["quartiers"])),
        Card(
            "Habitants des QPV",
            population,
            help="Somme des populations des QPV de la sélection (dernier recensement importé).",
        ),
        Card(
            f"Actions {year}",
            fmt.integer(figures["actions_annee"]),
            help=f"Actions annuelles de {year} et actions pluriannuelles (CPO) couvrant {year}, hors actions refusées.",
        ),
    ]


def funding_cards(figures: dict, countdown: Actualisation) -> list[Card]:
    """Granted and paid amounts of the year, the P147 share in CPO against its target, the countdown."""
    year, paid_rate, share = figures["annee"], figures["taux_versement"], figures["part_cpo"]
    return [
        Card(
            f"Montant accordé {year}",
            fmt.euros(figures["accorde"]),
            help=f"Somme des montants accordés par tous les financeurs pour l'exercice {year}.",
        ),
        Card(
            f"Montant versé {year}",
            fmt.euros(figures["verse"]),
            delta=f"{fmt.percent(paid_rate)} de l'accordé" if paid_rate is not None else None,
            delta_color="off",
            delta_arrow="off",
        ),
        Card(
            f"Crédits P147 en CPO {year}",
            fmt.percent(share),
            delta=(f"cible nationale ≥ {fmt.percent(model.CPO_TARGET_SHARE, 0)}" if share is not None else None),
            delta_color="green" if figures["cpo_cible_atteinte"] else "red",
            delta_arrow="off",
            help="Montants accordés par l'État (programme 147) aux actions en convention pluriannuelle "
            "d'objectifs, rapportés à l'ensemble des crédits P147 accordés de l'exercice.",
        ),
        countdown_card(countdown),
    ]


def alert_text(alert: dict) -> str:
    """One alert of `overview.alerts` as its box reads."""
    return f"**{alert['categorie']}** — {fmt.md(alert['message'])}"


_DEMO_SCALE = {"demo": "trois contrats fictifs", "national": "un territoire national fictif"}


def demo_origin(demo: str) -> str:
    """The sentence saying the figures come from the generated demo territory."""
    return (
        f"Territoire de démonstration généré par l'application ({_DEMO_SCALE.get(demo, 'fictif')}) : "
        "aucun chiffre réel."
    )


@by_content
def imports_table(imports: pl.DataFrame) -> pl.DataFrame:
    """The last imports (`overview.provenance`) with French headers."""
    return imports.select(
        pl.col("fichier").alias("Fichier"),
        pl.col("type_import").alias("Type"),
        pl.col("auteur").fill_null("—").alias("Auteur"),
        pl.col("date_import").dt.strftime("%d/%m/%Y %H:%M").alias("Date"),
        pl.col("statut").alias("Statut"),
        pl.col("resume").fill_null("").alias("Résumé"),
    )
