"""French numbers in text cells: the one reader `parse_number` (`number_text`), how each column
type reads a thousands grouping (`12.500`, `12,500`, `1,234.56`: `number_column` and its checks),
the cheap first try at plainly written cells (`fast_number`), a number shown back as typed
(`number_as_typed`).

Every function here returns expressions; nothing loops over data rows in Python.
"""

from __future__ import annotations

import sys

import polars as pl

from cdv_core.domain import model
from cdv_core.ingest.model import ERROR, WARNING
from cdv_core.ingest.spec_types import Col

Check = tuple[pl.Expr, str, str, str]  # condition (True = problem), message, expected, severity


# Numbers with thousands groupings. A French file writes `12 500,50`; Excel and other tools also
# write `12.500` (dot as thousands separator), `1.234.567`, or the English `12,500.00` /
# `1,234,567`. Each shape is read one way only, with a warning saying how, or refused as
# ambiguous: never a value silently off by a factor of 1 000. The patterns apply to the raw cell
# (spaces, `€`, `%`, `eur` around the number allowed) so that the checks, which run on every
# cell, are a few cheap regexes; the value uses the same patterns.
_AROUND = r"[\s\u00a0\u202f]*"
_UNIT = r"(?:€|%|(?i:eur|euros))?"
_LEAD = r"^" + _AROUND + r"[+-]?[1-9]\d{0,2}"
_TAIL = _AROUND + _UNIT + _AROUND + r"$"
DOT_GROUPS_ONE = _LEAD + r"\.\d{3}" + _TAIL  # 12.500: 12 500 or 12,5?
DOT_GROUPS_MANY = _LEAD + r"(?:\.\d{3}){2,}" + _TAIL  # 1.234.567
COMMA_GROUPS_ONE = _LEAD + r",\d{3}" + _TAIL  # 12,500: 12,5 or 12 500?
ENGLISH_NUMBER = _LEAD + r"(?:(?:,\d{3}){2,}|(?:,\d{3})+\.\d+)" + _TAIL  # 1,234,567 / 12,500.00
DOT_DECIMAL = r"^" + _AROUND + r"[+-]?\d+\.(?:\d{1,2}|\d{4,})" + _TAIL  # 45.2, 1234.5678: a decimal dot
COMMA_DECIMAL = r"^" + _AROUND + r"[+-]?\d+,\d+" + _TAIL  # 45,2: a decimal comma
NUMBER_TYPES = ("entier", "montant", "decimal", "taux", "valeur_secret")
THOUSANDS_TYPES = ("montant", "entier")  # `12.500` is 12 500 (no amount has tenths of cents)
MAX_AMOUNT = 999_999_999_999.99  # DECIMAL(14, 2) of the store
MAX_INTEGER = 2_147_483_647  # INTEGER of the store
_FLOAT_MAX = sys.float_info.max  # NaN compares above it, inf too: « finite » in one comparison
READ_AS_THOUSANDS = "Point lu comme séparateur de milliers"
READ_AS_ENGLISH = "Nombre écrit à l'anglaise (virgule des milliers, point décimal)"
AMBIGUOUS = "Nombre ambigu"
READING_WARNINGS = (READ_AS_THOUSANDS, READ_AS_ENGLISH)  # the report adds how the cell was read


def number_text(expr: pl.Expr) -> pl.Expr:
    """`1 234,56 €` / `1.234,56` / `12,5 %` / `1,234.56` → `1234.56` text ready to cast (literal
    replacements: this runs on every amount of a million-row file). With both `.` and `,` the
    last one is the decimal mark: `1.234,56` (French) drops its dots, `1,234.56` (English,
    commas in groups of 3 only) its commas; any other mix gives text that does not cast.
    `1.234.567` / `1,234,567` drop their groupings; `12.500` and `12,500` are left as decimals
    here (see `number_column` for how each column type reads them)."""
    s = expr
    for junk in (" ", "\u00a0", "\u202f", "€", "%", "\t"):
        s = s.str.replace_all(junk, "", literal=True)
    s = s.str.replace(r"(?i)eur(os)?$", "")
    has_dot, has_comma = s.str.contains(".", literal=True), s.str.contains(",", literal=True)
    english = s.str.contains(r"^[+-]?[1-9]\d{0,2}(?:(?:,\d{3}){2,}|(?:,\d{3})+\.\d+)$")
    s = (
        pl.when(english)
        .then(s.str.replace_all(",", "", literal=True))
        .when(has_dot & has_comma & s.str.contains(r"\.\d*$"))
        .then(pl.lit("?"))  # 1,23.4: not a number
        .when(has_dot & has_comma)
        .then(s.str.replace_all(".", "", literal=True))
        .when(s.str.contains(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3}){2,}$"))
        .then(s.str.replace_all(".", "", literal=True))
        .otherwise(s)
    )
    return s.str.replace(",", ".", literal=True)


def parse_number(expr: pl.Expr) -> pl.Expr:
    """The one reader of numbers written the French way (or the English way, see `number_text`):
    `22 555,73`, `22555,73 €`, `1.234,56`, `12,5 %` → Float64 (null when the text is no number).
    A column of our templates reads its cells through `clean.typed_column` (`number_column`), which
    also decides, by the column's type, what `12.500` and `12,500` mean; this is for a single value anywhere else."""
    return number_text(expr).cast(pl.Float64, strict=False)


def number_as_typed(expr: pl.Expr) -> pl.Expr:
    """A number shown as the user typed it in French, in a problem's « valeur »: `20,5`, `2040`
    (not `20.5`, `2040.0`, nor the grouped `2 040` of `fmt.number_expr`)."""
    return expr.cast(pl.String).str.replace(r"\.0$", "").str.replace(".", ",", literal=True)


def _thousands_value(raw: pl.Expr) -> pl.Expr:
    """`12.500` → 12500.0 (the digits of a DOT_GROUPS_ONE cell)."""
    return raw.str.replace_all(r"[^\d+-]", "").cast(pl.Float64, strict=False)


def has_groups(cells: pl.Series) -> bool:
    """Whether any cell has a digit, `.` or `,`, then 3 digits: the shape of every thousands
    grouping. When none has, `typed_column(..., groups=False)` skips those patterns (one cheap
    regex over the column instead of five)."""
    return bool(cells.str.contains(r"\d[.,]\d{3}").any())


def uses_dot_decimals(cells: pl.Series) -> bool:
    """Whether a column of measures plainly writes its decimals with a dot (`45.2`,
    `1234.5678`: a dot not followed by exactly 3 digits) and never with a comma: then `12.345`
    in it is 12,345, not an ambiguous 12 345."""
    return bool(cells.str.contains(DOT_DECIMAL).any()) and not bool(cells.str.contains(COMMA_DECIMAL).any())


def fast_number(col: Col, raw: pl.Expr, *, groups: bool = True) -> pl.Expr | None:
    """A cheap first try at a numeric cell's typed value, for the cells written plainly
    (`2024`, `12500,5`, `12500.5`). Whenever it gives a value, `typed_column`'s value is the same
    (such a cell has no space, currency, percent sign or thousands separator for `number_text`
    to remove, and it cannot be a secret marker; `12.500` / `12,500`, whose reading depends on
    the column type, are left to the full expression); the cells where it gives null are then
    typed by the full expression. None when the column type has no fast path."""
    if col.type == "entier":
        return raw.cast(pl.Int64, strict=False)
    if col.type in ("montant", "decimal", "taux", "valeur_secret"):
        cast = raw.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        if not groups:
            return cast
        grouped = raw.str.contains(r"^[+-]?[1-9]\d{0,2}[.,]\d{3}$")
        return pl.when(grouped).then(None).otherwise(cast)
    return None


def number_column(
    col: Col, raw: pl.Expr, v: pl.Expr, *, groups: bool = True, dot_decimals: bool = False
) -> tuple[pl.Expr, list[Check]]:
    """The typed value of a numeric column (a type of `NUMBER_TYPES`) and the checks that flag
    bad cells, its bounds included: `clean.typed_column` for these types. `v` is the typed value
    as the checks read it (computed once, see `cells.evaluate`); `groups` and `dot_decimals` as
    there (see `has_groups`, `uses_dot_decimals`)."""
    t = col.type
    present = raw.is_not_null()
    checks: list[Check] = []

    if t == "entier":
        dot_groups = raw.str.contains(DOT_GROUPS_ONE) if groups else pl.lit(False)
        ambiguous = raw.str.contains(COMMA_GROUPS_ONE) if groups else pl.lit(False)
        s = number_text(raw).str.replace(r"\.0+$", "")
        value = (
            pl.when(dot_groups)
            .then(_thousands_value(raw).cast(pl.Int64, strict=False))
            .when(ambiguous)
            .then(None)
            .otherwise(s.cast(pl.Int64, strict=False))
        )
        checks.append(
            (present & v.is_null() & ~ambiguous, "Nombre entier attendu", "Un nombre entier, ex. 2024", ERROR)
        )
        if groups:
            checks += _grouping_checks(t, raw, v, dot_groups, ambiguous)
        if col.max_value is None or col.max_value > MAX_INTEGER:
            checks.append(
                (
                    v.abs() > MAX_INTEGER,
                    "Nombre trop grand (au plus 2 147 483 647)",
                    "Un nombre entier plus petit",
                    ERROR,
                )
            )
    else:  # montant, decimal, taux, valeur_secret
        dot_groups = raw.str.contains(DOT_GROUPS_ONE) if groups else pl.lit(False)
        # `12.500` is 12 500 in an amount, but may be 12,5 in a measure; `12,500` the other way round.
        # In a measure column that plainly uses the dot as decimal mark (`dot_decimals`, see
        # `uses_dot_decimals`), `12.345` is 12,345: nothing is ambiguous there.
        ambiguous = (
            (raw.str.contains(COMMA_GROUPS_ONE) if groups else pl.lit(False))
            if t in THOUSANDS_TYPES
            else dot_groups & pl.lit(not dot_decimals)
        )
        s = number_text(raw)
        secret = raw.str.to_lowercase().is_in(list(model.SECRET_MARKERS)) if t == "valeur_secret" else pl.lit(False)
        number = s.cast(pl.Float64, strict=False)
        if t in THOUSANDS_TYPES:
            number = pl.when(dot_groups).then(_thousands_value(raw)).otherwise(number)
        value = pl.when(secret | ambiguous).then(None).otherwise(number)
        if t == "taux":
            value = pl.when(raw.str.contains("%")).then(value / 100).otherwise(value)
        expected = {
            "montant": "Un montant en euros, ex. 12 500,50",
            "decimal": "Un nombre, ex. 42,5",
            "taux": "Une part entre 0 et 1 ou un pourcentage, ex. 40 %",
            "valeur_secret": "Un nombre, ou nd / ns / s / so",
        }[t]
        # NaN / inf cast to a float but are no number the store can hold (NaN sorts above inf)
        checks.append(
            (
                present & ~(v.abs() <= _FLOAT_MAX).fill_null(False) & ~secret & ~ambiguous,
                "Valeur non numérique",
                expected,
                ERROR,
            )
        )
        if groups:
            checks += _grouping_checks(t, raw, v, dot_groups, ambiguous)
        if t == "montant":
            checks.append(
                (v.is_between(-_FLOAT_MAX, 0, closed="left"), "Montant négatif", "Un montant positif ou nul", ERROR)
            )
            checks.append(
                (
                    v.abs().is_between(MAX_AMOUNT + 0.005, _FLOAT_MAX),
                    "Montant trop grand (au plus 999 999 999 999,99)",
                    "Un montant en euros de moins de mille milliards",
                    ERROR,
                )
            )
    if col.min_value is not None and t in ("entier", "decimal", "taux"):
        if t == "entier" and col.min_value >= 1900:  # a year: `24` says « 2 digits », not « too small »
            short_year = v.is_between(0, 99)
            checks.append(
                (
                    short_year,
                    "Année sur 2 chiffres : écrivez l'année en entier",
                    "Une année sur 4 chiffres, ex. 2024",
                    ERROR,
                )
            )
            checks.append(
                (
                    (v < col.min_value) & ~short_year,
                    "Valeur trop petite",
                    f"Au moins {col.min_value:g}".replace(".", ","),
                    ERROR,
                )
            )
        else:
            checks.append(
                (v < col.min_value, "Valeur trop petite", f"Au moins {col.min_value:g}".replace(".", ","), ERROR)
            )
    if col.max_value is not None and t in ("entier", "decimal", "taux"):
        checks.append((v > col.max_value, "Valeur trop grande", f"Au plus {col.max_value:g}".replace(".", ","), ERROR))
    return value, checks


def _grouping_checks(t: str, raw: pl.Expr, v: pl.Expr, dot_groups: pl.Expr, ambiguous: pl.Expr) -> list[Check]:
    """Warnings for the numbers read with a thousands grouping, the error for the ambiguous ones."""
    many_dots = raw.str.contains(DOT_GROUPS_MANY)
    read_dots = (dot_groups | many_dots) if t in THOUSANDS_TYPES else many_dots
    example = "12.500 ou 12,500 : écrivez 12500 (douze mille cinq cents) ou 12,5 (douze et demi)"
    read = v.is_not_null()
    return [
        (
            read & read_dots,
            READ_AS_THOUSANDS,
            "Vérifiez la valeur lue ; écrivez les montants sans point, ex. 12500 ou 12 500,00",
            WARNING,
        ),
        (
            read & raw.str.contains(ENGLISH_NUMBER),
            READ_AS_ENGLISH,
            "Vérifiez la valeur lue ; en français : espace pour les milliers, virgule décimale, ex. 12 500,00",
            WARNING,
        ),
        (ambiguous, AMBIGUOUS + " : séparateur de milliers ou virgule décimale ?", example, ERROR),
    ]
