"""Step 12: the bilans porteurs sent for their subsidies (issue #19).

A bilan is owed for each action and exercice with an amount granted (`queries.bilans`); the demo
records those whose due date (30/06 of the next year) has passed at its « données au » date
(15/11/2026: the exercices 2024 and 2025). Most porteurs send theirs around the due date (some
months before, some weeks after); a few porteurs (« retardataires ») often send none, so that
about one bilan in ten is missing: the late list and the overview's alert have something to
show. An older bilan has more often been examined: most are « accepté », some « à compléter »
(with a comment saying what is missing), the most recent ones still « reçu ». Every date falls
after the end of the exercice and before the « données au » date (the import warns otherwise).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale
from cdv_core.queries.bilans import DEFAULT_DELAI_MOIS, due_date

AUTEUR = "démonstration"
_A_COMPLETER = (
    "Compte rendu financier incomplet : le tableau des charges réalisées manque.",
    "Écart de plus de 20 % entre le budget prévisionnel et le réalisé, à expliquer.",
    "Bilan qualitatif reçu, compte rendu financier (CERFA n° 15059) à fournir.",
    "Nombre de participants par quartier non renseigné.",
    "Signature du représentant légal manquante.",
)
_P_RETARDATAIRE = 0.15  # share of porteurs that often send no bilan
_P_MISSING = (0.04, 0.45)  # chance a bilan is missing: ordinary porteur, retardataire


def _bilans(rng: np.random.Generator, financements: pl.DataFrame, actions: pl.DataFrame, scale: Scale) -> pl.DataFrame:
    ref = scale.reference_date
    years = [y for y in sorted(financements["annee"].unique().to_list()) if due_date(y, DEFAULT_DELAI_MOIS) < ref]
    owed = (
        financements.filter((pl.col("montant_accorde") > 0) & pl.col("annee").is_in(years))
        .select("code_action", "annee")
        .unique()
        .sort("code_action", "annee")
        .join(actions.select("code_action", "id_porteur"), on="code_action", how="left")
    )
    n = owed.height
    porteurs = owed["id_porteur"].unique().sort()
    late_porteur = dict(zip(porteurs.to_list(), (rng.random(porteurs.len()) < _P_RETARDATAIRE).tolist()))
    retardataire = owed["id_porteur"].replace_strict(late_porteur, default=False, return_dtype=pl.Boolean).to_numpy()
    missing = rng.random(n) < np.where(retardataire, _P_MISSING[1], _P_MISSING[0])
    # reception: around the due date (from 5 months before to 4 months after), after the year's end
    days = owed.select(  # days since 1970-01-01, as numpy works on them
        pl.date(pl.col("annee"), 12, 1)
        .dt.offset_by(f"{DEFAULT_DELAI_MOIS}mo")
        .dt.month_end()
        .cast(pl.Int32)
        .alias("due"),
        pl.date(pl.col("annee"), 12, 31).cast(pl.Int32).alias("year_end"),
    )
    due, year_end = days["due"].to_numpy().astype(np.int64), days["year_end"].to_numpy().astype(np.int64)
    offset = np.clip(rng.normal(-15, 55, n), -150, 125).round().astype(np.int64)
    offset += np.where(retardataire, 40, 0)  # a retardataire that sends it sends it late
    ref_day = (ref - date(1970, 1, 1)).days
    received = np.clip(due + offset, year_end + 10, ref_day - 3)
    # examined: the older the bilan, the more often; accepted most of the time
    age = ref_day - received
    examined = rng.random(n) < np.clip(age / 240, 0.15, 0.95)
    to_complete = rng.random(n) < 0.12
    statut = np.where(~examined, "reçu", np.where(to_complete, "à compléter", "accepté"))
    comment = np.array(_A_COMPLETER, dtype=object)[rng.integers(0, len(_A_COMPLETER), n)]
    examined_on = received + np.where(examined, rng.integers(3, 60, n), 0)
    frame = owed.with_columns(
        pl.Series("date_reception", received).cast(pl.Int32).cast(pl.Date),
        pl.Series("statut", statut),
        pl.when(pl.Series(statut) == "à compléter")
        .then(pl.Series(comment, dtype=pl.String))
        .otherwise(None)
        .alias("commentaire"),
        pl.Series("_modifie", np.minimum(examined_on, ref_day)).cast(pl.Int32).cast(pl.Date),
        pl.Series("_missing", missing),
    ).filter(~pl.col("_missing"))
    return frame.select(
        "code_action",
        "annee",
        "date_reception",
        "statut",
        "commentaire",
        pl.lit(None, dtype=pl.Int32).alias("id_import"),
        pl.lit(AUTEUR).alias("modifie_par"),
        (pl.col("_modifie").cast(pl.Datetime("us")) + pl.duration(hours=10)).alias("modifie_le"),
    ).sort("code_action", "annee")


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    return {"bilan_action": _bilans(rng, frames["financement"], frames["action"], scale)}


__all__ = ["AUTEUR", "generate"]
