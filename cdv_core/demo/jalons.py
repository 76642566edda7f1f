"""Step 8: the milestones of each contract (jalons)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _as_date, _days

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




def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    return {"jalon": _jalons(rng, frames["contrat"], scale)}
