"""Entry point: `streamlit run app.py`. Declares the pages (cdv_core/ui/nav.py) to st.navigation;
each page calls ui.bootstrap() itself, so it also works when opened by deep link without app.py."""

import streamlit as st

from cdv_core.ui.context import FAVICON
from cdv_core.ui.nav import PAGES, entrypoint

# Before st.navigation: a page's Material icon would otherwise become the favicon, which the
# browser fetches from Google's font server (no outside request allowed).
st.set_page_config(page_icon=str(FAVICON), layout="wide")
pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=(i == 0))
         for i, p in enumerate(PAGES)]
with entrypoint():
    st.navigation(pages).run()
