"""Streamlit's own interface strings in French.

Streamlit 1.67 has no locale setting: its menus, tooltips, aria labels, placeholders and dialogs
are English literals in its frontend bundle. `inject()`, called by `bootstrap()`, sends on a
session's first run a small script, `francais.js`, that rewrites those strings in the browser as
they appear, from `EXACT` and `PATTERNS` below. What stays English, and why, is in
docs/deploiement.md (« Textes de Streamlit en français »).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import streamlit as st

# Streamlit's strings, whole (a text node or a title / aria-label / placeholder attribute, trimmed).
EXACT: dict[str, str] = {
    # app shell
    "Skip to main content": "Aller au contenu principal",
    "Collapse sidebar": "Replier le volet",
    "Expand sidebar": "Déplier le volet",
    "Sidebar": "Volet latéral",
    "App pages": "Pages de l'application",
    "Main menu": "Menu principal",
    "Navigate to home page": "Aller à la page d'accueil",
    "Notifications": "Notifications",
    "Close": "Fermer",
    "Cancel": "Annuler",
    "Copy": "Copier",
    "Scroll tabs left": "Onglets précédents",
    "Scroll tabs right": "Onglets suivants",
    "View more": "Voir plus",
    "View less": "Voir moins",
    "Link to heading": "Lien vers ce titre",
    "Help": "Aide",
    "Dismiss": "Fermer",
    "file upload": "Dépôt de fichier",
    "Copy Vega-Lite spec": "Copier la spécification Vega-Lite",
    "Vega visualization": "Graphique",
    # status widget (top right) and the main menu (toolbarMode = "minimal")
    "Running...": "Calcul en cours…",
    "Stop": "Arrêter",
    "Stopping...": "Arrêt…",
    "Connecting": "Connexion…",
    "Please wait...": "Veuillez patienter…",
    "Rerun": "Actualiser",
    "Always rerun": "Toujours actualiser",
    "Settings": "Paramètres",
    "Print": "Imprimer",
    "Record a screencast": "Enregistrer l'écran",
    "Clear cache": "Vider le cache",
    "Clear caches": "Vider les caches",
    "About": "À propos",
    "Deploy": "Déployer",
    "Get help": "Aide",
    "Report a bug": "Signaler un problème",
    "Developer options": "Options de développement",
    "Theme": "Thème",
    "Light": "Clair",
    "Dark": "Sombre",
    "System": "Système",
    "Use system setting": "Réglage du système",
    # dialogs
    "Page not found": "Page introuvable",
    "The page that you have requested does not seem to exist. Running the app's main page.": (
        "Cette page n'existe pas : voici la page d'accueil."
    ),
    "Connection error": "Connexion perdue",
    "Streamlit server is not responding. Are you connected to the internet?": (
        "Le serveur de l'application ne répond pas. Vérifiez votre connexion au réseau, puis rechargez la page."
    ),
    "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in your terminal:": (
        "Le serveur de l'application ne répond pas. S'il a été arrêté, relancez-le depuis un terminal :"
    ),
    "streamlit run yourscript.py": "streamlit run app.py",
    "Connection timed out.": "Délai de connexion dépassé.",
    "Unknown error": "Erreur inconnue",
    "Unknown Error": "Erreur inconnue",
    "Network error": "Erreur réseau",
    "Script execution error": "Erreur d'exécution",
    "Try again": "Réessayer",
    # forms and text inputs
    "Press Enter to submit form": "Entrée pour valider le formulaire",
    "Press Enter to apply": "Entrée pour valider",
    "Press Ctrl+Enter to submit form": "Ctrl+Entrée pour valider le formulaire",
    "Press Ctrl+Enter to apply": "Ctrl+Entrée pour valider",
    "Press ⌘+Enter to submit form": "⌘+Entrée pour valider le formulaire",
    "Press ⌘+Enter to apply": "⌘+Entrée pour valider",
    "Increment": "Augmenter",
    "Decrement": "Diminuer",
    "Clear value": "Effacer",
    "Show password text": "Afficher le mot de passe",
    "Hide password text": "Masquer le mot de passe",
    # selectbox, multiselect
    "Choose an option": "Choisir…",
    "Choose options": "Choisir…",
    "Choose or add an option": "Choisir ou saisir…",
    "Choose or add options": "Choisir ou saisir…",
    "No options to select": "Aucun choix possible",
    "No results": "Aucun résultat",
    "Clear all": "Tout effacer",
    "Select all": "Tout sélectionner",
    "Open": "Ouvrir",
    "Selected values": "Valeurs choisies",
    "Select...": "Choisir…",
    # date input (react-aria: its fields are en-US whatever the language; its calendar follows
    # navigator.language, which francais.js sets to French)
    "Choose date": "Choisir une date",
    "Choose date range": "Choisir une période",
    "Clear date": "Effacer la date",
    "Clear dates": "Effacer les dates",
    "Date range": "Période",
    "Quick select a date range": "Choisir une période",
    "Use arrow keys to navigate dates. Enter to select. Escape to close.": (
        "Flèches pour changer de jour, Entrée pour choisir, Échap pour fermer."
    ),
    "Previous month": "Mois précédent",
    "Next month": "Mois suivant",
    "Previous": "Précédent",
    "Next": "Suivant",
    "dd": "jj",
    "yyyy": "aaaa",
    "DD/MM/YYYY": "JJ/MM/AAAA",
    "dd/mm/yyyy": "jj/mm/aaaa",
    "dd / mm / yyyy": "jj / mm / aaaa",
    # file uploader
    "Drag and drop file here": "Glissez un fichier ici",
    "Drag and drop a file here": "Glissez un fichier ici",
    "Drag and drop files here": "Glissez des fichiers ici",
    "Browse files": "Parcourir",
    "Upload": "Parcourir",
    "Add files": "Ajouter des fichiers",
    "Delete": "Supprimer",
    "Remove file": "Retirer le fichier",
    "Error uploading file": "Échec de l'envoi du fichier",
    "Error deleting file": "Échec de la suppression du fichier",
    "Upload failed": "Échec de l'envoi",
    "Click to retry upload": "Cliquer pour réessayer l'envoi",
    # tables (st.dataframe) and charts
    "Search": "Rechercher",
    "Close Search": "Fermer la recherche",
    "Next Result": "Résultat suivant",
    "Previous Result": "Résultat précédent",
    "Download as CSV": "Télécharger en CSV",
    "Fullscreen": "Plein écran",
    "Close fullscreen": "Quitter le plein écran",
    "View fullscreen": "Plein écran",
    "Exit fullscreen": "Quitter le plein écran",
    "Toggle fullscreen": "Plein écran",
    "Show/hide columns": "Afficher ou masquer des colonnes",
    "Clear selection": "Effacer la sélection",
    "Dataframe column menu": "Menu de la colonne",
    "Sort ascending": "Tri croissant",
    "Sort descending": "Tri décroissant",
    "Pin column": "Épingler la colonne",
    "Unpin column": "Détacher la colonne",
    "Hide column": "Masquer la colonne",
    "Autosize": "Largeur automatique",
    "Format": "Format",
    "Copy column name": "Copier le nom de la colonne",
    "No data": "Aucune donnée",
    "empty": "vide",
    "Add row": "Ajouter une ligne",
    "Delete row(s)": "Supprimer la ou les lignes",
    "Show data": "Voir les données",
    "Show chart": "Voir le graphique",
    "Download as PNG": "Télécharger en PNG",
    "Copied!": "Copié !",
    "Copied": "Copié",
    "Copy to clipboard": "Copier",
    "Save as SVG": "Enregistrer en SVG",
    "Save as PNG": "Enregistrer en PNG",
    "View Source": "Voir la source",
    "View Compiled Vega": "Voir le Vega compilé",
    "Open in Vega Editor": "Ouvrir dans l'éditeur Vega",
    "Click to view actions": "Actions",
    # st.status, st.expander, st.toast, st.metric, st.tabs
    "Expander": "Section dépliable",
    "Collapsed": "Replié",
    "Expanded": "Déplié",
    "Complete": "Terminé",
    "Error": "Erreur",
}

# Anchored patterns, in a syntax that JavaScript and Python's `re` read alike; `$1`… in the
# replacement are the groups. Sizes as Streamlit's file uploader writes them: a file's with one
# decimal (« 359.0B », « 1.2MB », and « essai.csv, 359.0B » in the chip's label), the limit
# without (« 200MB per file »).
_UNITS = (("B", "o"), ("KB", "ko"), ("MB", "Mo"), ("GB", "Go"))
# (English head, its number of groups, French head) of Vega's descriptions of axes and legends
_VEGA_PARTS = (
    (r"([XY])-axis titled '(.*\S.*)' for a \w+ scale", 2, "Axe $1 « $2 »"),
    (r"([XY])-axis (?:titled ' *' )?for a \w+ scale", 1, "Axe $1"),
    (r"\w* ?legend titled '(.*\S.*)' for [\w ,]+", 1, "Légende « $1 »"),
    (r"\w* ?legend (?:titled ' *' )?for [\w ,]+", 0, "Légende"),
)
PATTERNS: tuple[tuple[str, str], ...] = (
    *((rf"(^|, )(\d+)\.0{en}$", f"$1$2\u00a0{fr}") for en, fr in _UNITS),
    *((rf"(^|, )(\d+)\.(\d){en}$", f"$1$2,$3\u00a0{fr}") for en, fr in _UNITS),
    *((rf"^(\d+){en} per file$", f"$1\u00a0{fr} par fichier") for en, fr in _UNITS),
    (
        r"^You have requested page /(.*), but no corresponding file was found in the app's pages/ directory\. "
        r"Running the app's main page\.$",
        "La page « /$1 » n'existe pas : voici la page d'accueil.",
    ),
    (r"^Remove (.+)$", "Retirer « $1 »"),
    (r"^Cancel upload of (.+)$", "Annuler l'envoi de « $1 »"),
    (r"^Help for (.+)$", "Aide : $1"),
    (r"^[a-z0-9_]+ icon$", "icône"),
    (r"^(\d+) options? available\.$", "$1 choix possibles."),
    # a date input's parts (react-aria, in English whatever the browser's language) and range ends
    (r"^day, (.+)$", "jour, $1"),
    (r"^month, (.+)$", "mois, $1"),
    (r"^year, (.+)$", "année, $1"),
    (r"^Choose date, (.+)$", "Choisir une date, $1"),  # the calendar, with its month
    (r"^Choose date range, (.+)$", "Choisir une période, $1"),
    (r"^(.+) start date$", "$1, début"),
    (r"^(.+) end date$", "$1, fin"),
    (r"^(.+) — start$", "$1 — début"),
    (r"^(.+) — end$", "$1 — fin"),
    # the descriptions Vega gives its charts for screen readers (aria-label of the SVG parts)
    *(
        (rf"^{what} with \d+ (?:values?|boundar(?:y|ies)): (.*), ending with (.*)$", f"{fr} : ${n + 1}, …, ${n + 2}")
        for what, n, fr in _VEGA_PARTS
    ),
    *((rf"^{what} with \d+ (?:values?|boundar(?:y|ies)): (.*)$", f"{fr} : ${n + 1}") for what, n, fr in _VEGA_PARTS),
    *((rf"^{what} with values from (.+) to (.+)$", f"{fr}, de ${n + 1} à ${n + 2}") for what, n, fr in _VEGA_PARTS),
    (r"^Title text '(.*)'$", "Titre « $1 »"),
    (r"^Subtitle text '(.*)'$", "Sous-titre « $1 »"),
)

# Pieces of Streamlit's English that must never be on screen, inside any text or attribute
# (tests/e2e/test_francais.py; a whole string known above, or matching a pattern, is caught too).
ENGLISH_MARKERS: tuple[str, ...] = (
    "Press Enter",
    "Press Ctrl",
    "Press ⌘",
    "per file",
    "Drag and drop",
    "Browse files",
    "Page not found",
    "Are you connected",
    "Running the app",
    "Download as",
    "ullscreen",
    "Help for",
    "-axis ",
    " legend ",
    "Title text",
    "options available",
    "start date",
    "end date",
    "Skip to main",
    "Choose an option",
    "Clear all",
    "No results",
    "Select all",
    "Copy to clipboard",
    "Rerun",
    "Clear cache",
    "Record a screencast",
    "dd / mm",
    "yyyy",
    "YYYY",
)


def translate(text: str) -> str | None:
    """The French for one of Streamlit's strings (whole, surrounding white space kept), else None —
    the same rule as francais.js, for tests."""
    core = text.strip()
    if not core or len(core) > 1000:
        return None
    french = EXACT.get(core)
    if french is None:  # one pass, each pattern at most once, on the text as the previous ones left it
        french = core
        for pattern, replacement in PATTERNS:
            if re.search(pattern, french):
                french = re.sub(pattern, re.sub(r"\$(\d)", r"\\\1", replacement), french)
    if french == core:
        return None
    start = text.index(core)
    return text[:start] + french + text[start + len(core) :]


@functools.cache
def _script() -> str:
    data = json.dumps({"exact": EXACT, "patterns": PATTERNS}, ensure_ascii=False, separators=(",", ":"))
    source = Path(__file__).with_name("francais.js").read_text(encoding="utf-8")
    # comment lines are for readers of the file, not for every page run's payload
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    # "</" cannot close the <script> element early: JSON allows the escaped form "<\/".
    return source.replace("/*CDV_FR_DATA*/ null", data.replace("</", "<\\/"))


_KEY = "cdv_francais"
# The element holding the script takes no room: its keyed container (.st-key-…) is hidden, and so
# is the wrapper around it, which would otherwise leave a gap of the main column above the title.
_HIDE = f"<style>.st-key-{_KEY}, [data-testid='stLayoutWrapper']:has(> .st-key-{_KEY}) {{ display: none; }}</style>"


_SENT = "francais_envoye"  # session key: the script went to this session's browser tab


def inject() -> None:
    """Install the translating script in the browser's document, on a session's first run: it
    lives as long as the document does, across reruns and page changes (st.navigation keeps the
    document), so later runs do not send its ~12 KB again. A reload is a new session, and the
    script guards against installing itself twice."""
    if st.session_state.get(_SENT):
        return
    st.session_state[_SENT] = True
    with st.container(key=_KEY):
        st.html(f"{_HIDE}<script>{_script()}</script>", unsafe_allow_javascript=True)
