"""Funding: the programmation's amounts, from demandé to versé.

Every amount shown anywhere comes from `funding_totals`; totals by QPV use allocation shares.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cdv_core.domain import model


def actions_of_year(cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int) -> int:
    """Actions of the programmation active in `annee` (annual, or a multi-year span covering it),
    excluding refused ones."""
    return cur.execute(
        """SELECT count(*) FROM action
           WHERE ($contrat IS NULL OR code_contrat = $contrat)
             AND annee_debut <= $annee AND annee_fin >= $annee AND statut <> 'refusée'""",
        {"contrat": contrat, "annee": annee},
    ).fetchall()[0][0]


def funding_totals(cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int | None) -> dict:
    """Amounts demandé / accordé / versé of the funding lines of a year (all years when None),
    with the CPO share of the crédits spécifiques (État P147) accordés."""
    row = cur.execute(
        """SELECT coalesce(sum(f.montant_demande), 0), coalesce(sum(f.montant_accorde), 0),
                  coalesce(sum(f.montant_verse), 0),
                  coalesce(sum(f.montant_accorde) FILTER (WHERE f.financeur = $p147), 0),
                  coalesce(sum(f.montant_accorde) FILTER (WHERE f.financeur = $p147 AND a.mode_financement = 'CPO'), 0)
           FROM financement f JOIN action a USING (code_action)
           WHERE ($contrat IS NULL OR a.code_contrat = $contrat) AND ($annee IS NULL OR f.annee = $annee)""",
        {"contrat": contrat, "annee": annee, "p147": model.CREDITS_SPECIFIQUES},
    ).fetchall()[0]
    demande, accorde, verse, p147, p147_cpo = (float(v) for v in row)
    return {
        "demande": demande,
        "accorde": accorde,
        "verse": verse,
        "p147_accorde": p147,
        "p147_cpo_accorde": p147_cpo,
        "part_cpo": (p147_cpo / p147) if p147 else None,
    }


def unpaid_grants(cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, months: int) -> pl.DataFrame:
    """Funding lines accordées (> 0) with nothing paid `months` months after the decision."""
    return cur.sql(
        """SELECT a.code_contrat, f.code_action, a.libelle AS action, p.nom AS porteur, f.financeur, f.annee,
                  f.montant_accorde, f.date_decision,
                  date_diff('day', f.date_decision, $au) AS jours_depuis_decision
           FROM financement f JOIN action a USING (code_action) JOIN porteur p USING (id_porteur)
           WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
             AND f.montant_accorde > 0 AND coalesce(f.montant_verse, 0) = 0
             AND f.date_decision IS NOT NULL
             AND f.date_decision + to_months($months) < $au
           ORDER BY f.date_decision, f.code_action, f.financeur""",
        params={"contrat": contrat, "au": donnees_au, "months": months},
    ).pl()
