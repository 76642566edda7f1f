"""« Jalons et actualisation 2027 »: milestones, readiness checklist, frozen baseline and its diff.

Milestone status relative to the « données au » date (`au`):
- réalisé: `date_realisation` is set and on or before `au`;
- en retard: not réalisé and `date_prevue` < `au`;
- à venir: otherwise (due on `au` or later).
The checklist rules and their parameters live in `cdv_core.domain.readiness`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypedDict

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.domain import readiness as rd
from cdv_core.perimetre import bind
from cdv_core.queries import financements, gouvernance
from cdv_core.queries import indicateurs as ind

RAPPORT_STATUTS: tuple[str, ...] = (
    "respectée",
    "non respectée",
    "délai prévu insuffisant",
    "non renseignée",
    "en cours",
    "à venir",
)  # display order of gouvernance.annual_obligations' statuses

_STATUS_SQL = """CASE WHEN j.date_realisation IS NOT NULL AND j.date_realisation <= $au THEN 'réalisé'
                      WHEN j.date_prevue < $au THEN 'en retard' ELSE 'à venir' END"""


# --- milestones -----------------------------------------------------------------------------


def milestones(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    statut: str | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Milestones of the selection with their status at `donnees_au` (optionally one status)."""
    return cur.execute(
        f"""SELECT * FROM (
              SELECT j.id_jalon, j.code_contrat, c.libelle AS contrat, j.type_jalon, j.libelle, j.annee,
                     j.date_prevue, j.date_realisation, {_STATUS_SQL} AS statut,
                     CASE WHEN {_STATUS_SQL} = 'en retard' THEN date_diff('day', j.date_prevue, $au) END AS jours_retard
              FROM jalon j JOIN contrat c USING (code_contrat)
              WHERE ($contrat IS NULL OR j.code_contrat = $contrat)
                AND ($perimetre IS NULL OR list_contains($perimetre, j.code_contrat)))
            WHERE $statut IS NULL OR statut = $statut
            ORDER BY date_prevue, code_contrat, type_jalon, id_jalon""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre), "au": donnees_au, "statut": statut},
    ).pl()


def open_milestones(cur: duckdb.DuckDBPyConnection, *, contrat: str, donnees_au: date) -> pl.DataFrame:
    """Milestones of a contract not yet réalisés, late ones first, with a French label for a picker:
    the planned date and the lateness first, so that a narrow select box cuts the title, not them."""
    return cur.execute(
        f"""SELECT j.id_jalon, {_STATUS_SQL} AS statut,
                   strftime(j.date_prevue, '%d/%m/%Y')
                     || CASE WHEN {_STATUS_SQL} = 'en retard' THEN ' (en retard)' ELSE '' END
                     || ' — ' || j.libelle AS choix
            FROM jalon j WHERE j.code_contrat = $contrat AND j.date_realisation IS NULL
            ORDER BY statut = 'en retard' DESC, j.date_prevue, j.id_jalon""",
        parameters={"contrat": contrat, "au": donnees_au},
    ).pl()


def contract_dates(cur: duckdb.DuckDBPyConnection, *, contrat: str) -> pl.DataFrame:
    """Signature, start and end dates of one contract (the default baseline date is the signature)."""
    return cur.execute(
        "SELECT code_contrat, date_signature, date_debut, date_fin FROM contrat WHERE code_contrat = $c",
        parameters={"c": contrat},
    ).pl()


def milestone_counts(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> dict[str, int]:
    """Number of milestones réalisés / en retard / à venir at `donnees_au`."""
    rows = cur.execute(
        f"""SELECT {_STATUS_SQL} AS statut, count(*) FROM jalon j
            WHERE ($contrat IS NULL OR j.code_contrat = $contrat)
              AND ($perimetre IS NULL OR list_contains($perimetre, j.code_contrat)) GROUP BY 1""",
        {"contrat": contrat, "perimetre": bind(perimetre), "au": donnees_au},
    ).fetchall()
    counts = dict.fromkeys(rd.STATUTS_JALON, 0) | dict(rows)
    counts["total"] = sum(counts[s] for s in rd.STATUTS_JALON)
    return counts


def timeline(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The timeline's chart frame: one point per (type, planned date, status) with a count, so the
    frame stays small for « Tous les contrats » (contracts share the same calendar)."""
    return cur.execute(
        f"""SELECT j.type_jalon, j.date_prevue, {_STATUS_SQL} AS statut, count(*) AS nombre,
                   min(j.libelle) AS libelle, min(j.date_realisation) AS premiere_realisation
            FROM jalon j
            WHERE ($contrat IS NULL OR j.code_contrat = $contrat)
              AND ($perimetre IS NULL OR list_contains($perimetre, j.code_contrat))
            GROUP BY ALL ORDER BY j.date_prevue, j.type_jalon""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre), "au": donnees_au},
    ).pl()


def rapports_annuels(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The rapport annuel of each contract and year (consultation of the conseils citoyens ≥ 1 month
    before the vote), as computed by `queries.gouvernance.annual_obligations` (one rule, two screens).

    One contract: one row per year, with the report's whole life cycle (`annual_obligations`'
    columns: envoi aux conseils citoyens, contributions, votes and their assemblies, publication,
    where each step comes from) and `manque`, the missing steps named (`rapport_missing_steps`,
    empty when « respectée »). « Tous les contrats »: one row per year (`annee`) with the
    number of contracts per status, in columns named « Contrats : <statut> » (statuses in
    `RAPPORT_STATUTS` order, only those that occur)."""
    obligations = gouvernance.annual_obligations(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    if contrat is not None:
        return obligations.select(
            "annee",
            "date_consultation",
            "date_vote",
            "ecart_jours",
            "rapport_statut",
            rapport_missing_steps().alias("manque"),
            "consultation_faite",
            "vote_fait",
            "source_consultation",
            "source_vote",
            "date_envoi_conseils",
            "nb_contributions",
            "premiere_contribution",
            "nb_votes",
            "dernier_vote",
            "assemblees",
            "date_publication",
            "lien_publication",
        )
    frame = obligations.select("code_contrat", "contrat", "annee", "rapport_statut")
    wide = (
        frame.group_by("annee", "rapport_statut")
        .agg(pl.len().alias("n"))
        .pivot(on="rapport_statut", index="annee", values="n")
        .fill_null(0)
        .sort("annee")
    )
    present = [s for s in RAPPORT_STATUTS if s in wide.columns]
    present += sorted(c for c in wide.columns if c not in present and c != "annee")
    return wide.select("annee", *[pl.col(c).alias(f"Contrats : {c}") for c in present])


def rapport_votes(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The recorded votes of the rapports annuels (life cycle), per contract and year, in vote order."""
    return cur.execute(
        """SELECT v.code_contrat, v.annee, v.assemblee, v.code_collectivite, v.libelle_collectivite, v.date_vote,
                  v.reference_deliberation
           FROM rapport_annuel_vote v
           WHERE ($contrat IS NULL OR v.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, v.code_contrat))
           ORDER BY v.code_contrat, v.annee, v.date_vote, v.assemblee, v.code_collectivite""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()


def rapport_contributions(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The contributions of the conseils citoyens received on the rapports annuels, per contract and year."""
    return cur.execute(
        """SELECT k.code_contrat, k.annee, k.conseil, k.date_reception, k.texte
           FROM rapport_annuel_contribution k
           WHERE ($contrat IS NULL OR k.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, k.code_contrat))
           ORDER BY k.code_contrat, k.annee, k.date_reception, k.conseil""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()


def rapport_collectivites(cur: duckdb.DuckDBPyConnection, *, contrat: str) -> pl.DataFrame:
    """The assemblies that vote one contract's rapport annuel: its EPCI (signatory SIREN when the
    signatory is an EPCI or EPT, and the QPV's EPCI) and the communes of its QPV; `choix` is the
    label of a picker."""
    return cur.execute(
        """WITH c AS (SELECT * FROM contrat WHERE code_contrat = $contrat),
           epci AS (
             SELECT siren_signataire AS code,
                    regexp_replace(libelle, '^Contrat de ville (de la |de l''|du |des |de |d'')', '') AS libelle
             FROM c WHERE type_signataire IN ('EPCI', 'EPT') AND siren_signataire IS NOT NULL
             UNION
             SELECT DISTINCT q.siren_epci, NULL FROM quartier q
             WHERE q.code_contrat = $contrat AND q.siren_epci IS NOT NULL
               AND q.siren_epci NOT IN (SELECT coalesce(siren_signataire, '') FROM c
                 WHERE type_signataire IN ('EPCI', 'EPT'))),
           communes AS (SELECT DISTINCT insee_com AS code, 'Commune de ' || lib_com AS libelle FROM quartier
                        WHERE code_contrat = $contrat)
           SELECT * FROM (
             SELECT 'EPCI' AS assemblee, code, coalesce(libelle, 'EPCI ' || code) AS libelle,
                    'EPCI — ' || coalesce(libelle, code) || ' (SIREN ' || code || ')' AS choix FROM epci
             UNION ALL
             SELECT 'commune', code, libelle, libelle || ' (INSEE ' || code || ')' FROM communes)
           ORDER BY assemblee = 'EPCI' DESC, libelle""",
        parameters={"contrat": contrat},
    ).pl()


# --- readiness checklist --------------------------------------------------------------------


def _contracts(cur, contrat, perimetre=None):
    return cur.execute(
        "SELECT code_contrat, libelle FROM contrat WHERE ($contrat IS NULL OR code_contrat = $contrat) "
        "AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat)) ORDER BY libelle",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()


def _item_projets(cur, contrat, perimetre=None) -> pl.DataFrame:
    return (
        cur.execute(
            """WITH q AS (
             SELECT q.code_contrat, q.libelle,
                    p.code_qp IS NOT NULL AND coalesce(o.n, 0) > 0 AS ok
             FROM quartier q LEFT JOIN projet_quartier p USING (code_qp)
             LEFT JOIN (SELECT code_qp, count(*) AS n FROM objectif WHERE code_qp IS NOT NULL
               GROUP BY 1) o USING (code_qp)
             WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat)))
           SELECT c.code_contrat, count(q.libelle) AS total, count(*) FILTER (WHERE q.ok) AS n_ok,
                  string_agg(q.libelle, ', ' ORDER BY q.libelle) FILTER (WHERE NOT q.ok) AS manquants
           FROM contrat c LEFT JOIN q USING (code_contrat)
           WHERE ($contrat IS NULL OR c.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, c.code_contrat))
           GROUP BY c.code_contrat""",
            parameters={"contrat": contrat, "perimetre": bind(perimetre)},
        )
        .pl()
        .with_columns(
            ((pl.col("total") > 0) & (pl.col("n_ok") == pl.col("total"))).alias("ok"),
            pl.when(pl.col("total") == 0)
            .then(pl.lit("Aucun QPV enregistré pour ce contrat."))
            .otherwise(
                pl.format(
                    "{} QPV sur {} {} un projet de quartier avec des objectifs",
                    fmt.number_expr(pl.col("n_ok")),
                    fmt.number_expr(pl.col("total")),
                    pl.when(pl.col("n_ok") < 2).then(pl.lit("a")).otherwise(pl.lit("ont")),
                )
                + pl.when(pl.col("manquants").is_not_null())
                .then(pl.lit(" ; à compléter : ") + pl.col("manquants"))
                .otherwise(pl.lit(""))
                + pl.lit(".")
            )
            .alias("preuve"),
        )
    )


def _item_cibles(cur, contrat, perimetre=None) -> pl.DataFrame:
    return (
        cur.execute(
            """WITH o AS (
             SELECT code_objectif, code_contrat, code_qp FROM objectif
             WHERE ($contrat IS NULL OR code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))),
           linked AS (SELECT DISTINCT oi.code_objectif FROM objectif_indicateur oi SEMI JOIN o USING (code_objectif)),
           -- two small sides joined on (indicator, contract), materialised: without table statistics
           -- (a DuckLake) the planner joined targets to every objective of the contract first (8 M rows)
           oo AS MATERIALIZED (
             SELECT o.code_objectif, o.code_contrat, o.code_qp, oi.code_indicateur
             FROM o JOIN objectif_indicateur oi USING (code_objectif)),
           tq AS MATERIALIZED (
             SELECT t.code_indicateur, t.code_qp, q.code_contrat
             FROM cible_indicateur t JOIN quartier q USING (code_qp)
             WHERE t.valeur_reference IS NOT NULL AND t.valeur_cible IS NOT NULL
               AND ($contrat IS NULL OR q.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))),
           good AS (
             SELECT DISTINCT oo.code_objectif
             FROM oo JOIN tq ON tq.code_indicateur = oo.code_indicateur AND tq.code_contrat = oo.code_contrat
             WHERE oo.code_qp IS NULL OR tq.code_qp = oo.code_qp)
           SELECT c.code_contrat, count(o.code_objectif) AS total,
                  count(g.code_objectif) AS n_ok,
                  count(o.code_objectif) FILTER (WHERE l.code_objectif IS NULL) AS sans_indicateur,
                  count(o.code_objectif) FILTER (WHERE l.code_objectif IS NOT NULL
                    AND g.code_objectif IS NULL) AS sans_cible
           FROM contrat c LEFT JOIN o USING (code_contrat)
           LEFT JOIN linked l ON l.code_objectif = o.code_objectif
           LEFT JOIN good g ON g.code_objectif = o.code_objectif
           WHERE ($contrat IS NULL OR c.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, c.code_contrat))
           GROUP BY c.code_contrat""",
            parameters={"contrat": contrat, "perimetre": bind(perimetre)},
        )
        .pl()
        .with_columns(
            ((pl.col("total") > 0) & (pl.col("n_ok") == pl.col("total"))).alias("ok"),
            pl.when(pl.col("total") == 0)
            .then(pl.lit("Aucun objectif enregistré pour ce contrat."))
            .otherwise(
                pl.format(
                    "{} sur {} {} une valeur de référence et une cible ; "
                    "{} sans indicateur, {} avec indicateur mais sans référence ou cible.",
                    fmt.plural_expr(pl.col("n_ok"), "objectif", "objectifs"),
                    fmt.number_expr(pl.col("total")),
                    pl.when(pl.col("n_ok") < 2).then(pl.lit("a")).otherwise(pl.lit("ont")),
                    fmt.number_expr(pl.col("sans_indicateur")),
                    fmt.number_expr(pl.col("sans_cible")),
                )
            )
            .alias("preuve"),
        )
    )


def _item_indicateurs(cur, contrat, donnees_au, max_age_months, perimetre=None) -> pl.DataFrame:
    # THE freshness rule (cdv_core.domain.freshness), as the « Indicateurs » dictionary applies it
    return (
        cur.execute(
            """WITH """
            + ind.FRESHNESS_CTE
            + """,
           followed AS (
             SELECT DISTINCT o.code_contrat, oi.code_indicateur
             FROM objectif o JOIN objectif_indicateur oi USING (code_objectif)
             WHERE ($contrat IS NULL OR o.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, o.code_contrat))),
           latest AS (
             SELECT q.code_contrat, v.code_indicateur, max(v.date_valeur) AS derniere
             FROM valeur_indicateur v JOIN quartier q ON q.code_qp = v.code_territoire
             WHERE v.type_territoire = 'QPV' AND v.date_valeur <= $au
               AND ($contrat IS NULL OR q.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
             GROUP BY ALL),
           f AS (
             SELECT f.code_contrat, f.code_indicateur, i.libelle, l.derniere,
                    coalesce(l.derniere >= fi.seuil_frais, false) AS frais,
                    CASE WHEN fi.millesime_attendu_libelle IS NOT NULL
                           THEN ' ; millésime attendu : ' || fi.millesime_attendu_libelle
                         WHEN l.derniere IS NOT NULL THEN ' ; plus de ' || $max_age || ' mois' ELSE '' END AS motif
             FROM followed f JOIN indicateur i USING (code_indicateur)
             JOIN fraicheur_indicateur fi USING (code_indicateur)
             LEFT JOIN latest l USING (code_contrat, code_indicateur))
           SELECT c.code_contrat, count(f.code_indicateur) AS total,
                  count(*) FILTER (WHERE f.frais) AS n_ok,
                  min(f.derniere) FILTER (WHERE f.frais) AS plus_ancienne_fraiche,
                  string_agg(f.libelle || ' (' || coalesce(strftime(f.derniere, '%d/%m/%Y'),
                    'aucune valeur') || f.motif || ')',
                             ', ' ORDER BY f.libelle) FILTER (WHERE NOT f.frais) AS anciens
           FROM contrat c LEFT JOIN f USING (code_contrat)
           WHERE ($contrat IS NULL OR c.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, c.code_contrat))
           GROUP BY c.code_contrat""",
            parameters={
                "contrat": contrat,
                "perimetre": bind(perimetre),
                "au": donnees_au,
                "max_age": max_age_months,
                **ind.freshness_params(cur, donnees_au, max_age_months),
            },
        )
        .pl()
        .with_columns(
            ((pl.col("total") > 0) & (pl.col("n_ok") == pl.col("total"))).alias("ok"),
            pl.when(pl.col("total") == 0)
            .then(pl.lit("Aucun indicateur n'est relié aux objectifs du contrat."))
            .otherwise(
                pl.format(
                    "{} sur {} {} à jour",
                    fmt.plural_expr(pl.col("n_ok"), "indicateur suivi", "indicateurs suivis"),
                    fmt.number_expr(pl.col("total")),
                    pl.when(pl.col("n_ok") < 2).then(pl.lit("est")).otherwise(pl.lit("sont")),
                )
                + pl.when(pl.col("anciens").is_not_null())
                .then(pl.lit(" ; trop anciens : ") + pl.col("anciens"))
                .otherwise(pl.lit(""))
                + pl.lit(".")
            )
            .alias("preuve"),
        )
    )


def _consultation_delay_text() -> str:
    n = gouvernance.RAPPORT_DELAI_MOIS
    return "consultation moins d'un mois avant le vote" if n == 1 else f"consultation moins de {n} mois avant le vote"


def rapport_missing_steps() -> pl.Expr:
    """The missing steps of one contract-year's rapport annuel, in French, from the columns of
    `gouvernance.annual_obligations` (comma-joined; empty exactly when its statut is « respectée »):
    the consultation (absent, planned but not realised, less than `RAPPORT_DELAI_MOIS` before the
    vote) and the vote (absent or not realised). With the life cycle recorded
    (`cdv_core.edits.rapport`) the same words apply: a recorded sending is a realised consultation,
    a recorded vote a realised vote, and the delay is judged against the first vote. Publication
    is not a required step (never named here)."""
    late = pl.col("date_consultation") > pl.col("consultation_limite")  # null without a vote date
    delay = _consultation_delay_text()
    consultation = (
        pl.when(pl.col("date_consultation").is_null())
        .then(pl.lit("conseils citoyens non consultés"))
        .when(late & pl.col("consultation_faite"))
        .then(pl.lit(delay))
        .when(late)
        .then(pl.lit(delay.replace("consultation ", "consultation prévue ", 1)))
        .when(~pl.col("consultation_faite"))
        .then(pl.lit("consultation prévue non réalisée"))
    )
    vote = pl.when(~pl.col("vote_fait").fill_null(False)).then(pl.lit("vote non réalisé"))
    return pl.concat_str([consultation, vote], separator=", ", ignore_nulls=True)


def _item_rapports(cur, contrat, donnees_au, perimetre=None) -> pl.DataFrame:
    # THE rapport annuel rule (gouvernance.annual_obligations, as the Jalons and Gouvernance screens
    # show it): a rapport is « produit » when its statut is « respectée ». Due: each past year whose
    # planned vote (else 30/06 of the next year) is on or before « données au ».
    due_default = pl.date(pl.col("annee") + 1, rd.RAPPORT_DUE_MONTH, rd.RAPPORT_DUE_DAY)
    per = (
        gouvernance.annual_obligations(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
        .filter(pl.col("annee") < donnees_au.year, pl.coalesce(pl.col("vote_prevu"), due_default) <= donnees_au)
        .with_columns(rapport_missing_steps().alias("manque"))
        .sort("code_contrat", "annee")
        .group_by("code_contrat", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("total"),
            (pl.col("rapport_statut") == "respectée").sum().cast(pl.Int64).alias("n_ok"),
            pl.format("{} : {}", pl.col("annee"), pl.col("manque"))
            .filter(pl.col("rapport_statut") != "respectée")
            .str.join(" ; ")
            .alias("manquants"),
        )
    )
    return (
        _contracts(cur, contrat, perimetre)
        .select("code_contrat")
        .join(per, on="code_contrat", how="left")
        .with_columns(pl.col("total", "n_ok").fill_null(0), pl.col("manquants").fill_null(""))
        .with_columns(
            (pl.col("n_ok") == pl.col("total")).alias("ok"),
            pl.when(pl.col("total") == 0)
            .then(pl.lit("Aucun rapport annuel n'est encore échu."))
            .otherwise(
                pl.format(
                    "{} sur {} {}",
                    fmt.plural_expr(pl.col("n_ok"), "rapport annuel produit", "rapports annuels produits"),
                    fmt.number_expr(pl.col("total")),
                    pl.when(pl.col("total") < 2).then(pl.lit("échu")).otherwise(pl.lit("échus")),
                )
                + pl.when(pl.col("manquants") != "").then(pl.lit(" ; ") + pl.col("manquants")).otherwise(pl.lit(""))
                + pl.lit(".")
            )
            .alias("preuve"),
        )
    )


def _item_meetings(cadence: pl.DataFrame, contracts: pl.DataFrame, types: tuple[str, ...], what: str) -> pl.DataFrame:
    per = (
        cadence.filter(pl.col("type_instance").is_in(list(types)))
        .group_by("code_contrat")
        .agg(pl.col("tenues_12_mois").sum().alias("n"), pl.col("derniere_tenue").max().alias("derniere"))
    )
    return (
        contracts.select("code_contrat")
        .join(per, on="code_contrat", how="left")
        .with_columns(pl.col("n").fill_null(0))
        .with_columns(
            (pl.col("n") > 0).alias("ok"),
            (
                pl.format(
                    "{} de {} {} dans les {} derniers mois",
                    fmt.plural_expr(pl.col("n"), "réunion", "réunions"),
                    pl.lit(what),
                    pl.when(pl.col("n") < 2).then(pl.lit("tenue")).otherwise(pl.lit("tenues")),
                    pl.lit(rd.COPIL_WINDOW_MONTHS),
                )
                + pl.when(pl.col("derniere").is_not_null())
                .then(pl.lit(" ; dernière le ") + pl.col("derniere").dt.strftime("%d/%m/%Y"))
                .otherwise(pl.lit(" ; aucune réunion tenue enregistrée"))
                + pl.lit(".")
            ).alias("preuve"),
        )
    )


def _item_cpo(cur, contrat, donnees_au, perimetre=None) -> pl.DataFrame:
    # Whether funding_totals() can compute the CPO share (P147 accordé > 0 for the year), per contract:
    # amounts are never negative (CHECK), so the sum is > 0 exactly when one line is > 0.
    return (
        cur.execute(
            """WITH funded AS (
             SELECT DISTINCT a.code_contrat FROM financement f JOIN action a USING (code_action)
             WHERE f.annee = $annee AND f.financeur = $p147 AND f.montant_accorde > 0
               AND ($contrat IS NULL OR a.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat)))
           SELECT c.code_contrat, f.code_contrat IS NOT NULL AS ok
           FROM contrat c LEFT JOIN funded f USING (code_contrat)
           WHERE ($contrat IS NULL OR c.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, c.code_contrat))""",
            parameters={
                "contrat": contrat,
                "perimetre": bind(perimetre),
                "annee": donnees_au.year,
                "p147": model.CREDITS_SPECIFIQUES,
            },
        )
        .pl()
        .with_columns(
            pl.when(pl.col("ok"))
            .then(pl.lit(f"Des crédits P147 sont accordés pour {donnees_au.year} : la part en CPO est calculée."))
            .otherwise(
                pl.lit(
                    f"Aucun crédit P147 accordé enregistré pour {donnees_au.year} : "
                    "la part en CPO ne peut pas être calculée."
                )
            )
            .alias("preuve")
        )
    )


def _item_evaluation(cur, contrat, donnees_au, perimetre=None) -> pl.DataFrame:
    return (
        cur.execute(
            """SELECT c.code_contrat,
                  max(j.date_realisation) FILTER (WHERE j.date_realisation <= $au) AS realisee,
                  min(j.date_prevue) FILTER (WHERE (j.date_realisation IS NULL OR j.date_realisation > $au)
                                               AND j.date_prevue >= $au AND j.date_prevue <= $deadline) AS prevue,
                  count(j.id_jalon) FILTER (WHERE (j.date_realisation IS NULL OR j.date_realisation > $au)
                                              AND j.date_prevue < $au) AS en_retard
           FROM contrat c LEFT JOIN jalon j ON j.code_contrat = c.code_contrat AND j.type_jalon = $type
           WHERE ($contrat IS NULL OR c.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, c.code_contrat))
           GROUP BY c.code_contrat""",
            parameters={
                "contrat": contrat,
                "perimetre": bind(perimetre),
                "au": donnees_au,
                "type": rd.EVALUATION_TYPE,
                "deadline": rd.EVALUATION_DEADLINE,
            },
        )
        .pl()
        .with_columns(
            (pl.col("realisee").is_not_null() | pl.col("prevue").is_not_null()).alias("ok"),
            pl.when(pl.col("realisee").is_not_null())
            .then(pl.lit("Évaluation réalisée le ") + pl.col("realisee").dt.strftime("%d/%m/%Y") + pl.lit("."))
            .when(pl.col("prevue").is_not_null())
            .then(
                pl.lit("Évaluation prévue le ")
                + pl.col("prevue").dt.strftime("%d/%m/%Y")
                + pl.lit(", pas encore échue.")
            )
            .when(pl.col("en_retard") > 0)
            .then(pl.lit("Évaluation prévue mais non réalisée à l'échéance (en retard)."))
            .otherwise(pl.lit("Aucune évaluation réalisée ni programmée avant l'actualisation."))
            .alias("preuve"),
        )
    )


def readiness_by_contract(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    max_age_months: int,
    tolerance_days: int = 0,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """The checklist for each contract of the selection, long: code_contrat, critere, ok, preuve."""
    contracts = _contracts(cur, contrat, perimetre)
    cadence = gouvernance.instance_cadence(
        cur, contrat=contrat, donnees_au=donnees_au, tolerance_days=tolerance_days, perimetre=perimetre
    )
    parts = {
        "projets": _item_projets(cur, contrat, perimetre),
        "cibles": _item_cibles(cur, contrat, perimetre),
        "indicateurs": _item_indicateurs(cur, contrat, donnees_au, max_age_months, perimetre),
        "rapports": _item_rapports(cur, contrat, donnees_au, perimetre),
        "copil": _item_meetings(cadence, contracts, (rd.COPIL_TYPE,), "COPIL"),
        "habitants": _item_meetings(cadence, contracts, model.RESIDENT_BODIES, "conseil citoyen ou table de quartier"),
        "cpo": _item_cpo(cur, contrat, donnees_au, perimetre),
        "evaluation": _item_evaluation(cur, contrat, donnees_au, perimetre),
    }
    assert tuple(parts) == rd.ITEM_KEYS
    long = pl.concat(
        [frame.select("code_contrat", pl.lit(key).alias("critere"), "ok", "preuve") for key, frame in parts.items()]
    )
    return (
        contracts.rename({"libelle": "contrat"})
        .join(long, on="code_contrat")
        .with_columns(pl.col("critere").cast(pl.Enum(rd.ITEM_KEYS)))
        .sort("contrat", "critere")
        .with_columns(pl.col("critere").cast(pl.String))
    )


class Readiness(TypedDict):
    """`readiness`: the checklist (`items`), its score and the per-contract rows (`contrats`)."""

    items: pl.DataFrame  # critere, libelle, ok, preuve, regle, page
    remplis: int
    total: int
    a_completer: int
    contrats_prets: int
    score: float
    pret: bool
    part_cpo: float | None  # one contract only (None for « Tous les contrats »)
    contrats: pl.DataFrame


def readiness(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    max_age_months: int,
    perimetre: tuple[str, ...] | None = None,
) -> Readiness:
    """The readiness checklist of the selection and its score.

    One contract: its items. « Tous les contrats »: an item is met when every contract meets it,
    and the evidence says how many do. Returns items (critere, libelle, ok, preuve, regle, page),
    remplis, total, score, pret, and `contrats` (one row per contract: remplis, score, pret, manquants).
    """
    long = readiness_by_contract(
        cur, contrat=contrat, donnees_au=donnees_au, max_age_months=max_age_months, perimetre=perimetre
    )
    labels = {
        i.key: rd.label_text(i, max_age_months=max_age_months, cpo_target=model.CPO_TARGET_SHARE) for i in rd.ITEMS
    }
    per_contract = (
        long.group_by("code_contrat", "contrat", maintain_order=True)
        .agg(
            pl.col("ok").sum().cast(pl.Int64).alias("remplis"),
            pl.col("critere").filter(~pl.col("ok")).replace_strict(labels, return_dtype=pl.String).alias("manquants"),
        )
        .with_columns(
            (pl.col("remplis") / len(rd.ITEMS)).alias("score"),
            (pl.col("remplis") / len(rd.ITEMS) >= rd.READY_SHARE).alias("pret"),
            pl.col("manquants").list.join(" ; "),
        )
        .sort("remplis", "contrat")
    )
    n_contracts = per_contract.height
    if contrat is not None or n_contracts == 1:
        items = long.select("critere", "ok", "preuve")
    else:
        items = (
            long.group_by("critere", maintain_order=True)
            .agg(
                pl.col("ok").all().alias("ok"),
                pl.col("ok").sum().cast(pl.Int64).alias("n_ok"),
                pl.col("contrat").filter(~pl.col("ok")).head(5).alias("exemples"),
            )
            .with_columns(
                (
                    pl.when(pl.col("n_ok") == 0)
                    .then(pl.lit(f"Aucun contrat sur {fmt.integer(n_contracts)} ne remplit ce critère"))
                    .otherwise(
                        pl.format(
                            "{} sur {} {} ce critère",
                            fmt.plural_expr(pl.col("n_ok"), "contrat", "contrats"),
                            pl.lit(fmt.integer(n_contracts)),
                            pl.when(pl.col("n_ok") < 2).then(pl.lit("remplit")).otherwise(pl.lit("remplissent")),
                        )
                    )
                    + pl.when(pl.col("exemples").list.len() > 0)
                    .then(pl.lit(" ; à compléter notamment : ") + pl.col("exemples").list.join(", "))
                    .otherwise(pl.lit(""))
                    + pl.lit(".")
                ).alias("preuve")
            )
            .select("critere", "ok", "preuve")
        )
    # The share itself (for one contract; skipped for « Tous les contrats », where the checklist
    # only needs to know each contract's share can be computed, and the overview shows the total).
    single = contrat is not None or n_contracts == 1
    part_cpo = (
        financements.funding_totals(cur, contrat=contrat, annee=donnees_au.year, perimetre=perimetre)["part_cpo"]
        if single
        else None
    )
    if part_cpo is not None:
        cpo_text = (
            f"Part des crédits P147 accordés en CPO en {donnees_au.year} : {fmt.percent(part_cpo)} "
            f"(cible nationale ≥ {fmt.percent(model.CPO_TARGET_SHARE, 0)})."
        )
        items = items.with_columns(
            pl.when(pl.col("critere") == "cpo").then(pl.lit(cpo_text)).otherwise(pl.col("preuve")).alias("preuve")
        )
    meta = pl.DataFrame(
        {
            "critere": list(rd.ITEM_KEYS),
            "libelle": [labels[k] for k in rd.ITEM_KEYS],
            "regle": [
                rd.rule_text(i, max_age_months=max_age_months, cpo_target=model.CPO_TARGET_SHARE) for i in rd.ITEMS
            ],
            "page": [i.page for i in rd.ITEMS],
        }
    )
    items = meta.join(items, on="critere", how="left", maintain_order="left").select(
        "critere", "libelle", "ok", "preuve", "regle", "page"
    )
    if items["ok"].null_count():  # no contract in the selection
        items = items.with_columns(
            pl.col("ok").fill_null(False), pl.col("preuve").fill_null("Aucun contrat dans la sélection.")
        )
    remplis = int(items["ok"].sum())
    return {
        "items": items,
        "remplis": remplis,
        "total": len(rd.ITEMS),
        "a_completer": len(rd.ITEMS) - remplis,
        "contrats_prets": int(per_contract["pret"].sum()),
        "score": remplis / len(rd.ITEMS),
        "pret": remplis / len(rd.ITEMS) >= rd.READY_SHARE,
        "part_cpo": part_cpo,
        "contrats": per_contract,
    }


# --- frozen baseline ------------------------------------------------------------------------


def snapshot_frames(cur: duckdb.DuckDBPyConnection, *, contrat: str, date_gel: date) -> dict[str, pl.DataFrame]:
    """The state of a contract at `date_gel`, as stored by a frozen baseline (and as compared « now »).

    - objectifs: the contract's objectives created on or before `date_gel` (or undated);
    - thematiques: the programmation of the year of `date_gel` by thématique P147: actions active
      that year (refused ones excluded) and the amount accordé for that year, all funders, as
      « Financements » computes it (`financements.funding_by_thematique`: every funding line of
      the year);
    - indicateurs: for each indicator and QPV of the contract, the latest value dated on or
      before `date_gel` (a secret value is kept with its marker).
    """
    objectifs = cur.execute(
        """SELECT code_objectif, code_qp, axe, libelle FROM objectif
           WHERE code_contrat = $contrat AND (date_creation IS NULL OR date_creation <= $d)
           ORDER BY code_objectif""",
        parameters={"contrat": contrat, "d": date_gel},
    ).pl()
    actions = cur.execute(
        """SELECT thematique, count(*) AS nb_actions FROM action
           WHERE code_contrat = $contrat AND annee_debut <= $annee AND annee_fin >= $annee AND statut <> 'refusée'
           GROUP BY thematique""",
        parameters={"contrat": contrat, "annee": date_gel.year},
    ).pl()
    # The amount accordé of the year per thématique is the « Financements » figure itself.
    amounts = financements.funding_by_thematique(cur, contrat=contrat, annee=date_gel.year).select(
        "thematique", pl.col("accorde").fill_null(0.0).cast(pl.Float64).alias("montant_accorde")
    )
    thematiques = (
        actions.join(amounts, on="thematique", how="full", coalesce=True)
        .select(
            "thematique", pl.col("nb_actions").fill_null(0).cast(pl.Int64), pl.col("montant_accorde").fill_null(0.0)
        )
        .sort("thematique")
    )
    indicateurs = cur.execute(
        """SELECT v.code_indicateur, v.code_territoire AS code_qp, v.date_valeur, v.valeur, v.secret
           FROM valeur_indicateur v JOIN quartier q ON q.code_qp = v.code_territoire
           WHERE v.type_territoire = 'QPV' AND q.code_contrat = $contrat AND v.date_valeur <= $d
           QUALIFY row_number() OVER (PARTITION BY v.code_indicateur, v.code_territoire ORDER BY v.date_valeur DESC) = 1
           ORDER BY v.code_indicateur, v.code_territoire""",
        parameters={"contrat": contrat, "d": date_gel},
    ).pl()
    return {"objectifs": objectifs, "thematiques": thematiques, "indicateurs": indicateurs}


def baselines(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Frozen baselines of the selection, newest first."""
    return cur.execute(
        """SELECT g.id_gel, g.code_contrat, c.libelle AS contrat, g.libelle, g.date_gel, g.annee_programmation,
                  g.created_at, g.auteur
           FROM reference_gel g JOIN contrat c USING (code_contrat)
           WHERE ($contrat IS NULL OR g.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, g.code_contrat))
           ORDER BY g.created_at DESC, g.id_gel DESC""",
        parameters={"contrat": contrat, "perimetre": bind(perimetre)},
    ).pl()


class BaselineDiff(TypedDict):
    gel: dict[str, Any]  # the baseline's own row
    objectifs: pl.DataFrame
    thematiques: pl.DataFrame
    indicateurs: pl.DataFrame
    annee_maintenant: int
    changements: dict[str, int]  # per kind of change of the objectives
    evolutions: dict[str, int]  # favorable / défavorable indicators


def baseline_diff(
    cur: duckdb.DuckDBPyConnection, *, id_gel: int, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> BaselineDiff:
    """What changed between a frozen baseline and the current state at `donnees_au`.

    Returns objectifs (code_objectif, code_qp, axe, libelle, changement in ajouté / supprimé /
    libellé modifié), thematiques (then vs now per thématique), indicateurs (then vs now per
    indicator and QPV), and the baseline's own row (gel). A baseline of a contract outside the
    périmètre is « introuvable », like an unknown one.
    """
    gel_rows = cur.execute(
        "SELECT id_gel, code_contrat, libelle, date_gel, annee_programmation FROM reference_gel "
        "WHERE id_gel = $id AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))",
        parameters={"id": id_gel, "perimetre": bind(perimetre)},
    ).pl()
    if gel_rows.is_empty():
        raise ValueError(f"Référence n° {id_gel} introuvable.")
    gel = gel_rows.row(0, named=True)
    now = snapshot_frames(cur, contrat=gel["code_contrat"], date_gel=donnees_au)
    then_obj = cur.execute(
        "SELECT code_objectif, code_qp, axe, libelle FROM reference_gel_objectif WHERE id_gel = $id",
        parameters={"id": id_gel},
    ).pl()
    joined = then_obj.join(now["objectifs"], on="code_objectif", how="full", suffix="_now", coalesce=True)
    objectifs = (
        joined.with_columns(
            pl.when(pl.col("libelle").is_null())
            .then(pl.lit("ajouté"))
            .when(pl.col("libelle_now").is_null())
            .then(pl.lit("supprimé"))
            .when(pl.col("libelle") != pl.col("libelle_now"))
            .then(pl.lit("libellé modifié"))
            .otherwise(None)
            .alias("changement")
        )
        .filter(pl.col("changement").is_not_null())
        .select(
            "changement",
            "code_objectif",
            pl.coalesce("code_qp_now", "code_qp").alias("code_qp"),
            pl.coalesce("axe_now", "axe").alias("axe"),
            pl.col("libelle").alias("libelle_avant"),
            pl.col("libelle_now").alias("libelle_maintenant"),
        )
        .sort("changement", "code_objectif")
    )
    then_th = cur.execute(
        "SELECT thematique, nb_actions, montant_accorde FROM reference_gel_thematique WHERE id_gel = $id",
        parameters={"id": id_gel},
    ).pl()
    thematiques = (
        then_th.join(now["thematiques"], on="thematique", how="full", suffix="_now", coalesce=True)
        .select(
            "thematique",
            pl.col("thematique").replace_strict(model.THEMATIQUES_P147, default="").alias("libelle"),
            pl.col("nb_actions").fill_null(0).cast(pl.Int64).alias("actions_avant"),
            pl.col("montant_accorde").fill_null(0.0).cast(pl.Float64).alias("montant_avant"),
            pl.col("nb_actions_now").fill_null(0).cast(pl.Int64).alias("actions_maintenant"),
            pl.col("montant_accorde_now").fill_null(0.0).cast(pl.Float64).alias("montant_maintenant"),
        )
        .with_columns(
            (pl.col("montant_maintenant") - pl.col("montant_avant")).alias("ecart_montant"),
            (pl.col("actions_maintenant") - pl.col("actions_avant")).alias("ecart_actions"),
        )
        .sort("thematique")
    )
    then_ind = cur.execute(
        "SELECT code_indicateur, code_qp, date_valeur, valeur, secret FROM reference_gel_indicateur WHERE id_gel = $id",
        parameters={"id": id_gel},
    ).pl()
    ind_meta = cur.execute("SELECT code_indicateur, libelle AS indicateur, unite, sens FROM indicateur").pl()
    qpv = cur.execute("SELECT code_qp, libelle AS quartier FROM quartier").pl()
    indicateurs = (
        then_ind.join(now["indicateurs"], on=["code_indicateur", "code_qp"], how="full", suffix="_now", coalesce=True)
        .join(ind_meta, on="code_indicateur", how="left")
        .join(qpv, on="code_qp", how="left")
        .select(
            "code_indicateur",
            "indicateur",
            "unite",
            "sens",
            "code_qp",
            "quartier",
            pl.col("date_valeur").alias("date_avant"),
            pl.col("valeur").alias("valeur_avant"),
            pl.col("secret").alias("secret_avant"),
            pl.col("date_valeur_now").alias("date_maintenant"),
            pl.col("valeur_now").alias("valeur_maintenant"),
            pl.col("secret_now").alias("secret_maintenant"),
        )
        .with_columns((pl.col("valeur_maintenant") - pl.col("valeur_avant")).alias("ecart"))
        .with_columns(
            pl.when(pl.col("ecart").is_null() | (pl.col("sens") == "neutre") | (pl.col("ecart") == 0))
            .then(None)
            .when((pl.col("ecart") > 0) == (pl.col("sens") == "hausse"))
            .then(pl.lit("favorable"))
            .otherwise(pl.lit("défavorable"))
            .alias("evolution")
        )
        .sort("indicateur", "quartier")
    )
    changements = dict(objectifs.group_by("changement").len().sort("changement").iter_rows())
    evolutions = {e: indicateurs.filter(pl.col("evolution") == e).height for e in ("favorable", "défavorable")}
    return {
        "gel": gel,
        "objectifs": objectifs,
        "thematiques": thematiques,
        "indicateurs": indicateurs,
        "annee_maintenant": donnees_au.year,
        "changements": changements,
        "evolutions": evolutions,
    }
