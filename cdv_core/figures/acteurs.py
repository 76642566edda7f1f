"""« Acteurs et ingénierie »: the figure cards, charts, wording and display tables the committee sees,
built from `cdv_core.queries.acteurs` results. Pure functions: no Streamlit, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl

from cdv_core import charts, fmt
from cdv_core.figures.cards import Card
from cdv_core.memo import by_content
from cdv_core.queries import acteurs as q

TABLE_CAP = 200  # rows of the committee's tables (dependency, CPO candidates, gaps, roadmap)
POSTS_CAP = 300  # rows of the list of posts and of the relay posts per QPV
BLUE = "#1f4e79"
# Map colours of a QPV: the chosen actor acts there, another actor of the filters does, nobody does.
HIGHLIGHT, OTHER, EMPTY = [192, 57, 43], [31, 78, 121], [170, 170, 170]
MAP_TOOLTIP = (
    "<b>{libelle}</b><br/>{code_qp}<br/>Acteurs (filtres) : {nb_acteurs}<br/>L'acteur choisi y agit : {present}"
)
MAP_LEGEND = (
    "En :red[**rouge**] : les QPV où agit l'acteur choisi ; en :blue[**bleu**] : les autres QPV où "
    "agit au moins un acteur retenu par les filtres ; en :gray[**gris**] : aucun."
)
TYPOLOGIES = [("mode d'intervention", "Mode d'intervention"), ("domaine", "Domaine"), ("structure", "Structure")]
NO_MATCH = "Aucun acteur ne correspond à ces filtres."
NO_FUNDED_ACTION = "Cet acteur ne porte aucune action financée dans la sélection."
ALL_COVERED = "Chaque priorité des projets de quartier est couverte par assez d'acteurs."
NO_DEPENDENCY = "Aucun acteur financé ne dépend d'un seul financeur."
SMALL_TITLE = "**Part des petites associations dans les montants accordés**"
NO_POST = "Aucun poste enregistré pour cette sélection et cette année."
NO_RELAY = "Aucun poste d'adulte-relais ni FONJEP pour cette sélection et cette année."
POSTS_NOT_PUBLISHABLE = (
    "La liste des postes, un par personne, et leur répartition par QPV ne sont pas publiables "
    "(secret statistique) : elles ne sont pas montrées aux partenaires."
)
REFERENCE_AID_NOTE = (
    f"Aide de référence : {fmt.euros(q.MONTANT_ADULTE_RELAIS_2023, 2)} par adulte-relais (2023) et "
    f"{fmt.euros(q.MONTANT_FONJEP)} par poste FONJEP, multipliés par les ETP."
)


@dataclass(frozen=True)
class ActorCard:
    """The « fiche » of an actor: its name, a caption, then lines of Markdown (values escaped)."""

    title: str
    caption: str
    lines: list[str]


def euros(col: str) -> pl.Expr:
    return fmt.euros_expr(pl.col(col), missing="—")


def _percent(col: str) -> pl.Expr:
    return fmt.percent_expr(pl.col(col), missing="—")


def _day(col: str) -> pl.Expr:
    return fmt.day_expr(pl.col(col), missing="—")


def _validity(col: str) -> pl.Expr:
    return (
        pl.when(pl.col(col).is_null())
        .then(pl.lit("—"))
        .when(pl.col(col))
        .then(pl.lit("valide"))
        .otherwise(pl.lit("invalide"))
    )


def _late_or_status() -> pl.Expr:
    return pl.when(pl.col("en_retard")).then(pl.lit("en retard")).otherwise(pl.col("statut"))


def contract_names(contracts: pl.DataFrame) -> dict[str, str]:
    """Code → name of the contracts (`territoire.contracts`)."""
    return dict(zip(contracts["code_contrat"].to_list(), contracts["libelle"].to_list(), strict=True))


def _contract_name(col: str, names: dict[str, str]) -> pl.Expr:
    """A contract's name instead of its code (people read names; the downloads keep the codes)."""
    return pl.col(col).replace_strict(names, default=pl.col(col), return_dtype=pl.String)


def _first(shown: int, total: int, what: str = "") -> str:
    return f"{fmt.integer(shown)} premiers {what + ' ' if what else ''}sur {fmt.integer(total)}"


# --- système d'acteurs: figure cards --------------------------------------------------------------


def actor_cards(headline: dict[str, Any], dependency: dict[str, Any], small: dict[str, Any], year: int) -> list[Card]:
    """The five cards of the actors' view (`actor_counts`, `dependency_summary`, `small_association_summary`)."""
    trend = small["evolution"]
    return [
        Card(
            "Acteurs",
            fmt.integer(headline["nb_acteurs"]),
            help="Porteurs d'actions et acteurs enregistrés sans financement, selon les filtres.",
        ),
        Card(
            "Sans financement",
            fmt.integer(headline["nb_sans_financement"]),
            help="Acteurs présents dans les quartiers qui ne sont porteurs d'aucune action financée, "
            "dans aucun contrat (un porteur financé ailleurs compte comme financé).",
        ),
        Card(
            "QPV couverts",
            fmt.integer(headline["nb_qpv_couverts"]),
            help=f"QPV où agit au moins un des acteurs retenus, sur {fmt.plural(headline['nb_qpv'], 'QPV', 'QPV')} "
            "de la sélection.",
        ),
        Card(
            "Dépendants",
            fmt.integer(dependency["nb_dependants"]),
            help=f"Acteurs dépendants d'un financeur : il apporte au moins {fmt.percent(q.SEUIL_DEPENDANCE, 0)} des "
            f"montants accordés à l'acteur (toutes années) : {fmt.percent(dependency['part_dependants'], 0)} "
            f"des {fmt.integer(dependency['nb_finances'])} acteurs financés.",
        ),
        Card(
            "Petites associations",
            fmt.percent(small["part"]),
            delta=(
                f"{'+' if trend >= 0 else '-'}{fmt.number(abs(trend) * 100, 1)} pt sur un an"
                if trend is not None
                else None
            ),
            help=f"Part des montants accordés en {year} (tous financeurs) aux associations sans salarié, "
            "et son évolution sur un an.",
        ),
    ]


# --- système d'acteurs: typologies, directory, fiche ------------------------------------------------


@by_content
def typology_chart(counts: pl.DataFrame, typologie: str) -> alt.Chart | None:
    """Actors per value of one typology (`typology_counts`), longest bar first; None without actor."""
    part = counts.filter(pl.col("typologie") == typologie).select("valeur", "nb_acteurs")
    if part.is_empty():
        return None
    return charts.french(
        alt.Chart(part)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X("nb_acteurs:Q", title="Acteurs", axis=alt.Axis(format=",.0f", tickMinStep=1)),
            y=alt.Y("valeur:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            tooltip=[
                alt.Tooltip("valeur:N", title="Valeur"),
                alt.Tooltip("nb_acteurs:Q", title="Acteurs", format=",.0f"),
            ],
        )
        .properties(height=alt.Step(22))
    )


@by_content
def directory_table(directory: pl.DataFrame, year: int) -> pl.DataFrame:
    """The first `DIRECTORY_CAP` actors of `directory`, French headers."""
    return directory.head(q.DIRECTORY_CAP).select(
        pl.col("nom").alias("Acteur"),
        pl.col("type_structure").alias("Structure"),
        pl.col("mode_intervention").alias("Mode d'intervention"),
        pl.col("domaines").alias("Domaines"),
        pl.col("quartiers").alias("QPV"),
        pl.col("nb_actions").alias("Actions"),
        euros("accorde_annee").alias(f"Accordé {year}"),
        euros("accorde_cpo_annee").alias(f"dont CPO {year}"),
        pl.col("financeur_principal").alias("Financeur principal"),
        _percent("part_financeur_principal").alias("Part du principal"),
        pl.col("nb_instances").alias("Instances"),
        pl.col("siret").alias("SIRET"),
        _validity("siret_valide").alias("SIRET valide"),
        pl.col("rna").alias("RNA"),
        _validity("rna_valide").alias("RNA valide"),
    )


def directory_note(nb_acteurs: int, year: int) -> str | None:
    """Under the directory when it is cut at `DIRECTORY_CAP` rows."""
    if nb_acteurs <= q.DIRECTORY_CAP:
        return None
    return (
        f"{_first(q.DIRECTORY_CAP, nb_acteurs, 'acteurs')} (par montant accordé en {year}) ; "
        "le téléchargement contient tout."
    )


@by_content
def map_frame(qpv: pl.DataFrame) -> pl.DataFrame:
    """`actors_by_qpv` with the colour of each QPV and « oui »/« non » for the chosen actor (tooltip)."""
    return qpv.with_columns(
        pl.when(pl.col("acteur_present"))
        .then(pl.lit(HIGHLIGHT))
        .when(pl.col("nb_acteurs") > 0)
        .then(pl.lit(OTHER))
        .otherwise(pl.lit(EMPTY))
        .alias("couleur"),
        pl.when(pl.col("acteur_present")).then(pl.lit("oui")).otherwise(pl.lit("non")).alias("present"),
    )


def actor_card(detail: dict[str, pl.DataFrame], qpv: pl.DataFrame) -> ActorCard:
    """The fiche of the chosen actor (`actor_detail`, and its QPV from `actors_by_qpv`)."""
    ident = detail["identite"].row(0, named=True)

    def state(valid: bool | None) -> str:
        return "—" if valid is None else ("valide" if valid else "**invalide**")

    present = qpv.filter(pl.col("acteur_present"))["libelle"].to_list()
    instances = detail["instances"]["libelle"].to_list()
    return ActorCard(
        title=f"**{fmt.md(ident['nom'])}**",
        caption=f"{fmt.md(ident['type_structure'])} · {fmt.md(ident['mode_intervention'])}",
        lines=[
            f"Domaines : {fmt.md(ident['domaines']) if ident['domaines'] else 'non renseignés'}",
            f"SIRET : {fmt.md(ident['siret'] or 'non renseigné')} ({state(ident['siret_valide'])}) · "
            f"RNA : {fmt.md(ident['rna'] or 'non renseigné')} ({state(ident['rna_valide'])})",
            f"QPV : {fmt.md(', '.join(present)) if present else 'aucun QPV enregistré'}",
            "Instances : " + (fmt.md(", ".join(instances)) if instances else "aucune"),
        ],
    )


@by_content
def funding_chart(financement: pl.DataFrame) -> alt.Chart:
    """The chosen actor's amounts per year, CPO or annual (`actor_detail(...)["financement"]`)."""
    return charts.french(
        alt.Chart(financement)
        .mark_bar()
        .encode(
            x=alt.X("annee:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accorde:Q", title="Accordé (€)", axis=alt.Axis(format=",.0f")),
            color=alt.Color("mode:N", title="Mode", scale=alt.Scale(domain=["CPO", "annuel"], range=[BLUE, "#8fb3d9"])),
            tooltip=[
                alt.Tooltip("annee:O", title="Année"),
                alt.Tooltip("mode:N", title="Mode"),
                alt.Tooltip("accorde:Q", title="Accordé", format=",.0f"),
            ],
        )
        .properties(height=200)
    )


@by_content
def actions_table(actions: pl.DataFrame) -> pl.DataFrame:
    """The chosen actor's funded actions (`actor_detail(...)["actions"]`), French headers."""
    return actions.select(
        pl.col("code_action").alias("Action"),
        pl.col("libelle").alias("Libellé"),
        pl.col("thematique").alias("Thématique"),
        pl.col("mode_financement").alias("Mode"),
        pl.format("{}-{}", "annee_debut", "annee_fin").alias("Années"),
        pl.col("statut").alias("Statut"),
        euros("accorde").alias("Accordé (toutes années)"),
    )


# --- système d'acteurs: what the committee asks ---------------------------------------------------


def gaps_title(seuil: int) -> str:
    return (
        f"**QPV peu couverts sur une priorité de leur projet de quartier** — moins de {fmt.integer(seuil)} "
        "acteurs dans les domaines de l'axe"
    )


@by_content
def weak_priorities(coverage: dict[str, Any]) -> pl.DataFrame:
    """The priorities served by too few actors (`coverage_summary`)."""
    return coverage["priorites"].filter(pl.col("peu_couvert"))


@by_content
def gaps_table(weak: pl.DataFrame) -> pl.DataFrame:
    return weak.head(TABLE_CAP).select(
        pl.col("quartier").alias("Quartier"),
        pl.col("axe").alias("Axe prioritaire"),
        pl.col("domaines").alias("Domaines correspondants"),
        pl.col("nb_acteurs").alias("Acteurs"),
    )


def gaps_note(coverage: dict[str, Any]) -> str:
    return (
        f"{fmt.integer(coverage['nb_peu_couvertes'])} priorité(s) peu couverte(s) "
        f"sur {fmt.integer(coverage['nb_priorites'])}."
    )


def dependency_title() -> str:
    return f"**Dépendance à un financeur** (≥ {fmt.percent(q.SEUIL_DEPENDANCE, 0)} des montants)"


@by_content
def dependants(dependency: dict[str, Any]) -> pl.DataFrame:
    """The actors that depend on one funder (`dependency_summary`)."""
    return dependency["acteurs"].filter(pl.col("dependant"))


@by_content
def dependency_table(dependants: pl.DataFrame) -> pl.DataFrame:
    return dependants.head(TABLE_CAP).select(
        pl.col("nom").alias("Acteur"),
        pl.col("financeur_principal").alias("Financeur"),
        _percent("part_financeur_principal").alias("Part"),
        euros("total_accorde").alias("Accordé (toutes années)"),
    )


def most_funded_note(total: int) -> str | None:
    """Under a committee table cut at `TABLE_CAP` rows (the most funded first)."""
    return f"{_first(TABLE_CAP, total)} (les plus financés d'abord)." if total > TABLE_CAP else None


@by_content
def small_associations_chart(par_annee: pl.DataFrame) -> alt.Chart:
    """The share of the amounts that goes to associations without employees, per year
    (`small_association_summary(...)["par_annee"]`)."""
    return charts.french(
        alt.Chart(par_annee)
        .mark_line(point=True, color=BLUE)
        .encode(
            x=alt.X("annee:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "part:Q", title="Part", axis=alt.Axis(format=".0%", labelExpr="replace(datum.label, '%', '\u00a0%')")
            ),
            tooltip=[
                alt.Tooltip("annee:O", title="Année"),
                alt.Tooltip("part:Q", title="Part", format=".1%"),
                alt.Tooltip("petites:Q", title="Accordé aux petites associations", format=",.0f"),
            ],
        )
        .properties(height=240)
    )


def cpo_title() -> str:
    return (
        f"**Acteurs financés chaque année depuis {q.MIN_ANNEES_SANS_CPO} ans sans CPO** "
        "— candidats à une convention pluriannuelle"
    )


@by_content
def cpo_table(candidates: pl.DataFrame) -> pl.DataFrame:
    return candidates.head(TABLE_CAP).select(
        pl.col("nom").alias("Acteur"),
        pl.col("type_structure").alias("Structure"),
        pl.col("nb_annees").alias("Années financées"),
        euros("moyenne_annuelle").alias("Moyenne annuelle"),
        euros("total_accorde").alias("Total"),
    )


# --- ingénierie --------------------------------------------------------------------------------------


def team_cards(labels: dict[str, str], totals: dict[str, Any], year: int, *, publishable_only: bool) -> list[Card]:
    """The five cards of the team: `labels` are the counts of posts as this session may see them
    (nb_postes, nb_cofinances, nb_adultes_relais, nb_fonjep), `totals` is `posts_totals`."""
    return [
        Card(
            f"Postes {year}",
            labels["nb_postes"],  # ETP would give back a masked count
            delta=None if publishable_only else f"{fmt.number(totals['etp'], 1)} ETP",
            delta_color="off",
            delta_arrow="off",
        ),
        Card(
            "Adultes-relais",
            labels["nb_adultes_relais"],
            help=f"Aide de l'État de référence : {fmt.euros(q.MONTANT_ADULTE_RELAIS_2023, 2)} par poste et par an "
            "(2023).",
        ),
        Card(
            "Postes FONJEP",
            labels["nb_fonjep"],
            help=f"Aide de référence : {fmt.euros(q.MONTANT_FONJEP)} par poste et par an.",
        ),
        Card(
            f"Financements des postes {year}",
            fmt.euros_compact(totals["finance"]),
            delta=f"dont État {fmt.euros_compact(totals['finance_etat'])}",
            delta_color="off",
            delta_arrow="off",
        ),
        Card(
            "Postes cofinancés", labels["nb_cofinances"], help="Postes financés par plusieurs financeurs pour l'année."
        ),
    ]


def team_title(year: int) -> str:
    return f"L'équipe en {year}"


@by_content
def summary_table(summary: pl.DataFrame, *, publishable_only: bool) -> pl.DataFrame:
    """Posts per kind (`posts_summary`, masked for a partenaire), French headers; for a partenaire
    without ETP nor reference aid (per post, they would give back a masked count)."""
    table = summary.select(
        pl.col("type_poste").alias("Type de poste"),
        pl.col("nb_postes").alias("Postes"),
        fmt.number_expr(pl.col("etp"), 1, missing="—").alias("ETP"),
        pl.col("nb_cofinances").alias("Cofinancés"),
        euros("cout").alias("Coût connu"),
        euros("finance").alias("Financé"),
        euros("finance_etat").alias("dont État"),
        euros("montant_reference").alias("Aide de référence"),
        _percent("couverture").alias("Financé / coût"),
    )
    return table.drop("ETP", "Aide de référence") if publishable_only else table


@by_content
def posts_table(team: pl.DataFrame, year: int, names: dict[str, str]) -> pl.DataFrame:
    """The first `POSTS_CAP` posts (`posts`), contracts by name, French headers."""
    return team.head(POSTS_CAP).select(
        pl.col("type_poste").alias("Type"),
        pl.col("intitule").alias("Intitulé"),
        pl.col("employeur").alias("Employeur"),
        _contract_name("code_contrat", names).alias("Contrat"),
        pl.col("quartier").fill_null("—").alias("QPV"),
        pl.col("etp").alias("ETP"),
        _day("date_debut").alias("Début"),
        _day("date_fin").alias("Fin"),
        pl.col("niveau_responsabilite").alias("Responsabilité"),
        pl.col("elu_referent").alias("Élu référent"),
        pl.col("financeurs").alias("Financeurs"),
        euros("finance").alias(f"Financé {year}"),
    )


def posts_note(total: int) -> str | None:
    return f"{_first(POSTS_CAP, total, 'postes')} ; le téléchargement contient tout." if total > POSTS_CAP else None


@by_content
def relay_table(relay: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Adultes-relais and FONJEP posts per contract and QPV (`relay_posts_by_qpv`), French headers."""
    return relay.head(POSTS_CAP).select(
        _contract_name("code_contrat", names).alias("Contrat"),
        pl.col("quartier").alias("QPV"),
        pl.col("type_poste").alias("Type"),
        pl.col("nb_postes").alias("Postes"),
        euros("finance").alias("Financé"),
        euros("montant_reference").alias("Aide de référence"),
    )


def roadmap_title(counts: dict[str, Any]) -> str:
    late = fmt.plural(counts["nb_en_retard"], "échéance dépassée", "échéances dépassées")
    return f"**Actions de la feuille de route** — {late}"


@by_content
def roadmap_table(roadmap: pl.DataFrame) -> pl.DataFrame:
    return roadmap.head(TABLE_CAP).select(
        pl.col("libelle").alias("Action"),
        _day("date_echeance").alias("Échéance"),
        _late_or_status().alias("Statut"),
        pl.col("responsable").alias("Responsable"),
        pl.col("decision").fill_null("—").alias("Décision liée"),
    )


def decisions_title(decisions: pl.DataFrame) -> str:
    return f"**Décisions de gouvernance à suivre** — {fmt.integer(decisions.height)} ouvertes"


@by_content
def decisions_table(decisions: pl.DataFrame) -> pl.DataFrame:
    return decisions.head(TABLE_CAP).select(
        pl.col("libelle").alias("Décision"),
        _day("date_echeance").alias("Échéance"),
        _late_or_status().alias("Statut"),
        pl.col("instance").alias("Instance"),
        pl.col("responsable").alias("Responsable"),
    )
