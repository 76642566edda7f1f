"""Step 6: indicators, their values (QPV and reference territories), baselines and targets.

Values a statistician would accept (magnitudes: ../shared/reference/vocabulaire.md §5; spreads
calibrated on the 105 real QPV of hackaviz2021_occitanie_qp2015):

- a QPV rate is drawn logit-normal between per-indicator bounds (`lo`, `hi`) around the QPV
  median, so it never leaves what QPV show (a brevet success rate stays within 55–85 %) and
  the spread (p10–p90) looks like the real one; its trajectory is slow (the reference
  territory's own drift plus a small catch-up, a few tenths of a point per year, mostly in the
  desired direction), with a little year-to-year noise, larger in small QPV and in surveys;
- reference territories sit on the other side of the gap: France follows its level and drift,
  the EPCI and the commune mix their QPV (population-weighted) with the rest of their
  population, so the commune lies between its QPV and the EPCI / France;
- counts are integers: demandeurs d'emploi scale with the QPV's population, réunions du conseil
  citoyen 4–10 a year; a count of people under the statistical-secret threshold is stored as
  « s » with a null value, like the DEPP rates whose cohort of pupils is under the threshold;
  Filosofi rates of small QPV are sometimes « s », RP rates of small QPV and surveys « ns » or
  « nd »;
- breakdowns (valeur_indicateur_detail) of the demandeurs d'emploi by sexe and âge (whole counts
  adding up to the total, « s » under the threshold with secondary secret) and of the taux
  d'emploi by sexe (parts adding up to the total's, women 10–15 points below men);
- the 2030 target closes 10–40 % of the baseline's gap to the EPCI (never beyond it), or moves
  towards a stated goal for indicators without reference territory; a context indicator (sens
  neutre) has a baseline but no target.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale
from cdv_core.domain import freshness, gaps, secret

# code, libellé, unité, sens, source, axe, QPV median, France reference (None: no reference
# territory), QPV bounds lo/hi, logit spread, France drift per year (units), kind of missing
# values (see _markers), goal of the target when there is no reference.
_INDICATORS = [
    (
        "PAUV",
        "Taux de pauvreté (seuil à 60 %)",
        "%",
        "baisse",
        "Insee Filosofi",
        "Emploi et insertion",
        44.0,
        15.0,
        25.0,
        65.0,
        0.9,
        0.05,
        "filosofi",
        None,
    ),
    (
        "REVMED",
        "Revenu disponible médian par unité de consommation",
        "€",
        "hausse",
        "Insee Filosofi",
        "Emploi et insertion",
        12900.0,
        22000.0,
        8000.0,
        24000.0,
        0.4,
        350.0,
        "filosofi",
        None,
    ),
    (
        "CHOM",
        "Taux de chômage des 15-64 ans",
        "%",
        "baisse",
        "Insee EEC / ONPV",
        "Emploi et insertion",
        18.3,
        7.5,
        9.0,
        38.0,
        0.6,
        -0.2,
        "rp",
        None,
    ),
    (
        "EMPL",
        "Taux d'emploi des 15-64 ans",
        "%",
        "hausse",
        "ONPV",
        "Emploi et insertion",
        48.2,
        65.0,
        25.0,
        64.0,
        0.6,
        0.4,
        "rp",
        None,
    ),
    (
        "EMPLF",
        "Taux d'emploi des femmes 15-64 ans",
        "%",
        "hausse",
        "Insee RP",
        "Lutte contre les discriminations",
        40.0,
        62.0,
        18.0,
        60.0,
        0.7,
        0.4,
        "rp",
        None,
    ),
    (
        "NEET",
        "Jeunes ni en emploi ni en formation",
        "%",
        "baisse",
        "ONPV",
        "Éducation et émancipation",
        36.0,
        17.0,
        19.0,
        55.0,
        0.6,
        -0.2,
        "rp_jeunes",
        None,
    ),
    (
        "RET6",
        "Élèves de 6e en retard",
        "%",
        "baisse",
        "DEPP",
        "Éducation et émancipation",
        24.0,
        9.0,
        10.5,
        40.0,
        0.55,
        -0.3,
        "depp",
        None,
    ),
    (
        "DNB",
        "Taux de réussite au diplôme national du brevet",
        "%",
        "hausse",
        "DEPP",
        "Éducation et émancipation",
        75.0,
        87.0,
        55.0,
        85.0,
        0.6,
        0.05,
        "depp",
        None,
    ),
    (
        "MEDG",
        "Médecins généralistes pour 10 000 habitants",
        "pour 10 000 hab.",
        "hausse",
        "RPPS",
        "Santé",
        5.5,
        8.5,
        2.0,
        8.0,
        0.6,
        -0.05,
        "none",
        None,
    ),
    (
        "C2S",
        "Bénéficiaires de la complémentaire santé solidaire",
        "%",
        "baisse",
        "CNAM",
        "Santé",
        30.0,
        10.0,
        14.0,
        45.0,
        0.55,
        0.1,
        "none",
        None,
    ),
    (
        "CHAL",
        "Habitants ayant souffert de la chaleur l'été",
        "%",
        "baisse",
        "Enquête habitants",
        "Transition écologique",
        70.0,
        56.0,
        58.0,
        86.0,
        0.5,
        0.4,
        "enquete",
        None,
    ),
    (
        "DEFM",
        "Demandeurs d'emploi de catégorie A, B, C",
        "nb",
        "baisse",
        "France Travail",
        "Emploi et insertion",
        360.0,
        None,
        0.0,
        0.0,
        0.0,
        0.0,
        "none",
        "x0.6",
    ),
    (
        "CCREU",
        "Réunions du conseil citoyen dans l'année",
        "nb",
        "hausse",
        "Équipe projet",
        "Participation citoyenne",
        6.0,
        None,
        4.0,
        10.0,
        0.0,
        0.0,
        "none",
        10.0,
    ),
    (
        "INSEC",
        "Sentiment d'insécurité dans le quartier",
        "%",
        "baisse",
        "Enquête habitants",
        "Sécurité et tranquillité",
        38.0,
        21.0,
        23.0,
        60.0,
        0.55,
        0.0,
        "enquete",
        None,
    ),
    (
        "LOGSOC",
        "Logements sociaux parmi les résidences principales",
        "%",
        "neutre",
        "RPLS",
        "Cadre de vie",
        75.0,
        25.0,
        35.0,
        98.0,
        0.9,
        0.1,
        "none",
        None,
    ),
    (
        "CHOMJ",
        "Taux de chômage des 15-29 ans",
        "%",
        "baisse",
        "ONPV",
        "Emploi et insertion",
        28.6,
        12.0,
        14.0,
        50.0,
        0.55,
        -0.3,
        "rp_jeunes",
        None,
    ),
    (
        "INACT",
        "Inactifs parmi les 15-64 ans",
        "%",
        "baisse",
        "ONPV",
        "Emploi et insertion",
        41.0,
        25.8,
        28.0,
        58.0,
        0.5,
        -0.3,
        "rp",
        None,
    ),
    (
        "HALO",
        "Chômage et halo autour du chômage",
        "%",
        "baisse",
        "ONPV",
        "Emploi et insertion",
        19.5,
        9.9,
        11.0,
        35.0,
        0.5,
        -0.2,
        "rp",
        None,
    ),
    (
        "PREC",
        "Emplois précaires parmi les emplois",
        "%",
        "baisse",
        "Insee RP",
        "Emploi et insertion",
        25.0,
        15.0,
        16.0,
        42.0,
        0.6,
        0.0,
        "rp",
        None,
    ),
    (
        "DELD",
        "Demandeurs d'emploi de longue durée",
        "%",
        "baisse",
        "France Travail",
        "Emploi et insertion",
        52.0,
        48.0,
        49.0,
        62.0,
        0.5,
        0.0,
        "none",
        None,
    ),
    (
        "IMPOS",
        "Ménages fiscaux imposés",
        "%",
        "hausse",
        "Insee Filosofi",
        "Emploi et insertion",
        24.0,
        50.0,
        10.0,
        40.0,
        0.6,
        0.2,
        "filosofi_menages",
        None,
    ),
    (
        "COLDEF",
        "Collégiens d'origine sociale défavorisée",
        "%",
        "neutre",
        "DEPP",
        "Éducation et émancipation",
        63.0,
        32.0,
        35.0,
        85.0,
        0.6,
        0.0,
        "depp",
        None,
    ),
    (
        "MONOP",
        "Familles monoparentales parmi les ménages",
        "%",
        "neutre",
        "Insee RP",
        "Participation citoyenne",
        17.0,
        10.0,
        9.0,
        30.0,
        0.5,
        0.1,
        "rp",
        None,
    ),
    (
        "MOINS25",
        "Habitants de moins de 25 ans",
        "%",
        "neutre",
        "Insee RP",
        "Éducation et émancipation",
        39.0,
        30.0,
        28.0,
        52.0,
        0.5,
        -0.1,
        "rp",
        None,
    ),
    (
        "DENT",
        "Chirurgiens-dentistes pour 10 000 habitants",
        "pour 10 000 hab.",
        "hausse",
        "RPPS",
        "Santé",
        2.4,
        6.0,
        0.5,
        5.0,
        0.6,
        0.0,
        "none",
        None,
    ),
    (
        "ETAB",
        "Établissements économiques pour 1 000 habitants",
        "pour 1 000 hab.",
        "hausse",
        "SIRENE",
        "Emploi et insertion",
        38.0,
        60.0,
        15.0,
        58.0,
        0.7,
        0.8,
        "none",
        None,
    ),
    (
        "QPVPUB",
        "Public bénéficiaire résidant en QPV",
        "%",
        "hausse",
        "Bilans des actions",
        "Participation citoyenne",
        62.0,
        None,
        35.0,
        92.0,
        0.6,
        0.3,
        "gestion",
        75.0,
    ),
    (
        "FILLES",
        "Filles et femmes parmi les bénéficiaires",
        "%",
        "hausse",
        "Bilans des actions",
        "Lutte contre les discriminations",
        41.0,
        None,
        28.0,
        58.0,
        0.5,
        0.4,
        "gestion",
        50.0,
    ),
    (
        "CRF",
        "Bilans financiers reçus à 6 mois",
        "%",
        "hausse",
        "Dauphin",
        "Participation citoyenne",
        80.0,
        None,
        50.0,
        99.0,
        0.6,
        0.5,
        "gestion",
        100.0,
    ),
    (
        "DELAI",
        "Délai entre dépôt et notification",
        "jours",
        "baisse",
        "Dauphin",
        "Participation citoyenne",
        120.0,
        None,
        60.0,
        220.0,
        0.5,
        -2.0,
        "gestion",
        90.0,
    ),
]
ANCHOR_YEAR = 2022  # the year the medians and references of vocabulaire.md describe
DEFM_PER_INHABITANT = 0.175  # ≈ 360 demandeurs ABC in a QPV of 2 060 inhabitants (real medians)
COHORT_PER_INHABITANT = 0.014  # pupils of one school year living in a QPV, per inhabitant
TARGET_SHARE = (0.10, 0.40)  # share of the gap to the reference a 2030 target closes
INTERMEDIATE_SHARE = (0.45, 0.75)  # share of the way to the 2030 target aimed at by the 2027 step
INTERMEDIATE_DATE = date(2027, 12, 31)  # the actualisation
SECRET_THRESHOLD = secret.DEFAULT_THRESHOLD


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _round(values: np.ndarray, unite: np.ndarray) -> np.ndarray:
    """Published precision: counts and days as integers, euros to the ten, the rest to 1 decimal."""
    integer = np.isin(unite, ["nb", "jours"])
    return np.where(integer, np.round(values), np.where(unite == "€", np.round(values, -1), np.round(values, 1)))


def _markers(rng, kinds: np.ndarray, pop: np.ndarray, ny: int) -> np.ndarray:
    """Why a QPV value is missing (« s », « ns », « nd ») or None, per (QPV, indicator, year)."""
    nq, ni = len(pop), len(kinds)
    small = pop[:, None, None]
    k = kinds[None, :, None]
    u = rng.random((nq, ni, ny))
    p_s = np.select(
        [k == "filosofi", k == "filosofi_menages"],
        [
            np.where(small < 1200, 0.3, np.where(small < 1600, 0.1, 0.005)),
            np.where(small < 1300, 0.6, np.where(small < 2000, 0.3, np.where(small < 3000, 0.05, 0.0))),
        ],
        0.0,
    )
    # DEPP: secret when the cohort of pupils behind the rate is under the threshold
    cohort = np.round(small * COHORT_PER_INHABITANT * rng.lognormal(0, 0.2, (nq, 1, ny)))
    is_s = (u < p_s) | ((k == "depp") & (cohort < SECRET_THRESHOLD))
    p_ns = np.select(
        [k == "rp", k == "rp_jeunes", k == "enquete"],
        [np.where(small < 1300, 0.05, 0.003), np.where(small < 1500, 0.12, 0.01), np.where(small < 1500, 0.25, 0.04)],
        0.0,
    )
    p_nd = np.select([k == "enquete", k == "gestion"], [0.08, 0.03], 0.0)
    v = rng.random((nq, ni, ny))
    return np.where(
        is_s, "s", np.where(v < p_ns, "ns", np.where(v > 1 - p_nd, "nd", np.array(None, dtype=object)))
    ).astype(object)


def _long(
    codes_terr: np.ndarray,
    ttype: str,
    values: np.ndarray,
    ind_codes: np.ndarray,
    years: np.ndarray,
    markers: np.ndarray | None = None,
) -> pl.DataFrame:
    """(territory, indicator, year) arrays as rows of valeur_indicateur."""
    nt, ni, ny = values.shape
    ti, ii, yi = np.meshgrid(np.arange(nt), np.arange(ni), np.arange(ny), indexing="ij")
    marker = pl.Series("secret", [None] * values.size if markers is None else markers.ravel().tolist(), dtype=pl.String)
    return pl.DataFrame(
        {
            "code_indicateur": pl.Series(ind_codes.astype(str))[ii.ravel()],
            "type_territoire": ttype,
            "code_territoire": pl.Series(np.asarray(codes_terr).astype(str))[ti.ravel()],
            "date_valeur": pl.Series([date(int(y), 1, 1) for y in years])[yi.ravel()],
            "valeur": values.ravel(),
            "secret": marker,
        }
    ).with_columns(pl.col("valeur").fill_nan(None))


def _group_mean(values: np.ndarray, groups: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Weighted mean of the (QPV, indicator, year) values over the QPV of each group."""
    acc = np.zeros((n, *values.shape[1:]))
    np.add.at(acc, groups, values * weights[:, None, None])
    return acc / np.bincount(groups, weights=weights, minlength=n)[:, None, None]


def _indicateurs(rng, quartiers, objectifs, scale: Scale):
    spec = _INDICATORS[: scale.n_indicators]

    def col(j: int) -> np.ndarray:
        return np.array([np.nan if s[j] is None else s[j] for s in spec], dtype=float)

    ind_codes = np.array([s[0] for s in spec], dtype=object)
    unite = np.array([s[2] for s in spec])
    indicateur = pl.DataFrame(
        {
            "code_indicateur": [s[0] for s in spec],
            "libelle": [s[1] for s in spec],
            "unite": [s[2] for s in spec],
            "sens": [s[3] for s in spec],
            "source": [s[4] for s in spec],
            "axe": [s[5] for s in spec],
            "agregation": ["somme" if s[2] == "nb" else "moyenne pondérée" for s in spec],
        }
    )
    sens = np.array([{"hausse": 1, "baisse": -1, "neutre": 0}[s[3]] for s in spec])
    med, ref, lo, hi, spread, drift = col(6), col(7), col(8), col(9), col(10), col(11)
    has_ref = ~np.isnan(ref)
    kinds = np.array([s[12] for s in spec])
    years = np.array(scale.value_years)
    nq, ni, ny = quartiers.height, len(spec), len(years)
    t = (years - ANCHOR_YEAR)[None, None, :].astype(float)
    pop = quartiers["population"].to_numpy().astype(float)

    # QPV rates and ratios: logit-normal between the bounds, slow trajectory, a little noise.
    is_count = unite == "nb"
    span = np.where(is_count, 1.0, hi - lo)
    p_med = np.clip((med - lo) / span, 0.02, 0.98)
    z = np.clip(rng.standard_normal((nq, ni)), -3, 3)
    z -= np.median(z, axis=0)  # the median QPV at the vocabulary's level, even with a dozen QPV
    level = np.log(p_med / (1 - p_med))[None, :] + spread[None, :] * z
    p0 = _sigmoid(level)
    gap = np.where(has_ref, np.abs(ref - med), 0.2 * med)  # the scale of a QPV's catch-up
    follows = np.where(has_ref & (unite != "%"), med / np.where(has_ref, ref, 1.0), 1.0)  # € and ratios: relative drift
    slope = follows * drift + rng.normal(0.008 * gap * sens, 0.01 * gap, (nq, ni))  # units per year
    noise = (
        np.where(kinds == "enquete", 0.08, 0.025)[None, :, None]
        * np.clip(np.sqrt(2000 / pop), 0.6, 1.6)[:, None, None]
        * rng.standard_normal((nq, ni, ny))
    )
    logit = level[:, :, None] + (slope / (span * p0 * (1 - p0)))[:, :, None] * t + noise
    latent = lo[None, :, None] + span[None, :, None] * _sigmoid(logit)

    # Counts: demandeurs d'emploi follow the population; 4–10 réunions du conseil citoyen a year.
    for j, code in enumerate(ind_codes):
        if code == "DEFM":
            per_head = DEFM_PER_INHABITANT * np.exp(0.22 * np.clip(rng.standard_normal(nq), -2.5, 2.5))
            trend = rng.normal(-0.01, 0.01, nq)
            latent[:, j, :] = (pop * per_head)[:, None] * np.exp(trend[:, None] * t[0] + rng.normal(0, 0.03, (nq, ny)))
        elif code == "CCREU":
            base = rng.integers(4, 10, nq)
            latent[:, j, :] = np.clip(base[:, None] + np.round(rng.normal(0.08 * t[0], 0.7, (nq, ny))), 4, 10)
    published = _round(latent, unite[None, :, None])
    markers = _markers(rng, kinds, pop, ny)
    people = np.array([secret.is_people_count(s[2], s[1]) for s in spec])
    markers = np.where(people[None, :, None] & (published < SECRET_THRESHOLD), "s", markers)
    qpv_values = _long(
        quartiers["code_qp"].to_numpy(),
        "QPV",
        np.where(markers == None, published, np.nan),  # noqa: E711
        ind_codes,
        years,
        markers,
    )
    qpv_values = _with_parts(qpv_values, indicateur, quartiers)

    # Reference territories: France at its level; the EPCI and the commune mix their QPV
    # (population-weighted) with the rest of their population, which sits near France.
    r = np.flatnonzero(has_ref)
    epci_codes, e_idx = np.unique(quartiers["siren_epci"].to_numpy().astype(str), return_inverse=True)
    com_codes, c_first, c_idx = np.unique(
        quartiers["insee_com"].to_numpy().astype(str), return_index=True, return_inverse=True
    )
    ne, nc = len(epci_codes), len(com_codes)
    toward_qpv = np.clip(rng.normal(0.05, 0.07, (ne, len(r))), -0.15, 0.25)
    rest_e = (
        (ref[r] + (med[r] - ref[r]) * toward_qpv)[:, :, None]
        + drift[r][None, :, None] * t
        + rng.normal(0, 1, (ne, len(r), ny)) * 0.004 * gap[r][None, :, None]
    )
    rest_c = rest_e[e_idx[c_first]] + (rng.normal(0, 0.04, (nc, len(r))) * gap[r][None, :])[:, :, None]
    share_e = rng.uniform(0.04, 0.12, ne)[:, None, None]
    share_c = rng.uniform(0.12, 0.40, nc)[:, None, None]
    epci = share_e * _group_mean(latent[:, r], e_idx, pop, ne) + (1 - share_e) * rest_e
    commune = share_c * _group_mean(latent[:, r], c_idx, pop, nc) + (1 - share_c) * rest_c
    france = ref[r][None, :, None] + drift[r][None, :, None] * t
    refs = {}
    for ttype, codes, vals in (
        ("commune", com_codes[np.argsort(c_first)], commune[np.argsort(c_first)]),
        ("EPCI", epci_codes, epci),
        ("France", np.array(["FR"]), france),
    ):
        vals = _round(
            np.where((unite[r] == "%")[None, :, None], np.clip(vals, 0.0, 100.0), vals), unite[r][None, :, None]
        )
        refs[ttype] = _long(codes, ttype, vals, ind_codes[r], years)
    valeurs = pl.concat([qpv_values, *refs.values()], how="diagonal").with_columns(
        pl.lit(f"Démonstration ({scale.name})").alias("source_fichier")
    )

    # Objective ↔ indicator: indicators on the objective's axe (at most two).
    obj_ind = (
        objectifs.select("code_objectif", "code_qp", "axe")
        .join(indicateur.select("code_indicateur", "axe"), on="axe")
        .sort("code_objectif", "code_indicateur")
        .group_by("code_objectif", maintain_order=True)
        .head(2)
    )
    drop = rng.random(obj_ind.height) < 0.12  # some objectives lack an indicator: "missing data"
    obj_ind = obj_ind.filter(~pl.Series(drop))
    objectif_indicateur = (
        obj_ind.select("code_objectif", "code_indicateur").unique().sort("code_objectif", "code_indicateur")
    )

    # Baseline (the 2022 vintage, the latest known at signature) and 2030 target per QPV: the
    # target closes 10–40 % of the gap to the QPV's EPCI (never beyond it); without reference
    # territory it moves towards the indicator's goal; a context indicator (neutre) has none.
    base_year = date(ANCHOR_YEAR, 1, 1) if ANCHOR_YEAR in years else date(int(years[-1]), 1, 1)
    pairs = (
        obj_ind.filter(pl.col("code_qp").is_not_null())
        .select("code_indicateur", "code_qp")
        .unique()
        .sort("code_indicateur", "code_qp")
    )
    at_base = pl.col("date_valeur") == base_year
    baseline = qpv_values.filter(at_base).select(
        "code_indicateur", pl.col("code_territoire").alias("code_qp"), pl.col("valeur").alias("valeur_reference")
    )
    epci_base = (
        refs["EPCI"]
        .filter(at_base)
        .select("code_indicateur", pl.col("code_territoire").alias("siren_epci"), pl.col("valeur").alias("reference"))
    )
    goals = pl.DataFrame(
        {
            "code_indicateur": [s[0] for s in spec],
            "sens_dir": sens,
            "unite": [s[2] for s in spec],
            "goal": [s[13] if isinstance(s[13], float) else None for s in spec],
            "goal_factor": [float(s[13][1:]) if isinstance(s[13], str) else None for s in spec],
        },
        schema_overrides={"goal": pl.Float64, "goal_factor": pl.Float64},
    )
    work = (
        pairs.join(baseline, on=["code_indicateur", "code_qp"], how="left")
        .join(quartiers.select("code_qp", pl.col("siren_epci").cast(pl.String)), on="code_qp", how="left")
        .join(epci_base, on=["code_indicateur", "siren_epci"], how="left")
        .join(goals, on="code_indicateur")
    )
    b = work["valeur_reference"].to_numpy().astype(float)
    goal = np.where(
        work["reference"].is_not_null().to_numpy(),
        work["reference"].to_numpy().astype(float),
        np.where(
            work["goal_factor"].is_not_null().to_numpy(),
            b * work["goal_factor"].to_numpy().astype(float),
            work["goal"].to_numpy().astype(float),
        ),
    )
    direction = work["sens_dir"].to_numpy()
    towards = direction * (goal - b) > 0  # a QPV already past its reference keeps its level
    target = b + np.where(towards, rng.uniform(*TARGET_SHARE, work.height) * (goal - b), 0.0)
    target = _round(target, work["unite"].to_numpy())
    target = np.clip(target, np.fmin(b, np.where(towards, goal, b)), np.fmax(b, np.where(towards, goal, b)))
    target = np.where(direction == 0, np.nan, target)
    # The 2027 step (the actualisation): INTERMEDIATE_SHARE of the way to the 2030 target, on
    # a target that moves (a target equal to its baseline has no step).
    step = _round(b + rng.uniform(*INTERMEDIATE_SHARE, work.height) * (target - b), work["unite"].to_numpy())
    step = np.where(np.isnan(target) | (step == b) | (step == target), np.nan, step)
    cibles = (
        work.with_columns(
            pl.Series("valeur_cible", target).fill_nan(None),
            pl.Series("valeur_cible_intermediaire", step).fill_nan(None),
            pl.when(pl.col("valeur_reference").is_null())
            .then(None)
            .otherwise(pl.lit(base_year))
            .alias("date_reference"),
        )
        .with_columns(
            pl.when(pl.col("valeur_cible").is_null())
            .then(None)
            .otherwise(pl.lit(date(2030, 12, 31)))
            .alias("date_cible"),
            pl.when(pl.col("valeur_cible_intermediaire").is_null() | pl.col("valeur_reference").is_null())
            .then(None)
            .otherwise(pl.lit(INTERMEDIATE_DATE))
            .alias("date_cible_intermediaire"),
        )
        .with_columns(
            pl.when(pl.col("date_cible_intermediaire").is_null())
            .then(None)
            .otherwise(pl.col("valeur_cible_intermediaire"))
            .alias("valeur_cible_intermediaire")
        )
        .select(
            "code_indicateur",
            "code_qp",
            "valeur_reference",
            "date_reference",
            "valeur_cible",
            "date_cible",
            "valeur_cible_intermediaire",
            "date_cible_intermediaire",
        )
        .sort("code_indicateur", "code_qp")
    )
    return indicateur, _as_published(rng, valeurs, indicateur, scale.reference_date), cibles, objectif_indicateur


# The denominator of each ratio per inhabitant of the QPV (population active, 15-64 ans, ménages,
# élèves, répondants…): a QPV's value comes with numerator and denominator, so that several QPV
# together are the ratio of their sums (docs/indicateurs.md). A ratio not listed: the population.
DENOMINATOR_PER_INHABITANT = {
    "CHOM": 0.42,
    "EMPL": 0.63,
    "EMPLF": 0.32,
    "NEET": 0.13,
    "RET6": 0.014,
    "DNB": 0.013,
    "CHAL": 0.03,
    "INSEC": 0.03,
    "LOGSOC": 0.42,
    "CHOMJ": 0.10,
    "INACT": 0.63,
    "HALO": 0.63,
    "PREC": 0.30,
    "DELD": 0.175,
    "IMPOS": 0.42,
    "COLDEF": 0.055,
    "MONOP": 0.42,
    "QPVPUB": 0.10,
    "FILLES": 0.10,
    "CRF": 0.006,
}


def _with_parts(valeurs: pl.DataFrame, indicateur: pl.DataFrame, quartiers: pl.DataFrame) -> pl.DataFrame:
    """Numerator and denominator of every QPV value of a rate (%, ‰; `gaps.rate_scale`): the
    denominator from the QPV's population (`DENOMINATOR_PER_INHABITANT`), the numerator the
    nearest whole number, the value recomputed from them to one decimal — as a producer publishes
    them. Suppressed values, the reference territories and the other units have none."""
    units = dict(indicateur.select("code_indicateur", "unite").iter_rows())
    scale = {code: gaps.rate_scale(unite) for code, unite in units.items()}
    # rates only: a ratio per 10 000 inhabitants of one QPV (a doctor or two) is read on a wider area
    share = {code: DENOMINATOR_PER_INHABITANT.get(code, 1.0) for code, unite in units.items() if gaps.is_rate(unite)}
    pop = dict(quartiers.select("code_qp", "population").iter_rows())
    rows = (
        pl.col("code_indicateur").is_in(list(share))
        & (pl.col("type_territoire") == "QPV")
        & pl.col("valeur").is_not_null()
    )
    echelle = pl.col("code_indicateur").replace_strict(scale, default=None, return_dtype=pl.Float64)
    den = (
        (
            pl.col("code_territoire").replace_strict(pop, default=None, return_dtype=pl.Float64)
            * pl.col("code_indicateur").replace_strict(share, default=None, return_dtype=pl.Float64)
        )
        .round(0)
        .clip(20, None)
    )
    with_parts = valeurs.with_columns(pl.when(rows).then(den).alias("denominateur")).with_columns(
        pl.when(rows)
        .then(
            (pl.col("valeur") / echelle * pl.col("denominateur"))
            .round(0)
            .clip(0, pl.when(echelle == 100).then(pl.col("denominateur")))
        )
        .alias("numerateur")
    )
    return with_parts.with_columns(
        pl.when(rows)
        .then((pl.col("numerateur") / pl.col("denominateur") * echelle).round(1))
        .otherwise(pl.col("valeur"))
        .alias("valeur")
    )


def _as_published(rng, valeurs: pl.DataFrame, indicateur: pl.DataFrame, au: date) -> pl.DataFrame:
    """A quarterly source (France Travail, `freshness.DEFAULT_SOURCES`) as it publishes: one value
    per quarter — the year's value in the 1st, a little seasonal noise in the others — up to the latest quarter
    published at the « données au » date `au` (2nd quarter 2026 at 15/11/2026), so that the
    freshness rule finds it « à jour ». (The yearly sources keep one value a year up to
    `Scale.value_years`, ahead of what Filosofi or the RP have published: the baselines, targets
    and statuses of the demo are drawn on them.) Drawn after every other value, so nothing else
    moves."""
    rules = {freshness.source_key(r.source): r for r in freshness.DEFAULT_SOURCES}
    per = {
        code: rules.get(freshness.source_key(source))  # one per indicator: a dozen or so
        for code, source in indicateur.select("code_indicateur", "source").iter_rows()
    }
    quarterly = [code for code, r in per.items() if r and r.rythme == 3]
    expected = {
        code: freshness.expected_vintage(au, rythme=r.rythme, delai=r.delai)
        for code, r in per.items()
        if r and r.rythme == 3
    }
    q = valeurs.filter(pl.col("code_indicateur").is_in(quarterly))
    if q.height:
        last = q["date_valeur"].max()
        # the years' rows, and the last year's again for the quarters published after it
        extra = q.filter(pl.col("date_valeur") == last).with_columns(pl.col("date_valeur").dt.offset_by("1y"))
        q = (
            pl.concat([q, extra])
            .join(pl.DataFrame({"trimestre": [0, 3, 6, 9]}), how="cross")
            .with_columns(pl.col("date_valeur").dt.offset_by(pl.format("{}mo", pl.col("trimestre"))))
        )
        # the 1st quarter keeps the year's value (dated the 1st of January: baselines read it)
        noise = pl.Series(np.where(q["trimestre"].to_numpy() == 0, 1.0, rng.normal(1.0, 0.02, q.height)))
        unite = dict(indicateur.select("code_indicateur", "unite").iter_rows())
        integer = pl.col("code_indicateur").replace_strict(unite, default="").is_in(["nb", "jours"])
        # a rate with its parts moves its numerator, and is recomputed from its parts (`_with_parts`)
        parts = pl.col("numerateur").is_not_null()
        numerateur = pl.when(parts).then((pl.col("numerateur") * noise).round(0).clip(0, pl.col("denominateur")))
        q = (
            q.with_columns(numerateur.alias("numerateur"))
            .with_columns(
                pl.when(parts)
                .then(
                    (
                        pl.col("numerateur")
                        / pl.col("denominateur")
                        * pl.col("code_indicateur").replace_strict(
                            {code: gaps.rate_scale(u) for code, u in unite.items()},
                            default=None,
                            return_dtype=pl.Float64,
                        )
                    ).round(1)
                )
                .when(integer)
                .then((pl.col("valeur") * noise).round(0))
                .otherwise((pl.col("valeur") * noise).round(1))
                .alias("valeur")
            )
            .drop("trimestre")
        )
        valeurs = pl.concat([valeurs.filter(~pl.col("code_indicateur").is_in(quarterly)), q.select(valeurs.columns)])
    cut = pl.col("code_indicateur").replace_strict(expected, default=None, return_dtype=pl.Date)
    return valeurs.filter(cut.is_null() | (pl.col("date_valeur") <= cut)).sort(
        "code_indicateur", "type_territoire", "code_territoire", "date_valeur"
    )


# Breakdowns where the policy asks for them (valeur_indicateur_detail, migration 0014): demandeurs
# d'emploi by sexe and by âge, the taux d'emploi by sexe. Shares of the real QPV figures (France
# Travail, ONPV): about as many women as men among jobseekers, 15 % under 26 and 25 % aged 50 and
# over; women's employment rate 10–15 points below men's.
FEMMES_DEFM = (0.48, 0.52)  # share of women among the demandeurs d'emploi
AGE_BANDS = ("moins de 26 ans", "26 à 49 ans", "50 ans et plus")
AGE_SHARES = (0.15, 0.60, 0.25)  # of the demandeurs d'emploi, per band (mean)
EMPL_GAP = (10.0, 15.0)  # points between men's and women's employment rate
FEMMES_15_64 = (0.50, 0.53)  # share of women among the 15-64 ans


def _split(rng, total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Whole counts per category (columns) adding up exactly to `total`: floors of the shares,
    the remainder to the categories with the largest fractions."""
    raw = total[:, None] * shares
    out = np.floor(raw)
    rest = (total - out.sum(axis=1)).astype(int)
    order = np.argsort(-(raw - out) + rng.random(raw.shape) * 1e-9, axis=1)
    out[np.arange(len(total))[:, None], order] += np.arange(shares.shape[1])[None, :] < rest[:, None]
    return out


def _detail_rows(
    totals: pl.DataFrame,
    dimension: str,
    modalites: tuple[str, ...],
    values: np.ndarray,
    num: np.ndarray | None = None,
    den: np.ndarray | None = None,
) -> pl.DataFrame:
    """Rows of valeur_indicateur_detail: one per total row and modalité (columns of `values`)."""
    keys = totals.select("code_indicateur", "type_territoire", "code_territoire", "date_valeur", "source_fichier")
    return pl.concat(
        [
            keys.with_columns(
                pl.lit(dimension).alias("dimension"),
                pl.lit(m).alias("modalite"),
                pl.Series("valeur", values[:, j]),
                pl.lit(None, pl.Float64).alias("numerateur")
                if num is None
                else pl.Series("numerateur", num[:, j], dtype=pl.Float64),
                pl.lit(None, pl.Float64).alias("denominateur")
                if den is None
                else pl.Series("denominateur", den[:, j], dtype=pl.Float64),
            )
            for j, m in enumerate(modalites)
        ]
    )


def _with_secret(rows: pl.DataFrame) -> pl.DataFrame:
    """A count of people under the threshold stored as « s » with no value; and, as INSEE does,
    when it is the only one of its group (territory, date, dimension) the smallest other count is
    suppressed too, so that it cannot be recovered from the published total."""
    group = ["code_indicateur", "type_territoire", "code_territoire", "date_valeur", "dimension"]
    small = pl.col("valeur") < SECRET_THRESHOLD
    rank = pl.when(~small).then(pl.col("valeur")).rank("ordinal").over(group)
    secondary = (small.cast(pl.Int32).sum().over(group) == 1) & ~small & (rank == 1)
    hidden = small | secondary
    return rows.with_columns(
        pl.when(hidden).then(pl.lit("s")).alias("secret"),
        pl.when(hidden).then(None).otherwise(pl.col("valeur")).alias("valeur"),
    )


def _breakdowns(rng, valeurs: pl.DataFrame) -> pl.DataFrame:
    """DEFM by sexe and âge (whole counts adding up to the total), EMPL by sexe (numerator and
    denominator adding up to the total's parts, each rate given back by its parts), for every
    published QPV value — the same dates as the totals."""
    qpv = (pl.col("type_territoire") == "QPV") & pl.col("valeur").is_not_null()
    defm = valeurs.filter(qpv & (pl.col("code_indicateur") == "DEFM"))
    total = defm["valeur"].to_numpy().astype(float)
    f = rng.uniform(*FEMMES_DEFM, defm.height)
    sexe = _split(rng, total, np.column_stack([f, 1 - f]))
    ages = rng.dirichlet(np.array(AGE_SHARES) * 60, defm.height)
    age = _split(rng, total, ages)
    empl = valeurs.filter(qpv & (pl.col("code_indicateur") == "EMPL") & pl.col("denominateur").is_not_null())
    den, num = empl["denominateur"].to_numpy(), empl["numerateur"].to_numpy()
    den_f = np.round(den * rng.uniform(*FEMMES_15_64, empl.height))
    den_h = den - den_f
    gap = rng.uniform(*EMPL_GAP, empl.height)  # men − women, in points
    rate = num / den * 100
    num_f = np.clip(
        np.round((rate - gap * den_h / den) / 100 * den_f), np.maximum(0, num - den_h), np.minimum(den_f, num)
    )
    num_h = num - num_f
    parts_num, parts_den = np.column_stack([num_f, num_h]), np.column_stack([den_f, den_h])
    return pl.concat(
        [
            _with_secret(
                pl.concat(
                    [_detail_rows(defm, "sexe", ("femmes", "hommes"), sexe), _detail_rows(defm, "âge", AGE_BANDS, age)]
                )
            ),
            _detail_rows(
                empl, "sexe", ("femmes", "hommes"), np.round(parts_num / parts_den * 100, 1), parts_num, parts_den
            ).with_columns(pl.lit(None, pl.String).alias("secret")),
        ],
        how="diagonal",
    ).select(
        "code_indicateur",
        "type_territoire",
        "code_territoire",
        "date_valeur",
        "dimension",
        "modalite",
        "valeur",
        "secret",
        "numerateur",
        "denominateur",
        "source_fichier",
    )


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    # a QPV without EPCI is compared with its contract's signatory, as the « Indicateurs » page does
    quartiers = (
        frames["quartier"]
        .join(frames["contrat"].select("code_contrat", "siren_signataire"), on="code_contrat", how="left")
        .with_columns(pl.coalesce(pl.col("siren_epci").cast(pl.String), "siren_signataire").alias("siren_epci"))
    )
    indicateur, valeurs, cibles, objectif_indicateur = _indicateurs(rng, quartiers, frames["objectif"], scale)
    # drawn after every other value of this step, so nothing else moves
    detail = _breakdowns(rng, valeurs)
    return {
        "indicateur": indicateur,
        "valeur_indicateur": valeurs,
        "cible_indicateur": cibles,
        "objectif_indicateur": objectif_indicateur,
        "valeur_indicateur_detail": detail,
    }
