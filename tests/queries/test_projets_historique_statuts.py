"""The history of the QPV statuses (issue #20, « History of statuses »): recorded when a status
changes — after a write of the app or of the command line, by the monthly `statuts` command —
shown as « à surveiller depuis mars 2026 » and as a line of statuses over time."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date

import duckdb
import polars as pl

from cdv_core import store
from cdv_core.domain import progress
from cdv_core.edits import historique
from cdv_core.figures import projets as fig_projets
from cdv_core.ingest import templates
from cdv_core.queries import projets
from tests.conftest import DEMO_AU, ROOT, run_app

VERM = "CV-DEMO-VERM"


def _open(path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The demo master is shared read-only; a private copy opens as the app opens it (two
    configurations of one file cannot coexist in a process)."""
    return duckdb.connect(str(path), read_only=True) if read_only else store.connect(path)


def _history(path, read_only: bool = False) -> pl.DataFrame:
    con = _open(path, read_only)
    try:
        return con.sql("SELECT * FROM statut_qpv_historique ORDER BY code_qp, donnees_au, enregistre_le").pl()
    finally:
        con.close()


def _version(path) -> int:
    con = _open(path)
    try:
        return store.store_version(con.cursor())
    finally:
        con.close()


# --- « depuis »: the rule on a known history ------------------------------------------------------


def test_since_is_the_start_of_the_last_run_of_the_current_status():
    d = date
    history = pl.DataFrame(
        {
            "code_qp": ["A"] * 4 + ["B"] * 2 + ["C"] * 2 + ["D"],
            "donnees_au": [
                d(2025, 11, 15),
                d(2026, 1, 15),
                d(2026, 3, 15),
                d(2026, 6, 15),
                d(2025, 11, 15),
                d(2026, 3, 15),
                d(2025, 11, 15),
                d(2026, 2, 15),
                d(2025, 11, 15),
            ],
            "statut": [
                progress.A_SURVEILLER,
                progress.EN_BONNE_VOIE,
                progress.A_SURVEILLER,
                progress.A_SURVEILLER,
                progress.EN_BONNE_VOIE,
                progress.EN_BONNE_VOIE,
                progress.EN_RETARD,
                progress.A_SURVEILLER,
                progress.EN_RETARD,
            ],
        }
    )
    current = pl.DataFrame(
        {
            "code_qp": ["A", "B", "C", "D", "E"],
            "statut": [
                progress.A_SURVEILLER,
                progress.EN_BONNE_VOIE,
                progress.EN_RETARD,
                progress.EN_RETARD,
                progress.EN_RETARD,
            ],
        }
    )
    since = {
        r["code_qp"]: (r["depuis"], r["depuis_premier"])
        for r in projets.status_since(history, current).iter_rows(named=True)
    }
    assert since["A"] == (d(2026, 3, 15), False)  # the run of March, not the first « à surveiller »
    assert since["B"] == (d(2025, 11, 15), True)  # unchanged since the first record: « au moins »
    assert since["D"] == (d(2025, 11, 15), True)
    assert "C" not in since  # its last record says « à surveiller »: the change is not recorded yet
    assert "E" not in since  # no record
    assert projets.since_text(progress.A_SURVEILLER, d(2026, 3, 15), False) == "à surveiller depuis mars 2026"
    assert (
        projets.since_text(progress.EN_BONNE_VOIE, d(2025, 11, 15), True)
        == "en bonne voie depuis au moins novembre 2025"
    )
    assert projets.since_text(progress.EN_RETARD, None, None) == "en retard"


# --- the demo: a year of monthly records -----------------------------------------------------------


def test_the_demo_has_a_year_of_records_that_end_on_the_current_statuses(demo_store_master):
    history = _history(demo_store_master, read_only=True)
    con = _open(demo_store_master, read_only=True)
    try:
        cur = con.cursor()
        current = historique.current_statuses(cur, donnees_au=DEMO_AU)
        n_qpv = store.scalar(cur, "SELECT count(*) FROM quartier")
    finally:
        con.close()
    assert history["code_qp"].n_unique() == n_qpv
    assert history["donnees_au"].min() == date(DEMO_AU.year - 1, DEMO_AU.month, DEMO_AU.day)
    assert history["donnees_au"].max() <= DEMO_AU
    last = history.group_by("code_qp").agg(pl.col("statut").last())
    assert dict(last.iter_rows()) == dict(current.select("code_qp", "statut").iter_rows())
    # only changes are recorded: two consecutive records of a QPV never say the same status
    repeats = history.filter(pl.col("statut") == pl.col("statut").shift(1).over("code_qp"))
    assert repeats.is_empty()


# --- recording after a write ----------------------------------------------------------------------


def _verm_actions_stalled(path) -> bytes:
    """The current actions of VERM in the template, every action « en cours » at 0 % done: an import
    of it puts the contract's QPV behind their expected progress."""
    con = _open(path)
    try:
        frame = templates.current_frame(con.cursor(), kind="actions", contrat=VERM)
    finally:
        con.close()
    frame = frame.with_columns(pl.lit("en cours").alias("statut"), pl.lit("0").alias("avancement"))
    buffer = io.BytesIO()
    frame.write_csv(buffer, separator=";", include_bom=True)
    return buffer.getvalue()


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "cdv_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def test_an_import_that_moves_statuses_records_them_and_a_monthly_run_records_nothing_new(demo_store, tmp_path):
    before = _history(demo_store)
    path = tmp_path / "actions_verm.csv"
    path.write_bytes(_verm_actions_stalled(demo_store))
    out = _cli("import", str(path), "--store", str(demo_store))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Statut modifié pour" in out.stdout
    after = _history(demo_store)
    new = after.filter(pl.col("version_store") > before["version_store"].max())
    assert not new.is_empty() and set(new["donnees_au"]) == {DEMO_AU}
    assert new["version_store"].n_unique() == 1 and new["version_store"][0] == _version(demo_store)
    con = _open(demo_store)
    try:
        verm = set(store.scalar(con.cursor(), "SELECT list(code_qp) FROM quartier WHERE code_contrat = ?", [VERM]))
        current = historique.current_statuses(con.cursor(), donnees_au=DEMO_AU)
    finally:
        con.close()
    assert set(new["code_qp"]) <= verm  # only the QPV whose status changed
    assert dict(new.select("code_qp", "statut").iter_rows()) == dict(
        current.filter(pl.col("code_qp").is_in(list(new["code_qp"]))).select("code_qp", "statut").iter_rows()
    )
    # the monthly run on the same date: nothing changed since, nothing written, the version stays
    version = _version(demo_store)
    out = _cli("statuts", "--store", str(demo_store))
    assert out.returncode == 0 and "aucun changement depuis le dernier relevé" in out.stdout, out.stdout + out.stderr
    assert _version(demo_store) == version and _history(demo_store).height == after.height


def test_the_monthly_run_records_what_time_alone_changed(demo_store):
    later = date(2027, 6, 30)
    con = _open(demo_store)
    try:
        expected = historique.current_statuses(con.cursor(), donnees_au=later)
        last = con.sql(
            "SELECT code_qp, arg_max(statut, donnees_au) AS dernier FROM statut_qpv_historique GROUP BY code_qp"
        ).pl()
    finally:
        con.close()
    moved = expected.join(last, on="code_qp").filter(pl.col("statut") != pl.col("dernier"))
    out = _cli("statuts", "--store", str(demo_store), "--au", later.isoformat())
    assert out.returncode == 0, out.stdout + out.stderr
    new = _history(demo_store).filter(pl.col("donnees_au") == later)
    assert sorted(new["code_qp"]) == sorted(moved["code_qp"])
    assert ("aucun changement" in out.stdout) == moved.is_empty()
    assert _cli("statuts", "--store", str(demo_store), "--au", "30/06/2027").returncode == 2


def test_a_write_of_the_app_records_the_statuses_it_moved(app_env):
    before = _history(app_env).height
    at = run_app("mise_a_jour")
    at.file_uploader[0].set_value(("actions_verm.csv", _verm_actions_stalled(app_env), "text/csv")).run()
    assert not at.exception, at.exception
    at.button(key="maj_valider").click().run()
    assert not at.exception, at.exception
    assert any("validé" in s.value for s in at.success)
    history = _history(app_env)
    assert history.height > before
    assert set(history.filter(pl.col("version_store") == _version(app_env))["donnees_au"]) == {DEMO_AU}


# --- what a committee sees ---------------------------------------------------------------------------


def test_projets_de_quartier_says_since_when_and_draws_the_statuses(app_env):
    at = run_app("projets_quartier", query={"contrat": VERM})
    assert not at.exception, at.exception
    table = next(t.value for t in at.dataframe if "Depuis" in t.value.columns)
    assert (
        table["Depuis"]
        .str.contains(
            r"^(?:au moins )?(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|"
            r"octobre|novembre|décembre) 20\d\d$"
        )
        .all()
    )
    first = table.iloc[0]  # the chosen quartier: the most worrying first
    badges = " ".join(m.value for m in at.markdown)
    assert f"{first['Statut']} depuis {first['Depuis']}" in badges
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert any(spec.get("title") == "Statut au fil des relevés" for spec in specs)


def test_the_download_carries_since_when(app_env):
    con = _open(app_env)
    try:
        rows = projets.qpv_overview(con.cursor(), contrat=VERM, donnees_au=DEMO_AU)
    finally:
        con.close()
    export = fig_projets.qpv_export(rows)
    assert export["Statut depuis"].null_count() == 0
    assert export.filter(~pl.col("Depuis le premier relevé")).height == rows.filter(~pl.col("depuis_premier")).height
