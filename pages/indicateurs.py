"""« Indicateurs » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Indicateurs")
ui.page_header("Indicateurs", ctx)
st.info(
    "Cet écran est en préparation. Il présentera les trajectoires des indicateurs par rapport à leur valeur de référence et à leur cible, et l'écart entre chaque QPV et son territoire de référence. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
