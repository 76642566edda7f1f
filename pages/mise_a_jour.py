"""« Mise à jour des données »: upload → validation report → diff → commit → import log → rollback;
templates to download, and the store's current data in a template's format (to correct and re-import)."""

import streamlit as st

from cdv_core import access, fmt, ingest, ui, validation
from cdv_core.ingest.spec import KINDS
from cdv_core.ui import imports, runs
from cdv_core.ui.historique import history_view
from cdv_core.ui.historique import may_see as may_see_history
from cdv_core.ui.widgets import french_uploader_style

ctx = ui.bootstrap("Mise à jour des données")
MAX_MB = ctx.settings.max_upload_mb  # CDV_MAX_UPLOAD_MB, under the server's ceiling (.streamlit/config.toml)
MAX_BYTES = MAX_MB * 1024 * 1024
ui.page_header("Mise à jour des données", ctx)

AUTO = "__auto__"

state = st.session_state
state.setdefault("maj_upload_n", 0)
state.setdefault("maj_mapping", {})


imports.templates_expander(ctx)

if not ctx.can_write():
    st.info("Votre rôle permet de consulter le journal des imports, pas d'importer de fichier.", icon=":material/lock:")
else:
    st.subheader("1. Déposer un fichier")
    french_uploader_style()
    uploaded = st.file_uploader(
        f"Fichier CSV, Excel (.xlsx), JSON ou contours GeoJSON, {MAX_MB} Mo au plus",
        type=["csv", "txt", "xlsx", "geojson", "json"],
        key=f"maj_fichier_{state['maj_upload_n']}",
        help="Séparateur point-virgule, virgule ou tabulation ; encodage UTF-8 ou Windows-1252 ; "
        "dates JJ/MM/AAAA ; virgule décimale. Contours des QPV : GeoJSON dont chaque entité porte "
        "son code QPV (propriété code_qp). Liste nationale des adultes-relais : open data ANCT (tableau "
        "JSON ou CSV) ou extraction GISPRO.",
    )
    cols = st.columns([2, 2, 1.5])
    with cols[0]:
        kind_choice = st.selectbox(
            "Type de fichier",
            [AUTO, *KINDS],
            key="maj_type",
            format_func=lambda k: "Détection automatique" if k == AUTO else KINDS[k].label,
        )
    with cols[1]:
        contracts = ui.cached(ctx, ingest.contract_codes)
        contrat_qpv = st.selectbox(
            "Contrat des nouveaux QPV (liste officielle)",
            [AUTO, *contracts],
            key="maj_contrat",
            format_func=lambda c: "Automatique : un contrat par EPCI" if c == AUTO else c,
        )
    with cols[2]:
        replace = st.toggle(
            "Supprimer les absents",
            key="maj_remplacer",
            help="Supprimer de la base les lignes absentes du fichier, dans le périmètre du fichier "
            "(mêmes contrats). Sinon elles sont conservées.",
        )
    cols = st.columns([1, 2])
    with cols[0]:
        date_valeur = st.date_input(
            "Date des valeurs, JJ/MM/AAAA (fichiers INSEE)",
            value=None,
            format="DD/MM/YYYY",
            key="maj_date",
            help="Les fichiers INSEE « larges » (CODGEO) ne disent pas à quelle date se "
            "rapportent leurs valeurs : indiquez-la ici, au format JJ/MM/AAAA.",
        )

    analysis = None
    if uploaded is not None:
        data = uploaded.getvalue() if uploaded.size <= MAX_BYTES else b""  # its size first: nothing copied above
        if uploaded.size > MAX_BYTES:
            st.error(
                f"Le fichier dépasse la taille maximale autorisée ({MAX_MB} Mo). Découpez-le et importez les "
                "morceaux l'un après l'autre.",
                icon=":material/error:",
            )
        else:
            options = dict(
                kind=None if kind_choice == AUTO else kind_choice,
                max_bytes=MAX_BYTES,
                contrat=None if contrat_qpv == AUTO else contrat_qpv,
                replace_scope=replace,
                mapping=dict(state["maj_mapping"]) or None,
                date_valeur=date_valeur,
            )
            signature = (uploaded.name, len(data), hash(data), ctx.version, repr(sorted(options.items(), key=str)))
            cached_sig, analysis = state.get("maj_analysis", (None, None))
            if cached_sig != signature:
                # a long read: the other sessions' pages run meanwhile (`runs.aside`)
                with st.status("Analyse du fichier…", expanded=False) as status, runs.aside():
                    cur = ui.connection(ctx.store_path).cursor()
                    try:
                        analysis = ingest.analyse(cur, data, uploaded.name, **options)
                        # the validated figures this import would change (refused at commit unless confirmed)
                        validees = (
                            validation.affected_validations(
                                cur, analysis.loads, replace_scope=replace, perimetre=ctx.perimetre
                            )
                            if analysis.ok
                            else None
                        )
                    finally:
                        cur.close()
                    status.update(label=f"Fichier analysé en {fmt.number(analysis.seconds, 1)} s", state="complete")
                state["maj_analysis"] = (signature, analysis)
                state["maj_validees"] = validees

    if analysis is not None:
        imports.report(analysis)
        imports.column_association(ctx, analysis)
        imports.differences(analysis)
        imports.validated_figures(state.get("maj_validees"))

        st.subheader(f"{3 if analysis.diff is None else 4}. Valider l'import")
        if analysis.ok:
            validees, confirm = state.get("maj_validees"), False
            if validees is not None and validees.height:
                if all(ctx.user.can(access.VALIDATE, c) for c in validees["code_contrat"].unique()):
                    confirm = st.checkbox(
                        "Je confirme : importer ce fichier, qui modifie des chiffres validés (la "
                        "version validée reste consultable)",
                        key="maj_confirmer_valides",
                    )
                else:
                    st.info(
                        "Cet import modifie des chiffres validés : seul un chef de projet de ces contrats ou un "
                        "administrateur peut le confirmer.",
                        icon=":material/lock:",
                    )
            if st.button(
                "Valider l'import",
                type="primary",
                key="maj_valider",
                icon=":material/upload:",
                disabled=bool(validees is not None and validees.height and not confirm),
            ):

                def _reset(_):  # a deletion, a forced type or a mapping is never carried over to the next file
                    state["maj_upload_n"] += 1
                    for key in ("maj_remplacer", "maj_type", "maj_analysis", "maj_validees", "maj_confirmer_valides"):
                        state.pop(key, None)
                    state["maj_mapping"] = {}

                with st.status("Écriture dans la base…", expanded=False) as status, runs.aside():
                    ui.write(
                        ctx,
                        ingest.commit,
                        analysis,
                        replace_scope=replace,
                        on_success=_reset,
                        confirm_validated=confirm,
                        success=lambda id_import: (
                            f"Import n° {id_import} validé : {fmt.md(analysis.fichier)} "
                            f"({fmt.plural(analysis.nb_lignes, 'ligne')})."
                        ),
                    )
                    status.update(label="Import refusé : rien n'a été modifié", state="error", expanded=True)
        else:
            st.warning(
                "L'import est bloqué tant que le fichier contient des erreurs : corrigez-les (le rapport "
                "est téléchargeable) puis déposez à nouveau le fichier.",
                icon=":material/block:",
            )

imports.import_log(ctx)

if may_see_history(ctx):  # administrators: every write; chefs de projet: their contracts'
    st.subheader("Historique des modifications")
    history_view(ctx, key="maj_hist")
