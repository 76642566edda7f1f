"""AppTest of « Mise à jour des données »: upload → report → diff → commit → log → rollback."""

from __future__ import annotations

import pytest

from cdv_core import store
from cdv_core.ingest import samples
from tests.conftest import run_app

pytestmark = pytest.mark.both_backends  # every page and its writes on the file and on DuckLake

CONTRACTS = {"CV-DEMO-VERM": ["QN00281M"], "CV-DEMO-BRE": ["QN06081M"]}


def _frame_with(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _count(path, sql):
    con = store.connect(path)
    try:
        return store.scalar(con.cursor(), sql)
    finally:
        con.close()


def test_page_flow_upload_report_diff_commit_log_rollback(app_env):
    at = run_app("mise_a_jour")
    assert not at.exception
    assert at.title[0].value == "Mise à jour des données"
    data = samples.to_csv(samples.programmation(40, contracts=CONTRACTS))
    at.file_uploader[0].set_value(("programmation.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    kpis = {m.label: m.value for m in at.metric}
    assert kpis["Erreurs"] == "0" and kpis["Lignes lues"] == "40"
    assert any("Programmation" in m.value for m in at.markdown)
    diff = _frame_with(at, "nouveaux")
    assert diff.set_index("table").loc["action", "nouveaux"] == 40
    at.selectbox(key="maj_type").set_value("programmation").run()  # the user forces the type
    assert _frame_with(at, "nouveaux").set_index("table").loc["action", "nouveaux"] == 40
    at.button(key="maj_valider").click().run()
    assert not at.exception
    assert any("Import n° 1 validé" in s.value for s in at.success)
    assert any("Import n° 1 validé" in t.value for t in at.toast)  # also where the user looks (the button)
    # a forced type (or « Supprimer les absents ») is not carried over to the next file
    assert at.selectbox(key="maj_type").value == "__auto__" and at.toggle(key="maj_remplacer").value is False
    assert _count(app_env, "SELECT count(*) FROM action WHERE code_action LIKE 'D2025-%'") == 40
    assert len(at.file_uploader) == 1 and at.file_uploader[0].value is None  # uploader reset (new key)
    choice = at.selectbox(key="maj_annuler_id")
    label = choice.format_func(1)
    assert choice.value == 1 and label.startswith("Import n° 1 · ") and label.endswith(" · programmation.csv")
    at.checkbox(key="maj_annuler_ok").check().run()
    at.button(key="maj_annuler").click().run()
    assert not at.exception
    assert any("Import n° 1 annulé" in s.value for s in at.success)
    assert any("Import n° 1 annulé" in t.value for t in at.toast)
    assert _count(app_env, "SELECT count(*) FROM action WHERE code_action LIKE 'D2025-%'") == 0
    assert _count(app_env, "SELECT statut FROM import_log WHERE id_import = 1") == "annulé"


def test_page_shows_every_error_and_blocks_commit(app_env):
    at = run_app("mise_a_jour")
    bad = ("code_action;financeur;annee;montant_accorde\n"
           "A-CV-DEMO-BRE-2024-000001;CAF;2024;-5\nA-NOPE;CAF;2024;abc\n").encode()
    at.file_uploader[0].set_value(("financements.csv", bad, "text/csv"))
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Erreurs"] == "3"
    report = _frame_with(at, "problème")
    assert set(report["problème"]) == {"Montant négatif", "Valeur non numérique", "Action inconnue dans la base"}
    assert not [b for b in at.button if b.key == "maj_valider"]
    assert any("bloqué" in w.value for w in at.warning)


def test_page_insee_file_asks_for_date_and_variable_mapping(app_env):
    at = run_app("mise_a_jour")
    con = store.connect(app_env)
    code = store.scalar(con.cursor(), "SELECT code_indicateur FROM indicateur ORDER BY 1 LIMIT 1")
    con.close()
    at.file_uploader[0].set_value(("insee.csv", b"CODGEO;VAR_A\nQN00281M;12,5\n", "text/csv"))
    at.run()
    assert not at.exception
    assert "Date des valeurs non indiquée" in set(_frame_with(at, "problème")["problème"])
    from datetime import date

    at.date_input(key="maj_date").set_value(date(2022, 7, 14)).run()
    at.selectbox(key="maj_assoc_0").set_value(code).run()
    at.button(key="maj_assoc_ok").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Erreurs"] == "0"
    at.button(key="maj_valider").click().run()
    assert _count(app_env, "SELECT count(*) FROM valeur_indicateur WHERE source_fichier = 'insee.csv'") == 1


def test_a_file_over_the_configured_size_gets_a_french_message(app_env, monkeypatch):
    monkeypatch.setenv("CDV_MAX_UPLOAD_MB", "1")
    at = run_app("mise_a_jour")
    assert any("1 Mo au plus" in u.label for u in at.file_uploader)
    data = samples.to_csv(samples.programmation(8000, contracts=CONTRACTS))
    assert len(data) > 1024 * 1024
    at.file_uploader[0].set_value(("programmation.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    assert any("dépasse la taille maximale autorisée (1 Mo)" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "maj_valider"]
