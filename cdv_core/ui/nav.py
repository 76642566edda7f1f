"""The app's pages, in one list. app.py declares them to st.navigation inside `entrypoint()`;
when a page runs without app.py (a deep link on a fresh server: Streamlit then falls back to
the pages/ folder and its file-name menu), bootstrap() sees it and draws the same links itself."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from cdv_core import access
from cdv_core import settings as settings_mod
from cdv_core.ui import runs

_FROM_ENTRYPOINT = contextvars.ContextVar("cdv_from_entrypoint", default=False)


@contextmanager
def entrypoint() -> Iterator[None]:
    """Mark the page run as started by app.py (st.navigation draws the menu), and run it in its turn
    (`runs.turn`: at most `CDV_EXECUTIONS_SIMULTANEES` page runs at once)."""
    token = _FROM_ENTRYPOINT.set(True)
    try:
        with runs.turn():  # at most a few page runs at once, the others in the order they came
            yield
    finally:
        _FROM_ENTRYPOINT.reset(token)


def from_entrypoint() -> bool:
    return _FROM_ENTRYPOINT.get()


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str  # the first page (default) is served at `/`; app.py keeps its url_path as an alias to `/`
    action: str | None = None  # what a user must be allowed (access.ADMINISTER…) to see it in the menu; None: everyone


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/vue_ensemble.py", "Vue d'ensemble", ":material/dashboard:", "vue_ensemble"),
    PageSpec("pages/projets_quartier.py", "Projets de quartier", ":material/holiday_village:", "projets_quartier"),
    PageSpec("pages/financements.py", "Actions et financements", ":material/euro:", "financements"),
    PageSpec("pages/indicateurs.py", "Indicateurs", ":material/monitoring:", "indicateurs"),
    PageSpec("pages/gouvernance.py", "Gouvernance", ":material/groups:", "gouvernance"),
    PageSpec("pages/jalons.py", "Jalons et actualisation 2027", ":material/flag:", "jalons"),
    PageSpec("pages/mise_a_jour.py", "Mise à jour des données", ":material/upload_file:", "mise_a_jour"),
    PageSpec("pages/acteurs.py", "Acteurs et ingénierie", ":material/diversity_3:", "acteurs"),
    PageSpec("pages/seance.py", "Séance et exports", ":material/co_present:", "seance"),
    PageSpec(
        "pages/administration.py",
        "Administration",
        ":material/admin_panel_settings:",
        "administration",
        action=access.ADMINISTER,
    ),
)
# Hides Streamlit's file-name menu of the pages/ fallback (a deep link without app.py); bootstrap()
# and the identity pages draw the menu themselves instead.
HIDE_FILE_MENU = '<style>[data-testid="stSidebarNav"] { display: none; }</style>'
_MENU_USER = "nav_menu_user"  # session key: the user bootstrap() identified, whose menu app.py draws


def page_path(title: str) -> str:
    """The file of the page with this French title (for st.page_link)."""
    return next(p.path for p in PAGES if p.title == title)


def allowed(spec: PageSpec, user: access.User | None) -> bool:
    """Whether `user` sees the page in the menu (the page checks again: a hidden page still opens
    by its address, and then says it is reserved)."""
    return spec.action is None or (user is not None and user.can(spec.action))


def pages_for(user: access.User | None) -> tuple[PageSpec, ...]:
    return tuple(p for p in PAGES if allowed(p, user))


def menu_user() -> access.User | None:
    """The user app.py draws the menu for, before bootstrap() runs: the one it identified earlier
    in this session; on a session's first run, the local user when nobody logs in (CDV_AUTH
    « aucune »: every page), else nobody (restricted pages hidden until the user is known)."""
    user = st.session_state.get(_MENU_USER)
    if user is not None:
        return user
    try:
        return access.local_user("") if settings_mod.load().auth == "aucune" else None
    except settings_mod.SettingError:
        return None  # bootstrap() says what is wrong


def remember(user: access.User) -> bool:
    """Keep the session's user for the next menus; True when the menu app.py just drew was for
    someone who sees other pages (the first run of an administrator, a role changed since):
    the caller reruns so the menu is drawn again."""
    drawn = pages_for(menu_user())
    st.session_state[_MENU_USER] = user
    return from_entrypoint() and drawn != pages_for(user)
