"""« Projets de quartier »: the blocks that draw (the chosen quartier's summary, the map, the downloads,
one objective with its actions and indicators). What they show comes from `cdv_core.figures.projets`."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cdv_core import fmt, tables
from cdv_core.domain import progress
from cdv_core.figures import projets as fig
from cdv_core.queries import projets
from cdv_core.ui import maps, widgets
from cdv_core.ui.context import Context

ICONS = {
    progress.EN_BONNE_VOIE: ":material/check_circle:",
    progress.A_SURVEILLER: ":material/warning:",
    progress.EN_RETARD: ":material/error:",
    progress.DONNEES_INSUFFISANTES: ":material/help:",
}


def summary(ctx: Context, qpv: dict, history: pl.DataFrame) -> None:
    """The chosen quartier's box (`qpv`: its `projets.qpv_overview` row; `history`: its status records)."""
    s = fig.summary(qpv)
    with st.container(key="projets_resume", border=True):
        st.markdown(s.title)
        st.badge(s.since, color=maps.STATUS_PALETTE[qpv["statut"]][1], icon=":material/flag:")
        st.write(s.motif)
        st.caption(s.figures)
        if s.enjeux:
            st.caption(s.enjeux)
        if not history.is_empty():
            widgets.chart(
                fig.status_history_chart(history, until=ctx.donnees_au, colors=maps.STATUS_HEX),
                key="projets_statuts_releves",
            )
        else:
            st.caption("Aucun relevé de statut pour ce quartier : l'historique commence au prochain relevé.")


def qpv_map(ctx: Context, rows: pl.DataFrame, *, chosen: str) -> None:
    st.pydeck_chart(
        maps.qpv_map(
            maps.with_status_color(projets.map_frame(rows)),
            color_column="couleur",
            chosen=chosen,
            tooltip_html=(
                "<b>{libelle}</b><br/>{code_qp} · {lib_com}<br/>Statut : {statut}<br/>Population : {population}"
            ),
            tiles=ctx.settings.map_tiles,
        ),
        key="projets_map",
        height=460,
    )


def downloads(export: pl.DataFrame) -> None:
    """Files built on click only (callables): an XLSX of 1 700 QPV costs ~1 s, too much for every rerun."""
    dl_csv, dl_xlsx = st.columns(2)
    with dl_csv:
        st.download_button(
            "Télécharger (CSV)",
            data=lambda: tables.to_csv_bytes(export),
            file_name="projets_de_quartier.csv",
            mime="text/csv",
            key="projets_dl_csv",
            icon=":material/download:",
        )
    with dl_xlsx:
        st.download_button(
            "Télécharger (Excel)",
            data=lambda: tables.to_xlsx_bytes({"Projets de quartier": export}),
            file_name="projets_de_quartier.xlsx",
            key="projets_dl_xlsx",
            icon=":material/download:",
            mime=tables.XLSX_MIME,
        )


def objectif_key(code_objectif: str) -> str:
    """The session-state key of an objective's expander (True: open)."""
    return f"projets_objectif_{code_objectif}"


def objective(
    obj: dict,
    *,
    transversal: bool,
    expanded: bool,
    actions: pl.DataFrame,
    indicators: pl.DataFrame,
    series: pl.DataFrame,
    chosen: str,
) -> None:
    """One objective as an expander: its actions, its indicators (for a transversal objective, those of
    the chosen quartier) and their trajectories, two per row. Built only while open (opening it reruns
    the page): the quartier's objectives and the contract's transversal ones, all built closed, were more
    than half the page's bytes and ≈ 1 s of its drawing in the browser (docs/performance.md, item 10).
    Its key `objectif_key` keeps it open across reruns."""
    box = st.expander(
        fig.objective_title(obj),
        icon=ICONS[obj["statut"]],
        expanded=expanded,
        key=objectif_key(obj["code_objectif"]),
        on_change="rerun",
    )
    with box:
        if not box.open:
            return
        st.write(obj["motif"])
        acts = actions.filter(pl.col("code_objectif") == obj["code_objectif"])
        st.markdown(f"**Actions** ({fmt.integer(acts.height)})")
        if acts.is_empty():
            st.caption("Aucune action rattachée à cet objectif.")
        else:
            widgets.table(fig.actions_display(acts), hide_index=True, key=f"projets_actions_{obj['code_objectif']}")
        inds = indicators.filter(pl.col("code_objectif") == obj["code_objectif"])
        if transversal:
            inds = inds.filter(pl.col("code_qp") == chosen)
        st.markdown(f"**Indicateurs** ({fmt.integer(inds['code_indicateur'].n_unique())})")
        if inds.is_empty():
            st.caption("Aucun indicateur rattaché à cet objectif pour ce quartier.")
            return
        widgets.table(fig.indicators_display(inds), hide_index=True, key=f"projets_ind_{obj['code_objectif']}")
        chart_cols = st.columns(2)
        for k, ind in enumerate(inds.iter_rows(named=True)):  # the objective's few indicators
            values = series.filter(pl.col("code_indicateur") == ind["code_indicateur"])
            with chart_cols[k % 2]:
                if values.is_empty() and ind["valeur_cible"] is None:
                    st.caption(
                        f"{fmt.md(ind['indicateur'])} : aucune valeur connue ni cible, pas de trajectoire à tracer."
                    )
                    continue
                widgets.chart(
                    fig.trajectory_chart(ind, values), height=260, key=f"projets_chart_{obj['code_objectif']}_{k}"
                )
