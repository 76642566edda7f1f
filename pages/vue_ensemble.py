"""« Vue d'ensemble »: headline figures, countdown to the 2027 actualisation, alerts."""

import polars as pl
import streamlit as st

from cdv_core import fmt, ui
from cdv_core.domain import model
from cdv_core.queries import overview
from cdv_core.ui import nav
from cdv_core.ui import publishable as pub

ctx = ui.bootstrap("Vue d'ensemble")
ui.page_header("Vue d'ensemble", ctx)

figures = ui.cached(ctx, overview.headline, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
countdown = ui.cached(ctx, overview.actualisation, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
alerts = ui.cached(ctx, overview.alerts, contrat=ctx.contrat, donnees_au=ctx.donnees_au,
                   unpaid_months=ctx.settings.unpaid_months, tolerance_days=ctx.settings.cadence_tolerance_days,
                   bilan_delai_mois=ctx.settings.bilan_delai_mois)
year = figures["annee"]

with st.container(key="overview_territoire"):
    cols = st.columns(4)
    with cols[0]:
        ui.kpi("Contrats de ville", fmt.integer(figures["contrats"]))
    with cols[1]:
        ui.kpi("Quartiers prioritaires", fmt.integer(figures["quartiers"]))
    with cols[2]:
        ui.kpi("Habitants des QPV", pub.count(ctx, figures["population"]),  # « < 11 » for a partenaire
               help="Somme des populations des QPV de la sélection (dernier recensement importé).")
    with cols[3]:
        ui.kpi(f"Actions {year}", fmt.integer(figures["actions_annee"]),
               help=f"Actions annuelles de {year} et actions pluriannuelles (CPO) couvrant {year}, hors actions refusées.")

with st.container(key="overview_financement"):
    cols = st.columns(4)
    with cols[0]:
        ui.kpi(f"Montant accordé {year}", fmt.euros(figures["accorde"]),
               help=f"Somme des montants accordés par tous les financeurs pour l'exercice {year}.")
    with cols[1]:
        paid_rate = figures["taux_versement"]
        ui.kpi(f"Montant versé {year}", fmt.euros(figures["verse"]),
               delta=f"{fmt.percent(paid_rate)} de l'accordé" if paid_rate is not None else None,
               delta_color="off", delta_arrow="off")
    with cols[2]:
        share = figures["part_cpo"]
        ui.kpi(f"Crédits P147 en CPO {year}", fmt.percent(share),
               delta=(f"cible nationale ≥ {fmt.percent(model.CPO_TARGET_SHARE, 0)}" if share is not None else None),
               delta_color="green" if figures["cpo_cible_atteinte"] else "red",
               delta_arrow="off",
               help="Montants accordés par l'État (programme 147) aux actions en convention pluriannuelle "
                    "d'objectifs, rapportés à l'ensemble des crédits P147 accordés de l'exercice.")
    with cols[3]:
        days = countdown["jours"]
        label = f"J-{fmt.integer(days)}" if days >= 0 else f"dépassée de {fmt.plural(-days, 'jour')}"
        ui.kpi("Actualisation 2027", label,
               help=f"Échéance : {fmt.long_day(countdown['date'])}"
                    + ("" if countdown["jalon_enregistre"] else " (aucun jalon enregistré : fin 2027 par défaut)"))

st.subheader("Alertes")
if alerts.is_empty():
    st.success("Aucune alerte pour cette sélection.", icon=":material/check_circle:")
with st.container(key="overview_alertes"):
    for alert in alerts.iter_rows(named=True):  # a handful of alert kinds
        box = st.warning if alert["gravite"] == "haute" else st.info
        box(f"**{alert['categorie']}** — {fmt.md(alert['message'])}", icon=":material/warning:" if alert["gravite"] == "haute" else ":material/info:")
        st.page_link(nav.page_path(alert["page"]), label=f"Voir « {alert['page']} »", icon=":material/arrow_forward:")

with st.expander("D'où viennent ces chiffres ?", icon=":material/source:"):
    origin = ui.cached(ctx, overview.provenance)
    if origin["demo"]:
        scale = {"demo": "trois contrats fictifs", "national": "un territoire national fictif"}
        st.markdown(f"Territoire de démonstration généré par l'application ({scale.get(origin['demo'], 'fictif')}) : "
                    "aucun chiffre réel.")
    if origin["imports"].is_empty():
        st.markdown("Aucun fichier importé pour l'instant.")
    else:
        st.markdown(f"Derniers imports ({fmt.integer(origin['n_imports'])} au total, détail dans « Mise à jour des données ») :")
        st.dataframe(pub.publishable(ctx, origin["imports"].select(  # a partenaire sees no author's name
            pl.col("fichier").alias("Fichier"), pl.col("type_import").alias("Type"),
            pl.col("auteur").fill_null("—").alias("Auteur"),
            pl.col("date_import").dt.strftime("%d/%m/%Y %H:%M").alias("Date"),
            pl.col("statut").alias("Statut"), pl.col("resume").fill_null("").alias("Résumé")), names=["Auteur"]),
            hide_index=True, width="stretch")
    st.page_link(nav.page_path("Mise à jour des données"), label="Journal des imports",
                 icon=":material/arrow_forward:")
