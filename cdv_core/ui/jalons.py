"""The « Jalons et actualisation 2027 » page's blocks: the readiness checklist, the 2024-2030 road,
the baseline and what changed since, the milestone forms. What they show comes from
`cdv_core.figures.jalons`."""

from __future__ import annotations

from datetime import date

import streamlit as st

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.domain import readiness as rd
from cdv_core.edits import jalons as edits
from cdv_core.figures import jalons as fig
from cdv_core.queries import jalons
from cdv_core.queries.overview import Actualisation
from cdv_core.ui import downloads, nav, widgets
from cdv_core.ui import publishable as pub
from cdv_core.ui.context import Context, cached, write

MAX_ROWS = 200
FIRST_DAY, LAST_DAY = date(2022, 1, 1), date(2031, 12, 31)  # of a milestone's dates
_DAY = st.column_config.DateColumn(format="DD/MM/YYYY")


def readiness(ready: jalons.Readiness, *, page: str, every_contract: bool) -> None:
    """The verdict, the checklist (each unmet item links to where it is completed: `page` is this one)
    and, for every contract, readiness per contract."""
    st.caption(rd.score_rule())
    with st.container(key="jalons_verdict"):
        if ready["pret"]:
            st.success(fig.readiness_verdict(ready), icon=":material/verified:")
        else:
            st.warning(fig.readiness_verdict(ready), icon=":material/warning:")
    with st.container(key="jalons_checklist"):
        for item in ready["items"].iter_rows(named=True):  # the 8 checklist items, not data rows
            mark = ":green[:material/check_circle:]" if item["ok"] else ":red[:material/cancel:]"
            left, right = st.columns([3, 1.3], vertical_alignment="center")
            with left:
                st.markdown(f"{mark} **{item['libelle']}**", help="Règle : " + item["regle"])
                st.caption(fmt.md(item["preuve"]))  # it names QPV and indicators
            with right:
                if item["ok"]:
                    pass
                elif item["page"] == page:  # fixed on this very page
                    st.markdown(":material/arrow_forward: Compléter : onglet « Saisir un jalon »")
                else:
                    st.page_link(
                        nav.page_path(item["page"]),
                        label=f"Compléter : {item['page']}",
                        icon=":material/arrow_forward:",
                    )
    if every_contract and ready["contrats"].height > 1:
        st.subheader("Préparation par contrat")
        per = ready["contrats"]
        st.caption(fig.contracts_caption(ready, shown=MAX_ROWS))
        widgets.table(
            fig.contracts_table(per.head(MAX_ROWS), total=ready["total"]), hide_index=True, key="jalons_table_contrats"
        )
        downloads.download_buttons(
            fig.contracts_export(per), basename="preparation_actualisation", key="jalons_dl_contrats"
        )


def road(ctx: Context, countdown: Actualisation) -> None:
    """The 2024-2030 road, the late milestones and every milestone."""
    every_contract = ctx.contrat is None
    common = {"contrat": ctx.contrat, "donnees_au": ctx.donnees_au}
    points = cached(ctx, jalons.timeline, **common)
    if points.is_empty():
        st.info("Aucun jalon enregistré pour cette sélection.", icon=":material/info:")
    else:
        with st.container(key="jalons_frise"):
            widgets.chart(
                fig.timeline_chart(
                    points, donnees_au=ctx.donnees_au, actualisation=countdown["date"], every_contract=every_contract
                ),
                width="stretch",
                key="jalons_chart_frise",
            )
        st.caption(fig.timeline_caption(every_contract=every_contract))

    st.subheader("Jalons en retard")
    late = cached(ctx, jalons.milestones, statut=rd.STATUT_RETARD, **common)
    if late.is_empty():
        st.success("Aucun jalon en retard à la date des données.", icon=":material/check_circle:")
    else:
        widgets.table(
            fig.late_table(late, with_contract=every_contract),
            rows=MAX_ROWS,
            hide_index=True,
            key="jalons_table_retard",
            column_config={"Prévu le": _DAY},
        )
        if late.height > MAX_ROWS:
            st.caption(fig.late_cap_note(MAX_ROWS, late.height))

    every = cached(ctx, jalons.milestones, **common)
    with st.expander(f"Tous les jalons ({fmt.integer(every.height)})"):
        widgets.table(
            fig.milestones_table(every.head(MAX_ROWS), with_contract=every_contract),
            hide_index=True,
            key="jalons_table_tous",
            placeholder="—",
            column_config={"Prévu le": _DAY, "Réalisé le": _DAY},
        )
        if every.height > MAX_ROWS:
            st.caption(fmt.capped_note(MAX_ROWS, every.height))
        downloads.download_buttons(fig.milestones_export(every), basename="jalons", key="jalons_dl_jalons")


def _comparison(ctx: Context, diff: jalons.BaselineDiff) -> None:
    """Objectives, programmation per thématique and indicators: at the baseline and now."""
    st.subheader("Objectifs ajoutés ou supprimés")
    with st.container(key="jalons_diff_objectifs"):
        if diff["objectifs"].is_empty():
            st.success(
                "Aucun objectif ajouté, supprimé ou renommé depuis la référence.", icon=":material/check_circle:"
            )
        else:
            st.markdown(fig.changes_line(diff["changements"]))
            widgets.table(fig.objectives_table(diff["objectifs"]), hide_index=True, key="jalons_table_objectifs")

    st.subheader("Programmation par thématique : référence et aujourd'hui")
    th = diff["thematiques"]
    with st.container(key="jalons_diff_thematiques"):
        if th.is_empty():
            st.info("Aucune action programmée ni à la référence ni aujourd'hui.", icon=":material/info:")
        else:
            then_label, now_label = fig.period_labels(diff)
            widgets.chart(
                fig.thematiques_chart(th, then_label=then_label, now_label=now_label),
                width="stretch",
                key="jalons_chart_thematiques",
            )
            widgets.table(
                fig.thematiques_table(th, then_label=then_label, now_label=now_label),
                hide_index=True,
                key="jalons_table_thematiques",
            )

    st.subheader("Indicateurs : valeur à la référence et dernière valeur")
    ind = pub.people_values(
        ctx, diff["indicateurs"], values=("valeur_avant", "valeur_maintenant"), derived=("ecart", "evolution")
    )  # a partenaire: small counts of people left out
    with st.container(key="jalons_diff_indicateurs"):
        if ind.is_empty():
            st.info("Aucune valeur d'indicateur pour les QPV de ce contrat.", icon=":material/info:")
            return
        st.markdown(fig.evolutions_line(diff["evolutions"], pairs=ind.height))
        widgets.table(
            fig.indicator_diff_table(ind.head(MAX_ROWS)),
            hide_index=True,
            key="jalons_table_indicateurs",
            placeholder="—",
            column_config={"Date (référence)": _DAY, "Date (dernière)": _DAY},
        )
        if ind.height > MAX_ROWS:
            st.caption(fmt.capped_note(MAX_ROWS, ind.height))
        downloads.download_buttons(
            fig.indicator_diff_export(ind), basename="evolution_indicateurs", key="jalons_dl_indicateurs"
        )


def baseline(ctx: Context) -> None:
    """A frozen baseline of the contract compared with now, and the form that freezes one."""
    if ctx.contrat is None:
        st.info(
            "Choisissez un contrat dans la barre latérale pour figer une référence et voir ce qui a changé depuis.",
            icon=":material/info:",
        )
        return
    frozen = cached(ctx, jalons.baselines, contrat=ctx.contrat)
    contracts = cached(ctx, jalons.contract_dates, contrat=ctx.contrat)
    if frozen.is_empty():
        st.info(
            "Aucune référence figée pour ce contrat : figez l'état à la signature pour suivre les évolutions.",
            icon=":material/info:",
        )
    else:
        ids = frozen["id_gel"].to_list()
        if st.session_state.get("jalons_new_reference") in ids:  # show the baseline just frozen
            st.session_state["jalons_reference"] = st.session_state.pop("jalons_new_reference")
        names = fig.baseline_names(frozen)
        chosen = st.selectbox("Référence", ids, format_func=lambda n: names[n], key="jalons_reference")
        diff = cached(ctx, jalons.baseline_diff, id_gel=chosen, donnees_au=ctx.donnees_au)
        st.caption(fig.baseline_caption(diff, donnees_au=ctx.donnees_au))
        _comparison(ctx, diff)

    st.subheader("Figer une référence")
    signature = contracts["date_signature"][0] if contracts.height else None
    if not ctx.can_write():
        st.caption("Votre rôle ne permet pas de figer une référence.")
        return
    with st.form("jalons_gel_form", clear_on_submit=False):
        st.caption(
            "Enregistre une photographie du contrat à la date choisie (objectifs, programmation de l'année "
            "par thématique, dernières valeurs des indicateurs). Elle ne sera plus jamais modifiée."
        )
        gel_date = st.date_input(
            "État à la date du",
            value=signature or ctx.donnees_au,
            format="DD/MM/YYYY",
            key="jalons_gel_date",
            help="Par défaut : la date de signature du contrat.",
        )
        gel_label = st.text_input(
            "Libellé",
            value="Référence à la signature" if gel_date == signature else "",
            key="jalons_gel_libelle",
            placeholder="Ex. : Référence à la signature",
        )
        if st.form_submit_button("Figer la référence", icon=":material/ac_unit:", key="jalons_gel_submit"):
            write(
                ctx,
                edits.freeze_baseline,
                success=f"Référence figée : état au {fmt.day(gel_date)}.",
                on_success=lambda id_gel: st.session_state.update(jalons_new_reference=id_gel),
                code_contrat=ctx.contrat,
                date_gel=gel_date,
                libelle=gel_label,
            )


def milestone_forms(ctx: Context) -> None:
    """« Ajouter un jalon » and « Marquer un jalon comme réalisé » (one contract, a role that writes)."""
    if ctx.contrat is None:
        st.info(
            "Choisissez un contrat dans la barre latérale pour ajouter un jalon ou en marquer un comme réalisé.",
            icon=":material/info:",
        )
        return
    if not ctx.can_write():
        st.info("Votre rôle permet de consulter ce contrat, pas de modifier ses jalons.", icon=":material/lock:")
        return
    left, right = st.columns(2)
    with left, st.form("jalons_add_form"):
        st.markdown("**Ajouter un jalon**")
        j_type = st.selectbox("Type", model.TYPES_JALON, key="jalons_add_type")
        j_label = st.text_input("Libellé", key="jalons_add_libelle", placeholder="Ex. : Rapport annuel 2026 voté")
        j_planned = st.date_input(
            "Date prévue (JJ/MM/AAAA)",
            value=None,
            format="DD/MM/YYYY",
            key="jalons_add_prevue",
            min_value=FIRST_DAY,
            max_value=LAST_DAY,
        )
        j_done = st.date_input(
            "Date de réalisation, si déjà réalisé (JJ/MM/AAAA)",
            value=None,
            format="DD/MM/YYYY",
            key="jalons_add_realisation",
            min_value=FIRST_DAY,
            max_value=LAST_DAY,
        )
        j_year = st.number_input(
            "Exercice concerné (facultatif)",
            min_value=2014,
            max_value=2035,
            value=None,
            step=1,
            key="jalons_add_annee",
            help="Par défaut, l'année de la date prévue.",
        )
        if st.form_submit_button("Ajouter le jalon", icon=":material/add:", key="jalons_add_submit"):
            write(
                ctx,
                edits.add_milestone,
                success=f"Jalon ajouté : {fmt.md(j_label)}.",
                code_contrat=ctx.contrat,
                type_jalon=j_type,
                libelle=j_label,
                date_prevue=j_planned,
                date_realisation=j_done,
                annee=int(j_year) if j_year is not None else None,
            )
    open_ones = cached(ctx, jalons.open_milestones, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    with right, st.form("jalons_done_form"):
        st.markdown("**Marquer un jalon comme réalisé**")
        if open_ones.is_empty():
            st.caption("Tous les jalons de ce contrat sont réalisés.")
        ids = open_ones["id_jalon"].to_list()
        names = dict(zip(ids, open_ones["choix"].to_list()))
        d_id = st.selectbox(
            "Jalon",
            ids,
            format_func=lambda n: names[n],
            key="jalons_done_id",
            help="Les jalons en retard sont proposés en premier.",
        )
        d_date = st.date_input(
            "Réalisé le",
            value=min(ctx.donnees_au, date.today()),
            format="DD/MM/YYYY",
            key="jalons_done_date",
            min_value=FIRST_DAY,
            max_value=LAST_DAY,
        )
        if st.form_submit_button("Enregistrer la réalisation", icon=":material/task_alt:", key="jalons_done_submit"):
            write(
                ctx,
                edits.mark_done,
                success=f"Jalon marqué réalisé le {fmt.day(d_date)}.",
                id_jalon=d_id,
                date_realisation=d_date,
            )
