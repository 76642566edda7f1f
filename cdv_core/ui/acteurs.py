"""The Streamlit blocks of « Acteurs et ingénierie » (pages/acteurs.py): each draws what
`cdv_core.figures.acteurs` built from the query results, under the keys the tests look up."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from cdv_core import fmt
from cdv_core.domain import model
from cdv_core.figures import acteurs as fig
from cdv_core.queries import acteurs as q
from cdv_core.ui import maps, widgets
from cdv_core.ui import publishable as pub
from cdv_core.ui.context import Context, cached
from cdv_core.ui.downloads import download_buttons

# half a 1280 px screen each: the title cut to 200 px (whole on hover) so that the due date and
# the status stay in view
ROADMAP_WIDTHS = {
    "Action": st.column_config.TextColumn(width=200),
    "Décision": st.column_config.TextColumn(width=200),
    "Échéance": st.column_config.TextColumn(width=90),
    "Statut": st.column_config.TextColumn(width=90),
}


# --- système d'acteurs --------------------------------------------------------------------------------


def filters() -> dict[str, tuple[str, ...] | None]:
    """Mode d'intervention, domaines, structure: the query filters (None when nothing is chosen)."""
    with st.container(key="acteurs_filtres"):
        cols = st.columns(3)
        modes = cols[0].multiselect(
            "Mode d'intervention",
            [*q.MODES_INTERVENTION, q.MODE_NON_RENSEIGNE],
            key="acteurs_modes",
            placeholder="Tous",
            select_all=False,
        )
        domaines = cols[1].multiselect(
            "Domaines",
            q.DOMAINES,
            key="acteurs_domaines",
            placeholder="Tous",
            help="Un acteur est retenu s'il intervient dans au moins un des domaines choisis.",
            select_all=False,
        )
        types = cols[2].multiselect(
            "Structure", list(model.TYPES_STRUCTURE), key="acteurs_types", placeholder="Toutes", select_all=False
        )
    return {"modes": tuple(modes) or None, "domaines": tuple(domaines) or None, "types": tuple(types) or None}


def chosen_actor(directory: pl.DataFrame) -> tuple[dict[str, str], str | None]:
    """The actors of the fiche's selectbox (id → name) and the one chosen, known before the
    selectbox is drawn: one QPV query serves the headline count and the map."""
    shown = directory.head(q.DIRECTORY_CAP)
    labels = dict(zip(shown["id_acteur"].to_list(), shown["nom"].to_list(), strict=True))
    chosen = st.session_state.get("acteurs_choix")
    return labels, chosen if chosen in labels else next(iter(labels), None)


def typologies(counts: pl.DataFrame) -> None:
    st.subheader("Acteurs par typologie")
    with st.container(key="acteurs_typologies"):
        for col, (typ, title) in zip(st.columns(3), fig.TYPOLOGIES, strict=True):
            chart = fig.typology_chart(counts, typ)
            with col:
                st.markdown(f"**{title}**")
                if chart is None:
                    st.caption("Aucun acteur.")
                else:
                    widgets.chart(chart, key=f"acteurs_chart_{typ[:4]}")


def directory_table(directory: pl.DataFrame, nb_acteurs: int, year: int) -> None:
    with st.container(key="acteurs_annuaire"):
        widgets.table(
            fig.directory_table(directory, year), hide_index=True, key="acteurs_table", height=360, placeholder="—"
        )
    if note := fig.directory_note(nb_acteurs, year):
        st.caption(note)
    download_buttons(directory, basename="annuaire_acteurs", key="acteurs_dl_annuaire", sheet="Acteurs")


def actor_fiche(ctx: Context, labels: dict[str, str], chosen: str, qpv: pl.DataFrame) -> None:
    """« Fiche d'un acteur »: the selectbox, the map of its QPV, its card and funding, its actions."""
    st.subheader("Fiche d'un acteur")
    options = list(labels)
    st.selectbox("Acteur", options, index=options.index(chosen), format_func=labels.__getitem__, key="acteurs_choix")
    detail = cached(ctx, q.actor_detail, id_acteur=chosen, contrat=ctx.contrat)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        deck = maps.qpv_map(
            fig.map_frame(qpv), color_column="couleur", tooltip_html=fig.MAP_TOOLTIP, tiles=ctx.settings.map_tiles
        )
        with st.container(key="acteurs_carte"):
            st.pydeck_chart(deck, key="acteurs_map", height=420)
        st.markdown(fig.MAP_LEGEND)
        st.caption(maps.attribution(ctx.settings.map_tiles) + ".")
    with right:
        card = fig.actor_card(detail, qpv)
        with st.container(key="acteurs_fiche", border=True):
            st.markdown(card.title)
            st.caption(card.caption)
            for line in card.lines:
                st.write(line)
        if detail["financement"].height:
            st.markdown("**Montants accordés par année**")
            widgets.chart(fig.funding_chart(detail["financement"]), key="acteurs_chart_fiche")
    if detail["actions"].height:
        widgets.table(fig.actions_table(detail["actions"]), hide_index=True, key="acteurs_fiche_actions")
    else:
        st.caption(fig.NO_FUNDED_ACTION)


def coverage_gaps(coverage: dict[str, Any]) -> None:
    weak = fig.weak_priorities(coverage)
    with st.container(key="acteurs_peu_couverts"):
        st.markdown(fig.gaps_title(q.SEUIL_ACTEURS_DOMAINE))
        if weak.is_empty():
            st.success(fig.ALL_COVERED, icon=":material/check_circle:")
        else:
            widgets.table(fig.gaps_table(weak), hide_index=True, key="acteurs_gaps")
            st.caption(fig.gaps_note(coverage))


def funder_dependency(dependency: dict[str, Any]) -> None:
    st.markdown(fig.dependency_title())
    dependants = fig.dependants(dependency)
    if dependants.is_empty():
        st.caption(fig.NO_DEPENDENCY)
    else:
        widgets.table(fig.dependency_table(dependants), hide_index=True, key="acteurs_dependance")
        if note := fig.most_funded_note(dependency["nb_dependants"]):
            st.caption(note)


def small_associations(small: dict[str, Any]) -> None:
    st.markdown(fig.SMALL_TITLE)
    if small["par_annee"].height:
        widgets.chart(fig.small_associations_chart(small["par_annee"]), key="acteurs_chart_petites")


def cpo_candidates(candidates: pl.DataFrame) -> None:
    st.markdown(fig.cpo_title())
    with st.container(key="acteurs_candidats_cpo"):
        if candidates.is_empty():
            st.caption("Aucun acteur dans ce cas.")
        else:
            widgets.table(fig.cpo_table(candidates), hide_index=True, key="acteurs_cpo")
            if note := fig.most_funded_note(candidates.height):
                st.caption(note)


# --- ingénierie ----------------------------------------------------------------------------------------


def posts_labels(
    ctx: Context, summary: pl.DataFrame, shown_summary: pl.DataFrame, totals: dict[str, Any]
) -> dict[str, str]:
    """The counts of posts of the cards as this session may see them. A post is a person: for a
    partenaire they are masked below the threshold, with secondary masking against the totals of
    the cards (which read the same masked table)."""
    if not pub.only(ctx):
        return {k: fmt.integer(totals[k]) for k in ("nb_postes", "nb_cofinances", "nb_adultes_relais", "nb_fonjep")}
    by_kind = dict(zip(shown_summary["type_poste"].to_list(), shown_summary["nb_postes"].to_list(), strict=True))
    return {
        "nb_postes": pub.total(ctx, summary, "nb_postes"),
        "nb_cofinances": pub.total(ctx, summary, "nb_cofinances"),
        "nb_adultes_relais": by_kind.get("adulte-relais", pub.count(ctx, 0)),
        "nb_fonjep": by_kind.get("poste FONJEP", pub.count(ctx, 0)),
    }


def team(ctx: Context, year: int, posts: pl.DataFrame, shown_summary: pl.DataFrame, names: dict[str, str]) -> None:
    """« L'équipe en … »: posts per kind, then the posts one by one (not for a partenaire)."""
    st.subheader(fig.team_title(year))
    if posts.is_empty():
        st.info(fig.NO_POST, icon=":material/info:")
        return
    with st.container(key="acteurs_synthese_postes"):
        widgets.table(
            fig.summary_table(shown_summary, publishable_only=pub.only(ctx)), hide_index=True, key="acteurs_synthese"
        )
    if pub.only(ctx):  # its table has no reference aid column, and the posts are people
        st.caption(fig.POSTS_NOT_PUBLISHABLE)
        return
    st.caption(fig.REFERENCE_AID_NOTE)
    widgets.table(fig.posts_table(posts, year, names), hide_index=True, key="acteurs_postes")
    if note := fig.posts_note(posts.height):
        st.caption(note)
    download_buttons(posts, basename=f"postes_{year}", key="acteurs_dl_postes", sheet="Postes")


def relay_posts(relay: pl.DataFrame, names: dict[str, str]) -> None:
    st.subheader("Adultes-relais et postes FONJEP par contrat et QPV")
    if relay.is_empty():
        st.caption(fig.NO_RELAY)
    else:
        widgets.table(fig.relay_table(relay, names), hide_index=True, key="acteurs_relais")


def roadmap(ctx: Context, roadmap: pl.DataFrame, decisions: pl.DataFrame, counts: dict[str, Any]) -> None:
    """« Feuille de route de l'équipe »: its actions and the open governance decisions, side by side."""
    st.subheader("Feuille de route de l'équipe")
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown(fig.roadmap_title(counts))
        widgets.table(
            pub.publishable(ctx, fig.roadmap_table(roadmap)),
            hide_index=True,
            key="acteurs_feuille",
            column_config=ROADMAP_WIDTHS,
        )
    with right:
        st.markdown(fig.decisions_title(decisions))
        widgets.table(
            pub.publishable(ctx, fig.decisions_table(decisions)),
            hide_index=True,
            key="acteurs_decisions",
            column_config=ROADMAP_WIDTHS,
        )
