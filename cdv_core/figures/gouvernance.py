"""« Gouvernance »: headline cards, cadence and residents' wording, the meetings charts (per year,
per instance, per month), the residents' participation charts, from `cdv_core.queries.gouvernance`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import altair as alt
import polars as pl

from cdv_core import charts, fmt
from cdv_core.domain import cadence, model
from cdv_core.figures.cards import Card
from cdv_core.memo import by_content
from cdv_core.queries import gouvernance as gouv

RECENT = f"{gouv.RECENT_MONTHS} derniers mois"  # the window of the meetings held and residents present
STATUS_COLORS = alt.Scale(domain=list(model.STATUTS_REUNION), range=["#9ecae1", "#2b8a3e", "#c92a2a", "#f08c00"])
TIMELINE_DOMAIN = [date(2024, 1, 1).isoformat(), date(2030, 12, 31).isoformat()]

# The meetings per year: column of `yearly_meetings` → series shown, in the order of the bars.
YEAR_SERIES = {
    "tenues": "Tenues",
    "attendues": "Attendues (cadence)",
    "prevues": "Prévues",
    "annulees_reportees": "Annulées ou reportées",
}
YEAR_SERIES_ORDER = ["Attendues (cadence)", "Tenues", "Prévues", "Annulées ou reportées"]
YEAR_SERIES_COLORS = ["#adb5bd", "#2b8a3e", "#9ecae1", "#c92a2a"]


def tolerance_note(tolerance: int) -> str:
    return f"tolérance de {fmt.plural(tolerance, 'jour')} au-delà de la cadence"


def headline_cards(
    head: gouv.Headline, decisions: gouv.DecisionCounts, *, tolerance: int, habitants: str | None = None
) -> list[Card]:
    """Instances, late ones, meetings held and residents present recently (`habitants`: the masked
    total a partenaire sees, if so), late decisions (`gouv.headline`, `gouv.decision_counts`)."""
    return [
        Card(
            "Instances",
            fmt.integer(head["instances"]),
            help="Instances de gouvernance de la sélection créées à la date des données.",
        ),
        Card(
            "Instances en retard",
            fmt.integer(head["en_retard"]),
            help=f"Dernière réunion tenue (ou création) plus ancienne que la cadence attendue plus "
            f"{fmt.plural(tolerance, 'jour')} de tolérance. Les réunions annulées ou reportées ne comptent pas.",
        ),
        Card(
            f"Réunions tenues ({RECENT})",
            fmt.integer(head["tenues_12_mois"]),
            help=f"Réunions au statut « tenue » dans les {RECENT} précédant la date des données.",
        ),
        Card(
            f"Habitants présents ({RECENT})",
            fmt.integer(head["habitants_12_mois"]) if habitants is None else habitants,
            help=f"Somme des habitants présents aux réunions tenues dans les {RECENT} précédant la date des "
            "données, toutes instances.",
        ),
        Card(
            "Décisions en retard",
            fmt.integer(decisions["en_retard"]),
            help=f"Décisions « à faire » ou « en cours » dont l'échéance est dépassée, sur "
            f"{fmt.plural(decisions['ouvertes'], 'décision ouverte', 'décisions ouvertes')}.",
        ),
    ]


def late_warning(late: pl.DataFrame, instances: int) -> str | None:
    """The late instances named (8 at most), or None when every instance meets its cadence."""
    if late.is_empty():
        return None
    names = ", ".join(late["libelle"].head(8).to_list()) + (" …" if late.height > 8 else "")
    return (
        f"**{fmt.plural(late.height, 'instance')} en retard** sur {fmt.plural(instances, 'instance')} : {fmt.md(names)}"
    )


def types_title(donnees_au: date) -> str:
    return (
        f"**Par type d'instance** — réunions tenues en {donnees_au.year} au {fmt.day(donnees_au)} "
        "et réunions attendues selon la cadence pour les mois écoulés"
    )


@by_content
def types_table(by_type: pl.DataFrame, *, year: int) -> pl.DataFrame:
    """`cadence_by_type` (as this reader may see it) with French headers."""
    return by_type.select(
        pl.col("type_instance").alias("Type d'instance"),
        pl.col("instances").alias("Instances"),
        pl.col("en_retard").alias("En retard"),
        pl.col("tenues_annee").alias(f"Tenues {year}"),
        pl.col("attendues_annee").alias(f"Attendues {year}"),
        pl.col("tenues_12_mois").alias(f"Tenues ({gouv.RECENT_MONTHS} mois)"),  # short: table headers
        pl.col("habitants_12_mois").alias(f"Habitants présents ({gouv.RECENT_MONTHS} mois)"),
    )


def cadence_rule(tolerance: int) -> str:
    return (
        f"Règle : une instance est en retard quand sa dernière réunion tenue (ou sa création si elle ne "
        f"s'est jamais réunie) date de plus que sa cadence attendue plus une tolérance de "
        f"{fmt.plural(tolerance, 'jour')} (réglable par l'administrateur de l'application). "
        "Les réunions annulées, reportées ou seulement prévues "
        "ne comptent pas comme tenues. Réunions attendues dans l'année : nombre de mois d'existence "
        "de l'instance écoulés dans l'année, divisé par la cadence, arrondi à l'entier le plus proche."
    )


@by_content
def meetings_per_year(
    yearly: pl.DataFrame, *, series: Mapping[str, str] = YEAR_SERIES, until: int | None = None
) -> pl.DataFrame:
    """`yearly_meetings` summed per year (up to `until`), one row per year and series (`series`:
    column → label, in this order): annee (text), serie, reunions. The one aggregation of the page's
    chart and of the séance's."""
    if until is not None:
        yearly = yearly.filter(pl.col("annee") <= until)
    return (
        yearly.group_by("annee", maintain_order=True)
        .agg(pl.col(*series).sum())
        .unpivot(index="annee", on=list(series), variable_name="serie", value_name="reunions")
        .with_columns(pl.col("serie").replace_strict(dict(series)), pl.col("annee").cast(pl.String))
    )


@by_content
def meetings_per_year_chart(yearly: pl.DataFrame) -> alt.Chart:
    """Meetings expected by cadence, held, planned, cancelled or postponed, per year, 2024–2030."""
    chart = (
        alt.Chart(meetings_per_year(yearly))
        .mark_bar()
        .encode(
            x=alt.X("annee:N", title="Année", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("serie:N", sort=YEAR_SERIES_ORDER),
            y=alt.Y("reunions:Q", title="Réunions"),
            color=alt.Color(
                "serie:N",
                title=None,
                sort=YEAR_SERIES_ORDER,
                scale=alt.Scale(domain=YEAR_SERIES_ORDER, range=YEAR_SERIES_COLORS),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("annee:N", title="Année"),
                alt.Tooltip("serie:N", title="Série"),
                alt.Tooltip("reunions:Q", title="Réunions", format=",d"),
            ],
        )
        .properties(height=280)
    )
    return charts.french(chart)


def _au_rule(donnees_au: date) -> alt.Chart:
    return (
        alt.Chart(pl.DataFrame({"au": [donnees_au]}))
        .mark_rule(color="#495057", strokeDash=[4, 3])
        .encode(x=alt.X("au:T"), tooltip=[alt.Tooltip("au:T", title="Données au", format="%d/%m/%Y")])
    )


@by_content
def calendar_chart(timeline: pl.DataFrame, *, donnees_au: date, people: bool) -> alt.LayerChart:
    """Each meeting of `meetings_timeline` on its instance's row, coloured by status, with « données
    au » as a dotted line; `people`: attendance in the tooltips (not for a partenaire)."""
    attendance = (
        [alt.Tooltip("nb_participants:Q", title="Participants"), alt.Tooltip("nb_habitants:Q", title="Habitants")]
        if people
        else []
    )
    points = (
        alt.Chart(timeline)
        .mark_point(filled=True, size=60)
        .encode(
            x=alt.X(
                "date_reunion:T",
                title=None,
                scale=alt.Scale(domain=TIMELINE_DOMAIN),
                axis=alt.Axis(format="%Y", tickCount="year"),
            ),
            y=alt.Y("instance:N", title=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color("statut:N", title="Statut", scale=STATUS_COLORS, legend=alt.Legend(orient="bottom")),
            shape=alt.Shape("statut:N", title="Statut", scale=alt.Scale(domain=list(model.STATUTS_REUNION))),
            tooltip=[
                alt.Tooltip("instance:N", title="Instance"),
                alt.Tooltip("date_reunion:T", title="Date", format="%d/%m/%Y"),
                alt.Tooltip("statut:N", title="Statut"),
                alt.Tooltip("objet:N", title="Objet"),
                *attendance,
            ],
        )
    )
    height = max(160, 28 * timeline["instance"].n_unique())
    return charts.french((points + _au_rule(donnees_au)).properties(height=height))


@by_content
def monthly_chart(monthly: pl.DataFrame, *, donnees_au: date) -> alt.LayerChart:
    """Meetings per month and status, every instance (`meetings_by_month`), « données au » dotted."""
    bars = (
        alt.Chart(monthly)
        .mark_bar()
        .encode(
            x=alt.X(
                "mois:T",
                title=None,
                scale=alt.Scale(domain=TIMELINE_DOMAIN),
                axis=alt.Axis(format="%Y", tickCount="year"),
            ),
            y=alt.Y("reunions:Q", title="Réunions", stack=True),
            color=alt.Color("statut:N", title="Statut", scale=STATUS_COLORS, legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("mois:T", title="Mois", format="%B %Y"),
                alt.Tooltip("statut:N", title="Statut"),
                alt.Tooltip("reunions:Q", title="Réunions", format=",d"),
            ],
        )
    )
    return charts.french((bars + _au_rule(donnees_au)).properties(height=280))


def residents_cards(residents: gouv.ResidentsSummary) -> list[Card]:
    """QPV with an active conseil citoyen, without an active residents' body, without a conseil citoyen
    (`gouv.residents_summary`)."""
    return [
        Card(
            "QPV avec conseil citoyen actif",
            f"{fmt.integer(residents['conseil_citoyen_actif'])} / {fmt.integer(residents['qpv'])}",
            help=f"Conseil citoyen ayant tenu au moins une réunion dans les {cadence.ACTIVE_MONTHS} mois "
            "précédant la date des données.",
        ),
        Card(
            "QPV sans instance d'habitants active",
            fmt.integer(residents["sans_instance_active"]),
            help="Ni conseil citoyen ni table de quartier réunis dans les "
            f"{cadence.ACTIVE_MONTHS} mois précédant la date des données.",
        ),
        Card("QPV sans conseil citoyen", fmt.integer(residents["sans_conseil_citoyen"])),
    ]


@by_content
def participation_chart(part: pl.DataFrame) -> alt.Chart:
    """Residents present per meeting held, per type of instance and year (`participation_by_type`)."""
    chart = (
        alt.Chart(part.with_columns(pl.col("annee").cast(pl.String)))
        .mark_bar()
        .encode(
            x=alt.X("annee:N", title="Année", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("type_instance:N"),
            y=alt.Y("habitants_par_reunion:Q", title="Habitants / réunion"),
            color=alt.Color("type_instance:N", title="Type d'instance", legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("annee:N", title="Année"),
                alt.Tooltip("type_instance:N", title="Type"),
                alt.Tooltip("reunions_tenues:Q", title="Réunions tenues", format=",d"),
                alt.Tooltip("habitants:Q", title="Habitants présents", format=",d"),
                alt.Tooltip("habitants_par_reunion:Q", title="Habitants par réunion", format=",.1f"),
                alt.Tooltip("part_habitants:Q", title="Part des participants", format=".1%"),
            ],
        )
        .properties(height=340)
    )
    return charts.french(chart)


@by_content
def residents_chart(per_meeting: pl.DataFrame) -> alt.Chart:
    """Residents present at each meeting held (`residents_per_meeting`)."""
    dots = (
        alt.Chart(per_meeting)
        .mark_circle(size=50)
        .encode(
            x=alt.X("date_reunion:T", title=None, axis=alt.Axis(format="%m/%Y")),
            y=alt.Y("nb_habitants:Q", title="Habitants présents"),
            color=alt.Color("type_instance:N", title="Type d'instance", legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("instance:N", title="Instance"),
                alt.Tooltip("date_reunion:T", title="Date", format="%d/%m/%Y"),
                alt.Tooltip("nb_participants:Q", title="Participants"),
                alt.Tooltip("nb_habitants:Q", title="Habitants"),
            ],
        )
        .properties(height=240)
    )
    return charts.french(dots)


def decisions_caption(decisions: gouv.DecisionCounts) -> str:
    return (
        f"{fmt.plural(decisions['total'], 'décision')} dans la sélection, dont "
        f"{fmt.integer(decisions['en_retard'])} en retard (échéance dépassée, « à faire » ou « en cours ») ; "
        "les décisions en retard sont listées d'abord."
    )


def obligations_rules() -> str:
    """The three annual obligations, as a Markdown list."""
    return (
        "- **COPIL** : au moins un comité de pilotage tenu chaque année ;\n"
        "- **Revue annuelle** des indicateurs (circulaire du 7 novembre 2024) : au moins une réunion tenue d'une "
        "« revue de projet de quartier », ou d'une instance dont l'objet mentionne « revue annuelle » ;\n"
        f"- **Rapport annuel** : le projet est soumis aux conseils citoyens au moins {gouv.RAPPORT_DELAI_MOIS} "
        "mois avant son vote (jalons « consultation conseils citoyens » et « rapport annuel » de l'exercice)."
    )


def instance_labels(choices: pl.DataFrame) -> dict[str, str]:
    """`instance_choices` as the form offers them: late ones say so."""
    return {
        c: lib + (" — en retard" if late else "")
        for c, lib, late in zip(
            choices["code_instance"].to_list(), choices["libelle"].to_list(), choices["en_retard"].to_list()
        )
    }


@by_content
def instances_table(instances: pl.DataFrame, *, annee: int, with_contract: bool = True) -> pl.DataFrame:
    """`instance_cadence` with French column names, for the table and its download (every row)."""
    table = instances.select(
        pl.col("libelle").alias("Instance"),
        pl.when(pl.col("en_retard"))
        .then(pl.format("en retard de {} j", pl.col("jours_retard")))
        .otherwise(pl.lit("à jour"))
        .alias("Situation"),
        pl.col("type_instance").alias("Type"),
        pl.col("code_contrat").alias("Contrat"),
        pl.col("code_qp").fill_null("tout le contrat").alias("QPV"),
        pl.format("tous les {} mois", pl.col("cadence_mois")).alias("Cadence attendue"),
        pl.format("{} / {}", pl.col("tenues_annee"), pl.col("attendues_annee")).alias(f"Tenues / attendues {annee}"),
        pl.col("derniere_tenue").alias("Dernière réunion tenue"),
        pl.col("prochaine_prevue").alias("Prochaine réunion prévue"),
        pl.col("echeance").alias("Échéance (cadence + tolérance)"),
        pl.col("code_instance").alias("Code"),
    )
    return table if with_contract else table.drop("Contrat")


@by_content
def bodies_table(bodies: pl.DataFrame) -> pl.DataFrame:
    """`residents_bodies` with French column names (every QPV)."""
    return bodies.select(
        pl.col("code_qp").alias("QPV"),
        pl.col("quartier").alias("Quartier"),
        pl.col("lib_com").alias("Commune"),
        pl.col("code_contrat").alias("Contrat"),
        pl.when(~pl.col("a_conseil_citoyen"))
        .then(pl.lit("aucun"))
        .when(pl.col("conseil_citoyen_actif"))
        .then(pl.lit("actif"))
        .otherwise(pl.lit("inactif"))
        .alias("Conseil citoyen"),
        pl.col("derniere_reunion_cc").alias("Dernière réunion du conseil citoyen"),
        pl.when(pl.col("instance_habitants_active"))
        .then(pl.lit("oui"))
        .otherwise(pl.lit("non"))
        .alias("Instance d'habitants active"),
    )


@by_content
def decisions_table(log: pl.DataFrame) -> pl.DataFrame:
    """`decision_log` with French column names (every decision)."""
    return log.select(
        pl.when(pl.col("en_retard"))
        .then(pl.format("en retard de {} j", pl.col("jours_retard")))
        .otherwise(pl.lit(""))
        .alias("Retard"),
        pl.col("libelle").alias("Décision"),
        pl.col("responsable").alias("Responsable"),
        pl.col("date_echeance").alias("Échéance"),
        pl.col("statut").alias("Statut"),
        pl.col("instance").alias("Instance"),
        pl.col("date_reunion").alias("Réunion du"),
        pl.col("actions_liees").alias("Actions liées"),
        pl.col("id_decision").alias("Code"),
    )


@by_content
def obligations_table(obligations: pl.DataFrame) -> pl.DataFrame:
    """`annual_obligations` rows with French column names."""
    return obligations.select(
        pl.col("contrat").alias("Contrat"),
        pl.col("annee").cast(pl.String).alias("Année"),
        pl.col("copil_tenus").alias("COPIL tenus"),
        pl.col("copil_statut").alias("Obligation COPIL"),
        pl.col("revues_tenues").alias("Revues tenues"),
        pl.col("revue_statut").alias("Revue annuelle"),
        pl.col("date_consultation").alias("Consultation des conseils citoyens"),
        pl.col("date_vote").alias("Vote du rapport annuel"),
        pl.col("ecart_jours").alias("Écart (jours)"),
        pl.col("rapport_statut").alias("Rapport annuel"),
    )


def obligations_summary(counts: pl.DataFrame) -> pl.DataFrame:
    """`gouv.obligations_counts` with French headers: per year, the contracts, and how many respect /
    miss each obligation."""
    labels = {"copil": "COPIL", "revue": "Revue annuelle", "rapport": "Rapport annuel"}
    return counts.select(
        pl.col("annee").cast(pl.String).alias("Année"),
        pl.col("contrats").alias("Contrats"),
        *[pl.col(f"{c}_respectee").alias(f"{label} respectée") for c, label in labels.items()],
        *[pl.col(f"{c}_non_respectee").alias(f"{label} non respectée") for c, label in labels.items()],
    )
