"""Entry point: `streamlit run app.py`. Declares the pages; each page calls ui.bootstrap() itself,
which also draws the sidebar navigation (see cdv_core/ui/nav.py)."""

import streamlit as st

from cdv_core.ui.nav import PAGES

pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=(i == 0))
         for i, p in enumerate(PAGES)]
st.navigation(pages, position="hidden").run()
