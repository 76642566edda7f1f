"""« Jalons et actualisation 2027 »: headline cards, the readiness verdict, the 2024-2030 road, the
milestone tables and the baseline comparison, from `cdv_core.queries.jalons`."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from cdv_core import charts, fmt
from cdv_core.domain import model
from cdv_core.domain import readiness as rd
from cdv_core.figures.cards import Card
from cdv_core.figures.vue_ensemble import countdown_card
from cdv_core.memo import by_content
from cdv_core.queries import jalons
from cdv_core.queries.overview import Actualisation


def headline_cards(countdown: Actualisation, ready: jalons.Readiness, counts: dict[str, int]) -> list[Card]:
    """The countdown, the readiness score, milestones done and late (`milestone_counts`)."""
    return [
        countdown_card(countdown),
        Card(
            "Préparation de l'actualisation",
            f"{fmt.integer(ready['remplis'])} / {fmt.integer(ready['total'])} critères",
            delta="prêt" if ready["pret"] else f"{fmt.integer(ready['a_completer'])} à compléter",
            delta_color="green" if ready["pret"] else "red",
            delta_arrow="off",
            help=rd.score_rule(),
        ),
        Card(
            "Jalons réalisés",
            fmt.integer(counts[rd.STATUT_FAIT]),
            help=f"Sur {fmt.plural(counts['total'], 'jalon')} enregistrés, à la date des données.",
        ),
        Card(
            "Jalons en retard",
            fmt.integer(counts[rd.STATUT_RETARD]),
            delta=f"{fmt.integer(counts[rd.STATUT_A_VENIR])} à venir",
            delta_color="gray",
            delta_arrow="off",
            help="Jalon non réalisé dont la date prévue est passée à la date des données.",
        ),
    ]


def readiness_verdict(ready: jalons.Readiness) -> str:
    """Ready, or not yet with the criteria to complete."""
    if ready["pret"]:
        return f"Prêt pour l'actualisation : les {fmt.integer(ready['total'])} critères sont remplis."
    missing = ready["items"].filter(~pl.col("ok"))["libelle"].to_list()
    return (
        f"Pas encore prêt pour l'actualisation ({fmt.integer(ready['remplis'])} / "
        f"{fmt.integer(ready['total'])} critères). À compléter : {' ; '.join(missing)}."
    )


def contracts_caption(ready: jalons.Readiness, *, shown: int) -> str:
    per = ready["contrats"]
    return (
        f"{fmt.plural(ready['contrats_prets'], 'contrat prêt', 'contrats prêts')} sur "
        f"{fmt.integer(per.height)} ; les moins avancés en premier"
        + (
            f" ({fmt.integer(shown)} premiers affichés ; le téléchargement contient tout)."
            if per.height > shown
            else "."
        )
    )


@by_content
def contracts_table(per: pl.DataFrame, *, total: int) -> pl.DataFrame:
    """Readiness per contract (`readiness()["contrats"]`) as shown."""
    return per.select(
        pl.col("contrat").alias("Contrat"),
        pl.format("{} / {}", "remplis", pl.lit(total)).alias("Critères remplis"),
        pl.when(pl.col("pret")).then(pl.lit("oui")).otherwise(pl.lit("non")).alias("Prêt"),
        pl.col("manquants").alias("À compléter"),
    )


def contracts_export(per: pl.DataFrame) -> pl.DataFrame:
    """Readiness per contract as downloaded (typed values)."""
    return per.select(
        pl.col("code_contrat").alias("Code contrat"),
        pl.col("contrat").alias("Contrat"),
        pl.col("remplis").alias("Critères remplis"),
        pl.col("pret").alias("Prêt"),
        pl.col("manquants").alias("À compléter"),
    )


@by_content
def timeline_chart(
    points: pl.DataFrame, *, donnees_au: date, actualisation: date, every_contract: bool
) -> alt.LayerChart:
    """The milestones of `jalons.timeline` on the 2024-2030 road, coloured by status, with « données
    au » and the actualisation as dotted lines named in a legend."""
    colors = alt.Scale(domain=list(rd.STATUTS_JALON), range=[rd.STATUT_COLORS[s] for s in rd.STATUTS_JALON])
    # 2024-2030 with a small margin for the autumn-2023 appels à projets and the 31/12/2030 end;
    # one tick a year, on 1 January, from 2024 to 2030 (no « 2031 »).
    x_scale = alt.Scale(domain=[rd.TIMELINE_START.isoformat(), rd.TIMELINE_END.isoformat()])
    years = [alt.DateTime(year=y, month=1, date=1) for y in range(rd.TIMELINE_START.year + 1, rd.TIMELINE_END.year)]
    types = [t for t in model.TYPES_JALON if t in set(points["type_jalon"].to_list())]
    base = alt.Chart(points).encode(
        x=alt.X("date_prevue:T", title=None, scale=x_scale, axis=alt.Axis(format="%Y", values=years)),
        y=alt.Y("type_jalon:N", title=None, sort=types, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
    )
    # « Tous les contrats »: one sub-row per status, so that milestones due the same day with
    # different statuses sit side by side instead of hiding each other.
    offset = {"yOffset": alt.YOffset("statut:N", sort=list(rd.STATUTS_JALON))} if every_contract else {}
    dots = base.mark_point(filled=True, opacity=0.9, stroke="white", strokeWidth=1).encode(
        **offset,
        color=alt.Color("statut:N", title="Statut", scale=colors, legend=alt.Legend(orient="top")),
        size=alt.Size(
            "nombre:Q", title="Contrats", legend=None, scale=alt.Scale(range=[40, 230] if every_contract else [70, 400])
        ),
        tooltip=[
            alt.Tooltip("libelle:N", title="Jalon"),
            alt.Tooltip("date_prevue:T", title="Prévu le", format="%d/%m/%Y"),
            alt.Tooltip("statut:N", title="Statut"),
            alt.Tooltip("nombre:Q", title="Nombre de contrats"),
        ],
    )
    # The two reference dates are named in a legend (labels written on the chart overlapped).
    au_label = f"données au {fmt.day(donnees_au)}"
    actu_label = f"actualisation : {fmt.day(actualisation)}"
    marks = pl.DataFrame({"date": [donnees_au, actualisation], "repere": [au_label, actu_label]})
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeDash=[4, 3], strokeWidth=2)
        .encode(
            x=alt.X("date:T"),
            color=alt.Color(
                "repere:N",
                title="Repères",
                scale=alt.Scale(domain=[au_label, actu_label], range=["#1565c0", "#ef6c00"]),
                legend=alt.Legend(orient="top", symbolType="stroke", symbolStrokeWidth=2, symbolDash=[4, 3]),
            ),
            tooltip=[alt.Tooltip("repere:N", title="Repère")],
        )
    )
    return charts.french(
        alt.layer(dots, rules)
        .resolve_scale(color="independent")
        .properties(height={"step": 20 if every_contract else 40})
    )  # with yOffset: a sub-row


def timeline_caption(*, every_contract: bool) -> str:
    return (
        "Un jalon est **réalisé** si sa date de réalisation est antérieure ou égale à la date des données, "
        "**en retard** s'il n'est pas réalisé et que sa date prévue est passée, **à venir** sinon. "
        + ("La taille des points indique le nombre de contrats." if every_contract else "")
    )


@by_content
def late_table(late: pl.DataFrame, *, with_contract: bool) -> pl.DataFrame:
    """Late milestones (`milestones(statut=en retard)`), the latest first."""
    return late.sort("jours_retard", descending=True).select(
        pl.col("date_prevue").alias("Prévu le"),
        pl.col("jours_retard").alias("Retard (jours)"),
        pl.col("type_jalon").alias("Type"),
        pl.col("libelle").alias("Jalon"),
        *([pl.col("contrat").alias("Contrat")] if with_contract else []),
    )


def late_cap_note(shown: int, total: int) -> str:
    return (
        f"{fmt.integer(shown)} premiers sur {fmt.integer(total)} : téléchargez la liste "
        "complète dans « Tous les jalons » ci-dessous."
    )


@by_content
def milestones_table(every: pl.DataFrame, *, with_contract: bool) -> pl.DataFrame:
    """Every milestone (`milestones`) as shown."""
    return every.select(
        *([pl.col("contrat").alias("Contrat")] if with_contract else []),
        pl.col("type_jalon").alias("Type"),
        pl.col("libelle").alias("Jalon"),
        pl.col("date_prevue").alias("Prévu le"),
        pl.col("date_realisation").alias("Réalisé le"),
        pl.col("statut").alias("Statut"),
    )


def milestones_export(every: pl.DataFrame) -> pl.DataFrame:
    """Every milestone as downloaded."""
    return every.select(
        pl.col("id_jalon").alias("Identifiant"),
        pl.col("code_contrat").alias("Code contrat"),
        pl.col("contrat").alias("Contrat"),
        pl.col("type_jalon").alias("Type"),
        pl.col("libelle").alias("Jalon"),
        pl.col("annee").alias("Année"),
        pl.col("date_prevue").alias("Prévu le"),
        pl.col("date_realisation").alias("Réalisé le"),
        pl.col("statut").alias("Statut"),
        pl.col("jours_retard").alias("Jours de retard"),
    )


def baseline_names(frozen: pl.DataFrame) -> dict[int, str]:
    """Each frozen baseline (`baselines`) as the select box names it (a few baselines)."""
    return {
        r["id_gel"]: f"{r['libelle']} — état au {fmt.day(r['date_gel'])} (figée le {fmt.timestamp(r['created_at'])})"
        for r in frozen.iter_rows(named=True)
    }


def baseline_caption(diff: jalons.BaselineDiff, *, donnees_au: date) -> str:
    gel = diff["gel"]
    return (
        f"Comparaison de l'état au **{fmt.day(gel['date_gel'])}** (programmation {gel['annee_programmation']}) "
        f"avec l'état au **{fmt.day(donnees_au)}** (programmation {diff['annee_maintenant']}). "
        "La référence est une photographie enregistrée : les imports ultérieurs ne la modifient pas."
    )


def changes_line(changes: dict[str, int]) -> str:
    return " · ".join(f"**{fmt.integer(c)}** {k}" for k, c in changes.items())


@by_content
def objectives_table(objectifs: pl.DataFrame) -> pl.DataFrame:
    """Objectives added, removed or renamed since the baseline."""
    return objectifs.select(
        pl.col("changement").alias("Changement"),
        pl.col("code_objectif").alias("Objectif"),
        pl.col("code_qp").alias("QPV"),
        pl.col("axe").alias("Axe"),
        pl.col("libelle_avant").fill_null("—").alias("Libellé à la référence"),
        pl.col("libelle_maintenant").fill_null("—").alias("Libellé actuel"),
    )


def period_labels(diff: jalons.BaselineDiff) -> tuple[str, str]:
    """The two programmations compared: the baseline's year and today's."""
    return f"{diff['gel']['annee_programmation']} (référence)", f"{diff['annee_maintenant']} (aujourd'hui)"


@by_content
def thematiques_chart(th: pl.DataFrame, *, then_label: str, now_label: str) -> alt.Chart:
    """Amount granted per thématique at the baseline and today (`baseline_diff()["thematiques"]`)."""
    bars = pl.concat(
        [
            th.select(
                "thematique",
                "libelle",
                pl.lit(then_label).alias("periode"),
                pl.col("montant_avant").alias("montant"),
                pl.col("actions_avant").alias("actions"),
            ),
            th.select(
                "thematique",
                "libelle",
                pl.lit(now_label).alias("periode"),
                pl.col("montant_maintenant").alias("montant"),
                pl.col("actions_maintenant").alias("actions"),
            ),
        ]
    ).with_columns((pl.col("thematique") + " " + pl.col("libelle")).alias("theme"))
    chart = (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            y=alt.Y("theme:N", title=None, axis=alt.Axis(labelLimit=320)),
            yOffset=alt.YOffset("periode:N", sort=[then_label, now_label]),
            x=alt.X("montant:Q", title="Montant accordé (€)", axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "periode:N",
                title=None,
                sort=[then_label, now_label],
                scale=alt.Scale(range=["#9e9e9e", "#1565c0"]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("theme:N", title="Thématique"),
                alt.Tooltip("periode:N", title="Année"),
                alt.Tooltip("montant:Q", title="Montant accordé", format=",.0f"),
                alt.Tooltip("actions:Q", title="Actions"),
            ],
        )
        .properties(height=36 * th.height + 40)
    )
    return charts.french(chart)


def evolutions_line(evolutions: dict[str, int], *, pairs: int) -> str:
    return (
        f"**{fmt.integer(evolutions['favorable'])}** évolutions favorables · "
        f"**{fmt.integer(evolutions['défavorable'])}** défavorables "
        f"sur {fmt.integer(pairs)} couples indicateur × QPV (selon le sens souhaité de l'indicateur)."
    )


@by_content
def rapports_summary_table(reports: pl.DataFrame) -> pl.DataFrame:
    """`rapports_annuels` of every contract (contracts per year and statut) with French headers."""
    return reports.select(pl.col("annee").alias("Exercice"), pl.exclude("annee"))


@by_content
def rapport_votes_table(votes: pl.DataFrame) -> pl.DataFrame:
    """The votes of the rapport annuel (`rapport_votes`) as recorded."""
    return votes.select(
        pl.col("annee").alias("Exercice"),
        pl.col("assemblee").alias("Assemblée"),
        pl.col("libelle_collectivite").alias("Collectivité"),
        pl.col("code_collectivite").alias("SIREN / INSEE"),
        pl.col("date_vote").alias("Voté le"),
        pl.col("reference_deliberation").alias("Délibération"),
    )


@by_content
def rapport_contributions_table(contributions: pl.DataFrame) -> pl.DataFrame:
    """The conseils citoyens' contributions (`rapport_contributions`) as recorded."""
    return contributions.select(
        pl.col("annee").alias("Exercice"),
        pl.col("conseil").alias("Conseil"),
        pl.col("date_reception").alias("Reçue le"),
        pl.col("texte").alias("Contribution"),
    )


@by_content
def rapport_cycle_table(reports: pl.DataFrame) -> pl.DataFrame:
    """`rapports_annuels` of one contract for the screen: each step of the life cycle in words
    (recorded in the report's life cycle, else read from its jalon), the statut and the missing
    step named; publication is shown but not required for « respectée »."""
    jalon_note = pl.lit(" (jalon)")
    envoi = (
        pl.when(pl.col("source_consultation") == "rapport")
        .then(fmt.day_expr(pl.col("date_consultation")))
        .when(pl.col("consultation_faite"))
        .then(fmt.day_expr(pl.col("date_consultation")) + jalon_note)
        .when(pl.col("date_consultation").is_not_null())
        .then(pl.lit("prévu le ") + fmt.day_expr(pl.col("date_consultation")) + jalon_note)
        .otherwise(pl.lit("—"))
    )
    votes = (
        pl.when(pl.col("source_vote") == "rapport")
        .then(pl.col("assemblees"))
        .when(pl.col("vote_fait"))
        .then(fmt.day_expr(pl.col("date_vote")) + jalon_note)
        .when(pl.col("date_vote").is_not_null())
        .then(pl.lit("prévu le ") + fmt.day_expr(pl.col("date_vote")) + jalon_note)
        .otherwise(pl.lit("—"))
    )
    contributions = (
        pl.when(pl.col("nb_contributions") > 0)
        .then(
            fmt.plural_expr(pl.col("nb_contributions"), "contribution")
            + pl.lit(", première le ")
            + fmt.day_expr(pl.col("premiere_contribution"))
        )
        .otherwise(pl.lit("aucune"))
    )
    publication = (
        pl.when(pl.col("date_publication").is_not_null())
        .then(pl.lit("publié le ") + fmt.day_expr(pl.col("date_publication")))
        .otherwise(pl.lit("non publié"))
    )
    return reports.select(  # the verdict first (in view on a projector), then the steps
        pl.col("annee").alias("Exercice"),
        pl.col("rapport_statut").alias("Statut"),
        pl.when(pl.col("manque") == "").then(pl.lit("—")).otherwise(pl.col("manque")).alias("Étape manquante"),
        envoi.alias("Envoi aux conseils citoyens"),
        contributions.alias("Contributions reçues"),
        votes.alias("Vote(s)"),
        pl.col("ecart_jours").alias("Écart envoi – 1er vote (jours)"),
        publication.alias("Publication"),
        pl.col("lien_publication").alias("Lien"),
    )


@by_content
def thematiques_table(thematiques: pl.DataFrame, *, then_label: str, now_label: str) -> pl.DataFrame:
    """`baseline_diff`'s thématiques with French headers and amounts in euros."""
    return thematiques.select(
        pl.col("thematique").alias("Code"),
        pl.col("libelle").alias("Thématique"),
        pl.col("actions_avant").alias(f"Actions {then_label}"),
        fmt.euros_expr(pl.col("montant_avant"), missing="—").alias(f"Accordé {then_label}"),
        pl.col("actions_maintenant").alias(f"Actions {now_label}"),
        fmt.euros_expr(pl.col("montant_maintenant"), missing="—").alias(f"Accordé {now_label}"),
        fmt.euros_expr(pl.col("ecart_montant"), missing="—").alias("Écart"),
    )


@by_content
def indicator_diff_table(indicateurs: pl.DataFrame) -> pl.DataFrame:
    """`baseline_diff`'s indicators for the screen: French headers, values formatted (a suppressed
    value reads as its secret marker, never as 0)."""

    def value(col: str, secret: str) -> pl.Expr:
        return pl.coalesce(fmt.number_expr(pl.col(col), 1), pl.col(secret), pl.lit("—"))

    return indicateurs.select(
        pl.col("indicateur").alias("Indicateur"),
        pl.col("quartier").alias("Quartier"),
        pl.col("date_avant").alias("Date (référence)"),
        value("valeur_avant", "secret_avant").alias("Valeur (référence)"),
        pl.col("date_maintenant").alias("Date (dernière)"),
        value("valeur_maintenant", "secret_maintenant").alias("Valeur (dernière)"),
        fmt.number_expr(pl.col("ecart"), 1, signed=True, missing="—").alias("Écart"),
        pl.col("unite").alias("Unité"),
        pl.col("evolution").alias("Évolution"),
    )


def indicator_diff_export(indicateurs: pl.DataFrame) -> pl.DataFrame:
    """`baseline_diff`'s indicators for download: typed values, French headers."""
    return indicateurs.select(
        pl.col("code_indicateur").alias("Code indicateur"),
        pl.col("indicateur").alias("Indicateur"),
        pl.col("unite").alias("Unité"),
        pl.col("sens").alias("Sens souhaité"),
        pl.col("code_qp").alias("Code QPV"),
        pl.col("quartier").alias("Quartier"),
        pl.col("date_avant").alias("Date (référence)"),
        pl.col("valeur_avant").alias("Valeur (référence)"),
        pl.col("secret_avant").alias("Secret (référence)"),
        pl.col("date_maintenant").alias("Date (dernière)"),
        pl.col("valeur_maintenant").alias("Valeur (dernière)"),
        pl.col("secret_maintenant").alias("Secret (dernière)"),
        pl.col("ecart").alias("Écart"),
        pl.col("evolution").alias("Évolution"),
    )
