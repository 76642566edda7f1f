"""The figure card of every screen: a label, a value and what `cdv_core.ui.widgets.kpi` draws
around it (help, delta). Pure data: the figures modules build cards, `ui.widgets.card_row` draws
them. The delta's colour and arrow are what `st.metric` accepts (`DeltaColor`, `DeltaArrow`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias, TypedDict

# What `st.metric` accepts for a card's delta: its colour, its arrow.
DeltaColor: TypeAlias = Literal[
    "normal", "inverse", "off", "red", "orange", "yellow", "green", "blue", "violet", "gray", "grey", "primary"
]
DeltaArrow: TypeAlias = Literal["auto", "up", "down", "off"]


class KpiOptions(TypedDict):
    """The keyword arguments of `ui.widgets.kpi` after its label and value."""

    help: str | None
    delta: str | None
    delta_color: DeltaColor
    delta_arrow: DeltaArrow


@dataclass(frozen=True)
class Card:
    """A figure card as the committee reads it: `kpi(card.label, card.value, **card.options())`,
    then `caption` under it when given. A `delta` that is a note rather than a change has colour
    and arrow « off »."""

    label: str
    value: str
    help: str | None = None
    delta: str | None = None
    delta_color: DeltaColor = "normal"
    delta_arrow: DeltaArrow = "auto"
    caption: str | None = None

    def options(self) -> KpiOptions:
        return {
            "help": self.help,
            "delta": self.delta,
            "delta_color": self.delta_color,
            "delta_arrow": self.delta_arrow,
        }
