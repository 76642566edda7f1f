"""« Publication » on « Séance et exports » (issue #19): the publishable figures of the selection
(a contract, or the national summary of « Tous les contrats » within the reader's périmètre) as
XLSX, CSV and a one-page PDF, with the published rapport annuel (`cdv_core.publication`)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cdv_core import fmt, publication
from cdv_core.ui import context as ui
from cdv_core.ui import widgets
from cdv_core.ui.context import Context

LABELS = {"xlsx": "Excel", "csv": "CSV, zip", "pdf": "PDF, 1 page"}
PREVIEW_ROWS = 200
PREPARED = "publication_preparee"  # the selection whose publication was asked for


def _args(ctx: Context) -> dict:
    return {
        "contrat": ctx.contrat,
        "donnees_au": ctx.donnees_au,
        "threshold": ctx.settings.secret_threshold,
        "max_age_months": ctx.settings.indicator_max_age_months,
    }


def section(ctx: Context) -> None:
    """What is published and how; on « Préparer la publication », a preview of the tables and the
    three files (each built when its button is clicked, with the session's périmètre)."""
    seuil = fmt.integer(ctx.settings.secret_threshold)
    what = (
        "le résumé national, un contrat par ligne"
        if ctx.contrat is None
        else f"les chiffres du contrat « {fmt.md(ctx.contrat_libelle)} », un QPV par ligne"
    )
    st.caption(
        f"Chiffres publiables pour les partenaires : {what} (quartiers, financements, indicateurs, "
        "gouvernance, rapports annuels, postes), données au "
        f"{fmt.day(ctx.donnees_au)}. Sans noms de personnes ; effectifs de personnes de moins de {seuil} "
        f"affichés « < {seuil} » (secret statistique), avec masquage secondaire « secret » lorsqu'un "
        "total les accompagne."
    )
    # Computed when asked for (the page's tabs all run): for this selection, date and store version.
    asked = (ctx.contrat, ctx.donnees_au, ctx.version)
    if st.session_state.get(PREPARED) != asked:
        if not st.button(
            "Préparer la publication",
            key="publication_preparer",
            icon=":material/public:",
            help="Calcule les tableaux publiables de la sélection, leur aperçu et les fichiers.",
        ):
            return
        st.session_state[PREPARED] = asked
    built = ui.cached(ctx, publication.publishable_tables, **_args(ctx))
    if built is None:  # the store did not answer: the error is shown
        return
    published = built[publication.PUBLIES]
    if published.is_empty():
        st.info(publication.NOT_PUBLISHED + " pour cette sélection.", icon=":material/info:")
    else:
        last = published.row(0, named=True)
        where = f" ({fmt.md(last['Contrat'])})" if ctx.contrat is None else ""
        st.success(
            f"Rapport annuel {last['Année du rapport']}{where} publié le {fmt.day(last['Date de publication'])}.",
            icon=":material/public:",
        )
        if (last["Lien"] or "").startswith(("https://", "http://")):
            st.link_button("Ouvrir le rapport annuel publié", last["Lien"], icon=":material/open_in_new:")
    cols = st.columns(len(publication.FORMATS))
    for col, name in zip(cols, publication.FORMATS):
        with col:
            st.download_button(
                f"Télécharger ({LABELS[name]})",
                data=ui.deferred(ctx, publication.publication_file, fmt_name=name, **_args(ctx)),
                file_name=publication.file_name(ctx.contrat, ctx.donnees_au, name),
                mime=publication.MIME[name],
                key=f"publication_dl_{name}",
                icon=":material/download:",
            )
    st.markdown("**Aperçu des tableaux publiés**")
    choice = st.selectbox("Tableau", list(built), key="publication_tableau")
    frame = built[choice]
    shown = frame.head(PREVIEW_ROWS).with_columns(  # as the files write them: 31/03/2024, 12,5
        *(fmt.day_expr(pl.col(c)).alias(c) for c, t in frame.schema.items() if t == pl.Date),
        *(fmt.number_expr(pl.col(c), 2).alias(c) for c, t in frame.schema.items() if t.is_float()),
    )
    widgets.table(
        shown.with_columns(pl.col(pl.String).fill_null("—")), hide_index=True, key="publication_apercu", placeholder="—"
    )
    if frame.height > PREVIEW_ROWS:
        st.caption(fmt.capped_note(PREVIEW_ROWS, frame.height))
