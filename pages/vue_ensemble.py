"""« Vue d'ensemble »: headline figures, countdown to the 2027 actualisation, alerts."""

import streamlit as st

from cdv_core import fmt, ui
from cdv_core.figures import vue_ensemble as fig
from cdv_core.queries import overview
from cdv_core.ui import nav
from cdv_core.ui import publishable as pub


def alerts_block(alerts) -> None:
    st.subheader("Alertes")
    if alerts.is_empty():
        st.success("Aucune alerte pour cette sélection.", icon=":material/check_circle:")
    with st.container(key="overview_alertes"):
        for alert in alerts.iter_rows(named=True):  # a handful of alert kinds
            high = alert["gravite"] == "haute"
            (st.warning if high else st.info)(
                fig.alert_text(alert), icon=":material/warning:" if high else ":material/info:"
            )
            st.page_link(
                nav.page_path(alert["page"]), label=f"Voir « {alert['page']} »", icon=":material/arrow_forward:"
            )


def provenance_block() -> None:
    with st.expander("D'où viennent ces chiffres ?", icon=":material/source:"):
        origin = ui.cached(ctx, overview.provenance)
        if origin["demo"]:
            st.markdown(fig.demo_origin(origin["demo"]))
        if origin["imports"].is_empty():
            st.markdown("Aucun fichier importé pour l'instant.")
        else:
            st.markdown(
                f"Derniers imports ({fmt.integer(origin['n_imports'])} au total, détail dans « Mise à jour "
                "des données ») :"
            )
            ui.table(
                pub.publishable(ctx, fig.imports_table(origin["imports"]), names=["Auteur"]),  # no author
                hide_index=True,
                width="stretch",
            )
        st.page_link(
            nav.page_path("Mise à jour des données"), label="Journal des imports", icon=":material/arrow_forward:"
        )


ctx = ui.bootstrap("Vue d'ensemble")
ui.page_header("Vue d'ensemble", ctx)
common = {"contrat": ctx.contrat, "donnees_au": ctx.donnees_au}
figures = ui.cached(ctx, overview.headline, **common)
countdown = ui.cached(ctx, overview.actualisation, **common)
alerts = ui.cached(
    ctx,
    overview.alerts,
    unpaid_months=ctx.settings.unpaid_months,
    tolerance_days=ctx.settings.cadence_tolerance_days,
    bilan_delai_mois=ctx.settings.bilan_delai_mois,
    **common,
)

ui.card_row(
    fig.territory_cards(figures, population=pub.count(ctx, figures["population"])),  # « < 11 »: partenaire
    key="overview_territoire",
)
ui.card_row(fig.funding_cards(figures, countdown), key="overview_financement")
alerts_block(alerts)
provenance_block()
