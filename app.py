"""Entry point: `streamlit run app.py`. Declares the pages (cdv_core/ui/nav.py) to st.navigation;
each page calls ui.bootstrap() itself, so it also works when opened by deep link without app.py."""

import streamlit as st

from cdv_core.ui.context import FAVICON
from cdv_core.ui.nav import PAGES, allowed, entrypoint, menu_user

# Before st.navigation: a page's Material icon would otherwise become the favicon, which the
# browser fetches from Google's font server (no outside request allowed).
st.set_page_config(page_icon=FAVICON, layout="wide")
# A page the user may not use (Administration) is declared hidden, not left out: its address still
# opens it, and the page itself says it is reserved.
user = menu_user()
pages = [
    st.Page(
        p.path,
        title=p.title,
        icon=p.icon,
        url_path="" if i == 0 else p.url_path,
        default=(i == 0),
        visibility="visible" if allowed(p, user) else "hidden",
    )
    for i, p in enumerate(PAGES)
]


def _to_default_page() -> None:
    """`/vue_ensemble` (a bookmark, or a link of the pages/ fallback menu): the default page lives
    at `/`; without this hidden alias Streamlit would show an English « Page not found » box."""
    st.switch_page(pages[0], query_params=st.query_params.to_dict())


alias = st.Page(_to_default_page, title=PAGES[0].title, url_path=PAGES[0].url_path, visibility="hidden")
with entrypoint():
    st.navigation([*pages, alias]).run()
