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
from cdv_core.queries import bilans as q
from cdv_core.ui import publishable as pub
from cdv_core.ui.context import Context, cached, write
from cdv_core.ui.downloads import download_buttons
from cdv_core.ui.widgets import kpi

TABLE_CAP = 200  # rows shown; the downloads hold every row
CONTACT_COLUMNS = ("Contact", "Adresse électronique", "Téléphone")


def _counts() -> list[pl.Expr]:
    return [pl.col("dus").alias("Dus"), pl.col("recus").alias("Reçus"), pl.col("acceptes").alias("Acceptés"),
            pl.col("a_examiner").alias("À examiner"), pl.col("a_completer").alias("À compléter"),
            pl.col("en_retard").alias("En retard"), pl.col("a_venir").alias("À venir"),
            fmt.percent_expr(pl.col("part"), missing="—").alias("Complétude")]


def _show(frame: pl.DataFrame, key: str) -> None:
    st.dataframe(frame.head(TABLE_CAP).with_columns(pl.col(pl.String).fill_null("—")), hide_index=True,
                 width="stretch", key=key)
    if frame.height > TABLE_CAP:
        st.caption(fmt.capped_note(TABLE_CAP, frame.height))


def section(ctx: Context) -> None:
    """The « Bilans des porteurs » block of the page."""
    st.subheader("Bilans des porteurs")
    delai = ctx.settings.bilan_delai_mois
    args = dict(contrat=ctx.contrat, donnees_au=ctx.donnees_au, delai_mois=delai)
    example = ctx.donnees_au.year - 2
    st.caption(f"Un bilan (compte rendu financier, CERFA n° 15059) est attendu pour chaque action et chaque exercice "
               f"où un montant a été accordé, {fmt.plural(delai, 'mois', 'mois')} après la fin de l'exercice "
               f"(exercice {example} : le {fmt.day(q.due_date(example, delai))}). Situation au "
               f"{fmt.day(ctx.donnees_au)} ; complétude : bilans reçus parmi les bilans dus à cette date.")
    summary = cached(ctx, q.summary, **args)
    if not summary["dus"] and not summary["a_venir"]:
        st.info("Aucun bilan attendu pour cette sélection : aucun montant accordé.", icon=":material/info:")
        return
    cols = st.columns(5)
    cards = (("Bilans dus", fmt.integer(summary["dus"]), "Exercices financés dont l'échéance est passée."),
             ("Reçus", fmt.integer(summary["recus"]),
              f"Dont {fmt.integer(summary['a_examiner'])} à examiner et {fmt.integer(summary['a_completer'])} à "
              "compléter."),
             ("Acceptés", fmt.integer(summary["acceptes"]), None),
             ("En retard", fmt.integer(summary["en_retard"]), "Dus et non reçus à la date des données."),
             ("Complétude", fmt.percent(summary["part"]), "Bilans reçus / bilans dus."))
    for col, (label, value, help_text) in zip(cols, cards):
        with col:
            kpi(label, value, help=help_text)
    if summary["a_venir"]:
        st.caption(f"{fmt.plural(summary['a_venir'], 'bilan à venir', 'bilans à venir')} (échéance non atteinte).")

    tab_late, tab_porteur, tab_qpv, tab_year, tab_form = st.tabs(
        ["En retard", "Par porteur", "Par quartier", "Par exercice", "Enregistrer un bilan"])
    with tab_late:
        _late(ctx, args)
    with tab_porteur:
        porteurs = cached(ctx, q.by_porteur, **args)
        shown = porteurs.select(pl.col("porteur").alias("Porteur"), pl.col("contact_nom").alias("Contact"),
                                pl.col("contact_email").alias("Adresse électronique"), *_counts())
        shown = pub.publishable(ctx, shown, names=CONTACT_COLUMNS)
        _show(shown, "bilans_porteurs")
        download_buttons(shown, basename="bilans_par_porteur_" + (ctx.contrat or "tous"), key="bilans_porteurs_dl",
                         sheet="Bilans par porteur", ctx=ctx)
    with tab_qpv:
        qpv = cached(ctx, q.by_qpv, **args)
        shown = qpv.select(pl.col("quartier").alias("Quartier"), pl.col("code_qp").fill_null("—").alias("Code QPV"),
                           *_counts())
        _show(shown, "bilans_qpv")
        st.caption("Une action qui sert plusieurs quartiers compte dans chacun : les lignes ne s'additionnent pas. "
                   f"« {q.SANS_QPV} » : actions rattachées à aucun quartier.")
    with tab_year:
        years = cached(ctx, q.by_year, **args)
        _show(years.select(pl.col("annee").cast(pl.String).alias("Exercice"),
                           fmt.day_expr(pl.col("echeance")).alias("Échéance"), *_counts()), "bilans_exercices")
    with tab_form:
        _form(ctx, args)


def _late(ctx: Context, args: dict) -> None:
    late = cached(ctx, q.late, **args)
    if late.is_empty():
        st.success("Aucun bilan en retard.", icon=":material/check_circle:")
        return
    shown = late.select(  # what is late first (in view on a projector), then whom to remind
        pl.col("porteur").alias("Porteur"), pl.col("annee").cast(pl.String).alias("Exercice"),
        fmt.day_expr(pl.col("echeance")).alias("Échéance"), pl.col("jours_retard").alias("Jours de retard"),
        pl.col("action").alias("Action"), pl.col("contact_nom").alias("Contact"),
        pl.col("contact_email").alias("Adresse électronique"), pl.col("contact_telephone").alias("Téléphone"),
        pl.col("code_action").alias("Code action"))
    shown = pub.publishable(ctx, shown, names=CONTACT_COLUMNS)
    _show(shown, "bilans_retard")
    if pub.only(ctx):
        st.caption("Version publiable : les coordonnées des contacts ne sont pas affichées.")
        return
    without = late["contact_email"].null_count()
    if without:
        st.caption(f"{fmt.plural(without, 'bilan en retard', 'bilans en retard')} sans adresse électronique du "
                   "porteur : complétez les contacts avec le modèle « Porteurs » (Mise à jour des données).")
    st.download_button("Télécharger pour publipostage (CSV)", data=lambda: tables.to_csv_bytes(q.mail_merge(late)),
                       file_name="bilans_en_retard_" + (ctx.contrat or "tous") + ".csv", mime="text/csv",
                       key="bilans_publipostage", icon=":material/forward_to_inbox:",
                       help="Une ligne par bilan en retard, l'adresse électronique du contact en premier ; "
                            "séparateur « ; », UTF-8 : à ouvrir dans le publipostage d'un traitement de texte.")


def _form(ctx: Context, args: dict) -> None:
    if not ctx.contrat:
        st.caption("Choisissez un contrat pour enregistrer un bilan ; pour en enregistrer beaucoup à la fois, "
                   "importez le modèle « Bilans des porteurs » (Mise à jour des données).")
        return
    if not ctx.can_write():
        st.caption("Enregistrer un bilan demande le droit de modifier les données de ce contrat.")
        return
    owed = cached(ctx, q.bilans, **args)
    labels = {f"{r['code_action']}|{r['annee']}": f"{r['annee']} — {r['action']} ({r['porteur']}) : {r['etat']}"
              for r in owed.select("code_action", "annee", "action", "porteur", "etat").iter_rows(named=True)}
    st.caption("Un bilan par action et par exercice ; enregistrer à nouveau remplace le précédent. Pour plusieurs "
               "bilans, importez le modèle « Bilans des porteurs ».")
    with st.form("bilans_form", border=True):
        chosen = st.selectbox("Bilan attendu", list(labels), format_func=labels.get, key="bilans_choix")
        cols = st.columns(2)
        with cols[0]:
            received = st.date_input("Date de réception", value=ctx.donnees_au, format="DD/MM/YYYY",
                                     key="bilans_date")
        with cols[1]:
            statut = st.selectbox("Statut", list(model.STATUTS_BILAN), index=1, key="bilans_statut")
        comment = st.text_input("Commentaire (ce qui manque, suite donnée)", key="bilans_commentaire")
        if st.form_submit_button("Enregistrer le bilan", type="primary", icon=":material/save:") and chosen:
            code_action, annee = chosen.rsplit("|", 1)
            write(ctx, edits.record_bilan, code_action=code_action, annee=int(annee), date_reception=received,
                  statut=statut, commentaire=comment or None,
                  success=f"Bilan {annee} de l'action {fmt.md(code_action)} enregistré ({statut}).")
