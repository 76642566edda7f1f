"""National lists of adulte-relais posts (`spec_national.ADULTES_RELAIS`): the ANCT open data
(`adulte-relais-2023.json`) and GISPRO extracts, one record per funded post (docs/acteurs.md,
« National adulte-relais list »).

Rules:
- every record is a post funded by the State (programme 147) for its year: one `poste` of type
  adulte-relais and one `financement_poste` line `État P147 / annee / montant`;
- the employer's SIRET (`code_tiers`) is re-padded to 14 digits (Excel strips leading zeros); not
  14 digits is an error, a wrong check digit a warning (the post is kept);
- `code_cv` is a contract code of the 2015-2023 generation (`CV001`…): it is kept on the post
  (`code_cv_2015`); a post counts in a 2024 contract only through `correspondance_contrat` (or a
  user's attachment): a re-import never writes `code_contrat`;
- records identical in every field are counted once; the same `id_poste` on several records of a
  year (different employers) gives several posts, `id_poste`, `id_poste-2`…, ordered by SIRET;
- an existing post keeps its type, title, ETP, source and contract; its employer is updated, and
  it keeps its link to a porteur when the file's SIRET matches none;
- nothing is ever « absent »: a list never deletes a post or a funding line (« Supprimer les
  absents » changes nothing for this kind).
"""

from __future__ import annotations

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.domain import identifiers
from cdv_core.ingest.model import ERROR, LINE, PROBLEM_SCHEMA, WARNING, Load
from cdv_core.ingest.spec_types import Kind

FINANCEUR = "État P147"
CODE_CV_2015_PATTERN = r"^CV\d{3}$"
OPTIONAL = ("code_cv", "insee_dep", "insee_reg")
_POSTS = "_adultes_relais"  # the file's posts, registered while their store columns are read (SQL below)


def build(
    cur: duckdb.DuckDBPyConnection, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat: str | None = None
) -> tuple[list[Load], list[pl.DataFrame], list[str]]:
    """The typed rows of a national list → (loads: `poste` and `financement_poste`, problems, notes)."""
    f = typed.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in OPTIONAL if c not in typed.columns)
    siret = pl.col("code_tiers").str.replace_all(r"[\s\u00a0\u202f.]", "")
    f = f.with_columns(
        pl.when(siret.str.contains(r"^\d{1,13}$")).then(siret.str.zfill(14)).otherwise(siret).alias("code_tiers"),
        pl.col("code_cv").str.strip_chars().replace("", None).alias("code_cv"),
    )
    problems = _siret_problems(f, fichier)
    odd = f.filter(pl.col("code_cv").is_not_null() & ~pl.col("code_cv").str.contains(CODE_CV_2015_PATTERN))
    problems.append(
        _rows(
            odd,
            fichier,
            "code_cv",
            pl.col("code_cv"),
            "Code de contrat hors du format CV000 (plusieurs contrats ?) : conservé tel quel et compté à part",
            "Un code de contrat 2015 comme CV049",
            WARNING,
        )
    )
    data_columns = [c for c in f.columns if c != LINE]
    f = f.with_columns(pl.col(LINE).min().over(data_columns).alias("_premiere"))
    problems.append(
        _rows(
            f.filter(pl.col(LINE) != pl.col("_premiere")),
            fichier,
            "id_poste",
            pl.col("id_poste"),
            pl.format("Ligne identique à la ligne {} : comptée une fois", "_premiere"),
            "Une ligne par poste financé",
            WARNING,
        )
    )
    f = f.filter(pl.col(LINE) == pl.col("_premiere")).drop("_premiere")
    # one post per record: the later records of an id in a year (in SIRET order) are numbered -2, -3…
    f = (
        f.sort("id_poste", "annee", "code_tiers", LINE, nulls_last=True)
        .with_columns(pl.int_range(pl.len()).over("id_poste", "annee").alias("_rang"))
        .sort(LINE)
        .with_columns(
            pl.when(pl.col("_rang") > 0)
            .then(pl.format("{}-{}", "id_poste", pl.col("_rang") + 1))
            .otherwise(pl.col("id_poste"))
            .alias("id_poste")
        )
    )
    problems.append(
        _rows(
            f.filter(pl.col("_rang") > 0),
            fichier,
            "id_poste",
            pl.col("id_poste"),
            "Identifiant de poste déjà présent cette année sur une autre ligne (autre employeur) : "
            "chaque ligne est un poste financé, enregistré sous l'identifiant suivi de -2, -3…",
            "Vérifiez l'employeur de chaque ligne",
            WARNING,
        )
    )
    f = f.filter(
        pl.all_horizontal(
            pl.col(c).is_not_null() for c in ("id_poste", "code_tiers", "raison_sociale", "annee", "montant")
        )
    )
    notes = _notes(f)
    return _loads(cur, f), [p for p in problems if p.height], notes


def _siret_problems(f: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    shaped = pl.col("code_tiers").str.contains(r"^\d{14}$")
    malformed = f.filter(pl.col("code_tiers").is_not_null() & ~shaped)
    checked = f.filter(shaped).with_columns(identifiers.siret_valid_expr("code_tiers"))
    return [
        _rows(
            malformed,
            fichier,
            "code_tiers",
            pl.col("code_tiers"),
            "SIRET de l'employeur mal formé",
            "14 chiffres (les zéros de tête effacés par Excel sont restaurés)",
        ),
        _rows(
            checked.filter(~pl.col("siret_valide")),
            fichier,
            "code_tiers",
            pl.col("code_tiers"),
            "SIRET à la clé de contrôle invalide : poste conservé, à vérifier",
            "Un SIRET existant : vérifiez les chiffres sur annuaire-entreprises.data.gouv.fr",
            WARNING,
        ),
    ]


def _rows(
    frame: pl.DataFrame,
    fichier: str,
    colonne: str,
    value: pl.Expr,
    msg: str | pl.Expr,
    expected: str,
    severity: str = ERROR,
) -> pl.DataFrame:
    """One problem per row of `frame` (which carries LINE)."""
    if frame.is_empty():
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return frame.select(
        pl.lit(fichier).alias("fichier"),
        pl.col(LINE).cast(pl.Int64).alias("ligne"),
        pl.lit(colonne).alias("colonne"),
        value.cast(pl.String).alias("valeur"),
        (pl.lit(msg) if isinstance(msg, str) else msg).alias("problème"),
        pl.lit(expected).alias("correction attendue"),
        pl.lit(severity).alias("gravité"),
    )


def _notes(f: pl.DataFrame) -> list[str]:
    posts = fmt.plural(f.height, "poste d'adulte-relais", "postes d'adultes-relais")
    notes = [f"{posts} dans ce fichier, {fmt.euros(float(f['montant'].sum() or 0), 2)} au total (État P147)."]
    without = f.filter(pl.col("code_cv").is_null()).height
    if without:
        notes.append(
            f"{fmt.plural(without, 'poste')} sans code de contrat de ville : "
            f"{'compté' if without == 1 else 'comptés'} « sans code »."
        )
    return notes


def _loads(cur: duckdb.DuckDBPyConnection, f: pl.DataFrame) -> list[Load]:
    """One `poste` per record (the store's values kept where the file says nothing) and one
    `financement_poste` line each."""
    posts = (
        f.sort("annee")
        .unique("id_poste", keep="last", maintain_order=True)
        .select(
            "id_poste",
            pl.col("raison_sociale").alias("employeur"),
            pl.col("code_tiers").alias("siret_employeur"),
            pl.col("code_cv").alias("code_cv_2015"),
            "insee_dep",
            pl.col("annee").cast(pl.Int64),
        )
    )
    cur.register(_POSTS, posts.to_arrow(compat_level=pl.CompatLevel.oldest()))
    try:
        poste = cur.execute(
            """SELECT x.id_poste, 'adulte-relais' AS type_poste, 'Adulte-relais' AS intitule, x.employeur,
                      x.siret_employeur, 1.0 AS etp, x.code_cv_2015, x.insee_dep,
                      'adultes-relais ' || x.annee AS source,
                      coalesce(e.id_porteur, p.id_employeur) AS id_employeur
               FROM _adultes_relais x LEFT JOIN poste p USING (id_poste)
               LEFT JOIN (SELECT siret, min(id_porteur) AS id_porteur FROM porteur GROUP BY siret) e
                 ON e.siret = x.siret_employeur"""
        ).pl()
    finally:
        cur.unregister(_POSTS)
    funding = f.select("id_poste", pl.lit(FINANCEUR).alias("financeur"), pl.col("annee").cast(pl.Int64), "montant")
    return [
        Load(
            "poste",
            poste,
            ("id_poste",),
            ("employeur", "siret_employeur", "code_cv_2015", "insee_dep", "id_employeur"),
            scope_col="id_poste",
        ),
        Load(
            "financement_poste",
            funding,
            ("id_poste", "financeur", "annee"),
            ("montant",),
            scope_col=("id_poste", "financeur", "annee"),
        ),
    ]
