"""The official ANCT list of QPV (listeqp2024-cog2024.csv) → quartier rows, and the contracts
the new ones need."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cdv_core import fmt
from cdv_core.ingest import clean
from cdv_core.ingest.model import ERROR, LINE, WARNING, Load, problem, problems_frame, rows_problem
from cdv_core.ingest.spec_types import Kind
from cdv_core.ingest.validate import duplicates, store_values

# Municipal arrondissements (« Paris 18e Arrondissement », 75118) → their commune: the store
# keeps the commune's code, as the 2024 list does (insee_com 75056, 69123, 13055).
_ARRONDISSEMENTS = (
    (r"^751(0[1-9]|1\d|20)$", "75056", "Paris"),
    (r"^6938[1-9]$", "69123", "Lyon"),
    (r"^132(0[1-9]|1[0-6])$", "13055", "Marseille"),
)


_NAME_SPLIT = r"\s*[;,]\s*"


def _qpv_department(code_qp: pl.Expr) -> pl.Expr:
    """The département inside a QPV 2024 code: the 3 characters after « QN », a leading 0
    dropped (QN00101M → 01, QN02A01M → 2A, QN97101M → 971)."""
    return code_qp.str.slice(2, 3).str.replace(r"^0", "")


def _qpv_department_problems(typed: pl.DataFrame, fichier: str) -> list[pl.DataFrame]:
    """A QPV code whose département is not the row's département column: an error naming both."""
    if "insee_dep" not in typed.columns:
        return []
    inside = _qpv_department(pl.col("code_qp"))
    bad = typed.filter(
        (pl.col("code_qp").str.contains(clean.QPV_2024) & (inside != pl.col("insee_dep"))).fill_null(False)
    )
    if bad.is_empty():
        return []
    return [
        rows_problem(
            bad,
            fichier,
            "insee_dep",
            pl.col("insee_dep"),
            pl.format(
                "Le code QPV {} est celui d'un quartier du département {}, la ligne indique le département {}",
                pl.col("code_qp"),
                inside,
                pl.col("insee_dep"),
            ),
            pl.format(
                "Le même département dans le code QPV et dans la colonne département ({} ou {} : vérifiez la "
                "ligne dans la liste officielle)",
                inside,
                pl.col("insee_dep"),
            ),
            ERROR,
        )
    ]


def _count(n: pl.Expr, one: str, many: str) -> pl.Expr:
    """« 1 nom », « 2 noms » (`fmt.plural` per row)."""
    return pl.format("{} {}", n, pl.when(n > 1).then(pl.lit(many)).otherwise(pl.lit(one)))


def _official_communes(typed: pl.DataFrame, fichier: str) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Per row (LINE): `_com` (main commune), `communes` (every code, "; "-joined), `lib_com`
    (every name, "; "-joined in the order of the codes) and `_lib_com` (the main commune's name).

    A municipal arrondissement of Paris, Lyon or Marseille becomes its commune (one warning per
    cell naming the mapping; two arrondissements of one QPV make one commune). Names are paired
    with codes by position when the cell holds as many names as codes; otherwise the names are
    kept as written, with a warning."""
    problems: list[pl.DataFrame] = []
    split = pl.col("lib_com").str.strip_chars().str.replace_all(_NAME_SPLIT, "\x1f").str.split("\x1f")
    rows = typed.select(LINE, "insee_com", split.list.filter(pl.element() != ""))
    aligned = (pl.col("lib_com").list.len() == pl.col("insee_com").list.len()).fill_null(False)
    uneven = rows.filter(~aligned & pl.col("insee_com").is_not_null() & pl.col("lib_com").is_not_null())
    if uneven.height:
        problems.append(
            rows_problem(
                uneven,
                fichier,
                "lib_com",
                pl.col("lib_com").list.join("; "),
                pl.format(
                    "Pas autant de noms de commune que de codes commune ({}, {}) : les noms sont gardés tels quels",
                    _count(pl.col("lib_com").list.len(), "nom", "noms"),
                    _count(pl.col("insee_com").list.len(), "code", "codes"),
                ),
                pl.lit("Un nom par code commune, dans le même ordre (séparés par « ; »)"),
                WARNING,
            )
        )
    position = pl.int_range(pl.len()).over(LINE)
    codes = rows.select(LINE, pl.col("insee_com").alias("_code")).explode("_code").with_columns(position.alias("_i"))
    names = (
        rows.filter(aligned)
        .select(LINE, pl.col("lib_com").alias("_nom"))
        .explode("_nom")
        .with_columns(position.alias("_i"))
    )
    pairs = codes.join(names, on=[LINE, "_i"], how="left", maintain_order="left")
    commune, commune_name = pl.lit(None, dtype=pl.String), pl.lit(None, dtype=pl.String)
    for pattern, code, name in reversed(_ARRONDISSEMENTS):
        hit = pl.col("_code").str.contains(pattern)
        commune = pl.when(hit).then(pl.lit(code)).otherwise(commune)
        commune_name = pl.when(hit).then(pl.lit(name)).otherwise(commune_name)
    pairs = pairs.with_columns(commune.alias("_commune"), commune_name.alias("_commune_nom"))
    mapped = pairs.filter(pl.col("_commune").is_not_null())
    if mapped.height:
        problems.append(
            rows_problem(
                mapped,
                fichier,
                "insee_com",
                pl.col("_code"),
                pl.format(
                    "Arrondissement municipal {}{} remplacé par sa commune {} ({})",
                    pl.col("_code"),
                    pl.when(pl.col("_nom").is_not_null())
                    .then(pl.format(" ({})", pl.col("_nom")))
                    .otherwise(pl.lit("")),
                    pl.col("_commune"),
                    pl.col("_commune_nom"),
                ),
                pl.lit(
                    "Rien à faire : le quartier est rattaché à la commune (Paris 75056, Lyon 69123, Marseille 13055), "
                    "comme dans la liste officielle 2024"
                ),
                WARNING,
            )
        )
    pairs = pairs.with_columns(
        pl.coalesce("_commune", "_code").alias("_code"),
        pl.when(pl.col("_commune").is_not_null() & pl.col("_nom").is_not_null())
        .then(pl.col("_commune_nom"))
        .otherwise(pl.col("_nom"))
        .alias("_nom"),
    ).unique([LINE, "_code"], keep="first", maintain_order=True)
    per_row = pairs.group_by(LINE, maintain_order=True).agg(
        pl.col("_code").drop_nulls().first().alias("_com"),
        pl.col("_code").drop_nulls().str.join("; ").alias("communes"),
        pl.col("_nom").drop_nulls().str.join("; ").alias("_noms"),
    )
    out = (
        rows.select(LINE, pl.col("lib_com").list.join("; ").alias("_ecrits"), aligned.alias("_aligne"))
        .join(per_row, on=LINE, how="left", maintain_order="left")
        .select(
            LINE,
            "_com",
            pl.col("communes").replace("", None),
            pl.when(pl.col("_aligne"))
            .then(pl.col("_noms"))
            .otherwise(pl.col("_ecrits"))
            .replace("", None)
            .alias("lib_com"),
        )
    )
    # the main commune's name: paired with its code, else the first name written
    return out.with_columns(pl.col("lib_com").str.split("; ").list.first().alias("_lib_com")), problems


def build(
    cur: duckdb.DuckDBPyConnection, spec: Kind, typed: pl.DataFrame, fichier: str, *, contrat: str | None = None
) -> tuple[list[Load], list[pl.DataFrame], list[str]]:
    """Official ANCT list → quartier rows, and the contracts they need.

    A QPV already in the store keeps its contract. A new QPV goes to `contrat` when the user
    chose one; otherwise to the store's contract signed by its EPCI (siren_signataire), else
    to a contract created for its EPCI (`CV-EPCI-<siren>`), else (no EPCI, e.g. 978/987) for
    its main commune (`CV-COM-<insee>`)."""
    problems = duplicates(typed, spec.key, fichier)
    problems += _qpv_department_problems(typed, fichier)
    notes: list[str] = []
    communes, found = _official_communes(typed, fichier)
    problems += found
    frame = typed.drop("insee_com", "lib_com").join(communes, on=LINE, how="left", maintain_order="left")
    if "siren_epci" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("siren_epci"))
    else:
        frame = frame.with_columns(pl.col("siren_epci").list.first())
    if "lib_epci" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("lib_epci"))
    if "insee_reg" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("insee_reg"))
    existing = cur.execute("SELECT code_qp, code_contrat AS _existing FROM quartier").pl()
    signed = cur.execute(
        "SELECT siren_signataire AS siren_epci, min(code_contrat) AS _signed FROM contrat "
        "WHERE siren_signataire IS NOT NULL GROUP BY 1"
    ).pl()
    frame = frame.join(existing, on="code_qp", how="left").join(signed, on="siren_epci", how="left")
    if contrat is not None:
        known = store_values(cur, "contrat", "code_contrat")
        if contrat not in known.to_list():
            problems.append(
                problems_frame(
                    [problem(fichier, None, "code_contrat", contrat, "Contrat choisi inconnu", "Un contrat existant")]
                )
            )
        auto = pl.lit(contrat)
    else:
        auto = pl.coalesce(
            pl.col("_signed"),
            pl.when(pl.col("siren_epci").is_not_null()).then(pl.lit("CV-EPCI-") + pl.col("siren_epci")),
            pl.lit("CV-COM-") + pl.col("_com"),
        )
    frame = frame.with_columns(pl.coalesce(pl.col("_existing"), auto).alias("code_contrat"))
    store_contracts = store_values(cur, "contrat", "code_contrat")
    new_contracts = (
        frame.filter(~pl.col("code_contrat").is_in(store_contracts.implode()))
        .group_by("code_contrat")
        .agg(
            pl.col("siren_epci").first(),
            pl.col("lib_epci").first(),
            pl.col("_lib_com").first(),
            pl.col("insee_dep").min(),
            pl.col("insee_reg").first(),
        )
        .with_columns(outre_mer=pl.col("insee_dep").str.len_chars() == 3)
        .select(
            "code_contrat",
            pl.concat_str(pl.lit("Contrat de ville – "), pl.coalesce("lib_epci", "_lib_com")).alias("libelle"),
            pl.when(pl.col("code_contrat").str.starts_with("CV-COM-"))
            .then(pl.lit("commune"))
            .otherwise(pl.lit("EPCI"))
            .alias("type_signataire"),
            pl.when(pl.col("code_contrat").str.starts_with("CV-EPCI-"))
            .then(pl.col("siren_epci"))
            .alias("siren_signataire"),
            "insee_dep",
            "insee_reg",
            pl.when(pl.col("outre_mer")).then(pl.lit("outre-mer")).otherwise(pl.lit("hexagone")).alias("territoire"),
            pl.when(pl.col("outre_mer"))
            .then(pl.lit(date(2025, 1, 1)))
            .otherwise(pl.lit(date(2024, 1, 1)))
            .alias("date_debut"),
            pl.lit(date(2030, 12, 31)).alias("date_fin"),
        )
        .sort("code_contrat")
    )
    if new_contracts.height:
        created = fmt.plural(new_contracts.height, "contrat de ville créé", "contrats de ville créés")
        notes.append(
            f"{created} automatiquement pour accueillir les nouveaux "
            "quartiers (un par EPCI, ou par commune sans EPCI) ; complétez-les ensuite avec le modèle « contrats »."
        )
    quartier = frame.select(
        "code_qp",
        pl.col("lib_qp").alias("libelle"),
        "code_contrat",
        "insee_dep",
        pl.col("_com").alias("insee_com"),
        "lib_com",
        "communes",
        "siren_epci",
    )
    loads = []
    if new_contracts.height:
        loads.append(Load("contrat", new_contracts, ("code_contrat",), (), scope_col="code_contrat"))
    # scope "": the official list is national, so every QPV of the store missing from it is « absent »
    loads.append(
        Load(
            "quartier",
            quartier,
            ("code_qp",),
            ("libelle", "insee_dep", "insee_com", "lib_com", "communes", "siren_epci"),
            scope_col="",
        )
    )
    return loads, problems, notes
