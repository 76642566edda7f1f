"""Rules of the 2027 actualisation readiness checklist and of milestone statuses (pure data).

The queries in `cdv_core.queries.jalons` use these parameters, and the page states the rules
from the same values, so the text shown can never drift from what is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cdv_core.domain import model

# Milestone status relative to the "données au" date.
STATUT_FAIT = "réalisé"
STATUT_RETARD = "en retard"
STATUT_A_VENIR = "à venir"
STATUTS_JALON: tuple[str, ...] = (STATUT_FAIT, STATUT_RETARD, STATUT_A_VENIR)
STATUT_COLORS: dict[str, str] = {STATUT_FAIT: "#2e7d32", STATUT_RETARD: "#c62828", STATUT_A_VENIR: "#757575"}

TIMELINE_START = date(2023, 9, 1)  # the first appels à projets are launched in autumn 2023
TIMELINE_END = date(2031, 1, 31)

# Windows of the checklist (months before the "données au" date). The COPIL and residents'
# windows equal the 12 months `queries.gouvernance.instance_cadence` counts (`tenues_12_mois`).
COPIL_WINDOW_MONTHS = 12
RESIDENTS_WINDOW_MONTHS = 12
COPIL_TYPE = "COPIL"
# A rapport annuel of year Y is due by 30 June Y+1 when no milestone gives its own date.
RAPPORT_DUE_MONTH, RAPPORT_DUE_DAY = 6, 30
# The conseils citoyens are consulted at least this many months before the rapport annuel is
# voted (décret n° 2015-1118); `queries.gouvernance.RAPPORT_DELAI_MOIS` reads it.
CONSULTATION_DELAI_MOIS = 1
RAPPORT_TYPE = "rapport annuel"
CONSULTATION_TYPE = "consultation conseils citoyens"
EVALUATION_TYPE = "évaluation"
# A planned (not yet due) evaluation counts when it is dated by the actualisation horizon.
EVALUATION_DEADLINE = model.ACTUALISATION_DEFAULT_DATE
# A contract is ready when its score reaches this share of satisfied items (all of them).
READY_SHARE = 1.0


@dataclass(frozen=True)
class Item:
    key: str
    label: str  # the question, in French
    rule: str  # how it is computed, in French ({…} filled from the parameters)
    page: str  # the title of the page that fixes it (cdv_core.ui.nav)


ITEMS: tuple[Item, ...] = (
    Item(
        "projets",
        "Chaque QPV a un projet de quartier avec des objectifs",
        "tous les QPV du contrat ont un projet de quartier enregistré et au moins un objectif rattaché au QPV.",
        "Projets de quartier",
    ),
    Item(
        "cibles",
        "Chaque objectif a une valeur de référence et une cible",
        "chaque objectif est relié à au moins un indicateur dont la valeur de référence et la valeur cible "
        "sont renseignées pour le QPV de l'objectif ; pour un objectif transversal (sans QPV), il suffit "
        "que ce soit le cas pour l'un des QPV du contrat.",
        "Indicateurs",
    ),
    Item(
        "indicateurs",
        "Indicateurs à jour",
        "chaque indicateur suivi par les objectifs du contrat a une valeur (QPV du contrat) du dernier millésime "
        "publié à la date des données, selon le rythme et le délai de publication de sa source "
        "(page « Indicateurs ») ; "
        "pour une source sans rythme connu, une valeur datée d'au plus {max_age} mois (une valeur datée "
        "d'exactement {max_age} mois est encore à jour).",
        "Mise à jour des données",
    ),
    Item(
        "rapports",
        "Rapports annuels produits",
        "pour chaque année écoulée depuis le début du contrat dont le rapport est échu (vote prévu au jalon "
        "« rapport annuel », ou à défaut le {due_day}/{due_month:02d} de l'année suivante), le rapport est "
        "produit, c'est-à-dire voté après consultation des conseils citoyens : le jalon « consultation conseils "
        "citoyens » et le jalon « rapport annuel » (vote) sont réalisés, la consultation au moins {delai_consultation} "
        "mois avant le vote (obligation « respectée » dans le tableau du rapport annuel) ; pour chaque année "
        "manquante, l'étape qui manque est indiquée.",
        "Jalons et actualisation 2027",
    ),
    Item(
        "copil",
        "COPIL réuni dans les {copil} derniers mois",
        "au moins une réunion de COPIL tenue dans les {copil} derniers mois.",
        "Gouvernance",
    ),
    Item(
        "habitants",
        "Habitants consultés dans les {residents} derniers mois",
        "au moins une réunion de conseil citoyen ou de table de quartier tenue dans les {residents} derniers mois.",
        "Gouvernance",
    ),
    Item(
        "cpo",
        "Part des CPO mesurée",
        "des crédits État P147 accordés pour l'année des données permettent de calculer la part en CPO "
        "(cible nationale ≥ {cpo_target} ; l'atteinte de la cible n'est pas exigée ici).",
        "Actions et financements",
    ),
    Item(
        "evaluation",
        "Évaluation enregistrée",
        "un jalon « évaluation » est réalisé, ou prévu d'ici le {eval_deadline} (horizon de l'actualisation) "
        "et pas encore échu (donc pas en retard).",
        "Jalons et actualisation 2027",
    ),
)
ITEM_KEYS: tuple[str, ...] = tuple(i.key for i in ITEMS)


def _params(max_age_months: int, cpo_target: float) -> dict:
    return {
        "max_age": max_age_months,
        "due_day": RAPPORT_DUE_DAY,
        "due_month": RAPPORT_DUE_MONTH,
        "delai_consultation": CONSULTATION_DELAI_MOIS,
        "copil": COPIL_WINDOW_MONTHS,
        "residents": RESIDENTS_WINDOW_MONTHS,
        "cpo_target": f"{cpo_target * 100:.0f}\u00a0%",
        "eval_deadline": EVALUATION_DEADLINE.strftime("%d/%m/%Y"),
    }


def label_text(item: Item, *, max_age_months: int, cpo_target: float) -> str:
    """The item's question in French, filled with the parameters the code uses."""
    return item.label.format(**_params(max_age_months, cpo_target))


def rule_text(item: Item, *, max_age_months: int, cpo_target: float) -> str:
    """The item's rule in French, filled with the parameters the code uses."""
    return item.rule.format(**_params(max_age_months, cpo_target))


def score_rule() -> str:
    return (
        f"Score = nombre de critères remplis ÷ {len(ITEMS)} (chaque critère compte autant). "
        "Le contrat est « prêt pour l'actualisation » quand tous les critères sont remplis."
    )
