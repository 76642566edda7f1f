"""The « Rythme de publication des sources » view of « Indicateurs »: what « à jour » means for each
source (`queries.indicateurs.source_rules`), and, for an administrator, the form that changes a
source's rhythm and lag (`edits.sources`)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cdv_core import access, fmt
from cdv_core.domain import freshness
from cdv_core.edits import sources
from cdv_core.figures import indicateurs as fig_ind
from cdv_core.queries import indicateurs as ind
from cdv_core.ui import widgets
from cdv_core.ui.context import Context, cached, write


def source_rules_view(ctx: Context) -> None:
    """The sources' rules table, and the administrator's form to change or reset one."""
    st.subheader("Rythme de publication des sources")
    st.caption(
        "Une valeur est « à jour » quand elle est du dernier millésime publié à la date des données : "
        "un millésime est daté du premier jour de la période qu'il décrit (Filosofi 2021 : 01/01/2021) et "
        "attendu « délai » mois après la fin de cette période. Pour une source sans rythme, une valeur est "
        f"à jour si elle date d'au plus {ctx.settings.indicator_max_age_months} mois."
    )
    rules = cached(ctx, ind.source_rules)
    widgets.table(fig_ind.source_rules_table(rules), hide_index=True, width="stretch", key="indic_sources")
    if ctx.user.can(access.NATIONAL):
        st.markdown("**Modifier le rythme d'une source** (donnée partagée par tous les contrats)")
        current = {r["source"]: r for r in rules.iter_rows(named=True)}

        def _prefill() -> None:
            """The form shows the chosen source's rule (or 12 / 12 and the age rule when it has none)."""
            row = current.get(st.session_state.get("indic_source_nom")) or {}
            st.session_state["indic_source_rythme"] = row.get("rythme_mois") or 12
            st.session_state["indic_source_delai"] = (
                12 if row.get("delai_publication_mois") is None else row["delai_publication_mois"]
            )
            st.session_state["indic_source_note"] = row.get("note") or ""
            st.session_state["indic_source_age"] = row.get("rythme_mois") is None

        chosen = st.selectbox("Source", list(current), key="indic_source_nom", on_change=_prefill)
        if "indic_source_rythme" not in st.session_state:
            _prefill()
        with st.form("indic_source_form", border=True):
            cols = st.columns(2)
            with cols[0]:
                rythme = st.number_input(
                    "Rythme (mois)",
                    min_value=1,
                    max_value=freshness.MAX_RYTHME,
                    step=1,
                    key="indic_source_rythme",
                    help="Mois entre deux millésimes : 12 annuel, 3 trimestriel.",
                )
            with cols[1]:
                delai = st.number_input(
                    "Délai de publication (mois)",
                    min_value=0,
                    max_value=freshness.MAX_DELAI,
                    step=1,
                    key="indic_source_delai",
                    help="Mois entre la fin de la période décrite et la publication "
                    "(Filosofi : 32, le millésime 2021 est attendu le 01/09/2024).",
                )
            note = st.text_input("Note (pourquoi ces valeurs)", key="indic_source_note")
            sans_rythme = st.checkbox("Pas de rythme connu : règle d'âge", key="indic_source_age")
            if st.form_submit_button("Enregistrer", type="primary", icon=":material/save:"):
                write(
                    ctx,
                    sources.set_source_rule,
                    source=chosen,
                    rythme_mois=None if sans_rythme else rythme,
                    delai_publication_mois=None if sans_rythme else delai,
                    note=note,
                    success=f"Rythme de publication de « {fmt.md(chosen)} » enregistré.",
                )
        stored = rules.filter(pl.col("origine") == "base")["source"].to_list()
        if stored:
            choice, action = st.columns([3, 1])
            with choice:
                back = st.selectbox("Rétablir la valeur par défaut de", stored, key="indic_source_retablir")
            with action:
                if st.button("Rétablir", key="indic_source_retablir_btn", icon=":material/undo:"):
                    write(
                        ctx,
                        sources.reset_source_rule,
                        source=back,
                        success=f"Valeur par défaut rétablie pour « {fmt.md(back)} ».",
                    )
