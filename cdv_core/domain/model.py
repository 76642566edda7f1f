"""Enums and rules of the domain (DESIGN §2). The store's CHECK constraints use the same lists."""

from __future__ import annotations

from datetime import date

AXES: tuple[str, ...] = (
    "Emploi et insertion",
    "Éducation et émancipation",
    "Transition écologique",
    "Sécurité et tranquillité",
    "Cadre de vie",
    "Santé",
    "Participation citoyenne",
    "Lutte contre les discriminations",
)

THEMATIQUES_P147: dict[str, str] = {
    "1.1": "Éducation",
    "1.2": "Santé",
    "1.3": "Parentalité et droits sociaux",
    "1.4": "Culture",
    "1.5": "Lien social, citoyenneté et participation",
    "1.5a": "Jeunesse",
    "1.5b": "Sport",
    "1.6": "Lutte contre les discriminations",
    "2.1": "Emploi",
    "2.2": "Développement économique",
    "3.1": "Cadre de vie et renouvellement urbain",
    "3.2": "Tranquillité publique",
    "4.1": "Pilotage et ingénierie",
    "4.2": "Structures mutualisatrices",
}

FINANCEURS: tuple[str, ...] = (
    "État P147",
    "État droit commun",
    "commune",
    "EPCI",
    "département",
    "région",
    "CAF",
    "bailleurs",
    "FSE+",
    "Banque des territoires",
    "autres",
)
CREDITS_SPECIFIQUES = "État P147"  # everything else is droit commun

MODES_FINANCEMENT: tuple[str, ...] = ("AAP", "CPO", "subvention de fonctionnement", "investissement")
CPO_TARGET_SHARE = 0.50  # national target: at least half of the funding through CPO
HORS_QPV_MAX_SHARE = 0.025  # poches de pauvreté: at most 2.5 % of the departmental P147 envelope

TYPES_STRUCTURE: tuple[str, ...] = (
    "association sans salarié",
    "association avec salariés",
    "collectivité",
    "établissement public",
    "bailleur",
    "entreprise",
    "autre",
)
SMALL_ASSOCIATION = "association sans salarié"

STATUTS_ACTION: tuple[str, ...] = ("déposée", "accordée", "refusée", "en cours", "réalisée", "abandonnée")
STATUTS_ACTION_FUNDED: tuple[str, ...] = ("accordée", "en cours", "réalisée")
# The bilan a porteur owes for each funded exercice (compte rendu financier, issue #19): as
# received and examined by the team; a bilan due and not received has no row (« en retard »).
STATUTS_BILAN: tuple[str, ...] = ("reçu", "accepté", "à compléter")
# Shapes of a porteur's contact (regular expressions, whole value): an e-mail address, and a
# French telephone number (10 digits from 0, or +33 and 9 digits; spaces, dots or dashes between pairs).
CONTACT_EMAIL_SHAPE = r"[^@\s;,<>]+@[^@\s;,<>]+\.[A-Za-z]{2,}"
CONTACT_TELEPHONE_SHAPE = r"(?:\+33 ?|0)[1-9](?:[ .-]?[0-9]{2}){4}"

TYPES_INSTANCE: dict[str, int] = {  # type → default expected cadence, in months
    "COPIL": 12,
    "COTECH": 4,
    "comité des financeurs": 12,
    "équipe projet": 1,
    "conseil citoyen": 3,
    "table de quartier": 1,
    "revue de projet de quartier": 12,
    "autre": 12,
}
RESIDENT_BODIES: tuple[str, ...] = ("conseil citoyen", "table de quartier")

STATUTS_REUNION: tuple[str, ...] = ("prévue", "tenue", "annulée", "reportée")
STATUTS_DECISION: tuple[str, ...] = ("à faire", "en cours", "faite", "abandonnée")

TYPES_JALON: tuple[str, ...] = (
    "signature",
    "appel à projets",
    "programmation",
    "revue annuelle",
    "rapport annuel",
    "consultation conseils citoyens",
    "actualisation 2027",
    "renouvellement CPO",
    "évaluation",
    "fin du contrat",
    "autre",
)
ACTUALISATION_TYPE = "actualisation 2027"
# When a contract has no dated actualisation milestone, the legal horizon is the year 2027.
ACTUALISATION_DEFAULT_DATE = date(2027, 12, 31)

SENS_INDICATEUR: dict[str, str] = {"hausse": "hausse souhaitée", "baisse": "baisse souhaitée", "neutre": "sans sens"}
SECRET_MARKERS: dict[str, str] = {
    "nd": "non disponible",
    "ns": "non significatif",
    "s": "secret statistique",
    "so": "sans objet",
}

# Breakdowns of an indicator value (valeur_indicateur_detail, migration 0014): sexe first
# (égalité femmes-hommes is a Quartiers 2030 priority), then âge, as bands written
# « moins de 26 ans », « 26 à 49 ans », « 50 ans et plus » (ingest.clean.age_band reads the
# usual spellings: 15-24, <26, 50+, _15_24 in an INSEE variable).
DIMENSION_SEXE, DIMENSION_AGE = "sexe", "âge"
DIMENSIONS: tuple[str, ...] = (DIMENSION_SEXE, DIMENSION_AGE)
SEXES: tuple[str, ...] = ("femmes", "hommes")
AGE_BAND_PATTERN = r"^(moins de \d{1,3} ans|\d{1,3} à \d{1,3} ans|\d{1,3} ans et plus)$"

QPV_2024_PATTERN = r"^QN(\d{3}|02[AB])\d{2}[NMIC]$"
QPV_2015_PATTERN = r"^QP(\d{3}|02[AB])\d{3}$"
