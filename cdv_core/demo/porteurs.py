"""Step 3: the porteurs of each contract (structures that carry actions)."""

from __future__ import annotations

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, _choice, _sirets

_PORTEUR_TYPES = [  # type, weight, amount factor, name templates
    ("association sans salarié", 22, 0.35, ["Amicale des locataires {q}", "Collectif d'habitants {q}", "Association des mamans de {q}",
                                            "Les Jardins de {q}", "Écrivains publics de {c}"]),
    ("association avec salariés", 45, 1.0, ["Centre social {q}", "Maison de quartier {q}", "{c} Médiation", "Régie de quartier {q}",
                                            "{c} Insertion", "Compagnie des Deux Rives", "Club de boxe de {c}", "MJC {q}",
                                            "Épicerie solidaire de {c}", "Espace de vie sociale {q}"]),
    ("collectivité", 14, 2.4, ["Ville de {c}", "CCAS de {c}", "Caisse des écoles de {c}"]),
    ("établissement public", 8, 1.4, ["Collège Jean-Moulin de {c}", "Mission locale du bassin de {c}", "Lycée professionnel de {c}"]),
    ("bailleur", 6, 1.6, ["{c} Habitat", "Office public de l'habitat de {c}"]),
    ("entreprise", 3, 0.8, ["SCOP Ateliers de {c}", "Entreprise d'insertion {c} Services"]),
    ("autre", 2, 0.6, ["Fondation locale de {c}"]),
]


def _porteurs(rng, contrats: pl.DataFrame, quartiers: pl.DataFrame, scale: Scale) -> pl.DataFrame:
    per_contract = quartiers.group_by("code_contrat").agg(pl.len().alias("nq"), pl.col("libelle").first().alias("q"),
                                                          pl.col("lib_com").first().alias("c"))
    per_contract = contrats.select("code_contrat").join(per_contract, on="code_contrat").sort("code_contrat")
    counts = scale.porteurs_base + scale.porteurs_per_qpv * per_contract["nq"].to_numpy()
    ci = np.repeat(np.arange(per_contract.height), counts)
    n = len(ci)
    types = np.array([t[0] for t in _PORTEUR_TYPES], dtype=object)
    t_idx = rng.choice(len(types), size=n, p=np.array([t[1] for t in _PORTEUR_TYPES]) / 100)
    templates = pl.DataFrame([(t[0], i, tpl) for t in _PORTEUR_TYPES for i, tpl in enumerate(t[3])],
                             schema=["type_structure", "i", "tpl"], orient="row")
    n_tpl = templates.group_by("type_structure").agg(pl.len().alias("n_tpl"))
    sirets = _sirets(rng, n, invalid_share=0.02)
    has_siret = rng.random(n) < 0.93
    is_assoc = np.char.startswith(types[t_idx].astype(str), "association")
    with_rna = is_assoc & (rng.random(n) < 0.8)  # drawn first: keeps the generator's sequence
    rna_parts = pl.DataFrame({"d": rng.integers(0, 10, n), "x": _choice(rng, list("0123456789"), n).astype(str),
                              "v": rng.integers(0, 10**7, n)})
    rna = rna_parts.select(pl.when(pl.Series(with_rna))
                             .then(pl.format("W{}{}{}", "d", "x", pl.col("v").cast(pl.String).str.zfill(7)))
                             .otherwise(None)).to_series()
    frame = pl.DataFrame({
        "code_contrat": per_contract["code_contrat"].to_numpy()[ci],
        "q": per_contract["q"].to_numpy()[ci],
        "c": per_contract["c"].to_numpy()[ci],
        "type_structure": types[t_idx],
        "u": rng.random(n),
        "siret": pl.select(pl.when(pl.Series(has_siret)).then(sirets).otherwise(None)).to_series(),
        "rna": rna,
        "seq": np.arange(n),
    })
    frame = (frame.join(n_tpl, on="type_structure")
                  .with_columns((pl.col("u") * pl.col("n_tpl")).floor().cast(pl.Int64).alias("i"))
                  .join(templates, on=["type_structure", "i"])
                  .sort("seq")
                  .with_columns(
                      pl.col("tpl").str.replace("{q}", pl.col("q"), literal=True)
                        .str.replace("{c}", pl.col("c"), literal=True)
                        .str.replace(" de Les ", " des ", literal=True).str.replace(" de Le ", " du ", literal=True)
                        .str.replace(" de La ", " de la ", literal=True).alias("nom"),
                      pl.coalesce("siret", "rna", pl.format("LOC-{}", pl.col("seq"))).alias("id_porteur"))
                  # Several structures of one type in a town share a template: number the homonyms.
                  .with_columns(pl.col("seq").rank("ordinal").over("nom").alias("homonym"))
                  .with_columns(pl.when(pl.col("homonym") > 1)
                                  .then(pl.format("{} ({})", pl.col("nom"), pl.col("homonym")))
                                  .otherwise(pl.col("nom")).alias("nom"))
                  .unique("id_porteur", keep="first", maintain_order=True))
    return frame.select("id_porteur", "siret", "rna", "nom", "type_structure",
                        pl.lit(None, dtype=pl.String).alias("insee_com"), "code_contrat")




def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    # The contract of each porteur is kept aside for the next steps (not a column of the store).
    porteurs = _porteurs(rng, frames["contrat"], frames["quartier"], scale)
    return {"_porteur_contrat": porteurs, "porteur": porteurs.drop("code_contrat")}
