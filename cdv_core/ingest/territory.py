"""Territory codes (QPV, commune, EPCI, unité urbaine, département, France) as the INSEE files and
the « valeurs d'indicateurs » template write them: canonical code, type, and their checks."""

from __future__ import annotations

import polars as pl

from cdv_core.ingest import clean
from cdv_core.ingest.model import rows_problem

FRANCE_CODES = ("FR", "FM", "FXDOM")  # France entière (« FRANCE » is stored as FR), métropole, hors Mayotte
_UU_PATTERN = r"^[0-9][0-9AB]\d{3}$"


def territory_code(code: pl.Expr, type_: pl.Expr | None = None) -> pl.Expr:
    """Canonical territory code, shared by the INSEE wide files and the « valeurs d'indicateurs »
    template: Excel's ="…" removed, upper case, no spaces, FRANCE → FR, and the leading zeros
    Excel strips restored (commune 5, département 2, unité urbaine 5; not an EPCI's SIREN, which
    always starts with 2). `type_`: the territory type when the file gives it (else a 4-digit
    code is taken for a commune)."""
    s = clean.unwrap(code).str.to_uppercase().str.replace_all(r"[\s\u00a0\u202f]", "")
    s = pl.when(s == "FRANCE").then(pl.lit("FR")).otherwise(s)
    if type_ is None:
        return pl.when(s.str.contains(r"^\d{4}$")).then(s.str.zfill(5)).otherwise(s)
    return (
        pl.when(type_.is_in(["commune", "unité urbaine"]) & s.str.contains(r"^\d{4}$"))
        .then(s.str.zfill(5))
        .when((type_ == "département") & s.str.contains(r"^\d$"))
        .then(s.str.zfill(2))
        .otherwise(s)
    )


def territory_type(code: pl.Expr) -> pl.Expr:
    return (
        pl.when(code.str.contains(clean.QPV_2024))
        .then(pl.lit("QPV"))
        .when(code.str.contains(clean.INSEE_COM_PATTERN))
        .then(pl.lit("commune"))
        .when(code.str.contains(r"^\d{9}$"))
        .then(pl.lit("EPCI"))
        .when(code.str.contains(clean.INSEE_DEP_PATTERN))
        .then(pl.lit("département"))
        .when(code.str.to_uppercase().is_in(["FR", "FRANCE", "FM", "FXDOM"]))
        .then(pl.lit("France"))
    )


QPV_2015_MESSAGE = (
    "Code QPV 2015 (ancienne géographie prioritaire)",
    "Le code QPV 2024 correspondant (QN…), voir la liste officielle de l'ANCT",
)


def territory_checks(code: pl.Expr, type_: pl.Expr) -> list[tuple[pl.Expr, str, str]]:
    """(condition, message, expected) of a canonical territory code of a known type (the same
    rules as the templates' code columns, see `clean.typed_column`)."""
    return [
        ((type_ == "QPV") & code.str.contains(clean.QPV_2015), *QPV_2015_MESSAGE),
        (
            (type_ == "QPV") & ~code.str.contains(clean.QPV_2024) & ~code.str.contains(clean.QPV_2015),
            "Code QPV mal formé",
            "QN + département (3 caractères) + 2 chiffres + N/M/I/C, ex. QN07511M",
        ),
        (
            (type_ == "commune") & code.str.contains(r"^20\d{3}$"),
            "Code commune corse en 20…",
            "2A… (Corse-du-Sud) ou 2B… (Haute-Corse)",
        ),
        (
            (type_ == "commune") & ~code.str.contains(clean.INSEE_COM_PATTERN) & ~code.str.contains(r"^20\d{3}$"),
            "Code commune INSEE mal formé",
            "5 caractères, ex. 01053, 2A004, 97411",
        ),
        ((type_ == "EPCI") & ~code.str.contains(r"^\d{9}$"), "SIREN d'EPCI mal formé", "9 chiffres, ex. 200054781"),
        (
            (type_ == "EPCI") & code.str.contains(r"^\d{9}$") & ~clean.luhn_ok(code, 9),
            "SIREN d'EPCI invalide (clé de contrôle)",
            "Le SIREN de l'EPCI, ex. 200054781",
        ),
        (
            (type_ == "département") & ~code.str.contains(clean.INSEE_DEP_PATTERN),
            "Code département inconnu",
            "01 à 95, 2A, 2B, 971 à 978, 986 à 988",
        ),
        (
            (type_ == "unité urbaine") & ~code.str.contains(_UU_PATTERN),
            "Code d'unité urbaine mal formé",
            "5 caractères, ex. 00851",
        ),
        (
            (type_ == "France") & ~code.is_in(list(FRANCE_CODES)),
            "Code France non reconnu",
            "FR (France entière), FM (métropole) ou FXDOM",
        ),
    ]


def territory_problems(
    frame: pl.DataFrame, fichier: str, colonne: str, raw: str, code: str, type_: str
) -> list[pl.DataFrame]:
    """Problems of the territory codes of `frame` (columns LINE, raw cell, canonical code, type);
    evaluated once per distinct (code, type)."""
    checks = territory_checks(pl.col(code), pl.col(type_))
    distinct = (
        frame.select(code, type_)
        .unique()
        .drop_nulls()
        .with_columns(cond.fill_null(False).alias(f"__t{i}") for i, (cond, *_) in enumerate(checks))
    )
    out = []
    for i, (_, msg, expected) in enumerate(checks):
        bad = distinct.filter(pl.col(f"__t{i}"))
        if bad.height:
            rows = frame.join(bad.select(code, type_), on=[code, type_], how="semi")
            out.append(rows_problem(rows, fichier, colonne, pl.col(raw), msg, expected))
    return out
