"""AppTest of validated figures: « Valider les chiffres présentés » after a séance and the
« Chiffres validés » view (Séance et exports), and the import confirmation on « Mise à jour
des données »."""

from __future__ import annotations

import time

from cdv_core import access, fmt, seance, settings, store, validation
from tests.conftest import DEMO_AU, ROOT, run_app

CONTRAT = "CV-DEMO-BRE"
LOCAL = access.local_user("test")
HEADER = "Code dossier;Libellé de l'action;Code SIRET;Raison sociale;Montant engagé;Exercice;Code contrat ville;Thème"


def _frame_with(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _validations(path):
    con = store.connect(path)
    try:
        return validation.validations(con.cursor(), contrat=None)
    finally:
        con.close()


def test_closing_a_seance_then_validating_its_figures(app_env):
    at = run_app("seance")
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    at.multiselect(key="seance_agenda").set_value(["vue_ensemble", "gouvernance"]).run()
    at.button(key="seance_start").click().run()
    shown = {m.label: m.value for m in at.metric}
    at.button(key="seance_close").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = at.text_input(key="seance_val_libelle").value
    assert text.startswith("Séance du ") and " — " in text
    at.button(key="seance_val_ok").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Chiffres validés (validation n° 1" in s.value for s in at.success)
    assert not [b for b in at.button if b.key == "seance_val_ok"]  # validated once: the form is gone
    done = _validations(app_env).row(0, named=True)
    assert (done["code_contrat"], done["libelle"], done["periode"]) == (CONTRAT, text, str(DEMO_AU.year))
    con = store.connect(app_env)
    try:  # linked to the meeting the séance recorded
        assert (
            store.scalar(
                con,
                "SELECT r.statut FROM reunion r JOIN instance i USING (code_instance) "
                "WHERE r.id_reunion = $r AND i.code_contrat = $c",
                {"r": done["id_reunion"], "c": CONTRAT},
            )
            == "tenue"
        )
    finally:
        con.close()
    # the « Chiffres validés » tab: the validation, and each figure as shown beside today's
    listing = _frame_with(at, "Ce qui a été validé")
    assert listing["Ce qui a été validé"].to_list() == [text]
    compared = _frame_with(at, "Valeur validée")
    first_page = compared.head(len(shown))
    assert dict(zip(first_page["Chiffre"], first_page["Valeur validée"])) == shown
    assert (compared["Valeur validée"] == compared["Valeur actuelle"]).all()
    assert set(compared["Écart"]) == {""}
    assert any("Aucun chiffre n'a changé" in s.value for s in at.success)


def test_an_import_over_validated_figures_asks_for_confirmation(app_env):
    con = store.connect(app_env)
    try:
        cur = con.cursor()
        year = DEMO_AU.year
        scope = seance.Scope(CONTRAT, DEMO_AU, settings.Settings(), None)
        validation.validate(
            con,
            user=access.local_user("Claire Chef"),
            code_contrat=CONTRAT,
            annees=(year, year),
            sections=seance.build_agenda(cur, ("vue_ensemble",), scope),
            libelle="Séance du 12/03/2026 — COPIL",
            scope=scope,
        )
        code = cur.execute(
            "SELECT f.code_action FROM financement f JOIN action a USING (code_action) "
            "WHERE a.code_contrat = $c AND f.annee = $y AND a.annee_debut = $y AND a.annee_fin = $y "
            "AND f.financeur = 'État P147' ORDER BY 1 LIMIT 1",
            {"c": CONTRAT, "y": year},
        ).fetchall()[0][0]
    finally:
        con.close()
    at = run_app("mise_a_jour")
    row = f"{code};Action test;77554402601284;Centre social;1 000,00;{year};{CONTRAT};1.1"
    at.file_uploader[0].set_value(("programmation.csv", f"{HEADER}\n{row}\n".encode(), "text/csv")).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any(
        "Cet import modifie des chiffres validés le " in w
        and fmt.md("par Claire Chef (Séance du 12/03/2026 — COPIL") in w
        for w in warnings
    ), warnings  # names and labels shown as text
    assert at.button(key="maj_valider").disabled  # confirmation first
    at.checkbox(key="maj_confirmer_valides").check().run()
    assert not at.button(key="maj_valider").disabled
    at.button(key="maj_valider").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Import n° 1 validé" in s.value for s in at.success)
    con = store.connect(app_env)
    try:
        assert (
            store.scalar(
                con,
                "SELECT montant_accorde FROM financement WHERE code_action = $a AND annee = $y "
                "AND financeur = 'État P147'",
                {"a": code, "y": year},
            )
            == 1000
        )
        changed = validation.compare(con.cursor(), 1, settings=settings.Settings()).filter("modifie")
    finally:
        con.close()
    assert f"Montant accordé {year}" in changed["libelle"].to_list()
    # its rollback changes them back: confirmed the same way
    at.checkbox(key="maj_annuler_ok").check().run()
    assert any(w.value.startswith("Annuler cet import modifie des chiffres validés le ") for w in at.warning)
    assert at.button(key="maj_annuler").disabled
    at.checkbox(key="maj_annuler_valides").check().run()
    at.button(key="maj_annuler").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Import n° 1 annulé" in s.value for s in at.success)


def _as(app_env, monkeypatch, email: str, role: str, *, validated: bool = False):
    """The séance page, contract selected, for a logged-in account of that role (oidc)."""
    con = store.connect(app_env)
    try:
        access.add_user(con, user=LOCAL, email=email, role=role, contrats=[CONTRAT])
        if validated:
            scope = seance.Scope(CONTRAT, DEMO_AU, settings.Settings(), None)
            validation.validate(
                con,
                user=LOCAL,
                code_contrat=CONTRAT,
                annees=(DEMO_AU.year, DEMO_AU.year),
                sections=seance.build_agenda(con.cursor(), ("vue_ensemble",), scope),
                libelle="Séance du 12/03/2026 — COPIL",
                scope=scope,
            )
    finally:
        con.close()
    monkeypatch.setenv("CDV_AUTH", "oidc")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.user = {"is_logged_in": True, "email": email, "exp": time.time() + 3600}
    at.secrets = {
        "auth": {
            "redirect_uri": "http://localhost:8501/oauth2callback",
            "cookie_secret": "x" * 32,
            "client_id": "cdv",
            "client_secret": "secret",
            "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
        }
    }
    at.run()
    at.switch_page("pages/seance.py").run()
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_partenaire_sees_the_list_of_validations_not_their_unmasked_values(app_env, monkeypatch):
    at = _as(app_env, monkeypatch, "partenaire@caf.fr", "partenaire", validated=True)
    listing = _frame_with(at, "Ce qui a été validé")
    assert listing["Ce qui a été validé"].to_list() == ["Séance du 12/03/2026 — COPIL"]
    assert "Validé par" not in listing.columns
    assert not [d for d in at.dataframe if "Valeur validée" in d.value.columns]
    # a lecteur of the same contract sees the values
    at = _as(app_env, monkeypatch, "lecteur@ville.fr", "lecteur")
    assert "Validé par" in _frame_with(at, "Ce qui a été validé").columns
    assert len(_frame_with(at, "Valeur validée")) > 0


def test_a_lecteur_is_offered_no_validation(app_env, monkeypatch):
    at = _as(app_env, monkeypatch, "lecteur@ville.fr", "lecteur")
    assert at.tabs[2].label == "Chiffres validés"
    assert not [b for b in at.button if b.key in ("seance_val_ok", "export_val_ok")]
    assert not [e for e in at.expander if "Valider ces chiffres" in e.label]


def test_command_line_import_needs_the_confirmation_option(app_env, tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("CDV_AUTH", "aucune")
    con = store.connect(app_env)
    try:
        cur = con.cursor()
        year = DEMO_AU.year
        scope = seance.Scope(CONTRAT, DEMO_AU, settings.Settings(), None)
        validation.validate(
            con,
            user=LOCAL,
            code_contrat=CONTRAT,
            annees=(year, year),
            sections=seance.build_agenda(cur, ("vue_ensemble",), scope),
            libelle="Rapport annuel",
            scope=scope,
        )
        code = cur.execute(
            "SELECT f.code_action FROM financement f JOIN action a USING (code_action) "
            "WHERE a.code_contrat = $c AND f.annee = $y AND f.financeur = 'État P147' ORDER BY 1 LIMIT 1",
            {"c": CONTRAT, "y": year},
        ).fetchall()[0][0]
    finally:
        con.close()
    path = tmp_path / "programmation.csv"
    path.write_text(f"{HEADER}\n{code};Action test;77554402601284;Centre social;1 000,00;{year};{CONTRAT};1.1\n")

    def run(*options):
        return subprocess.run(
            [sys.executable, "-m", "cdv_core", "import", str(path), "--store", str(app_env), *options],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    dry = run("--dry-run")
    assert dry.returncode == 0 and "Cet import modifie des chiffres validés le " in dry.stdout
    refused = run()
    assert refused.returncode == 1 and "--confirmer-chiffres-valides" in refused.stdout
    assert "Rien n'a été modifié" in refused.stdout
    done = run("--confirmer-chiffres-valides")
    assert done.returncode == 0 and "Import n° 1 validé" in done.stdout, done.stdout + done.stderr
