"""The « Gouvernance » page's blocks: one function per tab (cadence, calendar, residents, decisions,
annual obligations) and the form that records a meeting. What they show comes from
`cdv_core.figures.gouvernance`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
import streamlit as st

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.edits import gouvernance as edits
from cdv_core.figures import gouvernance as fig
from cdv_core.queries import gouvernance as gouv
from cdv_core.ui import downloads, widgets
from cdv_core.ui import publishable as pub
from cdv_core.ui.context import Context, cached, write
from cdv_core.ui.widgets import card_row

TABLE_CAP = 500  # rows shown in a table (the rest: filters or download)
FORM_MAX_INSTANCES = 600  # beyond this (national view) the form asks to pick a contract first
DECISION_SLOTS = 3


def _dates(*columns: str) -> dict:
    """Date columns shown in French format (`column_config` sets formats only)."""
    return {c: st.column_config.DateColumn(format="DD/MM/YYYY") for c in columns}


def _capped_table(
    ctx: Context, table: pl.DataFrame, *, key: str, basename: str, dl_key: str, dates: Sequence[str] = ()
) -> None:
    """A table (its first TABLE_CAP rows, the rest said) and its download buttons."""
    widgets.table(table, rows=TABLE_CAP, hide_index=True, key=key, placeholder="—", column_config=_dates(*dates))
    if table.height > TABLE_CAP:
        st.caption(fmt.capped_note(TABLE_CAP, table.height))
    downloads.download_buttons(table, basename=basename, key=dl_key, ctx=ctx)


def cadence(ctx: Context, instances: pl.DataFrame, late: pl.DataFrame, by_type: pl.DataFrame, tolerance: int) -> None:
    """Late instances named, the per-type table, every instance (late ones first) and the rule."""
    with st.container(key="gouv_retards"):
        warning = fig.late_warning(late, instances.height)
        if warning is None:
            st.success("Toutes les instances se réunissent à la cadence attendue.", icon=":material/check_circle:")
        else:
            st.warning(warning, icon=":material/warning:")
    year = ctx.donnees_au.year
    st.markdown(fig.types_title(ctx.donnees_au))
    widgets.table(
        fig.types_table(pub.publishable(ctx, by_type, counts=["habitants_12_mois"], total_shown=True), year=year),
        hide_index=True,
        key="gouv_table_types",
    )
    st.markdown("**Instances** — les instances en retard d'abord")
    _capped_table(
        ctx,
        fig.instances_table(instances, annee=year, with_contract=ctx.contrat is None),
        key="gouv_table_instances",
        basename="gouvernance_instances",
        dl_key="gouv_dl_instances",
        dates=("Dernière réunion tenue", "Prochaine réunion prévue", "Échéance (cadence + tolérance)"),
    )
    st.caption(fig.cadence_rule(tolerance))


def calendar(ctx: Context, common: dict) -> None:
    """Meetings per year, then per instance (one contract) or per month (every contract)."""
    st.markdown("**Réunions par année, 2024–2030** — attendues selon la cadence (mois écoulés), tenues, prévues")
    widgets.chart(
        fig.meetings_per_year_chart(cached(ctx, gouv.yearly_meetings, **common)),
        width="stretch",
        key="gouv_chart_years",
    )
    if ctx.contrat:
        timeline = cached(ctx, gouv.meetings_timeline, contrat=ctx.contrat)
        if pub.only(ctx):  # attendance of each meeting: not publishable (the chart ships its rows)
            timeline = timeline.drop("nb_participants", "nb_habitants", strict=False)
        st.markdown("**Calendrier des réunions par instance** (la ligne pointillée marque la date des données)")
        chart = fig.calendar_chart(timeline, donnees_au=ctx.donnees_au, people=not pub.only(ctx))
    else:
        st.markdown(
            "**Réunions par mois et par statut, toutes instances** (choisissez un contrat pour le "
            "calendrier par instance)"
        )
        chart = fig.monthly_chart(cached(ctx, gouv.meetings_by_month, **common), donnees_au=ctx.donnees_au)
    widgets.chart(chart, width="stretch", key="gouv_chart_calendar")


def residents(ctx: Context, common: dict, bodies: pl.DataFrame) -> None:
    """Residents' bodies per QPV, participation per type and year, per meeting (one contract)."""
    card_row(fig.residents_cards(gouv.residents_summary(bodies)))
    part = pub.chart_rows(ctx, cached(ctx, gouv.participation_by_type, **common), ["habitants"])
    st.markdown("**Habitants présents par réunion tenue**, par type d'instance et par année")
    widgets.chart(fig.participation_chart(part), width="stretch", key="gouv_chart_participation")
    if pub.only(ctx):
        st.caption(pub.chart_note(ctx))
    if ctx.contrat and pub.only(ctx):
        st.caption(
            "Les présences à chaque réunion ne sont pas publiables (secret statistique) : elles "
            "ne sont pas montrées aux partenaires."
        )
    elif ctx.contrat:
        per_meeting = cached(ctx, gouv.residents_per_meeting, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
        st.markdown("**Habitants présents à chaque réunion tenue**")
        widgets.chart(fig.residents_chart(per_meeting), width="stretch", key="gouv_chart_residents")
    st.markdown("**Instances d'habitants par QPV** — les QPV sans instance active d'abord")
    _capped_table(
        ctx,
        fig.bodies_table(bodies),
        key="gouv_table_qpv",
        basename="gouvernance_instances_habitants",
        dl_key="gouv_dl_qpv",
        dates=("Dernière réunion du conseil citoyen",),
    )


def decisions(ctx: Context, common: dict, instances: pl.DataFrame, counts: gouv.DecisionCounts) -> None:
    """The decision log, filtered by status, instance (one contract) and lateness."""
    cols = st.columns([2, 2, 1.3])
    with cols[0]:
        statuts = st.multiselect(
            "Statut",
            list(model.STATUTS_DECISION),
            default=list(model.STATUTS_DECISION),
            key="gouv_dec_statuts",
            select_all=False,
        )
    with cols[1]:
        instance_filter = None
        if ctx.contrat:
            options = [None, *instances["code_instance"].to_list()]
            labels = dict(zip(instances["code_instance"].to_list(), instances["libelle"].to_list()))
            instance_filter = st.selectbox(
                "Instance",
                options,
                key="gouv_dec_instance",
                format_func=lambda c: "Toutes les instances" if c is None else labels.get(c, c),
            )
    with cols[2]:
        overdue_only = st.toggle("En retard seulement", key="gouv_dec_retard")
    log = cached(
        ctx,
        gouv.decision_log,
        statuts=tuple(statuts) or None,
        code_instance=instance_filter,
        overdue_only=overdue_only,
        **common,
    )
    st.caption(fig.decisions_caption(counts))
    _capped_table(
        ctx,
        pub.publishable(ctx, fig.decisions_table(log)),  # a partenaire: no owner's name
        key="gouv_table_decisions",
        basename="gouvernance_decisions",
        dl_key="gouv_dl_decisions",
        dates=("Échéance", "Réunion du"),
    )


def obligations(ctx: Context, common: dict) -> None:
    """COPIL, revue annuelle, rapport annuel per contract and year (every contract: a summary first)."""
    rows = cached(ctx, gouv.annual_obligations, **common)
    st.markdown(fig.obligations_rules())
    detail = rows
    if ctx.contrat is None:
        widgets.table(
            fig.obligations_summary(gouv.obligations_counts(rows)), hide_index=True, key="gouv_table_oblig_summary"
        )
        detail = gouv.obligations_to_check(rows)
        st.markdown("**Contrats et années où une obligation n'est pas respectée ou pas renseignée**")
    _capped_table(
        ctx,
        fig.obligations_table(detail),
        key="gouv_table_obligations",
        basename="gouvernance_obligations",
        dl_key="gouv_dl_obligations",
        dates=("Consultation des conseils citoyens", "Vote du rapport annuel"),
    )
    st.caption(
        "Dates des jalons : date de réalisation si elle est renseignée, sinon date prévue. "
        "« en cours » : l'année n'est pas terminée ; « à venir » : le vote n'est pas encore dû."
    )


def _decision_drafts() -> list[edits.DecisionDraft]:
    """The form's decision lines (DECISION_SLOTS), the filled ones as drafts."""
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
            acts = st.text_input(
                "Actions liées (codes)", key=f"gouv_dec{n}_actions", help="Codes des actions, séparés par des virgules."
            )
        if lib.strip() or resp.strip() or due is not None or acts.strip():
            drafts.append(
                edits.DecisionDraft(
                    libelle=lib,
                    responsable=resp,
                    date_echeance=due,
                    statut=dstat,
                    actions=edits.parse_action_codes(acts),
                )
            )
    return drafts


def meeting_form(ctx: Context, common: dict, instances: pl.DataFrame, tolerance: int, *, after: str) -> None:
    """« Enregistrer une réunion » and up to DECISION_SLOTS decisions (one write); `after`: the tab
    shown once it is recorded."""
    if ctx.contrat is None and instances.height > FORM_MAX_INSTANCES:
        st.info("Choisissez un contrat dans le panneau latéral pour enregistrer une réunion.", icon=":material/info:")
        return
    if not ctx.can_write():
        st.info("Votre rôle permet de consulter la gouvernance, pas d'enregistrer une réunion.", icon=":material/lock:")
        return
    if instances.is_empty():
        st.info("Aucune instance dans la sélection.", icon=":material/info:")
        return
    choices = cached(ctx, gouv.instance_choices, tolerance_days=tolerance, **common)
    labels = fig.instance_labels(choices)
    with st.form("gouv_form", border=True):
        st.markdown("**Réunion**")
        code = st.selectbox(
            "Instance", choices["code_instance"].to_list(), format_func=lambda c: labels.get(c, c), key="gouv_instance"
        )
        cols = st.columns(4)
        with cols[0]:
            day = st.date_input(
                "Date",
                value=ctx.donnees_au,
                format="DD/MM/YYYY",
                key="gouv_date",
                min_value=date(2014, 1, 1),
                max_value=date(2035, 12, 31),
            )
        with cols[1]:
            statut = st.selectbox("Statut", list(model.STATUTS_REUNION), index=1, key="gouv_statut")
        with cols[2]:
            participants = st.number_input("Participants", value=None, step=1, key="gouv_participants")
        with cols[3]:
            habitants = st.number_input("dont habitants", value=None, step=1, key="gouv_habitants")
        objet = st.text_input("Objet", key="gouv_objet", max_chars=edits.MAX_TEXT)
        lien = st.text_input("Lien vers le compte rendu", key="gouv_lien", placeholder="https://…")
        st.markdown("**Décisions** (facultatif ; une ligne par décision, laissez vide si aucune)")
        drafts = _decision_drafts()
        submitted = st.form_submit_button("Enregistrer la réunion", icon=":material/save:", key="gouv_submit")
    if submitted:
        draft = edits.MeetingDraft(
            code_instance=code,
            date_reunion=day,
            statut=statut,
            nb_participants=None if participants is None else int(participants),
            nb_habitants=None if habitants is None else int(habitants),
            objet=objet,
            lien_compte_rendu=lien,
            decisions=tuple(drafts),
        )
        name = labels[code].removesuffix(" — en retard")
        write(
            ctx,
            edits.record_meeting,
            draft,
            today=max(date.today(), ctx.donnees_au),
            success=(
                f"Réunion du {fmt.day(day)} enregistrée pour « {fmt.md(name)} » "
                f"({fmt.plural(len(drafts), 'décision')})."
            ),
            on_success=lambda _: st.session_state.update(gouv_goto=after),
        )
