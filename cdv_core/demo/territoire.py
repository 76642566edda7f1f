"""Step 1: the contracts and their quartiers (QPV), with population, place and outline."""

from __future__ import annotations

import functools
import math
from datetime import date

import numpy as np
import polars as pl

from cdv_core import geo
from cdv_core.demo import noms
from cdv_core.demo.common import Scale, _as_date, _days, _hex_contour, digits_of, text_of, with_check_digit

# --- the demo territory: fictional names at fictional places -------------------------------
# Three contracts in Aisne, Oise and Somme, drawn in rural areas 25 km or more from any real QPV
# (no real QPV, commune or EPCI shares a name, a code or a SIREN with them: see
# tests/core/test_demo_realisme.py). Commune codes 02991… and SIRENs are fictional but well formed
# (Luhn-valid), so the demo's data exported in the import templates is accepted back.

_DEMO_CONTRATS = [
    # code, libellé, signataire, siren, dep, signature, signataires
    (
        "CV-DEMO-VERM",
        "Contrat de ville de la CA du Pays de Vermandie (démo)",
        "EPCI",
        "200099018",
        "02",
        date(2024, 3, 29),
        "Préfet de l'Aisne ; CA du Pays de Vermandie ; Ville de Saint-Aubin-en-Vermandie ; CAF de "
        "l'Aisne ; Département de l'Aisne ; Région Hauts-de-France ; Vermandie Habitat",
    ),
    (
        "CV-DEMO-BRE",
        "Contrat de ville de la CA de la Vallée de la Brêche (démo)",
        "EPCI",
        "200099026",
        "60",
        date(2024, 6, 27),
        "Préfet de l'Oise ; CA de la Vallée de la Brêche ; Villes de Brêcheville et "
        "Saint-Just-la-Forêt ; CAF de l'Oise ; Brêche Habitat",
    ),
    (
        "CV-DEMO-MONT",
        "Contrat de ville de Montval-sur-Somme (démo)",
        "commune",
        "218099109",
        "80",
        date(2024, 12, 18),
        "Préfet de la Somme ; Ville de Montval-sur-Somme ; CAF de la Somme ; Montval Habitat",
    ),
]
_DEMO_QUARTIERS = [
    # code, libellé, contrat, insee_com, commune, population, lon, lat, contour?
    (
        "QN00281M",
        "Les Hauts de Vermandie",
        "CV-DEMO-VERM",
        "02991",
        "Saint-Aubin-en-Vermandie",
        6840,
        3.7000,
        49.8400,
        True,
    ),
    (
        "QN00282M",
        "Les Tanneries - Clos Margot",
        "CV-DEMO-VERM",
        "02991",
        "Saint-Aubin-en-Vermandie",
        3120,
        3.7290,
        49.8190,
        True,
    ),
    (
        "QN00283M",
        "Cité des Provinces",
        "CV-DEMO-VERM",
        "02991",
        "Saint-Aubin-en-Vermandie",
        2210,
        3.6770,
        49.8270,
        True,
    ),
    (
        "QN00284N",
        "Le Port aux Bois - Les Coquelicots",
        "CV-DEMO-VERM",
        "02992",
        "Hollery-sur-Serre",
        1460,
        3.7810,
        49.7830,
        True,
    ),
    (
        "QN00285M",
        "Les Sablières - Mont Aubert",
        "CV-DEMO-VERM",
        "02993",
        "Mervaux-la-Vermandie",
        1890,
        3.6440,
        49.8720,
        True,
    ),
    ("QN00286N", "Résidence du Moulin Brûlé", "CV-DEMO-VERM", "02994", "Ambrancourt", 1050, 3.7180, 49.7940, True),
    ("QN06081M", "Les Rouliers - Champ Doré", "CV-DEMO-BRE", "60991", "Brêcheville", 7420, 1.7900, 49.6700, True),
    ("QN06082M", "Les Cavées - Bois Joli", "CV-DEMO-BRE", "60991", "Brêcheville", 2980, 1.8080, 49.6610, True),
    ("QN06083N", "Les Hauts de Brêche", "CV-DEMO-BRE", "60992", "Saint-Just-la-Forêt", 1740, 1.7620, 49.6850, True),
    ("QN06084M", "La Roseraie", "CV-DEMO-BRE", "60992", "Saint-Just-la-Forêt", 1310, 1.7450, 49.6770, True),
    (
        "QN08081M",
        "Val Fleuri - Bois Sergent",
        "CV-DEMO-MONT",
        "80991",
        "Montval-sur-Somme",
        4210,
        2.7800,
        49.9500,
        False,
    ),
    ("QN08082M", "Résidence Colette-Marin", "CV-DEMO-MONT", "80991", "Montval-sur-Somme", 2030, 2.8300, 49.9200, False),
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
    """400 fictional contracts, one to thirty QPV each (median 2, as the 2024 geography), with
    fictional commune and quartier names, drawn in their département away from every commune
    that holds a real QPV."""
    deps = [
        d
        for d in [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
        if d in _room()
    ]
    contract_dep = np.array(deps, dtype=object)[np.arange(n_contracts) % len(deps)]
    outre_mer = np.array([len(d) == 3 for d in contract_dep])
    n_qpv = np.clip(np.ceil(rng.lognormal(math.log(2.2), 1.1, n_contracts)), 1, 30).astype(int)
    idx = np.arange(n_contracts)
    # Communes: a ville-centre per contract, one or two more where the contract has several QPV.
    n_com = 1 + (n_qpv >= 3) + (n_qpv >= 7)
    com_contract = np.repeat(idx, n_com)
    com_dep = contract_dep[com_contract]
    com_rank = (
        pl.DataFrame({"dep": pl.Series(com_dep, dtype=pl.String)})
        .select(pl.int_range(pl.len()).over("dep"))
        .to_series()
        .to_numpy()
    )
    # Commune codes no real commune uses: 950-999 in a metropolitan département, 80-99 overseas.
    com_code = pl.select(
        pl.when(pl.Series(com_dep).str.len_chars() == 3)
        .then(pl.Series(com_dep) + (80 + pl.Series(com_rank)).cast(pl.String))
        .otherwise(pl.Series(com_dep) + (950 + pl.Series(com_rank)).cast(pl.String))
    ).to_series()
    com_name = noms.commune_names(len(com_contract), rng)
    first_com = np.cumsum(n_com) - n_com
    ville = com_name.to_numpy()[first_com]
    is_epci = rng.random(n_contracts) < 0.85
    epci_kind = np.where(n_qpv >= 10, "Métropole de ", np.where(n_qpv >= 3, "CA de ", "CC de "))
    signataire = np.where(
        is_epci, np.char.add(epci_kind.astype(str), ville.astype(str)), np.char.add("Ville de ", ville.astype(str))
    )
    # SIRENs: 2009… for the EPCI, 21 + commune code + 0 for a commune (Corsica's 2A/2B read 20),
    # each with its Luhn digit.
    com_digits = np.char.replace(np.char.replace(com_code.to_numpy()[first_com].astype(str), "2A", "20"), "2B", "20")
    body = np.where(
        is_epci, np.char.add("2009", np.char.zfill(idx.astype(str), 4)), np.char.add(np.char.add("21", com_digits), "0")
    )
    body = body.astype("<U8")  # overseas codes have 6 digits: keep 8
    siren = text_of(with_check_digit(digits_of(body, 8))).to_numpy()
    contrats = pl.DataFrame(
        {
            "code_contrat": "CV" + pl.Series(idx + 1).cast(pl.String).str.zfill(4),
            "libelle": pl.Series(
                np.char.add(
                    "Contrat de ville de ",
                    np.where(is_epci, np.char.add("la ", signataire.astype(str)), ville.astype(str)),
                ),
                dtype=pl.String,
            ),
            "type_signataire": np.where(is_epci, "EPCI", "commune"),
            "siren_signataire": siren,
            "insee_dep": contract_dep,
            "insee_reg": ["00"] * n_contracts,
            "territoire": np.where(outre_mer, "outre-mer", "hexagone"),
            "date_signature": _as_date(
                np.where(outre_mer, _days(date(2025, 6, 30)), _days(date(2024, 3, 31)))
                - rng.integers(0, 120, n_contracts)
            ),
            "date_debut": _as_date(np.where(outre_mer, _days(date(2025, 1, 1)), _days(date(2024, 1, 1)))),
            "date_fin": [date(2030, 12, 31)] * n_contracts,
            "signataires": pl.Series(
                np.char.add(
                    np.char.add("Préfet ; ", signataire.astype(str)), " ; CAF ; Département ; bailleurs sociaux"
                ),
                dtype=pl.String,
            ),
        }
    )
    q_contract = np.repeat(idx, n_qpv)
    n = len(q_contract)
    dep = contract_dep[q_contract]
    # QPV codes no real QPV uses: ranks counted down from 99, last letter C (M/N in Mayotte, whose
    # real codes end in C).
    rank_in_dep = (
        pl.DataFrame({"dep": pl.Series(dep, dtype=pl.String)})
        .select(pl.int_range(pl.len()).over("dep"))
        .to_series()
        .to_numpy()
    )
    rank = np.clip(99 - rank_in_dep, 1, 99)
    letter = np.where(dep == "976", "N", "C")
    code_qp = np.char.add(
        np.char.add(np.char.add("QN", np.char.zfill(dep.astype(str), 3)), np.char.zfill(rank.astype(str), 2)), letter
    )
    # Each QPV in one of its contract's communes (mostly the ville-centre).
    pick = np.minimum((rng.random(n) ** 2 * n_com[q_contract]).astype(int), n_com[q_contract] - 1)
    q_com = first_com[q_contract] + pick
    center_lon, center_lat = _places(rng, contract_dep)
    quartiers = pl.DataFrame(
        {
            "code_qp": code_qp,
            "libelle": noms.quartier_names(n, rng),
            "code_contrat": contrats["code_contrat"].to_numpy()[q_contract],
            "insee_dep": dep,
            "insee_com": com_code.to_numpy()[q_com],
            "lib_com": com_name.to_numpy()[q_com],
            "communes": com_code.to_numpy()[q_com],
            "siren_epci": siren[q_contract],
            # QPV populations as the 2024 geography: mean ≈ 3 900, 90 % under 7 600, at least 1 000.
            "population": np.clip(rng.lognormal(math.log(3000), 0.73, n), 1000, 30000).astype(int),
            "longitude": np.round(center_lon[q_contract] + np.clip(rng.normal(0, 0.5, n), -1, 1) * _SPREAD[0], 5),
            "latitude": np.round(center_lat[q_contract] + np.clip(rng.normal(0, 0.5, n), -1, 1) * _SPREAD[1], 5),
            "contour": None,
        }
    )
    quartiers = quartiers.unique("code_qp", keep="first", maintain_order=True)
    quartiers = quartiers.with_columns(pl.col("contour").cast(pl.String))
    # A QPV that a winding border leaves in the next département moves to its contract's centre.
    outlines = {f["code"]: f["polygons"] for _, f in geo.read_outlines("departements")}
    lon, lat = quartiers["longitude"].to_numpy().copy(), quartiers["latitude"].to_numpy().copy()
    q_dep = quartiers["insee_dep"].to_numpy()
    centre = quartiers["code_contrat"].str.slice(2).cast(pl.Int64).to_numpy() - 1
    for code in np.unique(q_dep):
        rows = np.flatnonzero(q_dep == code)
        out = rows[~geo.inside(lon[rows], lat[rows], outlines[code])]
        lon[out], lat[out] = np.round(center_lon[centre[out]], 5), np.round(center_lat[centre[out]], 5)
    return contrats, quartiers.with_columns(pl.Series("longitude", lon), pl.Series("latitude", lat))


_MARGIN = 0.08  # degrees between a contract's centre and any commune holding a real QPV (its bounding box)
_GRID = 0.08  # degrees between the candidate centres tried in each département
_SPREAD = (0.02, 0.015)  # degrees: the largest offset (lon, lat) of a QPV from its contract's centre


@functools.cache
def _room() -> dict[str, np.ndarray]:
    """Per département, the points of a regular grid where a fictional contract can be drawn: inside
    the département with its QPV around it, and more than `_MARGIN` degrees away from every commune
    that holds a real QPV (fonds/communes-avec-qpv). Paris and the small départements around it,
    or Mayotte, have no such point: the national scale draws no contract there."""
    boxes = np.array([box for box, _ in geo.read_outlines("communes-avec-qpv")])
    out = {}
    for (x0, y0, x1, y1), feature in geo.read_outlines("departements"):
        lon, lat = (a.ravel() for a in np.meshgrid(np.arange(x0, x1, _GRID), np.arange(y0, y1, _GRID)))
        near = (
            (lon[:, None] > boxes[None, :, 0] - _MARGIN)
            & (lon[:, None] < boxes[None, :, 2] + _MARGIN)
            & (lat[:, None] > boxes[None, :, 1] - _MARGIN)
            & (lat[:, None] < boxes[None, :, 3] + _MARGIN)
        )
        lon, lat = lon[~near.any(axis=1)], lat[~near.any(axis=1)]
        dx, dy = _SPREAD[0] + 0.015, _SPREAD[1] + 0.015
        ok = np.ones(len(lon), dtype=bool)
        for sx, sy in ((0, 0), (dx, dy), (dx, -dy), (-dx, dy), (-dx, -dy), (dx, 0), (-dx, 0), (0, dy), (0, -dy)):
            ok &= geo.inside(lon + sx, lat + sy, feature["polygons"])
        if ok.any():
            out[feature["code"]] = np.column_stack([lon[ok], lat[ok]])
    return out


def _places(rng: np.random.Generator, contract_dep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A centre per contract: a point of its département's room (see `_room`), slightly moved."""
    room = _room()
    every = np.concatenate(list(room.values()))  # the rooms end to end, one département after another
    counts = {d: len(p) for d, p in room.items()}
    starts = dict(zip(counts, np.cumsum([0, *counts.values()])[:-1].tolist()))
    dep = pl.Series(contract_dep, dtype=pl.String)
    u = rng.random(len(contract_dep))
    points = every[
        dep.replace_strict(starts, return_dtype=pl.Int64).to_numpy()
        + (u * dep.replace_strict(counts, return_dtype=pl.Int64).to_numpy()).astype(np.int64)
    ]
    return points[:, 0] + rng.uniform(-0.005, 0.005, len(points)), points[:, 1] + rng.uniform(
        -0.005, 0.005, len(points)
    )


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    contrats, quartiers = _demo_territory(rng) if scale.name == "demo" else _national_territory(rng)
    return {"contrat": contrats, "quartier": quartiers}
