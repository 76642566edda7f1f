"""Who is using this session (CDV_AUTH): nobody identified (`aucune`), an OpenID Connect login
through Streamlit's own `st.login` (`oidc`), or an email header set by an authenticating reverse
proxy (`entete`). A visitor without a valid identity sees a French page and nothing else: no
figure, no contract name. `bootstrap()` calls `identify()` before anything from the store is
drawn, on every page (a deep link on a fresh server runs the page without app.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import duckdb
import streamlit as st

from cdv_core import access, fmt
from cdv_core import settings as settings_mod
from cdv_core.ui import nav

_TITLE = "Pilotage des contrats de ville"
_log = logging.getLogger(__name__)
# How long a login holds at least, counted from the authentication. Streamlit keeps its identity
# cookie 30 days and never looks at the token's `exp`; the providers we document issue ID tokens
# of a few minutes (ProConnect: 60 s, Keycloak: 5 min by default), which must not cut a COPIL short.
# A login is therefore valid until `exp` or until this long after `auth_time` (else `iat`),
# whichever is later; then a new login is asked for.
SESSION_HOURS = 12

# The account every session of this process logs in as, while `precomputing_as` holds (None: each its own).
_precomputing: str | None = None


@contextmanager
def precomputing_as(email: str) -> Iterator[None]:
    """Within it, every session of this process logs in as the account `email`, whatever CDV_AUTH
    (the account is looked up as for a login: it must exist and be active): `cdv_core.ui.precalcul`
    visits the pages headless as an account limited to some contracts, so that what it reads is
    filed under that account's périmètre. Only code enters it, in a command's process (refused
    where a Streamlit server runs); no setting and no request can."""
    from streamlit.runtime import Runtime

    if Runtime.exists():  # a server's process: every session would log in as this account
        raise RuntimeError("precomputing_as is for a command's process, never a server's")
    global _precomputing
    previous, _precomputing = _precomputing, email
    try:
        yield
    finally:
        _precomputing = previous


def identify(
    cfg: settings_mod.Settings,
    lookup: Callable[[str], access.User | None],
    cur_factory: Callable[[], duckdb.DuckDBPyConnection],
) -> access.User:
    """The session's user, or a French page then `st.stop()`. `lookup(email)`: the active account
    (cached on the store version); `cur_factory()`: a cursor, only for the no-access page."""
    if _precomputing is not None:
        email = _precomputing
    elif cfg.auth == "aucune":
        return access.local_user(access.local_name(cfg.local_user))
    else:
        email = _oidc_email() if cfg.auth == "oidc" else _header_email(cfg.auth_header)
    user = lookup(email)
    if user is None or (user.role != access.ADMIN and not user.contrats):
        _no_access(cfg, email, cur_factory)
    return user


def _oidc_email() -> str:
    if not _auth_configured():
        _stop_page(
            "Connexion non configurée",
            "L'application est réglée pour une connexion OpenID Connect (CDV_AUTH=oidc), mais la section "
            "`[auth]` du fichier `.streamlit/secrets.toml` est absente : personne ne peut se connecter. "
            "Prévenez l'administrateur du serveur (voir docs/acces.md).",
        )
    if not st.user.get("is_logged_in"):
        _login_page()
    if expired(st.user.to_dict(), now=time.time()):
        _stop_page("Session expirée", "Votre connexion a expiré : reconnectez-vous pour continuer.", login_again=True)
    claim = st.user.get("email")
    email = access.normalise_email(claim if isinstance(claim, str) else None)
    if not email:
        _stop_page(
            "Adresse électronique absente",
            "Le fournisseur d'identité n'a pas transmis votre adresse électronique : l'application ne peut pas "
            "savoir à quels contrats vous avez accès. Prévenez l'administrateur (l'adresse doit figurer dans "
            "le jeton d'identité, voir docs/acces.md).",
            logout=True,
        )
    return email


def expired(claims: dict, *, now: float) -> bool:
    """Whether an OpenID Connect login (the ID token's claims, as `st.user` holds them) must be
    renewed: past its `exp` and more than SESSION_HOURS after `auth_time` (else `iat`). A token
    without `exp` counts as expired (every ID token has one)."""
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        return True
    since = claims.get("auth_time", claims.get("iat"))
    if isinstance(since, (int, float)) and not isinstance(since, bool):
        expires = max(expires, since + SESSION_HOURS * 3600)
    return expires <= now


def _provider() -> str | None:
    """The provider `st.login` uses: the one named section `[auth.NOM]` when there is one (it may
    carry `authorize_params`, which Streamlit drops from a bare `[auth]`), else `[auth]` itself."""
    named = [name for name, value in st.secrets["auth"].items() if hasattr(value, "keys") and "client_id" in value]
    return named[0] if len(named) == 1 else None


def _login() -> None:
    st.login(_provider())


def _auth_configured() -> bool:
    """Whether `.streamlit/secrets.toml` has the `[auth]` section `st.login` reads."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all (Streamlit raises its own FileNotFoundError)
        return False


def _header_email(header: str) -> str:
    values = st.context.headers.get_all(header)
    if len(values) > 1:  # a client-sent copy the proxy appended to instead of replacing: trust neither
        _stop_page(
            "Identité ambiguë",
            f"L'en-tête « {header} » est présent plusieurs fois : l'application ne sait pas qui vous êtes. "
            "Le mandataire d'authentification doit remplacer cet en-tête, pas l'ajouter. Prévenez "
            "l'administrateur.",
        )
    email = access.normalise_email(values[0] if values else None)
    if not email:
        _stop_page(
            "Identité non transmise",
            f"L'application attend l'adresse de la personne connectée dans l'en-tête « {header} », "
            "posé par le mandataire d'authentification : il est absent. Passez par l'adresse habituelle "
            "de l'application ; si le problème persiste, prévenez l'administrateur.",
        )
    return email


def _page_start() -> None:
    """The title of a page shown instead of the app; on a deep link without app.py, without
    Streamlit's file-name menu either (bootstrap replaces it only once someone is identified)."""
    if not nav.from_entrypoint():
        st.html(nav.HIDE_FILE_MENU)
    st.title(_TITLE)


def _login_page() -> NoReturn:
    _page_start()
    st.subheader("Connexion")
    st.write(
        "Tableau de bord de pilotage des contrats de ville 2024-2030. Connectez-vous pour voir les contrats "
        "auxquels votre compte donne accès."
    )
    st.button("Se connecter", type="primary", icon=":material/login:", key="auth_login", on_click=_login)
    st.stop()


def _no_access(cfg: settings_mod.Settings, email: str, cur_factory) -> NoReturn:
    _log.warning("Access refused: %s has no active account with a contract", " ".join(email.split())[:200] or "?")
    cur = cur_factory()
    try:
        admins = access.administrators(cur)
    finally:
        cur.close()
    logout = cfg.auth == "oidc"
    if not admins:
        _stop_page(
            "Aucun administrateur",
            "Cette base n'a encore aucun administrateur : personne ne peut y recevoir d'accès. Sur le serveur, "
            "créez le premier avec la commande :\n\n"
            f"`python -m cdv_core utilisateurs ajouter --email {email.replace('`', '')} --role administrateur`\n\n"
            "puis rechargez cette page.",
            logout=logout,
        )
    contact = cfg.contact or fmt.md(", ".join(admins))  # CDV_CONTACT is the server's own text
    _stop_page(
        "Votre compte n'a accès à aucun contrat",
        f"Vous êtes connecté(e) en tant que {fmt.md(email)}, mais ce compte n'a accès à aucun contrat de ville. "
        f"Demandez un accès à : {contact}.",
        logout=logout,
    )


def _stop_page(title: str, text: str, *, logout: bool = False, login_again: bool = False) -> NoReturn:
    _page_start()
    st.subheader(title)
    st.write(text)
    if login_again:  # a new login replaces Streamlit's identity cookie
        st.button("Se reconnecter", type="primary", icon=":material/login:", key="auth_login_again", on_click=_login)
    if logout:
        st.button("Se déconnecter", icon=":material/logout:", key="auth_logout_refus", on_click=st.logout)
    st.stop()


def sidebar(cfg: settings_mod.Settings, user: access.User) -> None:
    """Who is connected (and the way out), or that nobody is."""
    if user.local:
        st.caption(
            f"Sans identification : toute personne qui ouvre l'application peut modifier les données "
            f"(modifications enregistrées au nom de « {fmt.md(user.nom)} »)."
        )
        return
    st.caption(f"Connecté(e) : **{fmt.md(user.nom or user.email)}** · {access.ROLES.get(user.role, user.role)}")
    if cfg.auth == "oidc":
        st.button("Se déconnecter", icon=":material/logout:", key="auth_logout", on_click=st.logout)
