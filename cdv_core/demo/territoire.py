"""Step 1: the contracts and their quartiers (QPV), with population, place and outline."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _as_date, _choice, _days, _hex_contour

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




def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    contrats, quartiers = _demo_territory(rng) if scale.name == "demo" else _national_territory(rng)
    return {"contrat": contrats, "quartier": quartiers}
