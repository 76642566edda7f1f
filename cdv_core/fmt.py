"""French formatting of numbers, amounts, percentages and dates (used by pages and exports)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

NBSP = "\u00a0"  # before € and %
THIN_NBSP = "\u202f"  # thousands separator (narrow no-break space)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, decimals: int = 0, *, missing: str = "—") -> str:
    """`1234567.891` → `1 234 567,89` (narrow no-break space, decimal comma)."""
    if _missing(value):
        return missing
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", THIN_NBSP).replace(".", ",")


def integer(value, *, missing: str = "—") -> str:
    return number(value, 0, missing=missing)


def euros(value, decimals: int = 0, *, missing: str = "—") -> str:
    """`1234567` → `1 234 567 €`."""
    if _missing(value):
        return missing
    return number(value, decimals) + NBSP + "€"


def euros_compact(value, *, missing: str = "—") -> str:
    """Large amounts for headline cards: `1,2 M€`, `350 k€`, `950 €`."""
    if _missing(value):
        return missing
    v = float(value)
    if abs(v) >= 1_000_000:
        return number(v / 1_000_000, 1) + NBSP + "M€"
    if abs(v) >= 10_000:
        return number(v / 1_000, 0) + NBSP + "k€"
    return euros(v)


def percent(share, decimals: int = 1, *, missing: str = "—") -> str:
    """A share in [0, 1]: `0.125` → `12,5 %`."""
    if _missing(share):
        return missing
    return number(float(share) * 100, decimals) + NBSP + "%"


def day(value: date | datetime | None, *, missing: str = "—") -> str:
    """`date(2024, 3, 31)` → `31/03/2024`."""
    if value is None:
        return missing
    return value.strftime("%d/%m/%Y")


def timestamp(value: datetime | None, *, missing: str = "—") -> str:
    if value is None:
        return missing
    return value.strftime("%d/%m/%Y à %H:%M")


MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
SHORT_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
DAYS = ("dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi")
SHORT_DAYS = ("dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam.")


def long_day(value: date | None, *, missing: str = "—") -> str:
    """`date(2027, 6, 30)` → `30 juin 2027`."""
    if value is None:
        return missing
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def month(value: date | None, *, missing: str = "—") -> str:
    """`date(2026, 3, 15)` → `mars 2026`."""
    if value is None:
        return missing
    return f"{MONTHS[value.month - 1]} {value.year}"


WORD_JOINER = "\u2060"  # invisible, zero width: breaks a sequence without showing anything
# The characters that start something in Streamlit's Markdown (CommonMark, GFM, its directives
# `:red[…]`, `:small[…]`, `:help[…]`{…} and LaTeX `$…$`): links and images `[…](…)` `![…]`,
# autolinks and HTML `<…>`, emphasis, code, strikethrough, headings, quotes, tables, entities
# `&…;`. A backslash makes each literal (CommonMark escapes any ASCII punctuation); the others
# (`'`, `"`, `,`, `;`, `?`, `/`, `%`, `@`, `.`, `^`) mean nothing there and stay as they are.
_MD_SPECIAL = re.compile(r"([\\`*_~\[\]()!<>#|{}$:&])")
# …and, at the start of a line only: list items `- `, `+ `, `1. `, setext underlines `===`.
_LINE_START = re.compile(r"^([-+=])|^(\d+)\.")
# What Streamlit's Markdown rewrites in the text *after* parsing, where an escape no longer
# counts: bare addresses `https://…`, `www.…` (made links by GFM), shortcodes
# `:material_icon:` (it reads `:material/…:` as `:material_…:`), `:streamlit:` (a logo), emoji
# `:smile:`, arrows and dashes `->`, `<=`, `>=`, `~=`, `--`. A word joiner inside each of these
# sequences keeps them as typed. An e-mail address `nom@domaine.fr` is left whole: GFM makes it a
# `mailto:` link to itself (its target is its own text), and it stays copyable as typed.
_REWRITTEN = re.compile(
    r"(?<=:)(?=[0-9A-Za-z_+/-])|(?<=[wW]{3})(?=\.)"
    r"|(?<=[<>~-])(?=[>=-])"
)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # domain/texte.py's CONTROL, tab and CR handled above


def md(text, *, missing: str = "—") -> str:
    """A value from the data (store, URL, file name, account) for a Streamlit call that renders
    Markdown (st.markdown, caption, write, info/warning/error/success, toast, title/header,
    widget, tab, expander and radio option labels, a metric's label, value, delta and help —
    not selectbox/multiselect options nor table cells, which are plain text): shown exactly as
    stored, never as a link, image, colour, icon, emoji, formula or list. Line breaks stay line
    breaks; spaces at the ends of a line are dropped (a browser does not show them either);
    control characters (ESC, BEL, NUL…), which no screen shows, are left out."""
    if text is None:
        return missing
    lines = _CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")).split("\n")
    return "  \n".join(_escape_line(line.strip()) for line in lines)


def _escape_line(line: str) -> str:
    line = _MD_SPECIAL.sub(r"\\\1", _REWRITTEN.sub(WORD_JOINER, line))
    return _LINE_START.sub(lambda m: "\\" + m[1] if m[1] else m[2] + "\\.", line)


_CONTRACT_PREFIX = re.compile(r"^contrat de ville\s+(?:de la |de l['’]|d['’]|du |des |de )?", re.IGNORECASE)


def short_contract(name: str) -> str:
    """A contract's name without the « Contrat de ville de » every name starts with, for a select
    box that must fit a 1280 px screen: « Contrat de ville de la CA du Pays de Vermandie » →
    « CA du Pays de Vermandie »; a name that does not start so is kept whole."""
    short = _CONTRACT_PREFIX.sub("", name, count=1)
    return short[:1].upper() + short[1:] if short else name


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """`plural(2, "action")` → `2 actions` (French: 0 and 1 take the singular)."""
    word = singular if abs(n) < 2 else (plural_form or singular + "s")
    return f"{integer(n)} {word}"


def capped_note(shown: int, total: int) -> str:
    """Caption under a table cut to its first rows: `500 premières lignes sur 4 812 : téléchargez
    le fichier pour tout voir.`"""
    return f"{integer(shown)} premières lignes sur {integer(total)} : téléchargez le fichier pour tout voir."


# --- vectorised (Polars) versions, for formatting whole table columns without Python loops ---


def number_expr(expr, decimals: int = 0, *, signed: bool = False, missing: str | None = None):
    """Polars expression: a numeric column formatted like `number()`; `signed` writes `+` before
    positive values; a null becomes `missing` (null when None)."""
    import polars as pl

    value = expr.cast(pl.Float64)
    rounded = value.round(decimals)
    sign = (
        pl.when(rounded < 0)
        .then(pl.lit("-"))
        .when(pl.lit(signed) & (rounded > 0))
        .then(pl.lit("+"))
        .otherwise(pl.lit(""))
    )
    total = (value.abs() * 10**decimals).round(0).cast(pl.Int64)  # integer count of the last unit
    whole = (total // 10**decimals).cast(pl.String)
    grouped = (
        whole.str.reverse()
        .str.replace_all(r"(\d{3})", "${1}" + THIN_NBSP)
        .str.reverse()
        .str.strip_chars_start(THIN_NBSP)
    )
    text = sign + grouped
    if decimals > 0:
        text = text + pl.lit(",") + (total % 10**decimals).cast(pl.String).str.zfill(decimals)
    return _or_missing(expr, text, missing)


def _or_missing(expr, text, missing: str | None):
    import polars as pl

    return text if missing is None else pl.when(expr.is_null()).then(pl.lit(missing)).otherwise(text)


def euros_expr(expr, decimals: int = 0, *, missing: str | None = None):
    return _or_missing(expr, number_expr(expr, decimals) + NBSP + "€", missing)


def percent_expr(share_expr, decimals: int = 1, *, missing: str | None = None):
    return _or_missing(share_expr, number_expr(share_expr * 100, decimals) + NBSP + "%", missing)


def day_expr(expr, *, missing: str | None = None):
    """Polars expression: a date column as `JJ/MM/AAAA`."""
    return _or_missing(expr, expr.dt.strftime("%d/%m/%Y"), missing)


def month_expr(expr, *, missing: str | None = None):
    """Polars expression: a date column as `mars 2026`."""
    import polars as pl

    name = expr.dt.month().replace_strict(dict(enumerate(MONTHS, start=1)), return_dtype=pl.String)
    return _or_missing(expr, name + pl.lit(" ") + expr.dt.year().cast(pl.String), missing)


def plural_expr(n_expr, singular: str, plural_form: str | None = None):
    """Polars expression like `plural()`: `1 objectif`, `1 234 objectifs` (0 and 1 take the singular)."""
    import polars as pl

    word = pl.when(n_expr.abs() < 2).then(pl.lit(singular)).otherwise(pl.lit(plural_form or singular + "s"))
    return number_expr(n_expr) + pl.lit(" ") + word
