"""The blocks of « Mise à jour des données » (pages/mise_a_jour.py): templates to download, the
validation report of an analysed file, the column association, the differences with the store,
the import log and its rollback. The import itself is `cdv_core.ingest` (analyse, commit,
rollback); these functions only draw."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import polars as pl
import streamlit as st

from cdv_core import access, fmt, ingest, tables, validation
from cdv_core.ingest import templates
from cdv_core.ingest.model import Analysis
from cdv_core.ingest.spec import KINDS
from cdv_core.ui import nav, runs, widgets
from cdv_core.ui import publishable as pub
from cdv_core.ui.context import Context, cached, deferred, write
from cdv_core.ui.downloads import download_buttons
from cdv_core.ui.widgets import kpi

MAX_PROBLEMS_SHOWN = 500


def templates_expander(ctx: Context) -> None:
    """« Modèles de fichiers à télécharger »: a template per kind (CSV, Excel) and the store's
    current data in its format (to correct and re-import)."""
    with st.expander("Modèles de fichiers à télécharger", icon=":material/download:"):
        st.caption(
            "Un modèle par type de données : en-têtes attendus, une ligne d'exemple, et (Excel) une feuille "
            "« Description » qui explique chaque colonne. Les extractions Dauphin et la liste officielle des "
            "QPV de l'ANCT sont acceptées telles quelles. Pour corriger des données déjà dans la base, "
            "téléchargez les données actuelles au format du modèle, corrigez-les et réimportez le fichier."
        )
        tpl = st.selectbox("Modèle", templates.DOWNLOADABLE, format_func=lambda k: KINDS[k].label, key="maj_modele")
        buttons = st.columns(4)
        with buttons[0]:
            st.download_button(
                "Modèle CSV",
                data=lambda: templates.template_csv(tpl),  # built on click (docs/performance.md, item 9)
                file_name=f"modele_{tpl}.csv",
                mime="text/csv",
                key="maj_modele_csv",
                icon=":material/download:",
            )
        with buttons[1]:
            st.download_button(
                "Modèle Excel",
                data=lambda: templates.template_xlsx(tpl),
                file_name=f"modele_{tpl}.xlsx",
                mime=tables.XLSX_MIME,
                key="maj_modele_xlsx",
                icon=":material/download:",
            )
        # the current data: not for a partenaire, who sees only what may be published (no names of people)
        if tpl in templates.EXPORTABLE and not pub.only(ctx):
            _current_data(ctx, tpl, buttons)
        elif tpl not in templates.EXPORTABLE:
            st.caption(
                "Les données actuelles d'une programmation se téléchargent par les modèles « Actions » et "
                "« Financements »."
            )
        widgets.table(templates.description_frame(tpl), hide_index=True, width="stretch")


def _current_data(ctx: Context, tpl: str, buttons: Sequence[Any]) -> None:
    rows = cached(ctx, templates.current_rows, kind=tpl, contrat=ctx.contrat)
    scope = re.sub(r"[^A-Za-z0-9_-]+", "_", ctx.contrat or "tous")
    help_text = (
        f"Les données actuelles de la base ({fmt.md(ctx.contrat_libelle)}) au format du modèle : mêmes "
        "colonnes, valeurs écrites comme à la saisie. Corrigez-les puis réimportez le fichier ici."
    )
    with buttons[2]:
        st.download_button(
            "Données actuelles (CSV)",
            data=deferred(ctx, templates.current_csv, kind=tpl, contrat=ctx.contrat),
            file_name=f"donnees_{tpl}_{scope}.csv",
            mime="text/csv",
            key="maj_donnees_csv",
            icon=":material/download:",
            help=help_text,
            disabled=not rows,
            on_click="ignore",
        )
    with buttons[3]:
        too_many = rows > templates.XLSX_MAX_ROWS
        st.download_button(
            "Données actuelles (Excel)",
            data=deferred(ctx, templates.current_xlsx, kind=tpl, contrat=ctx.contrat),
            file_name=f"donnees_{tpl}_{scope}.xlsx",
            mime=tables.XLSX_MIME,
            key="maj_donnees_xlsx",
            icon=":material/download:",
            disabled=not rows or too_many,
            on_click="ignore",
            help=(
                f"Plus de {fmt.integer(templates.XLSX_MAX_ROWS)} lignes : téléchargez le CSV, ou choisissez un contrat."
                if too_many
                else help_text
            ),
        )
    st.caption(
        f"Données actuelles : {fmt.plural(rows, 'ligne')} ({fmt.md(ctx.contrat_libelle)})."
        if rows
        else f"Aucune donnée de ce type dans la base ({fmt.md(ctx.contrat_libelle)})."
    )


def report(analysis: Analysis) -> None:
    """« 2. Rapport de validation »: the kind, the counts, the whole-file errors, the notes and
    the problems (downloadable)."""
    st.subheader("2. Rapport de validation")
    st.markdown(f"**Type de fichier :** {analysis.kind_label}")
    if analysis.encoding:
        st.caption(f"Encodage : {analysis.encoding} · séparateur : {analysis.separator}")
    k = st.columns(3)
    with k[0]:
        kpi("Lignes lues", fmt.integer(analysis.nb_lignes))
    with k[1]:
        kpi("Erreurs", fmt.integer(analysis.errors), help="Les erreurs bloquent l'import.")
    with k[2]:
        kpi("Avertissements", fmt.integer(analysis.warnings), help="Les avertissements ne bloquent pas l'import.")
    for message in analysis.file_errors:  # the file as a whole is refused: said in full, not in a cell
        st.error(fmt.md(message) + ".", icon=":material/error:")
    for note in analysis.notes:  # they quote the file (a sheet's name, a value)
        st.info(fmt.md(note), icon=":material/info:")
    if analysis.problems.height:
        shown = analysis.problems.head(MAX_PROBLEMS_SHOWN)
        if analysis.problems.height > MAX_PROBLEMS_SHOWN:
            st.caption(
                f"500 premiers problèmes sur {fmt.integer(analysis.problems.height)} : téléchargez le rapport complet."
            )
        with st.container(key="maj_rapport"):
            # What to do first, where last; a problem of the whole file has no line: « — », not « None »
            widgets.table(
                shown.select(
                    "gravité",
                    "problème",
                    "correction attendue",
                    pl.col("ligne").cast(pl.String).fill_null("—"),
                    "colonne",
                    pl.col("valeur").fill_null(""),
                ),
                hide_index=True,
                width="stretch",
                column_config={
                    "gravité": st.column_config.TextColumn("Gravité", width="small"),
                    "problème": st.column_config.TextColumn("Problème", width="medium"),
                    "correction attendue": st.column_config.TextColumn("Correction attendue", width="medium"),
                    "ligne": st.column_config.TextColumn("Ligne", width="small"),
                    "colonne": "Colonne",
                    "valeur": st.column_config.TextColumn("Valeur", width="small"),
                },
            )
        download_buttons(analysis.problems, basename="rapport_import", key="maj_rapport_dl", sheet="Rapport")
    elif analysis.kind:
        st.success("Aucun problème trouvé dans le fichier.", icon=":material/check_circle:")


def column_association(ctx: Context, analysis: Analysis) -> None:
    """« Associer les colonnes du fichier » (when a column is missing or unknown, and always for
    programmation extracts and INSEE files): the choice goes to `maj_mapping` for the next analysis."""
    if not (
        analysis.kind in KINDS
        and (analysis.missing or analysis.kind in ("programmation", "insee") or analysis.unmapped)
    ):
        return
    spec = KINDS[analysis.kind]
    with st.expander("Associer les colonnes du fichier", expanded=bool(analysis.missing), icon=":material/link:"):
        st.caption(
            "Pour chaque colonne de votre fichier, choisissez la donnée qu'elle contient. Pour les "
            "extractions de programmation et les fichiers INSEE, ce choix est mémorisé pour les "
            "prochains imports."
        )
        if analysis.kind == "insee":  # variables → indicators of the store
            targets = ["", *ingest.mapping_targets(cached(ctx, ingest.indicator_codes), analysis.mapping)]
            headers = [h for h in analysis.mapping if analysis.mapping[h] != "code_territoire"] + analysis.unmapped
        else:
            targets = ["", *[c.name for c in spec.columns]]
            headers = list(analysis.mapping) + analysis.unmapped
        chosen = {}
        for i, header in enumerate(headers):
            current = analysis.mapping.get(header, "")
            chosen[header] = st.selectbox(
                fmt.md(header),
                targets,  # a header of the file, as text
                index=targets.index(current) if current in targets else 0,
                key=f"maj_assoc_{i}",
                format_func=lambda t: t or "(ignorer)",
            )
        if st.button("Appliquer ces associations", key="maj_assoc_ok", icon=":material/check:"):
            st.session_state["maj_mapping"] = chosen
            st.rerun()


def differences(analysis: Analysis) -> None:
    """« 3. Différences avec la base »: counts per table, then the changes of one state."""
    if analysis.diff is None:
        return
    st.subheader("3. Différences avec la base")
    widgets.table(analysis.diff, hide_index=True, width="stretch", key="maj_diff")
    if analysis.changes is not None and analysis.changes.height:
        order = ["modifié", "nouveau", "supprimé", "absent du fichier (conservé)"]
        present = set(analysis.changes["état"].unique().to_list())
        etats = [e for e in order if e in present]
        etat = st.segmented_control("Voir", etats, default=etats[0], key="maj_etat")
        view = analysis.changes.filter(analysis.changes["état"] == etat) if etat else analysis.changes
        widgets.table(view.head(1000), hide_index=True, width="stretch")


def validated_figures(validees: pl.DataFrame | None) -> None:
    """The validated figures this import would change (refused at commit unless confirmed)."""
    if validees is not None and validees.height:
        with st.container(key="maj_validees"):
            for sentence in validation.describe(validees):  # names, labels: text
                st.warning(fmt.md(sentence), icon=":material/verified:")
            st.page_link(
                nav.page_path("Séance et exports"), label="Voir les chiffres validés", icon=":material/arrow_forward:"
            )


def import_log(ctx: Context) -> None:
    """« Journal des imports », and the rollback of an import (for a role that writes)."""
    st.subheader("Journal des imports")
    history = pub.publishable(ctx, cached(ctx, ingest.import_history), names=["auteur"])  # partenaire: no names
    if history.is_empty():
        st.caption("Aucun import pour l'instant.")
        return
    with st.container(key="maj_journal"):
        widgets.table(
            history,
            hide_index=True,
            width="stretch",
            column_config={
                "date": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm"),
                "annulé le": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm"),
            },
        )
    active = cached(ctx, ingest.rollback_choices) if ctx.can_write() else {}
    if active:
        _rollback(ctx, active)


def _rollback(ctx: Context, active: dict[int, str]) -> None:
    cols = st.columns([3, 2, 1.2])
    with cols[0]:
        ids: list[int] = list(active)
        target = st.selectbox("Annuler un import", ids, key="maj_annuler_id", format_func=lambda i: active[i])
    if target is None:  # (never: the list is not empty)
        return
    with cols[1]:
        sure = st.checkbox(
            "Je confirme l'annulation de cet import",
            key="maj_annuler_ok",
            help="Les données touchées par cet import reviennent dans leur état d'avant.",
        )
        # the validated figures this rollback would change: confirmed by whoever may validate them
        validees, confirm_rollback = cached(ctx, validation.affected_by_rollback, id_import=int(target)), False
        if validees.height:
            for sentence in validation.describe(validees, what="Annuler cet import"):
                st.warning(fmt.md(sentence), icon=":material/verified:")
            if all(ctx.user.can(access.VALIDATE, c) for c in validees["code_contrat"].unique()):
                confirm_rollback = st.checkbox(
                    "Je confirme : annuler malgré les chiffres validés", key="maj_annuler_valides"
                )
    with cols[2]:
        if st.button(
            "Annuler l'import",
            key="maj_annuler",
            icon=":material/undo:",
            disabled=not sure or bool(validees.height and not confirm_rollback),
        ):
            with runs.aside():  # a long write: the other sessions' pages run meanwhile
                write(
                    ctx,
                    ingest.rollback,
                    int(target),
                    confirm_validated=confirm_rollback,
                    success=f"Import n° {target} annulé : les données sont revenues à leur état antérieur.",
                    on_success=lambda _: st.session_state.pop("maj_analysis", None),
                )
