"""« Jalons et actualisation 2027 »: the 2024-2030 road, the rapport annuel, readiness for 2027,
the baseline frozen at signature and what changed since."""

import streamlit as st

from cdv_core import ui
from cdv_core.figures import jalons as fig
from cdv_core.queries import jalons, overview
from cdv_core.ui import jalons as view
from cdv_core.ui import rapport_cycle, rapport_document

TITLE = "Jalons et actualisation 2027"

ctx = ui.bootstrap(TITLE)
ui.page_header(TITLE, ctx)

countdown = ui.cached(ctx, overview.actualisation, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
ready = ui.cached(
    ctx,
    jalons.readiness,
    contrat=ctx.contrat,
    donnees_au=ctx.donnees_au,
    max_age_months=ctx.settings.indicator_max_age_months,
)
counts = ui.cached(ctx, jalons.milestone_counts, contrat=ctx.contrat, donnees_au=ctx.donnees_au)

ui.card_row(fig.headline_cards(countdown, ready, counts), key="jalons_kpis")

tab_ready, tab_road, tab_rapport, tab_base, tab_edit = st.tabs(
    ["Préparation 2027", "Frise 2024-2030", "Rapport annuel", "Référence et évolutions", "Saisir un jalon"],
    key="jalons_onglets",
)

with tab_rapport:  # the rapport annuel: its life cycle, then its draft (cdv_core/ui/rapport_*.py)
    rapport_cycle.section(ctx)
    rapport_document.section(ctx)
with tab_ready:
    view.readiness(ready, page=TITLE, every_contract=ctx.contrat is None)
with tab_road:
    view.road(ctx, countdown)
with tab_base:
    view.baseline(ctx)
with tab_edit:
    view.milestone_forms(ctx)
