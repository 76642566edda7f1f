"""« Indicateurs »: dictionary and freshness, trajectories, gap to the reference territory,
comparison across QPV, aggregates over the selection.

Values with `valeur` NULL carry their reason in `secret` (nd/ns/s/so, secret statistique):
they are returned with a `motif` label, never turned into 0, and never enter an aggregate.
The gap and trend rules live in `cdv_core.domain.gaps`.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cdv_core import fmt, memo
from cdv_core.domain import freshness, gaps, model
from cdv_core.perimetre import bind

REFERENCE_TYPES: dict[str, str] = {  # allowed reference territories → label
    "commune": "Commune",
    "EPCI": "EPCI",
    "France": "France",
}
GAP_LABELS: dict[str, str] = {  # the gap's card title, said as a sentence
    "commune": "Écart à la commune",
    "EPCI": "Écart à l'EPCI",
    "France": "Écart à la France",
}

# « Contrat de ville de la CA du X » → « CA du X » (the EPCI's name, as contracts are named)
_CONTRACT_PREFIX = r"^\s*Contrat de ville\s*(– |- |: |de la |de l'|de l’|des |de |du |d'|d’)\s*"
_MOTIF = pl.col("secret").replace_strict(model.SECRET_MARKERS, default=None, return_dtype=pl.String)


def _fold(expr: pl.Expr) -> pl.Expr:
    """Lower case without accents (for searching « Éducation » with « education »)."""
    return expr.str.normalize("NFD").str.replace_all(r"\p{M}", "").str.to_lowercase()


# --- freshness (the rule of cdv_core.domain.freshness, in bulk) --------------------------------

# `fraicheur_indicateur`: per indicator, the publication rule of its source (`source_rules`: the
# store's `source_indicateur` row, else the shipped default, else none), the vintage expected at
# the « données au » date and its label — computed once per source by `freshness.expected_vintage`
# and `freshness.vintage_label`, the rule itself, and passed as lists (`freshness_params`) — and
# `seuil_frais`: the date from which its latest value is « à jour » (the expected vintage, or
# `freshness.fresh_from` under the age rule). A CTE to put after `WITH`.
FRESHNESS_CTE = """regle_source AS (
      SELECT unnest($fr_cles) AS cle, unnest($fr_rythmes) AS rythme_mois,
             unnest($fr_delais) AS delai_publication_mois, unnest($fr_attendus) AS millesime_attendu,
             unnest($fr_libelles) AS millesime_attendu_libelle),
    fraicheur_indicateur AS (
      SELECT i.code_indicateur, r.rythme_mois, r.delai_publication_mois, r.millesime_attendu,
             r.millesime_attendu_libelle, coalesce(r.millesime_attendu, $fr_fresh_from) AS seuil_frais
      FROM indicateur i LEFT JOIN regle_source r ON r.cle = strip_accents(lower(trim(i.source))))"""


def freshness_params(cur: duckdb.DuckDBPyConnection, donnees_au: date, max_age_months: int) -> dict:
    """The bound parameters of `FRESHNESS_CTE`: per source with a rule (a handful), its key, rule,
    expected vintage at `donnees_au` and that vintage's label."""
    rules = source_rules(cur).filter(
        pl.col("rythme_mois").is_not_null() & pl.col("delai_publication_mois").is_not_null()
    )
    # the first row of each source (two stored rows for one source: see `source_rules`); a handful
    seen: dict[str | None, tuple[int, int]] = {}
    for source, rythme, delai in rules.select("source", "rythme_mois", "delai_publication_mois").iter_rows():
        seen.setdefault(freshness.source_key(source), (rythme, delai))
    keys = list(seen)
    rythmes, delais = [r for r, _ in seen.values()], [d for _, d in seen.values()]
    vintages = [freshness.expected_vintage(donnees_au, rythme=r, delai=d) for r, d in seen.values()]
    labels = [freshness.vintage_label(v, r) for v, r in zip(vintages, rythmes)]
    return {
        "fr_cles": keys,
        "fr_rythmes": rythmes,
        "fr_delais": delais,
        "fr_attendus": vintages,
        "fr_libelles": labels,
        "fr_fresh_from": freshness.fresh_from(donnees_au, max_age_months),
    }


def source_rules(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The publication rule of every source: the store's `source_indicateur` rows, the shipped
    defaults they do not override, and the sources of the dictionary that have neither (empty
    rythme and délai: the age rule). Columns: source, rythme_mois, delai_publication_mois, note,
    origine (« base » / « par défaut » / « aucune règle »), indicateurs (how many use it)."""
    return cur.execute(
        """WITH stored AS (
             SELECT source, rythme_mois, delai_publication_mois, note, 'base' AS origine,
                    strip_accents(lower(trim(source))) AS cle FROM source_indicateur),
           shipped AS (
             SELECT d.source, d.rythme_mois, d.delai_publication_mois, d.note, 'par défaut' AS origine,
                    strip_accents(lower(trim(d.source))) AS cle
             FROM (SELECT unnest($s) AS source, unnest($r) AS rythme_mois, unnest($d) AS delai_publication_mois,
                          unnest($n) AS note) d
             WHERE strip_accents(lower(trim(d.source))) NOT IN (SELECT cle FROM stored)),
           known AS (SELECT * FROM stored UNION ALL SELECT * FROM shipped),
           used AS (
             SELECT min(trim(source)) AS source, strip_accents(lower(trim(source))) AS cle, count(*) AS indicateurs
             FROM indicateur WHERE nullif(trim(source), '') IS NOT NULL GROUP BY ALL)
           SELECT coalesce(k.source, u.source) AS source, k.rythme_mois, k.delai_publication_mois, k.note,
                  coalesce(k.origine, 'aucune règle') AS origine, coalesce(u.indicateurs, 0) AS indicateurs
           FROM known k FULL JOIN used u USING (cle)
           ORDER BY coalesce(u.indicateurs, 0) = 0, strip_accents(lower(coalesce(k.source, u.source)))""",
        parameters={
            "s": [r.source for r in freshness.DEFAULT_SOURCES],
            "r": [r.rythme for r in freshness.DEFAULT_SOURCES],
            "d": [r.delai for r in freshness.DEFAULT_SOURCES],
            "n": [r.note for r in freshness.DEFAULT_SOURCES],
        },
    ).pl()


# --- dictionary -----------------------------------------------------------------------------


def dictionary(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    donnees_au: date,
    max_age_months: int,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Every indicator with its latest vintage in the selection's QPV and its freshness.

    `derniere_date` is the latest `date_valeur` on or before `donnees_au` of a QPV value of the
    selection (a suppressed value counts: it is a published vintage; a later value does not exist
    yet at that date). Freshness follows `cdv_core.domain.freshness` (`FRESHNESS_CTE`): « à jour »
    when that date is on or after the vintage of its source expected at `donnees_au`
    (`millesime_attendu`, named in `millesime_attendu_libelle`: « 2023 », « 2e trimestre 2026 »),
    or, for a source without a publication rule, after `freshness.fresh_from(donnees_au,
    max_age_months)`; « ancienne » otherwise; « aucune valeur » when there is none. `rythme_mois`
    and `delai_publication_mois` are the source's rule (empty: the age rule).
    """
    return (
        cur.execute(
            """WITH """
            + FRESHNESS_CTE
            + """,
           sel AS (SELECT code_qp FROM quartier WHERE ($contrat IS NULL OR code_contrat = $contrat)
                          AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))),
           qv AS (SELECT v.code_indicateur, v.date_valeur, v.valeur
                  FROM valeur_indicateur v SEMI JOIN sel ON v.code_territoire = sel.code_qp
                  WHERE v.type_territoire = 'QPV' AND v.date_valeur <= $au),
           last AS (SELECT code_indicateur, max(date_valeur) AS derniere_date FROM qv GROUP BY ALL),
           counts AS (SELECT qv.code_indicateur, count(qv.valeur) AS qpv_renseignes,
                             count(*) - count(qv.valeur) AS qpv_secret
                      FROM qv JOIN last ON qv.code_indicateur = last.code_indicateur
                                        AND qv.date_valeur = last.derniere_date
                      GROUP BY ALL),
           refs AS (SELECT DISTINCT code_indicateur FROM valeur_indicateur
                    WHERE type_territoire <> 'QPV' AND date_valeur <= $au)
           SELECT i.code_indicateur, i.libelle, i.unite, i.sens, i.source, i.axe, i.agregation,
                  l.derniere_date, coalesce(c.qpv_renseignes, 0) AS qpv_renseignes,
                  coalesce(c.qpv_secret, 0) AS qpv_secret,
                  i.code_indicateur IN (SELECT code_indicateur FROM refs) AS a_reference,
                  CASE WHEN l.derniere_date IS NULL THEN $aucune
                       WHEN l.derniere_date < f.seuil_frais THEN $ancienne
                       ELSE $a_jour END AS fraicheur,
                  f.millesime_attendu, f.millesime_attendu_libelle, f.rythme_mois, f.delai_publication_mois
           FROM indicateur i LEFT JOIN last l USING (code_indicateur)
           LEFT JOIN counts c USING (code_indicateur)
           JOIN fraicheur_indicateur f USING (code_indicateur)
           ORDER BY i.axe NULLS LAST, i.libelle""",
            parameters={
                "contrat": contrat,
                "au": donnees_au,
                "perimetre": bind(perimetre),
                **freshness_params(cur, donnees_au, max_age_months),
                "aucune": freshness.AUCUNE,
                "ancienne": freshness.ANCIENNE,
                "a_jour": freshness.A_JOUR,
            },
        )
        .pl()
        .with_columns(
            pl.col("sens").replace_strict(model.SENS_INDICATEUR, default=pl.col("sens")).alias("sens_libelle"),
        )
    )


def display_unit(unite: str | None) -> str:
    """The unit written after a value: nothing for a plain count (`nb`)."""
    return "" if unite in (None, "nb") else "\u00a0" + unite


def filter_dictionary(frame: pl.DataFrame, text: str | None) -> pl.DataFrame:
    """Rows whose code, libellé, unit, source or thématique contain every word of `text`
    (case and accents ignored)."""
    needle = pl.DataFrame({"t": [text or ""]}).select(_fold(pl.col("t"))).item().split()
    if not needle:
        return frame
    haystack = _fold(
        pl.concat_str(
            [pl.col(c).fill_null("") for c in ("code_indicateur", "libelle", "unite", "source", "axe")], separator=" "
        )
    )
    return frame.filter(pl.all_horizontal([haystack.str.contains(w, literal=True) for w in needle]))


# --- one indicator ------------------------------------------------------------------------------


def _selection_cte() -> str:
    # The QPV of the selection with what their reference territories and baseline need.
    return """sel AS (
        SELECT q.code_qp, q.libelle, q.code_contrat, q.insee_com, q.lib_com, q.population,
               q.siren_epci, c.siren_signataire, coalesce(c.date_signature, c.date_debut) AS date_signature
        FROM quartier q JOIN contrat c USING (code_contrat)
        WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
          AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat)))"""


def trajectory(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_indicateur: str,
    focus: str,
    donnees_au: date,
    autres: tuple[str, ...] = (),
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Values over time, dated on or before `donnees_au`, of the `focus` QPV, of the `autres` QPV,
    and of the focus QPV's reference territories (its commune, its EPCI — `quartier.siren_epci`,
    else the contract's signatory — and France).

    The EPCI series is named after the EPCI when the store knows it: the libellé of a contract
    the EPCI signed (`contrat.type_signataire` 'EPCI' or 'EPT') named « Contrat de ville de/du/de la/– X »
    gives « EPCI : X »; otherwise « EPCI <siren> ».

    Columns: type_serie ('QPV' or a key of REFERENCE_TYPES), code_territoire, serie (label),
    date_valeur, valeur (NULL when suppressed), secret, motif (French reason when suppressed).
    """
    frame = cur.execute(
        """WITH sel AS (
             SELECT q.code_qp, q.libelle, q.insee_com, q.lib_com, q.siren_epci, c.siren_signataire
             FROM quartier q JOIN contrat c USING (code_contrat)
             WHERE list_contains($qpv, q.code_qp)
               AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))),
           vals AS (SELECT * FROM valeur_indicateur WHERE code_indicateur = $ind AND date_valeur <= $au),
           focus AS (SELECT * FROM sel WHERE code_qp = $focus),
           epci AS (  -- the QPV's own EPCI when it has values, else the contract's signatory
             SELECT arg_min(code, prio) AS code FROM (
               SELECT siren_epci AS code, 1 AS prio FROM focus UNION ALL SELECT siren_signataire, 2 FROM focus)
             WHERE code IN (SELECT code_territoire FROM vals WHERE type_territoire = 'EPCI')),
           epci_nom AS (  -- the store knows an EPCI's name only through a contract it signed
             SELECT siren_signataire AS siren, min(regexp_replace(libelle, $prefixe, '')) AS nom
             FROM contrat WHERE type_signataire IN ('EPCI', 'EPT') AND siren_signataire IN (SELECT code FROM epci)
               AND regexp_matches(libelle, $prefixe)  -- « Contrat de ville n° 12 » names no EPCI
             GROUP BY ALL)
           SELECT 'QPV' AS type_serie, v.code_territoire, s.libelle AS serie, v.date_valeur, v.valeur, v.secret
           FROM vals v JOIN sel s ON v.type_territoire = 'QPV' AND v.code_territoire = s.code_qp
           UNION ALL
           -- the main commune (insee_com): the first of its names when the QPV spans several
           SELECT 'commune', v.code_territoire, 'Commune : ' || split_part(f.lib_com, '; ', 1), v.date_valeur, v.valeur,
             v.secret
           FROM vals v JOIN focus f ON v.type_territoire = 'commune' AND v.code_territoire = f.insee_com
           UNION ALL
           SELECT 'EPCI', v.code_territoire,
                  coalesce('EPCI : ' || n.nom, 'EPCI ' || v.code_territoire), v.date_valeur, v.valeur, v.secret
           FROM vals v JOIN epci e ON v.type_territoire = 'EPCI' AND v.code_territoire = e.code
           LEFT JOIN epci_nom n ON n.siren = v.code_territoire
           UNION ALL
           SELECT 'France', v.code_territoire, 'France', v.date_valeur, v.valeur, v.secret
           FROM vals v WHERE v.type_territoire = 'France' AND v.code_territoire = 'FR'
           ORDER BY 1 DESC, 3, 4""",
        parameters={
            "ind": code_indicateur,
            "focus": focus,
            "qpv": [focus, *autres],
            "au": donnees_au,
            "prefixe": _CONTRACT_PREFIX,
            "perimetre": bind(perimetre),
        },
    ).pl()
    return frame.with_columns(_MOTIF.alias("motif"))


def targets(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_indicateur: str,
    qpv: tuple[str, ...],
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Baseline (valeur de référence) and target (cible) of each QPV (of the périmètre) that has one."""
    return cur.execute(
        """SELECT c.code_qp, q.libelle AS serie, c.valeur_reference, c.date_reference, c.valeur_cible, c.date_cible
           FROM cible_indicateur c JOIN quartier q USING (code_qp)
           WHERE c.code_indicateur = $ind AND list_contains($qpv, c.code_qp)
             AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
           ORDER BY q.libelle""",
        parameters={"ind": code_indicateur, "qpv": list(qpv), "perimetre": bind(perimetre)},
    ).pl()


# What the page says of each aggregation method: the series' name, the caption under the chart,
# the start of the sentence under the comparison (None: no aggregate to name).
AGGREGATE_TEXT: dict[str, tuple[str | None, str, str | None]] = {
    "somme": (
        "Ensemble des QPV (somme)",
        "Ensemble des QPV de la sélection : somme des valeurs des quartiers renseignés (non tracée ici : "
        "elle n'est pas comparable à un quartier).",
        "Somme",
    ),
    "moyenne pondérée": (
        "Ensemble des QPV (moyenne pondérée)",
        "« Ensemble des QPV » : moyenne des quartiers de la sélection pondérée par leur population.",
        "Moyenne pondérée par la population",
    ),
    gaps.RATIO_OF_SUMS: (
        "Ensemble des QPV (taux recalculé)",
        "« Ensemble des QPV » : taux recalculé sur la somme des numérateurs et celle des "
        "dénominateurs des quartiers qui les donnent, jamais une moyenne de taux.",
        "Taux recalculé sur les sommes des numérateurs et des dénominateurs",
    ),
    gaps.NOT_AGGREGATED: (
        None,
        "Pas d'« Ensemble des QPV » : sans numérateur ni dénominateur, un taux se lit quartier par "
        "quartier (la moyenne de plusieurs taux n'est pas le taux de l'ensemble) ; importez-les "
        "avec les valeurs pour l'obtenir.",
        None,
    ),
}


# The aggregate of QPV values `v` (joined to the selection `s`, with its population) by the
# method `$methode` (`gaps.aggregation_method`; `$ratio` = gaps.RATIO_OF_SUMS, `$echelle` =
# gaps.rate_scale): `valeur` and `qpv_inclus`, the QPV it counts. One rule for the totals
# (`aggregate`) and for the breakdowns (`breakdowns`).
_AGGREGATE_COLUMNS = """CASE WHEN $methode = 'somme' THEN sum(v.valeur)
                       WHEN $methode = $ratio THEN sum(v.numerateur) FILTER (WHERE v.denominateur > 0)
                                                   / sum(v.denominateur) FILTER (WHERE v.denominateur > 0) * $echelle
                       WHEN $methode = 'moyenne pondérée' THEN
                            sum(v.valeur * s.population) FILTER (WHERE s.population > 0)
                            / sum(s.population) FILTER (WHERE s.population > 0 AND v.valeur IS NOT NULL) END AS valeur,
                  CASE WHEN $methode = 'somme' THEN count(v.valeur)
                       WHEN $methode = $ratio THEN count(*) FILTER (WHERE v.denominateur > 0)
                       WHEN $methode = 'moyenne pondérée' THEN count(v.valeur) FILTER (WHERE s.population > 0)
                       ELSE 0 END AS qpv_inclus"""


def _aggregation(cur: duckdb.DuckDBPyConnection, code_indicateur: str, *, detail: bool = False) -> tuple[str, str]:
    """(method, unit) of an indicator: `gaps.aggregation_method`, with parts when a QPV value — of
    the totals, or of the breakdowns when `detail` — carries a denominator."""
    unite, agregation, with_parts = cur.execute(
        """SELECT unite, agregation,
                  CASE WHEN $detail THEN EXISTS (SELECT 1 FROM valeur_indicateur_detail v WHERE v.code_indicateur = $ind
                                                   AND v.type_territoire = 'QPV' AND v.denominateur IS NOT NULL)
                       ELSE EXISTS (SELECT 1 FROM valeur_indicateur v WHERE v.code_indicateur = $ind
                                      AND v.type_territoire = 'QPV' AND v.denominateur IS NOT NULL) END
           FROM indicateur WHERE code_indicateur = $ind""",
        {"ind": code_indicateur, "detail": detail},
    ).fetchall()[0]
    return gaps.aggregation_method(unite, agregation, with_parts=with_parts), unite


def aggregate(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_indicateur: str,
    contrat: str | None,
    donnees_au: date,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """The selection's QPV taken together, per date (on or before `donnees_au`), by the indicator's
    aggregation method (`gaps.aggregation_method`, column `methode`): a sum for a summable count;
    for a ratio whose QPV values carry numerator and denominator, sum(numerateur) /
    sum(denominateur) × the unit's scale over the QPV that give them; a rate without them is not
    aggregated (`valeur` None, `qpv_inclus` 0); anything else the mean weighted by the QPV
    population. Suppressed values (and QPV without population, for a weighted mean) are left out:
    `qpv_inclus` of `qpv_total` QPV say how complete each point is."""
    method, unite = _aggregation(cur, code_indicateur)
    frame = cur.execute(
        """WITH sel AS (SELECT code_qp, population FROM quartier WHERE ($contrat IS NULL OR code_contrat = $contrat)
                          AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat)))
           SELECT v.date_valeur, """
        + _AGGREGATE_COLUMNS
        + """,
                  (SELECT count(*) FROM sel) AS qpv_total
           FROM valeur_indicateur v JOIN sel s ON v.code_territoire = s.code_qp
           WHERE v.code_indicateur = $ind AND v.type_territoire = 'QPV' AND v.date_valeur <= $au
           GROUP BY v.date_valeur ORDER BY v.date_valeur""",
        parameters={
            "ind": code_indicateur,
            "contrat": contrat,
            "methode": method,
            "ratio": gaps.RATIO_OF_SUMS,
            "echelle": gaps.rate_scale(unite),
            "au": donnees_au,
            "perimetre": bind(perimetre),
        },
    ).pl()
    return frame.with_columns(pl.lit(method).alias("methode"))


def comparison(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_indicateur: str,
    contrat: str | None,
    reference: str,
    donnees_au: date,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """One row per QPV of the selection at the selection's latest vintage on or before
    `donnees_au` (`date_valeur`, the same for every row; later values are ignored everywhere):
    value (or the reason it is missing), the `reference` territory's value of the same year, the
    gap, the baseline and its gap, the trend since the baseline, target.

    Baseline: the QPV's `cible_indicateur.valeur_reference` (at `date_reference`); failing that,
    the latest known QPV value on or before the contract's signature (`source_base`). A
    reference value is taken from the same year as the QPV value (latest in that year).
    """
    if reference not in REFERENCE_TYPES:
        raise ValueError(f"Territoire de référence inconnu : {reference}")
    frame = cur.execute(
        "WITH "
        + _selection_cte()
        + """,
           ind AS (SELECT * FROM indicateur WHERE code_indicateur = $ind),
           qv AS (SELECT v.code_territoire AS code_qp, v.date_valeur, v.valeur, v.secret
                  FROM valeur_indicateur v SEMI JOIN sel ON v.code_territoire = sel.code_qp
                  WHERE v.code_indicateur = $ind AND v.type_territoire = 'QPV' AND v.date_valeur <= $au),
           vintage AS (SELECT max(date_valeur) AS d FROM qv),
           latest AS (SELECT qv.* FROM qv, vintage WHERE qv.date_valeur = vintage.d),
           signature_value AS (
             SELECT qv.code_qp, arg_max(qv.valeur, qv.date_valeur) AS valeur, max(qv.date_valeur) AS date_valeur
             FROM qv JOIN sel USING (code_qp)
             WHERE qv.valeur IS NOT NULL AND qv.date_valeur <= sel.date_signature GROUP BY ALL),
           cible AS (SELECT * FROM cible_indicateur WHERE code_indicateur = $ind),
           base AS (
             SELECT sel.code_qp,
                    CASE WHEN c.valeur_reference IS NOT NULL THEN c.valeur_reference ELSE sv.valeur END AS valeur_base,
                    CASE WHEN c.valeur_reference IS NOT NULL THEN c.date_reference ELSE sv.date_valeur END AS date_base,
                    CASE WHEN c.valeur_reference IS NOT NULL THEN 'valeur de référence'
                         WHEN sv.valeur IS NOT NULL THEN 'dernière valeur connue à la signature' END AS source_base,
                    c.valeur_cible, c.date_cible, c.valeur_cible_intermediaire, c.date_cible_intermediaire
             FROM sel LEFT JOIN cible c USING (code_qp) LEFT JOIN signature_value sv USING (code_qp)),
           ref_year AS (
             SELECT code_territoire, year(date_valeur) AS annee, arg_max(valeur, date_valeur) AS valeur
             FROM valeur_indicateur
             WHERE code_indicateur = $ind AND type_territoire = $ref AND valeur IS NOT NULL AND date_valeur <= $au
             GROUP BY ALL),
           ref_code AS (  -- the candidate territory that has values (EPCI: the QPV's, else the signatory)
             SELECT code_qp, arg_min(code, prio) AS code_reference FROM (
               SELECT code_qp, CASE $ref WHEN 'commune' THEN insee_com WHEN 'EPCI' THEN siren_epci
                 ELSE 'FR' END AS code,
                      1 AS prio FROM sel
               UNION ALL SELECT code_qp, siren_signataire, 2 FROM sel WHERE $ref = 'EPCI')
             WHERE code IN (SELECT code_territoire FROM ref_year) GROUP BY ALL)
           SELECT sel.code_qp, sel.libelle, sel.code_contrat, sel.lib_com, sel.population,
                  (SELECT d FROM vintage) AS date_valeur, l.valeur, l.secret,
                  rc.code_reference, rl.valeur AS valeur_reference_territoire,
                  b.valeur_base, b.date_base, b.source_base, rb.valeur AS valeur_reference_territoire_base,
                  b.valeur_cible, b.date_cible, b.valeur_cible_intermediaire, b.date_cible_intermediaire,
                  ind.unite, ind.sens
           FROM sel CROSS JOIN ind
           LEFT JOIN latest l USING (code_qp)
           LEFT JOIN base b USING (code_qp)
           LEFT JOIN ref_code rc USING (code_qp)
           LEFT JOIN ref_year rl ON rl.code_territoire = rc.code_reference
                                AND rl.annee = year((SELECT d FROM vintage))
           LEFT JOIN ref_year rb ON rb.code_territoire = rc.code_reference AND rb.annee = year(b.date_base)
           ORDER BY sel.libelle""",
        parameters={
            "ind": code_indicateur,
            "contrat": contrat,
            "ref": reference,
            "au": donnees_au,
            "perimetre": bind(perimetre),
        },
    ).pl()
    rate = pl.col("unite").is_in(list(gaps.RATE_UNITS))
    frame = frame.with_columns(
        _MOTIF.alias("motif"),
        gaps.gap_expr(pl.col("valeur"), pl.col("valeur_reference_territoire"), rate).alias("ecart"),
        gaps.gap_expr(pl.col("valeur_base"), pl.col("valeur_reference_territoire_base"), rate).alias("ecart_base"),
    )
    return (
        frame.with_columns(
            *gaps.trend_expr(
                base_gap=pl.col("ecart_base"),
                latest_gap=pl.col("ecart"),
                base_value=pl.col("valeur_base"),
                latest_value=pl.col("valeur"),
                base_date=pl.col("date_base"),
                latest_date=pl.col("date_valeur"),
                sens=pl.col("sens"),
            )
        )
        .with_columns(
            pl.when(pl.col("valeur").is_null() & pl.col("secret").is_null())
            .then(
                pl.when(pl.col("date_valeur").is_null())
                .then(pl.lit("aucune valeur"))
                .otherwise(pl.lit("pas de valeur à cette date"))
            )
            .otherwise(pl.col("motif"))
            .alias("motif"),
            pl.col("tendance").replace_strict(gaps.TREND_LABELS, default=None).alias("tendance_libelle"),
        )
        .drop("unite", "sens")
    )


# --- breakdowns by sexe and âge (valeur_indicateur_detail, migration 0014) ------------------------

SELECTION = "Sélection"  # type_territoire of the selection's aggregate row in `breakdowns`
DIMENSION_TITLES: dict[str, str] = {
    model.DIMENSION_SEXE: "Répartition par sexe",
    model.DIMENSION_AGE: "Répartition par âge",
}


def breakdowns(
    cur: duckdb.DuckDBPyConnection,
    *,
    code_indicateur: str,
    contrat: str | None,
    donnees_au: date,
    reference: str | None = None,
    qpv: tuple[str, ...] | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """The breakdowns of an indicator by sexe and âge in the selection, one row per territory,
    dimension and modalité, at the selection's latest vintage of each dimension on or before
    `donnees_au` (`date_valeur`: the latest date with a breakdown of a QPV of the selection — the
    rule of `comparison`; later values are ignored).

    Rows: the selection's QPV (or those of `qpv`) at that vintage; the `reference` territories of
    these QPV (a key of REFERENCE_TYPES; the EPCI: the QPV's, else the contract's signatory) that
    have breakdowns, at their latest date of the vintage's year (same-year rule of `comparison`);
    and the selection taken together (`type_territoire` = SELECTION), per modalité, by the rule of
    the totals (`_AGGREGATE_COLUMNS`: a sum for a count, the ratio of the sums of numerators and
    denominators for a rate with parts, not aggregated otherwise — `methode`, `qpv_inclus`).

    Columns: type_territoire, code_territoire, territoire (label), dimension, modalite, ordre,
    date_valeur, valeur (NULL when suppressed: `secret` and its French `motif`, never a 0), secret,
    motif, numerateur, denominateur, qpv_inclus, methode, total (the total of the same territory
    and date in valeur_indicateur; the selection's: `aggregate`), ecart_femmes_hommes (femmes −
    hommes of the territory, on both sexe rows: in points for a rate, else in % of the hommes'
    value — `gaps.gap_expr`, unit `gaps.gap_unit`).
    """
    if reference is not None and reference not in REFERENCE_TYPES:
        raise ValueError(f"Territoire de référence inconnu : {reference}")
    method, unite = _aggregation(cur, code_indicateur, detail=True)
    frame = cur.execute(
        "WITH "
        + _selection_cte()
        + """,
           s AS (SELECT * FROM sel WHERE $qpv IS NULL OR list_contains($qpv, code_qp)),
           d AS (SELECT * FROM valeur_indicateur_detail WHERE code_indicateur = $ind AND date_valeur <= $au),
           qd AS (SELECT d.* FROM d SEMI JOIN s ON d.code_territoire = s.code_qp WHERE d.type_territoire = 'QPV'),
           vintage AS (SELECT dimension, max(date_valeur) AS dv FROM qd GROUP BY ALL),
           latest AS (SELECT qd.* FROM qd JOIN vintage USING (dimension) WHERE qd.date_valeur = vintage.dv),
           ref_code AS (  -- the reference territories of the QPV shown (EPCI: the QPV's, else the signatory)
             SELECT DISTINCT code, nom FROM (
               SELECT CASE $ref WHEN 'commune' THEN insee_com WHEN 'EPCI' THEN siren_epci ELSE 'FR' END AS code,
                      CASE $ref WHEN 'commune' THEN 'Commune : ' || split_part(lib_com, '; ', 1)
                                WHEN 'EPCI' THEN 'EPCI ' || siren_epci ELSE 'France' END AS nom
               FROM s WHERE $ref IS NOT NULL
               UNION ALL SELECT siren_signataire, 'EPCI ' || siren_signataire FROM s WHERE $ref = 'EPCI')
             WHERE code IS NOT NULL),
           ref_last AS (
             SELECT d.type_territoire, d.code_territoire, d.dimension, max(d.date_valeur) AS dr
             FROM d JOIN vintage v USING (dimension)
             WHERE d.type_territoire = $ref AND d.code_territoire IN (SELECT code FROM ref_code)
               AND d.date_valeur <= v.dv AND year(d.date_valeur) = year(v.dv)
             GROUP BY ALL),
           refs AS (
             SELECT d.*, (SELECT min(nom) FROM ref_code WHERE code = d.code_territoire) AS territoire
             FROM d JOIN ref_last r ON d.type_territoire = r.type_territoire AND d.code_territoire = r.code_territoire
                                   AND d.dimension = r.dimension AND d.date_valeur = r.dr),
           agg AS (
             SELECT v.dimension, v.modalite, v.date_valeur, """
        + _AGGREGATE_COLUMNS
        + """
             FROM latest v JOIN s ON v.code_territoire = s.code_qp GROUP BY ALL),
           rows_ AS (
             SELECT 'QPV' AS type_territoire, l.code_territoire, s.libelle AS territoire, l.dimension, l.modalite,
                    l.date_valeur, l.valeur, l.secret, l.numerateur, l.denominateur, NULL::BIGINT AS qpv_inclus,
                      1 AS rang
             FROM latest l JOIN s ON l.code_territoire = s.code_qp
             UNION ALL
             SELECT type_territoire, code_territoire, territoire, dimension, modalite, date_valeur, valeur, secret,
                    numerateur, denominateur, NULL, 2 FROM refs
             UNION ALL
             SELECT $selection, NULL, $selection_label, dimension, modalite, date_valeur, valeur, NULL, NULL, NULL,
                    qpv_inclus, 0 FROM agg)
           SELECT r.type_territoire, r.code_territoire, r.territoire, r.dimension, r.modalite,
                  coalesce(list_position($sexes, r.modalite),
                           CASE WHEN r.modalite LIKE 'moins de %' THEN 0
                                ELSE TRY_CAST(regexp_extract(r.modalite, '^([0-9]+)', 1) AS INTEGER) END) AS ordre,
                  r.date_valeur, r.valeur, r.secret, r.numerateur, r.denominateur, r.qpv_inclus, t.valeur AS total
           FROM rows_ r
           LEFT JOIN valeur_indicateur t ON t.code_indicateur = $ind AND t.type_territoire = r.type_territoire
                                        AND t.code_territoire = r.code_territoire AND t.date_valeur = r.date_valeur
           ORDER BY list_position($dimensions, r.dimension), r.rang, r.territoire, ordre, r.modalite""",
        parameters={
            "ind": code_indicateur,
            "contrat": contrat,
            "au": donnees_au,
            "perimetre": bind(perimetre),
            "qpv": None if qpv is None else list(qpv),
            "ref": reference,
            "methode": method,
            "ratio": gaps.RATIO_OF_SUMS,
            "echelle": gaps.rate_scale(unite),
            "selection": SELECTION,
            "selection_label": AGGREGATE_TEXT[method][0] or "Ensemble des QPV (non agrégé)",
            "sexes": list(model.SEXES),
            "dimensions": list(model.DIMENSIONS),
        },
    ).pl()
    if frame.is_empty():
        return frame.with_columns(
            pl.lit(method).alias("methode"),
            pl.lit(None, pl.String).alias("motif"),
            pl.lit(None, pl.Float64).alias("ecart_femmes_hommes"),
        )
    # the selection's total: the aggregate of the totals, by the same rule, at the same date
    totals = (
        aggregate(cur, code_indicateur=code_indicateur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
        if qpv is None
        else None
    )
    if totals is not None and totals.height:
        frame = (
            frame.join(
                totals.select(
                    "date_valeur", pl.col("valeur").alias("_total_sel"), pl.lit(SELECTION).alias("type_territoire")
                ),
                on=["type_territoire", "date_valeur"],
                how="left",
            )
            .with_columns(pl.coalesce("total", "_total_sel").alias("total"))
            .drop("_total_sel")
        )
    keys = ["type_territoire", "territoire", "dimension", "date_valeur"]
    sexe = pl.col("dimension") == model.DIMENSION_SEXE
    femmes = pl.col("valeur").filter(pl.col("modalite") == model.SEXES[0]).first().over(keys)
    hommes = pl.col("valeur").filter(pl.col("modalite") == model.SEXES[1]).first().over(keys)
    return frame.with_columns(
        pl.lit(method).alias("methode"),
        pl.when(pl.col("valeur").is_null() & (pl.col("type_territoire") == SELECTION))
        .then(pl.lit("non agrégé" if method == gaps.NOT_AGGREGATED else "aucune valeur"))
        .otherwise(_MOTIF)
        .alias("motif"),
        pl.when(sexe).then(gaps.gap_expr(femmes, hommes, pl.lit(gaps.is_rate(unite)))).alias("ecart_femmes_hommes"),
    )


@memo.by_content
def secret_summary(trajectory_frame: pl.DataFrame) -> pl.DataFrame:
    """The suppressed points of a trajectory (never plotted), with their reason."""
    return (
        trajectory_frame.filter(pl.col("valeur").is_null())
        .select("serie", "date_valeur", "secret", "motif")
        .sort("serie", "date_valeur")
    )


def plotted(trajectory_frame: pl.DataFrame) -> pl.DataFrame:
    """The points a chart may draw: known values only (a suppressed value is never a 0)."""
    return trajectory_frame.filter(pl.col("valeur").is_not_null())


def gap_series(trajectory_frame: pl.DataFrame, *, focus: str, reference: str, unite: str) -> pl.DataFrame:
    """The focus QPV's gap to the `reference` territory, year by year (same-year values)."""
    if reference not in REFERENCE_TYPES:
        raise ValueError(f"Territoire de référence inconnu : {reference}")
    qpv = trajectory_frame.filter((pl.col("type_serie") == "QPV") & (pl.col("code_territoire") == focus)).select(
        "date_valeur", pl.col("valeur").alias("valeur_qpv"), pl.col("date_valeur").dt.year().alias("annee")
    )
    ref = (
        trajectory_frame.filter((pl.col("type_serie") == reference) & pl.col("valeur").is_not_null())
        .sort("date_valeur")
        .group_by(pl.col("date_valeur").dt.year().alias("annee"))
        .agg(pl.col("valeur").last())
    )
    return (
        qpv.join(ref, on="annee", how="inner")
        .with_columns(gaps.gap_expr(pl.col("valeur_qpv"), pl.col("valeur"), pl.lit(gaps.is_rate(unite))).alias("ecart"))
        .filter(pl.col("ecart").is_not_null())
        .select("date_valeur", "ecart")
        .sort("date_valeur")
    )


def markers(comparison_frame: pl.DataFrame, qpv: tuple[str, ...]) -> pl.DataFrame:
    """Baseline, intermediate target and target points of the charted QPV (only those that exist)."""
    rows = comparison_frame.filter(pl.col("code_qp").is_in(list(qpv)))
    base = rows.select(
        pl.col("libelle").alias("serie"),
        pl.col("date_base").alias("date_valeur"),
        pl.col("valeur_base").alias("valeur"),
        pl.lit("Point de départ").alias("repere"),
    )
    step = rows.select(
        pl.col("libelle").alias("serie"),
        pl.col("date_cible_intermediaire").alias("date_valeur"),
        pl.col("valeur_cible_intermediaire").alias("valeur"),
        pl.lit("Cible intermédiaire").alias("repere"),
    )
    cible = rows.select(
        pl.col("libelle").alias("serie"),
        pl.col("date_cible").alias("date_valeur"),
        pl.col("valeur_cible").alias("valeur"),
        pl.lit("Cible").alias("repere"),
    )
    return pl.concat([base, step, cible]).drop_nulls(["date_valeur", "valeur"])


# --- a source's publication rule in French (the display tables are in `cdv_core.figures.indicateurs`) ---


def rule_text(rythme_mois: int | None, delai_publication_mois: int | None) -> str:
    """A source's publication rule said in French: « un millésime par an, publié 32 mois après
    la fin de l'année décrite »; « — » without a rule."""
    if rythme_mois is None or delai_publication_mois is None:
        return "—"
    every = {
        12: "un millésime par an",
        6: "un millésime par semestre",
        3: "un millésime par trimestre",
        1: "un millésime par mois",
    }.get(rythme_mois, f"un millésime tous les {rythme_mois} mois")
    period = {12: "l'année décrite", 6: "du semestre décrit", 3: "du trimestre décrit", 1: "du mois décrit"}.get(
        rythme_mois, "de la période décrite"
    )
    period = "de " + period if rythme_mois == 12 else period
    return f"{every}, publié {fmt.plural(delai_publication_mois, 'mois', 'mois')} après la fin {period}"
