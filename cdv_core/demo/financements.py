"""Step 5: the financing lines of each action-year, per financeur."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale
from cdv_core.demo.porteurs import _PORTEUR_TYPES

_FUNDERS = [  # financeur, probability on an action-year, amount factor vs the P147 line
    ("État P147", 0.88, 1.0), ("commune", 0.55, 0.9), ("EPCI", 0.35, 0.7), ("CAF", 0.20, 0.5),
    ("département", 0.15, 0.5), ("région", 0.08, 0.6), ("État droit commun", 0.15, 0.8),
    ("bailleurs", 0.07, 0.6), ("FSE+", 0.03, 1.5), ("Banque des territoires", 0.02, 2.0), ("autres", 0.05, 0.3),
]

# code, libellé, unité, sens, source, axe, QPV level, reference level, agrégation

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




def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    return {"financement": _financements(rng, frames["_action_detail"], scale)}
