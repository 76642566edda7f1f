"""Entry point: `streamlit run app.py`. Declares the pages; each page calls ui.bootstrap() itself."""

import streamlit as st

PAGES = [
    st.Page("pages/vue_ensemble.py", title="Vue d'ensemble", icon=":material/dashboard:", url_path="vue_ensemble", default=True),
    st.Page("pages/projets_quartier.py", title="Projets de quartier", icon=":material/holiday_village:", url_path="projets_quartier"),
    st.Page("pages/financements.py", title="Actions et financements", icon=":material/euro:", url_path="financements"),
    st.Page("pages/indicateurs.py", title="Indicateurs", icon=":material/monitoring:", url_path="indicateurs"),
    st.Page("pages/gouvernance.py", title="Gouvernance", icon=":material/groups:", url_path="gouvernance"),
    st.Page("pages/jalons.py", title="Jalons et actualisation 2027", icon=":material/flag:", url_path="jalons"),
    st.Page("pages/mise_a_jour.py", title="Mise à jour des données", icon=":material/upload_file:", url_path="mise_a_jour"),
    st.Page("pages/acteurs.py", title="Acteurs et ingénierie", icon=":material/diversity_3:", url_path="acteurs"),
    st.Page("pages/seance.py", title="Séance et exports", icon=":material/co_present:", url_path="seance"),
]

st.navigation(PAGES).run()
