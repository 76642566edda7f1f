"""« Jalons et actualisation 2027 »: the 2024-2030 road, the rapport annuel, readiness for 2027,
the baseline frozen at signature and what changed since."""

from datetime import date

import altair as alt
import polars as pl
import streamlit as st

from cdv_core import fmt, ui
from cdv_core.domain import model, readiness as rd
from cdv_core.edits import jalons as edits
from cdv_core.queries import jalons
from cdv_core.ui import nav, rapport_cycle, rapport_document
from cdv_core.ui import publishable as pub
from cdv_core.ui.downloads import download_buttons

TITLE = "Jalons et actualisation 2027"
MAX_ROWS = 200

ctx = ui.bootstrap(TITLE)
ui.page_header(TITLE, ctx)

countdown = ui.cached(ctx, jalons.countdown, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
ready = ui.cached(ctx, jalons.readiness, contrat=ctx.contrat, donnees_au=ctx.donnees_au,
                  max_age_months=ctx.settings.indicator_max_age_months)
counts = ui.cached(ctx, jalons.milestone_counts, contrat=ctx.contrat, donnees_au=ctx.donnees_au)


# --- headline -------------------------------------------------------------------------------
with st.container(key="jalons_kpis"):
    cols = st.columns(4)
    with cols[0]:
        days = countdown["jours"]
        ui.kpi("Actualisation 2027", f"J-{fmt.integer(days)}" if days >= 0 else f"dépassée de {fmt.plural(-days, 'jour')}",
               help=f"Échéance : {fmt.long_day(countdown['date'])}"
                    + ("" if countdown["jalon_enregistre"] else " (aucun jalon enregistré : fin 2027 par défaut)"))
    with cols[1]:
        st.metric("Préparation de l'actualisation", f"{fmt.integer(ready['remplis'])} / {fmt.integer(ready['total'])} critères",
                  delta="prêt" if ready["pret"] else f"{fmt.integer(ready['a_completer'])} à compléter",
                  delta_color="green" if ready["pret"] else "red", delta_arrow="off", help=rd.score_rule(),
                  border=True)
    with cols[2]:
        ui.kpi("Jalons réalisés", fmt.integer(counts[rd.STATUT_FAIT]),
               help=f"Sur {fmt.plural(counts['total'], 'jalon')} enregistrés, à la date des données.")
    with cols[3]:
        st.metric("Jalons en retard", fmt.integer(counts[rd.STATUT_RETARD]),
                  delta=f"{fmt.integer(counts[rd.STATUT_A_VENIR])} à venir", delta_color="gray", delta_arrow="off",
                  help="Jalon non réalisé dont la date prévue est passée à la date des données.", border=True)

tab_ready, tab_road, tab_rapport, tab_base, tab_edit = st.tabs(
    ["Préparation 2027", "Frise 2024-2030", "Rapport annuel", "Référence et évolutions", "Saisir un jalon"],
    key="jalons_onglets")

with tab_rapport:  # the rapport annuel: its life cycle, then its draft (cdv_core/ui/rapport_*.py)
    rapport_cycle.section(ctx)
    rapport_document.section(ctx)

# --- readiness checklist --------------------------------------------------------------------
with tab_ready:
    st.caption(rd.score_rule())
    items = ready["items"]
    missing = items.filter(~pl.col("ok"))
    with st.container(key="jalons_verdict"):
        if ready["pret"]:
            st.success(f"Prêt pour l'actualisation : les {fmt.integer(ready['total'])} critères sont remplis.",
                       icon=":material/verified:")
        else:
            st.warning(f"Pas encore prêt pour l'actualisation ({fmt.integer(ready['remplis'])} / "
                       f"{fmt.integer(ready['total'])} critères). "
                       f"À compléter : {' ; '.join(missing['libelle'].to_list())}.", icon=":material/warning:")
    with st.container(key="jalons_checklist"):
        for item in items.iter_rows(named=True):  # the 8 checklist items, not data rows
            mark = ":green[:material/check_circle:]" if item["ok"] else ":red[:material/cancel:]"
            left, right = st.columns([3, 1.3], vertical_alignment="center")
            with left:
                st.markdown(f"{mark} **{item['libelle']}**", help="Règle : " + item["regle"])
                st.caption(fmt.md(item["preuve"]))  # it names QPV and indicators
            with right:
                if item["ok"]:
                    pass
                elif item["page"] == TITLE:  # fixed on this very page
                    st.markdown(":material/arrow_forward: Compléter : onglet « Saisir un jalon »")
                else:
                    st.page_link(nav.page_path(item["page"]), label=f"Compléter : {item['page']}",
                                 icon=":material/arrow_forward:")
    if ctx.contrat is None and ready["contrats"].height > 1:
        st.subheader("Préparation par contrat")
        per = ready["contrats"]
        st.caption(f"{fmt.plural(ready['contrats_prets'], 'contrat prêt', 'contrats prêts')} sur "
                   f"{fmt.integer(per.height)} ; les moins avancés en premier"
                   + (f" ({fmt.integer(MAX_ROWS)} premiers affichés ; le téléchargement contient tout)."
                      if per.height > MAX_ROWS else "."))
        shown = per.head(MAX_ROWS).select(
            pl.col("contrat").alias("Contrat"),
            pl.format("{} / {}", "remplis", pl.lit(ready["total"])).alias("Critères remplis"),
            pl.when(pl.col("pret")).then(pl.lit("oui")).otherwise(pl.lit("non")).alias("Prêt"),
            pl.col("manquants").alias("À compléter"))
        st.dataframe(shown, hide_index=True, key="jalons_table_contrats")
        download_buttons(per.select(pl.col("code_contrat").alias("Code contrat"), pl.col("contrat").alias("Contrat"),
                                    pl.col("remplis").alias("Critères remplis"), pl.col("pret").alias("Prêt"),
                                    pl.col("manquants").alias("À compléter")),
                         basename="preparation_actualisation", key="jalons_dl_contrats")

# --- timeline -------------------------------------------------------------------------------
with tab_road:
    points = ui.cached(ctx, jalons.timeline, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    if points.is_empty():
        st.info("Aucun jalon enregistré pour cette sélection.", icon=":material/info:")
    else:
        colors = alt.Scale(domain=list(rd.STATUTS_JALON), range=[rd.STATUT_COLORS[s] for s in rd.STATUTS_JALON])
        # 2024-2030 with a small margin for the autumn-2023 appels à projets and the 31/12/2030 end;
        # one tick a year, on 1 January, from 2024 to 2030 (no « 2031 »).
        x_scale = alt.Scale(domain=[rd.TIMELINE_START.isoformat(), rd.TIMELINE_END.isoformat()])
        years = [alt.DateTime(year=y, month=1, date=1) for y in range(rd.TIMELINE_START.year + 1, rd.TIMELINE_END.year)]
        types = [t for t in model.TYPES_JALON if t in set(points["type_jalon"].to_list())]
        every_contract = ctx.contrat is None
        base = alt.Chart(points).encode(
            x=alt.X("date_prevue:T", title=None, scale=x_scale, axis=alt.Axis(format="%Y", values=years)),
            y=alt.Y("type_jalon:N", title=None, sort=types, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        )
        # « Tous les contrats »: one sub-row per status, so that milestones due the same day with
        # different statuses sit side by side instead of hiding each other.
        offset = {"yOffset": alt.YOffset("statut:N", sort=list(rd.STATUTS_JALON))} if every_contract else {}
        dots = base.mark_point(filled=True, opacity=0.9, stroke="white", strokeWidth=1).encode(
            **offset,
            color=alt.Color("statut:N", title="Statut", scale=colors, legend=alt.Legend(orient="top")),
            size=alt.Size("nombre:Q", title="Contrats", legend=None,
                          scale=alt.Scale(range=[40, 230] if every_contract else [70, 400])),
            tooltip=[alt.Tooltip("libelle:N", title="Jalon"), alt.Tooltip("date_prevue:T", title="Prévu le", format="%d/%m/%Y"),
                     alt.Tooltip("statut:N", title="Statut"), alt.Tooltip("nombre:Q", title="Nombre de contrats")],
        )
        # The two reference dates are named in a legend (labels written on the chart overlapped).
        au_label = f"données au {fmt.day(ctx.donnees_au)}"
        actu_label = f"actualisation : {fmt.day(countdown['date'])}"
        marks = pl.DataFrame({"date": [ctx.donnees_au, countdown["date"]], "repere": [au_label, actu_label]})
        rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3], strokeWidth=2).encode(
            x="date:T",
            color=alt.Color("repere:N", title="Repères", scale=alt.Scale(domain=[au_label, actu_label],
                                                                        range=["#1565c0", "#ef6c00"]),
                            legend=alt.Legend(orient="top", symbolType="stroke", symbolStrokeWidth=2,
                                              symbolDash=[4, 3])),
            tooltip=[alt.Tooltip("repere:N", title="Repère")])
        chart = (alt.layer(dots, rules).resolve_scale(color="independent")
                 .properties(height={"step": 20 if every_contract else 40}))  # with yOffset: a status sub-row
        with st.container(key="jalons_frise"):
            st.altair_chart(ui.altair_fr(chart), width="stretch", key="jalons_chart_frise")
        st.caption("Un jalon est **réalisé** si sa date de réalisation est antérieure ou égale à la date des données, "
                   "**en retard** s'il n'est pas réalisé et que sa date prévue est passée, **à venir** sinon. "
                   + ("La taille des points indique le nombre de contrats." if ctx.contrat is None else ""))

    st.subheader("Jalons en retard")
    late = ui.cached(ctx, jalons.milestones, contrat=ctx.contrat, donnees_au=ctx.donnees_au, statut=rd.STATUT_RETARD)
    if late.is_empty():
        st.success("Aucun jalon en retard à la date des données.", icon=":material/check_circle:")
    else:
        late_sorted = late.sort("jours_retard", descending=True)
        st.dataframe(late_sorted.head(MAX_ROWS).select(
            pl.col("date_prevue").alias("Prévu le"), pl.col("jours_retard").alias("Retard (jours)"),
            pl.col("type_jalon").alias("Type"), pl.col("libelle").alias("Jalon"),
            *([pl.col("contrat").alias("Contrat")] if ctx.contrat is None else [])),
            hide_index=True, key="jalons_table_retard",
            column_config={"Prévu le": st.column_config.DateColumn(format="DD/MM/YYYY")})
        if late.height > MAX_ROWS:
            st.caption(f"{fmt.integer(MAX_ROWS)} premiers sur {fmt.integer(late.height)} : téléchargez la liste "
                       "complète dans « Tous les jalons » ci-dessous.")

    every = ui.cached(ctx, jalons.milestones, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    with st.expander(f"Tous les jalons ({fmt.integer(every.height)})"):
        st.dataframe(every.head(MAX_ROWS).select(
            *([pl.col("contrat").alias("Contrat")] if ctx.contrat is None else []),
            pl.col("type_jalon").alias("Type"), pl.col("libelle").alias("Jalon"), pl.col("date_prevue").alias("Prévu le"),
            pl.col("date_realisation").alias("Réalisé le"), pl.col("statut").alias("Statut")),
            hide_index=True, key="jalons_table_tous", placeholder="—",
            column_config={c: st.column_config.DateColumn(format="DD/MM/YYYY") for c in ("Prévu le", "Réalisé le")})
        if every.height > MAX_ROWS:
            st.caption(fmt.capped_note(MAX_ROWS, every.height))
        download_buttons(every.select(
            pl.col("id_jalon").alias("Identifiant"), pl.col("code_contrat").alias("Code contrat"),
            pl.col("contrat").alias("Contrat"), pl.col("type_jalon").alias("Type"), pl.col("libelle").alias("Jalon"),
            pl.col("annee").alias("Année"), pl.col("date_prevue").alias("Prévu le"),
            pl.col("date_realisation").alias("Réalisé le"), pl.col("statut").alias("Statut"),
            pl.col("jours_retard").alias("Jours de retard")), basename="jalons", key="jalons_dl_jalons")

# --- baseline and what changed since --------------------------------------------------------
with tab_base:
    if ctx.contrat is None:
        st.info("Choisissez un contrat dans la barre latérale pour figer une référence et voir ce qui a changé depuis.",
                icon=":material/info:")
    else:
        frozen = ui.cached(ctx, jalons.baselines, contrat=ctx.contrat)
        contracts = ui.cached(ctx, jalons.contract_dates, contrat=ctx.contrat)
        if frozen.is_empty():
            st.info("Aucune référence figée pour ce contrat : figez l'état à la signature pour suivre les évolutions.",
                    icon=":material/info:")
        else:
            ids = frozen["id_gel"].to_list()
            names = {r["id_gel"]: f"{r['libelle']} — état au {fmt.day(r['date_gel'])} (figée le {fmt.timestamp(r['created_at'])})"
                     for r in frozen.iter_rows(named=True)}  # a few baselines
            if st.session_state.get("jalons_new_reference") in ids:  # show the baseline just frozen
                st.session_state["jalons_reference"] = st.session_state.pop("jalons_new_reference")
            chosen = st.selectbox("Référence", ids, format_func=names.get, key="jalons_reference")
            diff = ui.cached(ctx, jalons.baseline_diff, id_gel=chosen, donnees_au=ctx.donnees_au)
            gel = diff["gel"]
            st.caption(f"Comparaison de l'état au **{fmt.day(gel['date_gel'])}** (programmation {gel['annee_programmation']}) "
                       f"avec l'état au **{fmt.day(ctx.donnees_au)}** (programmation {diff['annee_maintenant']}). "
                       "La référence est une photographie enregistrée : les imports ultérieurs ne la modifient pas.")

            st.subheader("Objectifs ajoutés ou supprimés")
            obj = diff["objectifs"]
            with st.container(key="jalons_diff_objectifs"):
                if obj.is_empty():
                    st.success("Aucun objectif ajouté, supprimé ou renommé depuis la référence.", icon=":material/check_circle:")
                else:
                    st.markdown(" · ".join(f"**{fmt.integer(c)}** {k}" for k, c in diff["changements"].items()))
                    st.dataframe(obj.select(pl.col("changement").alias("Changement"), pl.col("code_objectif").alias("Objectif"),
                                            pl.col("code_qp").alias("QPV"), pl.col("axe").alias("Axe"),
                                            pl.col("libelle_avant").fill_null("—").alias("Libellé à la référence"),
                                            pl.col("libelle_maintenant").fill_null("—").alias("Libellé actuel")),
                                 hide_index=True, key="jalons_table_objectifs")

            st.subheader("Programmation par thématique : référence et aujourd'hui")
            th = diff["thematiques"]
            with st.container(key="jalons_diff_thematiques"):
                if th.is_empty():
                    st.info("Aucune action programmée ni à la référence ni aujourd'hui.", icon=":material/info:")
                else:
                    then_label = f"{gel['annee_programmation']} (référence)"
                    now_label = f"{diff['annee_maintenant']} (aujourd'hui)"
                    bars = pl.concat([
                        th.select("thematique", "libelle", pl.lit(then_label).alias("periode"),
                                  pl.col("montant_avant").alias("montant"), pl.col("actions_avant").alias("actions")),
                        th.select("thematique", "libelle", pl.lit(now_label).alias("periode"),
                                  pl.col("montant_maintenant").alias("montant"), pl.col("actions_maintenant").alias("actions")),
                    ]).with_columns((pl.col("thematique") + " " + pl.col("libelle")).alias("theme"))
                    chart = alt.Chart(bars).mark_bar().encode(
                        y=alt.Y("theme:N", title=None, axis=alt.Axis(labelLimit=320)),
                        yOffset=alt.YOffset("periode:N", sort=[then_label, now_label]),
                        x=alt.X("montant:Q", title="Montant accordé (€)", axis=alt.Axis(format=",.0f")),
                        color=alt.Color("periode:N", title=None, sort=[then_label, now_label],
                                        scale=alt.Scale(range=["#9e9e9e", "#1565c0"]), legend=alt.Legend(orient="top")),
                        tooltip=[alt.Tooltip("theme:N", title="Thématique"), alt.Tooltip("periode:N", title="Année"),
                                 alt.Tooltip("montant:Q", title="Montant accordé", format=",.0f"),
                                 alt.Tooltip("actions:Q", title="Actions")],
                    ).properties(height=36 * th.height + 40)
                    st.altair_chart(ui.altair_fr(chart), width="stretch", key="jalons_chart_thematiques")
                    table = jalons.thematiques_table(th, then_label=then_label, now_label=now_label)
                    st.dataframe(table, hide_index=True, key="jalons_table_thematiques")

            st.subheader("Indicateurs : valeur à la référence et dernière valeur")
            ind = pub.people_values(ctx, diff["indicateurs"], values=("valeur_avant", "valeur_maintenant"),
                                    derived=("ecart", "evolution"))  # a partenaire: small counts of people left out
            with st.container(key="jalons_diff_indicateurs"):
                if ind.is_empty():
                    st.info("Aucune valeur d'indicateur pour les QPV de ce contrat.", icon=":material/info:")
                else:
                    evol = diff["evolutions"]
                    st.markdown(f"**{fmt.integer(evol['favorable'])}** évolutions favorables · "
                                f"**{fmt.integer(evol['défavorable'])}** défavorables "
                                f"sur {fmt.integer(ind.height)} couples indicateur × QPV (selon le sens souhaité de l'indicateur).")
                    st.dataframe(jalons.indicator_diff_table(ind.head(MAX_ROWS)), hide_index=True,
                                 key="jalons_table_indicateurs", placeholder="—",
                                 column_config={c: st.column_config.DateColumn(format="DD/MM/YYYY")
                                                for c in ("Date (référence)", "Date (dernière)")})
                    if ind.height > MAX_ROWS:
                        st.caption(fmt.capped_note(MAX_ROWS, ind.height))
                    download_buttons(jalons.indicator_diff_export(ind), basename="evolution_indicateurs",
                                     key="jalons_dl_indicateurs")

        st.subheader("Figer une référence")
        signature = contracts["date_signature"][0] if contracts.height else None
        if not ctx.can_write():
            st.caption("Votre rôle ne permet pas de figer une référence.")
        else:
            with st.form("jalons_gel_form", clear_on_submit=False):
                st.caption("Enregistre une photographie du contrat à la date choisie (objectifs, programmation de l'année "
                           "par thématique, dernières valeurs des indicateurs). Elle ne sera plus jamais modifiée.")
                gel_date = st.date_input("État à la date du", value=signature or ctx.donnees_au, format="DD/MM/YYYY",
                                         key="jalons_gel_date", help="Par défaut : la date de signature du contrat.")
                gel_label = st.text_input("Libellé", value="Référence à la signature" if gel_date == signature else "",
                                          key="jalons_gel_libelle", placeholder="Ex. : Référence à la signature")
                if st.form_submit_button("Figer la référence", icon=":material/ac_unit:", key="jalons_gel_submit"):
                    ui.write(ctx, edits.freeze_baseline, success=f"Référence figée : état au {fmt.day(gel_date)}.",
                             on_success=lambda id_gel: st.session_state.update(jalons_new_reference=id_gel),
                             code_contrat=ctx.contrat, date_gel=gel_date, libelle=gel_label)

# --- forms ----------------------------------------------------------------------------------
with tab_edit:
    if ctx.contrat is None:
        st.info("Choisissez un contrat dans la barre latérale pour ajouter un jalon ou en marquer un comme réalisé.",
                icon=":material/info:")
    elif not ctx.can_write():
        st.info("Votre rôle permet de consulter ce contrat, pas de modifier ses jalons.", icon=":material/lock:")
    else:
        left, right = st.columns(2)
        with left, st.form("jalons_add_form"):
            st.markdown("**Ajouter un jalon**")
            j_type = st.selectbox("Type", model.TYPES_JALON, key="jalons_add_type")
            j_label = st.text_input("Libellé", key="jalons_add_libelle", placeholder="Ex. : Rapport annuel 2026 voté")
            j_planned = st.date_input("Date prévue (JJ/MM/AAAA)", value=None, format="DD/MM/YYYY", key="jalons_add_prevue",
                                      min_value=date(2022, 1, 1), max_value=date(2031, 12, 31))
            j_done = st.date_input("Date de réalisation, si déjà réalisé (JJ/MM/AAAA)", value=None, format="DD/MM/YYYY",
                                   key="jalons_add_realisation", min_value=date(2022, 1, 1), max_value=date(2031, 12, 31))
            j_year = st.number_input("Exercice concerné (facultatif)", min_value=2014, max_value=2035, value=None,
                                     step=1, key="jalons_add_annee",
                                     help="Par défaut, l'année de la date prévue.")
            if st.form_submit_button("Ajouter le jalon", icon=":material/add:", key="jalons_add_submit"):
                ui.write(ctx, edits.add_milestone, success=f"Jalon ajouté : {fmt.md(j_label)}.", code_contrat=ctx.contrat,
                         type_jalon=j_type, libelle=j_label, date_prevue=j_planned, date_realisation=j_done,
                         annee=int(j_year) if j_year is not None else None)
        open_ones = ui.cached(ctx, jalons.open_milestones, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
        with right, st.form("jalons_done_form"):
            st.markdown("**Marquer un jalon comme réalisé**")
            if open_ones.is_empty():
                st.caption("Tous les jalons de ce contrat sont réalisés.")
            ids = open_ones["id_jalon"].to_list()
            names = dict(zip(ids, open_ones["choix"].to_list()))
            d_id = st.selectbox("Jalon", ids, format_func=names.get, key="jalons_done_id",
                                help="Les jalons en retard sont proposés en premier.")
            d_date = st.date_input("Réalisé le", value=min(ctx.donnees_au, date.today()), format="DD/MM/YYYY",
                                   key="jalons_done_date", min_value=date(2022, 1, 1), max_value=date(2031, 12, 31))
            if st.form_submit_button("Enregistrer la réalisation", icon=":material/task_alt:", key="jalons_done_submit"):
                ui.write(ctx, edits.mark_done, success=f"Jalon marqué réalisé le {fmt.day(d_date)}.", id_jalon=d_id,
                         date_realisation=d_date)
