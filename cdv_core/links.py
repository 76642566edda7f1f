"""The parameters of a shared link (`?contrat=…&au=…&qpv=…&fin_annee=…`): each read value is
checked here, and a bad one is ignored with a French message that names the parameter, shows the
value and says what is expected and what is shown instead. The pages only show the message (a
toast) and use the value returned (the default when the link's is bad).

Each check returns `(value to use, message or None)`. The messages quote the link's value as
text (`shown`): the link is typed by anyone, and a toast renders Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from cdv_core import fmt
from cdv_core.domain import texte

ALL_CONTRACTS = "tous"  # `?contrat=tous`: every contract of the session's périmètre
MAX_SHOWN = 40  # characters of a bad value quoted in a message
MAX_LISTED = 6  # expected values listed in a message, then « … »
# The latest « données au »: the contracts of this generation end on 31/12/2030 at the latest.
CONTRACTS_END = date(2030, 12, 31)


def shown(value: str) -> str:
    """A value from the link as a message quotes it: without control characters, cut to
    `MAX_SHOWN` characters, as text (never read as Markdown: no link, no image, no emphasis)."""
    text = texte.strip_control(value).replace("\n", " ")
    text = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"
    return fmt.md(text)


def _listed(values: Sequence[str]) -> str:
    listed = ", ".join(shown(v) for v in values[:MAX_LISTED])
    return listed + (", …" if len(values) > MAX_LISTED else "")


def contract(value: str | None, codes: Sequence[str], *, everything: str) -> tuple[str | None, str | None]:
    """`?contrat=`: one of `codes` (the session's contracts), or « tous » / absent for all
    (None). `everything`: how « all contracts » is said to this user (« tous vos contrats »).

    The messages end with what is shown instead: « affichage » then `everything`, `default`…"""
    if not value or value == ALL_CONTRACTS:
        return None, None
    if value in codes:
        return value, None
    return None, (
        f"Paramètre « contrat » invalide ({shown(value)}) : un code de contrat de votre périmètre, "
        f"ou « {ALL_CONTRACTS} », est attendu ; affichage de {everything}."
    )


def donnees_au_bounds(
    starts: Iterable[date | None], ends: Iterable[date | None], donnees_au: date
) -> tuple[date, date]:
    """The dates « données au » may take: from 1 January of the year before the first contract
    starts (its first milestones are prepared then) to the last contract's end (31/12/2030 at
    most); the store's own date always lies within."""
    known_starts = [d for d in starts if d is not None]
    known_ends = [d for d in ends if d is not None]
    first = date((min(known_starts) if known_starts else donnees_au).year - 1, 1, 1)
    last = min(max(known_ends), CONTRACTS_END) if known_ends else CONTRACTS_END
    return min(first, donnees_au), max(last, donnees_au)


def day(name: str, value: str | None, *, first: date, last: date, default: date) -> tuple[date, str | None]:
    """A date parameter (`?au=2026-06-30`, ISO format) between `first` and `last`; else `default`."""
    if not value:
        return default, None
    try:
        found = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        found = None
    if found is not None and first <= found <= last:
        return found, None
    return default, (
        f"Paramètre « {name} » invalide ({shown(value)}) : une date entre le {fmt.day(first)} et le "
        f"{fmt.day(last)} est attendue, écrite AAAA-MM-JJ ; affichage au {fmt.day(default)}."
    )


def choice(
    name: str, value: str | None, allowed: Sequence[str], *, default: str, instead: str
) -> tuple[str, str | None]:
    """A parameter with one value among `allowed` (absent: `default`, without a message);
    `instead` says what is shown then (« de l'exercice 2026 »)."""
    if value is None or value in allowed:
        return (default if value is None else value), None
    return default, (
        f"Paramètre « {name} » invalide ({shown(value)}) : une valeur parmi {_listed(list(allowed))} "
        f"est attendue ; affichage {instead}."
    )


def choices(name: str, values: Sequence[str], allowed: Sequence[str]) -> tuple[list[str], str | None]:
    """A parameter that may be repeated (`?fin_fin=CAF&fin_fin=État`): the values among
    `allowed`, and a message naming the others."""
    kept = [v for v in values if v in allowed]
    bad = [v for v in values if v not in allowed]
    if not bad:
        return kept, None
    which = ", ".join(shown(v) for v in bad[:3]) + (", …" if len(bad) > 3 else "")
    return kept, (
        f"Paramètre « {name} » : {'valeur ignorée' if len(bad) == 1 else 'valeurs ignorées'} ({which}) ; "
        f"valeurs possibles : {_listed(list(allowed)) or 'aucune pour cette sélection'}."
    )


def known(
    name: str, value: str | None, allowed: Iterable[str], *, expected: str, instead: str
) -> tuple[str | None, str | None]:
    """A parameter naming one item of a long list (a QPV, an action): `expected` says what it
    should be (« un code de QPV de la sélection »), `instead` what is shown (« du premier
    quartier de la liste »). None when absent or unknown."""
    if value is None:
        return None, None
    if value in set(allowed):
        return value, None
    return None, f"Paramètre « {name} » invalide ({shown(value)}) : {expected} est attendu ; affichage {instead}."
