"""The « Historique des modifications » view: every write the reader may see (administrators:
all; chefs de projet: their contracts' — see `cdv_core.queries.historique`), filterable and
downloadable. Lecteurs and partenaires do not see it."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from cdv_core import access, fmt
from cdv_core.queries import historique, territoire
from cdv_core.ui import widgets
from cdv_core.ui.context import Context, cached
from cdv_core.ui.downloads import download_buttons

_ALL = "__tous__"


def may_see(ctx: Context) -> bool:
    """Administrators and chefs de projet (those who write)."""
    return ctx.user.can(access.WRITE)


def history_view(ctx: Context, *, key: str) -> None:
    """Filters, the table of writes and its downloads (`key`: the widget key prefix)."""
    if not may_see(ctx):
        return
    st.caption(
        "Qui a modifié quoi, et quand : imports, annulations, séances, jalons, comptes. "
        + (
            "Toutes les modifications de la base."
            if ctx.perimetre is None
            else "Les modifications de vos contrats ; celles des données communes à tous les contrats "
            "(fichiers nationaux, comptes) sont réservées aux administrateurs."
        )
    )
    contracts = cached(ctx, territoire.contracts)
    labels = dict(zip(contracts["code_contrat"].to_list(), contracts["libelle"].to_list()))
    cols = st.columns([1.4, 1.1, 1.7, 1.1])  # the contract's name is the longest value
    with cols[0]:
        period = st.date_input(
            "Période",
            value=(date.today() - timedelta(days=365), date.today()),
            format="DD/MM/YYYY",
            key=f"{key}_periode",
        )
    with cols[1]:
        auteur = st.selectbox(
            "Auteur",
            [_ALL, *cached(ctx, historique.authors)],
            key=f"{key}_auteur",
            format_func=lambda a: "Tous les auteurs" if a == _ALL else a,
        )
    with cols[2]:
        default = ctx.contrat if ctx.contrat in labels else _ALL
        options = [_ALL, *labels]
        contrat = st.selectbox(
            "Contrat",
            options,
            index=options.index(default),
            key=f"{key}_contrat",
            format_func=lambda c: (
                fmt.short_contract(labels.get(c) or c)
                if c != _ALL
                else ("Tous les contrats" if ctx.perimetre is None else "Tous mes contrats")
            ),
        )
    with cols[3]:
        kind = st.selectbox(
            "Type d'opération",
            [_ALL, *historique.operation_kinds()],
            key=f"{key}_type",
            format_func=lambda k: "Toutes" if k == _ALL else k,
        )
    start, end = (*period, None, None)[:2] if isinstance(period, (tuple, list)) else (period, None)
    frame = cached(
        ctx,
        historique.changes,
        depuis=start,
        jusqu_au=end,
        auteur=None if auteur == _ALL else auteur,
        contrat=None if contrat == _ALL else contrat,
        operation=None if kind == _ALL else kind,
    )
    if frame.is_empty():
        st.caption("Aucune modification pour ces critères.")
        return
    shown = f"{fmt.plural(frame.height, 'modification')}"
    if frame.height >= historique.DEFAULT_LIMIT:
        shown += f" (les {fmt.integer(historique.DEFAULT_LIMIT)} plus récentes : resserrez la période)"
    st.caption(shown)
    with st.container(key=f"{key}_table"):
        widgets.table(
            frame,
            rows=1000,
            hide_index=True,
            width="stretch",
            column_config={
                "date": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm"),
                "auteur": "Auteur",
                "type": "Type",
                "opération": st.column_config.TextColumn("Opération", width="medium"),
                "contrats": "Contrats",
                "tables": "Tables",
                "détail": st.column_config.TextColumn("Détail", width="large"),
                "version": st.column_config.NumberColumn("Version", format="%d", width="small"),
            },
        )
    download_buttons(frame, basename="historique_modifications", key=f"{key}_dl", sheet="Historique")
