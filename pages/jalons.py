"""« Jalons et actualisation 2027 » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Jalons et actualisation 2027")
ui.page_header("Jalons et actualisation 2027", ctx)
st.info(
    "Cet écran est en préparation. Il présentera la frise 2024-2030, le rapport annuel et la liste de contrôle de préparation de l'actualisation 2027. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
