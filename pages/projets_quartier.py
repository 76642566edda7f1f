"""« Projets de quartier » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Projets de quartier")
ui.page_header("Projets de quartier", ctx)
st.info(
    "Cet écran est en préparation. Il présentera où en est chaque projet de quartier : objectifs, actions et indicateurs, avec un statut calculé selon une règle affichée, et une carte des QPV. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
