"""« Actions et financements »: the programmation, from demandé to versé, per funder, year and quartier.

Blocks, top to bottom: filters, headline figures, charts, alerts, bilans des porteurs, the table of
actions, one action's detail. Figures: `cdv_core.figures.financements`; drawing: `cdv_core.ui.financements`."""

import polars as pl
import streamlit as st

from cdv_core import fmt, links, ui
from cdv_core.figures import financements as fig
from cdv_core.queries import financements as fin
from cdv_core.ui import bilans
from cdv_core.ui import financements as view

TABLE_CAP = 200  # rows shown; the downloads hold the whole table


def headline(sel: view.Selection, counts: dict, totals: dict, hq_sum: dict) -> None:
    st.caption(fig.selection_caption(sel.annee, sel.active, by_qpv="qpv" in sel.filters))
    with st.container(key="fin_chiffres"):
        for row in fig.headline_cards(counts, totals, hq_sum, annee=sel.annee):
            ui.card_row(row)
    if note := fig.hors_qpv_selection_caption(totals, hq_sum):
        st.caption(note)


def charts(sel: view.Selection, totals: dict) -> None:
    by_year = ui.cached(ctx, fin.funding_by_funder_year, contrat=ctx.contrat, **sel.filters)
    by_them = ui.cached(ctx, fin.funding_by_thematique, contrat=ctx.contrat, annee=sel.annee, **sel.filters)
    cpo = ui.cached(ctx, fin.cpo_commitments, contrat=ctx.contrat, **sel.filters)
    periode = fig.periode(sel.annee).capitalize()
    left, right = st.columns(2)
    with left:
        st.subheader("Accordé par financeur et par exercice")
        st.caption("Toutes années ; les autres filtres s'appliquent.")
        _chart(None if fig.no_amount(by_year, "accorde") else fig.funder_year_chart(by_year), "fin_chart_financeurs")
    with right:
        st.subheader("Accordé par thématique")
        st.caption(f"{periode} ; thématiques nationales du programme 147.")
        _chart(None if fig.no_amount(by_them, "accorde") else fig.thematique_chart(by_them), "fin_chart_thematiques")
    left, right = st.columns(2)
    with left:
        st.subheader("Du demandé au versé")
        st.caption(f"{periode} ; taux de chaque étape par rapport à la précédente.")
        _chart(fig.funnel_chart(totals), "fin_chart_entonnoir")
    with right:
        st.subheader("Engagements CPO 2024–2030")
        st.caption("Montants des CPO par exercice, tels qu'enregistrés année par année.")
        _chart(
            None if fig.no_amount(cpo, "accorde", "verse") else fig.cpo_chart(cpo),
            "fin_chart_cpo",
            empty="Aucun financement en CPO pour cette sélection.",
        )


def _chart(chart, key: str, *, empty: str = fig.EMPTY) -> None:
    if chart is None:
        st.info(empty, icon=":material/info:")
    else:
        ui.chart(chart, width="stretch", key=key)


def actions_table(sel: view.Selection, n_rows: int) -> pl.DataFrame:
    """The first `TABLE_CAP` actions of the selection in the chosen order, and their downloads."""
    saved = sel.saved
    if not n_rows:
        # No table to sort: the choice is kept for when the selection has actions again.
        saved["fin_tri"] = st.session_state.get("fin_tri", saved.get("fin_tri"))
        st.info("Aucune action pour cette sélection.", icon=":material/info:")
        return pl.DataFrame(schema={"Code action": pl.String, "Action": pl.String})
    if saved.get("fin_tri") in fin.TABLE_SORTS and "fin_tri" not in st.session_state:
        st.session_state["fin_tri"] = saved["fin_tri"]
    sort_col = st.selectbox("Trier par", list(fin.TABLE_SORTS), key="fin_tri")
    saved["fin_tri"] = sort_col
    table_args = dict(contrat=ctx.contrat, annee=sel.annee, sort=sort_col, **sel.filters)
    shown = fig.actions_table(ui.cached(ctx, fin.action_rows, limit=TABLE_CAP, **table_args))
    by_qpv = "qpv" in sel.filters
    view.table(fig.actions_display(shown, by_qpv=by_qpv), key="fin_table", height=380)
    st.caption(fig.actions_caption(n_rows, cap=TABLE_CAP, sort=sort_col, by_qpv=by_qpv))
    basename = "actions_financements_" + (ctx.contrat or "tous") + ("" if sel.annee is None else f"_{sel.annee}")
    view.action_downloads(ctx, table_args, n_rows=n_rows, basename=basename)
    return shown


def action_choice(sel: view.Selection, shown: pl.DataFrame) -> None:
    """The action to detail: one of the table's, or a shared link's (even beyond the first rows)."""
    codes = shown["Code action"].to_list()
    titles = dict(zip(codes, shown["Action"].to_list()))
    wanted = st.session_state.get("fin_action", sel.saved.get("fin_action"))
    if (
        wanted
        and wanted not in titles
        and ui.cached(
            ctx, fin.action_in_selection, code_action=wanted, contrat=ctx.contrat, annee=sel.annee, **sel.filters
        )
    ):
        codes = [wanted, *codes]
    if st.session_state.pop("fin_action_lien", False):
        _, problem = links.known(
            "fin_action",
            wanted,
            codes,
            expected="un code d'action de la sélection",
            instead="de la première action de la liste",
        )
        if problem:
            ui.url_warning(problem)
    if not codes:
        st.info("Aucune action dans la sélection.", icon=":material/info:")
        return
    if st.session_state.get("fin_action") not in codes:
        st.session_state["fin_action"] = wanted if wanted in codes else codes[0]
    code = st.selectbox(
        "Action", codes, key="fin_action", format_func=lambda c: f"{c} — {titles[c]}" if c in titles else c
    )
    sel.saved["fin_action"] = code
    st.query_params["fin_action"] = code
    detail = ui.cached(ctx, fin.action_detail, code_action=code)
    if detail is None:
        st.warning(f"L'action « {fmt.md(code)} » est introuvable dans les données.", icon=":material/warning:")
    else:
        view.action_detail(ctx, detail)


ctx = ui.bootstrap("Actions et financements")
ui.page_header("Actions et financements", ctx)
selection = view.filters(ctx, ui.cached(ctx, fin.filter_options, contrat=ctx.contrat))
# the hors-QPV cap: the départements of the selection, whole envelopes, whatever the filters
every_year = ui.cached(ctx, fin.hors_qpv_by_departement, contrat=ctx.contrat, annee=None)
hors_qpv = fin.hors_qpv_of_year(every_year, selection.annee)
hq_sum = fin.hors_qpv_summary(hors_qpv)
counts = ui.cached(ctx, fin.action_counts, contrat=ctx.contrat, annee=selection.annee, **selection.filters)
totals = ui.cached(ctx, fin.funding_totals, contrat=ctx.contrat, annee=selection.annee, **selection.filters)
headline(selection, counts, totals, hq_sum)
charts(selection, totals)
view.alerts(ctx, selection, hors_qpv, hq_sum)
bilans.section(ctx)  # « Bilans des porteurs »
st.subheader("Actions")
rows = actions_table(selection, counts["lignes_tableau"])
st.subheader("Détail d'une action")
action_choice(selection, rows)
