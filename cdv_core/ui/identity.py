"""Who is using this session (CDV_AUTH): nobody identified (`aucune`), an OpenID Connect login
through Streamlit's own `st.login` (`oidc`), or an email header set by an authenticating reverse
proxy (`entete`). A visitor without a valid identity sees a French page and nothing else: no
figure, no contract name (this runs before any of them is read)."""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb
import streamlit as st

from cdv_core import access, settings as settings_mod

_EXPIRED = "auth_session_expiree"
_TITLE = "Pilotage des contrats de ville"


def identify(cfg: settings_mod.Settings, lookup: Callable[[str], access.User | None],
             cur_factory: Callable[[], duckdb.DuckDBPyConnection]) -> access.User:
    """The session's user, or a French page then `st.stop()`. `lookup(email)`: the active account
    (cached on the store version); `cur_factory()`: a cursor for the rare pages that need more."""
    if cfg.auth == "aucune":
        return access.local_user(access.local_name(cfg.local_user))
    if cfg.auth == "oidc":
        email = _oidc_email()
    else:
        email = access.normalise_email(st.context.headers.get(cfg.auth_header))
        if not email:
            _stop_page("Identité non transmise",
                       f"L'application attend l'adresse de la personne connectée dans l'en-tête « {cfg.auth_header} », "
                       "posé par le mandataire d'authentification : il est absent. Passez par l'adresse habituelle "
                       "de l'application ; si le problème persiste, prévenez l'administrateur.")
    user = lookup(email)
    if user is None or (user.role != access.ADMIN and not user.contrats):
        _no_access(cfg, email, cur_factory)
    return user


def _oidc_email() -> str:
    if not st.user.is_logged_in:
        _login_page()
    expires = st.user.get("exp")
    # Streamlit keeps its own session cookie after the identity token has expired: check it here
    if isinstance(expires, (int, float)) and expires < time.time():
        st.session_state[_EXPIRED] = True
        st.logout()
        st.stop()
    email = access.normalise_email(st.user.get("email"))
    if not email:
        _stop_page("Adresse électronique absente",
                   "Le fournisseur d'identité n'a pas transmis votre adresse électronique : l'application ne peut pas "
                   "savoir à quels contrats vous avez accès. Prévenez l'administrateur (portée « email » à demander).",
                   logout=True)
    return email


def _login_page() -> None:
    st.title(_TITLE)
    if st.session_state.pop(_EXPIRED, False):
        st.warning("Votre session a expiré : reconnectez-vous.", icon=":material/schedule:")
    st.write("Tableau de bord de pilotage des contrats de ville 2024-2030. Connectez-vous pour voir les contrats "
             "auxquels votre compte donne accès.")
    st.button("Se connecter", type="primary", icon=":material/login:", key="auth_login", on_click=st.login)
    st.stop()


def _no_access(cfg: settings_mod.Settings, email: str, cur_factory) -> None:
    cur = cur_factory()
    try:
        admins = access.administrators(cur)
    finally:
        cur.close()
    if not admins:
        _stop_page("Aucun administrateur",
                   "Cette base n'a encore aucun administrateur : personne ne peut s'y connecter. Sur le serveur, "
                   "créez le premier avec la commande :\n\n"
                   f"`python -m cdv_core utilisateurs ajouter --email {email or 'ADRESSE'} --role administrateur`",
                   logout=cfg.auth == "oidc")
    contact = cfg.contact or ", ".join(admins)
    _stop_page("Votre compte n'a accès à aucun contrat",
               f"Vous êtes connecté(e) en tant que {email}, mais ce compte n'a accès à aucun contrat de ville. "
               f"Demandez un accès à : {contact}.", logout=cfg.auth == "oidc")


def _stop_page(title: str, text: str, *, logout: bool = False) -> None:
    st.title(_TITLE)
    st.subheader(title)
    st.write(text)
    if logout:
        st.button("Se déconnecter", icon=":material/logout:", key="auth_logout_refus", on_click=st.logout)
    st.stop()


def sidebar(cfg: settings_mod.Settings, user: access.User) -> None:
    """Who is connected (and the way out), or that nobody is."""
    if user.local:
        st.caption(f"Sans identification : toute personne qui ouvre l'application peut modifier les données "
                   f"(modifications enregistrées au nom de « {user.nom} »).")
        return
    st.caption(f"Connecté(e) : **{user.nom or user.email}** · {access.ROLES.get(user.role, user.role)}")
    if cfg.auth == "oidc":
        st.button("Se déconnecter", icon=":material/logout:", key="auth_logout", on_click=st.logout)
