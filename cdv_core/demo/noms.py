"""Fictional place names: communes, quartiers and contracts that read like real ones.

Names are assembled from parts (vocabulaire.md §3 style) that no real QPV 2024 and no real
commune uses: `tests/core/test_demo_realisme.py` checks every generated name against the real lists
in `../shared/reference/`. Assembly is vectorised: a name is the pair (or triple) of parts at
given indices, so the national scale draws thousands of distinct names without a loop.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# Quartier names: « <lieu> <complément> », sometimes « <name> - <name> » as real double names.
LIEUX = (
    "Les Hauts",
    "Le Clos",
    "La Butte",
    "Le Val",
    "Les Jardins",
    "Le Coteau",
    "Les Terrasses",
    "Le Mail",
    "La Source",
    "Les Prés",
    "Le Champ",
    "La Cité",
    "Le Parc",
    "Les Vergers",
    "La Plaine",
    "Le Bosquet",
    "Les Allées",
    "La Roche",
    "Le Verger",
    "Les Balcons",
    "Les Courtils",
    "La Chênaie",
    "Le Faubourg",
    "Les Hameaux",
    "La Prairie",
    "Le Carré",
    "La Résidence",
    "Les Côtes",
    "Le Belvédère",
    "Les Sentes",
    "La Grange",
    "Le Mont",
    "Les Bruyères",
    "La Traverse",
    "Le Petit Bois",
)
COMPLEMENTS = (
    "des Mésanges",
    "des Glycines",
    "du Grand Tilleul",
    "des Sorbiers",
    "de la Fontaine Margot",
    "des Alouettes",
    "du Moulin Brûlé",
    "des Cerisaies",
    "de l'Orvanne",
    "du Bois Guérin",
    "des Aubépines",
    "de la Verrerie",
    "des Trois Sources",
    "du Pont Gallet",
    "des Hirondelles",
    "de la Brévaine",
    "du Chêne Vert",
    "des Loriots",
    "de Bel Orme",
    "des Tanneurs",
    "du Roc Fleuri",
    "des Quatre Vents d'Aubrac",
    "de la Garenne Haute",
    "des Cordiers",
    "du Val Joli",
    "des Églantiers",
    "de la Tuilerie Neuve",
    "des Pervenches",
    "du Haut Mesnil",
    "des Saules Blancs",
    "de la Croix Bertin",
    "des Genêts d'Or",
    "du Clos Fleuri",
    "des Ormeaux",
    "de Montaubert",
    "des Bergeronnettes",
    "du Petit Bréval",
    "de la Sablière",
    "des Charmilles",
    "du Grand Pré Lorin",
    "des Vignes Rousses",
    "de la Fonderie",
    "des Marronniers Roses",
    "du Plateau Saint-Éloy",
    "des Rainettes",
    "de la Héronnière",
    "du Four à Chaux",
    "des Colombes",
    "de Champ-Levé",
    "des Mûriers",
    "de la Pépinière",
    "du Bel Écu",
    "des Lavandières",
    "de la Grande Ourse",
    "des Peupliers d'Orvanne",
    "du Val d'Ancre",
    "des Sittelles",
    "de la Jonchère",
    "des Capucines",
    "du Moulin à Tan",
)

# Communes: « <racine><fin> », sometimes « -<suffixe> ».
RACINES = (
    "Ambr",
    "Brév",
    "Corm",
    "Dorv",
    "Esqu",
    "Fav",
    "Gorv",
    "Haud",
    "Jonv",
    "Lorm",
    "Marv",
    "Norv",
    "Orv",
    "Pral",
    "Quinc",
    "Rouv",
    "Sarv",
    "Tourv",
    "Vald",
    "Varv",
    "Bréch",
    "Carv",
    "Ferv",
    "Mauv",
)
FINS = ("erville", "ancourt", "igny", "eval", "onnay", "ignac", "ezieux", "eboeuf", "ennes", "aucourt")
SUFFIXES = ("", "-sur-Orvanne", "-la-Forêt", "-en-Brenois", "-le-Haut", "-sur-Brévaine", "-les-Prés", "-la-Rivière")


def _parts(n: int, sizes: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
    """`n` distinct combinations of indices into lists of the given sizes (n ≤ their product)."""
    total = int(np.prod(sizes))
    if n > total:
        raise ValueError(f"{n} noms demandés, {total} combinaisons possibles")
    flat = rng.choice(total, size=n, replace=False)
    return list(np.unravel_index(flat, sizes))


def quartier_names(n: int, rng: np.random.Generator) -> pl.Series:
    """`n` distinct fictional quartier names."""
    i, j = _parts(n, (len(LIEUX), len(COMPLEMENTS)), rng)
    return pl.Series(np.char.add(np.char.add(np.array(LIEUX)[i], " "), np.array(COMPLEMENTS)[j]), dtype=pl.String)


def commune_names(n: int, rng: np.random.Generator) -> pl.Series:
    """`n` distinct fictional commune names."""
    i, j, k = _parts(n, (len(RACINES), len(FINS), len(SUFFIXES)), rng)
    names = np.char.add(np.char.add(np.array(RACINES)[i], np.array(FINS)[j]), np.array(SUFFIXES)[k])
    return pl.Series(names, dtype=pl.String)
