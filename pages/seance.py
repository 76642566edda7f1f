"""« Séance et exports »: run a steering committee live on frozen figures, capture decisions,
and export the agenda as PowerPoint, PDF and Excel."""

from datetime import date

import polars as pl
import streamlit as st

from cdv_core import access, exports, fmt, seance, ui, validation
from cdv_core.edits import gouvernance as gouvernance_edits
from cdv_core.edits import seance as seance_edits
from cdv_core.queries import gouvernance, territoire
from cdv_core.ui import nav, publication
from cdv_core.ui import publishable as pub
from cdv_core.ui.widgets import presentation_style, section_top

ctx = ui.bootstrap("Séance et exports")
ui.page_header("Séance et exports", ctx)
STATE = "seance_state"         # the open séance of the selected contract (kept across page changes)
DRAFTS = "seance_brouillons"   # open séances of the other contracts, restored when one is chosen again
PENDING = "seance_a_valider"  # the figures of the séance just closed, offered for validation
SAVED = "seance_brouillon_enregistre"  # the draft as last kept in the store (JSON): written again only when it changed
ATTENDANCE = {"participants": "seance_participants", "habitants": "seance_habitants"}  # draft key → widget key
DEC_FIELDS = {"libelle": "seance_dec_libelle", "responsable": "seance_dec_resp", "date_echeance": "seance_dec_due",
              "actions": "seance_dec_actions"}  # decision key → widget key of the decision form


def _agenda_picker(prefix: str, previous: tuple[tuple[str, ...], str | None] | None = None,
                   instance_qp: str | None = None) -> tuple[tuple[str, ...], str | None]:
    """The ordered agenda and, when it holds a projet de quartier, the QPV to present.
    `previous` (the instance's last agenda) is offered as the starting point; else an instance
    tied to a QPV (`instance_qp`, a « revue de projet de quartier ») presents that QPV."""
    choices = seance.section_choices()
    default_keys, default_qp = previous or (seance.DEFAULT_AGENDA, None)
    default_qp = default_qp or instance_qp
    suffix = "_".join(default_keys)  # a new default needs a new widget
    picked = st.multiselect("Ordre du jour", list(choices), default=list(default_keys),
                            format_func=choices.get, key=f"{prefix}_agenda_{suffix}" if previous else f"{prefix}_agenda",
                            help="Les sections sont présentées dans l'ordre choisi.", select_all=False)
    if previous:
        st.caption("Ordre du jour repris de la dernière séance de cette instance.")
    code_qp = None
    if "projet_quartier" in picked:
        qpv = ui.cached(ctx, territoire.quartiers, contrat=ctx.contrat)
        names = dict(zip(qpv["code_qp"], qpv["libelle"]))
        options = [None, *names]
        # A new default (another instance) needs a new widget, as for the agenda.
        code_qp = st.selectbox("Quartier présenté", options,
                               key=f"{prefix}_qpv_{default_qp}" if default_qp else f"{prefix}_qpv",
                               index=options.index(default_qp) if default_qp in options else 0,
                               format_func=lambda c: "Le plus en difficulté" if c is None else names[c])
    return tuple(picked), code_qp


def _build(keys: tuple[str, ...], code_qp: str | None, *, publiable: bool | None = None,
           donnees_au: date | None = None) -> tuple[seance.Section, ...]:
    """The agenda's sections; publishable for a partenaire (and when `publiable`)."""
    return ui.cached(ctx, seance.agenda, keys=keys, contrat=ctx.contrat, donnees_au=donnees_au or ctx.donnees_au,
                     settings=ctx.settings, code_qp=code_qp,
                     publiable=pub.only(ctx) if publiable is None else publiable)


def _render_section(section: seance.Section) -> None:
    st.header(fmt.md(section.title))  # it may name a quartier
    # At most 3 cards a row; the container key tells the presentation CSS how wide (in em) the
    # widest value is, so that every value of the section fits its card.
    figures, rows = iter(section.figures), seance.card_rows(len(section.figures))
    with st.container(key=f"seance_fit_{seance.fit_ems(section.figures)}"):
        for n in rows:
            cols = st.columns(max(rows))  # same card width on every row
            for col, figure in zip(cols[:n], figures):
                with col:
                    ui.kpi(figure.label, figure.value, delta=figure.note, delta_color="off", delta_arrow="off")
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


def _exports(sections, title: str, decisions: pl.DataFrame | None, date_seance: date, key: str, *,
             publishable_sections) -> None:
    """« Préparer les exports » builds the three files (with progress); `sections` may be a
    callable, so an agenda is only computed when the files are asked for. The publishable
    version (no names, small counts of people masked) renders `publishable_sections()` instead;
    a partenaire only gets that one (its `sections` are already publishable)."""
    forced = pub.only(ctx)
    seuil = fmt.integer(ctx.settings.secret_threshold)
    publiable = forced | st.toggle(  # shown disabled and on for a partenaire
        "Version publiable (sans noms, petits effectifs masqués)", value=forced, disabled=forced,
        key=f"{key}_publiable_partenaire" if forced else f"{key}_publiable",
        help="Votre rôle (partenaire) ne reçoit que la version publiable." if forced else
             f"Pour une diffusion hors de l'équipe : sans noms de personnes, effectifs de moins de {seuil} "
             f"personnes affichés « < {seuil} » (secret statistique).")
    cover = exports.Cover(title, ctx.contrat_libelle, date_seance, ctx.donnees_au)
    if publiable:
        cover = exports.publishable_cover(cover, threshold=ctx.settings.secret_threshold)
        sections = sections if forced else publishable_sections
    # Files built for another selection, agenda or list of decisions are stale: drop them.
    signature = (cover, ctx.contrat, ctx.version, st.session_state.get(f"{key}_agenda"),
                 st.session_state.get(f"{key}_qpv"), None if decisions is None else decisions.height)
    built = st.session_state.get(f"{key}_files")
    files = built[1] if built and built[0] == signature else None
    if st.button("Préparer les exports", key=f"{key}_build", icon=":material/file_export:"):
        files = {}
        with st.status("Préparation des exports…", expanded=True) as status:
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
                st.download_button(f"Télécharger ({labels[name]})", data=files[name],
                                   file_name=f"seance-{date_seance.isoformat()}.{name}", mime=exports.MIME[name],
                                   key=f"{key}_dl_{name}", icon=":material/download:")


def _validation_form(key: str, *, contrat: str, sections, scope: seance.Scope, libelle: str,
                     id_reunion: str | None = None, on_success=None) -> None:
    """« Valider les chiffres présentés »: what, which years, then one write (chef de projet of
    the contract or administrator; the core checks again). `sections` may be a callable, so an
    agenda is only computed when it is validated."""
    if not ctx.user.can(access.VALIDATE, contrat):
        return
    with st.form(f"{key}_form", border=True):
        st.markdown("**Valider les chiffres présentés**")
        st.caption("Les chiffres sont conservés tels qu'affichés, avec votre nom et la date. Un import qui modifierait "
                   "des données du contrat pour ces années devra être confirmé par un chef de projet ou un "
                   "administrateur.")
        text = st.text_input("Ce qui est validé", value=libelle, key=f"{key}_libelle")
        year = scope.donnees_au.year
        years = st.select_slider("Années couvertes par ces chiffres", options=list(range(min(2024, year), max(2030, year) + 1)),
                                 value=(year, year), key=f"{key}_annees")
        if st.form_submit_button("Valider les chiffres présentés", icon=":material/verified:", key=f"{key}_ok"):
            sections = sections() if callable(sections) else sections
            ui.write(ctx, validation.validate, code_contrat=contrat, annees=years, sections=sections, libelle=text,
                     id_reunion=id_reunion, scope=scope, on_success=on_success,
                     success=lambda n: (f"Chiffres validés (validation n° {n}, "
                                        f"{fmt.plural(sum(len(s.figures) for s in sections), 'chiffre')}) : "
                                        "consultables dans l'onglet « Chiffres validés »."))


def _validated_figures() -> None:
    """The validations of the selected contract(s), and for one of them each validated figure
    beside its current value."""
    done = ui.cached(ctx, validation.validations, contrat=ctx.contrat)
    if done.is_empty():
        st.info("Aucun chiffre validé pour cette sélection. Les chiffres d'une séance se valident à sa clôture "
                "(onglet « Séance en direct »), ceux d'un ordre du jour depuis l'onglet « Exports sans séance ».",
                icon=":material/info:")
        return
    partner = ctx.user.publishable_only  # no names of people, no unmasked counts
    st.dataframe(done.select(
        pl.col("libelle").alias("Ce qui a été validé"), pl.col("code_contrat").alias("Contrat"),
        pl.col("periode").alias("Période"), *([] if partner else [pl.col("valide_par").alias("Validé par")]),
        fmt.day_expr(pl.col("valide_le")).alias("Validé le"), pl.col("chiffres").alias("Chiffres")),
        hide_index=True, width="stretch", key="seance_validations", placeholder="—")
    if partner:
        st.info("Les chiffres validés sont conservés tels qu'ils ont été présentés, sans masquage des petits "
                "effectifs : votre rôle (partenaire) n'en voit que la liste.", icon=":material/lock:")
        return
    labels = {row["id_validation"]: f"{row['libelle']} · validé le {fmt.day(row['valide_le'])} par {row['valide_par']}"
              for row in done.iter_rows(named=True)}
    chosen = st.selectbox("Comparer avec les données actuelles", list(labels), format_func=labels.get,
                          key="seance_validation_choisie")
    rows = ui.cached(ctx, validation.compare, id_validation=chosen, settings=ctx.settings)
    changed = int(rows["modifie"].sum())
    tables = ui.cached(ctx, validation.changed_tables, id_validation=chosen)
    if changed:
        st.warning(f"{fmt.plural(changed, 'chiffre a changé', 'chiffres ont changé')} depuis la validation.",
                   icon=":material/difference:")
    else:
        st.success("Aucun chiffre n'a changé depuis la validation.", icon=":material/check_circle:")
    if tables:
        st.caption("Données du contrat et de la période modifiées depuis : " + ", ".join(tables) + ".")
    with st.container(key="seance_comparaison"):
        st.dataframe(rows.select(
            pl.col("section").alias("Section"), pl.col("libelle").alias("Chiffre"),
            pl.col("valeur_validee").alias("Valeur validée"),
            pl.col("valeur_actuelle").fill_null("non recalculable").alias("Valeur actuelle"),
            pl.when(pl.col("modifie")).then(pl.lit("≠ modifié")).otherwise(pl.lit("")).alias("Écart")),
            hide_index=True, width="stretch", height=min(36 * (rows.height + 1) + 3, 900))  # every figure at once


def _decision_form(state: dict) -> None:
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
        check = ui.cached(ctx, gouvernance_edits.check_decision, code_instance=state["instance"],
                          date_reunion=state["date"], **typed)
        if not check.ok:
            state["dec_errors"] = check.errors
            return
        d = check.decision
        entry = {"libelle": d.libelle, "responsable": d.responsable, "date_echeance": d.date_echeance,
                 "actions": ", ".join(d.actions)}
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
            st.text_input("Actions liées (codes)", key=DEC_FIELDS["actions"],
                          help="Codes d'action du contrat, séparés par des virgules.")
        if state.get("dec_errors"):
            st.error("Décision non ajoutée :\n\n" + "\n".join(f"- {fmt.md(e)}" for e in state["dec_errors"]),
                     icon=":material/error:")
        for warning in state.pop("dec_warnings", None) or ():
            st.warning(fmt.md(warning), icon=":material/warning:")
        with st.container(horizontal=True):
            st.form_submit_button("Ajouter la décision" if editing is None else "Enregistrer la correction",
                                  icon=":material/add:" if editing is None else ":material/check:",
                                  key="seance_dec_submit", on_click=submit)
            if editing is not None:
                st.form_submit_button("Annuler la correction", key="seance_dec_cancel", on_click=clear)


def _decision_list(state: dict) -> None:
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
            details = [f"responsable : {fmt.md(d['responsable'])}" if names and d["responsable"] else "",
                       f"échéance : {fmt.day(d['date_echeance'])}" if d["date_echeance"] else "",
                       f"actions : {fmt.md(d['actions'])}" if d["actions"] else ""]
            st.markdown(" · ".join([f"{n + 1}. **{fmt.md(d['libelle'])}**", *filter(None, details)]),
                        width="stretch")
            st.button("Corriger", key=f"seance_dec_edit_{n}", icon=":material/edit:", on_click=edit, args=(n,))
            st.button("Retirer", key=f"seance_dec_del_{n}", icon=":material/delete:", on_click=remove, args=(n,))


def _restore_attendance(state: dict | None, *, force: bool = False) -> None:
    """Put the draft's attendance back into its widgets (gone after a page change; another
    contract's séance when `force`)."""
    for name, key in ATTENDANCE.items():
        if force or key not in st.session_state:
            st.session_state[key] = state.get(name) if state else None


def _keep(state: dict) -> None:
    """Keep the open séance in the store whenever it changed, so that a reconnection, a reload or
    another browser of the same person takes it up again (`seance_edits.drafts`)."""
    text = seance.draft_json(state)
    if st.session_state.get(SAVED) != text and ui.write(
            ctx, seance_edits.save_draft, code_contrat=state["contrat"], contenu=text, success=None, rerun=False):
        st.session_state[SAVED] = text


def _abandon(state: dict) -> None:
    """« Abandonner la séance »: its draft forgotten, nothing recorded (confirmed in a popover)."""
    with st.popover("Abandonner la séance", icon=":material/delete_forever:"):
        st.markdown("Les décisions saisies et les présences de cette séance seront perdues ; rien ne sera "
                    "enregistré.")
        if st.button("Abandonner définitivement", key="seance_abandon", icon=":material/delete_forever:"):
            ui.write(ctx, seance_edits.drop_draft, code_contrat=state["contrat"],
                     success="Séance abandonnée : rien n'a été enregistré.",
                     on_success=lambda _: st.session_state.update({STATE: None, SAVED: None}))


# One open séance per contract and person, kept in the store: another contract chosen parks the
# open séance, choosing its contract again (or coming back from another page, or after a
# reconnection) restores it as it was.
drafts = st.session_state.setdefault(DRAFTS, {})
if "seance_brouillons_lus" not in st.session_state:  # once a session: the drafts kept in the store
    st.session_state["seance_brouillons_lus"] = True
    for code, text in (ui.own(ctx, seance_edits.drafts) or {}).items():
        drafts.setdefault(code, seance.draft_from_json(text))
state = st.session_state.get(STATE)
if state and state["contrat"] != ctx.contrat:
    drafts[state["contrat"]] = state
    state = None
if not state and ctx.contrat in drafts:
    state = drafts.pop(ctx.contrat)
    _restore_attendance(state, force=True)
    st.info(f"Séance en cours reprise ({fmt.md(state['instance_libelle'])}, section {state['index'] + 1} sur "
            f"{len(state['sections'])}, {fmt.plural(len(state['decisions']), 'décision')}).",
            icon=":material/restore:")
st.session_state[STATE] = state
for other in drafts.values():
    st.caption(f"Séance en cours conservée pour le contrat « {fmt.md(other['contrat_libelle'])} » "
               f"({fmt.md(other['instance_libelle'])}) : choisissez ce contrat pour la reprendre.")

tab_seance, tab_export, tab_valides, tab_publication = st.tabs(
    ["Séance en direct", "Exports sans séance", "Chiffres validés", "Publication"], key="seance_onglets")

with tab_publication:  # the publishable figures and the published rapport annuel (cdv_core/ui/publication.py)
    publication.section(ctx)

with tab_seance:
    if ctx.contrat is None:
        st.info("Choisissez un contrat dans le panneau latéral pour conduire une séance de l'une de ses instances.",
                icon=":material/info:")
    elif not state:
        instances = ui.cached(ctx, gouvernance.instance_choices, contrat=ctx.contrat, donnees_au=ctx.donnees_au,
                              tolerance_days=ctx.settings.cadence_tolerance_days)
        left, right = st.columns(2)
        with left:
            code_instance = st.selectbox("Instance", seance.instance_order(instances),
                                         format_func=dict(zip(instances["code_instance"], instances["libelle"])).get,
                                         key="seance_instance")
        planned = ui.cached(ctx, seance.planned_meetings, code_instance=code_instance) if code_instance else None
        with right:
            options = ["__nouvelle__"] + (planned["id_reunion"].to_list() if planned is not None else [])
            labels = {"__nouvelle__": "Nouvelle réunion, à la date de la séance"}
            if planned is not None:
                labels |= {r: f"Réunion prévue le {fmt.day(d)}" for r, d in zip(planned["id_reunion"], planned["date_reunion"])}
            reunion = st.selectbox("Réunion", options, format_func=labels.get, key="seance_reunion")
        date_seance = st.date_input("Date de la séance", value=date.today(), format="DD/MM/YYYY", key="seance_date")
        previous = ui.cached(ctx, seance_edits.last_agenda, code_instance=code_instance) if code_instance else None
        instance_qp = dict(zip(instances["code_instance"], instances["code_qp"])).get(code_instance)
        keys, code_qp = _agenda_picker("seance", previous, instance_qp)
        if st.button("Démarrer la séance", type="primary", key="seance_start", disabled=not (code_instance and keys),
                     icon=":material/play_arrow:"):
            st.session_state[STATE] = {
                "contrat": ctx.contrat, "contrat_libelle": ctx.contrat_libelle, "instance": code_instance,
                "instance_libelle": dict(zip(instances["code_instance"], instances["libelle"]))[code_instance],
                "reunion": None if reunion == "__nouvelle__" else reunion, "date": date_seance,
                "keys": keys, "code_qp": code_qp, "sections": _build(keys, code_qp), "donnees_au": ctx.donnees_au,
                "index": 0, "decisions": [], "participants": None, "habitants": None,
            }
            _restore_attendance(None, force=True)
            st.rerun()
    else:
        sections = state["sections"]
        i = state["index"]
        presentation_style(hide_sidebar=st.session_state.get("seance_fullscreen", False))
        # The projector bar: where the séance is and how to move, always in view (sticky), above
        # the section, so that nothing in it moves while a section renders.
        with st.container(key="seance_bar"):
            with st.container(horizontal=True, vertical_alignment="center", key="seance_nav"):
                if st.button("Précédent", key="seance_prev", disabled=i == 0, icon=":material/arrow_back:",
                             shortcut="ArrowLeft"):
                    state["index"] = i - 1
                    st.rerun()
                if st.button("Suivant", key="seance_next", disabled=i >= len(sections) - 1,
                             icon=":material/arrow_forward:", shortcut="ArrowRight"):
                    state["index"] = i + 1
                    st.rerun()
                st.markdown(f"**Section {i + 1} sur {len(sections)}**", width="content")
                st.space("stretch")
                st.toggle("Plein écran", key="seance_fullscreen", help="Masque le panneau latéral.")
            st.caption(f"**{fmt.md(state['instance_libelle'])}** · séance du {fmt.day(state['date'])} · chiffres "
                       f"figés : données au **{fmt.day(state['donnees_au'])}**")
        section_top(i)
        with st.container(key="seance_section"):
            _render_section(sections[i])
        if st.button("Rafraîchir les chiffres", key="seance_refresh", icon=":material/refresh:",
                     help="Recalcule toutes les sections avec les données actuelles de la base."):
            state["sections"], state["donnees_au"] = _build(state["keys"], state["code_qp"]), ctx.donnees_au
            st.rerun()

        st.divider()
        st.subheader("Décisions prises en séance")
        _decision_form(state)
        _decision_list(state)
        _restore_attendance(state)  # after a page change, the widgets come back with the draft's values
        c1, c2 = st.columns(2)
        with c1:
            participants = st.number_input("Participants", min_value=0, step=1, value=None, key="seance_participants")
        with c2:
            habitants = st.number_input("Dont habitants", min_value=0, step=1, value=None, key="seance_habitants")
        state["participants"], state["habitants"] = participants, habitants  # kept with the draft
        _keep(state)
        if not ctx.can_write():
            st.caption("Votre rôle permet de présenter la séance, pas de l'enregistrer.")
        elif st.button("Clôturer la séance et enregistrer", type="primary", key="seance_close", icon=":material/task_alt:"):
            draft = gouvernance_edits.MeetingDraft(
                code_instance=state["instance"], date_reunion=state["date"], statut="tenue",
                nb_participants=participants, nb_habitants=habitants, objet="Séance conduite avec le tableau de bord",
                decisions=tuple(gouvernance_edits.DecisionDraft(
                    libelle=d["libelle"], responsable=d["responsable"], date_echeance=d["date_echeance"],
                    actions=gouvernance_edits.parse_action_codes(d["actions"])) for d in state["decisions"]),
            )
            agenda = seance_edits.agenda_entry(code_instance=state["instance"], keys=state["keys"],
                                               code_qp=state["code_qp"])
            # the meeting, its decisions and the agenda: one transaction
            ui.write(ctx, gouvernance_edits.record_meeting, draft, today=date.today(), replaces=state["reunion"],
                     meta=(agenda,), closes_draft=state["contrat"],
                     success=lambda result: (f"Séance enregistrée (réunion {result.id_reunion}) avec "
                                             f"{fmt.plural(len(draft.decisions), 'décision')} : elles figurent dans le "
                                             "suivi des décisions."),
                     on_success=lambda result: st.session_state.update({
                         STATE: None, SAVED: None, "seance_closed": True,
                         PENDING: {**state, "id_reunion": result.id_reunion}}))
        _abandon(state)
        with st.expander("Exports de la séance (PowerPoint, PDF, Excel)"):
            decisions = pl.DataFrame(state["decisions"]) if state["decisions"] else None
            _exports(sections, f"Séance — {state['instance_libelle']}", decisions, state["date"], "seance_exp",
                     publishable_sections=lambda: _build(state["keys"], state["code_qp"], publiable=True,
                                                         donnees_au=state["donnees_au"]))

    if st.session_state.pop("seance_closed", None):
        st.page_link(nav.page_path("Gouvernance"), label="Voir le suivi des décisions", icon=":material/arrow_forward:")
    pending = st.session_state.get(PENDING)
    if pending and not state and pending["contrat"] == ctx.contrat:
        _validation_form("seance_val", contrat=pending["contrat"], sections=pending["sections"],
                         scope=seance.Scope(pending["contrat"], pending["donnees_au"], ctx.settings, pending["code_qp"]),
                         libelle=f"Séance du {fmt.day(pending['date'])} — {pending['instance_libelle']}",
                         id_reunion=pending["id_reunion"], on_success=lambda _: st.session_state.pop(PENDING, None))

with tab_export:
    st.write("Exporter un ordre du jour avec les données actuelles, sans conduire de séance.")
    keys, code_qp = _agenda_picker("export")
    if keys:
        _exports(lambda: _build(keys, code_qp), "Point d'étape du contrat de ville", None, ctx.donnees_au, "export",
                 publishable_sections=lambda: _build(keys, code_qp, publiable=True))
        if ctx.contrat and ctx.user.can(access.VALIDATE, ctx.contrat):
            with st.expander("Valider ces chiffres (rapport annuel, point d'étape)", icon=":material/verified:"):
                _validation_form("export_val", contrat=ctx.contrat, sections=lambda: _build(keys, code_qp),
                                 scope=seance.Scope(ctx.contrat, ctx.donnees_au, ctx.settings, code_qp),
                                 libelle=f"Point d'étape du {fmt.day(ctx.donnees_au)}")

with tab_valides:
    _validated_figures()
