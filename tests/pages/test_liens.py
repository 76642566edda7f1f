"""Every parameter of a shared link is checked: a bad value is ignored with a French toast that
names the parameter, shows the value as text and says what is expected and what is shown
instead; the page shows its default, never a traceback."""

from __future__ import annotations

from datetime import date

import pytest

from cdv_core import fmt, links
from tests.conftest import DEMO_AU, run_app

FIRST, LAST = date(2023, 1, 1), date(2030, 12, 31)  # the demo contracts run 2024-2030


# --- the core ----------------------------------------------------------------------------------


def test_bounds_of_donnees_au():
    assert links.donnees_au_bounds([date(2024, 1, 1), date(2024, 7, 1)], [date(2030, 12, 31)], DEMO_AU) == (FIRST, LAST)
    assert links.donnees_au_bounds([], [], date(2026, 5, 1)) == (date(2025, 1, 1), date(2030, 12, 31))
    # contracts ending later than this generation: 31/12/2030; a store dated outside: its own date
    assert links.donnees_au_bounds([date(2024, 1, 1)], [date(2040, 1, 1)], date(2031, 3, 1)) == (
        FIRST,
        date(2031, 3, 1),
    )


@pytest.mark.parametrize(
    "value",
    ["0001-01-01", "2022-12-31", "2031-01-01", "demain", "2026-02-30", "20260630", "2026-6-3", "+2026-06-30", "", None],
)
def test_a_bad_or_absent_date_gives_the_default(value):
    found, message = links.day("au", value, first=FIRST, last=LAST, default=DEMO_AU)
    assert found == DEMO_AU
    assert (message is None) == (not value)
    if value:
        assert message == (
            f"Paramètre « au » invalide ({fmt.md(value)}) : une date entre le 01/01/2023 et le 31/12/2030 est "
            f"attendue, écrite AAAA-MM-JJ ; affichage au {fmt.day(DEMO_AU)}."
        )


def test_a_good_date_is_taken():
    assert links.day("au", "2026-06-30", first=FIRST, last=LAST, default=DEMO_AU) == (date(2026, 6, 30), None)
    assert links.day("au", "2023-01-01", first=FIRST, last=LAST, default=DEMO_AU) == (FIRST, None)


def test_contract_choice_and_choices():
    codes = ["CV-A", "CV-B"]
    assert links.contract("CV-A", codes, everything="tous vos contrats") == ("CV-A", None)
    assert links.contract("tous", codes, everything="tous vos contrats") == (None, None)
    assert links.contract(None, codes, everything="tous vos contrats") == (None, None)
    assert links.contract("CV-Z", codes, everything="tous vos contrats") == (
        None,
        f"Paramètre « contrat » invalide ({fmt.md('CV-Z')}) : un code de contrat de votre périmètre, "
        "ou « tous », est attendu ; "
        "affichage de tous vos contrats.",
    )
    years = ["tous", "2024", "2025"]
    assert links.choice("fin_annee", "2025", years, default="2024", instead="de l'exercice 2024") == ("2025", None)
    assert links.choice("fin_annee", None, years, default="2024", instead="de l'exercice 2024") == ("2024", None)
    assert links.choice("fin_annee", "1850", years, default="2024", instead="de l'exercice 2024") == (
        "2024",
        "Paramètre « fin_annee » invalide (1850) : une valeur parmi tous, 2024, 2025 est attendue ; "
        "affichage de l'exercice 2024.",
    )
    assert links.choices("fin_fin", ["CAF", "Martiens"], ["CAF", "État"]) == (
        ["CAF"],
        "Paramètre « fin_fin » : valeur ignorée (Martiens) ; valeurs possibles : CAF, État.",
    )
    assert links.choices("fin_fin", ["CAF"], ["CAF", "État"]) == (["CAF"], None)


def test_a_bad_value_is_shown_as_short_plain_text():
    long = "x" * 100
    message = links.known("qpv", long + "\x1b[31m", ["Q1"], expected="un code de QPV", instead="du premier")[1]
    assert "x" * links.MAX_SHOWN + "…" in message and "x" * (links.MAX_SHOWN + 1) not in message
    assert "\x1b" not in message
    link = links.contract("[Session expirée](https://x.example)", ["CV-A"], everything="tous vos contrats")[1]
    assert fmt.md("[Session expirée](https://x.example)") in link  # text, never a link (fmt.md)
    assert "[Session expirée](https" not in link
    assert links.known("qpv", "Q1", ["Q1"], expected="un code de QPV", instead="du premier") == ("Q1", None)
    assert links.known("qpv", None, ["Q1"], expected="un code de QPV", instead="du premier") == (None, None)


# --- the pages ---------------------------------------------------------------------------------


def _toasts(at) -> list[str]:
    return [t.value for t in at.toast]


@pytest.mark.parametrize("au", ["0001-01-01", "9999-12-31", "n'importe quoi"])
def test_a_bad_au_in_the_link_is_a_french_toast_and_the_default_date(app_env, au):
    at = run_app(query={"au": au})
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.date_input(key="sidebar_donnees_au").value == DEMO_AU
    assert _toasts(at) == [
        f"Paramètre « au » invalide ({fmt.md(au)}) : une date entre le 01/01/2023 et le 31/12/2030 est "
        f"attendue, écrite AAAA-MM-JJ ; affichage au {fmt.day(DEMO_AU)}."
    ]
    assert at.query_params["au"] in (DEMO_AU.isoformat(), [DEMO_AU.isoformat()])  # the link now says what is shown


def test_a_good_link_gives_no_toast(app_env):
    at = run_app(query={"contrat": "CV-DEMO-BRE", "au": "2024-03-01"})
    assert not at.exception
    assert _toasts(at) == []
    assert at.sidebar.date_input(key="sidebar_donnees_au").value == date(2024, 3, 1)


def test_an_unknown_contract_in_the_link_is_a_toast_and_all_contracts(app_env):
    at = run_app(query={"contrat": "CV-INCONNU"})
    assert not at.exception
    assert at.selectbox(key="sidebar_contrat").value == "__tous__"
    assert _toasts(at) == [
        f"Paramètre « contrat » invalide ({fmt.md('CV-INCONNU')}) : un code de contrat de votre périmètre, "
        "ou « tous », est attendu ; affichage de tous les contrats."
    ]


def test_a_bad_qpv_in_the_link_is_a_toast_and_the_first_quartier(app_env):
    at = run_app("projets_quartier", query={"contrat": "CV-DEMO-VERM", "qpv": "QN06081M"})  # a QPV of another contract
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="projets_qpv_CV-DEMO-VERM").index == 0
    assert _toasts(at) == [
        "Paramètre « qpv » invalide (QN06081M) : un code de QPV de la sélection est attendu ; "
        "affichage du quartier le plus préoccupant."
    ]
    at.selectbox(key="sidebar_contrat").set_value("CV-DEMO-BRE").run()  # the link's QPV is no longer read
    assert not at.exception
    assert _toasts(at) == []


def test_bad_financements_filters_in_the_link_are_toasts_and_defaults(app_env):
    at = run_app("financements", query={"fin_annee": "1850", "fin_fin": ["CAF", "Martiens"], "fin_action": "NOPE"})
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="fin_annee").value == str(DEMO_AU.year)
    assert at.multiselect(key="fin_fin").value == ["CAF"]
    toasts = _toasts(at)
    assert len(toasts) == 3, toasts
    assert toasts[0].startswith("Paramètre « fin_fin » : valeur ignorée (Martiens) ; valeurs possibles : ")
    assert toasts[1].startswith("Paramètre « fin_annee » invalide (1850) : une valeur parmi tous, 2024, ")
    assert toasts[1].endswith(f"est attendue ; affichage de l'exercice {DEMO_AU.year}.")
    assert toasts[2] == (
        "Paramètre « fin_action » invalide (NOPE) : un code d'action de la sélection est attendu ; "
        "affichage de la première action de la liste."
    )
    assert at.selectbox(key="fin_action").index == 0
