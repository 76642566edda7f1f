"""« Bilans des porteurs » on « Actions et financements » (issue #19): the bilans owed for the
funded actions of the selection at the « données au » date (`queries.bilans`), their
completeness per porteur and per QPV, the late list with the porteurs' contacts and its
mail-merge CSV, and, for a writer, the form that records a bilan (`edits.bilans`). A partenaire
sees no contact (names of people)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cdv_core import fmt, tables
from cdv_core.domain import model
from cdv_core.edits import bilans as edits
from cdv_core.figures import bilans as fig
from cdv_core.queries import bilans as q
from cdv_core.ui import publishable as pub
from cdv_core.ui import widgets
from cdv_core.ui.context import Context, cached, write
from cdv_core.ui.downloads import download_buttons
from cdv_core.ui.widgets import kpi

TABLE_CAP = 200  # rows shown; the downloads hold every row


def _show(frame: pl.DataFrame, key: str) -> None:
    widgets.table(frame, rows=TABLE_CAP, dash_empty=True, hide_index=True, width="stretch", key=key)
    if frame.height > TABLE_CAP:
        st.caption(fmt.capped_note(TABLE_CAP, frame.height))


TABS = ("En retard", "Par porteur", "Par quartier", "Par exercice", "Enregistrer un bilan")
TABS_KEY = "bilans_onglets"  # the open tab's label


@st.fragment
def section(ctx: Context) -> None:
    """The « Bilans des porteurs » block of the page.

    A fragment with lazy tabs, as the alerts: choosing a tab reruns this block only, and only the
    open tab is read and built (the four lists were four reads over the funding lines on every
    first visit, ≈ 0,4 s for « Tous les contrats »; docs/performance.md, item 22)."""
    st.subheader("Bilans des porteurs")
    delai = ctx.settings.bilan_delai_mois
    args = dict(contrat=ctx.contrat, donnees_au=ctx.donnees_au, delai_mois=delai)
    st.caption(fig.intro(delai_mois=delai, donnees_au=ctx.donnees_au))
    summary = cached(ctx, q.summary, **args)
    if not summary["dus"] and not summary["a_venir"]:
        st.info("Aucun bilan attendu pour cette sélection : aucun montant accordé.", icon=":material/info:")
        return
    for col, card in zip(st.columns(5), fig.summary_cards(summary)):
        with col:
            kpi(card.label, card.value, help=card.help)
    if upcoming := fig.upcoming_caption(summary):
        st.caption(upcoming)

    tab_late, tab_porteur, tab_qpv, tab_year, tab_form = st.tabs(list(TABS), key=TABS_KEY, on_change="rerun")
    if tab_late.open:
        with tab_late:
            _late(ctx, args)
    if tab_porteur.open:
        with tab_porteur:
            shown = pub.publishable(
                ctx, fig.porteurs_table(cached(ctx, q.by_porteur, **args)), names=fig.CONTACT_COLUMNS
            )
            _show(shown, "bilans_porteurs")
            download_buttons(
                shown,
                basename="bilans_par_porteur_" + (ctx.contrat or "tous"),
                key="bilans_porteurs_dl",
                sheet="Bilans par porteur",
                ctx=ctx,
            )
    if tab_qpv.open:
        with tab_qpv:
            _show(fig.qpv_table(cached(ctx, q.by_qpv, **args)), "bilans_qpv")
            st.caption(
                "Une action qui sert plusieurs quartiers compte dans chacun : les lignes ne s'additionnent pas. "
                f"« {q.SANS_QPV} » : actions rattachées à aucun quartier."
            )
    if tab_year.open:
        with tab_year:
            _show(fig.years_table(cached(ctx, q.by_year, **args)), "bilans_exercices")
    if tab_form.open:
        with tab_form:
            _form(ctx, args)


def _late(ctx: Context, args: dict) -> None:
    late = cached(ctx, q.late, **args)
    if late.is_empty():
        st.success("Aucun bilan en retard.", icon=":material/check_circle:")
        return
    shown = pub.publishable(ctx, fig.late_table(late), names=fig.CONTACT_COLUMNS)
    _show(shown, "bilans_retard")
    if pub.only(ctx):
        st.caption("Version publiable : les coordonnées des contacts ne sont pas affichées.")
        return
    if without := fig.without_email_caption(late):
        st.caption(without)
    st.download_button(
        "Télécharger pour publipostage (CSV)",
        data=lambda: tables.to_csv_bytes(q.mail_merge(late)),
        file_name="bilans_en_retard_" + (ctx.contrat or "tous") + ".csv",
        mime="text/csv",
        key="bilans_publipostage",
        icon=":material/forward_to_inbox:",
        help="Une ligne par bilan en retard, l'adresse électronique du contact en premier ; "
        "séparateur « ; », UTF-8 : à ouvrir dans le publipostage d'un traitement de texte.",
    )


def _form(ctx: Context, args: dict) -> None:
    if not ctx.contrat:
        st.caption(
            "Choisissez un contrat pour enregistrer un bilan ; pour en enregistrer beaucoup à la fois, "
            "importez le modèle « Bilans des porteurs » (Mise à jour des données)."
        )
        return
    if not ctx.can_write():
        st.caption("Enregistrer un bilan demande le droit de modifier les données de ce contrat.")
        return
    owed = cached(ctx, q.bilans, **args)
    labels = fig.owed_labels(owed)
    st.caption(
        "Un bilan par action et par exercice ; enregistrer à nouveau remplace le précédent. Pour plusieurs "
        "bilans, importez le modèle « Bilans des porteurs »."
    )
    with st.form("bilans_form", border=True):
        chosen = st.selectbox("Bilan attendu", list(labels), format_func=lambda k: labels[k], key="bilans_choix")
        cols = st.columns(2)
        with cols[0]:
            received = st.date_input("Date de réception", value=ctx.donnees_au, format="DD/MM/YYYY", key="bilans_date")
        with cols[1]:
            statut = st.selectbox("Statut", list(model.STATUTS_BILAN), index=1, key="bilans_statut")
        comment = st.text_input("Commentaire (ce qui manque, suite donnée)", key="bilans_commentaire")
        if st.form_submit_button("Enregistrer le bilan", type="primary", icon=":material/save:") and chosen:
            code_action, annee = chosen.rsplit("|", 1)
            write(
                ctx,
                edits.record_bilan,
                code_action=code_action,
                annee=int(annee),
                date_reception=received,
                statut=statut,
                commentaire=comment or None,
                success=f"Bilan {annee} de l'action {fmt.md(code_action)} enregistré ({statut}).",
            )
