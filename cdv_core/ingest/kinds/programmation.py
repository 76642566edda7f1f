"""Programmation / Dauphin-style extracts (one row per dossier × financeur × exercice) →
porteurs, actions, financements and the actions' quartiers."""

from __future__ import annotations

import duckdb
import polars as pl

from cdv_core.ingest import clean
from cdv_core.ingest.model import Load, rows_problem
from cdv_core.ingest.spec_types import Kind
from cdv_core.ingest.validate import duplicates, reference_problems, row_rules


def build(
    cur: duckdb.DuckDBPyConnection, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat: str | None = None
) -> tuple[list[Load], list[pl.DataFrame], list[str]]:
    problems: list[pl.DataFrame] = []
    notes: list[str] = []
    cols = set(typed.columns)
    f = typed
    for name, default in (
        ("financeur", "État P147"),
        ("siret", None),
        ("rna", None),
        ("type_structure", None),
        ("mode_financement", None),
        ("statut", None),
        ("montant_demande", None),
        ("montant_verse", None),
        ("date_decision", None),
    ):
        if name not in cols:
            # typed like the column would be (a String « montant_verse » made the row rules fail)
            dtype = {"montant_demande": pl.Float64, "montant_verse": pl.Float64, "date_decision": pl.Date}.get(
                name, pl.String
            )
            f = f.with_columns(pl.lit(default, dtype=typed.schema.get(name, dtype)).alias(name))
    # local porteur code (no SIRET, no RNA): computed once per distinct name of the rows that need it
    noms = (
        f.filter(pl.col("siret").is_null() & pl.col("rna").is_null())
        .select(pl.col("nom_porteur").cast(pl.String))
        .unique()
        .drop_nulls()
        .with_columns(
            (
                pl.lit("LOC-")
                + clean.normalise_text(pl.col("nom_porteur"))
                .str.to_uppercase()
                .str.replace_all(r"[^A-Z0-9]+", "-")
                .str.slice(0, 40)
            ).alias("_loc")
        )
    )
    f = f.with_columns(
        pl.col("financeur").fill_null("État P147"),
        pl.coalesce(
            pl.col("siret"),
            pl.col("rna"),
            pl.col("nom_porteur").replace_strict(
                noms["nom_porteur"], noms["_loc"], default=None, return_dtype=pl.String
            ),
        ).alias("id_porteur"),
    )
    if "montant_demande" in cols:
        f = f.with_columns(pl.col("montant_demande").cast(pl.Float64))
    # the usual extract has one row per dossier: then grouping by dossier is a plain projection,
    # and neither (dossier, financeur, année) nor (dossier, quartier) can repeat
    one_row_per_dossier = f.select(pl.col("code_action").n_unique()).item() == f.height
    if not one_row_per_dossier:
        problems += duplicates(f, ("code_action", "financeur", "annee"), fichier)
    problems += reference_problems(cur, spec, f, fichier)
    problems += row_rules(cur, spec, f, fichier)
    conflicting = (
        f.head(0).select("code_action")
        if one_row_per_dossier
        else f.group_by("code_action").agg(pl.col("code_contrat").n_unique().alias("n")).filter(pl.col("n") > 1)
    )
    if conflicting.height:
        bad = f.join(conflicting, on="code_action", how="semi")
        problems.append(
            rows_problem(
                bad,
                fichier,
                "code_contrat",
                pl.col("code_contrat"),
                "Le même dossier est rattaché à plusieurs contrats",
                "Un seul contrat par dossier",
            )
        )
    # porteurs
    porteur = (
        f.group_by("id_porteur", maintain_order=True)
        .agg(
            pl.col("siret").drop_nulls().first(),
            pl.col("rna").drop_nulls().first(),
            pl.col("nom_porteur").first().alias("nom"),
            pl.col("type_structure").drop_nulls().first(),
        )
        .with_columns(pl.col("type_structure").fill_null("autre"))
    )
    p_update = ["nom"] + [c for c in ("siret", "rna") if c in cols]
    if "type_structure" in cols and f["type_structure"].null_count() == 0:
        p_update.append("type_structure")
    elif "type_structure" not in cols:
        notes.append(
            "Pas de colonne « type de structure » : les nouveaux porteurs sont classés « autre » "
            "(les porteurs déjà connus gardent leur type)."
        )
    # actions (one per dossier), years widened with what the store already has
    store_years = cur.execute("SELECT code_action, annee_debut AS _d, annee_fin AS _f FROM action").pl()
    if one_row_per_dossier:  # same columns and values as the aggregation below, without grouping
        per_dossier = f.select(
            "code_action",
            "code_contrat",
            "id_porteur",
            "libelle",
            "thematique",
            "mode_financement",
            pl.col("annee").alias("annee_debut"),
            pl.col("annee").alias("annee_fin"),
            "statut",
            pl.col("montant_accorde").fill_null(0).alias("_accorde"),
            "date_decision",
        )
    else:
        per_dossier = f.group_by("code_action", maintain_order=True).agg(
            pl.col("code_contrat").first(),
            pl.col("id_porteur").first(),
            pl.col("libelle").first(),
            pl.col("thematique").drop_nulls().first(),
            pl.when((pl.col("mode_financement") == "CPO").any())
            .then(pl.lit("CPO"))
            .otherwise(pl.col("mode_financement").drop_nulls().first())
            .alias("mode_financement"),
            pl.col("annee").min().alias("annee_debut"),
            pl.col("annee").max().alias("annee_fin"),
            pl.col("statut").drop_nulls().first(),
            pl.col("montant_accorde").sum().alias("_accorde"),
            pl.col("date_decision").min(),
        )
    if not per_dossier["code_action"].is_in(store_years["code_action"].implode()).any():
        store_years = store_years.head(0)  # only new dossiers: the join below has nothing to add
    action = (
        per_dossier.join(store_years, on="code_action", how="left")
        .with_columns(
            pl.min_horizontal("annee_debut", "_d").alias("annee_debut"),
            pl.max_horizontal("annee_fin", "_f").alias("annee_fin"),
            pl.col("mode_financement").fill_null("AAP"),
            pl.coalesce(
                pl.col("statut"), pl.when(pl.col("_accorde") > 0).then(pl.lit("accordée")).otherwise(pl.lit("déposée"))
            ).alias("statut"),
        )
        .drop("_d", "_f", "_accorde")
    )
    a_update = ["code_contrat", "id_porteur", "libelle", "thematique", "annee_debut", "annee_fin"]
    a_update += [c for c in ("mode_financement", "statut", "date_decision") if c in cols]
    fin_cols = ["code_action", "financeur", "annee", "montant_accorde"] + [
        c for c in ("montant_demande", "montant_verse", "date_decision") if c in cols
    ]
    loads = [
        Load("porteur", porteur, ("id_porteur",), tuple(p_update), scope_col="id_porteur"),
        # A Dauphin extract never deletes a dossier: a multi-year CPO may appear with only its
        # current year, and deleting a dossier deletes all its years (the actions template, one
        # row per action of its contracts, is the way to delete actions). « Supprimer les
        # absents » removes the funding lines of the file's dossiers, for the file's years, that
        # the file no longer lists; when the file names no funder (all « État P147 »), only
        # those lines are its scope.
        Load("action", action, ("code_action",), tuple(a_update), scope_col="code_action"),
        Load(
            "financement",
            f.select(fin_cols),
            ("code_action", "financeur", "annee"),
            tuple(c for c in fin_cols if c not in ("code_action", "financeur", "annee")),
            scope_col=None if "financeur" in cols else ("code_action", "annee", "financeur"),
        ),
    ]
    if "quartiers" in cols:
        links = f.select("code_action", pl.col("quartiers").alias("code_qp")).explode("code_qp").drop_nulls()
        if not one_row_per_dossier:  # a cell's list has no repeats (see `type_cells`)
            links = links.unique(maintain_order=True)
        loads.append(Load("action_quartier", links, ("code_action", "code_qp"), (), replace_group="code_action"))
    return loads, problems, notes
