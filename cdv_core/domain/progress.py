"""THE progress rule of the projets de quartier: objective progress and status, QPV roll-up.

One place computes it; the « Projets de quartier » page, the overview alerts and the exports call
these functions, and `explain()` renders the very same parameters in plain French for the
« Comment ce statut est-il calculé ? » panel.

The rule, in short (see docs/projets.md):

* **Actions** of an objective: statuses in `RULE.statuts_exclus` (déposée, refusée) do not count;
  an action counts once its period has started at the « données au » date. Its *réalisé* is 1 when
  réalisée, 0 when abandonnée (an abandoned action delivers nothing towards the objective, but the
  money and the time it was meant to use stay in the measure), else its declared avancement
  (unknown avancement: not measured, reported). Its *attendu* is the elapsed share of its period.
  Both are averaged with the amount accordé as weight (an action without amount gets the mean
  weight of the others; equal weights when no action has an amount).
* **Indicators** of an objective: for each indicator and QPV with a baseline and a target, the
  latest known value (not secret) at the « données au » date, placed on the straight path from
  baseline to target in the desired direction: *réalisé* = share of the way travelled (0 = at or
  below the baseline, 1 = target reached or passed); *attendu* = share of the path's time elapsed
  at the date of that value. Plain mean over the measured indicator × QPV pairs.
* **Objective**: réalisé and attendu are the weighted means of the two components present
  (`poids_actions`, `poids_indicateurs`); écart = réalisé − attendu. Status from the écart and the
  thresholds `seuil_surveiller` / `seuil_retard`; « données insuffisantes » when neither component
  can be measured, never a silent 0 % or 100 %.
* **QPV**: mean écart of its measured quartier objectives (transversal objectives are shown apart,
  not rolled into a QPV); « données insuffisantes » when fewer than `part_min_objectifs_mesures`
  of its objectives are measured; one objective « en retard » makes the QPV at least « à surveiller ».
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from cdv_core import fmt, memo
from cdv_core.perimetre import bind

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

EN_BONNE_VOIE = "en bonne voie"
A_SURVEILLER = "à surveiller"
EN_RETARD = "en retard"
DONNEES_INSUFFISANTES = "données insuffisantes"
STATUTS: tuple[str, ...] = (EN_BONNE_VOIE, A_SURVEILLER, EN_RETARD, DONNEES_INSUFFISANTES)  # display order
STATUT_GRAVITE: dict[str, int] = {EN_RETARD: 0, A_SURVEILLER: 1, DONNEES_INSUFFISANTES: 2, EN_BONNE_VOIE: 3}


@dataclass(frozen=True)
class ProgressRule:
    """Named parameters of the rule (hashable: it can be a cache key)."""

    statuts_exclus: tuple[str, ...] = ("déposée", "refusée")  # not (yet) part of the programme
    statut_realise: str = "réalisée"  # counts as 100 % done
    statut_abandonne: str = "abandonnée"  # counts as 0 % done, keeps its weight
    poids_actions: float = 0.5  # weight of the actions' component in an objective
    poids_indicateurs: float = 0.5  # weight of the indicators' component
    seuil_surveiller: float = 0.10  # écart below −10 points: « à surveiller »
    seuil_retard: float = 0.25  # écart below −25 points: « en retard »
    part_min_objectifs_mesures: float = 0.5  # a QPV needs at least half its objectives measured


RULE = ProgressRule()


# --- inputs: one row per (objective, action) and per (objective, indicator, QPV) -------------


@memo.per_version
def action_rows(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    rule: ProgressRule = RULE,
    code_qp: str | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Every (objective, action) link of the selection with the rule's per-action figures:
    `compte` (counts in the measure), `realise`, `attendu`, `poids`, `motif_exclusion`.

    `code_qp` restricts to the objectives of that QPV and the transversal objectives of its contract.
    """
    # The roll-up of a whole selection (national: 250 000 links) skips the text columns that
    # only the drill-down of one QPV shows; both variants are fixed SQL texts.
    detail = code_qp is not None
    frame = cur.execute(
        (_ACTION_SQL_DETAIL if detail else _ACTION_SQL),
        parameters={"contrat": contrat, "qp": code_qp, "perimetre": bind(perimetre)},
    ).pl()
    return score_action_rows(frame, donnees_au=donnees_au, rule=rule)


_ACTION_SQL_TEMPLATE = """WITH obj AS (
             SELECT o.code_objectif FROM objectif o
             WHERE ($contrat IS NULL OR o.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, o.code_contrat))
               AND ($qp IS NULL OR o.code_qp = $qp
                    OR (o.code_qp IS NULL AND o.code_contrat = (SELECT code_contrat FROM quartier
                      WHERE code_qp = $qp)))),
           links AS (SELECT ao.code_objectif, ao.code_action
                     FROM action_objectif ao SEMI JOIN obj USING (code_objectif)),
           amounts AS (
             SELECT f.code_action, sum(f.montant_accorde)::DOUBLE AS accorde, sum(f.montant_verse)::DOUBLE AS verse
             FROM financement f WHERE f.code_action IN (SELECT code_action FROM links) GROUP BY f.code_action)
           SELECT l.code_objectif, a.code_action, /*detail*/ a.statut, a.avancement,
                  coalesce(a.date_debut, make_date(a.annee_debut, 1, 1)) AS debut,
                  coalesce(a.date_fin, make_date(a.annee_fin, 12, 31)) AS fin,
                  m.accorde, m.verse
           FROM links l JOIN action a USING (code_action) LEFT JOIN amounts m USING (code_action)"""
_ACTION_SQL = _ACTION_SQL_TEMPLATE.replace("/*detail*/", "")
_ACTION_SQL_DETAIL = (
    _ACTION_SQL_TEMPLATE.replace("/*detail*/", "a.libelle, a.id_porteur,") + " ORDER BY l.code_objectif, a.code_action"
)


def score_action_rows(frame: pl.DataFrame, *, donnees_au: date, rule: ProgressRule = RULE) -> pl.DataFrame:
    """Per-action part of the rule on a frame with code_objectif, statut, avancement, debut, fin, accorde."""
    au = pl.lit(donnees_au)
    excluded = pl.col("statut").is_in(list(rule.statuts_exclus))
    started = pl.col("debut") <= au
    realise = (
        pl.when(pl.col("statut") == rule.statut_realise)
        .then(pl.lit(1.0))
        .when(pl.col("statut") == rule.statut_abandonne)
        .then(pl.lit(0.0))
        .otherwise(pl.col("avancement"))
    )
    length = (pl.col("fin") - pl.col("debut")).dt.total_days() + 1
    attendu = ((au - pl.col("debut")).dt.total_days().cast(pl.Float64) / length.cast(pl.Float64)).clip(0.0, 1.0)
    frame = frame.with_columns(
        realise.alias("realise"),
        attendu.alias("attendu"),
        (~excluded & started & realise.is_not_null()).alias("compte"),
        pl.when(excluded)
        .then(pl.lit("statut « ") + pl.col("statut") + pl.lit(" » : non comptée"))
        .when(~started)
        .then(pl.lit("pas encore commencée : non comptée"))
        .when(realise.is_null())
        .then(pl.lit("avancement non déclaré : non mesurée"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("motif_exclusion"),
    )
    positive = pl.col("accorde").filter(pl.col("compte") & (pl.col("accorde") > 0))
    mean_weight = positive.mean().over("code_objectif")
    return frame.with_columns(
        pl.when(~pl.col("compte"))
        .then(None)
        .when(pl.col("accorde") > 0)
        .then(pl.col("accorde"))
        .otherwise(mean_weight.fill_null(1.0))
        .alias("poids")
    )


@memo.per_version
def indicator_rows(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    code_qp: str | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Every (objective, indicator, QPV) pair of the selection with baseline, target, latest value
    known at `donnees_au` (non secret), and the rule's `realise` / `attendu` / `mesure`.

    A quartier objective is measured on its QPV; a transversal objective on every QPV of its
    contract that has a baseline and target for the indicator.
    """
    frame = cur.execute(
        """WITH obj AS (
             SELECT o.code_objectif, o.code_contrat, o.code_qp FROM objectif o
             WHERE ($contrat IS NULL OR o.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, o.code_contrat))
               AND ($qp IS NULL OR o.code_qp = $qp
                    OR (o.code_qp IS NULL AND o.code_contrat = (SELECT code_contrat FROM quartier
                      WHERE code_qp = $qp)))),
           pairs AS (
             SELECT o.code_objectif, oi.code_indicateur, o.code_qp, false AS transversal
             FROM obj o JOIN objectif_indicateur oi USING (code_objectif) WHERE o.code_qp IS NOT NULL
             UNION ALL
             SELECT o.code_objectif, oi.code_indicateur, q.code_qp, true
             FROM obj o JOIN objectif_indicateur oi USING (code_objectif)
                  JOIN quartier q ON q.code_contrat = o.code_contrat
                  JOIN cible_indicateur c ON c.code_indicateur = oi.code_indicateur AND c.code_qp = q.code_qp
             WHERE o.code_qp IS NULL AND ($qp IS NULL OR q.code_qp = $qp)),
           latest AS (
             SELECT v.code_indicateur, v.code_territoire AS code_qp,
                    max(v.date_valeur) AS date_valeur, arg_max(v.valeur, v.date_valeur) AS valeur
             FROM valeur_indicateur v
             WHERE v.type_territoire = 'QPV' AND v.valeur IS NOT NULL AND v.date_valeur <= $au
               AND (v.code_indicateur, v.code_territoire) IN (SELECT code_indicateur, code_qp FROM pairs)
             GROUP BY ALL)
           SELECT p.code_objectif, p.code_indicateur, i.libelle AS indicateur, i.unite, i.sens, p.code_qp,
                  p.transversal, c.valeur_reference, c.date_reference, c.valeur_cible, c.date_cible,
                  c.valeur_cible_intermediaire, c.date_cible_intermediaire, l.valeur, l.date_valeur
           FROM pairs p JOIN indicateur i USING (code_indicateur)
                LEFT JOIN cible_indicateur c USING (code_indicateur, code_qp)
                LEFT JOIN latest l USING (code_indicateur, code_qp)
           ORDER BY p.code_objectif, p.code_indicateur, p.code_qp""",
        parameters={"contrat": contrat, "qp": code_qp, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()
    return score_indicator_rows(frame)


def _days(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (b - a).dt.total_days().cast(pl.Float64)


def expected_share(at: pl.Expr, *, span: pl.Expr, direction: pl.Expr) -> pl.Expr:
    """The share of the way from baseline to target expected at date `at`, on the trajectory
    baseline → intermediate target (when there is one: `valeur_cible_intermediaire` at
    `date_cible_intermediaire`) → target, straight between them: so a value is judged against
    the target of its period (an ambitious 2027 step expects more by 2027). Without intermediate
    target, the elapsed share of the baseline → target period."""
    ref, mid, end = pl.col("date_reference"), pl.col("date_cible_intermediaire"), pl.col("date_cible")
    whole = pl.when(_days(ref, end) > 0).then((_days(ref, at) / _days(ref, end)).clip(0.0, 1.0)).otherwise(pl.lit(1.0))
    # the share of the way the intermediate target stands for (a step beyond the target counts as all of it)
    step = pl.when(span > 0).then(
        (direction * (pl.col("valeur_cible_intermediaire") - pl.col("valeur_reference")) / span).clip(0.0, 1.0)
    )
    first = step * (_days(ref, at) / _days(ref, mid)).clip(0.0, 1.0)
    second = step + (1 - step) * (_days(mid, at) / _days(mid, end)).clip(0.0, 1.0)
    staged = pl.when(at <= mid).then(first).otherwise(second)
    return (
        pl.when(mid.is_not_null() & step.is_not_null() & (_days(ref, mid) > 0) & (_days(mid, end) > 0))
        .then(staged)
        .otherwise(whole)
    )


def score_indicator_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Per-indicator part of the rule: position on the baseline → target path, in the desired direction."""
    frame = frame.with_columns(
        *(
            pl.lit(None, dtype=t).alias(c)
            for c, t in (("valeur_cible_intermediaire", pl.Float64), ("date_cible_intermediaire", pl.Date))
            if c not in frame.columns
        )
    )  # a frame from before migration 0013 (a frozen baseline)
    b, c, v = pl.col("valeur_reference"), pl.col("valeur_cible"), pl.col("valeur")
    direction = (
        pl.when(pl.col("sens") == "hausse")
        .then(pl.lit(1.0))
        .when(pl.col("sens") == "baisse")
        .then(pl.lit(-1.0))
        .otherwise((c - b).sign())
    )
    span = direction * (c - b)
    # Target on the wrong side of the baseline or equal to it: "reach (or keep) the target".
    realise = (
        pl.when(span > 0)
        .then((direction * (v - b) / span).clip(0.0, 1.0))
        .otherwise(pl.when(direction * (v - c) >= 0).then(pl.lit(1.0)).otherwise(pl.lit(0.0)))
    )
    attendu = expected_share(pl.col("date_valeur"), span=span, direction=direction)
    complete = (
        b.is_not_null()
        & c.is_not_null()
        & pl.col("date_reference").is_not_null()
        & pl.col("date_cible").is_not_null()
        & (direction != 0)
    )
    mesure = complete & v.is_not_null()
    return frame.with_columns(
        pl.when(mesure).then(realise).alias("realise"),
        pl.when(mesure).then(attendu).alias("attendu"),
        mesure.alias("mesure"),
        (mesure & (realise >= 1.0)).alias("cible_atteinte"),
        pl.when(~complete)
        .then(pl.lit("référence ou cible manquante : non mesuré"))
        .when(v.is_null())
        .then(pl.lit("aucune valeur connue (ou secret statistique) : non mesuré"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("motif_exclusion"),
    )


# --- objectives ------------------------------------------------------------------------------


def objective_progress(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    rule: ProgressRule = RULE,
    code_qp: str | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """One row per objective of the selection: its components, réalisé, attendu, écart, statut, motif."""
    objectives = cur.execute(
        """SELECT o.code_objectif, o.code_contrat, o.code_qp, o.axe, o.libelle
           FROM objectif o
           WHERE ($contrat IS NULL OR o.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, o.code_contrat))
             AND ($qp IS NULL OR o.code_qp = $qp
                  OR (o.code_qp IS NULL AND o.code_contrat = (SELECT code_contrat FROM quartier WHERE code_qp = $qp)))
           ORDER BY o.code_qp NULLS LAST, o.axe, o.code_objectif""",
        parameters={"contrat": contrat, "qp": code_qp, "perimetre": bind(perimetre)},
    ).pl()
    actions = action_rows(cur, contrat=contrat, donnees_au=donnees_au, rule=rule, code_qp=code_qp, perimetre=perimetre)
    indicators = indicator_rows(cur, contrat=contrat, donnees_au=donnees_au, code_qp=code_qp, perimetre=perimetre)
    return combine(objectives, actions, indicators, rule=rule)


def combine(
    objectives: pl.DataFrame, actions: pl.DataFrame, indicators: pl.DataFrame, *, rule: ProgressRule = RULE
) -> pl.DataFrame:
    """Objective-level rule from the scored action and indicator rows."""
    counted = pl.col("compte")
    w = pl.col("poids").filter(counted)
    a = actions.group_by("code_objectif").agg(
        (~pl.col("statut").is_in(list(rule.statuts_exclus))).sum().cast(pl.Int64).alias("n_actions"),
        counted.sum().cast(pl.Int64).alias("n_actions_mesurees"),
        (counted & (pl.col("statut") == rule.statut_abandonne)).sum().cast(pl.Int64).alias("n_actions_abandonnees"),
        ((pl.col("realise").filter(counted) * w).sum() / w.sum()).alias("realise_actions"),
        ((pl.col("attendu").filter(counted) * w).sum() / w.sum()).alias("attendu_actions"),
    )
    measured = pl.col("mesure")
    i = indicators.group_by("code_objectif").agg(
        pl.col("code_indicateur").n_unique().cast(pl.Int64).alias("n_indicateurs"),
        measured.sum().cast(pl.Int64).alias("n_indicateurs_mesures"),
        pl.col("cible_atteinte").sum().cast(pl.Int64).alias("n_cibles_atteintes"),
        pl.col("realise").filter(measured).mean().alias("realise_indicateurs"),
        pl.col("attendu").filter(measured).mean().alias("attendu_indicateurs"),
    )
    out = (
        objectives.join(a, on="code_objectif", how="left")
        .join(i, on="code_objectif", how="left")
        .with_columns(pl.col("^n_.*$").fill_null(0))
        .with_columns(
            # NaN from an empty weighted mean means "no measured action".
            pl.col("realise_actions", "attendu_actions", "realise_indicateurs", "attendu_indicateurs").fill_nan(None)
        )
    )
    has_a = pl.col("realise_actions").is_not_null()
    has_i = pl.col("realise_indicateurs").is_not_null()
    wa = pl.when(has_a).then(pl.lit(rule.poids_actions)).otherwise(0.0)
    wi = pl.when(has_i).then(pl.lit(rule.poids_indicateurs)).otherwise(0.0)
    total = wa + wi

    def mix(a_col: str, i_col: str) -> pl.Expr:
        return pl.when(total > 0).then((pl.col(a_col).fill_null(0.0) * wa + pl.col(i_col).fill_null(0.0) * wi) / total)

    out = out.with_columns(
        mix("realise_actions", "realise_indicateurs").alias("realise"),
        mix("attendu_actions", "attendu_indicateurs").alias("attendu"),
    )
    out = out.with_columns((pl.col("realise") - pl.col("attendu")).alias("ecart"))
    out = out.with_columns(status_expr(pl.col("ecart"), pl.col("realise"), rule).alias("statut"))
    return out.with_columns(_objective_motif().alias("motif"))


def status_expr(ecart: pl.Expr, realise: pl.Expr | None, rule: ProgressRule = RULE) -> pl.Expr:
    """The thresholds, in one place: écart (réalisé − attendu) → status."""
    expr: Then | ChainedThen = pl.when(ecart.is_null()).then(pl.lit(DONNEES_INSUFFISANTES))
    if realise is not None:
        expr = expr.when(realise >= 1.0).then(pl.lit(EN_BONNE_VOIE))
    return (
        expr.when(ecart < -rule.seuil_retard)
        .then(pl.lit(EN_RETARD))
        .when(ecart < -rule.seuil_surveiller)
        .then(pl.lit(A_SURVEILLER))
        .otherwise(pl.lit(EN_BONNE_VOIE))
    )


def _pct(col: str) -> pl.Expr:
    return fmt.percent_expr(pl.col(col), 0)


def _objective_motif() -> pl.Expr:
    actions = (
        pl.lit("actions : ")
        + _pct("realise_actions")
        + pl.lit(" réalisé pour ")
        + _pct("attendu_actions")
        + pl.lit(" attendu (")
        + fmt.plural_expr(pl.col("n_actions_mesurees"), "action mesurée", "actions mesurées")
        + pl.when(pl.col("n_actions_abandonnees") > 0)
        .then(pl.lit(", dont ") + fmt.plural_expr(pl.col("n_actions_abandonnees"), "abandonnée", "abandonnées"))
        .otherwise(pl.lit(""))
        + pl.lit(")")
    )
    indicators = (
        pl.lit("indicateurs : ")
        + _pct("realise_indicateurs")
        + pl.lit(" du chemin vers la cible pour ")
        + _pct("attendu_indicateurs")
        + pl.lit(" attendu")
        + pl.when(pl.col("n_cibles_atteintes") > 0)
        .then(
            pl.lit(" (")
            + fmt.plural_expr(pl.col("n_cibles_atteintes"), "cible atteinte", "cibles atteintes")
            + pl.lit(")")
        )
        .otherwise(pl.lit(""))
    )
    parts = (
        pl.concat_list(
            pl.when(pl.col("realise_actions").is_not_null()).then(actions),
            pl.when(pl.col("realise_indicateurs").is_not_null()).then(indicators),
        )
        .list.drop_nulls()
        .list.join(" ; ")
    )
    insufficient = (
        pl.lit("aucune action engagée mesurable")
        + pl.when(pl.col("n_actions") > 0)
        .then(
            pl.lit(" (")
            + fmt.plural_expr(pl.col("n_actions"), "action", "actions")
            + pl.lit(" sans avancement mesurable)")
        )
        .otherwise(pl.lit(""))
        + pl.lit(" et aucun indicateur avec valeur, référence et cible")
    )
    text = pl.when(pl.col("realise").is_null()).then(insufficient).otherwise(parts)
    return text.str.slice(0, 1).str.to_uppercase() + text.str.slice(1)


# --- QPV roll-up -----------------------------------------------------------------------------


def qpv_status(objectives: pl.DataFrame, codes_qp: pl.Series | list[str], *, rule: ProgressRule = RULE) -> pl.DataFrame:
    """One row per QPV of `codes_qp` from its quartier objectives (transversal ones excluded):
    n_objectifs, counts per status, réalisé, attendu, écart, statut, motif."""
    qp = pl.DataFrame({"code_qp": pl.Series(list(codes_qp), dtype=pl.String)})
    obj = objectives.filter(pl.col("code_qp").is_not_null())
    measured = pl.col("statut") != DONNEES_INSUFFISANTES

    def libelles(status: str) -> pl.Expr:
        return pl.col("libelle").filter(pl.col("statut") == status).sort().str.join(", ")

    agg = obj.group_by("code_qp").agg(
        pl.len().cast(pl.Int64).alias("n_objectifs"),
        *[(pl.col("statut") == s).sum().cast(pl.Int64).alias(_count_col(s)) for s in STATUTS],
        pl.col("realise").filter(measured).mean().alias("realise"),
        pl.col("attendu").filter(measured).mean().alias("attendu"),
        pl.col("ecart").filter(measured).mean().alias("ecart"),
        libelles(EN_RETARD).alias("_lib_retard"),
        libelles(A_SURVEILLER).alias("_lib_surveiller"),
    )
    out = qp.join(agg, on="code_qp", how="left").with_columns(pl.col("^n_.*$").fill_null(0))
    n = pl.col("n_objectifs")
    n_measured = n - pl.col(_count_col(DONNEES_INSUFFISANTES))
    enough = (n > 0) & (n_measured.cast(pl.Float64) >= rule.part_min_objectifs_mesures * n.cast(pl.Float64))
    base = status_expr(pl.col("ecart"), None, rule)
    statut = (
        pl.when(~enough)
        .then(pl.lit(DONNEES_INSUFFISANTES))
        .when((pl.col(_count_col(EN_RETARD)) > 0) & (base == EN_BONNE_VOIE))
        .then(pl.lit(A_SURVEILLER))
        .otherwise(base)
    )
    out = out.with_columns(statut.alias("statut"))
    return out.with_columns(_qpv_motif().alias("motif")).drop("_lib_retard", "_lib_surveiller")


def _count_col(status: str) -> str:
    return {
        EN_BONNE_VOIE: "n_bonne_voie",
        A_SURVEILLER: "n_surveiller",
        EN_RETARD: "n_retard",
        DONNEES_INSUFFISANTES: "n_insuffisantes",
    }[status]


def _qpv_motif() -> pl.Expr:
    n = pl.col("n_objectifs")
    sur = pl.lit(" sur ") + fmt.number_expr(n)

    def part(count: str, word_status: str, names: str | None) -> pl.Expr:
        c = pl.col(count)
        text = fmt.plural_expr(c, "objectif", "objectifs") + sur + pl.lit(" " + word_status)
        if names:
            text = text + pl.lit(" : ") + pl.col(names)
        return pl.when(c > 0).then(text)

    parts = (
        pl.concat_list(
            part("n_retard", EN_RETARD, "_lib_retard"),
            part("n_surveiller", A_SURVEILLER, "_lib_surveiller"),
            part("n_insuffisantes", "sans données suffisantes", None),
        )
        .list.drop_nulls()
        .list.join(" ; ")
    )
    all_good = fmt.plural_expr(pl.col("n_bonne_voie"), "objectif", "objectifs") + sur + pl.lit(" " + EN_BONNE_VOIE)
    return (
        pl.when(n == 0)
        .then(pl.lit("Aucun objectif de quartier enregistré"))
        .when(parts == "")
        .then(all_good)
        .otherwise(parts.str.slice(0, 1).str.to_uppercase() + parts.str.slice(1))
    )


# --- the rule in words -------------------------------------------------------------------------


def explain(rule: ProgressRule = RULE) -> str:
    """The rule in plain French (Markdown), generated from the parameters the code uses."""
    pa, pi = rule.poids_actions, rule.poids_indicateurs
    share_a = fmt.percent(pa / (pa + pi), 0) if pa + pi else "—"
    share_i = fmt.percent(pi / (pa + pi), 0) if pa + pi else "—"
    excl = " et ".join(f"« {s} »" for s in rule.statuts_exclus)
    surv = fmt.integer(rule.seuil_surveiller * 100)
    ret = fmt.integer(rule.seuil_retard * 100)
    return f"""
**Pour chaque objectif**, on compare ce qui est *réalisé* à ce qui était *attendu* à la date « données au ».

1. **Les actions** rattachées à l'objectif. Les actions au statut {excl} ne comptent pas ; une action compte
   dès que sa période a commencé. Une action « {rule.statut_realise} » vaut 100 % ; une action
   « {rule.statut_abandonne} » vaut 0 % (elle garde son poids : l'argent et le temps prévus n'ont rien produit) ;
   les autres valent leur avancement déclaré (sans avancement déclaré, l'action n'est pas mesurée).
   L'*attendu* d'une action est la part écoulée de sa période. Les moyennes sont pondérées par le
   **montant accordé** (tous financeurs, toutes années) ; une action sans montant reçoit le poids moyen des autres, et toutes pèsent
   pareil si aucune n'a de montant.
2. **Les indicateurs** rattachés à l'objectif, pour chaque QPV qui a une valeur de référence et une cible :
   la dernière valeur connue (hors secret statistique) est placée sur le chemin en ligne droite de la
   référence à la cible, dans le sens souhaité (hausse ou baisse) : 0 % au niveau de la référence ou en
   deçà, 100 % quand la cible est atteinte ou dépassée. L'*attendu* est la part du temps écoulée entre
   la date de référence et la date de la cible, à la date de cette valeur (les valeurs statistiques
   arrivent avec un ou deux ans de décalage : on ne les pénalise pas pour ce délai). Avec une **cible
   intermédiaire** (par exemple à l'actualisation 2027), la trajectoire passe par elle : l'attendu suit
   la cible de la période où tombe la valeur.
3. **Objectif** : réalisé et attendu combinent les actions ({share_a}) et les indicateurs ({share_i}) ;
   quand une seule des deux sources est mesurable, elle compte seule. L'**écart** est réalisé − attendu :
   - **{EN_BONNE_VOIE}** : écart supérieur ou égal à −{surv} points (ou tout est réalisé) ;
   - **{A_SURVEILLER}** : écart entre −{ret} et −{surv} points ;
   - **{EN_RETARD}** : écart inférieur à −{ret} points ;
   - **{DONNEES_INSUFFISANTES}** : ni action mesurable ni indicateur avec valeur, référence et cible
     (jamais 0 % ni 100 % par défaut).

**Pour chaque quartier**, on fait la moyenne des écarts de ses objectifs de quartier mesurés
(les objectifs transversaux du contrat sont présentés à part) et on applique les mêmes seuils.
Un quartier dont moins de {fmt.percent(rule.part_min_objectifs_mesures, 0)} des objectifs sont mesurés est en
« {DONNEES_INSUFFISANTES} » ; un seul objectif « {EN_RETARD} » suffit à le placer au moins « {A_SURVEILLER} ».

**Montants par quartier** : une action qui sert plusieurs QPV compte une seule fois dans le total du contrat
et, dans chaque QPV, pour sa part de répartition (parts égales quand elles ne sont pas renseignées) :
la somme des quartiers est égale au total du contrat pour les actions rattachées à des QPV.
""".strip()
