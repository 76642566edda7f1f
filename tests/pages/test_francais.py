"""Streamlit's own strings in French (cdv_core/ui/francais.py): the rule the browser script applies,
and the script as sent. tests/e2e/test_francais.py checks the pages and the same rule in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cdv_core.ui import francais

SAMPLES = {
    "Search": "Rechercher",
    "  Download as CSV ": "  Télécharger en CSV ",
    "Press Enter to submit form": "Entrée pour valider le formulaire",
    "359.0B": "359\u00a0o",
    "1.2MB": "1,2\u00a0Mo",
    "12.0KB": "12\u00a0ko",
    "200MB per file": "200\u00a0Mo par fichier",
    "essai.csv, 2.5KB": "essai.csv, 2,5\u00a0ko",
    "Remove essai.csv": "Retirer « essai.csv »",
    "Help for Données au": "Aide : Données au",
    "day, Période start date": "jour, Période, début",
    "Choose date, novembre 2026": "Choisir une date, novembre 2026",
    "dd": "jj",
    "X-axis titled 'Acteurs' for a linear scale with values from 0 to 40": "Axe X « Acteurs », de 0 à 40",
    "Y-axis for a discrete scale with 13 values: a, b, ending with z": "Axe Y : a, b, …, z",
    "Symbol legend titled ' ' for fill color with 2 values: Accordé, Versé": "Légende : Accordé, Versé",
    "Symbol legend titled 'Mode' for fill color with 2 values: CPO, annuel": "Légende « Mode » : CPO, annuel",
    "Title text 'Taux de chômage'": "Titre « Taux de chômage »",
    "You have requested page /x, but no corresponding file was found in the app's pages/ directory. "
    "Running the app's main page.": "La page « /x » n'existe pas : voici la page d'accueil.",
}


@pytest.mark.parametrize(("english", "french"), SAMPLES.items())
def test_streamlit_strings_are_translated(english, french):
    assert francais.translate(english) == french


@pytest.mark.parametrize(
    "text",
    [
        "Vue d'ensemble",
        "Search engine",
        "359.0 B",
        "",
        "  ",
        "Helpful",
        "Montant (€)",
        "12 rue des Lilas, 15B",
        "QN02123B",
    ],
)
def test_other_text_is_left_alone(text):
    assert francais.translate(text) is None


def test_a_translation_is_never_translated_again():
    """No loop in the browser: what the script writes is no key, and matches no pattern."""
    produced = [*francais.EXACT.values(), *SAMPLES.values()]
    assert [t for t in produced if francais.translate(t) is not None] == []


def test_patterns_are_anchored_and_read_alike_in_javascript():
    for pattern, replacement in francais.PATTERNS:
        re.compile(pattern)
        assert pattern.endswith("$"), pattern  # a whole string, never a piece of the app's text
        assert "(?P" not in pattern and "(?<" not in pattern, pattern  # groups numbered alike in both
        assert not re.search(r"\\[0-9]", replacement), replacement  # $1, not \1


def test_the_script_carries_the_table_and_asks_nothing_from_outside():
    script = francais._script()
    assert "/*CDV_FR_DATA*/" not in script and '"Download as CSV":"Télécharger en CSV"' in script
    assert "</" not in script  # cannot close its <script> element early
    assert not re.search(r"https?:|fetch\(|XMLHttpRequest|import\(", script)
    assert len(script.encode()) < 16_000  # sent once per session


@pytest.mark.parametrize("query", [{"contrat": "CV-DEMO-VERM"}, {}], ids=["un contrat", "tous"])
def test_no_table_writes_none_in_an_empty_cell(app_env, query):
    """Streamlit draws an empty cell « None » on its canvas, out of the script's reach: a table whose
    cells can be empty passes `placeholder` to st.dataframe (or fills its empty cells)."""
    from cdv_core.ui.nav import PAGES
    from tests.conftest import run_app

    bare = []
    for spec in PAGES:
        at = run_app(Path(spec.path).stem, query=query, timeout=60)
        assert not at.exception, [e.value for e in at.exception]
        for table in at.dataframe:
            frame = table.value
            empty = [c for c in frame.columns if frame[c].isna().any()]
            if empty and not table.proto.placeholder:
                bare.append((spec.title, table.proto.id, empty))
    assert not bare, bare
