"""Governance: cadence of the instances, meetings calendar, residents' participation, decision log
and the annual obligations. The cadence rule is stated in `cdv_core.domain.cadence`.

Every function takes the cursor first and filters on `contrat` (None: every contract) and
`perimetre` (the reader's contracts, `cdv_core.perimetre`).
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import duckdb
import polars as pl

from cdv_core import memo
from cdv_core.domain import cadence, model, readiness
from cdv_core.perimetre import bind

FIRST_YEAR, LAST_YEAR = 2024, 2030
DECISION_OPEN: tuple[str, ...] = ("à faire", "en cours")
RAPPORT_DELAI_MOIS = (
    readiness.CONSULTATION_DELAI_MOIS
)  # the draft goes to the conseils citoyens ≥ 1 month before the vote
REVUE_TYPE = "revue de projet de quartier"
REVUE_OBJET_PATTERN = "%revue annuelle%"
RECENT_MONTHS = 12  # the "recent" window of the headline: meetings held and residents present

# The instances of the selection with their reference date (last held meeting, else creation,
# else contract start), as of $au. Shared by the cadence and the yearly counts.
_INSTANCES = """
    SELECT i.code_instance, i.code_contrat, i.code_qp, i.type_instance, i.libelle, i.cadence_mois,
           coalesce(i.date_creation, c.date_debut) AS date_creation
    FROM instance i JOIN contrat c USING (code_contrat)
    WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
      AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
      AND coalesce(i.date_creation, c.date_debut) <= $au
"""


@memo.per_version
def instance_cadence(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    tolerance_days: int,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Each instance with its last held meeting, next planned one, and whether it is late.

    An instance is late when its last held meeting (or, if it never met, its creation) is older
    than its expected cadence plus `tolerance_days` at the `donnees_au` date. Cancelled and
    postponed meetings do not count as held. See `cdv_core.domain.cadence` for the exact rule.
    Columns: code_instance, code_contrat, code_qp, type_instance, libelle, cadence_mois,
    date_creation, derniere_tenue, prochaine_prevue, tenues_12_mois, habitants_12_mois,
    tenues_annee, attendues_annee (calendar year of `donnees_au`), echeance, jours_retard, en_retard.
    """
    return cur.execute(
        f"""WITH inst AS ({_INSTANCES}),
           last AS (
             SELECT code_instance,
                    max(date_reunion) FILTER (WHERE statut = 'tenue' AND date_reunion <= $au) AS derniere_tenue,
                    min(date_reunion) FILTER (WHERE statut = 'prévue' AND date_reunion > $au) AS prochaine_prevue,
                    count(*) FILTER (WHERE statut = 'tenue' AND date_reunion <= $au
                                     AND date_reunion > $au - to_months($recent)) AS tenues_12_mois,
                    CAST(sum(nb_habitants) FILTER (WHERE statut = 'tenue' AND date_reunion <= $au
                                     AND date_reunion > $au - to_months($recent)) AS BIGINT) AS habitants_12_mois,
                    count(*) FILTER (WHERE statut = 'tenue' AND date_reunion <= $au
                                     AND year(date_reunion) = year($au)) AS tenues_annee
             FROM reunion WHERE code_instance IN (SELECT code_instance FROM inst)
             GROUP BY code_instance),
           due AS (
             SELECT inst.*, l.derniere_tenue, l.prochaine_prevue,
                    coalesce(l.tenues_12_mois, 0) AS tenues_12_mois,
                    coalesce(l.habitants_12_mois, 0) AS habitants_12_mois,
                    coalesce(l.tenues_annee, 0) AS tenues_annee,
                    CAST((2 * datediff('month', greatest(make_date(year($au), 1, 1), inst.date_creation),
                                       CAST($au AS DATE) + 1) + inst.cadence_mois)
                         // (2 * inst.cadence_mois) AS INTEGER) AS attendues_annee,
                    CAST(coalesce(l.derniere_tenue, inst.date_creation) + to_months(inst.cadence_mois)
                         + to_days($tolerance) AS DATE) AS echeance
             FROM inst LEFT JOIN last l USING (code_instance))
           SELECT code_instance, code_contrat, code_qp, type_instance, libelle, cadence_mois, date_creation,
                  derniere_tenue, prochaine_prevue, tenues_12_mois, habitants_12_mois, tenues_annee,
                  attendues_annee, echeance,
                  CAST(greatest(datediff('day', echeance, CAST($au AS DATE)), 0) AS INTEGER) AS jours_retard,
                  echeance < $au AS en_retard
           FROM due
           ORDER BY en_retard DESC, jours_retard DESC, code_contrat, type_instance, libelle""",
        parameters={
            "contrat": contrat,
            "au": donnees_au,
            "tolerance": tolerance_days,
            "recent": RECENT_MONTHS,
            "perimetre": bind(perimetre),
        },
    ).pl()


def cadence_by_type(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    tolerance_days: int,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Per instance type: instances, late ones, meetings held this year vs expected, held in 12 months."""
    frame = instance_cadence(
        cur, contrat=contrat, donnees_au=donnees_au, tolerance_days=tolerance_days, perimetre=perimetre
    )
    order = {t: i for i, t in enumerate(model.TYPES_INSTANCE)}
    return (
        frame.group_by("type_instance")
        .agg(
            pl.len().alias("instances"),
            pl.col("en_retard").sum().alias("en_retard"),
            pl.col("tenues_annee").sum(),
            pl.col("attendues_annee").sum(),
            pl.col("tenues_12_mois").sum(),
            pl.col("habitants_12_mois").sum(),
        )
        .with_columns(pl.col("type_instance").replace_strict(order, default=99).alias("_o"))
        .sort("_o")
        .drop("_o")
    )


def yearly_meetings(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Per year 2024–2030 and instance type: meetings held (up to `donnees_au`), expected (by the
    cadence rule, for the months elapsed), planned (statut « prévue »), cancelled or postponed."""
    return cur.execute(
        f"""WITH inst AS ({_INSTANCES}),
           years AS (SELECT range AS annee FROM range({FIRST_YEAR}, {LAST_YEAR + 1})),
           expected AS (
             SELECT inst.type_instance, y.annee,
                    sum(CASE WHEN greatest(make_date(y.annee, 1, 1), inst.date_creation)
                                  <= least(make_date(y.annee, 12, 31), CAST($au AS DATE))
                             THEN (2 * datediff('month', greatest(make_date(y.annee, 1, 1), inst.date_creation),
                                                least(make_date(y.annee, 12, 31), CAST($au AS DATE)) + 1)
                                   + inst.cadence_mois) // (2 * inst.cadence_mois) ELSE 0 END) AS attendues
             FROM inst CROSS JOIN years y GROUP BY ALL),
           counted AS (
             SELECT inst.type_instance, year(r.date_reunion) AS annee,
                    count(*) FILTER (WHERE r.statut = 'tenue' AND r.date_reunion <= $au) AS tenues,
                    count(*) FILTER (WHERE r.statut = 'prévue'
                      OR (r.statut = 'tenue' AND r.date_reunion > $au)) AS prevues,
                    count(*) FILTER (WHERE r.statut IN ('annulée', 'reportée')) AS annulees_reportees
             FROM reunion r JOIN inst USING (code_instance)
             WHERE year(r.date_reunion) BETWEEN {FIRST_YEAR} AND {LAST_YEAR}
             GROUP BY ALL)
           SELECT e.annee::INTEGER AS annee, e.type_instance,
                  coalesce(c.tenues, 0) AS tenues, CAST(e.attendues AS BIGINT) AS attendues,
                  coalesce(c.prevues, 0) AS prevues, coalesce(c.annulees_reportees, 0) AS annulees_reportees
           FROM expected e LEFT JOIN counted c USING (type_instance, annee)
           ORDER BY annee, type_instance""",
        parameters={"contrat": contrat, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()


def meetings_by_month(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Meetings 2024–2030 counted per month and statut (a small frame even at national scale).
    A meeting « tenue » dated after `donnees_au` is counted as planned."""
    return cur.execute(
        f"""SELECT CAST(date_trunc('month', r.date_reunion) AS DATE) AS mois,
                  CASE WHEN r.statut = 'tenue' AND r.date_reunion > $au THEN 'prévue' ELSE r.statut END AS statut,
                  count(*) AS reunions
           FROM reunion r JOIN instance i USING (code_instance)
           WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
             AND year(r.date_reunion) BETWEEN {FIRST_YEAR} AND {LAST_YEAR}
           GROUP BY ALL ORDER BY mois, statut""",
        parameters={"contrat": contrat, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()


def meetings_timeline(cur: duckdb.DuckDBPyConnection, *, contrat: str, limit: int = 3000) -> pl.DataFrame:
    """Every meeting 2024–2030 of one contract with its instance (for a per-instance calendar)."""
    return cur.execute(
        f"""SELECT r.id_reunion, r.date_reunion, r.statut, i.type_instance, i.libelle AS instance,
                  r.nb_participants, r.nb_habitants, r.objet
           FROM reunion r JOIN instance i USING (code_instance)
           WHERE i.code_contrat = $contrat AND year(r.date_reunion) BETWEEN {FIRST_YEAR} AND {LAST_YEAR}
           ORDER BY r.date_reunion LIMIT $limit""",
        parameters={"contrat": contrat, "limit": limit},
    ).pl()


def participation_by_type(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Per instance type and year: held meetings, participants, residents present, residents per
    meeting (meetings with an unknown residents count are left out of the mean)."""
    return cur.execute(
        """SELECT year(r.date_reunion)::INTEGER AS annee, i.type_instance,
                  count(*) AS reunions_tenues,
                  CAST(coalesce(sum(r.nb_participants), 0) AS BIGINT) AS participants,
                  CAST(coalesce(sum(r.nb_habitants), 0) AS BIGINT) AS habitants,
                  avg(r.nb_habitants) AS habitants_par_reunion,
                  sum(r.nb_habitants) / nullif(sum(r.nb_participants) FILTER (WHERE r.nb_habitants IS NOT NULL), 0)
                      AS part_habitants
           FROM reunion r JOIN instance i USING (code_instance)
           WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
             AND r.statut = 'tenue' AND r.date_reunion <= $au
           GROUP BY ALL ORDER BY annee, type_instance""",
        parameters={"contrat": contrat, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()


def residents_per_meeting(
    cur: duckdb.DuckDBPyConnection, *, contrat: str, donnees_au: date, limit: int = 3000
) -> pl.DataFrame:
    """Residents present at each held meeting of one contract's residents' bodies and COPIL."""
    return cur.execute(
        """SELECT r.date_reunion, i.type_instance, i.libelle AS instance, r.nb_participants, r.nb_habitants
           FROM reunion r JOIN instance i USING (code_instance)
           WHERE i.code_contrat = $contrat AND r.statut = 'tenue' AND r.date_reunion <= $au
             AND r.nb_habitants IS NOT NULL
           ORDER BY r.date_reunion LIMIT $limit""",
        parameters={"contrat": contrat, "au": donnees_au, "limit": limit},
    ).pl()


def residents_bodies(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    active_months: int = cadence.ACTIVE_MONTHS,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Per QPV: its conseil citoyen (if any) and whether it met in the last `active_months` months,
    and whether any residents' body (conseil citoyen or table de quartier) of the QPV is active."""
    return cur.execute(
        """WITH bodies AS (
             SELECT i.code_qp, i.type_instance,
                    max(r.date_reunion) FILTER (WHERE r.statut = 'tenue' AND r.date_reunion <= $au) AS derniere_tenue
             FROM instance i LEFT JOIN reunion r USING (code_instance)
             WHERE i.code_qp IS NOT NULL AND list_contains($types, i.type_instance)
               AND ($contrat IS NULL OR i.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
             GROUP BY ALL)
           SELECT q.code_qp, q.libelle AS quartier, q.code_contrat, q.lib_com,
                  bool_or(b.type_instance = 'conseil citoyen') IS TRUE AS a_conseil_citoyen,
                  max(b.derniere_tenue) FILTER (WHERE b.type_instance = 'conseil citoyen') AS derniere_reunion_cc,
                  coalesce(bool_or(b.type_instance = 'conseil citoyen'
                                   AND b.derniere_tenue > $au - to_months($months)), false) AS conseil_citoyen_actif,
                  max(b.derniere_tenue) AS derniere_reunion_habitants,
                  coalesce(bool_or(b.derniere_tenue > $au - to_months($months)), false) AS instance_habitants_active
           FROM quartier q LEFT JOIN bodies b USING (code_qp)
           WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
           GROUP BY ALL
           ORDER BY instance_habitants_active, conseil_citoyen_actif, q.code_contrat, q.code_qp""",
        parameters={
            "contrat": contrat,
            "au": donnees_au,
            "months": active_months,
            "types": list(model.RESIDENT_BODIES),
            "perimetre": bind(perimetre),
        },
    ).pl()


def decision_log(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    statuts: tuple[str, ...] | None = None,
    code_instance: str | None = None,
    overdue_only: bool = False,
    limit: int | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Decisions of the selected meetings: overdue first (open decisions whose due date is
    before `donnees_au`, longest delay first), then the other open ones, then the closed ones
    (faite / abandonnée), each by due date. Linked action codes are comma-joined.
    `limit`: at most this many rows (None: every decision)."""
    return cur.execute(
        """WITH d AS (
             SELECT d.id_decision, r.date_reunion, i.libelle AS instance, i.type_instance, i.code_contrat,
                    d.libelle, d.responsable, d.date_echeance, d.statut,
                    d.statut IN ('à faire', 'en cours') AS ouverte,
                    (d.statut IN ('à faire', 'en cours') AND d.date_echeance < $au) IS TRUE AS en_retard,
                    CASE WHEN d.statut IN ('à faire', 'en cours') AND d.date_echeance < $au
                         THEN datediff('day', d.date_echeance, CAST($au AS DATE)) END AS jours_retard
             FROM decision d JOIN reunion r USING (id_reunion) JOIN instance i USING (code_instance)
             WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
               AND ($instance IS NULL OR i.code_instance = $instance)
               AND ($statuts IS NULL OR list_contains($statuts, d.statut))),
           picked AS (
             SELECT * FROM d WHERE NOT $overdue OR en_retard
             ORDER BY en_retard DESC, ouverte DESC, jours_retard DESC NULLS LAST, date_echeance NULLS LAST, id_decision
             LIMIT $limit)
           SELECT p.*, (SELECT string_agg(code_action, ', ' ORDER BY code_action)
                        FROM decision_action x WHERE x.id_decision = p.id_decision) AS actions_liees
           FROM picked p
           ORDER BY en_retard DESC, ouverte DESC, jours_retard DESC NULLS LAST, date_echeance NULLS LAST,
             id_decision""",
        parameters={
            "contrat": contrat,
            "au": donnees_au,
            "instance": code_instance,
            "statuts": list(statuts) if statuts else None,
            "overdue": overdue_only,
            "limit": limit,
            "perimetre": bind(perimetre),
        },
    ).pl()


class DecisionCounts(TypedDict):
    total: int
    ouvertes: int  # à faire / en cours
    en_retard: int  # open and past their échéance at « données au »
    faites: int


def decision_counts(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> DecisionCounts:
    """Decisions of the selection: total, open (à faire / en cours), overdue, done."""
    total, ouvertes, en_retard, faites = cur.execute(
        """SELECT count(*),
                  count(*) FILTER (WHERE d.statut IN ('à faire', 'en cours')),
                  count(*) FILTER (WHERE d.statut IN ('à faire', 'en cours') AND d.date_echeance < $au),
                  count(*) FILTER (WHERE d.statut = 'faite')
           FROM decision d JOIN reunion r USING (id_reunion) JOIN instance i USING (code_instance)
           WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))""",
        {"contrat": contrat, "au": donnees_au, "perimetre": bind(perimetre)},
    ).fetchall()[0]
    return {"total": total, "ouvertes": ouvertes, "en_retard": en_retard, "faites": faites}


@memo.per_version
def annual_obligations(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    delai_mois: int = RAPPORT_DELAI_MOIS,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Per contract and year from 2024 to the year of `donnees_au`, the three annual obligations:

    - COPIL: at least one COPIL meeting held in the year;
    - revue annuelle: at least one held meeting of an instance of type « revue de projet de
      quartier », or of any instance whose objet mentions « revue annuelle » (circulaire du
      7 novembre 2024);
    - rapport annuel (exercice = the year): the draft goes to the conseils citoyens (jalon
      « consultation conseils citoyens ») at least `delai_mois` month(s) before the vote (jalon
      « rapport annuel »); realised dates are used, planned dates while not realised.

    Statut of each: « respectée », « non respectée », « en cours » (year or deadline not over and
    not met yet), « à venir » (rapport: vote not yet due), « non renseignée » (rapport: a jalon is
    missing).

    The rapport's steps, for callers that name what is missing (the 2027 checklist): `vote_prevu`
    (earliest planned date of the vote jalons), `consultation_limite` (last day to consult the
    conseils citoyens), `consultation_faite` / `vote_fait` (every such jalon has a realisation
    date; null when there is no such jalon).

    The report's life cycle (tables `rapport_annuel*`, `cdv_core.edits.rapport`) comes first where
    recorded: the consultation is realised on `date_envoi_conseils` (the draft sent to the
    conseils citoyens), the vote on the FIRST recorded assembly vote (`date_vote` is then that
    date, and the delay is judged against it); a step not recorded there falls back on its jalon
    as above; planned dates only come from jalons. `source_consultation` / `source_vote` say which
    ('rapport', 'jalon' or null). Further columns show the whole cycle: `date_envoi_conseils`,
    `nb_contributions`, `premiere_contribution`, `nb_votes`, `dernier_vote`, `assemblees` (« EPCI
    (date), Commune de X (date) », in vote order), `date_publication`, `lien_publication`.
    Publication is not required for « respectée ».
    """
    return cur.execute(
        f"""WITH years AS (SELECT range::INTEGER AS annee FROM range({FIRST_YEAR}, year($au) + 1)),
           cy AS (SELECT c.code_contrat, c.libelle AS contrat, y.annee FROM contrat c CROSS JOIN years y
                  WHERE ($contrat IS NULL OR c.code_contrat = $contrat)
                    AND ($perimetre IS NULL OR list_contains($perimetre, c.code_contrat))
                    AND y.annee BETWEEN year(c.date_debut) AND year(c.date_fin)),
           held AS (
             SELECT i.code_contrat, year(r.date_reunion)::INTEGER AS annee,
                    count(*) FILTER (WHERE i.type_instance = 'COPIL') AS copil_tenus,
                    count(*) FILTER (WHERE i.type_instance = $revue_type
                                     OR r.objet ILIKE $revue_objet) AS revues_tenues
             FROM reunion r JOIN instance i USING (code_instance)
             WHERE r.statut = 'tenue' AND r.date_reunion <= $au
               AND ($contrat IS NULL OR i.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
             GROUP BY ALL),
           rap AS (
             SELECT code_contrat, annee,
                    min(CASE WHEN date_realisation <= $au THEN date_realisation ELSE date_prevue END)
                        FILTER (WHERE type_jalon = 'consultation conseils citoyens') AS date_consultation,
                    bool_and(coalesce(date_realisation <= $au, false))
                        FILTER (WHERE type_jalon = 'consultation conseils citoyens') AS consultation_faite,
                    max(CASE WHEN date_realisation <= $au THEN date_realisation ELSE date_prevue END)
                        FILTER (WHERE type_jalon = 'rapport annuel') AS date_vote,
                    bool_and(coalesce(date_realisation <= $au, false))
                      FILTER (WHERE type_jalon = 'rapport annuel') AS vote_fait,
                    min(date_prevue) FILTER (WHERE type_jalon = 'rapport annuel') AS vote_prevu
             FROM jalon
             WHERE type_jalon IN ('consultation conseils citoyens', 'rapport annuel')
               AND ($contrat IS NULL OR code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))
             GROUP BY ALL),
           -- the life cycle as recorded (rapport_annuel*): it wins over the jalons, step by step
           cyc AS (
             SELECT code_contrat, annee,  -- a step recorded after « données au » had not happened then
                    CASE WHEN date_envoi_conseils <= $au THEN date_envoi_conseils END AS date_envoi_conseils,
                    CASE WHEN date_publication <= $au THEN date_publication END AS date_publication,
                    CASE WHEN date_publication <= $au THEN lien_publication END AS lien_publication
             FROM rapport_annuel
             WHERE ($contrat IS NULL OR code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))),
           votes AS (
             SELECT code_contrat, annee, count(*) AS nb_votes, min(date_vote) AS premier_vote,
                    max(date_vote) AS dernier_vote,
                    string_agg(coalesce(libelle_collectivite, assemblee || ' ' || code_collectivite)
                               || ' (' || strftime(date_vote, '%d/%m/%Y') || ')', ', '
                               ORDER BY date_vote, assemblee, code_collectivite) AS assemblees
             FROM rapport_annuel_vote
             WHERE date_vote <= $au AND ($contrat IS NULL OR code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))
             GROUP BY ALL),
           contribs AS (
             SELECT code_contrat, annee, count(*) AS nb_contributions, min(date_reception) AS premiere_contribution
             FROM rapport_annuel_contribution
             WHERE date_reception <= $au AND ($contrat IS NULL OR code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))
             GROUP BY ALL),
           life AS (
             SELECT cy.code_contrat, cy.annee,
                    coalesce(cyc.date_envoi_conseils, rap.date_consultation) AS date_consultation,
                    CASE WHEN cyc.date_envoi_conseils IS NOT NULL THEN true
                      ELSE rap.consultation_faite END AS consultation_faite,
                    CASE WHEN cyc.date_envoi_conseils IS NOT NULL THEN 'rapport'
                         WHEN rap.date_consultation IS NOT NULL THEN 'jalon' END AS source_consultation,
                    coalesce(v.premier_vote, rap.date_vote) AS date_vote,
                    CASE WHEN v.nb_votes > 0 THEN true ELSE rap.vote_fait END AS vote_fait,
                    CASE WHEN v.nb_votes > 0 THEN 'rapport' WHEN rap.date_vote IS NOT NULL
                      THEN 'jalon' END AS source_vote,
                    rap.vote_prevu, cyc.date_envoi_conseils,
                    coalesce(k.nb_contributions, 0) AS nb_contributions, k.premiere_contribution,
                    coalesce(v.nb_votes, 0) AS nb_votes, v.dernier_vote, v.assemblees,
                    cyc.date_publication, cyc.lien_publication
             FROM cy LEFT JOIN rap USING (code_contrat, annee) LEFT JOIN cyc USING (code_contrat, annee)
             LEFT JOIN votes v USING (code_contrat, annee) LEFT JOIN contribs k USING (code_contrat, annee)),
           j AS (
             SELECT cy.*, coalesce(h.copil_tenus, 0) AS copil_tenus, coalesce(h.revues_tenues, 0) AS revues_tenues,
                    life.* EXCLUDE (code_contrat, annee),
                    CAST(life.date_vote - to_months($delai) AS DATE) AS consultation_limite
             FROM cy LEFT JOIN held h USING (code_contrat, annee) LEFT JOIN life USING (code_contrat, annee))
           SELECT code_contrat, contrat, annee, copil_tenus,
                  CASE WHEN copil_tenus >= 1 THEN 'respectée'
                       WHEN annee = year($au) THEN 'en cours' ELSE 'non respectée' END AS copil_statut,
                  revues_tenues,
                  CASE WHEN revues_tenues >= 1 THEN 'respectée'
                       WHEN annee = year($au) THEN 'en cours' ELSE 'non respectée' END AS revue_statut,
                  date_consultation, date_vote,
                  datediff('day', date_consultation, date_vote) AS ecart_jours,
                  CASE WHEN date_consultation IS NULL OR date_vote IS NULL THEN 'non renseignée'
                       WHEN date_consultation > consultation_limite THEN
                            CASE WHEN vote_fait OR consultation_faite THEN 'non respectée'
                                 ELSE 'délai prévu insuffisant' END
                       WHEN vote_fait AND consultation_faite THEN 'respectée'
                       WHEN NOT consultation_faite AND consultation_limite < $au THEN 'non respectée'
                       WHEN date_vote > $au THEN 'à venir'
                       ELSE 'en cours' END AS rapport_statut,
                  vote_prevu, consultation_limite, consultation_faite, vote_fait,
                  source_consultation, source_vote, date_envoi_conseils, nb_contributions, premiere_contribution,
                  nb_votes, dernier_vote, assemblees, date_publication, lien_publication
           FROM j ORDER BY code_contrat, annee""",
        parameters={
            "contrat": contrat,
            "au": donnees_au,
            "delai": delai_mois,
            "revue_type": REVUE_TYPE,
            "revue_objet": REVUE_OBJET_PATTERN,
            "perimetre": bind(perimetre),
        },
    ).pl()


def instance_choices(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    tolerance_days: int,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """The instances offered in the meeting form (late ones first), with their QPV (None for a
    contract-wide instance) and their contract period."""
    frame = instance_cadence(
        cur, contrat=contrat, donnees_au=donnees_au, tolerance_days=tolerance_days, perimetre=perimetre
    )
    periods = cur.execute(
        """SELECT code_contrat, date_debut, date_fin FROM contrat WHERE ($contrat IS NULL OR code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()
    return frame.select("code_instance", "code_contrat", "code_qp", "libelle", "type_instance", "en_retard").join(
        periods, on="code_contrat", how="left", maintain_order="left"
    )


# --- summaries of the frames above (their tables with French headers: `cdv_core.figures.gouvernance`) ---


class Headline(TypedDict):
    instances: int
    en_retard: int
    tenues_12_mois: int  # meetings held in the 12 months before « données au »
    habitants_12_mois: int  # residents present at them


def headline(instances: pl.DataFrame) -> Headline:
    """The page's headline figures from `instance_cadence`: instances, late ones, meetings held and
    residents present in the 12 months before « données au »."""
    return {
        "instances": instances.height,
        "en_retard": int(instances["en_retard"].sum()) if instances.height else 0,
        "tenues_12_mois": int(instances["tenues_12_mois"].sum()) if instances.height else 0,
        "habitants_12_mois": int(instances["habitants_12_mois"].sum()) if instances.height else 0,
    }


class ResidentsSummary(TypedDict):
    qpv: int
    conseil_citoyen_actif: int
    sans_instance_active: int
    sans_conseil_citoyen: int


def residents_summary(bodies: pl.DataFrame) -> ResidentsSummary:
    """From `residents_bodies`: QPV of the selection, with an active conseil citoyen, without any
    active residents' body, without a conseil citoyen at all."""
    return {
        "qpv": bodies.height,
        "conseil_citoyen_actif": int(bodies["conseil_citoyen_actif"].sum()) if bodies.height else 0,
        "sans_instance_active": int((~bodies["instance_habitants_active"]).sum()) if bodies.height else 0,
        "sans_conseil_citoyen": int((~bodies["a_conseil_citoyen"]).sum()) if bodies.height else 0,
    }


_OBLIGATIONS = ("copil", "revue", "rapport")  # the `<name>_statut` columns of `annual_obligations`
OBLIGATION_TO_CHECK: tuple[str, ...] = ("non respectée", "délai prévu insuffisant", "non renseignée")


def obligations_counts(obligations: pl.DataFrame) -> pl.DataFrame:
    """Per year (from `annual_obligations`, oldest first): `contrats`, and how many respect / miss
    each obligation (`copil_respectee` … `rapport_non_respectee`)."""
    return (
        obligations.group_by("annee")
        .agg(
            pl.len().alias("contrats"),
            *[(pl.col(f"{c}_statut") == "respectée").sum().alias(f"{c}_respectee") for c in _OBLIGATIONS],
            *[(pl.col(f"{c}_statut") == "non respectée").sum().alias(f"{c}_non_respectee") for c in _OBLIGATIONS],
        )
        .sort("annee")
    )


def obligations_to_check(obligations: pl.DataFrame) -> pl.DataFrame:
    """The contract-years where at least one obligation is not respected or not documented."""
    return obligations.filter(
        pl.any_horizontal(pl.col("copil_statut", "revue_statut", "rapport_statut").is_in(list(OBLIGATION_TO_CHECK)))
    )
