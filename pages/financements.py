"""« Actions et financements » — placeholder until the screen is built."""

import streamlit as st

from cdv_core import ui

ctx = ui.bootstrap("Actions et financements")
ui.page_header("Actions et financements", ctx)
st.info(
    "Cet écran est en préparation. Il présentera la programmation par exercice, thématique, financeur et quartier : du montant demandé au montant versé, part des CPO, crédits spécifiques et droit commun. "
    "Aucun chiffre n'est affiché ici tant qu'il n'est pas calculé à partir des données.",
    icon=":material/construction:",
)
