"""« Séance et exports » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Séance et exports")
ui.page_header("Séance et exports", ctx)
st.info(
    "Cet écran est en préparation. Il présentera le mode séance pour le comité de pilotage et les exports PowerPoint, PDF et Excel. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
