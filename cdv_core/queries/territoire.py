"""Contracts and quartiers of a selection."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import duckdb
import polars as pl

from cdv_core import store
from cdv_core.perimetre import bind


class StoreContext(TypedDict):
    demo: str | None  # the demo's name when the store is the demo territory
    donnees_au: date | None  # the store's « données au »
    version: int  # the data version (bumped by every write)
    version_token: str | None  # drawn anew with each version (migration 0017): the read cache on disk's key


class TerritoryFigures(TypedDict):
    contrats: int
    quartiers: int
    population: int


def contracts(cur: duckdb.DuckDBPyConnection, *, perimetre: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Every contract of the périmètre, for the selector: code, libellé, période."""
    return cur.execute(
        """SELECT code_contrat, libelle, date_debut, date_fin, date_signature FROM contrat
           WHERE $perimetre IS NULL OR list_contains($perimetre, code_contrat) ORDER BY libelle""",
        parameters={"perimetre": bind(perimetre)},
    ).pl()


def contracts_by_size(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Every contract's code, those with the most QPV first (then by code)."""
    rows = cur.execute(
        """SELECT c.code_contrat FROM contrat c LEFT JOIN quartier q USING (code_contrat)
           GROUP BY c.code_contrat ORDER BY count(q.code_qp) DESC, c.code_contrat"""
    ).fetchall()
    return [code for (code,) in rows]


def quartiers(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    return cur.execute(
        """SELECT q.code_qp, q.libelle, q.code_contrat, q.insee_com, q.lib_com, q.population,
                  q.longitude, q.latitude, q.contour IS NOT NULL AS a_contour
           FROM quartier q
           WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
           ORDER BY q.code_qp""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()


def store_context(cur: duckdb.DuckDBPyConnection) -> StoreContext:
    """What the sidebar needs to know about the store: demo or not, and its data date."""
    found = store.metas(cur, "demo", "donnees_au", "store_version", "version_token")  # one query: read at every rerun
    return {
        "demo": found["demo"],
        "donnees_au": date.fromisoformat(found["donnees_au"]) if found["donnees_au"] else None,
        "version": int(found["store_version"] or 0),  # set when the store is opened
        "version_token": found["version_token"],
    }


def territory_figures(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> TerritoryFigures:
    """Number of contracts, of QPV and the population living in QPV for the selection."""
    n_contrats, n_qpv, population = cur.execute(
        """SELECT (SELECT count(*) FROM contrat WHERE ($contrat IS NULL OR code_contrat = $contrat)
                     AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))),
                  count(*), coalesce(sum(population), 0)
           FROM quartier WHERE ($contrat IS NULL OR code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))""",
        {"contrat": contrat, "perimetre": bind(perimetre)},
    ).fetchall()[0]
    return {"contrats": n_contrats, "quartiers": n_qpv, "population": int(population)}
