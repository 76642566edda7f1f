"""Identifiers of the structures: SIREN, SIRET, RNA — pure validators.

- SIREN: 9 digits, Luhn checksum.
- SIRET: 14 digits (SIREN + NIC), Luhn checksum on the 14 digits. Exception: La Poste (SIREN
  356000000) numbers its establishments so that the sum of the 14 digits is a multiple of 5;
  those SIRET are valid even when the Luhn checksum fails.
- RNA (répertoire national des associations): `W` + digit + digit-or-letter + 7 digits.

`siret_valid_expr` is the same SIRET rule as a Polars expression, for whole columns (the two are
tested against each other); `luhn_check_digit` completes many numbers at once (demo and sample
generators).
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

LA_POSTE_SIREN = "356000000"
_RNA = re.compile(r"W\d[A-Z\d]\d{7}")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits (the rightmost digit is the check digit)."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(digits: np.ndarray) -> np.ndarray:
    """The digit that completes each row of an (n, k) array of digits into a Luhn-valid number
    (vectorised `luhn_valid`, read backwards)."""
    k = digits.shape[1]
    # Positions counted from the right of the completed number (check digit at position 0).
    doubled = ((k - np.arange(k)) % 2) == 1
    d = digits.copy()
    d[:, doubled] *= 2
    d[d > 9] -= 9
    return (10 - d.sum(axis=1) % 10) % 10


def siren_valid(value: str | None) -> bool:
    """9 digits and a valid Luhn checksum."""
    return value is not None and len(value) == 9 and luhn_valid(value)


def siret_valid(value: str | None) -> bool:
    """14 digits and a valid Luhn checksum, or a La Poste SIRET whose digit sum is a multiple of 5."""
    if value is None or len(value) != 14 or not value.isascii() or not value.isdigit():
        return False
    if luhn_valid(value):
        return True
    return value.startswith(LA_POSTE_SIREN) and sum(int(c) for c in value) % 5 == 0


def rna_valid(value: str | None) -> bool:
    """`W` + digit + digit or capital letter + 7 digits, e.g. `W751234567`."""
    return value is not None and _RNA.fullmatch(value) is not None


def siret_valid_expr(column: str | pl.Expr) -> pl.Expr:
    """`siret_valid` as a Polars expression named `siret_valide`: True/False per row, null where
    the SIRET is null."""
    col = pl.col(column) if isinstance(column, str) else column
    digits = [col.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(14)]
    # From the right: the check digit (index 13) is kept, index 12 doubled, and so on.
    terms = []
    for i, d in enumerate(digits):
        if (13 - i) % 2 == 1:
            terms.append(pl.when(d * 2 > 9).then(d * 2 - 9).otherwise(d * 2))
        else:
            terms.append(d)
    luhn = pl.sum_horizontal(terms) % 10 == 0
    digit_sum = pl.sum_horizontal(digits)
    well_formed = col.str.contains(r"^\d{14}$")
    la_poste = col.str.starts_with(LA_POSTE_SIREN) & (digit_sum % 5 == 0)
    return (
        pl.when(col.is_null())
        .then(None)
        .when(~well_formed)
        .then(False)
        .otherwise(luhn | la_poste)
        .alias("siret_valide")
    )
