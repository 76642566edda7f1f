"""What a partenaire sees (AppTest, CDV_AUTH=oidc): no name of a person, no count of people below
the threshold on gouvernance, acteurs and indicateurs — while a lecteur of the same contract sees
them; the publishable export has no name and no small count."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
import time
from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cdv_core import access, exports, seance, store
from cdv_core import settings as settings_mod
from cdv_core.access import local_user
from cdv_core.ui import projets as projets_view
from tests.conftest import ROOT

CONTRAT = "CV-DEMO-BRE"
PARTENAIRE, LECTEUR = "partenaire@caf.fr", "lecteur@ville.fr"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "secret-de-test",
    "client_id": "cdv",
    "client_secret": "s",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
SMALL = re.compile(r"^\s*([0-9]|10)\s*$")  # a count below 11 shown as such


@pytest.fixture
def accounts(app_env, monkeypatch):
    con = store.connect(str(app_env))
    try:
        for email, role in ((PARTENAIRE, "partenaire"), (LECTEUR, "lecteur")):
            access.add_user(con, user=local_user("test"), email=email, role=role, contrats=[CONTRAT])
        responsables = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT d.responsable FROM decision d JOIN reunion r USING (id_reunion) "
                "JOIN instance i USING (code_instance) WHERE i.code_contrat = $c AND d.responsable IS NOT NULL",
                {"c": CONTRAT},
            ).fetchall()
        }
    finally:
        con.close()
    monkeypatch.setenv("CDV_AUTH", "oidc")
    return responsables


def _run(email: str, page: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.user = {"is_logged_in": True, "email": email, "exp": time.time() + 3600}
    at.secrets["auth"] = AUTH
    at.query_params["contrat"] = CONTRAT
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _frames(at: AppTest) -> dict[str, pl.DataFrame]:
    return {df.proto.id or str(i): pl.from_pandas(df.value) for i, df in enumerate(at.dataframe)}


def _cells(frame: pl.DataFrame, column: str) -> list[str]:
    return [str(v) for v in frame[column].to_list()]


def test_gouvernance_decisions_without_owner_for_partenaire(accounts):
    lecteur = _run(LECTEUR, "gouvernance", gouv_goto="Décisions")
    partner = _run(PARTENAIRE, "gouvernance", gouv_goto="Décisions")

    def decisions(at):
        return next(pl.from_pandas(df.value) for df in at.dataframe if "Décision" in df.value.columns)

    seen = decisions(lecteur)
    assert "Responsable" in seen.columns and set(seen["Responsable"].drop_nulls()) & accounts
    hidden = decisions(partner)
    assert "Responsable" not in hidden.columns
    assert hidden.height == seen.height  # the same decisions, without their owner
    text = hidden.write_csv() + "".join(m.value for m in partner.markdown)
    assert not [name for name in accounts if name in text]


def test_gouvernance_small_resident_counts_masked_for_partenaire(accounts):
    column = "Habitants présents (12 mois)"
    lecteur = _run(LECTEUR, "gouvernance")
    partner = _run(PARTENAIRE, "gouvernance")

    def by_type(at):
        return next(pl.from_pandas(df.value) for df in at.dataframe if column in df.value.columns)

    raw = by_type(lecteur)[column].to_list()
    assert any(v < 11 for v in raw), "the demo contract must have small counts for this test to mean something"
    masked = _cells(by_type(partner), column)
    assert not [c for c in masked if SMALL.match(c)]
    assert masked.count("< 11") == sum(v < 11 for v in raw)
    kpi = {m.label: m.value for m in partner.metric}
    assert not SMALL.match(kpi["Habitants présents (12 derniers mois)"])
    # the shown total cannot give back a masked cell: at least two cells are masked, or none
    assert sum(c in ("< 11", "secret") for c in masked) != 1


def test_acteurs_team_publishable_for_partenaire(accounts):
    lecteur = _run(LECTEUR, "acteurs", acteurs_volet="Ingénierie")
    partner = _run(PARTENAIRE, "acteurs", acteurs_volet="Ingénierie")
    lect_cols = {c for df in lecteur.dataframe for c in df.value.columns}
    part_cols = {c for df in partner.dataframe for c in df.value.columns}
    assert "Responsable" in lect_cols
    assert not part_cols & {"Responsable", "Élu référent", "Titulaire"}
    seen = [v for df in lecteur.dataframe if "Postes" in df.value.columns for v in df.value["Postes"]]
    assert any(v < 11 for v in seen), "the demo contract must have small teams for this test to mean something"
    assert any("Postes" in df.value.columns for df in partner.dataframe)
    for df in partner.dataframe:
        if "Postes" in df.value.columns:
            assert not [c for c in _cells(pl.from_pandas(df.value), "Postes") if SMALL.match(c)]
    kpis = {m.label: m.value for m in partner.metric}
    assert all(not SMALL.match(v) for k, v in kpis.items() if "Postes" in k or "Adultes-relais" in k)


def _book(data: bytes) -> dict[str, pl.DataFrame]:
    return pl.read_excel(io.BytesIO(data), sheet_id=0, engine="openpyxl")


def test_publishable_excel_export_has_no_name_and_no_small_count(demo_cur):
    # a threshold above every population of the demo: each count of people must come out masked
    cfg = dataclasses.replace(settings_mod.Settings(), secret_threshold=10_000_000)
    au = date(2027, 3, 1)
    decisions = pl.DataFrame(
        {
            "libelle": ["Relancer l'appel à projets"],
            "responsable": ["Mme Zélie Martin"],
            "date_echeance": [date(2027, 6, 30)],
        }
    )
    cover = exports.Cover("Point d'étape", "Contrat", au, au)

    def export(publiable: bool) -> dict[str, pl.DataFrame]:
        sections = seance.agenda(
            demo_cur, keys=seance.DEFAULT_AGENDA, contrat=CONTRAT, donnees_au=au, settings=cfg, publiable=publiable
        )
        shown = exports.publishable_cover(cover, threshold=cfg.secret_threshold) if publiable else cover
        return _book(exports.render("xlsx", shown, sections, decisions))

    def people(book):
        return [
            v
            for frame in book.values()
            if {"Indicateur", "Valeur"} <= set(frame.columns)
            for v in frame.filter(pl.col("Indicateur").str.starts_with("Habitants"))["Valeur"].to_list()
        ]

    full, public = export(False), export(True)
    assert "Zélie Martin" in "\n".join(f.write_csv() for f in full.values())
    text = "\n".join(frame.write_csv() for frame in public.values())
    assert "Zélie Martin" not in text and "Responsable" not in text
    assert "Version publiable" in text
    assert len(people(full)) == 2 and all(v.replace("\u202f", "").isdigit() for v in people(full))
    assert people(public) == ["< 10\u202f000\u202f000"] * 2


def test_indicateurs_small_people_counts_suppressed_for_partenaire(accounts, app_env):
    con = store.connect(str(app_env))
    try:  # one QPV of the contract with 7 job seekers at the latest vintage
        code_qp, latest = con.execute(
            "SELECT v.code_territoire, max(v.date_valeur) FROM valeur_indicateur v JOIN quartier q "
            "ON q.code_qp = v.code_territoire WHERE v.code_indicateur = 'DEFM' AND v.type_territoire = 'QPV' "
            "AND q.code_contrat = $c GROUP BY 1 ORDER BY 1 LIMIT 1",
            {"c": CONTRAT},
        ).fetchall()[0]
        con.execute(
            "UPDATE valeur_indicateur SET valeur = 7 WHERE code_indicateur = 'DEFM' AND type_territoire = 'QPV' "
            "AND code_territoire = $q AND date_valeur = $d",
            {"q": code_qp, "d": latest},
        )
    finally:
        con.close()

    def comparison(at):
        return next(
            pl.from_pandas(df.value)
            for df in at.dataframe
            if "Quartier" in df.value.columns and "Valeur" in df.value.columns
        )

    lecteur = _run(LECTEUR, "indicateurs", indic_indicateur="DEFM", indic_qpv=code_qp)
    assert "7,0" in _cells(comparison(lecteur), "Valeur")
    assert "7,0" in [m.value for m in lecteur.metric]
    partner = _run(PARTENAIRE, "indicateurs", indic_indicateur="DEFM", indic_qpv=code_qp)
    hidden = comparison(partner)
    values = _cells(hidden, "Valeur")
    assert "7,0" not in values and not [v for v in values if SMALL.match(v.removesuffix(",0"))]
    assert sum("secret statistique" in v for v in values) >= 2  # the small one and a secondary one
    kpi = {m.label: m.value for m in partner.metric}
    assert "7,0" not in kpi.values() and not [v for v in kpi.values() if SMALL.match(v.removesuffix(",0"))]
    spec = "".join(c.proto.spec for c in partner.get("vega_lite_chart")) if partner.get("vega_lite_chart") else ""
    assert '"valeur": 7.0' not in spec and '"valeur":7.0' not in spec


def test_command_line_publishable_export(demo_store_master, tmp_path):
    def export(*extra: str) -> dict[str, pl.DataFrame]:
        out = tmp_path / "seance.xlsx"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cdv_core",
                "export",
                "--contract",
                CONTRAT,
                "--format",
                "xlsx",
                "--out",
                str(out),
                "--store",
                str(demo_store_master),
                *extra,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "CDV_SEUIL_SECRET": "11"},
        )
        assert done.returncode == 0, done.stderr
        return _book(out.read_bytes())

    assert "Version publiable" in export("--publiable")["Séance"].write_csv()
    assert "Version publiable" not in export()["Séance"].write_csv()


def test_seance_exports_forced_publishable_for_partenaire(accounts):
    label = "Version publiable (sans noms, petits effectifs masqués)"
    partner = _run(PARTENAIRE, "seance")
    toggles = [t for t in partner.toggle if t.label == label]
    assert toggles and all(t.value and t.disabled for t in toggles)
    lecteur = _run(LECTEUR, "seance")
    toggles = [t for t in lecteur.toggle if t.label == label]
    assert toggles and not any(t.value or t.disabled for t in toggles)


def test_import_authors_are_not_shown_to_a_partenaire(accounts, app_env):
    """The import journal (Mise à jour) and the overview's latest imports name who imported: a
    person; a partenaire sees them without that column, a lecteur with it."""
    from cdv_core import ingest

    con = store.connect(str(app_env))
    try:
        data = (
            "id_jalon;code_contrat;type_jalon;libelle;date_prevue\n"
            f"J-SEC-1;{CONTRAT};autre;Réunion publique;01/03/2026\n"
        )
        ingest.commit(con, ingest.analyse(con.cursor(), data.encode(), "jalons.csv"), user=local_user("Camille Martin"))
    finally:
        con.close()
    for page in ("mise_a_jour", "vue_ensemble"):
        shown = {
            who: " ".join(str(f.to_dicts()) for f in _frames(_run(who, page)).values()) for who in (LECTEUR, PARTENAIRE)
        }
        assert "Camille Martin" in shown[LECTEUR], page
        assert "Camille Martin" not in shown[PARTENAIRE] and "jalons.csv" in shown[PARTENAIRE], page


def test_projets_and_jalons_leave_out_small_people_counts_for_partenaire(accounts, app_env):
    """A QPV's indicators (Projets de quartier) and the evolution since the baseline (Jalons)
    list values per QPV: a partenaire does not get a count of people below the threshold there."""
    con = store.connect(str(app_env))
    try:
        code_qp = con.execute(
            "SELECT min(o.code_qp) FROM objectif_indicateur oi JOIN objectif o USING (code_objectif) "
            "WHERE oi.code_indicateur = 'DEFM' AND o.code_contrat = $c",
            {"c": CONTRAT},
        ).fetchall()[0][0]
        objectives = [
            r[0]
            for r in con.execute(
                "SELECT code_objectif FROM objectif WHERE code_contrat = $c", {"c": CONTRAT}
            ).fetchall()
        ]
        from cdv_core.edits import jalons as jalons_edits

        jalons_edits.freeze_baseline(con, user=local_user("test"), code_contrat=CONTRAT, date_gel=date(2024, 6, 1))
        con.execute(
            "UPDATE valeur_indicateur SET valeur = 7 WHERE code_indicateur = 'DEFM' AND type_territoire = 'QPV' "
            "AND code_territoire = $q AND date_valeur = (SELECT max(date_valeur) FROM valeur_indicateur "
            "WHERE code_indicateur = 'DEFM' AND code_territoire = $q)",
            {"q": code_qp},
        )
    finally:
        con.close()

    def defm_rows(at) -> list[list[str]]:
        rows = []
        for frame in _frames(at).values():
            for row in frame.rows():
                cells = [str(v) for v in row]
                if any("Demandeurs d'emploi" in c for c in cells):
                    rows.append(cells)
        return rows

    def shows_seven(rows) -> bool:  # « 7,0 nb (01/01/2025) » in a cell of its own
        return any(re.match(r"^7([,.]0)?(\s|$)", c.strip()) for row in rows for c in row)

    def run(who, page, query):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.user = {"is_logged_in": True, "email": who, "exp": time.time() + 3600}
        at.secrets["auth"] = AUTH
        at.query_params.update({"contrat": CONTRAT, **query})
        at.run()
        at.switch_page(f"pages/{page}.py")
        at.run()
        if page == "projets_quartier":  # an objective's tables are built only while it is open
            for code in objectives:
                at.session_state[projets_view.objectif_key(code)] = True
            at.run()
        assert not at.exception, at.exception
        return at

    for page, query in (("projets_quartier", {"qpv": code_qp}), ("jalons", {})):
        assert shows_seven(defm_rows(run(LECTEUR, page, query))), page
        partner = defm_rows(run(PARTENAIRE, page, query))
        assert partner and not shows_seven(partner), page
