"""Deterministic synthetic territories: the demo territory and a national-scale load store.

Everything is drawn with one seeded NumPy generator and assembled with Polars, table by table,
without Python loops over rows, so the national scale (~260 000 actions, ~100 000 meetings)
builds in seconds. The `demo` scale is a fictional but plausible territory in Hauts-de-France
(codes QN…8x that no real QPV uses), clearly labelled as demo data in the store meta.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from cdv_core import store
from cdv_core.domain import model

SCALES = ("demo", "national")


@dataclass(frozen=True)
class Scale:
    name: str
    years: tuple[int, ...]              # programmation years generated
    new_actions_per_qpv_year: float
    porteurs_base: int                  # porteurs per contract = base + per_qpv × QPV
    porteurs_per_qpv: int
    n_indicators: int
    value_years: tuple[int, ...]
    reference_date: date                # the "données au" date of the generated data
    meetings_until: date


DEMO = Scale("demo", (2024, 2025, 2026), 10.0, 6, 5, 14, tuple(range(2016, 2026)),
             date(2026, 11, 15), date(2027, 6, 30))
NATIONAL = Scale("national", tuple(range(2024, 2031)), 25.0, 4, 6, 30, tuple(range(2016, 2026)),
                 date(2026, 11, 15), date(2030, 12, 31))

# --- vocabulary (reference/vocabulaire.md), fictional names only -----------------------------

_DEMO_CONTRATS = [
    # code, libellé, signataire, siren, dep, signature, signataires
    ("CV-DEMO-VERM", "Contrat de ville de la CA du Pays de Vermandie (démo)", "EPCI", "200099011", "02",
     date(2024, 3, 29), "Préfet de l'Aisne ; CA du Pays de Vermandie ; Ville de Saint-Aubin-en-Vermandie ; CAF ; Département ; Région ; Vermandie Habitat"),
    ("CV-DEMO-BRE", "Contrat de ville de la CA de la Vallée de la Brêche (démo)", "EPCI", "200099029", "60",
     date(2024, 6, 27), "Préfet de l'Oise ; CA de la Vallée de la Brêche ; Villes de Brêcheville et Saint-Just-la-Forêt ; CAF ; Oise Logis"),
    ("CV-DEMO-MONT", "Contrat de ville de Montval-sur-Somme (démo)", "commune", "219999017", "80",
     date(2024, 12, 18), "Préfet de la Somme ; Ville de Montval-sur-Somme ; CAF de la Somme ; Somme Habitat Social"),
]
_DEMO_QUARTIERS = [
    # code, libellé, contrat, insee_com, commune, population, lon, lat, contour?
    ("QN00281M", "Les Hauts de Vermandie", "CV-DEMO-VERM", "02991", "Saint-Aubin-en-Vermandie", 6840, 3.2710, 49.8580, True),
    ("QN00282M", "Faubourg d'Isle - Chemin Vert", "CV-DEMO-VERM", "02991", "Saint-Aubin-en-Vermandie", 3120, 3.3000, 49.8370, True),
    ("QN00283M", "Cité des Provinces", "CV-DEMO-VERM", "02991", "Saint-Aubin-en-Vermandie", 2210, 3.2480, 49.8450, True),
    ("QN00284N", "Le Vieux Port - Les Coquelicots", "CV-DEMO-VERM", "02992", "Hollery-sur-Somme", 1460, 3.3520, 49.8010, True),
    ("QN00285M", "Europe - Beaulieu", "CV-DEMO-VERM", "02993", "Fresnoy-la-Vermandie", 1890, 3.2150, 49.8900, True),
    ("QN00286N", "Résidence du Moulin", "CV-DEMO-VERM", "02994", "Gauchy-le-Bas", 1050, 3.2890, 49.8120, True),
    ("QN06081M", "Les Rouliers - Plateau", "CV-DEMO-BRE", "60991", "Brêcheville", 7420, 2.4700, 49.2650, True),
    ("QN06082M", "Gournay - Les Cavées", "CV-DEMO-BRE", "60991", "Brêcheville", 2980, 2.4880, 49.2560, True),
    ("QN06083N", "Les Hauts de Nogent", "CV-DEMO-BRE", "60992", "Saint-Just-la-Forêt", 1740, 2.4420, 49.2800, True),
    ("QN06084M", "La Roseraie", "CV-DEMO-BRE", "60992", "Saint-Just-la-Forêt", 1310, 2.4250, 49.2720, True),
    ("QN08081M", "Étouvie - Saint-Maurice", "CV-DEMO-MONT", "80991", "Montval-sur-Somme", 4210, 2.2650, 49.9100, False),
    ("QN08082M", "Pierre Rollin", "CV-DEMO-MONT", "80991", "Montval-sur-Somme", 2030, 2.3150, 49.8800, False),
]
_DEP_REGION = {"02": "32", "60": "32", "80": "32"}
# The demo QPV without a validated projet de quartier (drives the "missing data" alert).
_DEMO_QPV_WITHOUT_PROJET = "QN08082M"

_ENJEUX = {
    "Emploi et insertion": ("Chômage et inactivité élevés, surtout chez les femmes",
                            ["Aller vers les publics invisibles", "Lever les freins à l'emploi (mobilité, garde, langue)",
                             "Rapprocher le service public de l'emploi du quartier", "Favoriser l'emploi des femmes"]),
    "Éducation et émancipation": ("Retard scolaire, décrochage et orientation subie",
                                  ["Accompagner la scolarité hors temps scolaire", "Prévenir le décrochage scolaire",
                                   "Renforcer le langage dès la petite enfance", "Associer les parents à l'école"]),
    "Transition écologique": ("Précarité énergétique, îlots de chaleur et précarité alimentaire",
                              ["Réduire la précarité énergétique", "Végétaliser et créer des îlots de fraîcheur",
                               "Rendre accessible une alimentation durable"]),
    "Sécurité et tranquillité": ("Occupation des halls, trafics et sentiment d'insécurité",
                                 ["Renforcer la présence humaine (médiation)", "Prévenir la délinquance des jeunes",
                                  "Lutter contre les violences intrafamiliales"]),
    "Cadre de vie": ("Dégradations, propreté et chantiers de renouvellement urbain",
                     ["Renforcer la gestion urbaine et sociale de proximité", "Accompagner les habitants pendant le renouvellement urbain",
                      "Améliorer la propreté et la gestion des déchets"]),
    "Santé": ("Offre de soins faible, renoncement aux soins, santé mentale",
              ["Faciliter l'accès aux droits et aux soins", "Agir sur la santé mentale des jeunes",
               "Promouvoir alimentation et activité physique"]),
    "Participation citoyenne": ("Essoufflement des instances d'habitants",
                                ["Faire vivre le conseil citoyen", "Soutenir les initiatives d'habitants",
                                 "Associer les habitants au suivi du contrat"]),
    "Lutte contre les discriminations": ("Discriminations à l'embauche et au logement",
                                         ["Sensibiliser employeurs et bailleurs", "Former les acteurs à la laïcité",
                                          "Garantir la place des femmes dans l'espace public"]),
}

# thématique → (axe, weight, action titles, typical structure types)
_THEMES = {
    "1.1": ("Éducation et émancipation", 16, ["Accompagnement à la scolarité (CLAS)", "Programme de réussite éducative",
                                              "Coup de pouce lecture CP", "Mentorat et ambition scolaire",
                                              "Ateliers sciences et codage", "Aide aux devoirs par des étudiants"]),
    "1.2": ("Santé", 7, ["Médiation santé et ouverture des droits", "Point écoute santé mentale jeunes et parents",
                         "Activité physique adaptée", "Ateliers cuisine « bien manger »"]),
    "1.3": ("Éducation et émancipation", 8, ["Lieu d'accueil enfants-parents", "Café des parents",
                                             "Permanence d'accès aux droits", "Ateliers sociolinguistiques (ASL)"]),
    "1.4": ("Participation citoyenne", 7, ["Résidence d'artistes avec les habitants", "Sorties culturelles familles",
                                           "Orchestre à l'école", "Web radio jeunes"]),
    "1.5": ("Participation citoyenne", 12, ["Fête de quartier", "Accompagnement du conseil citoyen",
                                            "Fonds de participation des habitants", "Animation d'une table de quartier"]),
    "1.5a": ("Éducation et émancipation", 6, ["Accueil jeunes en soirée", "Bourse aux projets de jeunes", "BAFA citoyen"]),
    "1.5b": ("Santé", 5, ["Sport au féminin", "Boxe éducative et citoyenneté", "Apprendre à nager"]),
    "1.6": ("Lutte contre les discriminations", 3, ["Formation laïcité et valeurs de la République",
                                                    "Marche exploratoire de femmes", "Sensibilisation des employeurs"]),
    "2.1": ("Emploi et insertion", 14, ["Accompagnement renforcé vers l'emploi « aller vers »",
                                        "Permanence emploi en pied d'immeuble", "Chantier d'insertion espaces verts",
                                        "Français à visée professionnelle", "Levée des freins mobilité et garde"]),
    "2.2": ("Emploi et insertion", 3, ["Sensibilisation à l'entrepreneuriat", "Couveuse d'activités de quartier"]),
    "3.1": ("Cadre de vie", 8, ["Diagnostics en marchant et suivi GUSP", "Jardin partagé en pied d'immeuble",
                                "Repair café et atelier vélo", "Accompagnement social au relogement"]),
    "3.2": ("Sécurité et tranquillité", 6, ["Médiation sociale de jour et de soirée", "Présence éducative de rue",
                                            "Ville Vie Vacances 11-18 ans", "Chantiers éducatifs jeunes"]),
    "4.1": (None, 3, ["Coordination du contrat de ville", "Observatoire et évaluation"]),
    "4.2": (None, 2, ["Centre de ressources mutualisé", "Plateforme associative mutualisée"]),
}

_PORTEUR_TYPES = [  # type, weight, amount factor, name templates
    ("association sans salarié", 22, 0.35, ["Amicale des locataires {q}", "Collectif d'habitants {q}", "Association des mamans de {q}",
                                            "Les Jardins de {q}", "Écrivains publics de {c}"]),
    ("association avec salariés", 45, 1.0, ["Centre social {q}", "Maison de quartier {q}", "{c} Médiation", "Régie de quartier {q}",
                                            "{c} Insertion", "Compagnie des Deux Rives", "Club de boxe de {c}", "MJC {q}",
                                            "Épicerie solidaire de {c}", "Espace de vie sociale {q}"]),
    ("collectivité", 14, 2.4, ["Ville de {c}", "CCAS de {c}", "Caisse des écoles de {c}"]),
    ("établissement public", 8, 1.4, ["Collège Jean-Moulin de {c}", "Mission locale du bassin de {c}", "Lycée professionnel de {c}"]),
    ("bailleur", 6, 1.6, ["{c} Habitat", "Office public de l'habitat de {c}"]),
    ("entreprise", 3, 0.8, ["SCOP Ateliers de {c}", "Entreprise d'insertion {c} Services"]),
    ("autre", 2, 0.6, ["Fondation locale de {c}"]),
]

_FUNDERS = [  # financeur, probability on an action-year, amount factor vs the P147 line
    ("État P147", 0.88, 1.0), ("commune", 0.55, 0.9), ("EPCI", 0.35, 0.7), ("CAF", 0.20, 0.5),
    ("département", 0.15, 0.5), ("région", 0.08, 0.6), ("État droit commun", 0.15, 0.8),
    ("bailleurs", 0.07, 0.6), ("FSE+", 0.03, 1.5), ("Banque des territoires", 0.02, 2.0), ("autres", 0.05, 0.3),
]

# code, libellé, unité, sens, source, axe, QPV level, reference level, agrégation
_INDICATORS = [
    ("PAUV", "Taux de pauvreté (seuil à 60 %)", "%", "baisse", "Insee Filosofi", "Emploi et insertion", 44.0, 15.0),
    ("REVMED", "Revenu disponible médian par unité de consommation", "€", "hausse", "Insee Filosofi", "Emploi et insertion", 12900.0, 22000.0),
    ("CHOM", "Taux de chômage des 15-64 ans", "%", "baisse", "Insee EEC / ONPV", "Emploi et insertion", 18.3, 7.5),
    ("EMPL", "Taux d'emploi des 15-64 ans", "%", "hausse", "ONPV", "Emploi et insertion", 48.2, 65.0),
    ("EMPLF", "Taux d'emploi des femmes 15-64 ans", "%", "hausse", "Insee RP", "Lutte contre les discriminations", 40.0, 62.0),
    ("NEET", "Jeunes ni en emploi ni en formation", "%", "baisse", "ONPV", "Éducation et émancipation", 36.0, 17.0),
    ("RET6", "Élèves de 6e en retard", "%", "baisse", "DEPP", "Éducation et émancipation", 24.0, 9.0),
    ("DNB", "Taux de réussite au diplôme national du brevet", "%", "hausse", "DEPP", "Éducation et émancipation", 75.0, 87.0),
    ("MEDG", "Médecins généralistes pour 10 000 habitants", "pour 10 000 hab.", "hausse", "RPPS", "Santé", 5.5, 8.5),
    ("C2S", "Bénéficiaires de la complémentaire santé solidaire", "%", "baisse", "CNAM", "Santé", 30.0, 10.0),
    ("CHAL", "Habitants ayant souffert de la chaleur l'été", "%", "baisse", "Enquête habitants", "Transition écologique", 70.0, 56.0),
    ("DEFM", "Demandeurs d'emploi de catégorie A, B, C", "nb", "baisse", "France Travail", "Emploi et insertion", 360.0, None),
    ("CCREU", "Réunions du conseil citoyen dans l'année", "nb", "hausse", "Équipe projet", "Participation citoyenne", 6.0, None),
    ("INSEC", "Sentiment d'insécurité dans le quartier", "%", "baisse", "Enquête habitants", "Sécurité et tranquillité", 38.0, 21.0),
    ("LOGSOC", "Logements sociaux parmi les résidences principales", "%", "neutre", "RPLS", "Cadre de vie", 75.0, 25.0),
    ("CHOMJ", "Taux de chômage des 15-29 ans", "%", "baisse", "ONPV", "Emploi et insertion", 28.6, 12.0),
    ("INACT", "Inactifs parmi les 15-64 ans", "%", "baisse", "ONPV", "Emploi et insertion", 41.0, 25.8),
    ("HALO", "Chômage et halo autour du chômage", "%", "baisse", "ONPV", "Emploi et insertion", 19.5, 9.9),
    ("PREC", "Emplois précaires parmi les emplois", "%", "baisse", "Insee RP", "Emploi et insertion", 25.0, 15.0),
    ("DELD", "Demandeurs d'emploi de longue durée", "%", "baisse", "France Travail", "Emploi et insertion", 52.0, 48.0),
    ("IMPOS", "Ménages fiscaux imposés", "%", "hausse", "Insee Filosofi", "Emploi et insertion", 24.0, 50.0),
    ("COLDEF", "Collégiens d'origine sociale défavorisée", "%", "neutre", "DEPP", "Éducation et émancipation", 63.0, 32.0),
    ("MONOP", "Familles monoparentales parmi les ménages", "%", "neutre", "Insee RP", "Participation citoyenne", 17.0, 10.0),
    ("MOINS25", "Habitants de moins de 25 ans", "%", "neutre", "Insee RP", "Éducation et émancipation", 39.0, 30.0),
    ("DENT", "Chirurgiens-dentistes pour 10 000 habitants", "pour 10 000 hab.", "hausse", "RPPS", "Santé", 2.4, 6.0),
    ("ETAB", "Établissements économiques pour 1 000 habitants", "pour 1 000 hab.", "hausse", "SIRENE", "Emploi et insertion", 38.0, 60.0),
    ("QPVPUB", "Public bénéficiaire résidant en QPV", "%", "hausse", "Bilans des actions", "Participation citoyenne", 62.0, None),
    ("FILLES", "Filles et femmes parmi les bénéficiaires", "%", "hausse", "Bilans des actions", "Lutte contre les discriminations", 41.0, None),
    ("CRF", "Bilans financiers reçus à 6 mois", "%", "hausse", "Dauphin", "Participation citoyenne", 80.0, 100.0),
    ("DELAI", "Délai entre dépôt et notification", "jours", "baisse", "Dauphin", "Participation citoyenne", 120.0, None),
]

_INSTANCES_CONTRAT = [  # type, libellé, cadence, participants (lo, hi), habitants (lo, hi)
    ("COPIL", "Comité de pilotage", 12, (25, 60), (2, 6)),
    ("COTECH", "Comité technique", 4, (10, 25), (0, 2)),
    ("comité des financeurs", "Comité des financeurs", 12, (8, 15), (0, 0)),
    ("équipe projet", "Équipe projet", 1, (2, 8), (0, 0)),
]
_INSTANCES_QPV = [
    ("conseil citoyen", "Conseil citoyen", 3, (10, 25), (6, 12), 1.0),
    ("table de quartier", "Table de quartier", 1, (10, 30), (8, 25), 0.3),
    ("revue de projet de quartier", "Revue de projet de quartier", 12, (8, 15), (2, 5), 0.6),
]
_DECISIONS = ["Lancer l'appel à projets avec les priorités validées", "Réorienter les crédits vers la santé mentale",
              "Organiser un diagnostic en marchant", "Relancer les porteurs sans bilan financier",
              "Préparer la revue annuelle des indicateurs", "Ouvrir une CPO pour la médiation sociale",
              "Associer le conseil citoyen au rapport annuel", "Mettre à jour le tableau de bord des indicateurs",
              "Étudier le renforcement des permanences emploi", "Instruire les demandes de subvention reçues"]
_OWNERS = ["Chef de projet politique de la ville", "Délégué(e) du préfet", "Direction de l'éducation",
           "CCAS", "Bailleur social", "Service des sports", "Chargé(e) de mission emploi", "DDETS"]


# --- helpers --------------------------------------------------------------------------------

def _choice(rng: np.random.Generator, values, n: int, weights=None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _as_date(days: np.ndarray | pl.Series) -> pl.Series:
    return pl.Series(np.asarray(days, dtype="int64")).cast(pl.Int32).cast(pl.Date)


def luhn_check_digit(digits: np.ndarray) -> np.ndarray:
    """Luhn check digit for each row of an (n, k) array of digits (vectorised)."""
    k = digits.shape[1]
    # Positions counted from the right of the final number (check digit at position 0).
    doubled = ((k - np.arange(k)) % 2) == 1
    d = digits.copy()
    d[:, doubled] *= 2
    d[d > 9] -= 9
    return (10 - d.sum(axis=1) % 10) % 10


def _sirets(rng: np.random.Generator, n: int, invalid_share: float) -> np.ndarray:
    body = rng.integers(0, 10, size=(n, 13))
    body[:, 0] = rng.integers(1, 10, size=n)
    check = luhn_check_digit(body)
    bad = rng.random(n) < invalid_share
    check = np.where(bad, (check + 1 + rng.integers(0, 8, size=n)) % 10, check)
    digits = np.concatenate([body, check[:, None]], axis=1)
    return pl.DataFrame(digits.astype(str)).select(pl.concat_str(pl.all())).to_series()


def _hex_contour(lon: float, lat: float, radius_km: float, wobble: np.ndarray) -> str:
    points = []
    for i, w in enumerate(wobble):
        angle = 2 * math.pi * i / len(wobble)
        r = radius_km * (0.8 + 0.4 * w)
        points.append([round(float(lon + r / (111.3 * math.cos(math.radians(lat))) * math.cos(angle)), 5),
                       round(float(lat + r / 111.3 * math.sin(angle)), 5)])
    points.append(points[0])
    return json.dumps({"type": "Polygon", "coordinates": [points]})


# --- territory ------------------------------------------------------------------------------

def _demo_territory(rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    contrats = pl.DataFrame(
        {
            "code_contrat": [c[0] for c in _DEMO_CONTRATS],
            "libelle": [c[1] for c in _DEMO_CONTRATS],
            "type_signataire": [c[2] for c in _DEMO_CONTRATS],
            "siren_signataire": [c[3] for c in _DEMO_CONTRATS],
            "insee_dep": [c[4] for c in _DEMO_CONTRATS],
            "insee_reg": [_DEP_REGION[c[4]] for c in _DEMO_CONTRATS],
            "territoire": ["hexagone"] * 3,
            "date_signature": [c[5] for c in _DEMO_CONTRATS],
            "date_debut": [date(2024, 1, 1)] * 3,
            "date_fin": [date(2030, 12, 31)] * 3,
            "signataires": [c[6] for c in _DEMO_CONTRATS],
        }
    )
    contours = [
        _hex_contour(q[6], q[7], 0.25 + 0.35 * math.sqrt(q[5] / 7000), rng.random(10)) if q[8] else None
        for q in _DEMO_QUARTIERS
    ]
    siren_by_contract = {c[0]: c[3] for c in _DEMO_CONTRATS}
    quartiers = pl.DataFrame(
        {
            "code_qp": [q[0] for q in _DEMO_QUARTIERS],
            "libelle": [q[1] for q in _DEMO_QUARTIERS],
            "code_contrat": [q[2] for q in _DEMO_QUARTIERS],
            "insee_dep": [q[0][2:5].lstrip("0").zfill(2) for q in _DEMO_QUARTIERS],
            "insee_com": [q[3] for q in _DEMO_QUARTIERS],
            "lib_com": [q[4] for q in _DEMO_QUARTIERS],
            "communes": [q[3] for q in _DEMO_QUARTIERS],
            "siren_epci": [siren_by_contract[q[2]] for q in _DEMO_QUARTIERS],
            "population": [q[5] for q in _DEMO_QUARTIERS],
            "longitude": [q[6] for q in _DEMO_QUARTIERS],
            "latitude": [q[7] for q in _DEMO_QUARTIERS],
            "contour": contours,
        }
    )
    return contrats, quartiers


def _national_territory(rng: np.random.Generator, n_contracts: int = 400) -> tuple[pl.DataFrame, pl.DataFrame]:
    deps = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
    contract_dep = np.array(deps, dtype=object)[np.arange(n_contracts) % len(deps)]
    outre_mer = np.array([len(d) == 3 for d in contract_dep])
    n_qpv = np.clip(np.ceil(rng.lognormal(math.log(2.2), 1.1, n_contracts)), 1, 30).astype(int)
    idx = np.arange(n_contracts)
    number = pl.Series(idx + 1).cast(pl.String)
    contrats = pl.DataFrame(
        {
            "code_contrat": "CV" + number.str.zfill(4),
            "libelle": pl.DataFrame({"n": number, "d": pl.Series(contract_dep, dtype=pl.String)}).select(
                pl.format("Contrat de ville n° {} (dép. {})", "n", "d")).to_series(),
            "type_signataire": np.where(rng.random(n_contracts) < 0.85, "EPCI", "commune"),
            "siren_signataire": "2" + pl.Series(idx).cast(pl.String).str.zfill(8),
            "insee_dep": contract_dep,
            "insee_reg": ["00"] * n_contracts,
            "territoire": np.where(outre_mer, "outre-mer", "hexagone"),
            "date_signature": _as_date(np.where(outre_mer, _days(date(2025, 6, 30)), _days(date(2024, 3, 31)))
                                       - rng.integers(0, 120, n_contracts)),
            "date_debut": _as_date(np.where(outre_mer, _days(date(2025, 1, 1)), _days(date(2024, 1, 1)))),
            "date_fin": [date(2030, 12, 31)] * n_contracts,
            "signataires": ["Préfet ; EPCI ; communes ; CAF"] * n_contracts,
        }
    )
    q_contract = np.repeat(idx, n_qpv)
    n = len(q_contract)
    dep = contract_dep[q_contract]
    rank_in_dep = pl.DataFrame({"dep": dep}).with_row_index().select(
        pl.col("index").rank("ordinal").over("dep").cast(pl.Int64)).to_series().to_numpy()
    rank_in_dep = np.clip(rank_in_dep, 1, 99)
    center_lon = (-1.5 + 8.0 * rng.random(n_contracts))[q_contract]
    center_lat = (43.3 + 6.5 * rng.random(n_contracts))[q_contract]
    parts = pl.DataFrame({
        "dep": pl.Series(dep, dtype=pl.String), "rang": pl.Series(rank_in_dep).cast(pl.String),
        "lettre": pl.Series(_choice(rng, ["M", "N", "I"], n, [6, 3, 1]), dtype=pl.String),
        "c": pl.Series(q_contract + 1).cast(pl.String), "com": pl.Series(500 + q_contract % 400).cast(pl.String),
    }).select(
        pl.format("QN{}{}{}", pl.col("dep").str.zfill(3), pl.col("rang").str.zfill(2), "lettre").alias("code_qp"),
        pl.format("Quartier {} du contrat {}", "rang", "c").alias("libelle"),
        pl.format("{}{}", pl.col("dep").str.zfill(2).str.slice(0, 2), pl.col("com").str.zfill(3)).alias("insee_com"),
        pl.format("Commune {}", "c").alias("lib_com"),
    )
    quartiers = pl.DataFrame(
        {
            "code_qp": parts["code_qp"],
            "libelle": parts["libelle"],
            "code_contrat": contrats["code_contrat"].to_numpy()[q_contract],
            "insee_dep": dep,
            "insee_com": parts["insee_com"],
            "lib_com": parts["lib_com"],
            "communes": None,
            "siren_epci": contrats["siren_signataire"].to_numpy()[q_contract],
            "population": np.clip(rng.lognormal(math.log(2300), 0.85, n), 1000, 30000).astype(int),
            "longitude": center_lon + rng.normal(0, 0.03, n),
            "latitude": center_lat + rng.normal(0, 0.02, n),
            "contour": None,
        }
    )
    quartiers = quartiers.unique("code_qp", keep="first", maintain_order=True)
    quartiers = quartiers.with_columns(pl.col("communes").fill_null(pl.col("insee_com")).cast(pl.String),
                                       pl.col("contour").cast(pl.String))
    return contrats, quartiers


# --- projets, objectifs ---------------------------------------------------------------------

def _projets_objectifs(rng, contrats: pl.DataFrame, quartiers: pl.DataFrame, scale: Scale):
    axes = np.array(model.AXES, dtype=object)
    nq = quartiers.height
    order = np.argsort(rng.random((nq, len(axes))), axis=1)
    k = rng.integers(3, 6, nq)
    keep = np.arange(len(axes))[None, :] < k[:, None]
    qi, pos = np.nonzero(keep)
    obj_q = pl.DataFrame({"code_qp": quartiers["code_qp"].to_numpy()[qi],
                          "code_contrat": quartiers["code_contrat"].to_numpy()[qi],
                          "axe": axes[order[qi, pos]], "rang": pos + 1})
    nc = contrats.height
    order_c = np.argsort(rng.random((nc, len(axes))), axis=1)[:, :3]
    ci = np.repeat(np.arange(nc), 3)
    obj_t = pl.DataFrame({"code_qp": pl.Series([None] * (nc * 3), dtype=pl.String),
                          "code_contrat": contrats["code_contrat"].to_numpy()[ci],
                          "axe": axes[order_c.ravel()], "rang": np.tile(np.arange(1, 4), nc)})
    obj = pl.concat([obj_q, obj_t])
    labels = pl.DataFrame([(a, i, lab) for a, (_, labs) in _ENJEUX.items() for i, lab in enumerate(labs)],
                          schema=["axe", "i", "libelle"], orient="row")
    n_labels = labels.group_by("axe").agg(pl.len().alias("n_lab"))
    obj = (obj.with_columns(pl.Series("u", rng.random(obj.height)))
              .join(n_labels, on="axe")
              .with_columns((pl.col("u") * pl.col("n_lab")).floor().cast(pl.Int64).alias("i"))
              .join(labels, on=["axe", "i"])
              .with_columns(
                  pl.concat_str([pl.lit("OBJ-"), pl.col("code_qp").fill_null(pl.col("code_contrat") + "-T"),
                                 pl.lit("-"), pl.col("rang").cast(pl.String)]).alias("code_objectif"),
                  pl.lit(date(2024, 3, 1)).alias("date_creation"))
              .select("code_objectif", "code_contrat", "code_qp", "axe", "libelle", "date_creation")
              .sort("code_objectif"))
    enjeux = {a: e for a, (e, _) in _ENJEUX.items()}
    projets = (obj.filter(pl.col("code_qp").is_not_null())
                  .group_by("code_qp", "code_contrat")
                  .agg(pl.col("axe").sort().alias("axes"))
                  .join(quartiers.select("code_qp", pl.col("libelle").alias("lib_qp")), on="code_qp")
                  .with_columns(
                      ("Projet de quartier " + pl.col("lib_qp")).alias("libelle"),
                      pl.col("axes").list.eval(pl.element().replace_strict(enjeux)).list.join(" ; ").alias("enjeux"),
                      pl.lit(date(2024, 6, 30)).alias("date_validation"))
                  .select("code_qp", "code_contrat", "libelle", "enjeux", "date_validation")
                  .sort("code_qp"))
    if scale.name == "demo":
        projets = projets.filter(pl.col("code_qp") != _DEMO_QPV_WITHOUT_PROJET)
        obj = obj.filter(pl.col("code_qp").is_null() | (pl.col("code_qp") != _DEMO_QPV_WITHOUT_PROJET))
    return projets, obj


# --- porteurs, actions, financements --------------------------------------------------------

def _porteurs(rng, contrats: pl.DataFrame, quartiers: pl.DataFrame, scale: Scale) -> pl.DataFrame:
    per_contract = quartiers.group_by("code_contrat").agg(pl.len().alias("nq"), pl.col("libelle").first().alias("q"),
                                                          pl.col("lib_com").first().alias("c"))
    per_contract = contrats.select("code_contrat").join(per_contract, on="code_contrat").sort("code_contrat")
    counts = scale.porteurs_base + scale.porteurs_per_qpv * per_contract["nq"].to_numpy()
    ci = np.repeat(np.arange(per_contract.height), counts)
    n = len(ci)
    types = np.array([t[0] for t in _PORTEUR_TYPES], dtype=object)
    t_idx = rng.choice(len(types), size=n, p=np.array([t[1] for t in _PORTEUR_TYPES]) / 100)
    templates = pl.DataFrame([(t[0], i, tpl) for t in _PORTEUR_TYPES for i, tpl in enumerate(t[3])],
                             schema=["type_structure", "i", "tpl"], orient="row")
    n_tpl = templates.group_by("type_structure").agg(pl.len().alias("n_tpl"))
    sirets = _sirets(rng, n, invalid_share=0.02)
    has_siret = rng.random(n) < 0.93
    is_assoc = np.char.startswith(types[t_idx].astype(str), "association")
    with_rna = is_assoc & (rng.random(n) < 0.8)  # drawn first: keeps the generator's sequence
    rna_parts = pl.DataFrame({"d": rng.integers(0, 10, n), "x": _choice(rng, list("0123456789"), n).astype(str),
                              "v": rng.integers(0, 10**7, n)})
    rna = rna_parts.select(pl.when(pl.Series(with_rna))
                             .then(pl.format("W{}{}{}", "d", "x", pl.col("v").cast(pl.String).str.zfill(7)))
                             .otherwise(None)).to_series()
    frame = pl.DataFrame({
        "code_contrat": per_contract["code_contrat"].to_numpy()[ci],
        "q": per_contract["q"].to_numpy()[ci],
        "c": per_contract["c"].to_numpy()[ci],
        "type_structure": types[t_idx],
        "u": rng.random(n),
        "siret": pl.select(pl.when(pl.Series(has_siret)).then(sirets).otherwise(None)).to_series(),
        "rna": rna,
        "seq": np.arange(n),
    })
    frame = (frame.join(n_tpl, on="type_structure")
                  .with_columns((pl.col("u") * pl.col("n_tpl")).floor().cast(pl.Int64).alias("i"))
                  .join(templates, on=["type_structure", "i"])
                  .sort("seq")
                  .with_columns(
                      pl.col("tpl").str.replace("{q}", pl.col("q"), literal=True)
                        .str.replace("{c}", pl.col("c"), literal=True)
                        .str.replace(" de Les ", " des ", literal=True).str.replace(" de Le ", " du ", literal=True)
                        .str.replace(" de La ", " de la ", literal=True).alias("nom"),
                      pl.coalesce("siret", "rna", pl.format("LOC-{}", pl.col("seq"))).alias("id_porteur"))
                  # Several structures of one type in a town share a template: number the homonyms.
                  .with_columns(pl.col("seq").rank("ordinal").over("nom").alias("homonym"))
                  .with_columns(pl.when(pl.col("homonym") > 1)
                                  .then(pl.format("{} ({})", pl.col("nom"), pl.col("homonym")))
                                  .otherwise(pl.col("nom")).alias("nom"))
                  .unique("id_porteur", keep="first", maintain_order=True))
    return frame.select("id_porteur", "siret", "rna", "nom", "type_structure",
                        pl.lit(None, dtype=pl.String).alias("insee_com"), "code_contrat")


def _actions(rng, contrats, quartiers, porteurs, objectifs, scale: Scale):
    ref = scale.reference_date
    qcount = quartiers.group_by("code_contrat").agg(pl.len().alias("nq")).sort("code_contrat")
    contract_start = dict(zip(contrats["code_contrat"], contrats["date_debut"]))
    rows = []
    for year in scale.years:  # a handful of years: the loop is over years, not rows
        cpo_year = (year - scale.years[0]) % 3 == 0
        lam = scale.new_actions_per_qpv_year * qcount["nq"].to_numpy() * (1.0 if cpo_year else 0.75)
        n_new = rng.poisson(lam)
        ci = np.repeat(np.arange(qcount.height), n_new)
        codes = qcount["code_contrat"].to_numpy()[ci]
        started = np.array([contract_start[c].year <= year for c in codes], dtype=bool)
        ci, codes = ci[started], codes[started]
        n = len(ci)
        mode = _choice(rng, model.MODES_FINANCEMENT, n, [60, 26 if cpo_year else 0, 5, 2])
        span = np.where(mode == "CPO", np.minimum(3, scale.years[-1] - year + 1) if year <= 2030 else 1, 1)
        span = np.minimum(span, 2030 - year + 1)
        rows.append(pl.DataFrame({"code_contrat": codes, "annee_debut": np.full(n, year),
                                  "annee_fin": year + span - 1, "mode_financement": mode,
                                  "u_porteur": rng.random(n)}))
    actions = pl.concat(rows).with_row_index("seq")
    n = actions.height
    themes = list(_THEMES)
    thematique = _choice(rng, themes, n, [_THEMES[t][1] for t in themes])
    actions = actions.with_columns(pl.Series("thematique", thematique, dtype=pl.String),
                                   pl.Series("u_title", rng.random(n)),
                                   pl.Series("u_statut", rng.random(n)),
                                   pl.Series("u_av", rng.random(n)),
                                   pl.Series("hors_qpv", rng.random(n) < 0.025),
                                   pl.Series("n_qpv_served", np.where(rng.random(n) < 0.18, 2, 1)),
                                   pl.Series("decision_offset", rng.integers(0, 100, n)))
    # Porteur: uniform among the contract's porteurs.
    p_rank = porteurs.select("code_contrat", "id_porteur", "type_structure").with_columns(
        pl.int_range(pl.len()).over("code_contrat").alias("p_i"), pl.len().over("code_contrat").alias("p_n"))
    p_n = p_rank.group_by("code_contrat").agg(pl.col("p_n").first())
    actions = (actions.join(p_n, on="code_contrat")
                      .with_columns((pl.col("u_porteur") * pl.col("p_n")).floor().cast(pl.UInt32).alias("p_i"))
                      .join(p_rank.drop("p_n").with_columns(pl.col("p_i").cast(pl.UInt32)), on=["code_contrat", "p_i"]))
    titles = pl.DataFrame([(t, i, lab) for t, (_, _, labs) in _THEMES.items() for i, lab in enumerate(labs)],
                          schema=["thematique", "i", "titre"], orient="row")
    n_titles = titles.group_by("thematique").agg(pl.len().alias("n_t"))
    actions = (actions.join(n_titles, on="thematique")
                      .with_columns((pl.col("u_title") * pl.col("n_t")).floor().cast(pl.Int64).alias("i"))
                      .join(titles, on=["thematique", "i"])
                      .sort("seq"))
    ref_year = ref.year
    past = pl.col("annee_fin") < ref_year
    current = (pl.col("annee_debut") <= ref_year) & (pl.col("annee_fin") >= ref_year)
    u = pl.col("u_statut")
    statut = (pl.when(pl.col("annee_debut") > ref_year).then(pl.lit("déposée"))
                .when(past & (u < 0.83)).then(pl.lit("réalisée"))
                .when(past & (u < 0.87)).then(pl.lit("abandonnée"))
                .when(past & (u < 0.93)).then(pl.lit("refusée"))
                .when(past).then(pl.lit("en cours"))  # period over, no final status reported
                .when(current & (u < 0.72)).then(pl.lit("en cours"))
                .when(current & (u < 0.84)).then(pl.lit("accordée"))
                .when(current & (u < 0.90)).then(pl.lit("refusée"))
                .when(current & (u < 0.93)).then(pl.lit("abandonnée"))
                .otherwise(pl.lit("déposée")))
    elapsed = ((pl.lit(ref_year) - pl.col("annee_debut")).cast(pl.Float64) + (ref.timetuple().tm_yday / 366.0)) / (
        (pl.col("annee_fin") - pl.col("annee_debut") + 1).cast(pl.Float64))
    actions = actions.with_columns(statut.alias("statut")).with_columns(
        pl.when(pl.col("statut") == "réalisée").then(1.0)
          .when(pl.col("statut") == "en cours").then((elapsed * (0.55 + 0.6 * pl.col("u_av"))).clip(0.05, 0.98))
          .when(pl.col("statut") == "abandonnée").then((pl.col("u_av") * 0.5))
          .when(pl.col("statut") == "accordée").then(0.0)
          .otherwise(None).alias("avancement"),
        pl.concat_str([pl.lit("A-"), pl.col("code_contrat"), pl.lit("-"), pl.col("annee_debut").cast(pl.String),
                       pl.lit("-"), (pl.col("seq") + 1).cast(pl.String).str.zfill(6)]).alias("code_action"),
        pl.concat_str([pl.col("titre"), pl.lit(" "), pl.col("annee_debut").cast(pl.String),
                       pl.when(pl.col("annee_fin") > pl.col("annee_debut"))
                         .then(pl.lit("-") + pl.col("annee_fin").cast(pl.String)).otherwise(pl.lit(""))]).alias("libelle"),
        pl.date(pl.col("annee_debut"), 1, 1).alias("date_debut"),
        pl.date(pl.col("annee_fin"), 12, 31).alias("date_fin"),
        pl.when(pl.col("statut") == "déposée").then(None)
          .otherwise(pl.date(pl.col("annee_debut"), 4, 1) + pl.duration(days=pl.col("decision_offset"))).alias("date_decision"),
    ).with_columns(
        # Reported status date; actions whose period ended with no final status have none.
        pl.when(past & (pl.col("statut") == "en cours")).then(None)
          .when(pl.col("statut").is_in(["réalisée", "abandonnée"])).then(pl.date(pl.col("annee_fin") + 1, 3, 31))
          .otherwise(pl.lit(ref) - pl.duration(days=pl.col("decision_offset") % 60)).alias("date_statut"),
    ).with_columns(
        pl.when(pl.col("date_statut").is_null()).then(None).otherwise(pl.col("avancement")).alias("avancement"),
        pl.when(pl.col("date_statut") > pl.lit(ref)).then(pl.lit(ref)).otherwise(pl.col("date_statut")).alias("date_statut"),
    )

    # Action ↔ quartier: the first QPV uniformly within the contract, sometimes a second one.
    q_rank = quartiers.select("code_contrat", "code_qp").with_columns(
        pl.int_range(pl.len()).over("code_contrat").cast(pl.UInt32).alias("q_i"),
        pl.len().over("code_contrat").cast(pl.UInt32).alias("q_n"))
    q_n = q_rank.group_by("code_contrat").agg(pl.col("q_n").first())
    served = (actions.filter(~pl.col("hors_qpv"))
                     .select("code_action", "code_contrat", "n_qpv_served", "seq")
                     .join(q_n, on="code_contrat")
                     .sort("seq")  # joins do not keep row order: sort before drawing
                     .with_columns(pl.Series("u_q", rng.random(actions.filter(~pl.col("hors_qpv")).height)))
                     .with_columns((pl.col("u_q") * pl.col("q_n")).floor().cast(pl.UInt32).alias("q0")))
    first = served.with_columns(pl.col("q0").alias("q_i"), pl.lit(1).alias("k"))
    second = (served.filter((pl.col("n_qpv_served") > 1) & (pl.col("q_n") > 1))
                    .with_columns(((pl.col("q0") + 1) % pl.col("q_n")).alias("q_i"), pl.lit(2).alias("k")))
    links = pl.concat([first, second]).join(q_rank.drop("q_n"), on=["code_contrat", "q_i"])
    links = links.with_columns(pl.len().over("code_action").alias("n_links")).with_columns(
        pl.when(pl.col("n_links") == 1).then(1.0)
          .when(pl.col("k") == 1).then(0.6).otherwise(0.4).alias("part"))
    action_quartier = links.select("code_action", "code_qp", "part").sort("code_action", "code_qp")

    # Action ↔ objectif: an objective of the first QPV on the action's axe, else the first of the
    # QPV, else (hors QPV, ingénierie) a transversal objective of the contract.
    axe_of = {t: a for t, (a, _, _) in _THEMES.items()}
    first_q = links.filter(pl.col("k") == 1).select("code_action", "code_qp")
    a_axe = actions.select("code_action", "code_contrat",
                           pl.col("thematique").replace_strict(axe_of, default=None).alias("axe")).join(
        first_q, on="code_action", how="left")
    obj_q = objectifs.filter(pl.col("code_qp").is_not_null())
    obj_t = objectifs.filter(pl.col("code_qp").is_null())
    same_axe = a_axe.join(obj_q.select("code_qp", "axe", "code_objectif"), on=["code_qp", "axe"]).group_by(
        "code_action").agg(pl.col("code_objectif").min())
    any_q = a_axe.join(obj_q.select("code_qp", "code_objectif"), on="code_qp").group_by("code_action").agg(
        pl.col("code_objectif").min().alias("any_q"))
    any_t = a_axe.join(obj_t.select("code_contrat", "code_objectif"), on="code_contrat").group_by(
        "code_action").agg(pl.col("code_objectif").min().alias("any_t"))
    action_objectif = (a_axe.select("code_action", "code_qp", "axe")
                       .join(same_axe, on="code_action", how="left")
                       .join(any_q, on="code_action", how="left").join(any_t, on="code_action", how="left")
                       .select("code_action",
                               pl.when(pl.col("axe").is_null() | pl.col("code_qp").is_null())
                                 .then(pl.col("any_t"))
                                 .otherwise(pl.coalesce("code_objectif", "any_q", "any_t")).alias("code_objectif"))
                       .drop_nulls().sort("code_action"))
    return actions, action_quartier, action_objectif


def _financements(rng, actions: pl.DataFrame, scale: Scale) -> pl.DataFrame:
    ref = scale.reference_date
    type_factor = {t[0]: t[2] for t in _PORTEUR_TYPES}
    ay = (actions.select("code_action", "annee_debut", "annee_fin", "statut", "type_structure", "date_decision",
                         "mode_financement")
                 .with_columns(pl.int_ranges("annee_debut", pl.col("annee_fin") + 1).alias("annee"))
                 .explode("annee"))
    n = ay.height
    base = rng.lognormal(math.log(5200), 0.75, n) * ay["type_structure"].replace_strict(type_factor).to_numpy()
    base = np.where(ay["mode_financement"].to_numpy() == "CPO", base * 1.5, base)
    funders = np.array([f[0] for f in _FUNDERS], dtype=object)
    present = rng.random((n, len(funders))) < np.array([f[1] for f in _FUNDERS])[None, :]
    present[~present.any(axis=1), 0] = True
    ri, fi = np.nonzero(present)
    m = len(ri)
    factor = np.array([f[2] for f in _FUNDERS])[fi]
    accorde = np.round(base[ri] * factor * rng.lognormal(0, 0.3, m), -1).clip(500, None)
    demande = np.round(accorde / rng.uniform(0.72, 1.0, m), -1)
    lines = pl.DataFrame({"code_action": ay["code_action"].to_numpy()[ri], "annee": ay["annee"].to_numpy()[ri],
                          "statut": ay["statut"].to_numpy()[ri], "annee_debut": ay["annee_debut"].to_numpy()[ri],
                          "action_decision": ay["date_decision"].to_numpy()[ri],
                          "financeur": funders[fi], "demande": demande, "accorde_raw": accorde,
                          "u_paid": rng.random(m), "pay_delay": rng.integers(20, 110, m),
                          "dem_delay": rng.integers(0, 45, m), "dec_delay": rng.integers(0, 90, m)})
    refused = pl.col("statut") == "refusée"
    pending = pl.col("statut") == "déposée"
    decision = (pl.when(pending).then(None)
                  .when(pl.col("annee") == pl.col("annee_debut")).then(pl.col("action_decision"))
                  .otherwise(pl.date(pl.col("annee"), 2, 15) + pl.duration(days=pl.col("dec_delay"))))
    lines = lines.with_columns(decision.alias("date_decision")).with_columns(
        pl.when(pl.col("date_decision") > pl.lit(ref)).then(None).otherwise(pl.col("date_decision")).alias("date_decision"))
    accorde = pl.when(pending | pl.col("date_decision").is_null()).then(None).when(refused).then(0.0).otherwise(pl.col("accorde_raw"))
    payable = pl.col("date_decision").is_not_null() & (pl.col("date_decision") + pl.duration(days=pl.col("pay_delay")) <= pl.lit(ref))
    u = pl.col("u_paid")
    verse = (pl.when(pending | refused | pl.col("date_decision").is_null()).then(None)
               .when(~payable).then(0.0)
               .when(u < 0.035).then(0.0)                               # granted, never paid
               .when(u < 0.085).then((pl.col("accorde_raw") * 0.08).round(0) * 10)  # advance only
               .when(u < 0.09).then((pl.col("accorde_raw") * 0.105).round(0) * 10)  # versé > accordé (warning)
               .otherwise(pl.col("accorde_raw")))
    lines = lines.with_columns(accorde.alias("montant_accorde"), verse.alias("montant_verse")).with_columns(
        pl.col("demande").alias("montant_demande"),
        (pl.date(pl.col("annee") - 1, 11, 1) + pl.duration(days=pl.col("dem_delay"))).alias("date_demande"),
        pl.when(pl.col("montant_verse") > 0)
          .then(pl.col("date_decision") + pl.duration(days=pl.col("pay_delay"))).otherwise(None).alias("date_versement"),
    )
    return lines.select("code_action", "financeur", "annee", "montant_demande", "montant_accorde", "montant_verse",
                        "date_demande", "date_decision", "date_versement").sort("code_action", "annee", "financeur")


# --- indicators -----------------------------------------------------------------------------

def _indicateurs(rng, contrats, quartiers, objectifs, scale: Scale):
    spec = _INDICATORS[: scale.n_indicators]
    indicateur = pl.DataFrame({
        "code_indicateur": [s[0] for s in spec], "libelle": [s[1] for s in spec], "unite": [s[2] for s in spec],
        "sens": [s[3] for s in spec], "source": [s[4] for s in spec], "axe": [s[5] for s in spec],
        "agregation": ["somme" if s[2] == "nb" else "moyenne pondérée" for s in spec],
    })
    years = np.array(scale.value_years)
    nq, ni, ny = quartiers.height, len(spec), len(years)
    level = np.array([s[6] for s in spec])[None, :] * rng.lognormal(0, 0.15, (nq, ni))
    sens = np.array([{"hausse": 1, "baisse": -1, "neutre": 0}[s[3]] for s in spec])
    slope = rng.normal(0.006 * sens, 0.015, (nq, ni))  # relative change per year, mostly desired
    t = (years - years[0])[None, None, :]
    values = level[:, :, None] * (1 + slope[:, :, None] * t) * rng.lognormal(0, 0.025, (nq, ni, ny))
    is_pct = np.array([s[2] == "%" for s in spec])
    values = np.where(is_pct[None, :, None], np.clip(values, 0.5, 99.5), values)
    values = np.round(values, 1)
    secret = _choice(rng, ["s", "nd", "ns"], nq * ni * ny, [6, 3, 1]).reshape(nq, ni, ny)
    is_secret = rng.random((nq, ni, ny)) < (0.02 + 0.05 * (quartiers["population"].to_numpy() < 1500))[:, None, None]
    qi, ii, yi = np.meshgrid(np.arange(nq), np.arange(ni), np.arange(ny), indexing="ij")
    qpv_values = pl.DataFrame({
        "code_indicateur": np.array([s[0] for s in spec], dtype=object)[ii.ravel()],
        "type_territoire": "QPV",
        "code_territoire": quartiers["code_qp"].to_numpy()[qi.ravel()],
        "date_valeur": pl.Series([date(int(y), 1, 1) for y in years])[yi.ravel()],
        "valeur": np.where(is_secret, np.nan, values).ravel(),
        "secret": pl.select(pl.when(pl.Series(is_secret.ravel())).then(pl.Series(secret.ravel(), dtype=pl.String))
                              .otherwise(None)).to_series(),
    }).with_columns(pl.col("valeur").fill_nan(None))

    # Reference territories: the QPV's commune, the contract's EPCI, France.
    ref_spec = [(i, s) for i, s in enumerate(spec) if s[7] is not None]
    ref_levels = np.array([s[7] for _, s in ref_spec])
    territories = [("commune", quartiers["insee_com"].unique(maintain_order=True).to_numpy()),
                   ("EPCI", contrats["siren_signataire"].to_numpy()), ("France", np.array(["FR"], dtype=object))]
    ref_frames = []
    for ttype, codes in territories:  # three territory kinds, vectorised within each
        nt = len(codes)
        lvl = ref_levels[None, :] * rng.lognormal(0, 0.08 if ttype != "France" else 0.0, (nt, len(ref_spec)))
        tr = 1 + rng.normal(0.002, 0.004, (nt, len(ref_spec)))[:, :, None] * t
        vals = np.round(lvl[:, :, None] * tr, 1)
        # a percentage stays within [0, 100] (a brevet success rate of 87 % ± 8 % could pass 100 %)
        vals = np.where(np.array([s[2] == "%" for _, s in ref_spec])[None, :, None], np.clip(vals, 0.0, 100.0), vals)
        ti, ri_, yi2 = np.meshgrid(np.arange(nt), np.arange(len(ref_spec)), np.arange(ny), indexing="ij")
        ref_frames.append(pl.DataFrame({
            "code_indicateur": np.array([s[0] for _, s in ref_spec], dtype=object)[ri_.ravel()],
            "type_territoire": ttype, "code_territoire": codes[ti.ravel()].astype(str),
            "date_valeur": pl.Series([date(int(y), 1, 1) for y in years])[yi2.ravel()],
            "valeur": vals.ravel(), "secret": pl.Series([None] * vals.size, dtype=pl.String)}))
    valeurs = pl.concat([qpv_values, *ref_frames]).with_columns(pl.lit(f"Démonstration ({scale.name})").alias("source_fichier"))

    # Objective ↔ indicator: indicators on the objective's axe (at most two).
    obj_ind = (objectifs.select("code_objectif", "code_qp", "axe")
                        .join(indicateur.select("code_indicateur", "axe"), on="axe")
                        .sort("code_objectif", "code_indicateur")
                        .group_by("code_objectif", maintain_order=True).head(2))
    drop = rng.random(obj_ind.height) < 0.12  # some objectives lack an indicator: "missing data"
    obj_ind = obj_ind.filter(~pl.Series(drop))
    objectif_indicateur = obj_ind.select("code_objectif", "code_indicateur").unique().sort("code_objectif", "code_indicateur")

    # Baseline (the 2022 vintage, the latest known at signature) and 2030 target per QPV.
    base_year = date(2022, 1, 1) if date(2022, 1, 1) in [date(int(y), 1, 1) for y in years] else date(int(years[-1]), 1, 1)
    pairs = (obj_ind.filter(pl.col("code_qp").is_not_null()).select("code_indicateur", "code_qp").unique()
                    .sort("code_indicateur", "code_qp"))
    baseline = qpv_values.filter(pl.col("date_valeur") == base_year).select(
        "code_indicateur", pl.col("code_territoire").alias("code_qp"), pl.col("valeur").alias("valeur_reference"))
    pairs = pairs.with_columns(pl.Series("gain", rng.uniform(0.06, 0.18, pairs.height)))
    cibles = (pairs.join(baseline, on=["code_indicateur", "code_qp"], how="left")
                   .join(indicateur.select("code_indicateur", "sens", "unite"), on="code_indicateur")
                   .with_columns(
                       pl.when(pl.col("valeur_reference").is_null()).then(None).otherwise(pl.lit(base_year)).alias("date_reference"),
                       (pl.col("valeur_reference") * (1 + pl.when(pl.col("sens") == "hausse").then(pl.col("gain"))
                                                          .when(pl.col("sens") == "baisse").then(-pl.col("gain"))
                                                          .otherwise(0.0))).round(1).alias("valeur_cible"),
                       pl.lit(date(2030, 12, 31)).alias("date_cible"))
                   # a rate target stays a possible rate: 75 % + 18 % is fine, 95 % + 14 % is capped at 100 %
                   .with_columns(pl.when(pl.col("unite") == "%").then(pl.col("valeur_cible").clip(0.0, 100.0))
                                   .otherwise(pl.col("valeur_cible")).alias("valeur_cible"))
                   .select("code_indicateur", "code_qp", "valeur_reference", "date_reference", "valeur_cible", "date_cible")
                   .sort("code_indicateur", "code_qp"))
    return indicateur, valeurs, cibles, objectif_indicateur


# --- governance -----------------------------------------------------------------------------

def _gouvernance(rng, contrats, quartiers, actions, scale: Scale):
    ref = scale.reference_date
    c_rows = [(c, None, t, lab, cad, *p, *h) for c in contrats["code_contrat"] for (t, lab, cad, p, h) in _INSTANCES_CONTRAT]
    inst_c = pl.DataFrame(c_rows, schema={"code_contrat": pl.String, "code_qp": pl.String, "type_instance": pl.String,
                                          "lab": pl.String, "cadence_mois": pl.Int64, "p_lo": pl.Int64, "p_hi": pl.Int64,
                                          "h_lo": pl.Int64, "h_hi": pl.Int64}, orient="row")
    q_frames = []
    for t, lab, cad, p, h, share in _INSTANCES_QPV:
        keep = rng.random(quartiers.height) < share
        q = quartiers.filter(pl.Series(keep))
        q_frames.append(q.select("code_contrat", "code_qp", pl.lit(t).alias("type_instance"),
                                 (pl.lit(lab + " ") + pl.col("libelle")).alias("lab"),
                                 pl.lit(cad, dtype=pl.Int64).alias("cadence_mois"),
                                 pl.lit(p[0], dtype=pl.Int64).alias("p_lo"), pl.lit(p[1], dtype=pl.Int64).alias("p_hi"),
                                 pl.lit(h[0], dtype=pl.Int64).alias("h_lo"), pl.lit(h[1], dtype=pl.Int64).alias("h_hi")))
    inst = pl.concat([inst_c, *q_frames])
    inst = (inst.join(contrats.select("code_contrat", "date_debut", "libelle"), on="code_contrat")
                .with_columns(
                    pl.concat_str([pl.lit("I-"), pl.col("code_qp").fill_null(pl.col("code_contrat")), pl.lit("-"),
                                   pl.col("type_instance").replace_strict(
                                       {t: t[:4].upper().replace("É", "E").replace(" ", "") for t in model.TYPES_INSTANCE})
                                   ]).alias("code_instance"),
                    pl.when(pl.col("code_qp").is_null())
                      .then(pl.col("lab") + pl.lit(" — ") + pl.col("libelle").str.replace(r"^Contrat de ville (de la |de |du )?", ""))
                      .otherwise(pl.col("lab")).alias("libelle_instance"),
                    pl.col("date_debut").alias("date_creation"))
                .sort("code_instance"))
    ni = inst.height
    # Some instances stop meeting: they are the late ones (at least one in the demo).
    stop_late = rng.random(ni) < 0.15
    if scale.name == "demo":
        stop_late[inst["type_instance"].to_numpy() == "COTECH"] = False
        stop_late[np.flatnonzero(inst["type_instance"].to_numpy() == "COTECH")[-1]] = True
    cad = inst["cadence_mois"].to_numpy()
    stop_days = np.where(stop_late, _days(ref) - (cad * 30.4 + 60 + rng.integers(30, 200, ni)).astype(int), 10**6)
    start = inst["date_creation"].cast(pl.Int32).to_numpy().astype(np.int64) + rng.integers(10, 60, ni)
    horizon = _days(scale.meetings_until)
    n_slots = np.maximum(1, ((horizon - start) / (cad * 30.44)).astype(int) + 1)
    ii = np.repeat(np.arange(ni), n_slots)
    k = pl.Series(ii).cum_count().to_numpy() - np.repeat(np.cumsum(n_slots) - n_slots, n_slots) - 1
    day = (start[ii] + (k * cad[ii] * 30.44).astype(int) + rng.integers(-10, 11, len(ii))).clip(start[ii], None)
    keep = (day <= horizon) & ((day <= stop_days[ii]) | (day > _days(ref)))
    ii, k, day = ii[keep], k[keep], day[keep]
    m = len(ii)
    u = rng.random(m)
    future = day > _days(ref)
    statut = np.where(future, "prévue", np.where(u < 0.88, "tenue", np.where(u < 0.95, "annulée", "reportée")))
    participants = rng.integers(inst["p_lo"].to_numpy()[ii], inst["p_hi"].to_numpy()[ii] + 1)
    habitants = np.minimum(rng.integers(inst["h_lo"].to_numpy()[ii], inst["h_hi"].to_numpy()[ii] + 1), participants)
    held = statut == "tenue"
    reunion = pl.DataFrame({
        "id_reunion": pl.select(pl.format("R-{}-{}", pl.Series(inst["code_instance"].to_numpy()[ii], dtype=pl.String),
                                          pl.Series(k + 1).cast(pl.String).str.zfill(3))).to_series(),
        "code_instance": inst["code_instance"].to_numpy()[ii],
        "date_reunion": _as_date(day),
        "statut": statut,
        "nb_participants": pl.Series(np.where(held, participants, -1)).replace(-1, None),
        "nb_habitants": pl.Series(np.where(held, habitants, -1)).replace(-1, None),
        "objet": pl.Series(inst["type_instance"].to_numpy()[ii]).replace_strict(
            {"COPIL": "Orientations et programmation", "COTECH": "Instruction des demandes",
             "comité des financeurs": "Arbitrage des cofinancements", "équipe projet": "Suivi courant",
             "conseil citoyen": "Réunion plénière", "table de quartier": "Actions collectives",
             "revue de projet de quartier": "Revue annuelle des indicateurs"}, default="Réunion"),
        "lien_compte_rendu": None,
    }).with_columns(pl.col("lien_compte_rendu").cast(pl.String)).sort("id_reunion")
    instance = inst.select("code_instance", "code_contrat", "code_qp", "type_instance",
                           pl.col("libelle_instance").alias("libelle"), "cadence_mois", "date_creation")

    # Decisions of the held deciding meetings.
    deciding = (reunion.join(instance.select("code_instance", "type_instance", "code_contrat"), on="code_instance")
                       .filter((pl.col("statut") == "tenue") & pl.col("type_instance").is_in(
                           ["COPIL", "COTECH", "comité des financeurs", "revue de projet de quartier"]))
                       .sort("id_reunion"))
    nd = rng.integers(1, 4, deciding.height)
    di = np.repeat(np.arange(deciding.height), nd)
    nd_total = len(di)
    due = (deciding["date_reunion"].cast(pl.Int32).to_numpy().astype(np.int64)[di] + rng.integers(30, 180, nd_total)) if nd_total else np.array([], dtype=int)
    overdue = due < _days(ref)
    u = rng.random(nd_total)
    dstat = np.where(overdue, np.where(u < 0.8, "faite", np.where(u < 0.87, "en cours", np.where(u < 0.95, "à faire", "abandonnée"))),
                     np.where(u < 0.5, "à faire", np.where(u < 0.9, "en cours", "faite")))
    decision = pl.DataFrame({
        "id_decision": pl.select(pl.format("D-{}-{}", deciding["id_reunion"].gather(di).str.slice(2),
                                           pl.Series(_rank_within(di)).cast(pl.String))).to_series(),
        "id_reunion": deciding["id_reunion"].to_numpy()[di],
        "libelle": _choice(rng, _DECISIONS, nd_total),
        "responsable": _choice(rng, _OWNERS, nd_total),
        "date_echeance": _as_date(due),
        "statut": dstat,
        "code_contrat": deciding["code_contrat"].to_numpy()[di],
    })
    linked = decision.filter(pl.Series(rng.random(nd_total) < 0.3))
    act_by_contract = actions.select("code_contrat", "code_action").with_columns(
        pl.int_range(pl.len()).over("code_contrat").cast(pl.UInt32).alias("a_i"),
        pl.len().over("code_contrat").cast(pl.UInt32).alias("a_n"))
    a_n = act_by_contract.group_by("code_contrat").agg(pl.col("a_n").first())
    decision_action = (linked.join(a_n, on="code_contrat")
                             .sort("id_decision")
                             .with_columns(pl.Series("u", rng.random(linked.height)))
                             .with_columns((pl.col("u") * pl.col("a_n")).floor().cast(pl.UInt32).alias("a_i"))
                             .join(act_by_contract.drop("a_n"), on=["code_contrat", "a_i"])
                             .select("id_decision", "code_action").sort("id_decision"))
    return instance, reunion, decision.drop("code_contrat").sort("id_decision"), decision_action


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal group ids (groups sorted)."""
    if len(groups) == 0:
        return groups
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    return np.arange(len(groups)) - first + 1


def _jalons(rng, contrats, scale: Scale) -> pl.DataFrame:
    ref = scale.reference_date
    rows = []
    for y in range(2024, 2031):
        rows += [("appel à projets", f"Lancement de l'appel à projets {y}", date(y - 1, 10, 1), y),
                 ("programmation", f"COPIL de programmation {y}", date(y, 5, 15), y),
                 ("revue annuelle", f"Revue annuelle des indicateurs {y}", date(y, 10, 15), y)]
        if y < 2030:
            rows += [("consultation conseils citoyens", f"Rapport annuel {y} soumis aux conseils citoyens", date(y + 1, 5, 15), y),
                     ("rapport annuel", f"Rapport annuel {y} voté", date(y + 1, 6, 30), y)]
    rows += [("renouvellement CPO", "Renouvellement des CPO 2027-2029", date(2026, 12, 31), 2026),
             ("évaluation", "Évaluation à mi-parcours", date(2027, 3, 31), 2027),
             ("fin du contrat", "Fin du contrat de ville", date(2030, 12, 31), 2030)]
    tpl = pl.DataFrame(rows, schema=["type_jalon", "libelle", "date_prevue", "annee"], orient="row")
    base = contrats.select("code_contrat", "date_signature", "date_debut").join(tpl, how="cross")
    base = base.filter(pl.col("date_prevue") >= pl.col("date_debut") - pl.duration(days=120))
    sign = contrats.select("code_contrat", pl.lit("signature").alias("type_jalon"),
                           pl.lit("Signature du contrat de ville").alias("libelle"),
                           pl.col("date_signature").alias("date_prevue"), pl.col("date_signature").dt.year().alias("annee"))
    n = contrats.height
    actu = contrats.select("code_contrat", pl.lit("actualisation 2027").alias("type_jalon"),
                           pl.lit("Actualisation du contrat (clause de revoyure)").alias("libelle"),
                           pl.Series("date_prevue", _as_date(np.where(rng.random(n) < 0.5, _days(date(2027, 6, 30)),
                                                                      _days(date(2027, 12, 31))))),
                           pl.lit(2027).alias("annee"))
    jalon = pl.concat([sign, base.select(sign.columns), actu], how="vertical_relaxed").sort(
        "code_contrat", "date_prevue", "type_jalon", "libelle")
    m = jalon.height
    u = rng.random(m)
    done = (pl.col("date_prevue") <= pl.lit(ref)) & pl.Series(u < 0.9)
    jalon = (jalon.with_columns(
                 pl.when(pl.col("type_jalon") == "signature").then(pl.col("date_prevue"))
                   .when(done).then(pl.col("date_prevue") + pl.duration(days=pl.Series(rng.integers(-10, 25, m))))
                   .otherwise(None).alias("date_realisation"))
             .with_columns(pl.when(pl.col("date_realisation") > pl.lit(ref)).then(pl.lit(ref))
                             .otherwise(pl.col("date_realisation")).alias("date_realisation"))
             .sort("code_contrat", "date_prevue", "type_jalon")
             .with_columns(pl.format("J-{}-{}", pl.col("code_contrat"),
                                     pl.int_range(1, pl.len() + 1).over("code_contrat").cast(pl.String).str.zfill(3))
                           .alias("id_jalon")))
    return jalon.select("id_jalon", "code_contrat", "type_jalon", "libelle", "date_prevue", "date_realisation", "annee")


# --- assembly -------------------------------------------------------------------------------

def generate(scale: str = "demo", seed: int = 2024) -> dict[str, pl.DataFrame]:
    """All tables of a synthetic territory as Polars frames, keyed by table name."""
    if scale not in SCALES:
        raise ValueError(f"Échelle inconnue : {scale!r} (attendu : {', '.join(SCALES)})")
    params = DEMO if scale == "demo" else NATIONAL
    rng = np.random.default_rng(seed)
    contrats, quartiers = _demo_territory(rng) if scale == "demo" else _national_territory(rng)
    projets, objectifs = _projets_objectifs(rng, contrats, quartiers, params)
    porteurs = _porteurs(rng, contrats, quartiers, params)
    actions, action_quartier, action_objectif = _actions(rng, contrats, quartiers, porteurs, objectifs, params)
    financements = _financements(rng, actions, params)
    indicateur, valeurs, cibles, objectif_indicateur = _indicateurs(rng, contrats, quartiers, objectifs, params)
    instance, reunion, decision, decision_action = _gouvernance(rng, contrats, quartiers, actions, params)
    jalon = _jalons(rng, contrats, params)
    frames = {
        "contrat": contrats,
        "quartier": quartiers,
        "projet_quartier": projets,
        "objectif": objectifs,
        "porteur": porteurs.drop("code_contrat"),
        "action": actions.select("code_action", "code_contrat", "id_porteur", "libelle", "thematique",
                                 "mode_financement", "annee_debut", "annee_fin", "date_debut", "date_fin", "statut",
                                 "avancement", "hors_qpv", "date_decision", "date_statut"),
        "action_quartier": action_quartier,
        "action_objectif": action_objectif,
        "financement": financements,
        "indicateur": indicateur,
        "valeur_indicateur": valeurs,
        "cible_indicateur": cibles,
        "objectif_indicateur": objectif_indicateur,
        "instance": instance,
        "reunion": reunion,
        "decision": decision,
        "decision_action": decision_action,
        "jalon": jalon,
    }
    for name, module in _extensions():
        ext_rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        frames |= module.generate(ext_rng, frames, params)
    return frames


def _extensions() -> list[tuple[str, object]]:
    import cdv_core.demo_ext as pkg

    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__))
    return [(n, importlib.import_module(f"cdv_core.demo_ext.{n}")) for n in names]


def write_frames(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> None:
    """Insert the frames into the store in one checked transaction."""
    with store.transaction(con, audit=store.Audit("démonstration", "Territoire de démonstration créé")) as cur:
        tables = set(store.table_names(cur))
        for table, frame in frames.items():
            if table not in tables:  # identifiers come from the store's own catalogue only
                raise ValueError(f"Table inconnue dans le store : {table}")
            cur.register("_frame", frame.to_arrow())
            cur.execute("INSERT INTO " + table + " BY NAME SELECT * FROM _frame")
            cur.unregister("_frame")


def build_store(target: Path | str, *, scale: str = "demo", seed: int = 2024) -> None:
    """Create a new store filled with a synthetic territory: a file at `target` (which must not
    exist), or an empty DuckLake (`ducklake:postgres:…`, see `store.is_lake`)."""
    params = DEMO if scale == "demo" else NATIONAL
    if store.is_lake(target):
        con = store.connect(target)
        try:
            if not store.is_empty(con.cursor()):
                raise store.StoreError(f"La base partagée {store.describe(target)} contient déjà des données : "
                                       "le territoire de démonstration ne s'écrit que dans une base vide.")
            _fill(con, generate(scale, seed), scale, seed, params)
        finally:
            con.close()
        return
    path = Path(target)
    if path.exists():
        raise store.StoreError(f"Le fichier {path} existe déjà : choisissez un autre chemin (--out).")
    frames = generate(scale, seed)
    con = duckdb.connect(str(path))
    try:
        store.migrate(con)
        _fill(con, frames, scale, seed, params)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _fill(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], scale: str, seed: int, params) -> None:
    write_frames(con, frames)
    with store.transaction(con, check=False, audit=store.Audit("démonstration", "Territoire de démonstration créé")) as cur:
        store.set_meta(cur, "demo", scale)
        store.set_meta(cur, "demo_seed", str(seed))
        store.set_meta(cur, "donnees_au", params.reference_date.isoformat())
