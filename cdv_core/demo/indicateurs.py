"""Step 6: indicators, their values (QPV and reference territories), baselines and targets."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _choice

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




def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    indicateur, valeurs, cibles, objectif_indicateur = _indicateurs(rng, frames["contrat"], frames["quartier"],
                                                                    frames["objectif"], scale)
    return {"indicateur": indicateur, "valeur_indicateur": valeurs, "cible_indicateur": cibles,
            "objectif_indicateur": objectif_indicateur}
