"""« Bilans des porteurs » on « Actions et financements »: the cards, captions and display tables built
from `cdv_core.queries.bilans` results. Pure functions: no Streamlit, no SQL."""

from __future__ import annotations

from datetime import date

import polars as pl

from cdv_core import fmt
from cdv_core.figures.cards import Card
from cdv_core.memo import by_content
from cdv_core.queries import bilans as q

CONTACT_COLUMNS = ("Contact", "Adresse électronique", "Téléphone")


def intro(*, delai_mois: int, donnees_au: date) -> str:
    """When a bilan is due (with an example two years back) and what completeness means."""
    example = donnees_au.year - 2
    return (
        f"Un bilan (compte rendu financier, CERFA n° 15059) est attendu pour chaque action et chaque exercice "
        f"où un montant a été accordé, {fmt.plural(delai_mois, 'mois', 'mois')} après la fin de l'exercice "
        f"(exercice {example} : le {fmt.day(q.due_date(example, delai_mois))}). Situation au "
        f"{fmt.day(donnees_au)} ; complétude : bilans reçus parmi les bilans dus à cette date."
    )


def summary_cards(summary: dict) -> list[Card]:
    """The five cards of `q.summary`."""
    return [
        Card("Bilans dus", fmt.integer(summary["dus"]), help="Exercices financés dont l'échéance est passée."),
        Card(
            "Reçus",
            fmt.integer(summary["recus"]),
            help=f"Dont {fmt.integer(summary['a_examiner'])} à examiner et "
            f"{fmt.integer(summary['a_completer'])} à compléter.",
        ),
        Card("Acceptés", fmt.integer(summary["acceptes"])),
        Card("En retard", fmt.integer(summary["en_retard"]), help="Dus et non reçus à la date des données."),
        Card("Complétude", fmt.percent(summary["part"]), help="Bilans reçus / bilans dus."),
    ]


def upcoming_caption(summary: dict) -> str | None:
    if not summary["a_venir"]:
        return None
    return f"{fmt.plural(summary['a_venir'], 'bilan à venir', 'bilans à venir')} (échéance non atteinte)."


def _counts() -> list[pl.Expr]:
    return [
        pl.col("dus").alias("Dus"),
        pl.col("recus").alias("Reçus"),
        pl.col("acceptes").alias("Acceptés"),
        pl.col("a_examiner").alias("À examiner"),
        pl.col("a_completer").alias("À compléter"),
        pl.col("en_retard").alias("En retard"),
        pl.col("a_venir").alias("À venir"),
        fmt.percent_expr(pl.col("part"), missing="—").alias("Complétude"),
    ]


@by_content
def late_table(late: pl.DataFrame) -> pl.DataFrame:
    """`q.late`: what is late first (in view on a projector), then whom to remind."""
    return late.select(
        pl.col("porteur").alias("Porteur"),
        pl.col("annee").cast(pl.String).alias("Exercice"),
        fmt.day_expr(pl.col("echeance")).alias("Échéance"),
        pl.col("jours_retard").alias("Jours de retard"),
        pl.col("action").alias("Action"),
        pl.col("contact_nom").alias("Contact"),
        pl.col("contact_email").alias("Adresse électronique"),
        pl.col("contact_telephone").alias("Téléphone"),
        pl.col("code_action").alias("Code action"),
    )


@by_content
def porteurs_table(porteurs: pl.DataFrame) -> pl.DataFrame:
    """`q.by_porteur`: each porteur, its contact and its counts."""
    return porteurs.select(
        pl.col("porteur").alias("Porteur"),
        pl.col("contact_nom").alias("Contact"),
        pl.col("contact_email").alias("Adresse électronique"),
        *_counts(),
    )


@by_content
def qpv_table(qpv: pl.DataFrame) -> pl.DataFrame:
    """`q.by_qpv`: each quartier (or « sans QPV ») and its counts."""
    return qpv.select(
        pl.col("quartier").alias("Quartier"), pl.col("code_qp").fill_null("—").alias("Code QPV"), *_counts()
    )


@by_content
def years_table(years: pl.DataFrame) -> pl.DataFrame:
    """`q.by_year`: each exercice, its due date and its counts."""
    return years.select(
        pl.col("annee").cast(pl.String).alias("Exercice"),
        fmt.day_expr(pl.col("echeance")).alias("Échéance"),
        *_counts(),
    )


def without_email_caption(late: pl.DataFrame) -> str | None:
    without = late["contact_email"].null_count()
    if not without:
        return None
    return (
        f"{fmt.plural(without, 'bilan en retard', 'bilans en retard')} sans adresse électronique du "
        "porteur : complétez les contacts avec le modèle « Porteurs » (Mise à jour des données)."
    )


def owed_labels(owed: pl.DataFrame) -> dict[str, str]:
    """`q.bilans` → « 2025 — action (porteur) : état » per « code_action|annee »."""
    return {
        f"{r['code_action']}|{r['annee']}": f"{r['annee']} — {r['action']} ({r['porteur']}) : {r['etat']}"
        for r in owed.select("code_action", "annee", "action", "porteur", "etat").iter_rows(named=True)
    }
