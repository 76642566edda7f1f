"""« Acteurs et ingénierie » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Acteurs et ingénierie")
ui.page_header("Acteurs et ingénierie", ctx)
st.info(
    "Cet écran est en préparation. Il présentera le système d'acteurs des quartiers et l'équipe qui fait vivre le contrat. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
