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
    bad = b"code_action;financeur;annee;montant_accorde\nA-CV-DEMO-BRE-2024-000001;CAF;2024;-5\nA-NOPE;CAF;2024;abc\n"
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


def test_the_templates_are_built_on_click_and_are_the_templates(app_env, deferred):
    """The « Modèle CSV / Excel » buttons make their file when clicked (not at every run of the page),
    for the kind chosen at that run."""
    import io

    import openpyxl

    from cdv_core.ingest import templates

    at = run_app("mise_a_jour")
    for kind in ("actions", "financements"):
        at.selectbox(key="maj_modele").set_value(kind).run()
        assert not at.exception
        buttons = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
        assert buttons["maj_modele_csv"].proto.deferred_file_id  # a callable: nothing built yet
        assert deferred(buttons["maj_modele_csv"]) == templates.template_csv(kind)
        sheet = openpyxl.load_workbook(io.BytesIO(deferred(buttons["maj_modele_xlsx"]))).worksheets[0]
        header = [c.value for c in next(sheet.iter_rows(max_row=1))]
        assert header == templates.template_csv(kind).decode("utf-8-sig").splitlines()[0].split(";")


def test_current_data_in_the_template_format_reimports_as_no_change(app_env, deferred):
    """« Données actuelles » of the selected contract: the template's columns, that contract's rows,
    and the file, imported back as is, changes nothing (CSV and Excel)."""
    from cdv_core.ingest import templates

    at = run_app("mise_a_jour", query={"contrat": "CV-DEMO-BRE"})
    at.selectbox(key="maj_modele").set_value("actions").run()
    assert not at.exception
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
    assert buttons["maj_donnees_csv"].proto.label == "Données actuelles (CSV)"
    assert buttons["maj_donnees_xlsx"].proto.label == "Données actuelles (Excel)"
    assert "format du modèle" in buttons["maj_donnees_csv"].proto.help
    expected = _count(app_env, "SELECT count(*) FROM action WHERE code_contrat = 'CV-DEMO-BRE'")
    assert any(f"{expected} lignes" in c.value for c in at.caption)
    data = deferred(buttons["maj_donnees_csv"])
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == templates.template_csv("actions").decode("utf-8-sig").splitlines()[0]  # the template's header
    assert len(lines) == expected + 1 and all(";CV-DEMO-BRE;" in line for line in lines[1:])
    for name, content in (("actions.csv", data), ("actions.xlsx", deferred(buttons["maj_donnees_xlsx"]))):
        at.file_uploader[0].set_value((name, content, "text/csv")).run()
        assert not at.exception
        assert {m.label: m.value for m in at.metric}["Erreurs"] == "0", name
        diff = _frame_with(at, "nouveaux")
        assert diff["nouveaux"].sum() == diff["modifiés"].sum() == diff["absents du fichier"].sum() == 0, name
    at.selectbox(key="maj_modele").set_value("programmation").run()  # a view of several kinds: no export
    assert "maj_donnees_csv" not in {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}


def test_current_data_of_all_my_contracts_is_my_perimetre_and_not_for_a_partenaire(app_env, deferred, monkeypatch):
    """« Tous mes contrats » for a lecteur of one contract: the export holds that contract's rows
    only; a partenaire (who sees only what may be published) is offered no export."""
    import time

    from streamlit.testing.v1 import AppTest

    from cdv_core import access
    from tests.conftest import ROOT
    from tests.pages.test_secret import AUTH

    con = store.connect(str(app_env))
    try:
        for email, role in (("lecteur@ville.fr", "lecteur"), ("partenaire@caf.fr", "partenaire")):
            access.add_user(con, user=access.local_user("test"), email=email, role=role, contrats=["CV-DEMO-BRE"])
    finally:
        con.close()
    monkeypatch.setenv("CDV_AUTH", "oidc")
    shown = {}
    for email in ("lecteur@ville.fr", "partenaire@caf.fr"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.user = {"is_logged_in": True, "email": email, "exp": time.time() + 3600}
        at.secrets["auth"] = AUTH
        at.query_params["contrat"] = "tous"
        at.run()
        at.switch_page("pages/mise_a_jour.py")
        at.run()
        at.selectbox(key="maj_modele").set_value("financements").run()
        assert not at.exception, at.exception
        shown[email] = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
        if email.startswith("lecteur"):
            rows = deferred(shown[email]["maj_donnees_csv"]).decode("utf-8-sig").splitlines()[1:]
            codes = {line.split(";")[0] for line in rows}
            con = store.connect(str(app_env))
            try:
                mine = {
                    r[0]
                    for r in con.execute(
                        "SELECT DISTINCT f.code_action FROM financement f JOIN action a "
                        "USING (code_action) WHERE a.code_contrat = 'CV-DEMO-BRE'"
                    ).fetchall()
                }
            finally:
                con.close()
            assert codes == mine and len(rows) == _count(
                app_env,
                "SELECT count(*) FROM financement f JOIN action a "
                "USING (code_action) WHERE a.code_contrat = 'CV-DEMO-BRE'",
            )
    assert "maj_donnees_csv" in shown["lecteur@ville.fr"]
    assert "maj_donnees_csv" not in shown["partenaire@caf.fr"] and "maj_modele_csv" in shown["partenaire@caf.fr"]


def test_current_data_too_long_for_excel_is_offered_as_csv_only(app_env, monkeypatch):
    from cdv_core.ingest import templates

    monkeypatch.setattr(templates, "XLSX_MAX_ROWS", 5)
    at = run_app("mise_a_jour", query={"contrat": "CV-DEMO-BRE"})
    at.selectbox(key="maj_modele").set_value("reunions").run()
    assert not at.exception
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b.proto for b in at.get("download_button")}
    assert not buttons["maj_donnees_csv"].disabled
    assert buttons["maj_donnees_xlsx"].disabled and "téléchargez le CSV" in buttons["maj_donnees_xlsx"].help
