"""« Gouvernance »: cadence of every instance, meetings calendar, residents' participation,
decision log, annual obligations, and the form to record a meeting and its decisions."""

from datetime import date

import altair as alt
import polars as pl
import streamlit as st

from cdv_core import fmt, ui
from cdv_core.domain import cadence, model
from cdv_core.edits import gouvernance as edits
from cdv_core.queries import gouvernance as gouv
from cdv_core.ui import publishable as pub
from cdv_core.ui.downloads import download_buttons

TABLE_CAP = 500            # rows shown in a table (the rest: filters or download)
FORM_MAX_INSTANCES = 600   # beyond this (national view) the form asks to pick a contract first
DECISION_SLOTS = 3
STATUS_COLORS = alt.Scale(domain=list(model.STATUTS_REUNION), range=["#9ecae1", "#2b8a3e", "#c92a2a", "#f08c00"])



ctx = ui.bootstrap("Gouvernance")
tolerance = ctx.settings.cadence_tolerance_days
ui.page_header("Gouvernance", ctx, subtitle=f"tolérance de {fmt.plural(tolerance, 'jour')} au-delà de la cadence")

common = {"contrat": ctx.contrat, "donnees_au": ctx.donnees_au}
recent = f"{gouv.RECENT_MONTHS} derniers mois"  # the window of the meetings held and residents present
instances = ui.cached(ctx, gouv.instance_cadence, tolerance_days=tolerance, **common)
late = instances.filter(pl.col("en_retard"))
head = gouv.headline(instances)
bodies = ui.cached(ctx, gouv.residents_bodies, **common)
decisions_n = ui.cached(ctx, gouv.decision_counts, **common)
by_type = ui.cached(ctx, gouv.cadence_by_type, tolerance_days=tolerance, **common)

with st.container(key="gouv_kpis"):
    cols = st.columns(5)
    with cols[0]:
        ui.kpi("Instances", fmt.integer(head["instances"]),
               help="Instances de gouvernance de la sélection créées à la date des données.")
    with cols[1]:
        ui.kpi("Instances en retard", fmt.integer(head["en_retard"]),
               help=f"Dernière réunion tenue (ou création) plus ancienne que la cadence attendue plus "
                    f"{fmt.plural(tolerance, 'jour')} de tolérance. Les réunions annulées ou reportées ne comptent pas.")
    with cols[2]:
        ui.kpi(f"Réunions tenues ({recent})", fmt.integer(head["tenues_12_mois"]),
               help=f"Réunions au statut « tenue » dans les {recent} précédant la date des données.")
    with cols[3]:
        # a partenaire: the total of the per-type table, masked with it (statistical secret)
        ui.kpi(f"Habitants présents ({recent})", pub.total(ctx, by_type, "habitants_12_mois") if pub.only(ctx)
               else fmt.integer(head["habitants_12_mois"]),
               help=f"Somme des habitants présents aux réunions tenues dans les {recent} précédant la date des "
                    "données, toutes instances.")
    with cols[4]:
        ui.kpi("Décisions en retard", fmt.integer(decisions_n["en_retard"]),
               help=f"Décisions « à faire » ou « en cours » dont l'échéance est dépassée, sur "
                    f"{fmt.plural(decisions_n['ouvertes'], 'décision ouverte', 'décisions ouvertes')}.")

# Lazy tabs: only the open tab runs (each Altair chart costs tens of milliseconds to validate).
TABS = ("Instances et cadence", "Calendrier", "Participation des habitants", "Décisions",
        "Obligations annuelles", "Enregistrer une réunion")
goto = st.session_state.pop("gouv_goto", None)
if goto:
    st.session_state["gouv_tabs"] = goto  # before the tabs exist: after a recorded meeting, show the cadence
tab_cadence, tab_calendar, tab_residents, tab_decisions, tab_obligations, tab_form = st.tabs(
    list(TABS), key="gouv_tabs", on_change="rerun")

# --- cadence ----------------------------------------------------------------------------------
with tab_cadence:
    if tab_cadence.open:
        with st.container(key="gouv_retards"):
            if late.is_empty():
                st.success("Toutes les instances se réunissent à la cadence attendue.", icon=":material/check_circle:")
            else:
                names = ", ".join(late["libelle"].head(8).to_list()) + (" …" if late.height > 8 else "")
                st.warning(f"**{fmt.plural(late.height, 'instance')} en retard** sur {fmt.plural(instances.height, 'instance')} : "
                           f"{fmt.md(names)}", icon=":material/warning:")
        year = ctx.donnees_au.year
        st.markdown(f"**Par type d'instance** — réunions tenues en {year} au {fmt.day(ctx.donnees_au)} "
                    "et réunions attendues selon la cadence pour les mois écoulés")
        st.dataframe(
            pub.publishable(ctx, by_type, counts=["habitants_12_mois"], total_shown=True).select(
                pl.col("type_instance").alias("Type d'instance"), pl.col("instances").alias("Instances"),
                pl.col("en_retard").alias("En retard"), pl.col("tenues_annee").alias(f"Tenues {year}"),
                pl.col("attendues_annee").alias(f"Attendues {year}"),
                pl.col("tenues_12_mois").alias(f"Tenues ({gouv.RECENT_MONTHS} mois)"),  # short: table headers
                pl.col("habitants_12_mois").alias(f"Habitants présents ({gouv.RECENT_MONTHS} mois)")),
            hide_index=True, key="gouv_table_types")

        st.markdown("**Instances** — les instances en retard d'abord")
        inst_table = gouv.instances_table(instances, annee=year, with_contract=ctx.contrat is None)
        st.dataframe(inst_table.head(TABLE_CAP), hide_index=True, key="gouv_table_instances", placeholder="—",
                     column_config={
            c: st.column_config.DateColumn(c, format="DD/MM/YYYY")
            for c in ("Dernière réunion tenue", "Prochaine réunion prévue", "Échéance (cadence + tolérance)")})
        if inst_table.height > TABLE_CAP:
            st.caption(fmt.capped_note(TABLE_CAP, inst_table.height))
        download_buttons(inst_table, basename="gouvernance_instances", key="gouv_dl_instances", ctx=ctx)
        st.caption(f"Règle : une instance est en retard quand sa dernière réunion tenue (ou sa création si elle ne "
                   f"s'est jamais réunie) date de plus que sa cadence attendue plus une tolérance de "
                   f"{fmt.plural(tolerance, 'jour')} (réglable par l'administrateur de l'application). "
                   "Les réunions annulées, reportées ou seulement prévues "
                   "ne comptent pas comme tenues. Réunions attendues dans l'année : nombre de mois d'existence "
                   "de l'instance écoulés dans l'année, divisé par la cadence, arrondi à l'entier le plus proche.")

# --- calendar ---------------------------------------------------------------------------------
with tab_calendar:
    if tab_calendar.open:
        yearly = ui.cached(ctx, gouv.yearly_meetings, **common)
        per_year = (yearly.group_by("annee").agg(pl.col("tenues", "attendues", "prevues", "annulees_reportees").sum())
                          .unpivot(index="annee", variable_name="serie", value_name="reunions")
                          .with_columns(pl.col("serie").replace_strict({
                              "tenues": "Tenues", "attendues": "Attendues (cadence)", "prevues": "Prévues",
                              "annulees_reportees": "Annulées ou reportées"}))
                          .with_columns(pl.col("annee").cast(pl.String)))
        series = ["Attendues (cadence)", "Tenues", "Prévues", "Annulées ou reportées"]
        st.markdown("**Réunions par année, 2024–2030** — attendues selon la cadence (mois écoulés), tenues, prévues")
        chart = (alt.Chart(per_year).mark_bar()
                 .encode(x=alt.X("annee:N", title="Année", axis=alt.Axis(labelAngle=0)),
                         xOffset=alt.XOffset("serie:N", sort=series),
                         y=alt.Y("reunions:Q", title="Réunions"),
                         color=alt.Color("serie:N", title=None, sort=series,
                                         scale=alt.Scale(domain=series, range=["#adb5bd", "#2b8a3e", "#9ecae1", "#c92a2a"]),
                                         legend=alt.Legend(orient="bottom")),
                         tooltip=[alt.Tooltip("annee:N", title="Année"), alt.Tooltip("serie:N", title="Série"),
                                  alt.Tooltip("reunions:Q", title="Réunions", format=",d")])
                 .properties(height=280))
        st.altair_chart(ui.altair_fr(chart), width="stretch", key="gouv_chart_years")

        rule = alt.Chart(pl.DataFrame({"au": [ctx.donnees_au]})).mark_rule(color="#495057", strokeDash=[4, 3]).encode(
            x=alt.X("au:T"), tooltip=[alt.Tooltip("au:T", title="Données au", format="%d/%m/%Y")])
        domain = [date(2024, 1, 1).isoformat(), date(2030, 12, 31).isoformat()]
        if ctx.contrat:
            timeline = ui.cached(ctx, gouv.meetings_timeline, contrat=ctx.contrat)
            people = [] if pub.only(ctx) else [alt.Tooltip("nb_participants:Q", title="Participants"),
                                                alt.Tooltip("nb_habitants:Q", title="Habitants")]
            if pub.only(ctx):  # attendance of each meeting: not publishable (the chart ships its rows)
                timeline = timeline.drop("nb_participants", "nb_habitants", strict=False)
            st.markdown("**Calendrier des réunions par instance** (la ligne pointillée marque la date des données)")
            points = (alt.Chart(timeline).mark_point(filled=True, size=60)
                      .encode(x=alt.X("date_reunion:T", title=None, scale=alt.Scale(domain=domain),
                                      axis=alt.Axis(format="%Y", tickCount="year")),
                              y=alt.Y("instance:N", title=None, axis=alt.Axis(labelLimit=320)),
                              color=alt.Color("statut:N", title="Statut", scale=STATUS_COLORS, legend=alt.Legend(orient="bottom")),
                              shape=alt.Shape("statut:N", title="Statut", scale=alt.Scale(domain=list(model.STATUTS_REUNION))),
                              tooltip=[alt.Tooltip("instance:N", title="Instance"),
                                       alt.Tooltip("date_reunion:T", title="Date", format="%d/%m/%Y"),
                                       alt.Tooltip("statut:N", title="Statut"), alt.Tooltip("objet:N", title="Objet"),
                                       *people]))
            height = max(160, 28 * timeline["instance"].n_unique())
            st.altair_chart(ui.altair_fr((points + rule).properties(height=height)), width="stretch",
                            key="gouv_chart_calendar")
        else:
            monthly = ui.cached(ctx, gouv.meetings_by_month, **common)
            st.markdown("**Réunions par mois et par statut, toutes instances** (choisissez un contrat pour le "
                        "calendrier par instance)")
            bars = (alt.Chart(monthly).mark_bar()
                    .encode(x=alt.X("mois:T", title=None, scale=alt.Scale(domain=domain),
                                    axis=alt.Axis(format="%Y", tickCount="year")),
                            y=alt.Y("reunions:Q", title="Réunions", stack=True),
                            color=alt.Color("statut:N", title="Statut", scale=STATUS_COLORS, legend=alt.Legend(orient="bottom")),
                            tooltip=[alt.Tooltip("mois:T", title="Mois", format="%B %Y"), alt.Tooltip("statut:N", title="Statut"),
                                     alt.Tooltip("reunions:Q", title="Réunions", format=",d")]))
            st.altair_chart(ui.altair_fr((bars + rule).properties(height=280)), width="stretch", key="gouv_chart_calendar")

# --- residents --------------------------------------------------------------------------------
with tab_residents:
    if tab_residents.open:
        residents = gouv.residents_summary(bodies)
        cols = st.columns(3)
        with cols[0]:
            ui.kpi("QPV avec conseil citoyen actif",
                   f"{fmt.integer(residents['conseil_citoyen_actif'])} / {fmt.integer(residents['qpv'])}",
                   help=f"Conseil citoyen ayant tenu au moins une réunion dans les {cadence.ACTIVE_MONTHS} mois "
                        "précédant la date des données.")
        with cols[1]:
            ui.kpi("QPV sans instance d'habitants active", fmt.integer(residents["sans_instance_active"]),
                   help="Ni conseil citoyen ni table de quartier réunis dans les "
                        f"{cadence.ACTIVE_MONTHS} mois précédant la date des données.")
        with cols[2]:
            ui.kpi("QPV sans conseil citoyen", fmt.integer(residents["sans_conseil_citoyen"]))

        part = pub.chart_rows(ctx, ui.cached(ctx, gouv.participation_by_type, **common), ["habitants"])
        st.markdown("**Habitants présents par réunion tenue**, par type d'instance et par année")
        chart = (alt.Chart(part.with_columns(pl.col("annee").cast(pl.String))).mark_bar()
                 .encode(x=alt.X("annee:N", title="Année", axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("type_instance:N"),
                         y=alt.Y("habitants_par_reunion:Q", title="Habitants / réunion"),
                         color=alt.Color("type_instance:N", title="Type d'instance", legend=alt.Legend(orient="bottom")),
                         tooltip=[alt.Tooltip("annee:N", title="Année"), alt.Tooltip("type_instance:N", title="Type"),
                                  alt.Tooltip("reunions_tenues:Q", title="Réunions tenues", format=",d"),
                                  alt.Tooltip("habitants:Q", title="Habitants présents", format=",d"),
                                  alt.Tooltip("habitants_par_reunion:Q", title="Habitants par réunion", format=",.1f"),
                                  alt.Tooltip("part_habitants:Q", title="Part des participants", format=".1%")])
                 .properties(height=340))
        st.altair_chart(ui.altair_fr(chart), width="stretch", key="gouv_chart_participation")
        if pub.only(ctx):
            st.caption(pub.chart_note(ctx))

        if ctx.contrat and pub.only(ctx):
            st.caption("Les présences à chaque réunion ne sont pas publiables (secret statistique) : elles "
                       "ne sont pas montrées aux partenaires.")
        elif ctx.contrat:
            per_meeting = ui.cached(ctx, gouv.residents_per_meeting, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
            st.markdown("**Habitants présents à chaque réunion tenue**")
            dots = (alt.Chart(per_meeting).mark_circle(size=50)
                    .encode(x=alt.X("date_reunion:T", title=None, axis=alt.Axis(format="%m/%Y")),
                            y=alt.Y("nb_habitants:Q", title="Habitants présents"),
                            color=alt.Color("type_instance:N", title="Type d'instance", legend=alt.Legend(orient="bottom")),
                            tooltip=[alt.Tooltip("instance:N", title="Instance"),
                                     alt.Tooltip("date_reunion:T", title="Date", format="%d/%m/%Y"),
                                     alt.Tooltip("nb_participants:Q", title="Participants"),
                                     alt.Tooltip("nb_habitants:Q", title="Habitants")])
                    .properties(height=240))
            st.altair_chart(ui.altair_fr(dots), width="stretch", key="gouv_chart_residents")

        st.markdown("**Instances d'habitants par QPV** — les QPV sans instance active d'abord")
        qpv_table = gouv.bodies_table(bodies)
        st.dataframe(qpv_table.head(TABLE_CAP), hide_index=True, key="gouv_table_qpv", placeholder="—",
                     column_config={
            "Dernière réunion du conseil citoyen": st.column_config.DateColumn(format="DD/MM/YYYY")})
        if qpv_table.height > TABLE_CAP:
            st.caption(fmt.capped_note(TABLE_CAP, qpv_table.height))
        download_buttons(qpv_table, basename="gouvernance_instances_habitants", key="gouv_dl_qpv", ctx=ctx)

# --- decisions --------------------------------------------------------------------------------
with tab_decisions:
    if tab_decisions.open:
        cols = st.columns([2, 2, 1.3])
        with cols[0]:
            statuts = st.multiselect("Statut", list(model.STATUTS_DECISION), default=list(model.STATUTS_DECISION),
                                     key="gouv_dec_statuts", select_all=False)
        with cols[1]:
            instance_filter = None
            if ctx.contrat:
                options = [None, *instances["code_instance"].to_list()]
                labels = dict(zip(instances["code_instance"].to_list(), instances["libelle"].to_list()))
                instance_filter = st.selectbox("Instance", options, key="gouv_dec_instance",
                                               format_func=lambda c: "Toutes les instances" if c is None else labels.get(c, c))
        with cols[2]:
            overdue_only = st.toggle("En retard seulement", key="gouv_dec_retard")
        log = ui.cached(ctx, gouv.decision_log, statuts=tuple(statuts) or None, code_instance=instance_filter,
                        overdue_only=overdue_only, **common)
        st.caption(f"{fmt.plural(decisions_n['total'], 'décision')} dans la sélection, dont "
                   f"{fmt.integer(decisions_n['en_retard'])} en retard (échéance dépassée, « à faire » ou « en cours ») ; "
                   "les décisions en retard sont listées d'abord.")
        dec_table = pub.publishable(ctx, gouv.decisions_table(log))  # a partenaire: no owner's name
        st.dataframe(dec_table.head(TABLE_CAP), hide_index=True, key="gouv_table_decisions", placeholder="—",
                     column_config={
            c: st.column_config.DateColumn(c, format="DD/MM/YYYY") for c in ("Échéance", "Réunion du")})
        if dec_table.height > TABLE_CAP:
            st.caption(fmt.capped_note(TABLE_CAP, dec_table.height))
        download_buttons(dec_table, basename="gouvernance_decisions", key="gouv_dl_decisions", ctx=ctx)

# --- annual obligations -----------------------------------------------------------------------
with tab_obligations:
    if tab_obligations.open:
        obligations = ui.cached(ctx, gouv.annual_obligations, **common)
        st.markdown(
            "- **COPIL** : au moins un comité de pilotage tenu chaque année ;\n"
            "- **Revue annuelle** des indicateurs (circulaire du 7 novembre 2024) : au moins une réunion tenue d'une "
            "« revue de projet de quartier », ou d'une instance dont l'objet mentionne « revue annuelle » ;\n"
            f"- **Rapport annuel** : le projet est soumis aux conseils citoyens au moins {gouv.RAPPORT_DELAI_MOIS} mois "
            "avant son vote (jalons « consultation conseils citoyens » et « rapport annuel » de l'exercice).")
        detail = obligations
        if ctx.contrat is None:
            st.dataframe(gouv.obligations_summary(obligations), hide_index=True, key="gouv_table_oblig_summary")
            detail = gouv.obligations_to_check(obligations)
            st.markdown("**Contrats et années où une obligation n'est pas respectée ou pas renseignée**")
        obl_table = gouv.obligations_table(detail)
        st.dataframe(obl_table.head(TABLE_CAP), hide_index=True, key="gouv_table_obligations", placeholder="—",
                     column_config={
            c: st.column_config.DateColumn(c, format="DD/MM/YYYY")
            for c in ("Consultation des conseils citoyens", "Vote du rapport annuel")})
        if obl_table.height > TABLE_CAP:
            st.caption(fmt.capped_note(TABLE_CAP, obl_table.height))
        download_buttons(obl_table, basename="gouvernance_obligations", key="gouv_dl_obligations", ctx=ctx)
        st.caption("Dates des jalons : date de réalisation si elle est renseignée, sinon date prévue. "
                   "« en cours » : l'année n'est pas terminée ; « à venir » : le vote n'est pas encore dû.")

# --- form -------------------------------------------------------------------------------------
with tab_form:
    if tab_form.open:
        if ctx.contrat is None and instances.height > FORM_MAX_INSTANCES:
            st.info("Choisissez un contrat dans le panneau latéral pour enregistrer une réunion.", icon=":material/info:")
        elif not ctx.can_write():
            st.info("Votre rôle permet de consulter la gouvernance, pas d'enregistrer une réunion.", icon=":material/lock:")
        elif instances.is_empty():
            st.info("Aucune instance dans la sélection.", icon=":material/info:")
        else:
            choices = ui.cached(ctx, gouv.instance_choices, tolerance_days=tolerance, **common)
            codes = choices["code_instance"].to_list()
            labels = {c: lib + (" — en retard" if late_ else "")
                      for c, lib, late_ in zip(codes, choices["libelle"].to_list(), choices["en_retard"].to_list())}
            with st.form("gouv_form", border=True):
                st.markdown("**Réunion**")
                code = st.selectbox("Instance", codes, format_func=lambda c: labels.get(c, c), key="gouv_instance")
                cols = st.columns(4)
                with cols[0]:
                    day = st.date_input("Date", value=ctx.donnees_au, format="DD/MM/YYYY", key="gouv_date",
                                        min_value=date(2014, 1, 1), max_value=date(2035, 12, 31))
                with cols[1]:
                    statut = st.selectbox("Statut", list(model.STATUTS_REUNION), index=1, key="gouv_statut")
                with cols[2]:
                    participants = st.number_input("Participants", value=None, step=1, key="gouv_participants")
                with cols[3]:
                    habitants = st.number_input("dont habitants", value=None, step=1, key="gouv_habitants")
                objet = st.text_input("Objet", key="gouv_objet", max_chars=edits.MAX_TEXT)
                lien = st.text_input("Lien vers le compte rendu", key="gouv_lien", placeholder="https://…")
                st.markdown("**Décisions** (facultatif ; une ligne par décision, laissez vide si aucune)")
                drafts = []
                for n in range(1, DECISION_SLOTS + 1):
                    cols = st.columns([3, 2, 1.3, 1.2, 2])
                    with cols[0]:
                        lib = st.text_input(f"Décision {n}", key=f"gouv_dec{n}_libelle")
                    with cols[1]:
                        resp = st.text_input("Responsable", key=f"gouv_dec{n}_responsable")
                    with cols[2]:
                        due = st.date_input("Échéance (JJ/MM/AAAA)", value=None, format="DD/MM/YYYY", key=f"gouv_dec{n}_echeance")
                    with cols[3]:
                        dstat = st.selectbox("Statut", list(model.STATUTS_DECISION), key=f"gouv_dec{n}_statut")
                    with cols[4]:
                        acts = st.text_input("Actions liées (codes)", key=f"gouv_dec{n}_actions",
                                             help="Codes des actions, séparés par des virgules.")
                    if lib.strip() or resp.strip() or due is not None or acts.strip():
                        drafts.append(edits.DecisionDraft(libelle=lib, responsable=resp, date_echeance=due, statut=dstat,
                                                          actions=edits.parse_action_codes(acts)))
                submitted = st.form_submit_button("Enregistrer la réunion", icon=":material/save:", key="gouv_submit")
            if submitted:
                draft = edits.MeetingDraft(
                    code_instance=code, date_reunion=day, statut=statut,
                    nb_participants=None if participants is None else int(participants),
                    nb_habitants=None if habitants is None else int(habitants),
                    objet=objet, lien_compte_rendu=lien, decisions=tuple(drafts))
                name = labels[code].removesuffix(' — en retard')
                ui.write(ctx, edits.record_meeting, draft, today=max(date.today(), ctx.donnees_au),
                         success=(f"Réunion du {fmt.day(day)} enregistrée pour « {fmt.md(name)} » "
                                  f"({fmt.plural(len(drafts), 'décision')})."),
                         on_success=lambda _: st.session_state.update(gouv_goto=TABS[0]))
