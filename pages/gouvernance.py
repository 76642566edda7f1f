"""« Gouvernance »: cadence of every instance, meetings calendar, residents' participation,
decision log, annual obligations, and the form to record a meeting and its decisions."""

import polars as pl
import streamlit as st

from cdv_core import ui
from cdv_core.figures import gouvernance as fig
from cdv_core.queries import gouvernance as gouv
from cdv_core.ui import gouvernance as view
from cdv_core.ui import publishable as pub

ctx = ui.bootstrap("Gouvernance")
tolerance = ctx.settings.cadence_tolerance_days
ui.page_header("Gouvernance", ctx, subtitle=fig.tolerance_note(tolerance))

common = {"contrat": ctx.contrat, "donnees_au": ctx.donnees_au}
instances = ui.cached(ctx, gouv.instance_cadence, tolerance_days=tolerance, **common)
late = instances.filter(pl.col("en_retard"))
bodies = ui.cached(ctx, gouv.residents_bodies, **common)
decisions_n = ui.cached(ctx, gouv.decision_counts, **common)
by_type = ui.cached(ctx, gouv.cadence_by_type, tolerance_days=tolerance, **common)

with st.container(key="gouv_kpis"):
    # a partenaire: the residents' total of the per-type table, masked with it (statistical secret)
    habitants = pub.total(ctx, by_type, "habitants_12_mois") if pub.only(ctx) else None
    ui.card_row(fig.headline_cards(gouv.headline(instances), decisions_n, tolerance=tolerance, habitants=habitants))

# Lazy tabs: only the open tab runs (each Altair chart costs tens of milliseconds to validate). Keyed,
# so that a rerun (a button in another tab) stays on the open tab.
TABS = (
    "Instances et cadence",
    "Calendrier",
    "Participation des habitants",
    "Décisions",
    "Obligations annuelles",
    "Enregistrer une réunion",
)
goto = st.session_state.pop("gouv_goto", None)
if goto:
    st.session_state["gouv_tabs"] = goto  # before the tabs exist: after a recorded meeting, show the cadence
tab_cadence, tab_calendar, tab_residents, tab_decisions, tab_obligations, tab_form = st.tabs(
    list(TABS), key="gouv_tabs", on_change="rerun"
)

with tab_cadence:
    if tab_cadence.open:
        view.cadence(ctx, instances, late, by_type, tolerance)
with tab_calendar:
    if tab_calendar.open:
        view.calendar(ctx, common)
with tab_residents:
    if tab_residents.open:
        view.residents(ctx, common, bodies)
with tab_decisions:
    if tab_decisions.open:
        view.decisions(ctx, common, instances, decisions_n)
with tab_obligations:
    if tab_obligations.open:
        view.obligations(ctx, common)
with tab_form:
    if tab_form.open:
        view.meeting_form(ctx, common, instances, tolerance, after=TABS[0])
