"""KPI cards (a figures `Card` drawn) and the app's own CSS. Charts get their French formats from
`cdv_core.charts.french`, in the figures modules."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import polars as pl
import streamlit as st

# Streamlit's own conversion, the one `st.altair_chart` runs (the spec, its datasets as Arrow);
# tests/core/test_memo.py checks that `chart` sends what `st.altair_chart` sends.
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

from cdv_core import memo
from cdv_core.figures.cards import Card, DeltaArrow, DeltaColor

__all__ = ["DeltaArrow", "DeltaColor", "card", "card_row", "chart", "kpi", "table"]


def chart(c, **kwargs):
    """A figures chart drawn as `st.altair_chart` draws it, with two savings:

    - no Altair JSON-schema validation of the whole spec, which Streamlit's conversion runs at
      every run (≈ 12 % of a warm rerun's CPU, docs/performance.md): the charts are built by fixed
      code in `cdv_core.figures`, and their tests validate each one (`to_dict()` in
      tests/queries/test_figures_*.py);
    - the conversion to a Vega-Lite spec (its data as Arrow) is kept on the chart: a chart that
      `cdv_core.memo.by_content` kept from an earlier run is not converted again."""
    spec = c.__dict__.get(_SPEC)
    if spec is None:
        object.__setattr__(c, "to_dict", functools.partial(type(c).to_dict, c, validate=False))
        spec = _convert_altair_to_vega_lite_spec(c)
        object.__setattr__(c, _SPEC, spec)
    # Streamlit copies the spec's top level before taking its datasets out: the kept one stays whole
    return st.vega_lite_chart(spec=spec, **kwargs)


_SPEC = "_cdv_vega_lite_spec"


def table(data, *, rows: int | None = None, dash_empty: bool = False, **kwargs):
    """`st.dataframe` of a display table, a Polars frame handed over as Arrow. Given the frame
    itself, Streamlit converts it to pandas and then to Arrow at every run: ≈ 10 % of a warm
    rerun's CPU (docs/performance.md). Strings go as plain Arrow strings, which every browser's
    Arrow reader knows. `rows`: only the first rows shown; `dash_empty`: empty text cells shown as
    « — » rather than « None ». Both are applied here, to the frame as given, so that a kept frame
    is converted once (see `_arrow`)."""
    if isinstance(data, pl.DataFrame):
        data = _arrow(data, rows, dash_empty)
    return st.dataframe(data, **kwargs)


@memo.by_content
def _arrow(frame: pl.DataFrame, rows: int | None, dash_empty: bool):
    """`frame` as Arrow, converted once per content like the figures: a frame kept by `memo` or
    returned by a read is known by its tag without hashing its rows, so a page's display tables
    are converted once for every session (the conversion was ≈ 9 % of a warm rerun's CPU). Arrow
    tables do not change: the one kept is shared."""
    if rows is not None:
        frame = frame.head(rows)
    if dash_empty:
        frame = frame.with_columns(pl.col(pl.String).fill_null("—"))
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def kpi(
    label: str,
    value: str,
    *,
    help: str | None = None,
    delta: str | None = None,
    delta_color: DeltaColor = "normal",
    delta_arrow: DeltaArrow = "auto",
) -> None:
    """A bordered figure card. A `delta` that is a note rather than a change should pass
    `delta_color="off", delta_arrow="off"`."""
    st.metric(label, value, delta=delta, help=help, border=True, delta_color=delta_color, delta_arrow=delta_arrow)


def card(c: Card) -> None:
    """One figure card, and its caption under it when it has one."""
    kpi(c.label, c.value, **c.options())
    if c.caption:
        st.caption(c.caption)


def card_row(cards: Sequence[Card], *, key: str | None = None) -> None:
    """Figure cards side by side, one column each; in a container with this `key` when given."""
    if key:
        with st.container(key=key):
            card_row(cards)
        return
    for col, c in zip(st.columns(len(cards)), cards, strict=True):
        with col:
            card(c)


# Figure cards on a 1280 px projector: labels wrap instead of ending in « … », and values shrink
# with the window instead of being cut; a value wraps only at an ordinary space (« 7 / 8 critères »),
# never inside a number, whose thousands are no-break spaces. Narrower side margins than Streamlit's
# (5rem around the page, 1.25rem in the sidebar): at 1280 px the page gains 80 px and the sidebar's
# select boxes 24 px, so that select values, toggles and tabs are not cut. Fixed CSS only: no user text.
_BASE_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-left: 2.5rem; padding-right: 2.5rem; }
[data-testid="stSidebarContent"] { padding-left: 0.5rem; padding-right: 0.5rem; }
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; overflow-wrap: normal; }
[data-testid="stMetricValue"] { font-size: clamp(1.25rem, 1.55vw + 0.35rem, 2.25rem); line-height: 1.15; }
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; }
</style>
"""


def base_style() -> None:
    """The app's own CSS for every page (see `_BASE_CSS`); called by `page_header`."""
    st.html(_BASE_CSS)


# Live séance on a projector (1280×720, sidebar shown or not). Each card is a size container;
# a section's cards sit in a container keyed `seance_fit_<n>` (n: the em width of its widest value,
# see `cdv_core.seance.fit_ems`), and its values take the largest size up to 3.2rem at which n em
# fit the card's inner width (card padding 2 × 15 px), never below 1.5rem. Labels wrap.
_PRESENTATION_CSS = (
    """
<style>
.st-key-seance_section [data-testid="stMetric"] { container-type: inline-size; }
.st-key-seance_section [data-testid="stMetricValue"] { font-size: clamp(1.5rem, calc((100cqi - 2.2rem) / 6), 3.2rem);
  line-height: 1.15; }
.st-key-seance_section [data-testid="stMetricLabel"] p { font-size: 1.15rem; line-height: 1.3; }
.st-key-seance_section [data-testid="stMetricLabel"], .st-key-seance_section [data-testid="stMetricLabel"] *,
.st-key-seance_section [data-testid="stMetricValue"] * { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; }
.st-key-seance_section [data-testid="stMetricDelta"] { font-size: 1rem; }
.st-key-seance_section h2 { font-size: clamp(1.8rem, 2.6vw, 2.6rem); }
[data-testid="stLayoutWrapper"]:has(> .st-key-seance_bar) { position: sticky; top: 0; z-index: 999991; }
.st-key-seance_bar { background: #ffffff; padding: 0.35rem 0 0.75rem; border-bottom: 1px solid #d5dbe3; gap: 0; }
.st-key-seance_bar [data-testid="stCaptionContainer"] p { margin: 0; }
h1#seance-et-exports, [data-testid="stHeading"]:has(h1) h1 { font-size: 1.9rem; padding: 0.2rem 0; }
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; }
"""
    + "".join(
        f'.st-key-seance_fit_{n} [data-testid="stMetricValue"] '
        f"{{ font-size: clamp(1.5rem, calc((100cqi - 2.2rem) / {n}), 3.2rem); }}\n"
        for n in range(1, 25)
    )
    + """%s
</style>
"""
)
_HIDE_SIDEBAR = '[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none; }'


def presentation_style(*, hide_sidebar: bool) -> None:
    """Large figures for a projector, a compact title and the séance bar kept in view; optionally
    hide the sidebar. Fixed CSS only: no user text."""
    st.html(_PRESENTATION_CSS % (_HIDE_SIDEBAR if hide_sidebar else ""))


# After « Précédent / Suivant », the new section starts at the top of the view, right under the
# séance bar: scrolled there only when its start is hidden (the presenter had scrolled down to the
# decisions), so that nothing moves when it is already in view. It runs when this element changes,
# i.e. on every change of section, before the section's own elements arrive (the section container
# keeps its place meanwhile). Fixed script: no user text.
_SECTION_TOP_JS = """<script>/* section %d */
(function () {
  const section = document.querySelector(".st-key-seance_section");
  const bar = document.querySelector(".st-key-seance_bar");
  if (!section || !bar) return;
  const hidden = section.getBoundingClientRect().top - bar.getBoundingClientRect().bottom;
  if (hidden >= 0) return;
  let box = section.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  (box || document.scrollingElement).scrollBy({top: hidden, behavior: "instant"});
})();
</script>"""


def section_top(index: int) -> None:
    """Bring section `index` of the live séance to the top of the view (see `_SECTION_TOP_JS`)."""
    st.html(_SECTION_TOP_JS % index, unsafe_allow_javascript=True)


_UPLOADER_CSS = """
<style>
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"] * { font-size: 0 !important; }
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"]::after {
  content: "Choisir un fichier…"; font-size: 1rem; }
</style>
"""


def french_uploader_style() -> None:
    """Streamlit's file uploader writes « Upload » and « 200MB per file » in English: replace the
    button text and hide the instructions (the widget's French label states the limits). Only the
    empty uploader's button is renamed: once a file is chosen, its chip's remove button and the
    « + » button keep their icons."""
    st.html(_UPLOADER_CSS)
