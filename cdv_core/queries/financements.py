"""Funding: the programmation's amounts, from demandé to versé.

Every amount shown anywhere comes from this module; totals by QPV use allocation shares.

Filters (keyword-only, all optional, tuples of values; an empty tuple means "no filter"):
`thematiques` (P147 codes), `financeurs`, `modes`, `types_porteur`, `qpv` (codes_qp),
`axes`, `objectifs` (codes), `statuts` (of the action). `annee` (exercice) is separate.

Rules (docs/financements.md):
- An amount is a funding line's amount of the exercice (`financement.annee`): multi-year CPO are
  counted per year as recorded, never spread by guess.
- With a QPV filter, each action's amounts are weighted by its allocation share to the selected
  QPV (`cdv_core.domain.shares`: given parts kept, missing parts share what is left equally,
  normalised to 1 per action — the Projets de quartier rule), so that summing over QPV never
  double counts. Hors-QPV actions (`shares.hors_qpv_sql`: no QPV link) drop out under a QPV filter.
- A financeur filter keeps the lines of those funders, and the actions that have one.
- The actions of an exercice are those whose span covers it; refused actions are not counted
  unless the statut filter asks for them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypedDict

import duckdb
import polars as pl

from cdv_core import memo
from cdv_core.domain import identifiers, model, shares
from cdv_core.perimetre import bind

FILTERS: tuple[str, ...] = (
    "thematiques",
    "financeurs",
    "modes",
    "types_porteur",
    "qpv",
    "axes",
    "objectifs",
    "statuts",
)
CPO_YEARS: tuple[int, ...] = tuple(range(2024, 2031))

# The selection, as CTEs: `sel` (actions matching the attribute filters, with their QPV weight
# `poids`), `lignes` (their funding lines of the exercice and funders) and `acts` (the actions of
# the exercice and funders). Clauses of inactive filters are left out (a constant fragment per
# filter, never built from values): DuckDB does not prune `$x IS NULL OR ...` branches itself.
# `poids`: the sum of the action's allocation shares (`cdv_core.domain.shares`) over the selected
# QPV, computed only for the actions serving one of them. `hors_qpv` is the shared definition
# (no QPV link), never the declared flag (that is `hors_qpv_declare`); it costs a pass over every
# link of the store, so `sel` has it only when the query's body uses it (and as a constant false
# under a QPV filter, where every selected action serves a QPV).
_QPV_WEIGHTS = (
    """
qw AS (
    SELECT code_action, sum(part) AS poids
    FROM ("""
    + shares.shares_sql("qpv")
    + """)
    WHERE code_qp IN (SELECT unnest($qpv))
    GROUP BY code_action
),"""
)
_SEL_HEAD = """
sel AS (
    SELECT a.* EXCLUDE (hors_qpv){hors_qpv}, p.nom AS porteur, p.type_structure, p.siret, p.rna, {poids} AS poids
    FROM action a LEFT JOIN porteur p USING (id_porteur) {qw_join}
    WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
      AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))"""
_SEL_CLAUSES = {
    # A national code covers its sub-codes: « 1.5 » selects 1.5, 1.5a (jeunesse) and 1.5b (sport).
    "thematiques": "AND (list_contains($thematiques, a.thematique) "
    "OR list_contains($thematiques, left(a.thematique, 3)))",
    "modes": "AND list_contains($modes, a.mode_financement)",
    "types_porteur": "AND list_contains($types_porteur, p.type_structure)",
    "statuts": "AND list_contains($statuts, a.statut)",
    "qpv": "AND qw.poids IS NOT NULL",
    "axes": """AND a.code_action IN (SELECT ao.code_action FROM action_objectif ao JOIN objectif o USING (code_objectif)
                                     WHERE list_contains($axes, o.axe))""",
    "objectifs": """AND a.code_action IN (SELECT code_action FROM action_objectif
                                          WHERE list_contains($objectifs, code_objectif))""",
}
_LIGNES = """
),
lignes AS (
    SELECT f.*, s.poids FROM financement f JOIN sel s USING (code_action)
    WHERE ($annee IS NULL OR f.annee = $annee) {financeurs}
),
acts AS (
    SELECT * FROM sel
    WHERE ($annee IS NULL OR (annee_debut <= $annee AND annee_fin >= $annee)) {acts_financeurs}
)
"""


_HORS_QPV = {  # (column wanted, QPV filter on) → fragment of `sel`
    (False, False): "",
    (False, True): "",
    (True, False): ", " + shares.hors_qpv_sql("a") + " AS hors_qpv, coalesce(a.hors_qpv, false) AS hors_qpv_declare",
    (True, True): ", false AS hors_qpv, false AS hors_qpv_declare",
}


def _selection(params: dict, *, with_hors_qpv: bool = False) -> str:
    weighted = params["qpv"] is not None
    sql = (
        "WITH "
        + (_QPV_WEIGHTS if weighted else "")
        + _SEL_HEAD.format(
            poids="qw.poids" if weighted else "1.0",
            qw_join="LEFT JOIN qw USING (code_action)" if weighted else "",
            hors_qpv=_HORS_QPV[with_hors_qpv, weighted],
        )
    )
    sql += "".join("\n      " + clause for name, clause in _SEL_CLAUSES.items() if params[name] is not None)
    with_funders = params["financeurs"] is not None
    return sql + _LIGNES.format(
        financeurs="AND list_contains($financeurs, f.financeur)" if with_funders else "",
        acts_financeurs="AND code_action IN (SELECT code_action FROM lignes)" if with_funders else "",
    )


# Amount expressions: weighted only when a QPV filter is on (so unfiltered sums stay exact
# decimals). Fixed fragments, chosen by `_amounts`, never built from values.
_AMOUNTS = {
    False: {"d": "l.montant_demande", "a": "l.montant_accorde", "v": "l.montant_verse"},
    True: {"d": "l.montant_demande * l.poids", "a": "l.montant_accorde * l.poids", "v": "l.montant_verse * l.poids"},
}


def _params(contrat: str | None, annee: int | None, filters: dict, perimetre: tuple[str, ...] | None) -> dict:
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise TypeError(f"filtre(s) inconnu(s) : {', '.join(sorted(unknown))}")
    params = {"contrat": contrat, "annee": annee, "perimetre": bind(perimetre)}
    for name in FILTERS:
        values = filters.get(name) or ()
        params[name] = list(values) if values else None
    return params


def _amounts(params: dict) -> dict[str, str]:
    return _AMOUNTS[params["qpv"] is not None]


def _bind(body: str, params: dict) -> tuple[str, dict]:
    sql = _selection(params, with_hors_qpv="hors_qpv" in body) + body
    used = set(re.findall(r"\$([a-z_0-9]+)", sql))
    return sql, {k: v for k, v in params.items() if k in used}


def _frame(cur: duckdb.DuckDBPyConnection, body: str, params: dict) -> pl.DataFrame:
    sql, bound = _bind(body, params)
    return cur.execute(sql, parameters=bound).pl()


def _row(cur: duckdb.DuckDBPyConnection, body: str, params: dict) -> tuple:
    sql, bound = _bind(body, params)
    return cur.execute(sql, bound).fetchall()[0]


# --- headline figures -------------------------------------------------------------------------


class ActionCounts(TypedDict):
    actions: int  # active in the year, refused ones left out (unless filtered on statut)
    porteurs: int
    lignes_tableau: int  # rows of `action_rows`


@memo.per_version
def action_counts(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> ActionCounts:
    """Actions of the selection active in `annee` (all years when None) and their porteurs;
    refused actions are left out unless the `statuts` filter is given. `lignes_tableau`: the
    rows of `action_rows` (refused actions included)."""
    params = _params(contrat, annee, filters, perimetre)
    actions, porteurs, lignes = _row(
        cur,
        """
        SELECT count(*) FILTER (WHERE $statuts IS NOT NULL OR statut <> 'refusée'),
               count(DISTINCT id_porteur) FILTER (WHERE $statuts IS NOT NULL OR statut <> 'refusée'),
               count(*)
        FROM acts""",
        params,
    )
    return {"actions": int(actions), "porteurs": int(porteurs), "lignes_tableau": int(lignes)}


def actions_of_year(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> int:
    """Actions of the programmation active in `annee` (annual, or a multi-year span covering it),
    excluding refused ones."""
    return action_counts(cur, contrat=contrat, annee=annee, perimetre=perimetre, **filters)["actions"]


# Accordé to small associations: one predicate on a `sel` row `s`, parameter `$small`.
_SMALL = "s.type_structure = $small"


class FundingTotals(TypedDict):
    """`funding_totals`: amounts in euros, shares in [0, 1] (None when the whole is zero)."""

    demande: float
    accorde: float
    verse: float
    taux_accord: float | None
    taux_versement: float | None
    p147_accorde: float
    p147_cpo_accorde: float
    part_cpo: float | None
    cpo_cible_atteinte: bool | None
    cpo_accorde: float
    droit_commun_accorde: float
    part_p147: float | None
    part_droit_commun: float | None
    petites_assos_accorde: float
    part_petites_assos: float | None
    hors_qpv_p147_accorde: float
    part_hors_qpv: float | None
    hors_qpv_declare_p147_accorde: float


@memo.per_version
def funding_totals(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> FundingTotals:
    """Amounts demandé / accordé / versé of the funding lines of a year (all years when None),
    with the rates between steps and the shares the page reports:

    - `part_cpo`: État P147 accordé to CPO actions / État P147 accordé; `cpo_cible_atteinte`:
      whether it reaches `model.CPO_TARGET_SHARE` (None when there is no P147 accordé);
    - `part_p147`: crédits spécifiques (État P147) / all accordé; `part_droit_commun`: the rest;
    - `part_petites_assos`: accordé to porteurs « association sans salarié » / all accordé
      (the definition `small_association_by_year` and the Acteurs screen use);
    - `part_hors_qpv`: État P147 accordé to hors-QPV actions (no QPV link, `shares.hors_qpv_sql`)
      / État P147 accordé, in the selection; `hors_qpv_declare_p147_accorde`, the part of it
      declared hors QPV. The cap of `model.HORS_QPV_MAX_SHARE` is judged on the département's
      whole envelope, whatever the filters: `hors_qpv_by_departement`, never on these.
    """
    params = _params(contrat, annee, filters, perimetre) | {
        "p147": model.CREDITS_SPECIFIQUES,
        "small": model.SMALL_ASSOCIATION,
    }
    m = _amounts(params)
    row = _row(
        cur,
        f"""
        SELECT coalesce(sum({m["d"]}), 0), coalesce(sum({m["a"]}), 0), coalesce(sum({m["v"]}), 0),
               coalesce(sum({m["a"]}) FILTER (WHERE l.financeur = $p147), 0),
               coalesce(sum({m["a"]}) FILTER (WHERE l.financeur = $p147 AND s.mode_financement = 'CPO'), 0),
               coalesce(sum({m["a"]}) FILTER (WHERE {_SMALL}), 0),
               coalesce(sum({m["a"]}) FILTER (WHERE l.financeur = $p147 AND s.hors_qpv), 0),
               coalesce(sum({m["a"]}) FILTER (WHERE s.mode_financement = 'CPO'), 0),
               coalesce(sum({m["a"]}) FILTER (WHERE l.financeur = $p147 AND s.hors_qpv AND s.hors_qpv_declare), 0)
        FROM lignes l JOIN sel s USING (code_action)""",
        params,
    )  # fixed SQL fragments
    demande, accorde, verse, p147, p147_cpo, small, hors_qpv, cpo, declared = (float(v) for v in row)

    def share(part: float, whole: float) -> float | None:
        return part / whole if whole else None

    part_hors_qpv = share(hors_qpv, p147)
    part_cpo = share(p147_cpo, p147)
    part_p147 = share(p147, accorde)
    return {
        "demande": demande,
        "accorde": accorde,
        "verse": verse,
        "taux_accord": share(accorde, demande),
        "taux_versement": share(verse, accorde),
        "p147_accorde": p147,
        "p147_cpo_accorde": p147_cpo,
        "part_cpo": part_cpo,
        "cpo_cible_atteinte": None if part_cpo is None else part_cpo >= model.CPO_TARGET_SHARE,
        "cpo_accorde": cpo,
        "droit_commun_accorde": accorde - p147,
        "part_p147": part_p147,
        "part_droit_commun": None if part_p147 is None else 1 - part_p147,
        "petites_assos_accorde": small,
        "part_petites_assos": share(small, accorde),
        "hors_qpv_p147_accorde": hors_qpv,
        "part_hors_qpv": part_hors_qpv,
        "hors_qpv_declare_p147_accorde": declared,
    }


def small_association_by_year(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None, **filters
) -> pl.DataFrame:
    """Per exercice with funding lines: accordé (`total`), of which to small associations
    (`petites`, the `funding_totals` rule) and their share (`part`, None when nothing accordé)."""
    params = _params(contrat, None, filters, perimetre) | {"small": model.SMALL_ASSOCIATION}
    m = _amounts(params)
    return _frame(
        cur,
        f"""
        SELECT l.annee, coalesce(sum({m["a"]}), 0)::DOUBLE AS total,
               coalesce(sum({m["a"]}) FILTER (WHERE {_SMALL}), 0)::DOUBLE AS petites,
               petites / nullif(total, 0) AS part
        FROM lignes l JOIN sel s USING (code_action)
        GROUP BY l.annee ORDER BY l.annee""",
        params,
    )  # fixed SQL fragments


def hors_qpv_by_departement(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """THE hors-QPV rule (« poches de pauvreté »): per département and exercice, the share of the
    département's État P147 accordé that goes to actions declared hors QPV, against
    `model.HORS_QPV_MAX_SHARE` of the departmental envelope.

    The rule is on the département's envelope, so it is computed from every P147 funding line of
    every contract of the département, whatever the page's filters, for the départements of the
    selection (`contrat`, or the contracts of `perimetre`, or all) — a ratio of the whole
    département, the only figure of other contracts it shows. `annee` None: one row per exercice.

    Columns: `p147_accorde`; `hors_qpv_accorde`, P147 to actions serving no QPV
    (`shares.hors_qpv_sql`, the definition of every screen), split into `declare_accorde` (the
    action is declared hors QPV, `action.hors_qpv`: a poche de pauvreté, counted against the cap)
    and `lien_manquant_accorde` (not declared: a QPV link is missing, a data gap to complete, not
    counted against the cap); `part_hors_qpv` = declare_accorde / p147_accorde and `depasse`
    (above the cap); `actions_lien_manquant`, how many such actions.
    """
    return cur.execute(
        f"""
        WITH deps AS (
            SELECT DISTINCT insee_dep FROM contrat
            WHERE ($contrat IS NULL OR code_contrat = $contrat)
              AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))),
        p147 AS (
            SELECT c.insee_dep, f.annee, f.code_action, f.montant_accorde AS m,
                   coalesce(a.hors_qpv, false) AS declare, {shares.hors_qpv_sql("a")} AS sans_lien
            FROM financement f JOIN action a USING (code_action) JOIN contrat c USING (code_contrat)
            WHERE f.financeur = $p147 AND ($annee IS NULL OR f.annee = $annee)
              AND c.insee_dep IN (SELECT insee_dep FROM deps))
        SELECT insee_dep, annee::INTEGER AS annee, coalesce(sum(m), 0)::DOUBLE AS p147_accorde,
               coalesce(sum(m) FILTER (WHERE sans_lien), 0)::DOUBLE AS hors_qpv_accorde,
               coalesce(sum(m) FILTER (WHERE sans_lien AND declare), 0)::DOUBLE AS declare_accorde,
               coalesce(sum(m) FILTER (WHERE sans_lien AND NOT declare), 0)::DOUBLE AS lien_manquant_accorde,
               CASE WHEN sum(m) > 0 THEN declare_accorde / sum(m) END AS part_hors_qpv,
               coalesce(part_hors_qpv > $max, false) AS depasse,
               count(DISTINCT code_action) FILTER (WHERE sans_lien AND NOT declare) AS actions_lien_manquant
        FROM p147 GROUP BY insee_dep, annee
        ORDER BY depasse DESC, part_hors_qpv DESC NULLS LAST, insee_dep, annee""",  # fixed SQL fragment
        parameters={
            "contrat": contrat,
            "annee": annee,
            "perimetre": bind(perimetre),
            "p147": model.CREDITS_SPECIFIQUES,
            "max": model.HORS_QPV_MAX_SHARE,
        },
    ).pl()


@memo.by_content
def hors_qpv_of_year(deps: pl.DataFrame, annee: int | None) -> pl.DataFrame:
    """The rows of `hors_qpv_by_departement(annee=None)` for one exercice (all when None): the
    same rows, in the same order, as `hors_qpv_by_departement(annee=annee)`. The page reads every
    exercice once, so that choosing another year reads nothing again."""
    return deps if annee is None else deps.filter(pl.col("annee") == annee)


class HorsQpvSummary(TypedDict):
    departements: int
    departements_depasse: int
    insee_dep: str | None  # the département when there is one only, with its highest share
    part: float | None
    annee: int | None
    lien_manquant_accorde: float


def hors_qpv_summary(deps: pl.DataFrame) -> HorsQpvSummary:
    """What the card says of `hors_qpv_by_departement`'s rows: how many départements, how many of
    them above the cap in some exercice, and for a single département its highest yearly share
    (`part`, with its `annee`) — the cap is judged year by year."""
    worst = deps.sort(["part_hors_qpv", "annee"], descending=True, nulls_last=True)
    above = deps.filter(pl.col("depasse"))
    single = deps["insee_dep"].n_unique() == 1
    return {
        "departements": deps["insee_dep"].n_unique(),
        "departements_depasse": above["insee_dep"].n_unique(),
        "insee_dep": deps["insee_dep"][0] if single else None,
        "part": worst["part_hors_qpv"][0] if single else None,
        "annee": worst["annee"][0] if single else None,
        "lien_manquant_accorde": float(deps["lien_manquant_accorde"].sum()),
    }


# --- charts -----------------------------------------------------------------------------------


def funding_by_funder_year(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> pl.DataFrame:
    """Accordé (and demandé, versé) per funder and exercice."""
    params = _params(contrat, annee, filters, perimetre)
    m = _amounts(params)
    return _frame(
        cur,
        f"""
        SELECT l.financeur, l.annee, sum({m["d"]})::DOUBLE AS demande, sum({m["a"]})::DOUBLE AS accorde,
               sum({m["v"]})::DOUBLE AS verse
        FROM lignes l GROUP BY ALL ORDER BY l.annee, l.financeur""",
        params,
    )


def funding_by_thematique(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> pl.DataFrame:
    """Amounts per P147 thématique, with its national label."""
    params = _params(contrat, annee, filters, perimetre)
    m = _amounts(params)
    frame = _frame(
        cur,
        f"""
        SELECT s.thematique, count(DISTINCT l.code_action) AS actions,
               sum({m["d"]})::DOUBLE AS demande, sum({m["a"]})::DOUBLE AS accorde, sum({m["v"]})::DOUBLE AS verse
        FROM lignes l JOIN sel s USING (code_action) GROUP BY ALL""",
        params,
    )
    order = list(model.THEMATIQUES_P147)
    return (
        frame.with_columns(
            pl.col("thematique").replace_strict(model.THEMATIQUES_P147, default="?").alias("libelle"),
            pl.col("thematique").replace_strict({c: i for i, c in enumerate(order)}, default=99).alias("_o"),
        )
        .with_columns((pl.col("thematique") + " " + pl.col("libelle")).alias("thematique_libelle"))
        .sort("_o")
        .drop("_o")
    )


def cpo_commitments(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None, **filters
) -> pl.DataFrame:
    """Multi-year CPO commitments per exercice 2024–2030, as recorded per year (`financement.annee`):
    demandé, accordé, versé; every year present (0 when nothing)."""
    params = _params(contrat, None, filters, perimetre) | {"years": list(CPO_YEARS)}
    m = _amounts(params)
    return _frame(
        cur,
        f"""
        , per_year AS (
            SELECT l.annee, sum({m["d"]})::DOUBLE AS demande, sum({m["a"]})::DOUBLE AS accorde,
                   sum({m["v"]})::DOUBLE AS verse, count(DISTINCT l.code_action) AS actions
            FROM lignes l JOIN sel s USING (code_action)
            WHERE s.mode_financement = 'CPO' GROUP BY l.annee)
        SELECT y.annee::INTEGER AS annee, coalesce(p.demande, 0) AS demande, coalesce(p.accorde, 0) AS accorde,
               coalesce(p.verse, 0) AS verse, coalesce(p.actions, 0) AS actions
        FROM unnest($years) AS y(annee) LEFT JOIN per_year p ON p.annee = y.annee ORDER BY 1""",
        params,
    )


# --- alerts -----------------------------------------------------------------------------------

# A funding line accordée (> 0) with nothing paid `$months` months after its decision (`$au`:
# « données au »). One predicate for the list and its summary.
_UNPAID = """l.montant_accorde > 0 AND coalesce(l.montant_verse, 0) = 0
          AND l.date_decision IS NOT NULL
          AND l.date_decision + to_months($months) < $au"""


def unpaid_grants(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    months: int,
    annee: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> pl.DataFrame:
    """Funding lines accordées (> 0) with nothing paid `months` months after the decision.
    Amounts are the lines' own amounts (not weighted by QPV shares)."""
    params = _params(contrat, annee, filters, perimetre) | {"au": donnees_au, "months": months}
    return _frame(
        cur,
        f"""
        SELECT s.code_contrat, l.code_action, s.libelle AS action, s.porteur, l.financeur, l.annee,
               l.montant_accorde, l.date_decision,
               date_diff('day', l.date_decision, $au) AS jours_depuis_decision
        FROM lignes l JOIN sel s USING (code_action)
        WHERE {_UNPAID}
        ORDER BY l.date_decision, l.code_action, l.financeur""",
        params,
    )  # fixed SQL fragments


class UnpaidSummary(TypedDict):
    lignes: int
    montant: float


@memo.per_version
def unpaid_summary(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    months: int,
    annee: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> UnpaidSummary:
    """The lines of `unpaid_grants` (same rule and arguments): `lignes` (count) and `montant`
    (their accordé, lines' own amounts), the figures the overview, the page and the séance show."""
    params = _params(contrat, annee, filters, perimetre) | {"au": donnees_au, "months": months}
    count, total = _row(
        cur,
        f"""
        SELECT count(*), coalesce(sum(l.montant_accorde), 0)
        FROM lignes l WHERE {_UNPAID}""",
        params,
    )  # fixed SQL fragments
    return {"lignes": int(count), "montant": float(total)}


@memo.per_version
def overpaid_lines(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> pl.DataFrame:
    """Funding lines whose versé exceeds their accordé (`montant_verse > montant_accorde`; lines
    without one of the two amounts are not compared), with the excess (`ecart` = versé − accordé).
    Lines' own amounts (not weighted by QPV shares), largest excess first. The overview's
    « Contrôles de cohérence » count is the height of this frame (`overview.soft_check_warnings`)."""
    params = _params(contrat, annee, filters, perimetre)
    return _frame(
        cur,
        """
        SELECT s.code_contrat, l.code_action, s.libelle AS action, s.porteur, l.financeur, l.annee,
               l.montant_accorde, l.montant_verse, l.montant_verse - l.montant_accorde AS ecart
        FROM lignes l JOIN sel s USING (code_action)
        WHERE l.montant_verse > l.montant_accorde
        ORDER BY ecart DESC, l.code_action, l.financeur, l.annee""",
        params,
    )


def action_in_selection(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_action: str,
    contrat: str | None,
    annee: int | None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> bool:
    """Whether the action is one of the rows of `action_rows` for these arguments (refused
    actions included): the drill-down only offers actions of the selection."""
    params = _params(contrat, annee, filters, perimetre) | {"code_action": code_action}
    return bool(_row(cur, "SELECT count(*) FROM acts WHERE code_action = $code_action", params)[0])


@memo.per_version
def ended_without_status(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    annee: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> pl.DataFrame:
    """Actions whose period ended (`date_fin` before `donnees_au`) while their statut is still
    « accordée » or « en cours »: no final status (réalisée / abandonnée) was reported.
    Same rule as the overview's missing-data count."""
    params = _params(contrat, annee, filters, perimetre) | {"au": donnees_au}
    return _frame(
        cur,
        """
        SELECT code_contrat, code_action, libelle AS action, porteur, statut, date_fin, date_statut,
               date_diff('day', date_fin, $au) AS jours_depuis_fin
        FROM acts
        WHERE statut IN ('accordée', 'en cours') AND date_fin < $au
        ORDER BY date_fin, code_action""",
        params,
    )


def invalid_sirets(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> pl.DataFrame:
    """Porteurs of the selection's actions whose SIRET fails `identifiers.siret_valid`.

    The rule is checked once per data version over the porteurs (`porteurs_with_invalid_siret`);
    the selection's porteurs are gathered only when there is one: for « Tous les contrats », that
    costs ≈ 60 ms at each filter change."""
    params = _params(contrat, annee, filters, perimetre)
    if not (invalid := porteurs_with_invalid_siret(cur)):  # the selection's porteurs need not be gathered
        return pl.DataFrame(schema=_INVALID_SIRETS_SCHEMA)
    params["invalides"] = invalid
    porteurs = _frame(
        cur,
        """
        SELECT id_porteur, any_value(porteur) AS porteur, any_value(type_structure) AS type_structure,
               any_value(siret) AS siret, any_value(rna) AS rna, count(*) AS actions
        FROM acts WHERE id_porteur IN (SELECT unnest($invalides)) GROUP BY id_porteur""",
        params,
    )
    return porteurs.sort("porteur", "id_porteur")


_INVALID_SIRETS_SCHEMA = {
    "id_porteur": pl.String,
    "porteur": pl.String,
    "type_structure": pl.String,
    "siret": pl.String,
    "rna": pl.String,
    "actions": pl.Int64,
}


@memo.per_version
def porteurs_with_invalid_siret(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The `id_porteur` of every porteur whose SIRET is given and fails `identifiers.siret_valid`."""
    porteurs = cur.execute("SELECT id_porteur, siret FROM porteur WHERE siret IS NOT NULL").pl()
    return porteurs.filter(~identifiers.siret_valid_expr("siret"))["id_porteur"].to_list()


# --- table and drill-down ---------------------------------------------------------------------

TABLE_SORTS: dict[str, str] = {  # sort offered (its French label) → ORDER BY fragment (the allow-list)
    "Accordé (€)": "accorde DESC",
    "Demandé (€)": "demande DESC",
    "Versé (€)": "verse DESC",
    "Code action": "code_action",
    "Porteur": "porteur",
    "Année de début": "annee_debut DESC",
}


def action_rows(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int | None,
    sort: str = "Accordé (€)",
    limit: int | None = None,
    perimetre: tuple[str, ...] | None = None,
    **filters,
) -> pl.DataFrame:
    """One row per action of the selection (refused ones included) with its amounts for the
    exercice and funders selected (weighted by `poids`, the share retained under a QPV filter,
    so the columns add up to `funding_totals`), sorted by one of `TABLE_SORTS` (then by code), the
    first `limit` rows when given. Columns: code_action, libelle, code_contrat, porteur,
    type_structure, siret, thematique (its code), mode_financement, annee_debut, annee_fin, statut,
    quartiers, hors_qpv, poids, demande, accorde, verse, financeurs, date_decision. The table and
    its downloads: `cdv_core.figures.financements.actions_table`."""
    params = _params(contrat, annee, filters, perimetre) | {"limit": limit}
    m = _amounts(params)
    order = TABLE_SORTS[sort]
    return _frame(
        cur,
        f"""
        , amounts AS (
            SELECT l.code_action, sum({m["d"]})::DOUBLE AS demande, sum({m["a"]})::DOUBLE AS accorde,
                   sum({m["v"]})::DOUBLE AS verse
            FROM lignes l GROUP BY l.code_action),
        top AS (
            SELECT a.code_action, a.libelle, a.code_contrat, a.porteur, a.type_structure, a.siret, a.thematique,
                   a.mode_financement, a.annee_debut, a.annee_fin, a.statut, a.hors_qpv,
                   a.poids::DOUBLE AS poids,
                   coalesce(m.demande, 0) AS demande, coalesce(m.accorde, 0) AS accorde,
                   coalesce(m.verse, 0) AS verse, a.date_decision
            FROM acts a LEFT JOIN amounts m USING (code_action)
            ORDER BY {order} NULLS LAST, code_action
            LIMIT $limit),
        -- the funders' names and the QPV codes listed for the rows kept only (no sort uses them)
        funders AS (
            SELECT code_action, string_agg(DISTINCT financeur, ', ' ORDER BY financeur) AS financeurs
            FROM lignes WHERE code_action IN (SELECT code_action FROM top) GROUP BY code_action),
        qpvs AS (
            SELECT code_action, string_agg(code_qp, ', ' ORDER BY code_qp) AS quartiers
            FROM action_quartier WHERE code_action IN (SELECT code_action FROM top) GROUP BY code_action)
        SELECT t.code_action, t.libelle, t.code_contrat, t.porteur, t.type_structure, t.siret, t.thematique,
               t.mode_financement, t.annee_debut, t.annee_fin, t.statut, q.quartiers, t.hors_qpv, t.poids,
               t.demande, t.accorde, t.verse, f.financeurs, t.date_decision
        FROM top t LEFT JOIN qpvs q USING (code_action) LEFT JOIN funders f USING (code_action)
        ORDER BY {order} NULLS LAST, code_action""",
        params,
    )  # fixed fragments only


class ActionDetail(TypedDict):
    action: dict[str, Any]  # the action's row, with its porteur and the identifier checks
    quartiers: pl.DataFrame
    objectifs: pl.DataFrame
    financements: pl.DataFrame


def action_detail(
    cur: duckdb.DuckDBPyConnection, *, code_action: str, perimetre: tuple[str, ...] | None = None
) -> ActionDetail | None:
    """Everything about one action: its row (with porteur and identifier checks; `hors_qpv` = it
    serves no QPV, `hors_qpv_declare` = the declared flag), the QPV served with their declared
    and retained shares (`cdv_core.domain.shares`), its objectives and each funding line. None
    when the code is unknown or its contract is outside the périmètre."""
    head = cur.execute(
        """SELECT a.*, c.libelle AS contrat, p.nom AS porteur, p.siret, p.rna, p.type_structure
           FROM action a LEFT JOIN porteur p USING (id_porteur) LEFT JOIN contrat c USING (code_contrat)
           WHERE a.code_action = $code AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))""",
        parameters={"code": code_action, "perimetre": bind(perimetre)},
    ).pl()
    if head.is_empty():
        return None
    info = head.row(0, named=True)
    info["thematique_libelle"] = model.THEMATIQUES_P147.get(info["thematique"], "?")
    info["siret_valide"] = None if info["siret"] is None else identifiers.siret_valid(info["siret"])
    info["rna_valide"] = None if info["rna"] is None else identifiers.rna_valid(info["rna"])
    quartiers = cur.execute(
        f"""SELECT aq.code_qp, q.libelle, aq.part, sh.part AS part_retenue
            FROM action_quartier aq JOIN ({shares.shares_sql("action")}) sh USING (code_action, code_qp)
                 LEFT JOIN quartier q USING (code_qp)
            WHERE aq.code_action = $code_action ORDER BY aq.code_qp""",  # fixed SQL fragment
        parameters={"code_action": code_action},
    ).pl()
    info["hors_qpv_declare"] = info["hors_qpv"]
    info["hors_qpv"] = quartiers.is_empty()  # the shared definition: no QPV link
    objectifs = cur.execute(
        """SELECT o.code_objectif, o.axe, o.libelle, o.code_qp
           FROM action_objectif ao JOIN objectif o USING (code_objectif)
           WHERE ao.code_action = $code ORDER BY o.code_objectif""",
        parameters={"code": code_action},
    ).pl()
    lignes = cur.execute(
        """SELECT annee, financeur, montant_demande::DOUBLE AS demande, montant_accorde::DOUBLE AS accorde,
                  montant_verse::DOUBLE AS verse, date_demande, date_decision, date_versement
           FROM financement WHERE code_action = $code ORDER BY annee, financeur""",
        parameters={"code": code_action},
    ).pl()
    return {"action": info, "quartiers": quartiers, "objectifs": objectifs, "financements": lignes}


class FilterOptions(TypedDict):
    annees: tuple[int, ...]
    quartiers: pl.DataFrame
    objectifs: pl.DataFrame | None  # one contract selected only
    axes: tuple[str, ...]


def filter_options(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> FilterOptions:
    """The values the filters can take for the selected contract(s). `objectifs` (one contract
    only, else None) has a distinct `etiquette` per objective: « axe — libellé (quartier) »."""
    params = {"contrat": contrat, "perimetre": bind(perimetre)}
    years = [
        r[0]
        for r in cur.execute(
            """SELECT DISTINCT f.annee FROM financement f JOIN action a USING (code_action)
           WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat)) ORDER BY 1""",
            params,
        ).fetchall()
    ]
    quartiers = cur.execute(
        """SELECT code_qp, libelle FROM quartier WHERE ($contrat IS NULL OR code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))
           ORDER BY libelle, code_qp""",
        parameters=params,
    ).pl()
    # Objectives of several QPV often share a wording: the label names the QPV (or the socle
    # transversal), and the code when that still leaves two alike.
    objectifs = (
        cur.execute(
            """SELECT o.code_objectif, o.axe, o.libelle, o.code_qp,
                  o.axe || ' — ' || o.libelle || ' (' || coalesce(q.libelle, o.code_qp, 'socle transversal') || ')'
                      AS etiquette
           FROM objectif o LEFT JOIN quartier q USING (code_qp)
           WHERE ($contrat IS NULL OR o.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, o.code_contrat))
           ORDER BY o.axe, o.code_objectif""",
            parameters=params,
        )
        .pl()
        .with_columns(
            pl.when(pl.len().over("etiquette") > 1)
            .then(pl.col("etiquette") + " · " + pl.col("code_objectif"))
            .otherwise(pl.col("etiquette"))
            .alias("etiquette")
        )
        if contrat
        else None
    )
    axes = [
        r[0]
        for r in cur.execute(
            """SELECT DISTINCT axe FROM objectif WHERE ($contrat IS NULL OR code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat)) ORDER BY 1""",
            params,
        ).fetchall()
    ]
    return {"annees": tuple(years), "quartiers": quartiers, "objectifs": objectifs, "axes": tuple(axes)}
