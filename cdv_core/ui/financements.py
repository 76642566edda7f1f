"""« Actions et financements »: the blocks that draw (filters mirrored in the URL, figure cards, alerts,
the action's detail). What they show comes from `cdv_core.figures.financements`."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import streamlit as st

from cdv_core import fmt, links, tables
from cdv_core.domain import model
from cdv_core.figures import financements as fig
from cdv_core.queries import financements as fin
from cdv_core.ui import widgets
from cdv_core.ui.context import Context, cached, deferred, url_warning
from cdv_core.ui.downloads import download_buttons

ALL_YEARS = "tous"
# The filters whose values are the programme's lists, the same for every selection: widget key →
# (filter name, values). The quartiers, axes and objectifs depend on the selection. `precalcul`
# chooses each of these values in turn on « Tous les contrats » (`ui.precalcul._filter_choices`).
FIXED_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "fin_them": ("thematiques", tuple(model.THEMATIQUES_P147)),
    "fin_fin": ("financeurs", tuple(model.FINANCEURS)),
    "fin_mode": ("modes", tuple(model.MODES_FINANCEMENT)),
    "fin_porteur": ("types_porteur", tuple(model.TYPES_STRUCTURE)),
    "fin_statut": ("statuts", tuple(model.STATUTS_ACTION)),
}
BIG_DOWNLOAD = 1000  # rows: from there the page says the files take a while to build (an XLSX of 40 000: seconds)


def table(frame: pl.DataFrame, **kwargs) -> None:
    """`st.dataframe` with empty text cells shown as « — » rather than « None » (downloads keep
    real empty cells: they are built from the query's frame, not from this one)."""
    widgets.table(frame, dash_empty=True, hide_index=True, width="stretch", **kwargs)


# --- filters, mirrored in the URL (keys fin_*) and kept across page changes -------------------------


@dataclass
class Selection:
    """The chosen exercice (None: all years) and filters, and the session's saved choices (`fin_saved`).
    `filters` holds the filters with a value chosen only: the query functions take a filter left out
    as « no filter », and their results are then shared with the calls that pass none (the overview's
    totals and alerts, `memo.per_version`) instead of computed again under another spelling."""

    annee: int | None
    filters: dict[str, tuple]
    saved: dict = field(repr=False)

    @property
    def active(self) -> int:
        return sum(bool(v) for v in self.filters.values())


def filters(ctx: Context, options: dict) -> Selection:
    """The filter box (`fin.filter_options`): restored from a shared link on the session's first run
    (a bad value dropped with a toast), kept across page changes, written back to the URL."""
    years = [ALL_YEARS, *[str(y) for y in options["annees"]]]
    qpv_labels = dict(zip(options["quartiers"]["code_qp"].to_list(), options["quartiers"]["libelle"].to_list()))
    objectifs = options["objectifs"]
    obj_labels = (
        {}
        if objectifs is None
        # « axe — libellé (quartier) »: distinct per objective
        else dict(zip(objectifs["code_objectif"].to_list(), objectifs["etiquette"].to_list()))
    )
    multi = {  # widget key → (filter name, allowed values)
        **{key: (name, list(values)) for key, (name, values) in FIXED_FILTERS.items() if key != "fin_statut"},
        "fin_qpv": ("qpv", list(qpv_labels)),
        "fin_axe": ("axes", list(options["axes"])),
        "fin_obj": ("objectifs", list(obj_labels)),
        "fin_statut": ("statuts", list(FIXED_FILTERS["fin_statut"][1])),
    }
    default_year = str(ctx.donnees_au.year) if str(ctx.donnees_au.year) in years else ALL_YEARS
    saved = _restore(multi, years, default_year)

    def _reset() -> None:
        for key in multi:
            st.session_state[key] = []
        st.session_state["fin_annee"] = default_year

    with st.container(key="fin_filtres", border=True):
        row = st.columns(4)
        row[0].selectbox(
            "Exercice", years, key="fin_annee", format_func=lambda y: "Toutes les années" if y == ALL_YEARS else y
        )
        row[1].multiselect(
            "Thématique (P147)",
            multi["fin_them"][1],
            key="fin_them",
            placeholder="Toutes",
            format_func=lambda c: f"{c} {model.THEMATIQUES_P147[c]}",
            select_all=False,
        )
        row[2].multiselect("Financeur", multi["fin_fin"][1], key="fin_fin", placeholder="Tous", select_all=False)
        row[3].multiselect(
            "Mode de financement", multi["fin_mode"][1], key="fin_mode", placeholder="Tous", select_all=False
        )
        row = st.columns(4)
        row[0].multiselect(
            "Type de porteur", multi["fin_porteur"][1], key="fin_porteur", placeholder="Tous", select_all=False
        )
        row[1].multiselect(
            "Quartier (QPV)",
            multi["fin_qpv"][1],
            key="fin_qpv",
            placeholder="Tous",
            format_func=lambda c: f"{qpv_labels.get(c, c)} ({c})",
            help="Les montants d'une action sont comptés au prorata de sa part dans les QPV choisis : "
            "rien n'est compté deux fois. Les actions hors QPV sont alors exclues.",
            select_all=False,
        )
        if objectifs is not None:
            with row[2]:
                axes_col, obj_col = st.columns(2)
            axes_col.multiselect("Axe", multi["fin_axe"][1], key="fin_axe", placeholder="Tous", select_all=False)
            obj_col.multiselect(
                "Objectif",
                multi["fin_obj"][1],
                key="fin_obj",
                placeholder="Tous",
                format_func=lambda c: obj_labels.get(c, c),
                select_all=False,
            )
        else:
            row[2].multiselect(
                "Axe",
                multi["fin_axe"][1],
                key="fin_axe",
                placeholder="Tous",
                help="Choisissez un contrat pour filtrer aussi par objectif.",
                select_all=False,
            )
        row[3].multiselect(
            "Statut de l'action",
            multi["fin_statut"][1],
            key="fin_statut",
            placeholder="Tous (hors refusées)",
            select_all=False,
        )
        st.button("Réinitialiser les filtres", key="fin_reset", on_click=_reset, icon=":material/filter_alt_off:")

    annee_choice = st.session_state["fin_annee"]
    chosen = {name: tuple(st.session_state.get(key, [])) for key, (name, _) in multi.items()}
    if objectifs is None:
        chosen["objectifs"] = ()
    saved.update({key: list(st.session_state.get(key, [])) for key in multi}, fin_annee=annee_choice)
    for key in multi:  # write back to the URL without touching the keys bootstrap manages
        if saved[key]:
            st.query_params[key] = saved[key]
        elif key in st.query_params:
            del st.query_params[key]
    st.query_params["fin_annee"] = annee_choice
    return Selection(
        annee=None if annee_choice == ALL_YEARS else int(annee_choice),
        filters={name: values for name, values in chosen.items() if values},
        saved=saved,
    )


def _restore(multi: dict, years: list[str], default_year: str) -> dict:
    """The session's saved filters (`fin_saved`), read from the URL on its first run, put back into the
    widgets' keys (dropping values another contract lacks)."""
    if "fin_saved" not in st.session_state:  # first run of the session: a shared link sets the filters
        saved: dict[str, Any] = {}
        problems: list[str | None] = []
        for key, (_, allowed) in multi.items():  # a bad value is dropped, with a toast (cdv_core.links)
            saved[key], problem = links.choices(key, st.query_params.get_all(key), allowed)
            problems.append(problem)
        saved["fin_annee"], year_problem = links.choice(
            "fin_annee",
            st.query_params.get("fin_annee"),
            years,
            default=default_year,
            instead="de toutes les années" if default_year == ALL_YEARS else f"de l'exercice {default_year}",
        )
        saved["fin_action"] = st.query_params.get("fin_action")
        st.session_state["fin_saved"] = saved
        st.session_state["fin_action_lien"] = saved["fin_action"] is not None  # checked against the selection
        for problem in [*problems, year_problem]:
            if problem:
                url_warning(problem)
    saved = st.session_state["fin_saved"]
    for key, (_, allowed) in multi.items():  # restore after a page change
        current = st.session_state.get(key, saved.get(key, []))
        st.session_state[key] = [v for v in current if v in allowed]
    year_now = st.session_state.get("fin_annee", saved["fin_annee"])
    st.session_state["fin_annee"] = year_now if year_now in years else default_year
    return saved


# --- alerts -----------------------------------------------------------------------------------------


ALERT_TABS = "fin_alertes"  # the tabs' key: the open tab's label
ALERT_TAB_POSITION = "fin_alerte_position"  # the open tab's position, which a change of counts keeps


@st.fragment
def alerts(ctx: Context, sel: Selection, hors_qpv: pl.DataFrame, hq_sum: dict) -> None:
    """The « Alertes » tabs. Alerts look at every exercice (an old unpaid grant matters most); the
    other filters apply; the hors-QPV cap is judged on whole départemental envelopes.

    A fragment with lazy tabs: choosing a tab reruns this block only, and only the open tab's
    message and table are built and sent. The labels carry the counts, so a filter changes them:
    the open tab is then found again by its position (`open_alert_tab`)."""
    months, args = ctx.settings.unpaid_months, dict(contrat=ctx.contrat, **sel.filters)
    unpaid_total = cached(ctx, fin.unpaid_summary, donnees_au=ctx.donnees_au, months=months, **args)
    overpaid = cached(ctx, fin.overpaid_lines, **args)
    ended = cached(ctx, fin.ended_without_status, donnees_au=ctx.donnees_au, **args)
    bad_siret = cached(ctx, fin.invalid_sirets, **args)
    over = hors_qpv.filter(pl.col("depasse"))

    st.subheader("Alertes")
    st.caption(
        "Toutes années pour les versements, statuts et SIRET, avec les autres filtres ; la règle hors QPV, "
        "pour l'exercice sélectionné, porte sur toute l'enveloppe P147 de chaque département, quels que "
        "soient les filtres."
    )
    labels = fig.alert_tab_labels(
        months=months,
        unpaid=unpaid_total["lignes"],
        overpaid=overpaid.height,
        ended=ended.height,
        bad_siret=bad_siret.height,
        over=over.height,
    )
    open_alert_tab(labels)
    tabs = st.tabs(labels, key=ALERT_TABS, on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            unpaid = cached(ctx, fin.unpaid_grants, donnees_au=ctx.donnees_au, months=months, **args)
            _alert(
                unpaid_total["lignes"],
                fig.unpaid_text(unpaid_total, months=months),
                unpaid,
                fig.UNPAID_COLUMNS,
                key="fin_alerte_impayes",
            )
    if tabs[1].open:
        with tabs[1]:
            _alert(
                overpaid.height,
                fig.overpaid_text(overpaid),
                overpaid,
                fig.OVERPAID_COLUMNS,
                key="fin_alerte_trop_verse",
            )
            if overpaid.height:
                download_buttons(
                    fig.overpaid_export(overpaid),
                    basename="verse_au_dela_accorde_" + (ctx.contrat or "tous"),
                    key="fin_dl_trop_verse",
                    sheet="Versé au-delà",
                )
    if tabs[2].open:
        with tabs[2]:
            _alert(ended.height, fig.ended_text(ended), ended, fig.ENDED_COLUMNS, key="fin_alerte_statut")
    if tabs[3].open:
        with tabs[3]:
            _alert(bad_siret.height, fig.siret_text(bad_siret), bad_siret, fig.SIRET_COLUMNS, key="fin_alerte_siret")
    if tabs[4].open:
        with tabs[4]:
            _alert(over.height, fig.hors_qpv_text(over), None, {}, key="")
            if missing := fig.missing_link_text(hq_sum):
                st.warning(missing, icon=":material/link_off:")
            if not hors_qpv.is_empty():
                table(fig.hors_qpv_table(hors_qpv), key="fin_alerte_hors_qpv")


def open_alert_tab(labels: list[str]) -> None:
    """Keep the alert tab the user opened across a change of its label (its count): its label, when
    it is still one of `labels`, gives its position; else the tab at the kept position opens."""
    chosen = st.session_state.get(ALERT_TABS)
    if chosen in labels:
        st.session_state[ALERT_TAB_POSITION] = labels.index(chosen)
    elif chosen is not None:
        st.session_state[ALERT_TABS] = labels[st.session_state.get(ALERT_TAB_POSITION, 0)]


def _alert(count: int, text: str, frame: pl.DataFrame | None, columns: dict[str, str], *, key: str) -> None:
    """A success message when nothing is wrong; else a warning and the first rows of `frame`."""
    if not count:
        st.success(text, icon=":material/check_circle:")
        return
    st.warning(text, icon=":material/warning:")
    if frame is not None:
        table(fig.alert_table(frame, columns), key=key)
        if note := fig.alert_cap_note(frame):
            st.caption(note)


# --- table of actions and one action ----------------------------------------------------------------


def action_downloads(ctx: Context, table_args: dict, *, n_rows: int, basename: str) -> None:
    """The whole table of actions (`fin.action_rows` without its cap), as CSV and XLSX: read and
    built only when a button is clicked, on Streamlit's download thread with its own cursor, so no
    rerun pays for the query nor the files."""
    rows = deferred(ctx, fin.action_rows, **table_args)

    def _file(kind: str) -> bytes:
        frame = fig.actions_table(rows())
        return tables.to_csv_bytes(frame) if kind == "csv" else tables.to_xlsx_bytes({"Actions": frame})

    if n_rows >= BIG_DOWNLOAD:
        st.caption(
            f"Fichiers de {fmt.plural(n_rows, 'ligne')} : préparés au moment du clic, "
            "quelques secondes pour le format Excel."
        )
    left, right = st.columns(2)
    left.download_button(
        "Télécharger (CSV)",
        data=functools.partial(_file, "csv"),
        file_name=f"{basename}.csv",
        mime="text/csv",
        key="fin_dl_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    right.download_button(
        "Télécharger (Excel)",
        data=functools.partial(_file, "xlsx"),
        file_name=f"{basename}.xlsx",
        mime=tables.XLSX_MIME,
        key="fin_dl_xlsx",
        icon=":material/download:",
        on_click="ignore",
    )


def action_detail(ctx: Context, detail: dict) -> None:
    """One action (`fin.action_detail`): who, when, what; its quartiers, objectives and funding lines."""
    a = detail["action"]
    with st.container(key="fin_detail", border=True):
        st.markdown(f"#### {fmt.md(a['libelle'])}")
        for col, text in zip(st.columns(3), fig.action_identity(a)):
            col.markdown(text)
        st.markdown("**Quartiers servis et parts**")
        if detail["quartiers"].is_empty():
            st.caption("Aucun QPV rattaché : action hors QPV, comptée dans aucun quartier.")
        else:
            table(fig.action_quartiers(detail["quartiers"]), key="fin_detail_qpv")
            st.caption(
                "Part retenue : les parts déclarées sont gardées, les QPV sans part se partagent le reste "
                "à parts égales, et le tout est ramené à 100 % (même règle que « Projets de quartier »)."
            )
        st.markdown("**Objectifs**")
        if detail["objectifs"].is_empty():
            st.caption("Aucun objectif rattaché.")
        else:
            table(fig.action_objectifs(detail["objectifs"]), key="fin_detail_obj")
        st.markdown("**Lignes de financement**")
        if detail["financements"].is_empty():
            st.caption("Aucune ligne de financement enregistrée.")
        else:
            table(fig.action_lines(detail["financements"]), key="fin_detail_lignes")
        st.caption(fig.status_history_note(a))
