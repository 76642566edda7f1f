"""« Actions et financements »: the figure cards, charts, alert texts and display tables the committee
sees, built from `cdv_core.queries.financements` results. Pure functions: no Streamlit, no SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt
import polars as pl

from cdv_core import charts, fmt
from cdv_core.domain import model
from cdv_core.figures.cards import Card
from cdv_core.memo import by_content

EMPTY = "Aucun financement pour cette sélection."
ALERT_CAP = 100  # rows shown in an alert's table
AMOUNT_AXIS = alt.Axis(format=",.0f", tickMinStep=1)  # whole euros: never « 0 0 1 1 » ticks
FUNDER_COLORS = [
    "#1f4e8c",
    "#6c9bd2",
    "#d62728",
    "#ff9896",
    "#2ca02c",
    "#98df8a",
    "#ff7f0e",
    "#ffbb78",
    "#9467bd",
    "#8c564b",
    "#7f7f7f",
]  # one per model.FINANCEURS, État P147 darkest
TIP = ",.0f"
_EXPRS: dict[str, Callable[..., pl.Expr]] = {"euros": fmt.euros_expr, "day": fmt.day_expr, "percent": fmt.percent_expr}


def formatted(column: str, kind: str) -> pl.Expr:
    """A column shown in French format (`cdv_core.fmt` Polars expressions), « — » when missing."""
    return _EXPRS[kind](pl.col(column), missing="—").alias(column)


@by_content
def no_amount(frame: pl.DataFrame, *columns: str) -> bool:
    """Nothing to draw: no row, or only zero / missing amounts in `columns`."""
    return frame.is_empty() or all(not (frame[c].fill_null(0) != 0).any() for c in columns)


def _yes_no(column: str) -> pl.Expr:
    return pl.when(pl.col(column)).then(pl.lit("oui")).otherwise(pl.lit("non"))


# --- selection and headline figures -------------------------------------------------------------


def periode(annee: int | None) -> str:
    return "toutes années" if annee is None else f"exercice {annee}"


def selection_caption(annee: int | None, active: int, *, by_qpv: bool) -> str:
    """`Sélection : exercice 2026, 2 filtres actifs · montants au prorata des QPV choisis`."""
    return (
        f"Sélection : {periode(annee)}"
        + (
            f", {fmt.plural(active, 'filtre')} actif" + ("s" if active > 1 else "")
            if active
            else ", aucun autre filtre"
        )
        + (" · montants au prorata des QPV choisis" if by_qpv else "")
    )


def headline_cards(counts: dict, totals: dict, hq_sum: dict, *, annee: int | None) -> list[list[Card]]:
    """The two rows of five cards (`fin.action_counts`, `fin.funding_totals`, `fin.hors_qpv_summary`)."""
    off: dict[str, Any] = {"delta_color": "off", "delta_arrow": "off"}
    share, dc_share = totals["part_cpo"], totals["part_droit_commun"]
    first = [
        Card(
            "Actions",
            fmt.integer(counts["actions"]),
            help="Actions de la sélection actives sur l'exercice (annuelles ou pluriannuelles le couvrant), "
            "hors actions refusées sauf si le filtre « Statut » les demande.",
        ),
        Card("Porteurs", fmt.integer(counts["porteurs"]), help="Structures distinctes portant ces actions."),
        Card(
            "Montant demandé",
            fmt.euros_compact(totals["demande"]),
            help=f"{fmt.euros(totals['demande'])} : somme des montants demandés aux financeurs retenus.",
        ),
        Card(
            "Montant accordé",
            fmt.euros_compact(totals["accorde"]),
            delta=f"{fmt.percent(totals['taux_accord'])} du demandé" if totals["taux_accord"] is not None else None,
            help=f"{fmt.euros(totals['accorde'])} accordés (votés) ; taux d'accord = accordé / demandé.",
            **off,
        ),
        Card(
            "Montant versé",
            fmt.euros_compact(totals["verse"]),
            delta=(
                f"{fmt.percent(totals['taux_versement'])} de l'accordé"
                if totals["taux_versement"] is not None
                else None
            ),
            help=f"{fmt.euros(totals['verse'])} versés ; taux de versement = versé / accordé.",
            **off,
        ),
    ]
    second = [
        Card(
            "Crédits P147 en CPO",
            fmt.percent(share),
            delta=f"cible ≥ {fmt.percent(model.CPO_TARGET_SHARE, 0)}" if share is not None else None,
            delta_color="normal" if totals["cpo_cible_atteinte"] else "inverse",
            help="Montants accordés par l'État (programme 147) aux actions en convention pluriannuelle "
            "d'objectifs, rapportés à l'ensemble des crédits P147 accordés (même règle que la vue d'ensemble).",
        ),
        Card(
            "Crédits spécifiques",
            fmt.euros_compact(totals["p147_accorde"]),
            delta=f"{fmt.percent(totals['part_p147'])} de l'accordé" if totals["part_p147"] is not None else None,
            help=f"{fmt.euros(totals['p147_accorde'])} accordés par l'État au titre du programme 147 "
            "(politique de la ville).",
            **off,
        ),
        Card(
            "Droit commun",
            fmt.euros_compact(totals["droit_commun_accorde"]),
            delta=f"{fmt.percent(dc_share)} de l'accordé" if dc_share is not None else None,
            help=f"{fmt.euros(totals['droit_commun_accorde'])} : tous les autres crédits accordés (État hors P147, "
            "collectivités, CAF, bailleurs, FSE+…).",
            **off,
        ),
        Card(
            "Petites associations",
            fmt.percent(totals["part_petites_assos"]),
            delta=f"{fmt.euros(totals['petites_assos_accorde'])} accordés",
            help="Part de l'accordé allant aux associations sans salarié.",
            **off,
        ),
        hors_qpv_card(hq_sum, annee=annee),
    ]
    return [first, second]


def hors_qpv_card(hq_sum: dict, *, annee: int | None) -> Card:
    """The hors-QPV cap card: one département's highest share, or how many départements are above it."""
    cap = fmt.percent(model.HORS_QPV_MAX_SHARE)
    if hq_sum["departements"] == 1:
        above = hq_sum["departements_depasse"] > 0
        which = periode(annee) if annee is not None else f"toutes années : la plus haute, {hq_sum['annee']}"
        return Card(
            "Hors QPV déclaré (P147)",
            fmt.percent(hq_sum["part"]),
            delta=(f"plafond {cap} dépassé" if above else f"plafond {cap}") if hq_sum["part"] is not None else None,
            delta_color="inverse" if above else "off",
            delta_arrow="up" if above else "off",  # a ceiling
            help=f"Part de l'enveloppe P147 du département {hq_sum['insee_dep']} accordée aux actions déclarées "
            f"hors QPV (poches de pauvreté), {which}. "
            f"Calculée sur tous les contrats du département, quels que soient les filtres : règle nationale, "
            f"au plus {cap} de l'enveloppe départementale.",
        )
    above_count = f"{fmt.integer(hq_sum['departements_depasse'])} sur {fmt.integer(hq_sum['departements'])}"
    return Card(
        "Hors QPV déclaré (P147)",
        above_count,
        delta=f"départements au-delà de {cap}",
        delta_color="inverse" if hq_sum["departements_depasse"] else "off",
        delta_arrow="off",
        help=f"Départements dont les actions déclarées hors QPV reçoivent plus de {cap} de l'enveloppe P147 "
        f"départementale ({periode(annee)}), calculé sur tous les contrats de chaque département, "
        "quels que soient les filtres. Détail dans les alertes.",
    )


def hors_qpv_selection_caption(totals: dict, hq_sum: dict) -> str | None:
    """The P147 hors QPV of the selection itself (None without P147 credits)."""
    if not totals["p147_accorde"]:
        return None
    return (
        f"Crédits P147 hors QPV **dans la sélection** : {fmt.percent(totals['part_hors_qpv'])} "
        f"({fmt.euros(totals['hors_qpv_p147_accorde'])}, dont {fmt.euros(totals['hors_qpv_declare_p147_accorde'])} "
        "déclarés hors QPV) ; le plafond se juge sur toute l'enveloppe P147 "
        + ("du département." if hq_sum["departements"] == 1 else "de chaque département.")
    )


# --- charts -------------------------------------------------------------------------------------


@by_content
def funder_year_chart(by_year: pl.DataFrame) -> alt.Chart:
    """Accordé per exercice, stacked by funder (`fin.funding_by_funder_year`)."""
    return charts.french(
        alt.Chart(by_year)
        .mark_bar()
        .encode(
            x=alt.X("annee:O", title="Exercice", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accorde:Q", title="Montant accordé (€)", axis=AMOUNT_AXIS, stack="zero"),
            color=alt.Color(
                "financeur:N",
                title="Financeur",
                sort=list(model.FINANCEURS),
                scale=alt.Scale(domain=list(model.FINANCEURS), range=FUNDER_COLORS),
            ),
            order=alt.Order("financeur:N"),
            tooltip=[
                alt.Tooltip("annee:O", title="Exercice"),
                alt.Tooltip("financeur:N", title="Financeur"),
                alt.Tooltip("accorde:Q", title="Accordé (€)", format=TIP),
                alt.Tooltip("verse:Q", title="Versé (€)", format=TIP),
            ],
        )
        .properties(height=320)
    )


@by_content
def thematique_chart(by_them: pl.DataFrame) -> alt.Chart:
    """Accordé per P147 thématique, in the query's order (`fin.funding_by_thematique`)."""
    return charts.french(
        alt.Chart(by_them)
        .mark_bar()
        .encode(
            y=alt.Y(
                "thematique_libelle:N",
                title=None,
                sort=by_them["thematique_libelle"].to_list(),
                axis=alt.Axis(labelLimit=260, labelOverlap=False),
            ),
            x=alt.X("accorde:Q", title="Montant accordé (€)", axis=AMOUNT_AXIS),
            tooltip=[
                alt.Tooltip("thematique_libelle:N", title="Thématique"),
                alt.Tooltip("actions:Q", title="Actions"),
                alt.Tooltip("demande:Q", title="Demandé (€)", format=TIP),
                alt.Tooltip("accorde:Q", title="Accordé (€)", format=TIP),
                alt.Tooltip("verse:Q", title="Versé (€)", format=TIP),
            ],
        )
        .properties(height=max(220, 24 * by_them.height))
    )


@by_content
def funnel_chart(totals: dict) -> alt.LayerChart | None:
    """Demandé → accordé → versé bars, each labelled with its amount and its rate to the step before
    (None when all three are zero)."""
    steps = ["Demandé", "Accordé", "Versé"]
    amounts = [totals["demande"], totals["accorde"], totals["verse"]]
    if not any(amounts):
        return None
    funnel = pl.DataFrame(
        {
            "etape": steps,
            "montant": amounts,
            "taux": ["", fmt.percent(totals["taux_accord"]), fmt.percent(totals["taux_versement"])],
        }
    ).with_columns(
        pl.format(
            "{}{}",
            formatted("montant", "euros"),
            pl.when(pl.col("taux") == "").then(pl.lit("")).otherwise(" (" + pl.col("taux") + ")"),
        ).alias("etiquette")
    )
    base = alt.Chart(funnel).encode(
        y=alt.Y("etape:N", title=None, sort=steps),
        x=alt.X(
            "montant:Q", title="Montant (€)", axis=AMOUNT_AXIS, scale=alt.Scale(domain=[0, max(*amounts, 1) * 1.45])
        ),
        tooltip=[alt.Tooltip("etape:N", title="Étape"), alt.Tooltip("etiquette:N", title="Montant")],
    )
    chart = (
        base.mark_bar(color="#3b6ea8")
        + base.mark_text(align="left", dx=4, color="#1f2937").encode(text=alt.Text("etiquette:N"))
    ).properties(height=200)
    return charts.french(chart)


@by_content
def cpo_chart(cpo: pl.DataFrame) -> alt.Chart:
    """CPO accordé and versé per exercice, side by side (`fin.cpo_commitments`)."""
    cpo_long = cpo.unpivot(
        index="annee", on=["accorde", "verse"], variable_name="etape", value_name="montant"
    ).with_columns(pl.col("etape").replace_strict({"accorde": "Accordé", "verse": "Versé"}))
    return charts.french(
        alt.Chart(cpo_long)
        .mark_bar()
        .encode(
            x=alt.X("annee:O", title="Exercice", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("etape:N", sort=["Accordé", "Versé"]),
            y=alt.Y("montant:Q", title="Montant (€)", axis=AMOUNT_AXIS),
            color=alt.Color(
                "etape:N", title=None, sort=["Accordé", "Versé"], scale=alt.Scale(range=["#3b6ea8", "#8fb8de"])
            ),
            tooltip=[
                alt.Tooltip("annee:O", title="Exercice"),
                alt.Tooltip("etape:N", title="Étape"),
                alt.Tooltip("montant:Q", title="Montant (€)", format=TIP),
            ],
        )
        .properties(height=200)
    )


# --- alerts -------------------------------------------------------------------------------------

UNPAID_COLUMNS = {
    "code_action": "Code action",
    "action": "Action",
    "porteur": "Porteur",
    "financeur": "Financeur",
    "annee": "Exercice",
    "montant_accorde": "Accordé",
    "date_decision": "Décision",
    "jours_depuis_decision": "Jours depuis la décision",
}
OVERPAID_COLUMNS = {
    "code_action": "Code action",
    "action": "Action",
    "financeur": "Financeur",
    "annee": "Exercice",
    "montant_accorde": "Accordé",
    "montant_verse": "Versé",
    "ecart": "Écart",
    "porteur": "Porteur",
}
# the status and dates first: at 1280 px the table would push them out of view behind long titles
ENDED_COLUMNS = {
    "action": "Action",
    "statut": "Statut",
    "date_fin": "Fin prévue",
    "date_statut": "Dernier statut déclaré",
    "porteur": "Porteur",
    "code_action": "Code action",
}
SIRET_COLUMNS = {"porteur": "Porteur", "siret": "SIRET", "rna": "RNA", "type_structure": "Type", "actions": "Actions"}


@by_content
def alert_table(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """An alert's first `ALERT_CAP` rows, columns → French headers: amounts in euros, dates as days."""

    def shown(c: str) -> pl.Expr:
        if c.startswith("montant") or c == "ecart":
            return formatted(c, "euros")
        if c.startswith("date"):
            return formatted(c, "day")
        return pl.col(c).cast(pl.String) if c == "annee" else pl.col(c)

    return frame.head(ALERT_CAP).select([shown(c).alias(t) for c, t in columns.items()])


def alert_cap_note(frame: pl.DataFrame) -> str | None:
    return (
        f"{fmt.integer(ALERT_CAP)} premières lignes sur {fmt.integer(frame.height)}."
        if frame.height > ALERT_CAP
        else None
    )


def alert_tab_labels(*, months: int, unpaid: int, overpaid: int, ended: int, bad_siret: int, over: int) -> list[str]:
    return [
        f"Non versées après {months} mois ({fmt.integer(unpaid)})",
        f"Versé > accordé ({fmt.integer(overpaid)})",
        f"Terminées sans statut final ({fmt.integer(ended)})",
        f"SIRET invalides ({fmt.integer(bad_siret)})",
        f"Hors QPV au-delà de {fmt.percent(model.HORS_QPV_MAX_SHARE)} ({fmt.integer(over)})",
    ]


def unpaid_text(summary: dict, *, months: int) -> str:
    """The unpaid-grants alert (`fin.unpaid_summary`): what is late, or that nothing is."""
    if not summary["lignes"]:
        return f"Aucune subvention accordée restée sans versement plus de {months} mois après la décision."
    return (
        f"{fmt.plural(summary['lignes'], 'ligne de financement accordée', 'lignes de financement accordées')} "
        f"sans aucun versement {months} mois après la décision, pour {fmt.euros(summary['montant'])}."
    )


def overpaid_text(overpaid: pl.DataFrame) -> str:
    if overpaid.is_empty():
        return "Aucune ligne de financement dont le versé dépasse l'accordé."
    return (
        f"{fmt.plural(overpaid.height, 'ligne')} de financement dont le versé dépasse l'accordé, "
        f"pour {fmt.euros(float(overpaid['ecart'].sum()))} versés au-delà : à vérifier avec le financeur "
        "(trop-perçu ou accordé mal saisi)."
    )


def overpaid_export(overpaid: pl.DataFrame) -> pl.DataFrame:
    """The download of the overpaid lines: raw values, the contract first."""
    return overpaid.select(
        pl.col("code_contrat").alias("Contrat"), *[pl.col(c).alias(t) for c, t in OVERPAID_COLUMNS.items()]
    )


def ended_text(ended: pl.DataFrame) -> str:
    if ended.is_empty():
        return "Toutes les actions terminées ont un statut final déclaré."
    return (
        f"{fmt.plural(ended.height, 'action')} terminée(s) encore « accordée » ou « en cours » : "
        "déclarez-les réalisées ou abandonnées."
    )


def siret_text(bad_siret: pl.DataFrame) -> str:
    if bad_siret.is_empty():
        return "Tous les SIRET des porteurs de la sélection sont valides."
    return (
        f"{fmt.plural(bad_siret.height, 'porteur')} avec un SIRET invalide (clé de Luhn erronée) : "
        "à corriger dans la prochaine mise à jour."
    )


def hors_qpv_text(over: pl.DataFrame) -> str:
    """`over`: the rows of `fin.hors_qpv_by_departement` above the cap."""
    cap = fmt.percent(model.HORS_QPV_MAX_SHARE)
    if over.is_empty():
        return f"Aucun département ne dépasse {cap} de son enveloppe P147 pour les actions déclarées hors QPV."
    return (
        f"{fmt.plural(over['insee_dep'].n_unique(), 'département')} au-delà du plafond national de "
        f"{cap} de l'enveloppe P147 pour les actions déclarées hors QPV "
        f"({fmt.plural(over.height, 'exercice')})."
    )


def missing_link_text(hq_sum: dict) -> str | None:
    if not hq_sum["lien_manquant_accorde"]:
        return None
    return (
        f"{fmt.euros(hq_sum['lien_manquant_accorde'])} de crédits P147 vont à des actions rattachées à aucun "
        "QPV sans être déclarées hors QPV : un lien QPV manque (à compléter dans la prochaine mise à jour). "
        "Elles ne comptent pas dans le plafond ; la liste est dans les contrôles de cohérence de la vue "
        "d'ensemble."
    )


@by_content
def hors_qpv_table(hors_qpv: pl.DataFrame) -> pl.DataFrame:
    """Each département and exercice against the hors-QPV cap (`fin.hors_qpv_by_departement`)."""
    return hors_qpv.head(ALERT_CAP).select(
        pl.col("insee_dep").alias("Département"),
        pl.col("annee").cast(pl.String).alias("Exercice"),
        formatted("p147_accorde", "euros").alias("P147 accordé"),
        formatted("declare_accorde", "euros").alias("dont déclaré hors QPV"),
        formatted("part_hors_qpv", "percent").alias("Part déclarée hors QPV"),
        _yes_no("depasse").alias("Au-delà du plafond"),
        formatted("lien_manquant_accorde", "euros").alias("Sans lien QPV (à compléter)"),
    )


# --- table of actions ---------------------------------------------------------------------------


@by_content
def actions_table(rows: pl.DataFrame) -> pl.DataFrame:
    """`fin.action_rows` with French headers, the thématique with its label, typed values: the
    downloads as they are, and what `actions_display` formats for the screen."""
    thematique = pl.col("thematique") + " " + pl.col("thematique").replace_strict(model.THEMATIQUES_P147, default="?")
    return rows.select(
        pl.col("code_action").alias("Code action"),
        pl.col("libelle").alias("Action"),
        pl.col("code_contrat").alias("Contrat"),
        pl.col("porteur").alias("Porteur"),
        pl.col("type_structure").alias("Type de porteur"),
        pl.col("siret").alias("SIRET"),
        thematique.alias("Thématique"),
        pl.col("mode_financement").alias("Mode"),
        pl.col("annee_debut").alias("Année de début"),
        pl.col("annee_fin").alias("Année de fin"),
        pl.col("statut").alias("Statut"),
        pl.col("quartiers").alias("QPV"),
        pl.col("hors_qpv").alias("Hors QPV"),
        pl.col("poids").alias("Part retenue"),
        pl.col("demande").alias("Demandé (€)"),
        pl.col("accorde").alias("Accordé (€)"),
        pl.col("verse").alias("Versé (€)"),
        pl.col("financeurs").alias("Financeurs"),
        pl.col("date_decision").alias("Date de décision"),
    )


_AMOUNTS = {"Demandé (€)": "Demandé", "Accordé (€)": "Accordé", "Versé (€)": "Versé"}


@by_content
def actions_display(shown: pl.DataFrame, *, by_qpv: bool) -> pl.DataFrame:
    """`actions_table` on screen: French formats, the euros without « (€) », the part retained
    only when QPV are chosen; the status and the euros right after the action's title (at 1280 px
    the table shows about five columns) — the downloads keep `actions_table`'s order."""

    def shown_as(c: str) -> pl.Expr:
        if c in _AMOUNTS:
            return formatted(c, "euros").alias(_AMOUNTS[c])
        kinds = {"Part retenue": "percent", "Date de décision": "day"}
        if c in kinds:
            return formatted(c, kinds[c])
        if c == "Hors QPV":
            return _yes_no(c).alias(c)
        return pl.col(c).cast(pl.String) if c in ("Année de début", "Année de fin") else pl.col(c)

    columns = [c for c in shown.columns if by_qpv or c != "Part retenue"]
    first = ["Action", "Statut", "Accordé (€)", "Versé (€)"]
    return shown.select([shown_as(c) for c in first] + [shown_as(c) for c in columns if c not in first])


def actions_caption(n_rows: int, *, cap: int, sort: str, by_qpv: bool) -> str:
    return (
        (
            f"{fmt.integer(cap)} premières actions sur {fmt.integer(n_rows)} (tri : {sort.lower()}) ; "
            "le téléchargement contient toutes les lignes."
            if n_rows > cap
            else f"{fmt.plural(n_rows, 'action')} (refusées comprises) ; tri : {sort.lower()}."
        )
        + " Montants de l'exercice et des financeurs retenus"
        + (", au prorata de la part retenue dans les QPV choisis." if by_qpv else ".")
    )


# --- one action -----------------------------------------------------------------------------------


def _id(value: str | None, valid: bool | None) -> str:
    if value is None:
        return "non renseigné"
    return fmt.md(value) + ("" if valid else " (invalide)")


def action_identity(a: dict) -> tuple[str, str, str]:
    """The three Markdown columns heading an action's detail (`fin.action_detail(...)["action"]`)."""
    periode_action = (
        f"du {fmt.day(a['date_debut'])} au {fmt.day(a['date_fin'])}"
        if a["date_debut"]
        else f"{a['annee_debut']}–{a['annee_fin']}"
    )
    who = (
        f"**Porteur** : {fmt.md(a['porteur'] or '—')}  \n"
        f"**Type** : {fmt.md(a['type_structure'] or '—')}  \n"
        f"**SIRET** : {_id(a['siret'], a['siret_valide'])}  \n**RNA** : {_id(a['rna'], a['rna_valide'])}"
    )
    what = (
        f"**Contrat** : {fmt.md(a['contrat'] or a['code_contrat'])}  \n**Période** : {periode_action}  \n"
        f"**Thématique** : {fmt.md(a['thematique'])} {fmt.md(a['thematique_libelle'])}  \n"
        f"**Mode** : {fmt.md(a['mode_financement'])}"
    )
    where = (
        f"**Statut** : {fmt.md(a['statut'])}"
        + (f" (déclaré le {fmt.day(a['date_statut'])})" if a["date_statut"] else "")
        + f"  \n**Avancement** : {fmt.percent(a['avancement'], 0)}  \n"
        f"**Décision** : {fmt.day(a['date_decision'])}  \n"
        f"**Hors QPV** : {'oui (aucun QPV rattaché)' if a['hors_qpv'] else 'non'}"
        + (
            ""
            if a["hors_qpv"] == a["hors_qpv_declare"]
            else f" (déclarée {'hors QPV' if a['hors_qpv_declare'] else 'en QPV'} : à corriger)"
        )
    )
    return who, what, where


@by_content
def action_quartiers(q: pl.DataFrame) -> pl.DataFrame:
    return q.select(
        pl.col("code_qp").alias("QPV"),
        pl.col("libelle").alias("Quartier"),
        formatted("part", "percent").alias("Part déclarée"),
        formatted("part_retenue", "percent").alias("Part retenue"),
    )


@by_content
def action_objectifs(o: pl.DataFrame) -> pl.DataFrame:
    return o.select(
        pl.col("code_objectif").alias("Code"),
        pl.col("axe").alias("Axe"),
        pl.col("libelle").alias("Objectif"),
        pl.col("code_qp").fill_null("socle transversal").alias("QPV"),
    )


@by_content
def action_lines(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.select(
        pl.col("annee").cast(pl.String).alias("Exercice"),
        pl.col("financeur").alias("Financeur"),
        *[
            formatted(c, "euros").alias(t)
            for c, t in (("demande", "Demandé"), ("accorde", "Accordé"), ("verse", "Versé"))
        ],
        *[
            formatted(c, "day").alias(t)
            for c, t in (("date_demande", "Demande"), ("date_decision", "Décision"), ("date_versement", "Versement"))
        ],
    )


def status_history_note(a: dict) -> str:
    return "Historique des statuts : aucun historique enregistré — seul le dernier statut déclaré est conservé" + (
        f" ({fmt.md(a['statut'])}, le {fmt.day(a['date_statut'])})." if a["date_statut"] else "."
    )
