"""The life cycle of the rapport annuel (issue #19), on « Jalons et actualisation 2027 », tab
« Rapport annuel »: per year the draft sent to the conseils citoyens, their contributions, the
votes of the EPCI and the communes, the publication, and the statut with the missing step named
(`queries.jalons.rapports_annuels`, the rule of `queries.gouvernance.annual_obligations`); for a
writer of the contract, the forms that record each step (`edits.rapport`). « Tous les contrats »:
the number of contracts per year and statut."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from cdv_core import access, fmt
from cdv_core.domain import model
from cdv_core.domain import readiness as rd
from cdv_core.edits import rapport as edits
from cdv_core.figures import jalons as fig
from cdv_core.queries import gouvernance as gouv
from cdv_core.queries import jalons
from cdv_core.ui import widgets
from cdv_core.ui.context import Context, cached, write

_DATE = st.column_config.DateColumn(format="DD/MM/YYYY")
_STEPS = ("Envoi aux conseils citoyens", "Contribution reçue", "Vote", "Publication")


def _rule_caption() -> None:
    st.caption(
        f"Le projet de rapport annuel est soumis aux conseils citoyens au moins {rd.CONSULTATION_DELAI_MOIS} mois "
        "avant son premier vote (décret n° 2015-1118), puis voté par l'EPCI et les communes et rendu public. "
        "Un rapport compte comme produit dans la préparation 2027 quand son statut est « respectée » : voté "
        "après une consultation des conseils citoyens au moins un mois avant le vote. La publication est "
        "suivie mais n'est pas exigée pour qu'il compte comme produit. Une étape non enregistrée ici est lue "
        "dans les jalons (« (jalon) »), comme sur l'écran « Gouvernance »."
    )


def section(ctx: Context) -> None:
    st.subheader("Rapport annuel : cycle de vie")
    _rule_caption()
    reports = cached(ctx, jalons.rapports_annuels, contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    if reports.is_empty():
        st.info("Aucun rapport annuel attendu pour cette sélection.", icon=":material/info:")
        return
    if ctx.contrat is None:
        widgets.table(
            fig.rapports_summary_table(reports),
            hide_index=True,
            key="jalons_table_rapports",
            column_config={"Exercice": st.column_config.NumberColumn(format="%d")},
        )
        return
    table = fig.rapport_cycle_table(reports)
    widgets.table(
        table,
        hide_index=True,
        key="jalons_table_rapports",
        width="stretch",
        placeholder="—",
        column_config={
            "Exercice": st.column_config.NumberColumn(format="%d"),
            "Lien": st.column_config.LinkColumn(display_text="rapport publié"),
        },
    )
    _details(ctx, reports)
    if ctx.user.can(access.WRITE, ctx.contrat):
        _forms(ctx, reports)


def _details(ctx: Context, reports: pl.DataFrame) -> None:
    """The votes (assemblies, dates, deliberations) and the contributions (annexes) as recorded."""
    votes = cached(ctx, jalons.rapport_votes, contrat=ctx.contrat)
    contributions = cached(ctx, jalons.rapport_contributions, contrat=ctx.contrat)
    with st.expander(
        f"Votes et contributions enregistrés ({fmt.plural(votes.height, 'vote')}, "
        f"{fmt.plural(contributions.height, 'contribution')})"
    ):
        if votes.height:
            widgets.table(
                fig.rapport_votes_table(votes),
                hide_index=True,
                key="rapport_cycle_votes",
                placeholder="—",
                column_config={"Exercice": st.column_config.NumberColumn(format="%d"), "Voté le": _DATE},
            )
        else:
            st.caption("Aucun vote enregistré dans le cycle du rapport (les votes des jalons restent pris en compte).")
        if contributions.height:
            widgets.table(
                fig.rapport_contributions_table(contributions),
                hide_index=True,
                key="rapport_cycle_contributions",
                column_config={"Exercice": st.column_config.NumberColumn(format="%d"), "Reçue le": _DATE},
            )
        else:
            st.caption("Aucune contribution des conseils citoyens enregistrée.")


def _forms(ctx: Context, reports: pl.DataFrame) -> None:
    """A writer records one step of one year's report."""
    st.markdown("**Enregistrer une étape du rapport annuel**")
    years = reports["annee"].to_list()
    past = [y for y in years if y < ctx.donnees_au.year]
    cols = st.columns([1, 3])
    with cols[0]:
        annee = st.selectbox("Exercice", years, index=years.index(past[-1]) if past else 0, key="rapport_cycle_annee")
    with cols[1]:
        step = st.segmented_control("Étape", _STEPS, default=_STEPS[0], key="rapport_cycle_etape")
    row = reports.filter(pl.col("annee") == annee).row(0, named=True)
    common = {"code_contrat": ctx.contrat, "annee": annee}
    if step == _STEPS[0]:
        _form_envoi(ctx, row, common)
    elif step == _STEPS[1]:
        _form_contribution(ctx, common)
    elif step == _STEPS[2]:
        _form_vote(ctx, common)
    elif step == _STEPS[3]:
        _form_publication(ctx, row, common)


def _today() -> date:
    return date.today()


def _form_envoi(ctx: Context, row: dict, common: dict) -> None:
    with st.form("rapport_cycle_envoi_form", border=True):
        envoi = st.date_input(
            "Projet envoyé aux conseils citoyens le",
            value=row["date_envoi_conseils"],
            max_value=_today(),
            format="DD/MM/YYYY",
            key="rapport_cycle_envoi_date",
        )
        if st.form_submit_button(
            "Enregistrer l'envoi", type="primary", icon=":material/send:", key="rapport_cycle_envoi_submit"
        ):
            if envoi is None:
                st.error("Indiquez la date d'envoi.", icon=":material/error:")
            else:
                write(
                    ctx,
                    edits.set_envoi,
                    date_envoi=envoi,
                    **common,
                    success=f"Envoi du rapport {common['annee']} aux conseils citoyens enregistré ({fmt.day(envoi)}).",
                )
    if row["date_envoi_conseils"] is not None and st.button(
        "Effacer l'envoi", key="rapport_cycle_envoi_clear", icon=":material/delete:"
    ):
        write(ctx, edits.set_envoi, date_envoi=None, **common, success=f"Envoi du rapport {common['annee']} effacé.")


def _form_contribution(ctx: Context, common: dict) -> None:
    bodies = cached(
        ctx,
        gouv.instance_choices,
        contrat=ctx.contrat,
        donnees_au=ctx.donnees_au,
        tolerance_days=ctx.settings.cadence_tolerance_days,
    )
    names = bodies.filter(pl.col("type_instance").is_in(list(model.RESIDENT_BODIES)))["libelle"].sort().to_list()
    with st.form("rapport_cycle_contribution_form", border=True, clear_on_submit=True):
        conseil = st.selectbox(
            "Conseil citoyen",
            names,
            index=None,
            accept_new_options=True,
            placeholder="Choisissez ou saisissez un nom",
            key="rapport_cycle_contribution_conseil",
        )
        recue = st.date_input(
            "Reçue le", value=None, max_value=_today(), format="DD/MM/YYYY", key="rapport_cycle_contribution_date"
        )
        texte = st.text_area(
            "Contribution (annexée au rapport telle quelle)",
            max_chars=edits.MAX_TEXTE,
            key="rapport_cycle_contribution_texte",
        )
        if st.form_submit_button(
            "Enregistrer la contribution",
            type="primary",
            icon=":material/save:",
            key="rapport_cycle_contribution_submit",
        ):
            write(
                ctx,
                edits.add_contribution,
                conseil=conseil,
                date_reception=recue,
                texte=texte,
                **common,
                success=f"Contribution de « {fmt.md(conseil)} » enregistrée.",
            )
    recorded = cached(ctx, jalons.rapport_contributions, contrat=ctx.contrat).filter(pl.col("annee") == common["annee"])
    if recorded.height:
        choices = {f"{r['conseil']} — {fmt.day(r['date_reception'])}": r for r in recorded.iter_rows(named=True)}
        cols = st.columns([3, 1], vertical_alignment="bottom")
        with cols[0]:
            chosen = st.selectbox("Retirer la contribution", list(choices), key="rapport_cycle_contribution_retirer")
        with cols[1]:
            if st.button("Retirer", key="rapport_cycle_contribution_remove", icon=":material/delete:"):
                r = choices[chosen]
                write(
                    ctx,
                    edits.remove_contribution,
                    conseil=r["conseil"],
                    date_reception=r["date_reception"],
                    **common,
                    success="Contribution retirée.",
                )


def _form_vote(ctx: Context, common: dict) -> None:
    assemblies = cached(ctx, jalons.rapport_collectivites, contrat=ctx.contrat)
    by_label = {r["choix"]: r for r in assemblies.iter_rows(named=True)}
    with st.form("rapport_cycle_vote_form", border=True):
        choix = st.selectbox(
            "Assemblée",
            list(by_label),
            index=None,
            placeholder="EPCI ou commune du contrat",
            key="rapport_cycle_vote_assemblee",
        )
        voted = st.date_input(
            "Voté le", value=None, max_value=_today(), format="DD/MM/YYYY", key="rapport_cycle_vote_date"
        )
        reference = st.text_input(
            "Référence de la délibération",
            placeholder="DEL-2026-045",
            max_chars=edits.MAX_REFERENCE,
            key="rapport_cycle_vote_reference",
        )
        if st.form_submit_button(
            "Enregistrer le vote", type="primary", icon=":material/how_to_vote:", key="rapport_cycle_vote_submit"
        ):
            chosen = by_label.get(choix) or {}
            write(
                ctx,
                edits.add_vote,
                assemblee=chosen.get("assemblee"),
                code_collectivite=chosen.get("code"),
                libelle_collectivite=chosen.get("libelle"),
                date_vote=voted,
                reference_deliberation=reference,
                **common,
                success=f"Vote du rapport {common['annee']} enregistré : {fmt.md(chosen.get('libelle'))}.",
            )
    recorded = cached(ctx, jalons.rapport_votes, contrat=ctx.contrat).filter(pl.col("annee") == common["annee"])
    if recorded.height:
        choices = {
            f"{r['libelle_collectivite'] or r['code_collectivite']} — {fmt.day(r['date_vote'])}": r
            for r in recorded.iter_rows(named=True)
        }
        cols = st.columns([3, 1], vertical_alignment="bottom")
        with cols[0]:
            chosen = st.selectbox("Retirer le vote", list(choices), key="rapport_cycle_vote_retirer")
        with cols[1]:
            if st.button("Retirer", key="rapport_cycle_vote_remove", icon=":material/delete:"):
                r = choices[chosen]
                write(
                    ctx,
                    edits.remove_vote,
                    assemblee=r["assemblee"],
                    code_collectivite=r["code_collectivite"],
                    **common,
                    success="Vote retiré.",
                )


def _form_publication(ctx: Context, row: dict, common: dict) -> None:
    st.caption("La publication est suivie mais n'est pas exigée pour que le rapport compte comme produit.")
    with st.form("rapport_cycle_publication_form", border=True):
        published = st.date_input(
            "Publié le",
            value=row["date_publication"],
            max_value=_today(),
            format="DD/MM/YYYY",
            key="rapport_cycle_publication_date",
        )
        lien = st.text_input(
            "Lien du rapport publié",
            value=row["lien_publication"] or "",
            placeholder="https://…",
            max_chars=edits.MAX_LIEN,
            key="rapport_cycle_publication_lien",
        )
        if st.form_submit_button(
            "Enregistrer la publication",
            type="primary",
            icon=":material/public:",
            key="rapport_cycle_publication_submit",
        ):
            if published is None:
                st.error("Indiquez la date de publication.", icon=":material/error:")
            else:
                write(
                    ctx,
                    edits.set_publication,
                    date_publication=published,
                    lien_publication=lien,
                    **common,
                    success=f"Publication du rapport {common['annee']} enregistrée ({fmt.day(published)}).",
                )
    if row["date_publication"] is not None and st.button(
        "Retirer la publication", key="rapport_cycle_publication_clear", icon=":material/delete:"
    ):
        write(
            ctx,
            edits.set_publication,
            date_publication=None,
            lien_publication=None,
            **common,
            success=f"Publication du rapport {common['annee']} retirée.",
        )
