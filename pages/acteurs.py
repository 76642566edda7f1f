"""« Acteurs et ingénierie »: the local system of actors and the team that keeps the contract alive."""

import polars as pl
import streamlit as st

from cdv_core import fmt, ui
from cdv_core.edits import acteurs as edits_acteurs
from cdv_core.figures import acteurs as fig
from cdv_core.queries import acteurs as q
from cdv_core.queries import territoire
from cdv_core.ui import acteurs as blocks
from cdv_core.ui import nav
from cdv_core.ui import publishable as pub
from cdv_core.ui.downloads import download_buttons

ctx = ui.bootstrap("Acteurs et ingénierie")
ui.page_header("Acteurs et ingénierie", ctx)
year = ctx.donnees_au.year
_euros = fig.euros  # the amounts of the adultes-relais expander at the end


def actors_view() -> None:
    """« Système d'acteurs »: filters, figure cards, typologies, directory and fiche, what the committee asks."""
    filters = blocks.filters()
    directory = ui.cached(ctx, q.directory, contrat=ctx.contrat, annee=year, **filters)
    labels, chosen = blocks.chosen_actor(directory)
    qpv = ui.cached(ctx, q.actors_by_qpv, contrat=ctx.contrat, id_acteur=chosen, **filters)
    headline = ui.cached(ctx, q.actor_counts, contrat=ctx.contrat, **filters)
    dependency = ui.cached(ctx, q.dependency_summary, contrat=ctx.contrat)
    small = ui.cached(ctx, q.small_association_summary, contrat=ctx.contrat, annee=year)
    ui.card_row(fig.actor_cards(headline, dependency, small, year), key="acteurs_kpis")
    blocks.typologies(ui.cached(ctx, q.typology_counts, contrat=ctx.contrat, **filters))

    st.subheader("Annuaire des acteurs")
    if directory.is_empty() or chosen is None:
        st.info(fig.NO_MATCH, icon=":material/info:")
    else:
        blocks.directory_table(directory, headline["nb_acteurs"], year)
        blocks.actor_fiche(ctx, labels, chosen, qpv)

    st.subheader("Ce que le comité demande")
    blocks.coverage_gaps(ui.cached(ctx, q.coverage_summary, contrat=ctx.contrat, seuil=q.SEUIL_ACTEURS_DOMAINE))
    left, right = st.columns(2, gap="medium")
    with left:
        blocks.funder_dependency(dependency)
    with right:
        blocks.small_associations(small)
    blocks.cpo_candidates(ui.cached(ctx, q.cpo_candidates, contrat=ctx.contrat, annee=year))


def team_view() -> None:
    """« Ingénierie »: the team's cards, posts and relay posts, its roadmap (the adultes-relais
    expander follows, at the end of the page)."""
    posts = ui.cached(ctx, q.posts, contrat=ctx.contrat, annee=year)
    summary = ui.cached(ctx, q.posts_summary, contrat=ctx.contrat, annee=year)
    totals = ui.cached(ctx, q.posts_totals, contrat=ctx.contrat, annee=year)
    shown_summary = pub.publishable(ctx, summary, counts=["nb_postes", "nb_cofinances"], total_shown=True)
    labels = blocks.posts_labels(ctx, summary, shown_summary, totals)
    ui.card_row(fig.team_cards(labels, totals, year, publishable_only=pub.only(ctx)), key="acteurs_equipe_kpis")
    names = fig.contract_names(ui.cached(ctx, territoire.contracts))
    blocks.team(ctx, year, posts, shown_summary, names)
    if not pub.only(ctx):  # a partenaire: the caption above says why not
        blocks.relay_posts(ui.cached(ctx, q.relay_posts_by_qpv, contrat=ctx.contrat, annee=year), names)
    roadmap = dict(contrat=ctx.contrat, donnees_au=ctx.donnees_au)
    blocks.roadmap(
        ctx,
        ui.cached(ctx, q.roadmap, **roadmap),
        ui.cached(ctx, q.open_decisions, **roadmap),
        ui.cached(ctx, q.roadmap_counts, **roadmap),
    )


view = st.segmented_control(
    "Volet",
    ["Système d'acteurs", "Ingénierie"],
    default="Système d'acteurs",
    key="acteurs_volet",
    label_visibility="collapsed",
)
if view != "Ingénierie":
    actors_view()
else:
    team_view()

    with st.expander(
        "Postes d'adultes-relais de la liste nationale (codes de contrat 2015)", icon=":material/upload_file:"
    ):
        st.write(
            "Les codes de contrat de la génération 2015 (CV001…) de la liste nationale des postes "
            "d'adultes-relais sont conservés sur chaque poste et comptés à part : ils ne correspondent pas "
            "aux contrats 2024. La liste (open data ANCT en JSON ou CSV, ou extraction GISPRO) s'importe, "
            "par un administrateur, sur la page « Mise à jour des données »."
        )
        st.page_link(
            nav.page_path("Mise à jour des données"),
            label="Importer la liste nationale des adultes-relais",
            icon=":material/upload_file:",
        )
        import_year = st.number_input(
            "Année de la liste", min_value=2014, max_value=2035, value=2023, step=1, key="acteurs_annee_liste"
        )
        per_code = ui.cached(ctx, q.posts_by_code_2015, annee=int(import_year))
        if per_code.is_empty():
            st.caption(f"Aucun poste importé pour {int(import_year)}.")
        else:
            ui.table(
                per_code.head(300).select(
                    pl.col("code_cv_2015").alias("Code contrat 2015"),
                    pl.col("code_contrat").fill_null("—").alias("Contrat 2024 rattaché"),
                    pl.col("nb_postes").alias("Postes"),
                    _euros("montant").alias("Montant"),
                ),
                hide_index=True,
                key="acteurs_codes_2015",
            )
            download_buttons(per_code, basename=f"adultes_relais_par_code_{int(import_year)}", key="acteurs_dl_codes")
            contracts = ui.cached(ctx, territoire.contracts)
            contract_labels = dict(zip(contracts["code_contrat"].to_list(), contracts["libelle"].to_list()))
            if ctx.can_write():
                with st.form("acteurs_rattachement", border=True):
                    st.markdown(
                        "**Rattacher un code 2015 à un contrat 2024** : ses postes comptent alors dans ce contrat."
                    )
                    cols = st.columns(2)
                    code = cols[0].selectbox(
                        "Code contrat 2015", per_code["code_cv_2015"].unique().sort().to_list(), key="acteurs_code_2015"
                    )
                    target = cols[1].selectbox(
                        "Contrat 2024",
                        [None, *contract_labels],
                        key="acteurs_contrat_2024",
                        format_func=lambda c: "(détacher)" if c is None else contract_labels[c],
                    )
                    if st.form_submit_button("Enregistrer", icon=":material/link:", key="acteurs_rattachement_submit"):
                        ui.write(
                            ctx,
                            edits_acteurs.attach_contract,
                            code_cv_2015=code,
                            code_contrat=target,
                            success=(
                                f"Code {fmt.md(code)} rattaché au contrat {fmt.md(contract_labels[target])}."
                                if target
                                else f"Code {fmt.md(code)} détaché de son contrat."
                            ),
                        )
