"""One figure card type for every screen (`cdv_core.figures.cards.Card`), drawn by one helper
(`cdv_core.ui.widgets.card_row`), with the delta's colour and arrow typed as `kpi` takes them."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

from cdv_core.figures import cards
from cdv_core.ui import widgets

ROOT = Path(__file__).resolve().parents[2]


def test_card_is_defined_once_and_drawn_by_one_helper():
    classes = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "cdv_core").rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Card"
    ]
    assert classes == ["cdv_core/figures/cards.py"]
    sources = [*(ROOT / "cdv_core").rglob("*.py"), *(ROOT / "pages").glob("*.py")]
    helpers = [
        p.relative_to(ROOT).as_posix()
        for p in sources
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name in ("card_row", "cards")
    ]
    assert helpers == ["cdv_core/ui/widgets.py"]


def test_card_options_are_kpi_keywords_with_the_same_types():
    card = cards.Card("Actions", "12", delta="note", delta_color="off", delta_arrow="off")
    kpi = inspect.signature(widgets.kpi)
    assert list(card.options()) == [p for p in kpi.parameters if p not in ("label", "value")]
    hints = typing.get_type_hints(widgets.kpi)
    assert hints["delta_color"] == cards.DeltaColor and hints["delta_arrow"] == cards.DeltaArrow
    assert widgets.DeltaColor is cards.DeltaColor and widgets.DeltaArrow is cards.DeltaArrow


def test_no_forwarding_alias_for_french_charts():
    import cdv_core.ui as ui

    assert not hasattr(ui, "altair_fr") and not hasattr(widgets, "altair_fr")
