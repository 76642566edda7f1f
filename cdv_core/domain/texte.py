"""What text may enter the store: no spreadsheet formula, no control character.

One rule for every path in (imports, forms, the command line) and the matching rule out
(`tables.neutralise_formulas`):
- a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula
  by a spreadsheet (CSV/formula injection: `=HYPERLINK(…)`, `+cmd|' /C calc'!A0`, `-1+1`),
  unless it is a plain signed number (`-12,5`, `+3`): refused, with a French reason;
- control characters (NUL, BEL, ESC, … DEL and the C1 range) are invisible, break terminals,
  PDF fonts and Office files: removed, with a warning. Line feeds are kept in free text; a tab
  inside a text becomes a space. A C1 character that is a Windows-1252 letter or sign read as
  Latin-1 somewhere upstream (U+009C for « œ »: « Vand<U+009C>uvre-lès-Nancy » in the official
  QPV list) is put back as that character rather than removed, which would misspell the name.
"""

from __future__ import annotations

import re
from typing import overload

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# a plain signed number, French or English decimals, optional grouping spaces and a unit sign
PLAIN_NUMBER = r"^[+-]\s*\d[\d\s\u00a0\u202f]*([.,]\d+)?\s*(%|€)?$"

# C0 controls except line feed (tab and CR handled apart), DEL, C1 controls
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_CONTROL_RE = re.compile(CONTROL)
# C1 code points that Windows-1252 uses for printable characters (all but 81, 8D, 8F, 90, 9D):
# such a character in a text is a Windows-1252 byte decoded as Latin-1 (U+009C → « œ »)
CP1252_C1 = {chr(b): bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_CP1252_C1_RE = re.compile("[" + "".join(CP1252_C1) + "]")
_PLAIN_NUMBER_RE = re.compile(PLAIN_NUMBER)
# « - » or « -- » alone (an empty cell's placeholder) runs nothing
ONLY_MARKS = r"^[-+=@\s]*$"
_ONLY_MARKS_RE = re.compile(ONLY_MARKS)

FORMULA_PROBLEM = "Texte qui serait exécuté comme une formule de tableur"
FORMULA_FIX = (
    "Retirez le premier caractère (« = », « + », « - », « @ », tabulation) ou commencez le texte par une lettre"
)
CONTROL_PROBLEM = "Caractère de contrôle invisible retiré"


def is_formula(text: str | None) -> bool:
    """Whether a spreadsheet would run `text` as a formula (a plain signed number is not)."""
    if not text or not text.startswith(FORMULA_START):
        return False
    return not (_PLAIN_NUMBER_RE.match(text) or _ONLY_MARKS_RE.match(text))


def formula_expr(expr: pl.Expr) -> pl.Expr:
    """`is_formula` over a String column (null stays false)."""
    return (
        expr.str.slice(0, 1).is_in(list(FORMULA_START))
        & ~expr.str.contains(PLAIN_NUMBER)
        & ~expr.str.contains(ONLY_MARKS)
    ).fill_null(False)


def has_control(text: str | None) -> bool:
    return bool(text and _CONTROL_RE.search(text))


@overload
def strip_control(text: str) -> str: ...
@overload
def strip_control(text: None) -> None: ...


def strip_control(text: str | None) -> str | None:
    """`text` without control characters (tabs become spaces, CR LF and CR become LF, a C1
    character of Windows-1252 becomes that character: see `CP1252_C1`)."""
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CP1252_C1_RE.sub(lambda m: CP1252_C1[m.group()], text)
    return _CONTROL_RE.sub("", text)


def control_expr(expr: pl.Expr) -> pl.Expr:
    """Whether each value holds a control character (tab and CR count: they are replaced)."""
    return expr.str.contains(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]").fill_null(False)


def strip_control_expr(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.replace_all("\r\n", "\n", literal=True)
        .str.replace_all("\r", "\n", literal=True)
        .str.replace_all("\t", " ", literal=True)
        .str.replace_many(list(CP1252_C1), list(CP1252_C1.values()))
        .str.replace_all(CONTROL, "")
    )


def check_free_text(label: str, text: str | None) -> tuple[str | None, list[str], list[str]]:
    """A text typed in a form: (the text to store, errors, warnings), all French.
    Control characters are removed with a warning; a formula is an error."""
    if text is None:
        return None, [], []
    warnings = []
    if has_control(text) or "\t" in text or "\r" in text:
        cleaned = strip_control(text)
        if has_control(text):
            warnings.append(f"{label} : {CONTROL_PROBLEM.lower()}.")
        text = cleaned
    errors = []
    if is_formula(text.lstrip(" ")) or is_formula(text):
        errors.append(f"{label} : {FORMULA_PROBLEM.lower()} (« {text[:40]} »). {FORMULA_FIX}.")
    return text, errors, warnings
