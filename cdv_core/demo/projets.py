"""Step 2: each QPV's projet de quartier and the objectives (per QPV and transversal)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale
from cdv_core.demo.territoire import _DEMO_QPV_WITHOUT_PROJET
from cdv_core.domain import model

_ENJEUX = {
    "Emploi et insertion": (
        "Chômage et inactivité élevés, surtout chez les femmes",
        [
            "Aller vers les publics invisibles",
            "Lever les freins à l'emploi (mobilité, garde, langue)",
            "Rapprocher le service public de l'emploi du quartier",
            "Favoriser l'emploi des femmes",
        ],
    ),
    "Éducation et émancipation": (
        "Retard scolaire, décrochage et orientation subie",
        [
            "Accompagner la scolarité hors temps scolaire",
            "Prévenir le décrochage scolaire",
            "Renforcer le langage dès la petite enfance",
            "Associer les parents à l'école",
        ],
    ),
    "Transition écologique": (
        "Précarité énergétique, îlots de chaleur et précarité alimentaire",
        [
            "Réduire la précarité énergétique",
            "Végétaliser et créer des îlots de fraîcheur",
            "Rendre accessible une alimentation durable",
        ],
    ),
    "Sécurité et tranquillité": (
        "Occupation des halls, trafics et sentiment d'insécurité",
        [
            "Renforcer la présence humaine (médiation)",
            "Prévenir la délinquance des jeunes",
            "Lutter contre les violences intrafamiliales",
        ],
    ),
    "Cadre de vie": (
        "Dégradations, propreté et chantiers de renouvellement urbain",
        [
            "Renforcer la gestion urbaine et sociale de proximité",
            "Accompagner les habitants pendant le renouvellement urbain",
            "Améliorer la propreté et la gestion des déchets",
        ],
    ),
    "Santé": (
        "Offre de soins faible, renoncement aux soins, santé mentale",
        [
            "Faciliter l'accès aux droits et aux soins",
            "Agir sur la santé mentale des jeunes",
            "Promouvoir alimentation et activité physique",
        ],
    ),
    "Participation citoyenne": (
        "Essoufflement des instances d'habitants",
        [
            "Faire vivre le conseil citoyen",
            "Soutenir les initiatives d'habitants",
            "Associer les habitants au suivi du contrat",
        ],
    ),
    "Lutte contre les discriminations": (
        "Discriminations à l'embauche et au logement",
        [
            "Sensibiliser employeurs et bailleurs",
            "Former les acteurs à la laïcité",
            "Garantir la place des femmes dans l'espace public",
        ],
    ),
}

# thématique → (axe, weight, action titles, typical structure types)

# --- projets, objectifs ---------------------------------------------------------------------


def _projets_objectifs(rng, contrats: pl.DataFrame, quartiers: pl.DataFrame, scale: Scale):
    axes = np.array(model.AXES, dtype=object)
    nq = quartiers.height
    order = np.argsort(rng.random((nq, len(axes))), axis=1)
    k = rng.integers(3, 6, nq)
    keep = np.arange(len(axes))[None, :] < k[:, None]
    qi, pos = np.nonzero(keep)
    obj_q = pl.DataFrame(
        {
            "code_qp": quartiers["code_qp"].to_numpy()[qi],
            "code_contrat": quartiers["code_contrat"].to_numpy()[qi],
            "axe": axes[order[qi, pos]],
            "rang": pos + 1,
        }
    )
    nc = contrats.height
    order_c = np.argsort(rng.random((nc, len(axes))), axis=1)[:, :3]
    ci = np.repeat(np.arange(nc), 3)
    obj_t = pl.DataFrame(
        {
            "code_qp": pl.Series([None] * (nc * 3), dtype=pl.String),
            "code_contrat": contrats["code_contrat"].to_numpy()[ci],
            "axe": axes[order_c.ravel()],
            "rang": np.tile(np.arange(1, 4), nc),
        }
    )
    obj = pl.concat([obj_q, obj_t])
    labels = pl.DataFrame(
        [(a, i, lab) for a, (_, labs) in _ENJEUX.items() for i, lab in enumerate(labs)],
        schema=["axe", "i", "libelle"],
        orient="row",
    )
    n_labels = labels.group_by("axe").agg(pl.len().alias("n_lab"))
    obj = (
        obj.with_columns(pl.Series("u", rng.random(obj.height)))
        .join(n_labels, on="axe")
        .with_columns((pl.col("u") * pl.col("n_lab")).floor().cast(pl.Int64).alias("i"))
        .join(labels, on=["axe", "i"])
        .with_columns(
            pl.concat_str(
                [
                    pl.lit("OBJ-"),
                    pl.col("code_qp").fill_null(pl.col("code_contrat") + "-T"),
                    pl.lit("-"),
                    pl.col("rang").cast(pl.String),
                ]
            ).alias("code_objectif"),
            pl.lit(date(2024, 3, 1)).alias("date_creation"),
        )
        .select("code_objectif", "code_contrat", "code_qp", "axe", "libelle", "date_creation")
        .sort("code_objectif")
    )
    enjeux = {a: e for a, (e, _) in _ENJEUX.items()}
    projets = (
        obj.filter(pl.col("code_qp").is_not_null())
        .group_by("code_qp", "code_contrat")
        .agg(pl.col("axe").sort().alias("axes"))
        .join(quartiers.select("code_qp", pl.col("libelle").alias("lib_qp")), on="code_qp")
        .with_columns(
            ("Projet de quartier " + pl.col("lib_qp")).alias("libelle"),
            pl.col("axes").list.eval(pl.element().replace_strict(enjeux)).list.join(" ; ").alias("enjeux"),
            pl.lit(date(2024, 6, 30)).alias("date_validation"),
        )
        .select("code_qp", "code_contrat", "libelle", "enjeux", "date_validation")
        .sort("code_qp")
    )
    if scale.name == "demo":
        projets = projets.filter(pl.col("code_qp") != _DEMO_QPV_WITHOUT_PROJET)
        obj = obj.filter(pl.col("code_qp").is_null() | (pl.col("code_qp") != _DEMO_QPV_WITHOUT_PROJET))
    return projets, obj


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    projets, objectifs = _projets_objectifs(rng, frames["contrat"], frames["quartier"], scale)
    return {"projet_quartier": projets, "objectif": objectifs}
