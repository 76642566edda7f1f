"""« Administration » (administrators only): the accounts — add, modify, remove — and the history
of changes. Every write goes through ui.write → cdv_core.access, which checks the role again."""

import streamlit as st

from cdv_core import access, fmt, ui
from cdv_core.figures import administration as fig
from cdv_core.queries import territoire
from cdv_core.ui.historique import history_view

ctx = ui.bootstrap("Administration")
ui.page_header("Administration", ctx)
if not ctx.user.can(access.ADMINISTER):
    st.warning("Cette page est réservée aux administrateurs.", icon=":material/lock:")
    st.stop()
if ctx.settings.auth == "aucune":
    st.info(fig.AUTH_OFF, icon=":material/info:")

state = st.session_state
state.setdefault("adm_form_n", 0)  # a new number empties the forms after a write
n = state["adm_form_n"]
contracts = ui.cached(ctx, territoire.contracts)
labels = dict(zip(contracts["code_contrat"].to_list(), contracts["libelle"].to_list(), strict=True))
accounts = ui.cached(ctx, access.users)
emails = accounts["email"].to_list()
roles = list(access.ROLES)
_FORMATS = {
    "Actif": st.column_config.CheckboxColumn(),
    "Créé le": st.column_config.DatetimeColumn(format="DD/MM/YYYY"),
    "Modifié le": st.column_config.DatetimeColumn(format="DD/MM/YYYY"),
}


def _reset(_):
    state["adm_form_n"] += 1


def accounts_table() -> None:
    st.caption(fig.accounts_caption(accounts.height))
    if not accounts.is_empty():
        with st.container(key="adm_comptes"):
            ui.table(fig.accounts_table(accounts), hide_index=True, width="stretch", column_config=_FORMATS)


def add_form() -> None:
    st.subheader("Ajouter un compte")
    with st.form(f"adm_ajout_{n}", border=True):
        cols = st.columns(2)
        email = cols[0].text_input(
            "Adresse électronique",
            key=f"adm_ajout_email_{n}",
            help="L'adresse que renvoie le fournisseur d'identité (ProConnect, Keycloak…).",
        )
        nom = cols[1].text_input("Nom affiché", key=f"adm_ajout_nom_{n}")
        cols = st.columns(2)
        role = cols[0].selectbox(
            "Rôle", roles, index=0, format_func=access.ROLES.__getitem__, key=f"adm_ajout_role_{n}"
        )
        chosen = cols[1].multiselect(
            "Contrats",
            list(labels),
            format_func=labels.__getitem__,
            select_all=False,
            key=f"adm_ajout_contrats_{n}",
            placeholder="Choisissez un ou plusieurs contrats",
            help="Inutile pour un administrateur, qui a accès à tous les contrats.",
        )
        if st.form_submit_button("Ajouter le compte", type="primary", icon=":material/person_add:"):
            ui.write(
                ctx,
                access.add_user,
                email=email,
                role=role,
                nom=nom,
                contrats=chosen,
                on_success=_reset,
                success=f"Compte {fmt.md(access.normalise_email(email))} ajouté ({access.ROLES[role]}).",
            )


def modify_form() -> None:
    st.subheader("Modifier un compte")
    names = fig.account_labels(accounts)
    target = st.selectbox("Compte", emails, key=f"adm_modif_compte_{n}", format_func=names.__getitem__)
    assert target is not None  # there is at least one account
    row = accounts.row(emails.index(target), named=True)
    k = f"{n}_{emails.index(target)}"  # widgets start from the chosen account's values
    with st.form(f"adm_modif_{k}", border=True):
        left, right = st.columns(2)
        new_role = left.selectbox(
            "Rôle",
            roles,
            index=roles.index(row["role"]) if row["role"] in roles else 0,
            format_func=access.ROLES.__getitem__,
            key=f"adm_modif_role_{k}",
        )
        new_nom = left.text_input("Nom affiché", value=row["nom"] or "", key=f"adm_modif_nom_{k}")
        current = [c for c in (row["contrats"] or "").split(", ") if c in labels]
        new_contrats = right.multiselect(
            "Contrats",
            list(labels),
            default=current,
            format_func=labels.__getitem__,
            select_all=False,
            key=f"adm_modif_contrats_{k}",
            placeholder="Choisissez un ou plusieurs contrats",
        )
        new_actif = right.toggle(
            "Compte actif",
            value=bool(row["actif"]),
            key=f"adm_modif_actif_{k}",
            help="Un compte désactivé ne peut plus se connecter ; il reste dans la liste.",
        )
        if st.form_submit_button("Enregistrer les modifications", type="primary", icon=":material/save:"):
            ui.write(
                ctx,
                access.modify_user,
                email=target,
                role=new_role,
                nom=new_nom,
                contrats=new_contrats,
                actif=new_actif,
                on_success=_reset,
                success=f"Compte {fmt.md(target)} modifié.",
            )


def remove_form() -> None:
    st.subheader("Retirer un compte")
    cols = st.columns([2, 2, 1])
    gone = cols[0].selectbox("Compte à retirer", emails, key=f"adm_retrait_compte_{n}")
    sure = cols[1].checkbox(fig.REMOVE_CONFIRM, key=f"adm_retrait_ok_{n}")
    if cols[2].button("Retirer le compte", key=f"adm_retrait_{n}", disabled=not sure, icon=":material/person_remove:"):
        ui.write(ctx, access.remove_user, email=gone, on_success=_reset, success=f"Compte {fmt.md(gone)} supprimé.")


comptes, historique = st.tabs(["Comptes", "Historique des modifications"])
with comptes:
    accounts_table()
    add_form()
    if not accounts.is_empty():
        modify_form()
        remove_form()
with historique:
    history_view(ctx, key="adm_hist")
