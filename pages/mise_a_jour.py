"""« Mise à jour des données » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Mise à jour des données")
ui.page_header("Mise à jour des données", ctx)
st.info(
    "Cet écran est en préparation. Il présentera l'import de fichiers CSV et Excel avec rapport de validation, différences, validation et retour arrière. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
