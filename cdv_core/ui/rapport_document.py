"""The draft rapport annuel (issue #19) on the « Rapport annuel » tab of « Jalons et actualisation
2027 »: the year, the team's four texts (a form for writers, the texts for readers) and the
draft to download as Word or PDF, built when its button is clicked (`cdv_core.rapport`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cdv_core import fmt, rapport
from cdv_core.edits import rapport_textes
from cdv_core.rapport import content
from cdv_core.ui import publishable as pub
from cdv_core.ui.context import Context, cached, deferred, write


def _default_year(years: list[int], ctx: Context) -> int:
    """The last full year at « données au » (the report describes a past exercice), else the latest."""
    previous = ctx.donnees_au.year - 1
    return previous if previous in years else years[-1]


def section(ctx: Context) -> None:
    st.subheader("Projet de rapport annuel")
    if ctx.contrat is None:
        st.info(
            "Choisissez un contrat dans la barre latérale pour préparer son rapport annuel.", icon=":material/info:"
        )
        return
    years = cached(ctx, content.report_years, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    if not years:
        st.info(f"Aucun exercice du contrat n'a commencé au {fmt.day(ctx.donnees_au)}.", icon=":material/info:")
        return
    annee = st.selectbox(
        "Exercice décrit par le rapport",
        years,
        index=years.index(_default_year(years, ctx)),
        key="rapport_doc_annee",
        help="Le rapport décrit une année du contrat ; ses chiffres sont ceux des écrans à la date "
        "des données choisie dans la barre latérale.",
    )
    st.caption(
        "Le projet suit la structure du décret n° 2015-1118 : "
        + fmt.md(" ; ".join(content.SECTION_TITLES))
        + ". Chaque chiffre vient des écrans du tableau de bord ; les textes de l'équipe ci-dessous y sont repris."
    )
    texts = cached(ctx, content.team_texts, contrat=ctx.contrat, annee=annee)
    if ctx.can_write():  # one key per contract and year: a text typed for one never lands in another
        with st.form("rapport_doc_form", border=True):
            values: dict[str, Any] = {
                key: st.text_area(
                    label,
                    value=texts[key] or "",
                    key=f"rapport_doc_{key}_{ctx.contrat}_{annee}",
                    max_chars=rapport_textes.MAX_TEXT,
                    height=140,
                    placeholder=hint,
                )
                for key, (label, hint) in content.TEXTS.items()
            }
            if st.form_submit_button(
                "Enregistrer les textes", type="primary", icon=":material/save:", key="rapport_doc_submit"
            ):
                write(
                    ctx,
                    rapport_textes.save_texts,
                    code_contrat=ctx.contrat,
                    annee=annee,
                    **values,
                    success=f"Textes du rapport annuel {annee} enregistrés.",
                )
    else:
        with st.container(key="rapport_doc_textes"):
            for key, (label, _hint) in content.TEXTS.items():
                st.markdown(f"**{label}**")
                st.markdown(fmt.md(texts[key]) if texts[key] else f"_{fmt.md(content.PLACEHOLDER)}_")
    if texts["modifie_le"] is not None and not pub.only(ctx):  # a person's name: not for partenaires
        st.caption(f"Textes modifiés le {fmt.timestamp(texts['modifie_le'])} par {fmt.md(texts['modifie_par'])}.")
    if pub.only(ctx):
        st.info(
            "Le projet de rapport est un document de travail : il n'est pas proposé aux partenaires. "
            "Le rapport publié est disponible une fois voté.",
            icon=":material/info:",
        )
        return
    left, right = st.columns(2)
    for column, kind, label in (
        (left, "docx", "Télécharger le projet (Word)"),
        (right, "pdf", "Télécharger le projet (PDF)"),
    ):
        with column:
            st.download_button(
                label,
                data=deferred(
                    ctx, rapport.draft, contrat=ctx.contrat, annee=annee, donnees_au=ctx.donnees_au, format=kind
                ),
                file_name=rapport.file_name(ctx.contrat, annee, kind),
                mime=rapport.MIME[kind],
                key=f"rapport_doc_{kind}",
                icon=":material/download:",
                on_click="ignore",
                help=f"Construit au clic, données au {fmt.day(ctx.donnees_au)}.",
            )
