"""Validated writes made from the app's forms (one module per screen), each in one transaction."""

from __future__ import annotations

from cdv_core.domain import texte


def typed_text(label: str, text: str | None, *, problems: list[str], warnings: list[str] | None) -> str | None:
    """A text typed in a form, as it may be stored (`texte.check_free_text`): a spreadsheet
    formula is a French problem added to `problems` (the write then stores nothing); control
    characters are removed, with a French warning added to `warnings` (once: a write rerun after
    a conflict cleans its texts again). Every write function that stores typed text takes that
    `warnings` list as a keyword; `ui.write` shows it after the write."""
    cleaned, errors, notes = texte.check_free_text(label, text)
    problems.extend(errors)
    if warnings is not None:
        warnings.extend(n for n in notes if n not in warnings)
    return cleaned
