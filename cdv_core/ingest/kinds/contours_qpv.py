"""Official QPV contours (GeoJSON) → `quartier.contour` of the QPV already in the store."""

from __future__ import annotations

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.ingest.model import WARNING, Load, problem, problems_frame
from cdv_core.ingest.spec_types import Kind
from cdv_core.ingest.validate import duplicates, store_values


def build(
    cur: duckdb.DuckDBPyConnection, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat: str | None = None
) -> tuple[list[Load], list[pl.DataFrame], list[str]]:
    """Contours only fill `quartier.contour` of QPV already in the store; the others are counted
    in one warning (the national file covers every QPV, a store usually a few)."""
    problems = duplicates(typed, spec.key, fichier)
    known = store_values(cur, "quartier", "code_qp")
    unknown = typed.filter(~pl.col("code_qp").is_in(known.implode()) & pl.col("code_qp").is_not_null())
    if unknown.height:
        problems.append(
            problems_frame(
                [
                    problem(
                        fichier,
                        None,
                        "code_qp",
                        f"{fmt.plural(unknown.height, 'quartier')}, ex. {unknown['code_qp'][0]}",
                        "Quartiers absents de la base : leurs contours sont ignorés",
                        "Importez d'abord la liste officielle des QPV si vous voulez les ajouter",
                        WARNING,
                    )
                ]
            )
        )
    frame = typed.filter(pl.col("code_qp").is_in(known.implode())).select("code_qp", "contour")
    notes = [
        fmt.plural(frame.height, "contour de quartier de la base", "contours de quartiers de la base")
        + " dans ce fichier."
    ]
    return [Load("quartier", frame, ("code_qp",), ("contour",), scope_col="code_qp")], problems, notes
