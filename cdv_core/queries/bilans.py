"""Bilans des porteurs: the bilan (compte rendu financier, CERFA n° 15059) each porteur owes for
each exercice of a funded action, when it is due and where it stands (issue #19).

Rules (docs/financements.md, « Bilans des porteurs »):
- A bilan is owed for an action and an exercice when a funding line of that action and year has
  an amount granted (`financement.montant_accorde > 0`), whoever the funder. An action refused or
  abandoned with nothing granted owes nothing; one abandoned after a grant still owes the bilan
  of what it was granted (its status does not matter, only the money).
- Its due date (« échéance ») is the last day of the month `delai_mois` months after the end of
  the exercice: 30/06 of the next year with the default 6 (setting `CDV_BILAN_DELAI_MOIS`).
- Its state at the « données au » date: the status of the bilan recorded (`bilan_action`) if it
  was received by then — « accepté », « reçu » (to examine) or « à compléter » — else « en
  retard » once the due date has passed (the day after it), else « à venir ». A bilan received
  after the « données au » date is not yet received at that date.
- Completeness counts the bilans due at the date: received (any status) / due. Per QPV, an
  action counts in each QPV it serves (`action_quartier`), so QPV rows do not add up to the
  total when an action serves several; an action that serves none is under « sans QPV ».

Every function takes `contrat`, the session's `perimetre` (its contracts) and binds every value.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import TypedDict

import duckdb
import polars as pl

from cdv_core import memo
from cdv_core.perimetre import bind

DEFAULT_DELAI_MOIS = 6
SANS_QPV = "sans QPV"

# Every bilan owed in the selection, with its state at $donnees_au: the one definition every
# figure of this module (and the overview's alert) reads.
_BILANS = """
WITH dus AS (
    SELECT f.code_action, f.annee
    FROM financement f JOIN action a USING (code_action)
    WHERE f.montant_accorde > 0
      AND ($contrat IS NULL OR a.code_contrat = $contrat)
      AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))
    GROUP BY f.code_action, f.annee
),
recus AS (
    SELECT d.code_action, d.annee, a.code_contrat, a.libelle AS action, a.id_porteur, p.nom AS porteur,
           p.contact_nom, p.contact_email, p.contact_telephone,
           CAST(last_day(make_date(d.annee, 12, 1) + to_months($delai)) AS DATE) AS echeance,
           b.date_reception, b.statut, b.commentaire
    FROM dus d JOIN action a USING (code_action) LEFT JOIN porteur p USING (id_porteur)
    LEFT JOIN bilan_action b ON b.code_action = d.code_action AND b.annee = d.annee
                            AND b.date_reception <= $donnees_au
),
bilans AS (
    SELECT *, echeance < $donnees_au AS du,
           CASE WHEN statut IS NOT NULL THEN statut
                WHEN echeance < $donnees_au THEN 'en retard' ELSE 'à venir' END AS etat,
           CASE WHEN statut IS NULL AND echeance < $donnees_au
                THEN date_diff('day', echeance, $donnees_au) END AS jours_retard
    FROM recus
)
"""

# The completeness counters of a group of bilans (fixed SQL).
_COUNTS = """count(*) FILTER (WHERE du) AS dus,
             count(*) FILTER (WHERE du AND statut IS NOT NULL) AS recus,
             count(*) FILTER (WHERE du AND statut = 'accepté') AS acceptes,
             count(*) FILTER (WHERE du AND statut = 'reçu') AS a_examiner,
             count(*) FILTER (WHERE du AND statut = 'à compléter') AS a_completer,
             count(*) FILTER (WHERE etat = 'en retard') AS en_retard,
             count(*) FILTER (WHERE NOT du) AS a_venir,
             CASE WHEN count(*) FILTER (WHERE du) > 0
                  THEN count(*) FILTER (WHERE du AND statut IS NOT NULL) / count(*) FILTER (WHERE du) END AS part"""


def due_date(annee: int, delai_mois: int = DEFAULT_DELAI_MOIS) -> date:
    """The due date of the bilan of exercice `annee`: the last day of the month `delai_mois`
    months after December of that year (30/06 of the next year with 6). The SQL of `_BILANS`
    computes the same; this one is for texts and tests."""
    months = 11 + delai_mois  # months after January of `annee`
    year, month = annee + months // 12, months % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def _params(contrat: str | None, donnees_au: date, delai_mois: int, perimetre: tuple[str, ...] | None) -> dict:
    return {"contrat": contrat, "perimetre": bind(perimetre), "donnees_au": donnees_au, "delai": int(delai_mois)}


def bilans(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    delai_mois: int = DEFAULT_DELAI_MOIS,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """One row per bilan owed (action × exercice): its porteur and contact, due date, the bilan
    received by `donnees_au` (date, status, comment) and its state (`etat`), days late."""
    return cur.execute(
        _BILANS
        + """
        SELECT code_contrat, code_action, action, annee, id_porteur, porteur, contact_nom, contact_email,
               contact_telephone, echeance, date_reception, statut, commentaire, du, etat, jours_retard
        FROM bilans ORDER BY code_contrat, porteur, code_action, annee""",
        parameters=_params(contrat, donnees_au, delai_mois, perimetre),
    ).pl()


class Summary(TypedDict):
    """`summary`: counts of bilans, and `part` the share received among those due."""

    dus: int
    recus: int
    acceptes: int
    a_examiner: int
    a_completer: int
    en_retard: int
    a_venir: int
    part: float | None  # None: none due


@memo.per_version
def summary(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    delai_mois: int = DEFAULT_DELAI_MOIS,
    perimetre: tuple[str, ...] | None = None,
) -> Summary:
    """The selection's counters: bilans due at `donnees_au`, received, accepted, to examine, to
    complete, late, not yet due, and the share received among those due (None: none due)."""
    row = cur.execute(
        _BILANS + "SELECT " + _COUNTS + " FROM bilans",  # fixed SQL fragments
        parameters=_params(contrat, donnees_au, delai_mois, perimetre),
    ).pl()
    values = row.row(0, named=True)

    def count(key: str) -> int:
        return int(values[key] or 0)

    return {
        "dus": count("dus"),
        "recus": count("recus"),
        "acceptes": count("acceptes"),
        "a_examiner": count("a_examiner"),
        "a_completer": count("a_completer"),
        "en_retard": count("en_retard"),
        "a_venir": count("a_venir"),
        "part": values["part"],
    }


def by_porteur(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    delai_mois: int = DEFAULT_DELAI_MOIS,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Completeness per porteur (with its contact): the counters of `summary`, the porteurs with
    the most late bilans first."""
    return cur.execute(
        _BILANS
        + """
        SELECT id_porteur, any_value(porteur) AS porteur, any_value(contact_nom) AS contact_nom,
               any_value(contact_email) AS contact_email, any_value(contact_telephone) AS contact_telephone,
               """
        + _COUNTS
        + """
        FROM bilans GROUP BY id_porteur
        ORDER BY en_retard DESC, part ASC NULLS LAST, porteur, id_porteur""",  # fixed SQL fragments
        parameters=_params(contrat, donnees_au, delai_mois, perimetre),
    ).pl()


def by_qpv(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    delai_mois: int = DEFAULT_DELAI_MOIS,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Completeness per QPV served (an action in each of its QPV; none: « sans QPV », last)."""
    return cur.execute(
        _BILANS
        + """
        SELECT x.code_qp, coalesce(any_value(q.libelle), $sans_qpv) AS quartier, """
        + _COUNTS
        + """
        FROM bilans b LEFT JOIN action_quartier x USING (code_action) LEFT JOIN quartier q ON q.code_qp = x.code_qp
        GROUP BY x.code_qp
        ORDER BY x.code_qp IS NULL, en_retard DESC, part ASC NULLS LAST, quartier""",  # fixed SQL fragments
        parameters=_params(contrat, donnees_au, delai_mois, perimetre) | {"sans_qpv": SANS_QPV},
    ).pl()


def by_year(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    delai_mois: int = DEFAULT_DELAI_MOIS,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Completeness per exercice, with its due date."""
    return cur.execute(
        _BILANS
        + """
        SELECT annee, any_value(echeance) AS echeance, """
        + _COUNTS
        + """
        FROM bilans GROUP BY annee ORDER BY annee""",  # fixed SQL fragments
        parameters=_params(contrat, donnees_au, delai_mois, perimetre),
    ).pl()


def late(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    delai_mois: int = DEFAULT_DELAI_MOIS,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """The bilans due and not received at `donnees_au`, longest overdue first, with the
    porteur's contact (for the reminders)."""
    return cur.execute(
        _BILANS
        + """
        SELECT porteur, contact_nom, contact_email, contact_telephone, code_action, action, annee, echeance,
               jours_retard, id_porteur, code_contrat
        FROM bilans WHERE etat = 'en retard'
        ORDER BY jours_retard DESC, porteur, code_action, annee""",
        parameters=_params(contrat, donnees_au, delai_mois, perimetre),
    ).pl()


MAIL_MERGE_COLUMNS = {
    "contact_email": "Adresse électronique",
    "contact_nom": "Contact",
    "contact_telephone": "Téléphone",
    "porteur": "Porteur",
    "code_action": "Code de l'action",
    "action": "Action",
    "annee": "Exercice",
    "echeance": "Échéance du bilan",
    "jours_retard": "Jours de retard",
}


def mail_merge(late_bilans: pl.DataFrame) -> pl.DataFrame:
    """The late list (`late`) as a mail-merge table: one row per late bilan, the contact's e-mail
    first, French headers (written as CSV by `tables.to_csv_bytes`: `;`, UTF-8 with BOM)."""
    return late_bilans.select(pl.col(c).alias(label) for c, label in MAIL_MERGE_COLUMNS.items())


__all__ = [
    "DEFAULT_DELAI_MOIS",
    "MAIL_MERGE_COLUMNS",
    "SANS_QPV",
    "bilans",
    "by_porteur",
    "by_qpv",
    "by_year",
    "due_date",
    "late",
    "mail_merge",
    "summary",
]
