"""Step 8: the milestones of each contract (jalons).

The milestones that are meetings (signature, COPIL de programmation, revue annuelle, consultation
of the conseils citoyens on the rapport annuel) take their dates from the meetings of the
governance step (`_evenement`): planned on the first scheduled session, realised on the first
held one, not realised while none is held (a cancelled COPIL leaves its jalon late). The vote of
the rapport annuel (conseil communautaire, no instance in the store) keeps its own date, at least
one month after the conseils citoyens were consulted (décret 2015-1118). The other milestones
(appel à projets, CPO, évaluation, actualisation 2027, end of contract) are drawn on the calendar.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _as_date, _days
from cdv_core.demo.gouvernance import EVENEMENTS

# Planned dates when no meeting is on the calendar yet (years after the generated meetings).
_DEFAUT = {"programmation": (5, 15), "revue annuelle": (6, 15)}
# Per season of the contract (`_saison_rapport`): consultation and vote of the rapport annuel of
# year N, in N+1.
_RAPPORT = {"printemps": ((4, 15), (6, 30)), "automne": ((9, 15), (12, 10))}
_VOTE_DELAI_JOURS = 38  # > 1 month between the consultation and the vote, whatever the months
_LIBELLES = {
    "appel à projets": "Lancement de l'appel à projets {y}",
    "programmation": "COPIL de programmation {y}",
    "revue annuelle": "Revue annuelle des indicateurs {y}",
    "consultation conseils citoyens": "Rapport annuel {y} soumis aux conseils citoyens",
    "rapport annuel": "Rapport annuel {y} voté",
}


def _jalons(rng, contrats, evenement, saison, scale: Scale) -> pl.DataFrame:
    ref = scale.reference_date
    rows = []
    for s, ((cm, cd), (vm, vd)) in _RAPPORT.items():
        for y in range(2024, 2031):
            rows += [
                (s, "appel à projets", _LIBELLES["appel à projets"].format(y=y), date(y - 1, 10, 1), y),
                (s, "programmation", _LIBELLES["programmation"].format(y=y), date(y, *_DEFAUT["programmation"]), y),
                (s, "revue annuelle", _LIBELLES["revue annuelle"].format(y=y), date(y, *_DEFAUT["revue annuelle"]), y),
            ]
            if y < 2030:
                rows += [
                    (
                        s,
                        "consultation conseils citoyens",
                        _LIBELLES["consultation conseils citoyens"].format(y=y),
                        date(y + 1, cm, cd),
                        y,
                    ),
                    (s, "rapport annuel", _LIBELLES["rapport annuel"].format(y=y), date(y + 1, vm, vd), y),
                ]
        rows += [
            (s, "renouvellement CPO", "Bilan des CPO 2024-2026", date(2026, 9, 30), 2026),
            (s, "renouvellement CPO", "Renouvellement des CPO 2027-2029", date(2026, 12, 31), 2026),
            (s, "évaluation", "Évaluation à mi-parcours", date(2027, 3, 31), 2027),
            (s, "fin du contrat", "Fin du contrat de ville", date(2030, 12, 31), 2030),
        ]
    tpl = pl.DataFrame(rows, schema=["saison", "type_jalon", "libelle", "date_prevue", "annee"], orient="row")
    base = (
        contrats.select("code_contrat", "date_signature", "date_debut")
        .join(saison, on="code_contrat")
        .join(tpl, on="saison")
        .filter(
            (pl.col("date_prevue") >= pl.col("date_debut") - pl.duration(days=120))
            & (
                (pl.col("annee") >= pl.col("date_debut").dt.year())
                | ~pl.col("type_jalon").is_in(["consultation conseils citoyens", "rapport annuel"])
            )
        )
    )
    sign = contrats.select(
        "code_contrat",
        pl.lit("signature").alias("type_jalon"),
        pl.lit("Signature du contrat de ville").alias("libelle"),
        pl.col("date_signature").alias("date_prevue"),
        pl.col("date_signature").dt.year().alias("annee"),
    )
    n = contrats.height
    actu = contrats.select(
        "code_contrat",
        pl.lit("actualisation 2027").alias("type_jalon"),
        pl.lit("Actualisation du contrat (clause de revoyure)").alias("libelle"),
        # the demo's contracts keep the national default date; at national scale half plan it in June
        pl.Series(
            "date_prevue",
            _as_date(
                np.where(
                    (rng.random(n) < 0.5) & (scale.name != "demo"), _days(date(2027, 6, 30)), _days(date(2027, 12, 31))
                )
            ),
        ),
        pl.lit(2027).alias("annee"),
    )
    jalon = pl.concat([sign, base.select(sign.columns), actu], how="vertical_relaxed").sort(
        "code_contrat", "date_prevue", "type_jalon", "libelle"
    )

    # Milestones that are meetings: the meetings' dates (planned: first session scheduled).
    ev = evenement.select(
        "code_contrat",
        "type_jalon",
        "annee",
        pl.col("date_prevue").alias("ev_prevue"),
        pl.col("date_realisation").alias("ev_realisation"),
    )
    is_meeting = pl.col("type_jalon").is_in(list(EVENEMENTS))
    jalon = (
        jalon.join(ev, on=["code_contrat", "type_jalon", "annee"], how="left", maintain_order="left")
        .with_columns(
            pl.when(is_meeting)
            .then(pl.coalesce("ev_prevue", "date_prevue"))
            .otherwise(pl.col("date_prevue"))
            .alias("date_prevue")
        )
        .with_columns(pl.col("ev_prevue").is_not_null().alias("has_event"))
        .drop("ev_prevue")
    )

    # Other milestones: done on time or a little late; a few reviews of the CPO not done (late
    # for real). Every appel à projets due was launched (its programmation COPIL followed).
    m = jalon.height
    u = rng.random(m)
    slip = pl.lit(pl.Series(rng.integers(-7, 25, m)))
    done = (pl.col("date_prevue") <= pl.lit(ref)) & (pl.Series(u < 0.9) | (pl.col("type_jalon") == "appel à projets"))
    if scale.name == "demo":  # at least one contract has not reviewed its CPO before renewing them
        bilan = (jalon["libelle"].str.starts_with("Bilan des CPO")).to_numpy()
        done = done & pl.Series(~(bilan & (np.cumsum(bilan) == bilan.sum())))
    signed_before = (
        (pl.col("type_jalon") == "signature") & ~pl.col("has_event") & (pl.col("date_prevue") <= pl.lit(ref))
    )
    jalon = jalon.with_columns(
        pl.when(signed_before)
        .then(pl.col("date_prevue"))  # signed before it started: no meeting recorded
        .when(is_meeting)
        .then(pl.col("ev_realisation"))
        .when(done)
        .then(pl.min_horizontal(pl.col("date_prevue") + pl.duration(days=slip), pl.lit(ref)))
        .otherwise(None)
        .alias("date_realisation")
    ).drop("ev_realisation", "has_event")

    # The vote of the rapport annuel comes at least a month after the conseils citoyens were
    # consulted; without their avis, half the councils vote anyway on the planned date.
    consult = jalon.filter(pl.col("type_jalon") == "consultation conseils citoyens").select(
        "code_contrat", "annee", pl.col("date_realisation").alias("consultee")
    )
    vote = jalon.join(consult, on=["code_contrat", "annee"], how="left", maintain_order="left")
    earliest = pl.col("consultee") + pl.duration(days=_VOTE_DELAI_JOURS)
    voted_on = (
        pl.when(pl.col("consultee").is_not_null())
        .then(pl.max_horizontal(pl.col("date_prevue") + pl.duration(days=slip), earliest))
        .when(pl.Series(u < 0.5))
        .then(pl.col("date_prevue") + pl.duration(days=slip))
    )
    jalon = vote.with_columns(
        pl.when(pl.col("type_jalon") != "rapport annuel")
        .then(pl.col("date_realisation"))
        .when(voted_on <= pl.lit(ref))
        .then(voted_on)
        .otherwise(None)
        .alias("date_realisation")
    ).drop("consultee")

    jalon = jalon.sort("code_contrat", "date_prevue", "type_jalon", "libelle").with_columns(
        pl.format(
            "J-{}-{}",
            pl.col("code_contrat"),
            pl.int_range(1, pl.len() + 1).over("code_contrat").cast(pl.String).str.zfill(3),
        ).alias("id_jalon")
    )
    return jalon.select("id_jalon", "code_contrat", "type_jalon", "libelle", "date_prevue", "date_realisation", "annee")


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    return {"jalon": _jalons(rng, frames["contrat"], frames["_evenement"], frames["_saison_rapport"], scale)}
