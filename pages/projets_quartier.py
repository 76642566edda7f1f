"""« Projets de quartier »: where each projet de quartier stands, with a stated rule and a map."""

import altair as alt
import polars as pl
import streamlit as st

from cdv_core import charts, fmt, links, tables, ui
from cdv_core.domain import progress
from cdv_core.queries import projets
from cdv_core.ui import maps
from cdv_core.ui import publishable as pub

TABLE_ROWS = 200  # QPV rows shown on screen; the download has them all
PERIODE = "toutes années"  # the amounts cards sum every funding year (as « Financements » says it)

ctx = ui.bootstrap("Projets de quartier")
ui.page_header("Projets de quartier", ctx)

rows = ui.cached(ctx, projets.qpv_overview, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
totals = ui.cached(ctx, projets.contract_totals, contrat=ctx.contrat)
counts = projets.status_counts(rows)

if rows.is_empty():
    st.info("Aucun quartier prioritaire n'est enregistré pour cette sélection.", icon=":material/info:")
    st.stop()

with st.container(key="projets_kpis"):
    cols = st.columns(4)
    for col, status in zip(cols, progress.STATUTS):
        with col:
            ui.kpi(status.capitalize(), fmt.plural(counts[status], "quartier"),
                   help="Nombre de quartiers dans ce statut (voir « Comment ce statut est-il calculé ? »).")
    cols = st.columns(4)
    with cols[0]:
        ui.kpi("Quartiers prioritaires", fmt.integer(rows.height))
    with cols[1]:
        # The period is in the label: « Vue d'ensemble » shows the current year's amount.
        ui.kpi(f"Accordé aux actions en QPV ({PERIODE})", fmt.euros_compact(totals["accorde_qpv"]),
               help=f"{fmt.euros(totals['accorde_qpv'])} accordés, toutes années de financement, chaque action "
                    "comptée une fois ; réparti entre quartiers selon les parts de répartition (la somme des "
                    "quartiers redonne ce total).")
    with cols[2]:
        ui.kpi(f"Versé aux actions en QPV ({PERIODE})", fmt.euros_compact(totals["verse_qpv"]),
               help=f"{fmt.euros(totals['verse_qpv'])} versés, toutes années de financement.")
    with cols[3]:
        ui.kpi(f"Accordé hors QPV ({PERIODE})", fmt.euros_compact(totals["accorde_hors_qpv"]),
               help=f"{fmt.euros(totals['accorde_hors_qpv'])} accordés, toutes années, aux actions rattachées à "
                    "aucun QPV (déclarées hors QPV, ou dont le lien QPV manque) : hors des totaux par quartier.")

with st.expander("Comment ce statut est-il calculé ?", icon=":material/help:"):
    st.markdown(progress.explain())

left, right = st.columns([1.4, 1], gap="medium")
with left:
    st.subheader("Carte des quartiers")
    map_slot = st.container(key="projets_carte")  # drawn below, once the chosen quartier is known
    st.markdown(maps.legend())
    st.caption("Contours quand ils sont connus, sinon un point au centre du quartier. "
               + maps.attribution(ctx.settings.map_tiles) + ".")
with right:
    st.subheader("Quartier à détailler")
    ordered = projets.most_worrying_first(rows)
    labels = dict(zip(ordered["code_qp"].to_list(),
                      # the status first: a long name cuts the code at the end, never the status
                      (ordered["statut"].str.slice(0, 1).str.to_uppercase() + ordered["statut"].str.slice(1) + " — "
                       + ordered["libelle"] + " (" + ordered["code_qp"] + ")").to_list()))
    codes = list(labels)
    wanted = st.query_params.get("qpv")
    if "projets_qpv_lien" not in st.session_state:  # a shared link's QPV: checked on the page's first run
        st.session_state["projets_qpv_lien"] = True
        wanted, problem = links.known("qpv", wanted, codes, expected="un code de QPV de la sélection",
                                      instead="du quartier le plus préoccupant")
        if problem:
            ui.url_warning(problem)
    chosen = st.selectbox("Quartier", codes, index=codes.index(wanted) if wanted in labels else 0,
                          format_func=labels.get, key=f"projets_qpv_{ctx.contrat or 'tous'}",
                          help="Les quartiers sont classés du plus préoccupant au plus avancé.")
    st.query_params["qpv"] = chosen
    qpv = rows.row(by_predicate=pl.col("code_qp") == chosen, named=True)
    with st.container(key="projets_resume", border=True):
        st.markdown(f"**{fmt.md(qpv['projet']) if qpv['projet'] else 'Pas de projet de quartier enregistré'}**")
        st.badge(projets.since_text(qpv["statut"], qpv["depuis"], qpv["depuis_premier"]),
                 color=maps.STATUS_PALETTE[qpv["statut"]][1], icon=":material/flag:")
        st.write(fmt.md(qpv["motif"]))  # it names objectives
        st.caption(f"{fmt.plural(qpv['n_objectifs'], 'objectif')} de quartier · "
                   f"{fmt.plural(qpv['n_actions'], 'action')} · accordé {fmt.euros(qpv['accorde'])}, "
                   f"versé {fmt.euros(qpv['verse'])} (part du quartier, {PERIODE})")
        if qpv["enjeux"]:
            st.caption(f"Enjeux : {fmt.md(qpv['enjeux'])}")
        history = ui.cached(ctx, projets.status_history, contrat=None, code_qp=chosen, donnees_au=ctx.donnees_au)
        if not history.is_empty():
            st.altair_chart(ui.altair_fr(charts.status_timeline(
                history, until=ctx.donnees_au, colors=maps.STATUS_HEX)), key="projets_statuts_releves")
        else:
            st.caption("Aucun relevé de statut pour ce quartier : l'historique commence au prochain relevé.")

with map_slot:
    st.pydeck_chart(maps.qpv_map(
        maps.with_status_color(projets.map_frame(rows)), color_column="couleur", chosen=chosen,
        tooltip_html="<b>{libelle}</b><br/>{code_qp} · {lib_com}<br/>Statut : {statut}<br/>Population : {population}",
        tiles=ctx.settings.map_tiles),
        key="projets_map", height=460)

st.subheader("Tous les quartiers de la sélection")
table = projets.qpv_display(rows, with_contract=ctx.contrat is None)
st.dataframe(table.head(TABLE_ROWS), hide_index=True, key="projets_table",
             column_config={"Motif": st.column_config.TextColumn(width="large")})
if table.height > TABLE_ROWS:
    st.caption(f"{fmt.integer(TABLE_ROWS)} premiers quartiers sur {fmt.integer(table.height)} "
               "(les plus préoccupants d'abord) ; le téléchargement contient tout.")
# Files are built on click only (callables): an XLSX of 1 700 QPV costs ~1 s, too much for every rerun.
export = projets.qpv_export(rows)
dl_csv, dl_xlsx = st.columns(2)
with dl_csv:
    st.download_button("Télécharger (CSV)", data=lambda: tables.to_csv_bytes(export), file_name="projets_de_quartier.csv",
                       mime="text/csv", key="projets_dl_csv", icon=":material/download:")
with dl_xlsx:
    st.download_button("Télécharger (Excel)", data=lambda: tables.to_xlsx_bytes({"Projets de quartier": export}),
                       file_name="projets_de_quartier.xlsx", key="projets_dl_xlsx", icon=":material/download:",
                       mime=tables.XLSX_MIME)

# --- drill-down: objectives → actions → indicators -------------------------------------------
st.header(f"{fmt.md(qpv['libelle'])} : objectifs, actions, indicateurs")
objectives = ui.cached(ctx, projets.qpv_objectives, code_qp=chosen, donnees_au=ctx.donnees_au)
actions = ui.cached(ctx, projets.qpv_actions, code_qp=chosen, donnees_au=ctx.donnees_au)
# a partenaire: no value of an indicator counting people below the secret threshold (nor its chart point)
indicators = pub.people_values(ctx, ui.cached(ctx, projets.qpv_indicators, code_qp=chosen, donnees_au=ctx.donnees_au),
                               values=("valeur_reference", "valeur_cible", "valeur"),
                               derived=("realise", "attendu", "mesure", "cible_atteinte"))
series = ui.cached(ctx, projets.indicator_series, code_qp=chosen, donnees_au=ctx.donnees_au)
if pub.only(ctx):
    series = pub.people_values(
        ctx, series.join(indicators.select("code_indicateur", "unite", "indicateur").unique("code_indicateur"),
                         on="code_indicateur", how="left"), values=("valeur",)).drop_nulls("valeur")

ICONS = {progress.EN_BONNE_VOIE: ":material/check_circle:", progress.A_SURVEILLER: ":material/warning:",
         progress.EN_RETARD: ":material/error:", progress.DONNEES_INSUFFISANTES: ":material/help:"}


def trajectory_chart(ind: dict, values: pl.DataFrame):
    """Known values, and the path from baseline to target (dashed), through the intermediate target."""
    path = pl.DataFrame({"date": [ind["date_reference"], ind["date_cible_intermediaire"], ind["date_cible"]],
                         "valeur": [ind["valeur_reference"], ind["valeur_cible_intermediaire"], ind["valeur_cible"]],
                         "série": ["trajectoire visée"] * 3}, schema={"date": pl.Date, "valeur": pl.Float64,
                                                                    "série": pl.String})
    known = values.select(pl.col("date_valeur").alias("date"), "valeur", pl.lit("valeurs connues").alias("série"))
    data = pl.concat([known, path.drop_nulls()], how="vertical_relaxed")
    color = alt.Color("série:N", title=None, scale=alt.Scale(domain=["valeurs connues", "trajectoire visée"],
                                                             range=["#1f4e79", "#ff8c00"]),
                      legend=alt.Legend(orient="top"))
    base = alt.Chart(data).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 1})),
        y=alt.Y("valeur:Q", title=ind["unite"], scale=alt.Scale(zero=False)),
        color=color, strokeDash=alt.StrokeDash("série:N", legend=None,
                                               scale=alt.Scale(domain=["valeurs connues", "trajectoire visée"],
                                                               range=[[1, 0], [6, 4]])),
        tooltip=[alt.Tooltip("série:N", title="Série"), alt.Tooltip("date:T", title="Date", format="%d/%m/%Y"),
                 alt.Tooltip("valeur:Q", title="Valeur", format=",.1f")])
    chart = base.mark_line(point=True).properties(title=ind["indicateur"])
    return ui.altair_fr(chart)


def objective_block(obj: dict, scope: str, *, expanded: bool) -> None:
    title = f"{fmt.md(obj['axe'])} — {fmt.md(obj['libelle'])} · {obj['statut']}"
    with st.expander(title, icon=ICONS[obj["statut"]], expanded=expanded):
        st.write(obj["motif"])
        acts = actions.filter(pl.col("code_objectif") == obj["code_objectif"])
        st.markdown(f"**Actions** ({fmt.integer(acts.height)})")
        if acts.is_empty():
            st.caption("Aucune action rattachée à cet objectif.")
        else:
            st.dataframe(projets.actions_display(acts), hide_index=True,
                         key=f"projets_actions_{obj['code_objectif']}")
        inds = indicators.filter(pl.col("code_objectif") == obj["code_objectif"])
        if scope == "transversal":
            inds = inds.filter(pl.col("code_qp") == chosen)
        st.markdown(f"**Indicateurs** ({fmt.integer(inds['code_indicateur'].n_unique())})")
        if inds.is_empty():
            st.caption("Aucun indicateur rattaché à cet objectif pour ce quartier.")
            return
        st.dataframe(projets.indicators_display(inds), hide_index=True,
                     key=f"projets_ind_{obj['code_objectif']}")
        chart_cols = st.columns(2)
        for k, ind in enumerate(inds.iter_rows(named=True)):  # the objective's few indicators
            values = series.filter(pl.col("code_indicateur") == ind["code_indicateur"])
            with chart_cols[k % 2]:
                if values.is_empty() and ind["valeur_cible"] is None:
                    st.caption(f"{fmt.md(ind['indicateur'])} : aucune valeur connue ni cible, pas de trajectoire à tracer.")
                    continue
                st.altair_chart(trajectory_chart(ind, values), height=260, key=f"projets_chart_{obj['code_objectif']}_{k}")


by_gravity = pl.col("statut").replace_strict(progress.STATUT_GRAVITE, return_dtype=pl.Int64)
objectives = objectives.sort(by_gravity, pl.col("ecart"), pl.col("libelle"), nulls_last=True)
local = objectives.filter(pl.col("portee") == "quartier")
transversal = objectives.filter(pl.col("portee") == "transversal")
with st.container(key="projets_objectifs"):
    st.subheader("Objectifs du projet de quartier")
    if local.is_empty():
        st.warning("Ce quartier n'a aucun objectif de quartier enregistré : son projet de quartier reste à "
                   "saisir (Mise à jour des données).", icon=":material/warning:")
    st.caption("Du plus préoccupant au plus avancé ; ouvrez un objectif pour voir ses actions et ses indicateurs.")
    for k, obj in enumerate(local.iter_rows(named=True)):  # a handful of objectives
        objective_block(obj, "quartier", expanded=k == 0)
with st.container(key="projets_transversaux"):
    st.subheader("Objectifs transversaux du contrat")
    st.caption("Ils concernent tout le contrat : leur statut ne compte pas dans celui du quartier. Les indicateurs "
               "sont montrés pour ce quartier ; le statut les prend en compte pour tous les QPV du contrat.")
    if transversal.is_empty():
        st.caption("Aucun objectif transversal enregistré pour ce contrat.")
    for obj in transversal.iter_rows(named=True):
        objective_block(obj, "transversal", expanded=False)
