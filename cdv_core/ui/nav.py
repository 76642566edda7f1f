"""The app's pages, in one list. app.py declares them to st.navigation inside `entrypoint()`;
when a page runs without app.py (a deep link on a fresh server: Streamlit then falls back to
the pages/ folder and its file-name menu), bootstrap() sees it and draws the same links itself."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_FROM_ENTRYPOINT = contextvars.ContextVar("cdv_from_entrypoint", default=False)


@contextmanager
def entrypoint() -> Iterator[None]:
    """Mark the page run as started by app.py (st.navigation draws the menu)."""
    token = _FROM_ENTRYPOINT.set(True)
    try:
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
)


def page_path(title: str) -> str:
    """The file of the page with this French title (for st.page_link)."""
    return next(p.path for p in PAGES if p.title == title)
