"""« Administration » (administrators only): the accounts — add, modify, remove — and the history
of changes. Every write goes through ui.write → cdv_core.access, which checks the role again."""

import polars as pl
import streamlit as st

from cdv_core import access, fmt, ui
from cdv_core.queries import territoire
from cdv_core.ui.historique import history_view

ctx = ui.bootstrap("Administration")
ui.page_header("Administration", ctx)

if not ctx.user.can(access.ADMINISTER):
    st.warning("Cette page est réservée aux administrateurs.", icon=":material/lock:")
    st.stop()

if ctx.settings.auth == "aucune":
    st.info("L'identification est désactivée (CDV_AUTH=aucune) : toute personne qui ouvre l'application peut tout "
            "faire, et les comptes ci-dessous ne servent pas encore. Ils prendront effet dès que l'identification "
            "sera activée (voir docs/acces.md) : vous pouvez les préparer dès maintenant.", icon=":material/info:")

state = st.session_state
state.setdefault("adm_form_n", 0)  # a new number empties the forms after a write
n = state["adm_form_n"]


def _reset(_):
    state["adm_form_n"] += 1


contracts = ui.cached(ctx, territoire.contracts)
labels = dict(zip(contracts["code_contrat"].to_list(), contracts["libelle"].to_list()))
accounts = ui.cached(ctx, access.users)
roles = list(access.ROLES)

comptes, historique = st.tabs(["Comptes", "Historique des modifications"])
with comptes:
    if accounts.is_empty():
        st.caption("Aucun compte pour l'instant.")
    else:
        st.caption(f"{fmt.plural(accounts.height, 'compte')} · un administrateur a accès à tous les contrats.")
        with st.container(key="adm_comptes"):
            shown = accounts.with_columns(
                pl.col("nom").fill_null(""), pl.col("role").replace(access.ROLES),
                pl.when(pl.col("role") == access.ADMIN).then(pl.lit("tous")).otherwise(pl.col("contrats")).alias("contrats"))
            st.dataframe(shown,
                         hide_index=True, width="stretch", column_config={
                             "email": "Adresse", "nom": "Nom", "role": "Rôle",
                             "actif": st.column_config.CheckboxColumn("Actif"), "contrats": "Contrats",
                             "cree_le": st.column_config.DatetimeColumn("Créé le", format="DD/MM/YYYY"),
                             "modifie_le": st.column_config.DatetimeColumn("Modifié le", format="DD/MM/YYYY")})

    st.subheader("Ajouter un compte")
    with st.form(f"adm_ajout_{n}", border=True):
        cols = st.columns(2)
        with cols[0]:
            email = st.text_input("Adresse électronique", key=f"adm_ajout_email_{n}",
                                  help="L'adresse que renvoie le fournisseur d'identité (ProConnect, Keycloak…).")
        with cols[1]:
            nom = st.text_input("Nom affiché", key=f"adm_ajout_nom_{n}")
        cols = st.columns(2)
        with cols[0]:
            role = st.selectbox("Rôle", roles, index=0, format_func=access.ROLES.get, key=f"adm_ajout_role_{n}")
        with cols[1]:
            chosen = st.multiselect("Contrats", list(labels), format_func=labels.get, key=f"adm_ajout_contrats_{n}", select_all=False,
                                    placeholder="Choisissez un ou plusieurs contrats",
                                    help="Inutile pour un administrateur, qui a accès à tous les contrats.")
        if st.form_submit_button("Ajouter le compte", type="primary", icon=":material/person_add:"):
            ui.write(ctx, access.add_user, email=email, role=role, nom=nom, contrats=chosen, on_success=_reset,
                     success=f"Compte {fmt.md(access.normalise_email(email))} ajouté ({access.ROLES[role]}).")

    if not accounts.is_empty():
        emails = accounts["email"].to_list()
        rows = {r["email"]: r for r in accounts.iter_rows(named=True)}
        st.subheader("Modifier un compte")
        target = st.selectbox("Compte", emails, key=f"adm_modif_compte_{n}",
                              format_func=lambda e: f"{rows[e]['nom']} <{e}>" if rows[e]["nom"] else e)
        row = rows[target]
        k = f"{n}_{emails.index(target)}"  # widgets start from the chosen account's values
        with st.form(f"adm_modif_{k}", border=True):
            cols = st.columns(2)
            with cols[0]:
                new_role = st.selectbox("Rôle", roles, index=roles.index(row["role"]) if row["role"] in roles else 0,
                                        format_func=access.ROLES.get, key=f"adm_modif_role_{k}")
                new_nom = st.text_input("Nom affiché", value=row["nom"] or "", key=f"adm_modif_nom_{k}")
            with cols[1]:
                current = [c for c in (row["contrats"] or "").split(", ") if c in labels]
                new_contrats = st.multiselect("Contrats", list(labels), default=current, format_func=labels.get, select_all=False,
                                              key=f"adm_modif_contrats_{k}",
                                              placeholder="Choisissez un ou plusieurs contrats")
                new_actif = st.toggle("Compte actif", value=bool(row["actif"]), key=f"adm_modif_actif_{k}",
                                      help="Un compte désactivé ne peut plus se connecter ; il reste dans la liste.")
            if st.form_submit_button("Enregistrer les modifications", type="primary", icon=":material/save:"):
                ui.write(ctx, access.modify_user, email=target, role=new_role, nom=new_nom, contrats=new_contrats,
                         actif=new_actif, on_success=_reset, success=f"Compte {fmt.md(target)} modifié.")

        st.subheader("Retirer un compte")
        cols = st.columns([2, 2, 1])
        with cols[0]:
            gone = st.selectbox("Compte à retirer", emails, key=f"adm_retrait_compte_{n}")
        with cols[1]:
            sure = st.checkbox("Je confirme : supprimer ce compte (ses modifications passées gardent son nom ; pour "
                               "suspendre un accès, désactivez plutôt le compte)", key=f"adm_retrait_ok_{n}")
        with cols[2]:
            if st.button("Retirer le compte", key=f"adm_retrait_{n}", disabled=not sure, icon=":material/person_remove:"):
                ui.write(ctx, access.remove_user, email=gone, on_success=_reset, success=f"Compte {fmt.md(gone)} supprimé.")

with historique:
    history_view(ctx, key="adm_hist")
