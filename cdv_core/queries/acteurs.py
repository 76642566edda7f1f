"""« Acteurs et ingénierie »: the local system of actors and the contract's team.

Actors are every porteur plus the actors recorded without funding (table `acteur`, whose rows
keyed by a porteur id add the typologies to that porteur). An actor belongs to a contract when it
carries an action of the contract, is recorded for it, acts in one of its QPV or sits in one of
its instances. The QPV where an actor acts are those of its actions plus those recorded for it.
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import duckdb
import polars as pl

from cdv_core.domain import identifiers
from cdv_core.perimetre import bind
from cdv_core.queries import financements

# --- typologies -----------------------------------------------------------------------------

MODES_INTERVENTION: tuple[str, ...] = ("installé dans le quartier", "intervient sur le quartier", "en proximité")
MODE_NON_RENSEIGNE = "non renseigné"
DOMAINES: tuple[str, ...] = (
    "médiation",
    "animation",
    "action sociale",
    "prévention",
    "éducation",
    "emploi-insertion",
    "santé",
    "culture",
    "sport",
    "cadre de vie",
    "participation",
    "transition écologique",
    "accès aux droits",
)
# The domains that answer each axe of a projet de quartier (model.AXES).
DOMAINES_PAR_AXE: dict[str, tuple[str, ...]] = {
    "Emploi et insertion": ("emploi-insertion",),
    "Éducation et émancipation": ("éducation", "culture", "sport"),
    "Transition écologique": ("transition écologique", "cadre de vie"),
    "Sécurité et tranquillité": ("prévention", "médiation"),
    "Cadre de vie": ("cadre de vie",),
    "Santé": ("santé",),
    "Participation citoyenne": ("participation", "animation"),
    "Lutte contre les discriminations": ("accès aux droits", "action sociale"),
}
TYPES_POSTE: tuple[str, ...] = (
    "chef de projet politique de la ville",
    "chargé de mission",
    "délégué du préfet",
    "adulte-relais",
    "poste FONJEP",
    "médiateur",
    "autre",
)
NIVEAUX_RESPONSABILITE: tuple[str, ...] = ("pilotage", "coordination", "opérationnel")
STATUTS_FEUILLE: tuple[str, ...] = ("à faire", "en cours", "faite", "abandonnée")

# --- named parameters of the rules ----------------------------------------------------------

MONTANT_ADULTE_RELAIS_2023 = 22_555.73  # State aid per adulte-relais post and year (2023)
MONTANT_FONJEP = 7_164.0  # State aid per FONJEP post and year
MONTANTS_REFERENCE: dict[str, float] = {"adulte-relais": MONTANT_ADULTE_RELAIS_2023, "poste FONJEP": MONTANT_FONJEP}
SEUIL_ACTEURS_DOMAINE = 2  # a prioritised axe of a QPV served by fewer actors is « peu couvert »
SEUIL_DEPENDANCE = 0.80  # one funder brings at least this share of an actor's funding
MIN_ANNEES_SANS_CPO = 3  # funded at least this many years in a row without CPO: candidate
DIRECTORY_CAP = 500  # rows shown on screen (the download has them all)

# --- the actors of a selection (fixed SQL, parameters $contrat, $perimetre, $modes, $domaines, $types) --

# (id_acteur, code_contrat): the contracts an actor belongs to (see the module's docstring).
_ACTEUR_CONTRAT = """
    SELECT DISTINCT id_porteur AS id_acteur, code_contrat FROM action
    UNION SELECT id_acteur, code_contrat FROM acteur WHERE code_contrat IS NOT NULL
    UNION SELECT x.id_acteur, q.code_contrat FROM acteur_quartier x JOIN quartier q USING (code_qp)
    UNION SELECT x.id_acteur, i.code_contrat FROM acteur_instance x JOIN instance i USING (code_instance)"""

_ACTORS = (
    """
WITH acteur_all AS (
    SELECT coalesce(p.id_porteur, a.id_acteur) AS id_acteur,
           coalesce(a.nom, p.nom) AS nom,
           coalesce(a.type_structure, p.type_structure) AS type_structure,
           coalesce(p.siret, a.siret) AS siret, coalesce(p.rna, a.rna) AS rna,
           coalesce(a.mode_intervention, 'non renseigné') AS mode_intervention,
           p.id_porteur IS NOT NULL AS est_porteur
    FROM porteur p FULL JOIN acteur a ON a.id_acteur = p.id_porteur),
acteur_contrat AS ("""
    + _ACTEUR_CONTRAT
    + """),
in_scope AS (
    SELECT * FROM acteur_all a
    WHERE ($contrat IS NULL AND $perimetre IS NULL)
       OR a.id_acteur IN (SELECT id_acteur FROM acteur_contrat
                          WHERE ($contrat IS NULL OR code_contrat = $contrat)
                            AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat)))),
-- the domains of the actors in scope only: listing every actor's took 20 ms of a contract's 45
domaines AS (
    SELECT id_acteur, list(domaine ORDER BY domaine) AS domaines FROM acteur_domaine
    WHERE ($contrat IS NULL AND $perimetre IS NULL) OR id_acteur IN (SELECT id_acteur FROM in_scope)
    GROUP BY id_acteur),
sel AS (
    SELECT a.*, coalesce(d.domaines, []::VARCHAR[]) AS domaines
    FROM in_scope a LEFT JOIN domaines d USING (id_acteur)
    WHERE ($modes::VARCHAR[] IS NULL OR list_contains($modes::VARCHAR[], a.mode_intervention))
      AND ($types::VARCHAR[] IS NULL OR list_contains($types::VARCHAR[], a.type_structure))
      AND ($domaines::VARCHAR[] IS NULL OR list_has_any($domaines::VARCHAR[], coalesce(d.domaines, []::VARCHAR[])))),
acteur_qp AS (
    SELECT DISTINCT x.id_acteur, x.code_qp FROM (
        SELECT a.id_porteur AS id_acteur, aq.code_qp FROM action a JOIN action_quartier aq USING (code_action)
        WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
          AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))
        UNION ALL SELECT id_acteur, code_qp FROM acteur_quartier) x
    JOIN quartier q USING (code_qp)
    WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
      AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat)))
"""
)


def _params(contrat, modes, domaines, types, perimetre=None, **extra) -> dict:
    def as_list(values):
        return list(values) if values else None

    return {
        "contrat": contrat,
        "modes": as_list(modes),
        "domaines": as_list(domaines),
        "types": as_list(types),
        "perimetre": bind(perimetre),
    } | extra


def directory(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int,
    modes: tuple[str, ...] | None = None,
    domaines: tuple[str, ...] | None = None,
    types: tuple[str, ...] | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """One row per actor of the selection matching the typology filters (a filter left empty
    keeps everything; several domains: the actor has at least one of them).

    Columns: identity and typologies, number and names of the QPV where it acts, actions carried
    (all years), amounts accordés in `annee` (all funders, of which CPO), number of instances it
    sits in, its main funder over all years and that funder's share, SIRET/RNA validity.
    """
    frame = cur.execute(
        _ACTORS
        + """,
        qp AS (SELECT x.id_acteur, count(*) AS nb_qpv, string_agg(q.libelle, ', ' ORDER BY q.libelle) AS quartiers
               FROM acteur_qp x JOIN quartier q USING (code_qp) GROUP BY x.id_acteur),
        act AS (SELECT id_porteur AS id_acteur, count(*) AS nb_actions FROM action
                WHERE ($contrat IS NULL OR code_contrat = $contrat)
                  AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat)) GROUP BY id_porteur),
        fin AS ("""
        + _FUNDING_BY_ACTOR
        + """),
        inst AS (SELECT x.id_acteur, count(*) AS nb_instances
                 FROM acteur_instance x JOIN instance i USING (code_instance)
                 WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
                   AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat)) GROUP BY x.id_acteur)
        SELECT s.id_acteur, s.nom, s.type_structure, s.mode_intervention, array_to_string(s.domaines, ', ') AS domaines,
               s.est_porteur, coalesce(qp.nb_qpv, 0) AS nb_qpv, qp.quartiers,
               coalesce(act.nb_actions, 0) AS nb_actions,
               CAST(coalesce(fin.accorde_annee, 0) AS DOUBLE) AS accorde_annee,
               CAST(coalesce(fin.accorde_cpo_annee, 0) AS DOUBLE) AS accorde_cpo_annee,
               coalesce(inst.nb_instances, 0) AS nb_instances,
               fin.financeur_principal, CAST(fin.part_financeur_principal AS DOUBLE) AS part_financeur_principal,
               s.siret, s.rna
        FROM sel s LEFT JOIN qp USING (id_acteur) LEFT JOIN act USING (id_acteur) LEFT JOIN fin USING (id_acteur)
             LEFT JOIN inst USING (id_acteur)
        ORDER BY accorde_annee DESC, s.nom, s.id_acteur""",
        parameters=_params(contrat, modes, domaines, types, perimetre, annee=annee),
    ).pl()
    return frame.with_columns(
        identifiers.siret_valid_expr("siret").alias("siret_valide"),
        _rna_valid_expr("rna").alias("rna_valide"),
    )


def _rna_valid_expr(column: str) -> pl.Expr:
    """`identifiers.rna_valid` over a column (null where the RNA is null)."""
    return pl.col(column).str.contains(r"^W\d[A-Z\d]\d{7}$")


def typology_counts(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    modes: tuple[str, ...] | None = None,
    domaines: tuple[str, ...] | None = None,
    types: tuple[str, ...] | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Number of actors of the filtered selection per value of each typology
    (`typologie` ∈ mode d'intervention / domaine / structure). An actor with several domains
    counts once in each of them."""
    return cur.execute(
        _ACTORS
        + """
        SELECT 'mode d''intervention' AS typologie, mode_intervention AS valeur, count(*) AS nb_acteurs FROM sel
          GROUP BY 2
        UNION ALL
        SELECT 'domaine', coalesce(d.domaine, 'non renseigné'), count(DISTINCT s.id_acteur)
        FROM sel s LEFT JOIN (SELECT id_acteur, unnest(domaines) AS domaine FROM sel) d USING (id_acteur) GROUP BY 2
        UNION ALL
        SELECT 'structure', type_structure, count(*) FROM sel GROUP BY 2
        ORDER BY typologie, nb_acteurs DESC, valeur""",
        parameters=_params(contrat, modes, domaines, types, perimetre),
    ).pl()


def actors_by_qpv(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    modes: tuple[str, ...] | None = None,
    domaines: tuple[str, ...] | None = None,
    types: tuple[str, ...] | None = None,
    id_acteur: str | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Every QPV of the selection with the number of filtered actors acting there, its
    coordinates for the map, and whether the actor `id_acteur` (optional) acts there."""
    return cur.execute(
        _ACTORS
        + """
        SELECT q.code_qp, q.libelle, q.code_contrat, q.longitude, q.latitude, q.contour,
               count(DISTINCT x.id_acteur) FILTER (WHERE x.id_acteur IN (SELECT id_acteur FROM sel)) AS nb_acteurs,
               coalesce(bool_or(x.id_acteur = $acteur), false) AS acteur_present
        FROM quartier q LEFT JOIN acteur_qp x USING (code_qp)
        WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
          AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))
        GROUP BY ALL ORDER BY q.code_qp""",
        parameters=_params(contrat, modes, domaines, types, perimetre, acteur=id_acteur),
    ).pl()


class ActorCounts(TypedDict):
    nb_acteurs: int
    nb_sans_financement: int
    nb_qpv: int
    nb_qpv_couverts: int


def actor_counts(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    modes: tuple[str, ...] | None = None,
    domaines: tuple[str, ...] | None = None,
    types: tuple[str, ...] | None = None,
    perimetre: tuple[str, ...] | None = None,
) -> ActorCounts:
    """Headline counts of the filtered selection (the same selection as `directory` and
    `actors_by_qpv`):

    - `nb_acteurs`: actors of the selection (the rows of `directory`);
    - `nb_sans_financement`: those recorded in `acteur` only, i.e. not a porteur (`est_porteur`
      false in `directory`);
    - `nb_qpv`: QPV of the selection (all QPV, or the contract's);
    - `nb_qpv_couverts`: QPV of the selection where at least one filtered actor acts (the QPV of
      `actors_by_qpv` with `nb_acteurs > 0`).
    """
    rows = cur.execute(
        _ACTORS
        + """
        SELECT (SELECT count(*) FROM sel),
               (SELECT count(*) FROM sel WHERE NOT est_porteur),
               (SELECT count(*) FROM quartier WHERE ($contrat IS NULL OR code_contrat = $contrat)
                 AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))),
               (SELECT count(DISTINCT code_qp) FROM acteur_qp WHERE id_acteur IN (SELECT id_acteur FROM sel))""",
        _params(contrat, modes, domaines, types, perimetre),
    ).fetchall()
    nb_acteurs, nb_sans_financement, nb_qpv, nb_qpv_couverts = rows[0]
    return {
        "nb_acteurs": nb_acteurs,
        "nb_sans_financement": nb_sans_financement,
        "nb_qpv": nb_qpv,
        "nb_qpv_couverts": nb_qpv_couverts,
    }


def coverage_gaps(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    seuil: int = SEUIL_ACTEURS_DOMAINE,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """For each QPV and each axe its projet de quartier prioritises (an objectif of that QPV on
    the axe), the number of actors acting in the QPV with a domain answering the axe
    (DOMAINES_PAR_AXE); `peu_couvert` when fewer than `seuil`."""
    mapping = pl.DataFrame(
        [(axe, d) for axe, ds in DOMAINES_PAR_AXE.items() for d in ds], schema=["axe", "domaine"], orient="row"
    )
    cur.register("_axe_domaine", mapping.to_arrow())
    try:
        return cur.execute(
            _ACTORS
            + """,
            prio AS (SELECT DISTINCT o.code_qp, o.axe FROM objectif o JOIN quartier q USING (code_qp)
                     WHERE ($contrat IS NULL OR q.code_contrat = $contrat)
                       AND ($perimetre IS NULL OR list_contains($perimetre, q.code_contrat))),
            served AS (SELECT x.code_qp, m.axe, count(DISTINCT x.id_acteur) AS nb_acteurs
                       FROM acteur_qp x JOIN acteur_domaine d USING (id_acteur) JOIN _axe_domaine m USING (domaine)
                       GROUP BY ALL)
            SELECT p.code_qp, q.libelle AS quartier, q.code_contrat, p.axe,
                   (SELECT string_agg(domaine, ', ' ORDER BY domaine) FROM _axe_domaine m
                     WHERE m.axe = p.axe) AS domaines,
                   coalesce(s.nb_acteurs, 0) AS nb_acteurs, coalesce(s.nb_acteurs, 0) < $seuil AS peu_couvert
            FROM prio p JOIN quartier q USING (code_qp) LEFT JOIN served s USING (code_qp, axe)
            ORDER BY peu_couvert DESC, nb_acteurs, q.libelle, p.axe""",
            parameters=_params(contrat, None, None, None, perimetre, seuil=seuil),
        ).pl()
    finally:
        cur.unregister("_axe_domaine")


class CoverageSummary(TypedDict):
    priorites: pl.DataFrame  # the `coverage_gaps` frame
    nb_priorites: int
    nb_peu_couvertes: int


def coverage_summary(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    seuil: int = SEUIL_ACTEURS_DOMAINE,
    perimetre: tuple[str, ...] | None = None,
) -> CoverageSummary:
    """The « QPV peu couverts » block from one query: `priorites` (the `coverage_gaps` frame),
    `nb_priorites` (QPV × axe prioritised) and `nb_peu_couvertes` (served by fewer than `seuil`
    actors)."""
    gaps = coverage_gaps(cur, contrat=contrat, seuil=seuil, perimetre=perimetre)
    return {"priorites": gaps, "nb_priorites": gaps.height, "nb_peu_couvertes": int(gaps["peu_couvert"].sum())}


# Per funded actor of the selection ($contrat): amounts accordés in $annee (of which CPO), and over
# all years its main funder (ties: alphabetical), that funder's share and the number of funders.
_FUNDING_BY_ACTOR = """
    SELECT id_acteur, sum(annee_f) AS accorde_annee, sum(cpo_f) AS accorde_cpo_annee, sum(total_f) AS total,
           first(financeur ORDER BY total_f DESC, financeur) AS financeur_principal,
           max(total_f) / sum(total_f) AS part_financeur_principal, count(*) AS nb_financeurs
    FROM (SELECT a.id_porteur AS id_acteur, f.financeur, sum(f.montant_accorde) AS total_f,
                 sum(f.montant_accorde) FILTER (WHERE f.annee = $annee) AS annee_f,
                 sum(f.montant_accorde) FILTER (WHERE f.annee = $annee AND a.mode_financement = 'CPO') AS cpo_f
          FROM financement f JOIN action a USING (code_action)
          WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
            AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat)) AND f.montant_accorde > 0
          GROUP BY ALL)
    GROUP BY id_acteur"""


def funder_dependency(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    seuil: float = SEUIL_DEPENDANCE,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Funded actors of the selection with their main funder's share of everything accordé to
    them (all years); `dependant` when that share is at least `seuil` (a single funder counts
    as 100 %)."""
    return cur.execute(
        """SELECT d.id_acteur, p.nom, p.type_structure, CAST(d.total AS DOUBLE) AS total_accorde,
                  d.financeur_principal, CAST(d.part_financeur_principal AS DOUBLE) AS part_financeur_principal,
                  d.nb_financeurs, d.part_financeur_principal >= $seuil AS dependant
           FROM ("""
        + _FUNDING_BY_ACTOR
        + """) d JOIN porteur p ON p.id_porteur = d.id_acteur
           ORDER BY dependant DESC, total_accorde DESC""",
        parameters={"contrat": contrat, "seuil": seuil, "annee": None, "perimetre": bind(perimetre)},
    ).pl()


class DependencySummary(TypedDict):
    acteurs: pl.DataFrame  # the `funder_dependency` frame
    nb_finances: int
    nb_dependants: int
    part_dependants: float | None


def dependency_summary(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    seuil: float = SEUIL_DEPENDANCE,
    perimetre: tuple[str, ...] | None = None,
) -> DependencySummary:
    """The « Dépendants » card and table from one query: `acteurs` (the `funder_dependency`
    frame), `nb_finances` (funded actors of the selection), `nb_dependants` (those `dependant`
    at `seuil`) and their share `part_dependants` (None when no actor is funded)."""
    frame = funder_dependency(cur, contrat=contrat, seuil=seuil, perimetre=perimetre)
    nb_finances, nb_dependants = frame.height, int(frame["dependant"].sum())
    return {
        "acteurs": frame,
        "nb_finances": nb_finances,
        "nb_dependants": nb_dependants,
        "part_dependants": nb_dependants / nb_finances if nb_finances else None,
    }


def small_association_share(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Per year: amounts accordés (all funders), of which to associations without employees
    (model.SMALL_ASSOCIATION), their share — the « Actions et financements » definition,
    `financements.small_association_by_year` — and its change from the previous year (points)."""
    frame = (
        financements.small_association_by_year(cur, contrat=contrat, perimetre=perimetre)
        .filter(pl.col("total") > 0)
        .sort("annee")
    )
    # The change is « sur un an »: none when the previous year has nothing accordé.
    return frame.with_columns(
        pl.when(pl.col("annee").shift(1) == pl.col("annee") - 1)
        .then(pl.col("part") - pl.col("part").shift(1))
        .alias("evolution")
    )


class SmallAssociationSummary(TypedDict):
    par_annee: pl.DataFrame  # the `small_association_share` frame
    part: float | None  # the year's share (None: no funding that year)
    evolution: float | None


def small_association_summary(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int, perimetre: tuple[str, ...] | None = None
) -> SmallAssociationSummary:
    """The « Petites associations » card and chart from one query: `par_annee` (the
    `small_association_share` frame), and for `annee` the `part` of the amounts accordés going
    to associations without employees and its one-year change `evolution` (points as a
    fraction), both None when nothing is accordé that year."""
    frame = small_association_share(cur, contrat=contrat, perimetre=perimetre)
    year = frame.filter(pl.col("annee") == annee)
    if year.is_empty():
        return {"par_annee": frame, "part": None, "evolution": None}
    return {"par_annee": frame, "part": year["part"][0], "evolution": year["evolution"][0]}


def cpo_candidates(
    cur: duckdb.DuckDBPyConnection,
    *,
    contrat: str | None,
    annee: int,
    min_annees: int = MIN_ANNEES_SANS_CPO,
    perimetre: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Actors funded (accordé > 0) every year of the last `min_annees` years up to `annee`
    included, none of whose actions of the selection is a CPO: candidates for a multi-year
    convention. Only associations: a CPO is the State's multi-year convention with an association
    (a commune or a bailleur is funded otherwise)."""
    return cur.execute(
        """WITH funded AS (
             SELECT a.id_porteur, f.annee, sum(f.montant_accorde) AS montant
             FROM financement f JOIN action a USING (code_action)
             WHERE ($contrat IS NULL OR a.code_contrat = $contrat)
               AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat)) AND f.montant_accorde > 0
               AND f.annee BETWEEN $annee - $n + 1 AND $annee
             GROUP BY ALL),
           cpo AS (SELECT DISTINCT id_porteur FROM action
                   WHERE ($contrat IS NULL OR code_contrat = $contrat)
                     AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat)) AND mode_financement = 'CPO')
           SELECT p.id_porteur AS id_acteur, p.nom, p.type_structure, count(*) AS nb_annees,
                  CAST(sum(montant) AS DOUBLE) AS total_accorde, CAST(avg(montant) AS DOUBLE) AS moyenne_annuelle
           FROM funded JOIN porteur p USING (id_porteur)
           WHERE id_porteur NOT IN (SELECT id_porteur FROM cpo) AND p.type_structure LIKE 'association%'
           GROUP BY ALL HAVING count(*) = $n
           ORDER BY total_accorde DESC, p.nom""",
        parameters={"contrat": contrat, "annee": annee, "n": min_annees, "perimetre": bind(perimetre)},
    ).pl()


# --- one actor ------------------------------------------------------------------------------


class ActorDetail(TypedDict):
    identite: pl.DataFrame
    financement: pl.DataFrame
    actions: pl.DataFrame
    instances: pl.DataFrame
    postes: pl.DataFrame


def actor_detail(
    cur: duckdb.DuckDBPyConnection, *, id_acteur: str, contrat: str | None, perimetre: tuple[str, ...] | None = None
) -> ActorDetail:
    """Everything about one actor within the selection: QPV, actions, funding per year split
    CPO / annual, instances, identifiers and their validity. Its identity only when it belongs to
    a contract of the périmètre (every frame is then empty for an actor outside it)."""
    params = {"id": id_acteur, "contrat": contrat, "perimetre": bind(perimetre)}
    funding = cur.execute(
        """SELECT f.annee, CASE WHEN a.mode_financement = 'CPO' THEN 'CPO' ELSE 'annuel' END AS mode,
                  CAST(sum(f.montant_accorde) AS DOUBLE) AS accorde, CAST(sum(f.montant_verse) AS DOUBLE) AS verse
           FROM financement f JOIN action a USING (code_action)
           WHERE a.id_porteur = $id AND ($contrat IS NULL OR a.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))
           GROUP BY ALL ORDER BY f.annee, mode""",
        parameters=params,
    ).pl()
    actions = cur.execute(
        """SELECT a.code_action, a.libelle, a.thematique, a.mode_financement, a.annee_debut, a.annee_fin, a.statut,
                  CAST(coalesce(sum(f.montant_accorde), 0) AS DOUBLE) AS accorde
           FROM action a LEFT JOIN financement f USING (code_action)
           WHERE a.id_porteur = $id AND ($contrat IS NULL OR a.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, a.code_contrat))
           GROUP BY ALL ORDER BY a.annee_debut DESC, a.code_action""",
        parameters=params,
    ).pl()
    instances = cur.execute(
        """SELECT i.code_instance, i.type_instance, i.libelle, x.role
           FROM acteur_instance x JOIN instance i USING (code_instance)
           WHERE x.id_acteur = $id AND ($contrat IS NULL OR i.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
           ORDER BY i.type_instance, i.libelle""",
        parameters=params,
    ).pl()
    ident = cur.execute(
        """SELECT coalesce(p.id_porteur, a.id_acteur) AS id_acteur, coalesce(a.nom, p.nom) AS nom,
                  coalesce(a.type_structure, p.type_structure) AS type_structure,
                  coalesce(p.siret, a.siret) AS siret, coalesce(p.rna, a.rna) AS rna,
                  coalesce(a.mode_intervention, 'non renseigné') AS mode_intervention,
                  (SELECT string_agg(domaine, ', ' ORDER BY domaine) FROM acteur_domaine d
                    WHERE d.id_acteur = $id) AS domaines,
                  a.commentaire
           FROM porteur p FULL JOIN acteur a ON a.id_acteur = p.id_porteur
           WHERE coalesce(p.id_porteur, a.id_acteur) = $id
             AND ($perimetre IS NULL OR $id IN (SELECT id_acteur FROM ("""
        + _ACTEUR_CONTRAT
        + """)
                                              WHERE list_contains($perimetre, code_contrat)))""",
        parameters={"id": id_acteur, "perimetre": bind(perimetre)},
    ).pl()
    ident = ident.with_columns(
        identifiers.siret_valid_expr("siret").alias("siret_valide"), _rna_valid_expr("rna").alias("rna_valide")
    )
    posts = cur.execute(
        """SELECT id_poste, type_poste, code_qp, etp FROM poste
           WHERE (id_employeur = $id OR siret_employeur = (SELECT siret FROM porteur WHERE id_porteur = $id))
             AND ($contrat IS NULL OR code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, code_contrat))
               ORDER BY type_poste, id_poste""",
        parameters=params,
    ).pl()
    return {"identite": ident, "financement": funding, "actions": actions, "instances": instances, "postes": posts}


# --- ingénierie -----------------------------------------------------------------------------

# Posts of a selection: those of the contract, or attached through a 2015 code; all when NULL.
_POSTS = """
WITH p AS (
    SELECT p.*, coalesce(p.code_contrat, c.code_contrat) AS contrat_effectif
    FROM poste p LEFT JOIN correspondance_contrat c USING (code_cv_2015)),
sel AS (SELECT * FROM p WHERE ($contrat IS NULL OR contrat_effectif = $contrat)
                           AND ($perimetre IS NULL OR list_contains($perimetre, contrat_effectif))),
fin AS (SELECT id_poste, CAST(sum(montant) AS DOUBLE) AS finance, count(*) AS nb_financeurs,
               string_agg(financeur || ' ' || CAST(montant AS VARCHAR), ' ; ' ORDER BY montant DESC) AS detail,
               CAST(sum(montant) FILTER (WHERE financeur IN ('État P147',
                 'État droit commun')) AS DOUBLE) AS finance_etat
        FROM financement_poste WHERE annee = $annee GROUP BY id_poste),
ref AS (SELECT * FROM (VALUES ('adulte-relais', $ref_ar), ('poste FONJEP', $ref_fonjep))
        t(type_poste, montant_reference))
"""


def _post_params(contrat, annee, perimetre) -> dict:
    return {
        "contrat": contrat,
        "annee": annee,
        "ref_ar": MONTANT_ADULTE_RELAIS_2023,
        "ref_fonjep": MONTANT_FONJEP,
        "perimetre": bind(perimetre),
    }


def posts(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The posts of the selection active in `annee` (period covering the year, or funded that
    year) with their funding of the year, the reference State amount (adulte-relais, FONJEP) × ETP,
    and whether they are co-funded (several funders that year)."""
    return cur.execute(
        _POSTS
        + """
        SELECT s.id_poste, s.contrat_effectif AS code_contrat, s.code_qp, q.libelle AS quartier, s.type_poste,
               s.intitule, s.titulaire, s.employeur, s.siret_employeur, s.etp, s.date_debut, s.date_fin,
               s.niveau_responsabilite, s.elu_referent, CAST(s.cout_annuel AS DOUBLE) AS cout_annuel,
               coalesce(fin.finance, 0) AS finance, coalesce(fin.finance_etat, 0) AS finance_etat,
               coalesce(fin.nb_financeurs, 0) AS nb_financeurs, coalesce(fin.nb_financeurs, 0) > 1 AS cofinance,
               fin.detail AS financeurs, ref.montant_reference * s.etp AS montant_reference, s.code_cv_2015, s.source
        FROM sel s LEFT JOIN fin USING (id_poste) LEFT JOIN ref USING (type_poste)
             LEFT JOIN quartier q ON q.code_qp = s.code_qp
        WHERE fin.id_poste IS NOT NULL
           OR ((s.date_debut IS NULL OR year(s.date_debut) <= $annee)
               AND (s.date_fin IS NULL OR year(s.date_fin) >= $annee)
               AND (s.date_debut IS NOT NULL OR s.date_fin IS NOT NULL))
        ORDER BY list_position(['chef de projet politique de la ville', 'chargé de mission', 'délégué du préfet',
                                'adulte-relais', 'poste FONJEP', 'médiateur', 'autre'], s.type_poste),
                 s.contrat_effectif, s.code_qp, s.id_poste""",
        parameters=_post_params(contrat, annee, perimetre),
    ).pl()


def posts_summary(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Per type of post, for `annee`: posts, ETP, co-funded posts, known cost, funding (of which
    State), reference State amount (adulte-relais, FONJEP) and funding coverage of the cost."""
    frame = posts(cur, contrat=contrat, annee=annee, perimetre=perimetre)
    order = {t: i for i, t in enumerate(TYPES_POSTE)}
    return (
        frame.group_by("type_poste")
        .agg(
            pl.len().alias("nb_postes"),
            pl.col("etp").sum().alias("etp"),
            pl.col("cofinance").sum().alias("nb_cofinances"),
            pl.col("cout_annuel").sum().alias("cout"),
            pl.col("finance").sum().alias("finance"),
            pl.col("finance_etat").sum().alias("finance_etat"),
            pl.when(pl.col("montant_reference").is_not_null().any())
            .then(pl.col("montant_reference").sum())
            .alias("montant_reference"),
            pl.col("cout_annuel").filter(pl.col("cout_annuel").is_not_null()).len().alias("nb_couts"),
        )
        .with_columns(pl.when(pl.col("nb_couts") > 0).then(pl.col("cout")).alias("cout"))
        .with_columns((pl.col("finance") / pl.col("cout")).alias("couverture"))
        .drop("nb_couts")
        .sort(pl.col("type_poste").replace_strict(order, default=99))
    )


class PostsTotals(TypedDict):
    nb_postes: int
    etp: float
    nb_adultes_relais: int
    nb_fonjep: int
    nb_cofinances: int
    finance: float
    finance_etat: float


def posts_totals(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int, perimetre: tuple[str, ...] | None = None
) -> PostsTotals:
    """The team's headline figures for `annee`, totals of `posts_summary` (so they always equal
    the sum of its rows): `nb_postes`, `etp`, `nb_adultes_relais`, `nb_fonjep`, `nb_cofinances`,
    `finance` and `finance_etat` (funding of the year, of which State)."""
    summary = posts_summary(cur, contrat=contrat, annee=annee, perimetre=perimetre)

    def posts_of(kind: str) -> int:
        return int(summary.filter(pl.col("type_poste") == kind)["nb_postes"].sum())

    return {
        "nb_postes": int(summary["nb_postes"].sum()),
        "etp": float(summary["etp"].sum()),
        "nb_adultes_relais": posts_of("adulte-relais"),
        "nb_fonjep": posts_of("poste FONJEP"),
        "nb_cofinances": int(summary["nb_cofinances"].sum()),
        "finance": float(summary["finance"].sum()),
        "finance_etat": float(summary["finance_etat"].sum()),
    }


def relay_posts_by_qpv(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, annee: int, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Adulte-relais and FONJEP posts of `annee` per contract and QPV (« sans QPV » when the post
    is not attached to one): posts, ETP, funding, reference amount."""
    frame = posts(cur, contrat=contrat, annee=annee, perimetre=perimetre).filter(
        pl.col("type_poste").is_in(list(MONTANTS_REFERENCE))
    )
    return (
        frame.with_columns(
            pl.col("quartier").fill_null("sans QPV"),
            pl.coalesce("code_contrat", pl.format("{} (code 2015)", "code_cv_2015"), pl.lit("non rattaché")).alias(
                "code_contrat"
            ),
        )
        .group_by("code_contrat", "quartier", "type_poste")
        .agg(
            pl.len().alias("nb_postes"),
            pl.col("etp").sum().alias("etp"),
            pl.col("finance").sum().alias("finance"),
            pl.col("montant_reference").sum().alias("montant_reference"),
        )
        .sort("code_contrat", "quartier", "type_poste")
    )


def posts_by_code_2015(
    cur: duckdb.DuckDBPyConnection, *, annee: int, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Imported posts funded in `annee` counted per 2015-generation contract code, with the 2024
    contract the code is attached to (correspondance_contrat) when known. With a périmètre, only
    the posts whose contract (their own, else their code's) is in it."""
    return cur.execute(
        """SELECT coalesce(p.code_cv_2015, 'sans code') AS code_cv_2015, c.code_contrat, p.type_poste,
                  count(DISTINCT p.id_poste) AS nb_postes, CAST(sum(f.montant) AS DOUBLE) AS montant
           FROM poste p JOIN financement_poste f USING (id_poste)
           LEFT JOIN correspondance_contrat c USING (code_cv_2015)
           WHERE f.annee = $annee AND (p.code_cv_2015 IS NOT NULL OR p.source LIKE 'adultes-relais%')
             AND ($perimetre IS NULL OR list_contains($perimetre, coalesce(p.code_contrat, c.code_contrat)))
           GROUP BY ALL ORDER BY nb_postes DESC, code_cv_2015""",
        parameters={"annee": annee, "perimetre": bind(perimetre)},
    ).pl()


def roadmap(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The team's roadmap items with their owner's post and linked decision; `en_retard` when the
    due date is past at `donnees_au` and the item is neither done nor abandoned."""
    return cur.execute(
        """SELECT f.id_item, f.code_contrat, f.libelle, f.responsable, p.type_poste AS poste_responsable,
                  f.date_echeance, f.statut, f.id_decision, d.libelle AS decision,
                  f.date_echeance < $au AND f.statut IN ('à faire', 'en cours') AS en_retard
           FROM feuille_de_route f LEFT JOIN poste p USING (id_poste) LEFT JOIN decision d USING (id_decision)
           WHERE ($contrat IS NULL OR f.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, f.code_contrat))
           ORDER BY en_retard DESC, f.statut = 'faite', f.date_echeance NULLS LAST, f.id_item""",
        parameters={"contrat": contrat, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()


class RoadmapCounts(TypedDict):
    nb_items: int
    nb_en_retard: int


def roadmap_counts(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> RoadmapCounts:
    """`nb_items` of the roadmap and `nb_en_retard` (the `roadmap` rule: due before `donnees_au`,
    still « à faire » or « en cours »)."""
    items = roadmap(cur, contrat=contrat, donnees_au=donnees_au, perimetre=perimetre)
    return {"nb_items": items.height, "nb_en_retard": int(items["en_retard"].sum())}


def open_decisions(
    cur: duckdb.DuckDBPyConnection, *, contrat: str | None, donnees_au: date, perimetre: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Governance decisions still to do or in progress (shown beside the roadmap), late first."""
    return cur.execute(
        """SELECT d.id_decision, i.code_contrat, i.libelle AS instance, r.date_reunion, d.libelle, d.responsable,
                  d.date_echeance, d.statut, d.date_echeance < $au AS en_retard
           FROM decision d JOIN reunion r USING (id_reunion) JOIN instance i USING (code_instance)
           WHERE ($contrat IS NULL OR i.code_contrat = $contrat)
             AND ($perimetre IS NULL OR list_contains($perimetre, i.code_contrat))
             AND d.statut IN ('à faire', 'en cours')
           ORDER BY en_retard DESC, d.date_echeance NULLS LAST, d.id_decision""",
        parameters={"contrat": contrat, "au": donnees_au, "perimetre": bind(perimetre)},
    ).pl()
