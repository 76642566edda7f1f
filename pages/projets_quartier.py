"""« Projets de quartier »: where each projet de quartier stands, with a stated rule and a map.

Blocks: the status cards, the map beside the chosen quartier's summary, the table of all quartiers,
then the chosen quartier's objectives with their actions and indicators. Figures:
`cdv_core.figures.projets`; drawing: `cdv_core.ui.projets`."""

import polars as pl
import streamlit as st

from cdv_core import fmt, links, ui
from cdv_core.domain import progress
from cdv_core.figures import projets as fig
from cdv_core.queries import projets
from cdv_core.ui import maps
from cdv_core.ui import projets as view
from cdv_core.ui import publishable as pub

TABLE_ROWS = 200  # QPV rows shown on screen; the download has them all


def chosen_quartier(rows: pl.DataFrame) -> str:
    """The quartier to detail (a shared link's `qpv`, checked on the page's first run), and its summary."""
    st.subheader("Quartier à détailler")
    labels = fig.choice_labels(rows)
    codes = list(labels)
    wanted = st.query_params.get("qpv")
    if "projets_qpv_lien" not in st.session_state:  # a shared link's QPV: checked on the page's first run
        st.session_state["projets_qpv_lien"] = True
        wanted, problem = links.known(
            "qpv", wanted, codes, expected="un code de QPV de la sélection", instead="du quartier le plus préoccupant"
        )
        if problem:
            ui.url_warning(problem)
    chosen = st.selectbox(
        "Quartier",
        codes,
        index=codes.index(wanted) if wanted in labels else 0,
        format_func=labels.get,
        key=f"projets_qpv_{ctx.contrat or 'tous'}",
        help="Les quartiers sont classés du plus préoccupant au plus avancé.",
    )
    st.query_params["qpv"] = chosen
    history = ui.cached(ctx, projets.status_history, contrat=None, code_qp=chosen, donnees_au=ctx.donnees_au)
    view.summary(ctx, rows.row(by_predicate=pl.col("code_qp") == chosen, named=True), history)
    return chosen


def all_quartiers(rows: pl.DataFrame) -> None:
    st.subheader("Tous les quartiers de la sélection")
    table = fig.qpv_display(rows, with_contract=ctx.contrat is None)
    ui.table(
        table,
        rows=TABLE_ROWS,
        hide_index=True,
        key="projets_table",
        column_config={"Motif": st.column_config.TextColumn(width="large")},
    )
    if note := fig.table_cap_note(TABLE_ROWS, table.height):
        st.caption(note)
    view.downloads(fig.qpv_export(rows))


def objectives(qpv: dict) -> None:
    """The chosen quartier's objectives, then the contract's transversal ones."""
    chosen = qpv["code_qp"]
    st.header(f"{fmt.md(qpv['libelle'])} : objectifs, actions, indicateurs")
    local, transversal = fig.ordered_objectives(
        ui.cached(ctx, projets.qpv_objectives, code_qp=chosen, donnees_au=ctx.donnees_au)
    )
    actions = ui.cached(ctx, projets.qpv_actions, code_qp=chosen, donnees_au=ctx.donnees_au)
    # a partenaire: no value of an indicator counting people below the secret threshold (nor its chart point)
    indicators = pub.people_values(
        ctx,
        ui.cached(ctx, projets.qpv_indicators, code_qp=chosen, donnees_au=ctx.donnees_au),
        values=("valeur_reference", "valeur_cible", "valeur"),
        derived=("realise", "attendu", "mesure", "cible_atteinte"),
    )
    series = ui.cached(ctx, projets.indicator_series, code_qp=chosen, donnees_au=ctx.donnees_au)
    if pub.only(ctx):
        series = pub.people_values(
            ctx,
            series.join(
                indicators.select("code_indicateur", "unite", "indicateur").unique("code_indicateur"),
                on="code_indicateur",
                how="left",
            ),
            values=("valeur",),
        ).drop_nulls("valeur")
    parts = dict(actions=actions, indicators=indicators, series=series, chosen=chosen)
    with st.container(key="projets_objectifs"):
        st.subheader("Objectifs du projet de quartier")
        if local.is_empty():
            st.warning(
                "Ce quartier n'a aucun objectif de quartier enregistré : son projet de quartier reste à "
                "saisir (Mise à jour des données).",
                icon=":material/warning:",
            )
        st.caption("Du plus préoccupant au plus avancé ; ouvrez un objectif pour voir ses actions et ses indicateurs.")
        for k, obj in enumerate(local.iter_rows(named=True)):  # a handful of objectives
            view.objective(obj, transversal=False, expanded=k == 0, **parts)
    with st.container(key="projets_transversaux"):
        st.subheader("Objectifs transversaux du contrat")
        st.caption(
            "Ils concernent tout le contrat : leur statut ne compte pas dans celui du quartier. Les indicateurs "
            "sont montrés pour ce quartier ; le statut les prend en compte pour tous les QPV du contrat."
        )
        if transversal.is_empty():
            st.caption("Aucun objectif transversal enregistré pour ce contrat.")
        for obj in transversal.iter_rows(named=True):
            view.objective(obj, transversal=True, expanded=False, **parts)


ctx = ui.bootstrap("Projets de quartier")
ui.page_header("Projets de quartier", ctx)
rows = ui.cached(ctx, projets.qpv_overview, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
if rows.is_empty():
    st.info("Aucun quartier prioritaire n'est enregistré pour cette sélection.", icon=":material/info:")
    st.stop()
totals = ui.cached(ctx, projets.contract_totals, contrat=ctx.contrat)
with st.container(key="projets_kpis"):
    for row in fig.status_cards(projets.status_counts(rows), totals, quartiers=rows.height):
        ui.card_row(row)
with st.expander("Comment ce statut est-il calculé ?", icon=":material/help:"):
    st.markdown(progress.explain())

left, right = st.columns([1.4, 1], gap="medium")
with left:
    st.subheader("Carte des quartiers")
    map_slot = st.container(key="projets_carte")  # drawn below, once the chosen quartier is known
    st.markdown(maps.legend())
    st.caption(
        "Contours quand ils sont connus, sinon un point au centre du quartier. "
        + maps.attribution(ctx.settings.map_tiles)
        + "."
    )
with right:
    code_qp = chosen_quartier(rows)
with map_slot:
    view.qpv_map(ctx, rows, chosen=code_qp)
all_quartiers(rows)
objectives(rows.row(by_predicate=pl.col("code_qp") == code_qp, named=True))
