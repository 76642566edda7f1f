"""« Gouvernance » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Gouvernance")
ui.page_header("Gouvernance", ctx)
st.info(
    "Cet écran est en préparation. Il présentera la cadence de chaque instance, la participation des habitants et le suivi des décisions. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
