"""Demo data for « Jalons et actualisation 2027 »: a baseline frozen at signature.

One contract (CV-DEMO-VERM in the demo, the first contract at national scale) gets the baseline
its team would have frozen on the day of signature, computed by the same rule as the app's
« Figer une référence » button (`queries.jalons.snapshot_frames`) on the generated frames. So
that the « what changed since » view has objective changes to show in the demo, one objective
of that contract is dated after signature (added at the 2025 annual review) and the snapshot
holds one objective that was dropped since.
"""

from __future__ import annotations

from datetime import date, datetime, time

import duckdb
import polars as pl

from cdv_core.queries import jalons as q

DEMO_CONTRACT = "CV-DEMO-VERM"
ADDED_OBJECTIVE_DATE = date(2025, 6, 19)
_DROPPED = {
    "code_objectif": "OBJ-QN00281M-9",
    "code_qp": "QN00281M",
    "axe": "Transition écologique",
    "libelle": "Créer une ressourcerie de quartier",
}
_TABLES = ("objectif", "action", "financement", "valeur_indicateur", "quartier", "porteur")


def generate(rng, frames: dict[str, pl.DataFrame], scale) -> dict[str, pl.DataFrame]:
    contrats = frames["contrat"]
    code = DEMO_CONTRACT if scale.name == "demo" else contrats["code_contrat"].sort()[0]
    signature = contrats.filter(pl.col("code_contrat") == code)["date_signature"][0]
    out: dict[str, pl.DataFrame] = {}
    objectif = frames["objectif"]
    if scale.name == "demo":
        added = objectif.filter((pl.col("code_contrat") == code) & pl.col("code_qp").is_not_null())[
            "code_objectif"
        ].sort()[-1]
        objectif = objectif.with_columns(
            pl.when(pl.col("code_objectif") == added)
            .then(pl.lit(ADDED_OBJECTIVE_DATE))
            .otherwise(pl.col("date_creation"))
            .alias("date_creation")
        )
        out["objectif"] = objectif
    con = duckdb.connect()
    try:
        for table in _TABLES:
            con.register(table, (objectif if table == "objectif" else frames[table]).to_arrow())
        snap = q.snapshot_frames(con, contrat=code, date_gel=signature)
    finally:
        con.close()
    objectifs = snap["objectifs"]
    if scale.name == "demo":
        objectifs = pl.concat([objectifs, pl.DataFrame([_DROPPED], schema=objectifs.schema)])
    out["reference_gel"] = pl.DataFrame(
        {
            "id_gel": [1],
            "code_contrat": [code],
            "libelle": ["Référence à la signature"],
            "date_gel": [signature],
            "annee_programmation": [signature.year],
            "created_at": [datetime.combine(signature, time(18, 0))],
            "auteur": ["Équipe projet (démonstration)"],
        }
    )
    out["reference_gel_objectif"] = objectifs.with_columns(pl.lit(1).alias("id_gel"))
    out["reference_gel_thematique"] = snap["thematiques"].with_columns(pl.lit(1).alias("id_gel"))
    out["reference_gel_indicateur"] = snap["indicateurs"].with_columns(pl.lit(1).alias("id_gel"))
    return out
