"""The « Séance et exports » page's blocks: the agenda picker, a section on the projector, the
decisions taken in séance, the draft kept in the store, the exports and the validation of the figures
shown. What they show comes from `cdv_core.seance` and `cdv_core.figures.seance`."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from cdv_core import access, exports, fmt, seance, validation
from cdv_core.edits import gouvernance as gouvernance_edits
from cdv_core.edits import seance as seance_edits
from cdv_core.figures import seance as fig
from cdv_core.queries import territoire
from cdv_core.ui import publishable as pub
from cdv_core.ui import runs, widgets
from cdv_core.ui.context import Context, cached, own, write
from cdv_core.ui.widgets import kpi

STATE = "seance_state"  # the open séance of the selected contract (kept across page changes)
DRAFTS = "seance_brouillons"  # open séances of the other contracts, restored when one is chosen again
PENDING = "seance_a_valider"  # the figures of the séance just closed, offered for validation
SAVED = "seance_brouillon_enregistre"  # the draft as last kept in the store (JSON): written again only when it changed
ATTENDANCE = {"participants": "seance_participants", "habitants": "seance_habitants"}  # draft key → widget key
DEC_FIELDS = {
    "libelle": "seance_dec_libelle",
    "responsable": "seance_dec_resp",
    "date_echeance": "seance_dec_due",
    "actions": "seance_dec_actions",
}  # decision key → widget key of the decision form


def agenda_picker(
    ctx: Context,
    prefix: str,
    previous: tuple[tuple[str, ...], str | None] | None = None,
    instance_qp: str | None = None,
) -> tuple[tuple[str, ...], str | None]:
    """The ordered agenda and, when it holds a projet de quartier, the QPV to present.
    `previous` (the instance's last agenda) is offered as the starting point; else an instance
    tied to a QPV (`instance_qp`, a « revue de projet de quartier ») presents that QPV."""
    choices = seance.section_choices()
    default_keys, default_qp = previous or (seance.DEFAULT_AGENDA, None)
    default_qp = default_qp or instance_qp
    suffix = "_".join(default_keys)  # a new default needs a new widget
    picked = st.multiselect(
        "Ordre du jour",
        list(choices),
        default=list(default_keys),
        format_func=lambda key: choices[key],
        key=f"{prefix}_agenda_{suffix}" if previous else f"{prefix}_agenda",
        help="Les sections sont présentées dans l'ordre choisi.",
        select_all=False,
    )
    if previous:
        st.caption("Ordre du jour repris de la dernière séance de cette instance.")
    code_qp = None
    if "projet_quartier" in picked:
        qpv = cached(ctx, territoire.quartiers, contrat=ctx.contrat)
        names = dict(zip(qpv["code_qp"], qpv["libelle"]))
        options = [None, *names]
        # A new default (another instance) needs a new widget, as for the agenda.
        code_qp = st.selectbox(
            "Quartier présenté",
            options,
            key=f"{prefix}_qpv_{default_qp}" if default_qp else f"{prefix}_qpv",
            index=options.index(default_qp) if default_qp in options else 0,
            format_func=lambda c: "Le plus en difficulté" if c is None else names[c],
        )
    return tuple(picked), code_qp


def build(
    ctx: Context,
    keys: tuple[str, ...],
    code_qp: str | None,
    *,
    publiable: bool | None = None,
    donnees_au: date | None = None,
) -> tuple[seance.Section, ...]:
    """The agenda's sections; publishable for a partenaire (and when `publiable`)."""
    return cached(
        ctx,
        seance.agenda,
        keys=keys,
        contrat=ctx.contrat,
        donnees_au=donnees_au or ctx.donnees_au,
        settings=ctx.settings,
        code_qp=code_qp,
        publiable=pub.only(ctx) if publiable is None else publiable,
    )


def render_section(section: seance.Section) -> None:
    st.header(fmt.md(section.title))  # it may name a quartier
    # At most 3 cards a row; the container key tells the presentation CSS how wide (in em) the
    # widest value is, so that every value of the section fits its card.
    figures, rows = iter(section.figures), seance.card_rows(len(section.figures))
    with st.container(key=f"seance_fit_{seance.fit_ems(section.figures)}"):
        for n in rows:
            cols = st.columns(max(rows))  # same card width on every row
            for col, figure in zip(cols[:n], figures):
                with col:
                    kpi(figure.label, figure.value, delta=figure.note, delta_color="off", delta_arrow="off")
    if section.chart:
        st.vega_lite_chart(spec=section.chart, width="stretch")
    if section.notes:
        st.markdown(f"**{fmt.md(section.notes[0])}**")  # it may name objectives
        for note in section.notes[1:]:
            with st.expander("Comment ce statut est-il calculé ?"):
                st.markdown(note)
    if section.table is not None and section.table.height:
        if section.table_title:
            st.markdown(f"**{section.table_title}**")
        # A plain table: on a projector every sentence (« Pourquoi », « Constat ») wraps whole,
        # where a data grid would cut it at its column's edge (at most TABLE_ROWS rows).
        shown = section.table.head(seance.TABLE_ROWS)
        st.table(shown.with_columns(pl.col(pl.String).fill_null("—")), hide_index=True, border="horizontal")


def exports_block(
    ctx: Context,
    sections,
    title: str,
    decisions: pl.DataFrame | None,
    date_seance: date,
    key: str,
    *,
    publishable_sections,
) -> None:
    """« Préparer les exports » builds the three files (with progress); `sections` may be a
    callable, so an agenda is only computed when the files are asked for. The publishable
    version (no names, small counts of people masked) renders `publishable_sections()` instead;
    a partenaire only gets that one (its `sections` are already publishable)."""
    forced = pub.only(ctx)
    seuil = fmt.integer(ctx.settings.secret_threshold)
    publiable = forced | st.toggle(  # shown disabled and on for a partenaire
        "Version publiable (sans noms, petits effectifs masqués)",
        value=forced,
        disabled=forced,
        key=f"{key}_publiable_partenaire" if forced else f"{key}_publiable",
        help="Votre rôle (partenaire) ne reçoit que la version publiable."
        if forced
        else f"Pour une diffusion hors de l'équipe : sans noms de personnes, effectifs de moins de {seuil} "
        f"personnes affichés « < {seuil} » (secret statistique).",
    )
    cover = exports.Cover(title, ctx.contrat_libelle, date_seance, ctx.donnees_au)
    if publiable:
        cover = exports.publishable_cover(cover, threshold=ctx.settings.secret_threshold)
        sections = sections if forced else publishable_sections
    # Files built for another selection, agenda or list of decisions are stale: drop them.
    signature = (
        cover,
        ctx.contrat,
        ctx.version,
        st.session_state.get(f"{key}_agenda"),
        st.session_state.get(f"{key}_qpv"),
        None if decisions is None else decisions.height,
    )
    built = st.session_state.get(f"{key}_files")
    files = built[1] if built and built[0] == signature else None
    if st.button("Préparer les exports", key=f"{key}_build", icon=":material/file_export:"):
        files = {}
        with (
            st.status("Préparation des exports…", expanded=True) as status,
            runs.aside(),
        ):  # others' pages run meanwhile
            if callable(sections):
                st.write("Calcul des sections…")
                sections = sections()
            bar = st.progress(0.0)
            for n, name in enumerate(exports.FORMATS):

                def progress(share, label, n=n):
                    bar.progress((n + share) / len(exports.FORMATS), text=label)

                files[name] = exports.render(name, cover, sections, decisions, progress=progress)
            status.update(label="Exports prêts", state="complete")
        st.session_state[f"{key}_files"] = (signature, files)
    if files:
        cols = st.columns(3)
        labels = {"pptx": "PowerPoint", "pdf": "PDF", "xlsx": "Excel"}
        for col, name in zip(cols, exports.FORMATS):
            with col:
                st.download_button(
                    f"Télécharger ({labels[name]})",
                    data=files[name],
                    file_name=f"seance-{date_seance.isoformat()}.{name}",
                    mime=exports.MIME[name],
                    key=f"{key}_dl_{name}",
                    icon=":material/download:",
                )


def validation_form(
    ctx: Context,
    key: str,
    *,
    contrat: str,
    sections,
    scope: seance.Scope,
    libelle: str,
    id_reunion: str | None = None,
    on_success=None,
) -> None:
    """« Valider les chiffres présentés »: what, which years, then one write (chef de projet of
    the contract or administrator; the core checks again). `sections` may be a callable, so an
    agenda is only computed when it is validated."""
    if not ctx.user.can(access.VALIDATE, contrat):
        return
    with st.form(f"{key}_form", border=True):
        st.markdown("**Valider les chiffres présentés**")
        st.caption(
            "Les chiffres sont conservés tels qu'affichés, avec votre nom et la date. Un import qui modifierait "
            "des données du contrat pour ces années devra être confirmé par un chef de projet ou un "
            "administrateur."
        )
        text = st.text_input("Ce qui est validé", value=libelle, key=f"{key}_libelle")
        year = scope.donnees_au.year
        years = st.select_slider(
            "Années couvertes par ces chiffres",
            options=list(range(min(2024, year), max(2030, year) + 1)),
            value=(year, year),
            key=f"{key}_annees",
        )
        if st.form_submit_button("Valider les chiffres présentés", icon=":material/verified:", key=f"{key}_ok"):
            sections = sections() if callable(sections) else sections
            write(
                ctx,
                validation.validate,
                code_contrat=contrat,
                annees=years,
                sections=sections,
                libelle=text,
                id_reunion=id_reunion,
                scope=scope,
                on_success=on_success,
                success=lambda n: (
                    f"Chiffres validés (validation n° {n}, "
                    f"{fmt.plural(sum(len(s.figures) for s in sections), 'chiffre')}) : "
                    "consultables dans l'onglet « Chiffres validés »."
                ),
            )


def validated_figures(ctx: Context) -> None:
    """The validations of the selected contract(s), and for one of them each validated figure
    beside its current value."""
    done = cached(ctx, validation.validations, contrat=ctx.contrat)
    if done.is_empty():
        st.info(
            "Aucun chiffre validé pour cette sélection. Les chiffres d'une séance se valident à sa clôture "
            "(onglet « Séance en direct »), ceux d'un ordre du jour depuis l'onglet « Exports sans séance ».",
            icon=":material/info:",
        )
        return
    partner = ctx.user.publishable_only  # no names of people, no unmasked counts
    widgets.table(
        fig.validations_table(done, names=not partner),
        hide_index=True,
        width="stretch",
        key="seance_validations",
        placeholder="—",
    )
    if partner:
        st.info(
            "Les chiffres validés sont conservés tels qu'ils ont été présentés, sans masquage des petits "
            "effectifs : votre rôle (partenaire) n'en voit que la liste.",
            icon=":material/lock:",
        )
        return
    labels = fig.validation_labels(done)
    chosen = st.selectbox(
        "Comparer avec les données actuelles",
        list(labels),
        format_func=lambda n: labels[n],
        key="seance_validation_choisie",
    )
    rows = cached(ctx, validation.compare, id_validation=chosen, settings=ctx.settings)
    changed = int(rows["modifie"].sum())
    tables = cached(ctx, validation.changed_tables, id_validation=chosen)
    if changed:
        st.warning(
            f"{fmt.plural(changed, 'chiffre a changé', 'chiffres ont changé')} depuis la validation.",
            icon=":material/difference:",
        )
    else:
        st.success("Aucun chiffre n'a changé depuis la validation.", icon=":material/check_circle:")
    if tables:
        st.caption("Données du contrat et de la période modifiées depuis : " + ", ".join(tables) + ".")
    with st.container(key="seance_comparaison"):
        widgets.table(
            fig.comparison_table(rows), hide_index=True, width="stretch", height=min(36 * (rows.height + 1) + 3, 900)
        )  # every figure at once


def decision_form(ctx: Context, state: dict) -> None:
    """Add a decision, or correct the one being edited: checked by the core (`check_decision`, the
    rule the closing applies) before it joins the draft; refused, it stays in the form with its
    French errors under the fields."""
    editing = state.get("editing")

    def clear() -> None:
        for key in DEC_FIELDS.values():
            st.session_state[key] = None if key == DEC_FIELDS["date_echeance"] else ""
        state["editing"], state["dec_errors"] = None, []

    def submit() -> None:
        typed = {name: st.session_state.get(key) for name, key in DEC_FIELDS.items()}
        check = cached(
            ctx, gouvernance_edits.check_decision, code_instance=state["instance"], date_reunion=state["date"], **typed
        )
        if not check.ok:
            state["dec_errors"] = check.errors
            return
        d = check.decision
        entry = {
            "libelle": d.libelle,
            "responsable": d.responsable,
            "date_echeance": d.date_echeance,
            "actions": ", ".join(d.actions),
        }
        if editing is not None and editing < len(state["decisions"]):
            state["decisions"][editing] = entry
        else:
            state["decisions"].append(entry)
        clear()
        state["dec_warnings"] = check.warnings

    with st.form("seance_decision", clear_on_submit=False):
        if editing is not None:
            st.markdown(f"**Correction de la décision {editing + 1}**")
        st.text_input("Décision", key=DEC_FIELDS["libelle"])
        c1, c2, c3 = st.columns(3)
        with c1:
            st.text_input("Responsable", key=DEC_FIELDS["responsable"])
        with c2:
            st.date_input("Échéance (JJ/MM/AAAA)", value=None, format="DD/MM/YYYY", key=DEC_FIELDS["date_echeance"])
        with c3:
            st.text_input(
                "Actions liées (codes)",
                key=DEC_FIELDS["actions"],
                help="Codes d'action du contrat, séparés par des virgules.",
            )
        if state.get("dec_errors"):
            st.error(
                "Décision non ajoutée :\n\n" + "\n".join(f"- {fmt.md(e)}" for e in state["dec_errors"]),
                icon=":material/error:",
            )
        for warning in state.pop("dec_warnings", None) or ():
            st.warning(fmt.md(warning), icon=":material/warning:")
        with st.container(horizontal=True):
            st.form_submit_button(
                "Ajouter la décision" if editing is None else "Enregistrer la correction",
                icon=":material/add:" if editing is None else ":material/check:",
                key="seance_dec_submit",
                on_click=submit,
            )
            if editing is not None:
                st.form_submit_button("Annuler la correction", key="seance_dec_cancel", on_click=clear)


def decision_list(ctx: Context, state: dict) -> None:
    """The draft's decisions, each correctable and removable until the séance is closed."""

    def edit(n: int) -> None:
        d = state["decisions"][n]
        for name, key in DEC_FIELDS.items():
            st.session_state[key] = d[name] if name == "date_echeance" else (d[name] or "")
        state["editing"], state["dec_errors"] = n, []

    def remove(n: int) -> None:
        del state["decisions"][n]
        editing = state.get("editing")
        if editing == n:
            for key in DEC_FIELDS.values():
                st.session_state[key] = None if key == DEC_FIELDS["date_echeance"] else ""
            state["editing"] = None
        elif editing is not None and editing > n:
            state["editing"] = editing - 1

    names = not pub.only(ctx)  # a partenaire sees no names of people
    for n, d in enumerate(state["decisions"]):
        with st.container(horizontal=True, vertical_alignment="center", key=f"seance_dec_row_{n}"):
            st.markdown(fig.decision_line(n, d, names=names), width="stretch")
            st.button("Corriger", key=f"seance_dec_edit_{n}", icon=":material/edit:", on_click=edit, args=(n,))
            st.button("Retirer", key=f"seance_dec_del_{n}", icon=":material/delete:", on_click=remove, args=(n,))


def restore_attendance(state: dict | None, *, force: bool = False) -> None:
    """Put the draft's attendance back into its widgets (gone after a page change; another
    contract's séance when `force`)."""
    for name, key in ATTENDANCE.items():
        if force or key not in st.session_state:
            st.session_state[key] = state.get(name) if state else None


def keep(ctx: Context, state: dict) -> None:
    """Keep the open séance in the store whenever it changed, so that a reconnection, a reload or
    another browser of the same person takes it up again (`seance_edits.drafts`)."""
    text = seance.draft_json(state)
    if st.session_state.get(SAVED) != text and write(
        ctx, seance_edits.save_draft, code_contrat=state["contrat"], contenu=text, success=None, rerun=False
    ):
        st.session_state[SAVED] = text


def abandon(ctx: Context, state: dict) -> None:
    """« Abandonner la séance »: its draft forgotten, nothing recorded (confirmed in a popover)."""
    with st.popover("Abandonner la séance", icon=":material/delete_forever:"):
        st.markdown("Les décisions saisies et les présences de cette séance seront perdues ; rien ne sera enregistré.")
        if st.button("Abandonner définitivement", key="seance_abandon", icon=":material/delete_forever:"):
            write(
                ctx,
                seance_edits.drop_draft,
                code_contrat=state["contrat"],
                success="Séance abandonnée : rien n'a été enregistré.",
                on_success=lambda _: st.session_state.update({STATE: None, SAVED: None}),
            )


def take_up(ctx: Context) -> dict | None:
    """One open séance per contract and person, kept in the store: another contract chosen parks the
    open séance, choosing its contract again (or coming back from another page, or after a
    reconnection) restores it as it was."""
    drafts = st.session_state.setdefault(DRAFTS, {})
    if "seance_brouillons_lus" not in st.session_state:  # once a session: the drafts kept in the store
        st.session_state["seance_brouillons_lus"] = True
        for code, text in (own(ctx, seance_edits.drafts) or {}).items():
            drafts.setdefault(code, seance.draft_from_json(text))
    state = st.session_state.get(STATE)
    if state and state["contrat"] != ctx.contrat:
        drafts[state["contrat"]] = state
        state = None
    if not state and ctx.contrat in drafts:
        state = drafts.pop(ctx.contrat)
        restore_attendance(state, force=True)
        st.info(
            f"Séance en cours reprise ({fmt.md(state['instance_libelle'])}, section {state['index'] + 1} sur "
            f"{len(state['sections'])}, {fmt.plural(len(state['decisions']), 'décision')}).",
            icon=":material/restore:",
        )
    st.session_state[STATE] = state
    for other in drafts.values():
        st.caption(
            f"Séance en cours conservée pour le contrat « {fmt.md(other['contrat_libelle'])} » "
            f"({fmt.md(other['instance_libelle'])}) : choisissez ce contrat pour la reprendre."
        )
    return state


def export_only(ctx: Context) -> None:
    """An agenda exported (and validated) with the current data, without a séance."""
    st.write("Exporter un ordre du jour avec les données actuelles, sans conduire de séance.")
    keys, code_qp = agenda_picker(ctx, "export")
    if not keys:
        return
    exports_block(
        ctx,
        lambda: build(ctx, keys, code_qp),
        "Point d'étape du contrat de ville",
        None,
        ctx.donnees_au,
        "export",
        publishable_sections=lambda: build(ctx, keys, code_qp, publiable=True),
    )
    if ctx.contrat and ctx.user.can(access.VALIDATE, ctx.contrat):
        with st.expander("Valider ces chiffres (rapport annuel, point d'étape)", icon=":material/verified:"):
            validation_form(
                ctx,
                "export_val",
                contrat=ctx.contrat,
                sections=lambda: build(ctx, keys, code_qp),
                scope=seance.Scope(ctx.contrat, ctx.donnees_au, ctx.settings, code_qp),
                libelle=f"Point d'étape du {fmt.day(ctx.donnees_au)}",
            )
