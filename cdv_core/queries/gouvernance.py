"""Governance: cadence of the instances."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl


def instance_cadence(cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date,
                     tolerance_days: int) -> pl.DataFrame:
    """Each instance with its last held meeting, next planned one, and whether it is late.

    An instance is late when its last held meeting (or, if it never met, its creation) is older
    than its expected cadence plus `tolerance_days` at the `donnees_au` date. Cancelled and
    postponed meetings do not count as held.
    """
    return cur.sql(
        """WITH last AS (
             SELECT code_instance,
                    max(date_reunion) FILTER (WHERE statut = 'tenue' AND date_reunion <= $au) AS derniere_tenue,
                    min(date_reunion) FILTER (WHERE statut = 'prévue' AND date_reunion > $au) AS prochaine_prevue,
                    count(*) FILTER (WHERE statut = 'tenue' AND date_reunion <= $au
                                     AND date_reunion > $au - INTERVAL 12 MONTH) AS tenues_12_mois
             FROM reunion GROUP BY code_instance)
           SELECT i.code_instance, i.code_contrat, i.code_qp, i.type_instance, i.libelle, i.cadence_mois,
                  i.date_creation, l.derniere_tenue, l.prochaine_prevue, coalesce(l.tenues_12_mois, 0) AS tenues_12_mois,
                  CAST(coalesce(l.derniere_tenue, i.date_creation) + to_months(i.cadence_mois)
                       + to_days($tolerance) AS DATE) AS echeance,
                  (coalesce(l.derniere_tenue, i.date_creation) + to_months(i.cadence_mois)
                       + to_days($tolerance)) < $au AS en_retard
           FROM instance i LEFT JOIN last l USING (code_instance)
           WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
             AND (i.date_creation IS NULL OR i.date_creation <= $au)
           ORDER BY en_retard DESC, i.code_contrat, i.type_instance, i.libelle""",
        params={"contrat": contrat, "au": donnees_au, "tolerance": tolerance_days},
    ).pl()
