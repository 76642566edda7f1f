"""« Séance et exports »: run a steering committee live on frozen figures, capture decisions,
and export the agenda as PowerPoint, PDF and Excel."""

from datetime import date

import polars as pl
import streamlit as st

from cdv_core import fmt, seance, ui
from cdv_core.edits import gouvernance as gouvernance_edits
from cdv_core.edits import seance as seance_edits
from cdv_core.queries import gouvernance
from cdv_core.ui import nav, publication
from cdv_core.ui import seance as view
from cdv_core.ui.seance import PENDING, SAVED, STATE
from cdv_core.ui.widgets import presentation_style, section_top


def start() -> None:
    """The instance, the meeting (a planned one or a new one), the date and the agenda of a séance."""
    instances = ui.cached(
        ctx,
        gouvernance.instance_choices,
        contrat=ctx.contrat,
        donnees_au=ctx.donnees_au,
        tolerance_days=ctx.settings.cadence_tolerance_days,
    )
    names = dict(zip(instances["code_instance"], instances["libelle"]))
    left, right = st.columns(2)
    with left:
        code_instance = st.selectbox(
            "Instance", seance.instance_order(instances), format_func=lambda c: names[c], key="seance_instance"
        )
    planned = ui.cached(ctx, seance.planned_meetings, code_instance=code_instance) if code_instance else None
    with right:
        options = ["__nouvelle__"] + (planned["id_reunion"].to_list() if planned is not None else [])
        labels = {"__nouvelle__": "Nouvelle réunion, à la date de la séance"}
        if planned is not None:
            labels |= {
                r: f"Réunion prévue le {fmt.day(d)}" for r, d in zip(planned["id_reunion"], planned["date_reunion"])
            }
        reunion = st.selectbox("Réunion", options, format_func=lambda r: labels[r], key="seance_reunion")
    date_seance = st.date_input("Date de la séance", value=date.today(), format="DD/MM/YYYY", key="seance_date")
    previous = ui.cached(ctx, seance_edits.last_agenda, code_instance=code_instance) if code_instance else None
    instance_qp = dict(zip(instances["code_instance"], instances["code_qp"])).get(code_instance)
    keys, code_qp = view.agenda_picker(ctx, "seance", previous, instance_qp)
    if st.button(
        "Démarrer la séance",
        type="primary",
        key="seance_start",
        disabled=not (code_instance and keys),
        icon=":material/play_arrow:",
    ):
        st.session_state[STATE] = {
            "contrat": ctx.contrat,
            "contrat_libelle": ctx.contrat_libelle,
            "instance": code_instance,
            "instance_libelle": names[code_instance],
            "reunion": None if reunion == "__nouvelle__" else reunion,
            "date": date_seance,
            "keys": keys,
            "code_qp": code_qp,
            "sections": view.build(ctx, keys, code_qp),
            "donnees_au": ctx.donnees_au,
            "index": 0,
            "decisions": [],
            "participants": None,
            "habitants": None,
        }
        view.restore_attendance(None, force=True)
        st.rerun()


def move(state: dict, index: int) -> None:
    """« Précédent » / « Suivant » (a callback: the séance's fragment then runs again on that section)."""
    state["index"] = index


def projector(state: dict) -> None:
    """The projector bar (where the séance is and how to move, always in view) and the section."""
    sections, i = state["sections"], state["index"]
    presentation_style(hide_sidebar=st.session_state.get("seance_fullscreen", False))
    # Sticky, above the section, so that nothing in it moves while a section renders.
    with st.container(key="seance_bar"):
        with st.container(horizontal=True, vertical_alignment="center", key="seance_nav"):
            st.button(
                "Précédent",
                key="seance_prev",
                disabled=i == 0,
                icon=":material/arrow_back:",
                shortcut="ArrowLeft",
                on_click=move,
                args=(state, i - 1),
            )
            st.button(
                "Suivant",
                key="seance_next",
                disabled=i >= len(sections) - 1,
                icon=":material/arrow_forward:",
                shortcut="ArrowRight",
                on_click=move,
                args=(state, i + 1),
            )
            st.markdown(f"**Section {i + 1} sur {len(sections)}**", width="content")
            st.space("stretch")
            st.toggle("Plein écran", key="seance_fullscreen", help="Masque le panneau latéral.")
        st.caption(
            f"**{fmt.md(state['instance_libelle'])}** · séance du {fmt.day(state['date'])} · chiffres "
            f"figés : données au **{fmt.day(state['donnees_au'])}**"
        )
    section_top(i)
    with st.container(key="seance_section"):
        view.render_section(sections[i])
    if st.button(
        "Rafraîchir les chiffres",
        key="seance_refresh",
        icon=":material/refresh:",
        help="Recalcule toutes les sections avec les données actuelles de la base.",
    ):
        state["sections"], state["donnees_au"] = view.build(ctx, state["keys"], state["code_qp"]), ctx.donnees_au
        st.rerun()


def close(state: dict, participants: int | None, habitants: int | None) -> None:
    """« Clôturer la séance et enregistrer »: the meeting, its decisions and the agenda in one transaction."""
    draft = gouvernance_edits.MeetingDraft(
        code_instance=state["instance"],
        date_reunion=state["date"],
        statut="tenue",
        nb_participants=participants,
        nb_habitants=habitants,
        objet="Séance conduite avec le tableau de bord",
        decisions=tuple(
            gouvernance_edits.DecisionDraft(
                libelle=d["libelle"],
                responsable=d["responsable"],
                date_echeance=d["date_echeance"],
                actions=gouvernance_edits.parse_action_codes(d["actions"]),
            )
            for d in state["decisions"]
        ),
    )
    agenda = seance_edits.agenda_entry(code_instance=state["instance"], keys=state["keys"], code_qp=state["code_qp"])
    ui.write(
        ctx,
        gouvernance_edits.record_meeting,
        draft,
        today=date.today(),
        replaces=state["reunion"],
        meta=(agenda,),
        closes_draft=state["contrat"],
        success=lambda id_reunion: (
            f"Séance enregistrée (réunion {id_reunion}) avec "
            f"{fmt.plural(len(draft.decisions), 'décision')} : elles figurent "
            "dans le suivi des décisions."
        ),
        on_success=lambda id_reunion: st.session_state.update(
            {STATE: None, SAVED: None, "seance_closed": True, PENDING: {**state, "id_reunion": id_reunion}}
        ),
    )


@st.fragment
def live(state: dict) -> None:
    """The séance under way: the projector, the decisions, the attendance, closing or abandoning it.
    A fragment: « Suivant » and the séance's forms rerun it alone, not the page's other tabs (the
    projector bar stays in view, sticky, over the whole of it)."""
    projector(state)
    st.divider()
    st.subheader("Décisions prises en séance")
    view.decision_form(ctx, state)
    view.decision_list(ctx, state)
    view.restore_attendance(state)  # after a page change, the widgets come back with the draft's values
    c1, c2 = st.columns(2)
    with c1:
        participants = st.number_input("Participants", min_value=0, step=1, value=None, key="seance_participants")
    with c2:
        habitants = st.number_input("Dont habitants", min_value=0, step=1, value=None, key="seance_habitants")
    state["participants"], state["habitants"] = participants, habitants  # kept with the draft
    view.keep(ctx, state)
    if not ctx.can_write():
        st.caption("Votre rôle permet de présenter la séance, pas de l'enregistrer.")
    elif st.button("Clôturer la séance et enregistrer", type="primary", key="seance_close", icon=":material/task_alt:"):
        close(state, participants, habitants)
    view.abandon(ctx, state)
    with st.expander("Exports de la séance (PowerPoint, PDF, Excel)"):
        decisions = pl.DataFrame(state["decisions"]) if state["decisions"] else None
        view.exports_block(
            ctx,
            state["sections"],
            f"Séance — {state['instance_libelle']}",
            decisions,
            state["date"],
            "seance_exp",
            publishable_sections=lambda: view.build(
                ctx, state["keys"], state["code_qp"], publiable=True, donnees_au=state["donnees_au"]
            ),
        )


def after_close(state: dict | None) -> None:
    """Once closed: a link to the decisions, and the validation of the figures shown."""
    if st.session_state.pop("seance_closed", None):
        st.page_link(nav.page_path("Gouvernance"), label="Voir le suivi des décisions", icon=":material/arrow_forward:")
    pending = st.session_state.get(PENDING)
    if pending and not state and pending["contrat"] == ctx.contrat:
        view.validation_form(
            ctx,
            "seance_val",
            contrat=pending["contrat"],
            sections=pending["sections"],
            scope=seance.Scope(pending["contrat"], pending["donnees_au"], ctx.settings, pending["code_qp"]),
            libelle=f"Séance du {fmt.day(pending['date'])} — {pending['instance_libelle']}",
            id_reunion=pending["id_reunion"],
            on_success=lambda _: st.session_state.pop(PENDING, None),
        )


ctx = ui.bootstrap("Séance et exports")
ui.page_header("Séance et exports", ctx)
state = view.take_up(ctx)

tab_seance, tab_export, tab_valides, tab_publication = st.tabs(
    ["Séance en direct", "Exports sans séance", "Chiffres validés", "Publication"], key="seance_onglets"
)

with tab_publication:  # the publishable figures and the published rapport annuel (cdv_core/ui/publication.py)
    publication.section(ctx)
with tab_seance:
    if ctx.contrat is None:
        st.info(
            "Choisissez un contrat dans le panneau latéral pour conduire une séance de l'une de ses instances.",
            icon=":material/info:",
        )
    elif not state:
        start()
    else:
        live(state)
    after_close(state)
with tab_export:
    view.export_only(ctx)
with tab_valides:
    view.validated_figures(ctx)
