"""« Mise à jour des données »: upload → validation report → diff → commit → import log → rollback;
templates to download, and the store's current data in a template's format (to correct and re-import)."""

import re

import polars as pl
import streamlit as st

from cdv_core import access, fmt, ingest, tables, ui, validation
from cdv_core.ingest import templates
from cdv_core.ingest.spec import KINDS
from cdv_core.ui import nav
from cdv_core.ui import publishable as pub
from cdv_core.ui.downloads import download_buttons
from cdv_core.ui.historique import history_view, may_see as may_see_history
from cdv_core.ui.widgets import french_uploader_style

ctx = ui.bootstrap("Mise à jour des données")
MAX_MB = ctx.settings.max_upload_mb  # CDV_MAX_UPLOAD_MB, under the server's ceiling (.streamlit/config.toml)
MAX_BYTES = MAX_MB * 1024 * 1024
ui.page_header("Mise à jour des données", ctx)

AUTO = "__auto__"

state = st.session_state
state.setdefault("maj_upload_n", 0)
state.setdefault("maj_mapping", {})


with st.expander("Modèles de fichiers à télécharger", icon=":material/download:"):
    st.caption("Un modèle par type de données : en-têtes attendus, une ligne d'exemple, et (Excel) une feuille "
               "« Description » qui explique chaque colonne. Les extractions Dauphin et la liste officielle des QPV "
               "de l'ANCT sont acceptées telles quelles. Pour corriger des données déjà dans la base, téléchargez "
               "les données actuelles au format du modèle, corrigez-les et réimportez le fichier.")
    tpl = st.selectbox("Modèle", templates.DOWNLOADABLE, format_func=lambda k: KINDS[k].label, key="maj_modele")
    buttons = st.columns(4)
    with buttons[0]:
        st.download_button("Modèle CSV", data=templates.template_csv(tpl), file_name=f"modele_{tpl}.csv",
                           mime="text/csv", key="maj_modele_csv", icon=":material/download:")
    with buttons[1]:
        st.download_button("Modèle Excel", data=templates.template_xlsx(tpl), file_name=f"modele_{tpl}.xlsx",
                           mime=tables.XLSX_MIME, key="maj_modele_xlsx", icon=":material/download:")
    # the current data: not for a partenaire, who sees only what may be published (no names of people)
    if tpl in templates.EXPORTABLE and not pub.only(ctx):
        rows = ui.cached(ctx, templates.current_rows, kind=tpl, contrat=ctx.contrat)
        scope = re.sub(r"[^A-Za-z0-9_-]+", "_", ctx.contrat or "tous")
        help_text = (f"Les données actuelles de la base ({fmt.md(ctx.contrat_libelle)}) au format du modèle : mêmes colonnes, "
                     "valeurs écrites comme à la saisie. Corrigez-les puis réimportez le fichier ici.")
        with buttons[2]:
            st.download_button("Données actuelles (CSV)", data=ui.deferred(ctx, templates.current_csv, kind=tpl, contrat=ctx.contrat),
                               file_name=f"donnees_{tpl}_{scope}.csv", mime="text/csv", key="maj_donnees_csv",
                               icon=":material/download:", help=help_text, disabled=not rows, on_click="ignore")
        with buttons[3]:
            too_many = rows > templates.XLSX_MAX_ROWS
            st.download_button("Données actuelles (Excel)", data=ui.deferred(ctx, templates.current_xlsx, kind=tpl, contrat=ctx.contrat),
                               file_name=f"donnees_{tpl}_{scope}.xlsx", mime=tables.XLSX_MIME, key="maj_donnees_xlsx",
                               icon=":material/download:", disabled=not rows or too_many, on_click="ignore",
                               help=(f"Plus de {fmt.integer(templates.XLSX_MAX_ROWS)} lignes : téléchargez le CSV, ou "
                                     "choisissez un contrat." if too_many
                                     else help_text))
        st.caption(f"Données actuelles : {fmt.plural(rows, 'ligne')} ({fmt.md(ctx.contrat_libelle)})."
                   if rows else f"Aucune donnée de ce type dans la base ({fmt.md(ctx.contrat_libelle)}).")
    elif tpl not in templates.EXPORTABLE:
        st.caption("Les données actuelles d'une programmation se téléchargent par les modèles « Actions » et "
                   "« Financements ».")
    st.dataframe(templates.description_frame(tpl), hide_index=True, width="stretch")

if not ctx.can_write():
    st.info("Votre rôle permet de consulter le journal des imports, pas d'importer de fichier.", icon=":material/lock:")
else:
    st.subheader("1. Déposer un fichier")
    french_uploader_style()
    uploaded = st.file_uploader(
        f"Fichier CSV, Excel (.xlsx) ou contours GeoJSON, {MAX_MB} Mo au plus",
        type=["csv", "txt", "xlsx", "geojson", "json"], key=f"maj_fichier_{state['maj_upload_n']}",
        help="Séparateur point-virgule, virgule ou tabulation ; encodage UTF-8 ou Windows-1252 ; "
             "dates JJ/MM/AAAA ; virgule décimale. Contours des QPV : GeoJSON dont chaque entité porte "
             "son code QPV (propriété code_qp).")
    cols = st.columns([2, 2, 1.5])
    with cols[0]:
        kind_choice = st.selectbox("Type de fichier", [AUTO, *KINDS], key="maj_type",
                                   format_func=lambda k: "Détection automatique" if k == AUTO else KINDS[k].label)
    with cols[1]:
        contracts = ui.cached(ctx, ingest.contract_codes)
        contrat_qpv = st.selectbox("Contrat des nouveaux QPV (liste officielle)", [AUTO, *contracts], key="maj_contrat",
                                   format_func=lambda c: "Automatique : un contrat par EPCI" if c == AUTO else c)
    with cols[2]:
        replace = st.toggle("Supprimer les absents", key="maj_remplacer",
                            help="Supprimer de la base les lignes absentes du fichier, dans le périmètre du fichier "
                                 "(mêmes contrats). Sinon elles sont conservées.")
    cols = st.columns([1, 2])
    with cols[0]:
        date_valeur = st.date_input("Date des valeurs, JJ/MM/AAAA (fichiers INSEE)", value=None, format="DD/MM/YYYY",
                                    key="maj_date",
                                    help="Les fichiers INSEE « larges » (CODGEO) ne disent pas à quelle date se "
                                         "rapportent leurs valeurs : indiquez-la ici, au format JJ/MM/AAAA.")

    analysis = None
    if uploaded is not None:
        data = uploaded.getvalue() if uploaded.size <= MAX_BYTES else b""  # its size first: nothing copied above
        if uploaded.size > MAX_BYTES:
            st.error(f"Le fichier dépasse la taille maximale autorisée ({MAX_MB} Mo). Découpez-le et importez les "
                     "morceaux l'un après l'autre.", icon=":material/error:")
        else:
            options = dict(kind=None if kind_choice == AUTO else kind_choice, max_bytes=MAX_BYTES,
                           contrat=None if contrat_qpv == AUTO else contrat_qpv, replace_scope=replace,
                           mapping=dict(state["maj_mapping"]) or None, date_valeur=date_valeur)
            signature = (uploaded.name, len(data), hash(data), ctx.version, repr(sorted(options.items(), key=str)))
            cached_sig, analysis = state.get("maj_analysis", (None, None))
            if cached_sig != signature:
                with st.status("Analyse du fichier…", expanded=False) as status:
                    cur = ui.connection(ctx.store_path).cursor()
                    try:
                        analysis = ingest.analyse(cur, data, uploaded.name, **options)
                        # the validated figures this import would change (refused at commit unless confirmed)
                        validees = (validation.affected_validations(cur, analysis.loads, replace_scope=replace,
                                                                    perimetre=ctx.perimetre) if analysis.ok else None)
                    finally:
                        cur.close()
                    status.update(label=f"Fichier analysé en {fmt.number(analysis.seconds, 1)} s", state="complete")
                state["maj_analysis"] = (signature, analysis)
                state["maj_validees"] = validees

    if analysis is not None:
        st.subheader("2. Rapport de validation")
        st.markdown(f"**Type de fichier :** {analysis.kind_label}")
        if analysis.encoding:
            st.caption(f"Encodage : {analysis.encoding} · séparateur : {analysis.separator}")
        k = st.columns(3)
        with k[0]:
            ui.kpi("Lignes lues", fmt.integer(analysis.nb_lignes))
        with k[1]:
            ui.kpi("Erreurs", fmt.integer(analysis.errors), help="Les erreurs bloquent l'import.")
        with k[2]:
            ui.kpi("Avertissements", fmt.integer(analysis.warnings), help="Les avertissements ne bloquent pas l'import.")
        for message in analysis.file_errors:  # the file as a whole is refused: said in full, not in a cell
            st.error(fmt.md(message) + ".", icon=":material/error:")
        for note in analysis.notes:  # they quote the file (a sheet's name, a value)
            st.info(fmt.md(note), icon=":material/info:")
        if analysis.problems.height:
            shown = analysis.problems.head(500)
            if analysis.problems.height > 500:
                st.caption(f"500 premiers problèmes sur {fmt.integer(analysis.problems.height)} : "
                           "téléchargez le rapport complet.")
            with st.container(key="maj_rapport"):
                # What to do first, where last; a problem of the whole file has no line: « — », not « None »
                st.dataframe(shown.select(
                    "gravité", "problème", "correction attendue",
                    pl.col("ligne").cast(pl.String).fill_null("—"), "colonne", pl.col("valeur").fill_null("")),
                    hide_index=True, width="stretch", column_config={
                    "gravité": st.column_config.TextColumn("Gravité", width="small"),
                    "problème": st.column_config.TextColumn("Problème", width="medium"),
                    "correction attendue": st.column_config.TextColumn("Correction attendue", width="medium"),
                    "ligne": st.column_config.TextColumn("Ligne", width="small"),
                    "colonne": "Colonne", "valeur": st.column_config.TextColumn("Valeur", width="small")})
            download_buttons(analysis.problems, basename="rapport_import", key="maj_rapport_dl", sheet="Rapport")
        elif analysis.kind:
            st.success("Aucun problème trouvé dans le fichier.", icon=":material/check_circle:")

        if analysis.kind in KINDS and (analysis.missing or analysis.kind in ("programmation", "insee") or analysis.unmapped):
            spec = KINDS[analysis.kind]
            with st.expander("Associer les colonnes du fichier", expanded=bool(analysis.missing), icon=":material/link:"):
                st.caption("Pour chaque colonne de votre fichier, choisissez la donnée qu'elle contient. Pour les "
                           "extractions de programmation et les fichiers INSEE, ce choix est mémorisé pour les "
                           "prochains imports.")
                if analysis.kind == "insee":  # variables → indicators of the store
                    targets = ["", *ingest.mapping_targets(ui.cached(ctx, ingest.indicator_codes), analysis.mapping)]
                    headers = [h for h in analysis.mapping if analysis.mapping[h] != "code_territoire"] + analysis.unmapped
                else:
                    targets = ["", *[c.name for c in spec.columns]]
                    headers = list(analysis.mapping) + analysis.unmapped
                chosen = {}
                for i, header in enumerate(headers):
                    current = analysis.mapping.get(header, "")
                    chosen[header] = st.selectbox(fmt.md(header), targets,  # a header of the file, as text
                                                  index=targets.index(current) if current in targets else 0,
                                                  key=f"maj_assoc_{i}",
                                                  format_func=lambda t: "(ignorer)" if not t else t)
                if st.button("Appliquer ces associations", key="maj_assoc_ok", icon=":material/check:"):
                    state["maj_mapping"] = chosen
                    st.rerun()

        if analysis.diff is not None:
            st.subheader("3. Différences avec la base")
            st.dataframe(analysis.diff, hide_index=True, width="stretch", key="maj_diff")
            if analysis.changes is not None and analysis.changes.height:
                order = ["modifié", "nouveau", "supprimé", "absent du fichier (conservé)"]
                present = set(analysis.changes["état"].unique().to_list())
                etats = [e for e in order if e in present]
                etat = st.segmented_control("Voir", etats, default=etats[0], key="maj_etat")
                view = analysis.changes.filter(analysis.changes["état"] == etat) if etat else analysis.changes
                st.dataframe(view.head(1000), hide_index=True, width="stretch")
        validees = state.get("maj_validees")
        if validees is not None and validees.height:
            with st.container(key="maj_validees"):
                for sentence in validation.describe(validees):  # names, labels: text
                    st.warning(fmt.md(sentence), icon=":material/verified:")
                st.page_link(nav.page_path("Séance et exports"), label="Voir les chiffres validés",
                             icon=":material/arrow_forward:")

        st.subheader(f"{3 if analysis.diff is None else 4}. Valider l'import")
        if analysis.ok:
            validees, confirm = state.get("maj_validees"), False
            if validees is not None and validees.height:
                if all(ctx.user.can(access.VALIDATE, c) for c in validees["code_contrat"].unique()):
                    confirm = st.checkbox("Je confirme : importer ce fichier, qui modifie des chiffres validés (la "
                                          "version validée reste consultable)", key="maj_confirmer_valides")
                else:
                    st.info("Cet import modifie des chiffres validés : seul un chef de projet de ces contrats ou un "
                            "administrateur peut le confirmer.", icon=":material/lock:")
            if st.button("Valider l'import", type="primary", key="maj_valider", icon=":material/upload:",
                         disabled=bool(validees is not None and validees.height and not confirm)):
                def _reset(_):  # a deletion, a forced type or a mapping is never carried over to the next file
                    state["maj_upload_n"] += 1
                    for key in ("maj_remplacer", "maj_type", "maj_analysis", "maj_validees", "maj_confirmer_valides"):
                        state.pop(key, None)
                    state["maj_mapping"] = {}

                with st.status("Écriture dans la base…", expanded=False) as status:
                    ui.write(ctx, ingest.commit, analysis, replace_scope=replace, on_success=_reset,
                             confirm_validated=confirm,
                             success=lambda id_import: (f"Import n° {id_import} validé : {fmt.md(analysis.fichier)} "
                                                        f"({fmt.plural(analysis.nb_lignes, 'ligne')})."))
                    status.update(label="Import refusé : rien n'a été modifié", state="error", expanded=True)
        else:
            st.warning("L'import est bloqué tant que le fichier contient des erreurs : corrigez-les (le rapport "
                       "est téléchargeable) puis déposez à nouveau le fichier.", icon=":material/block:")

st.subheader("Journal des imports")
history = pub.publishable(ctx, ui.cached(ctx, ingest.import_history), names=["auteur"])  # partenaire: no names
if history.is_empty():
    st.caption("Aucun import pour l'instant.")
else:
    with st.container(key="maj_journal"):
        st.dataframe(history, hide_index=True, width="stretch",
                     column_config={"date": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm"),
                                    "annulé le": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm")})
    active = ui.cached(ctx, ingest.rollback_choices) if ctx.can_write() else {}
    if active:
        cols = st.columns([3, 2, 1.2])
        with cols[0]:
            target = st.selectbox("Annuler un import", list(active), key="maj_annuler_id", format_func=active.get)
        with cols[1]:
            sure = st.checkbox("Je confirme l'annulation de cet import", key="maj_annuler_ok",
                               help="Les données touchées par cet import reviennent dans leur état d'avant.")
            # the validated figures this rollback would change: confirmed by whoever may validate them
            validees, confirm_rollback = ui.cached(ctx, validation.affected_by_rollback, id_import=int(target)), False
            if validees.height:
                for sentence in validation.describe(validees, what="Annuler cet import"):
                    st.warning(fmt.md(sentence), icon=":material/verified:")
                if all(ctx.user.can(access.VALIDATE, c) for c in validees["code_contrat"].unique()):
                    confirm_rollback = st.checkbox("Je confirme : annuler malgré les chiffres validés",
                                                   key="maj_annuler_valides")
        with cols[2]:
            if st.button("Annuler l'import", key="maj_annuler", icon=":material/undo:",
                         disabled=not sure or bool(validees.height and not confirm_rollback)):
                ui.write(ctx, ingest.rollback, int(target), confirm_validated=confirm_rollback,
                         success=f"Import n° {target} annulé : les données sont revenues à leur état antérieur.",
                         on_success=lambda _: state.pop("maj_analysis", None))

if may_see_history(ctx):  # administrators: every write; chefs de projet: their contracts'
    st.subheader("Historique des modifications")
    history_view(ctx, key="maj_hist")
