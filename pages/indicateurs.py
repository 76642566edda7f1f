"""« Indicateurs »: trajectories to target, gap between each QPV and its reference territory,
comparison across QPV, dictionary with freshness.

Blocks: the choice of the indicator and its reference territory, then three tabs (trajectory of one
quartier, comparison of the quartiers with their breakdowns, dictionary). Figures:
`cdv_core.figures.indicateurs`."""

import polars as pl
import streamlit as st

from cdv_core import fmt, ui
from cdv_core.domain import gaps
from cdv_core.figures import indicateurs as fig
from cdv_core.queries import indicateurs as ind
from cdv_core.queries import territoire
from cdv_core.ui import publishable as pub
from cdv_core.ui import ventilations
from cdv_core.ui.downloads import download_buttons
from cdv_core.ui.sources import source_rules_view

MAX_COMPARED = 5  # QPV drawn beside the chosen one on the trajectory chart
TABLE_ROWS = 200  # comparison table rows shown (all of them in the download)
LAZY_DOWNLOAD_ROWS = 300  # above this, the comparison files are built on request


def indicator_choice(dico: pl.DataFrame) -> tuple[str, str]:
    """The indicator (default: the first with a gap to show and a desired direction) and the reference."""
    codes = dico["code_indicateur"].to_list()
    labels = dict(zip(codes, dico["libelle"].to_list()))
    left, right = st.columns([3, 2])
    with left:
        telling = (dico["a_reference"] & (dico["sens"] != "neutre")).to_list()
        code = st.selectbox(
            "Indicateur",
            codes,
            index=telling.index(True) if True in telling else 0,
            format_func=lambda c: f"{labels[c]} ({c})",
            key="indic_indicateur",
        )
    with right:
        # A radio always keeps one choice: a segmented control could be emptied by a second click.
        reference = st.radio(
            "Territoire de référence pour l'écart",
            list(ind.REFERENCE_TYPES),
            index=list(ind.REFERENCE_TYPES).index("EPCI"),
            format_func=ind.REFERENCE_TYPES.get,
            horizontal=True,
            key="indic_reference",
            help="Commune principale du QPV, EPCI du QPV (à défaut, signataire du contrat) ou France entière.",
        )
    return code, reference


def trajectory(
    meta: dict, comparison: pl.DataFrame, aggregate: pl.DataFrame, *, reference: str, method: str, vintage
) -> None:
    qpv_labels = fig.qpv_labels(quartiers)
    qpv_codes = list(qpv_labels)
    c1, c2 = st.columns([1, 1])
    with c1:
        focus = st.selectbox("Quartier", qpv_codes, format_func=qpv_labels.get, key="indic_qpv")
    with c2:
        autres = st.multiselect(
            "Comparer avec (facultatif)",
            [c for c in qpv_codes if c != focus],
            format_func=qpv_labels.get,
            max_selections=MAX_COMPARED,
            key="indic_autres",
            placeholder="Choisir jusqu'à 5 quartiers",
            select_all=False,
        )
    row = comparison.filter(pl.col("code_qp") == focus).row(0, named=True)
    ui.card_row(fig.trajectory_cards(row, meta, reference=reference, vintage=vintage))

    traj = pub.indicator_trajectory(
        ctx,
        meta,
        ui.cached(
            ctx, ind.trajectory, code_indicateur=code, focus=focus, autres=tuple(autres), donnees_au=ctx.donnees_au
        ),
        comparison=comparison,
    )
    lines = fig.trajectory_lines(traj, aggregate, method=method)
    missing = ind.secret_summary(traj)
    # The missing values are listed under the chart: beside it, at 1280 px, only one column showed.
    with st.container(key="indic_trajectoire"):
        if lines.is_empty():
            st.info("Aucune valeur connue pour ce quartier et cet indicateur.", icon=":material/info:")
        else:
            ui.chart(
                fig.trajectory_chart(lines, ind.markers(comparison, (focus, *autres)), unite=meta["unite"]),
                width="stretch",
                key="indic_chart_trajectoire",
            )
        st.caption(
            ind.AGGREGATE_TEXT[method][1]
            + " Les valeurs soumises au secret statistique ne sont ni tracées ni comptées."
        )
    with st.container(key="indic_manquantes_bloc"):
        if missing.is_empty():
            st.caption("**Valeurs manquantes** : aucune, toutes les valeurs de ces séries sont connues.")
        else:
            st.markdown(f"**Valeurs manquantes** ({fmt.integer(missing.height)}, non tracées)")
            ui.table(
                fig.missing_table(missing),
                hide_index=True,
                width="stretch",
                key="indic_manquantes",
                height=min(36 * (missing.height + 1) + 3, 250),
            )
    gap_unit = gaps.gap_unit(meta["unite"])
    series = ind.gap_series(traj, focus=focus, reference=reference, unite=meta["unite"])
    if series.height:
        st.markdown(f"**Écart du quartier à : {ind.REFERENCE_TYPES[reference]}** ({gap_unit})")
        ui.chart(fig.gap_chart(series, row, gap_unit=gap_unit), width="stretch", key="indic_chart_ecart")
        st.caption(
            "Trait pointillé : écart au point de départ. Couleur : bleu si l'écart a évolué dans le sens "
            "souhaité depuis le départ, orange dans le sens inverse, gris si stable, sans sens souhaité ou "
            "non calculable."
        )
    download_buttons(
        fig.trajectory_export(traj),
        basename=f"indicateur_{code}_{focus}",
        key="indic_dl_traj",
        sheet="Trajectoire",
        ctx=ctx,
    )


def comparison_block(
    meta: dict, comparison: pl.DataFrame, aggregate: pl.DataFrame, *, reference: str, method: str, vintage
) -> None:
    if vintage is None:
        st.info("Aucune valeur de cet indicateur pour les quartiers de la sélection.", icon=":material/info:")
    else:
        st.markdown(fig.vintage_heading(vintage, comparison.height))
    if caption := fig.aggregate_caption(aggregate, vintage=vintage, method=method, unite=meta["unite"]):
        st.caption(caption)
    known, shown = fig.ranked(comparison)
    if shown.height:
        ui.chart(
            fig.comparison_chart(shown, unite=meta["unite"], reference=reference),
            width="stretch",
            height=fig.comparison_height(shown) + 90,
            key="indic_chart_comparaison",
        )
        st.caption(fig.comparison_note(reference=reference, shown=shown.height, known=known.height))
    if without := fig.without_value_caption(comparison, vintage=vintage):
        st.caption(without)
    table = fig.comparison_table(comparison.head(TABLE_ROWS), unite=meta["unite"])
    ui.table(table, hide_index=True, width="stretch", key="indic_table_comparaison")
    if comparison.height > TABLE_ROWS:
        st.caption(
            f"{fmt.integer(TABLE_ROWS)} premiers quartiers sur {fmt.integer(comparison.height)} : "
            "téléchargez le tableau complet."
        )
    # Building the Excel file of a national selection takes about a second: only on request.
    if comparison.height <= LAZY_DOWNLOAD_ROWS or st.toggle(
        f"Préparer le téléchargement des {fmt.integer(comparison.height)} quartiers", key="indic_dl_comp_prep"
    ):
        download_buttons(
            fig.comparison_export(comparison),
            basename=f"indicateur_{code}_comparaison",
            key="indic_dl_comp",
            sheet="Comparaison",
            ctx=ctx,
        )
    ventilations.section(ctx, meta, code=code, reference=reference)  # by sexe, by âge (if any)


def dictionary_block(dico: pl.DataFrame) -> None:
    if stale := fig.stale_warning(dico, donnees_au=ctx.donnees_au):
        st.warning(stale, icon=":material/schedule:")
    query = st.text_input(
        "Rechercher un indicateur", placeholder="libellé, code, source, thématique…", key="indic_recherche"
    )
    found = ind.filter_dictionary(dico, query)
    st.caption(fig.dictionary_caption(found.height, dico.height))
    ui.table(fig.dictionary_table(found), hide_index=True, width="stretch", key="indic_dictionnaire")
    download_buttons(
        fig.dictionary_table(found),
        basename="dictionnaire_indicateurs",
        key="indic_dl_dico",
        sheet="Dictionnaire",
        ctx=ctx,
    )
    source_rules_view(ctx)


ctx = ui.bootstrap("Indicateurs")
ui.page_header("Indicateurs", ctx, subtitle="écart entre les quartiers et leur territoire")
dico = ui.cached(
    ctx,
    ind.dictionary,
    contrat=ctx.contrat,
    donnees_au=ctx.donnees_au,
    max_age_months=ctx.settings.indicator_max_age_months,
)
quartiers = ui.cached(ctx, territoire.quartiers, contrat=ctx.contrat)
if dico.is_empty() or quartiers.is_empty():
    st.info(
        "Aucun indicateur ou aucun quartier pour cette sélection : importez un dictionnaire d'indicateurs "
        "et leurs valeurs depuis « Mise à jour des données ».",
        icon=":material/info:",
    )
    st.stop()

code, reference = indicator_choice(dico)
meta = dico.filter(pl.col("code_indicateur") == code).row(0, named=True)
st.caption(fig.indicator_caption(meta))
if warning := fig.freshness_warning(
    meta, donnees_au=ctx.donnees_au, max_age_months=ctx.settings.indicator_max_age_months
):
    st.warning(warning, icon=":material/schedule:")

comparison = ui.cached(
    ctx, ind.comparison, code_indicateur=code, contrat=ctx.contrat, reference=reference, donnees_au=ctx.donnees_au
)
aggregate = ui.cached(ctx, ind.aggregate, code_indicateur=code, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
method = aggregate["methode"][0] if aggregate.height else gaps.aggregation_method(meta["unite"], meta["agregation"])
# a partenaire: small counts of people suppressed, and a sum that would reveal one left out
aggregate = pub.indicator_aggregate(ctx, meta, aggregate, comparison=comparison)
comparison = pub.indicator_comparison(ctx, meta, comparison)
vintage = comparison["date_valeur"].max() if comparison.height else None

tab_traj, tab_comp, tab_dico = st.tabs(
    ["Trajectoire d'un quartier", "Comparaison des quartiers", "Dictionnaire des indicateurs"], key="indic_onglets"
)
with tab_traj:
    trajectory(meta, comparison, aggregate, reference=reference, method=method, vintage=vintage)
with tab_comp:
    comparison_block(meta, comparison, aggregate, reference=reference, method=method, vintage=vintage)
with tab_dico:
    dictionary_block(dico)
