"""« Gouvernance »: tables are capped on screen with a French note, downloads hold every row;
the page's figures come from cdv_core functions (checked against independent SQL)."""

from __future__ import annotations

import polars as pl
import pytest

from cdv_core import fmt, store
from cdv_core.figures import gouvernance as fig_gouv
from cdv_core.queries import gouvernance as gouv
from tests.conftest import DEMO_AU, run_app

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

EXTRA = 520  # > the page's 500-row cap


@pytest.fixture
def big_store(app_env):
    """The demo store plus EXTRA instances, EXTRA QPV and EXTRA decisions (contract CV-DEMO-VERM)."""
    con = store.connect(app_env)
    try:
        con.execute(
            """INSERT INTO instance SELECT 'I-X-' || i, 'CV-DEMO-VERM', NULL, 'autre', 'Groupe ' || i, 12,
                       DATE '2024-01-01' FROM range($n) t(i)""",
            {"n": EXTRA},
        )
        con.execute(
            """INSERT INTO quartier (code_qp, libelle, code_contrat, insee_dep, insee_com, lib_com, population)
                       SELECT 'QN' || CAST(900 + i // 100 AS VARCHAR) || lpad(CAST(i % 100 AS VARCHAR), 2, '0') || 'N',
                              'Quartier ' || i, 'CV-DEMO-VERM', '99', '99001', 'Ville', 100
                       FROM range($n) t(i)""",
            {"n": EXTRA},
        )
        reunion = con.execute("""SELECT r.id_reunion FROM reunion r JOIN instance i USING (code_instance)
                                 WHERE i.code_contrat = 'CV-DEMO-VERM' AND r.statut = 'tenue'
                                 ORDER BY r.id_reunion LIMIT 1""").fetchall()[0][0]
        con.execute(
            """INSERT INTO decision SELECT 'D-X-' || i, $r, 'Décision ' || i, NULL, NULL, 'faite'
                       FROM range($n) t(i)""",
            {"r": reunion, "n": EXTRA},
        )
    finally:
        con.close()
    return app_env


@pytest.fixture
def recorded(monkeypatch):
    """The frames the page hands to `download_buttons`, by key."""
    import cdv_core.ui.downloads as downloads

    frames: dict[str, pl.DataFrame] = {}
    real = downloads.download_buttons

    def record(frame, *, basename, key, **kwargs):
        frames[key] = frame
        real(frame, basename=basename, key=key, **kwargs)

    monkeypatch.setattr(downloads, "download_buttons", record)
    return frames


def _scalar(path, sql):
    con = store.connect(path)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def test_downloads_hold_every_row_and_the_tables_say_they_are_capped(big_store, recorded):
    at = run_app("gouvernance")
    assert not at.exception, [e.value for e in at.exception]
    n_inst = _scalar(
        big_store,
        "SELECT count(*) FROM instance i JOIN contrat c USING (code_contrat) "
        f"WHERE coalesce(i.date_creation, c.date_debut) <= DATE '{DEMO_AU}'",
    )
    n_qpv = _scalar(big_store, "SELECT count(*) FROM quartier")
    n_dec = _scalar(big_store, "SELECT count(*) FROM decision")
    assert min(n_inst, n_qpv, n_dec) > 500
    shown = {d.proto.id: d.value.shape[0] for d in at.dataframe}
    assert recorded["gouv_dl_instances"].height == n_inst
    assert 500 in shown.values()
    captions = [c.value for c in at.caption]
    assert fmt.capped_note(500, n_inst) in captions
    assert (
        fmt.capped_note(500, n_inst)
        == f"500 premières lignes sur {fmt.integer(n_inst)} : téléchargez le fichier pour tout voir."
    )
    for tab, key, total in (
        ("Participation des habitants", "gouv_dl_qpv", n_qpv),
        ("Décisions", "gouv_dl_decisions", n_dec),
    ):
        at.session_state["gouv_tabs"] = tab
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert recorded[key].height == total, key
        assert fmt.capped_note(500, total) in [c.value for c in at.caption], key
        assert max(d.value.shape[0] for d in at.dataframe) == 500


def test_decision_log_has_no_hidden_limit(big_store):
    con = store.connect(big_store)
    try:
        log = gouv.decision_log(con.cursor(), contrat=None, donnees_au=DEMO_AU)
        assert log.height == con.execute("SELECT count(*) FROM decision").fetchall()[0][0]
        assert gouv.decision_log(con.cursor(), contrat=None, donnees_au=DEMO_AU, limit=7).height == 7
    finally:
        con.close()


def test_headline_and_residents_figures_match_sql(demo_cur):
    instances = gouv.instance_cadence(demo_cur, contrat=None, donnees_au=DEMO_AU, tolerance_days=30)
    head = gouv.headline(instances)
    held, residents = demo_cur.execute(
        """SELECT count(*), coalesce(sum(nb_habitants), 0) FROM reunion r JOIN instance i USING (code_instance)
           JOIN contrat c USING (code_contrat)
           WHERE r.statut = 'tenue' AND r.date_reunion <= $au AND r.date_reunion > $au - INTERVAL 12 MONTH
             AND coalesce(i.date_creation, c.date_debut) <= $au""",
        {"au": DEMO_AU},
    ).fetchall()[0]
    assert (head["tenues_12_mois"], head["habitants_12_mois"]) == (held, residents)
    assert head["instances"] == instances.height and head["en_retard"] == instances["en_retard"].sum()
    bodies = gouv.residents_bodies(demo_cur, contrat=None, donnees_au=DEMO_AU)
    summary = gouv.residents_summary(bodies)
    no_cc = demo_cur.execute(
        """SELECT count(*) FROM quartier q WHERE NOT EXISTS (
             SELECT 1 FROM instance i WHERE i.code_qp = q.code_qp AND i.type_instance = 'conseil citoyen')"""
    ).fetchall()[0][0]
    active_cc = demo_cur.execute(
        """SELECT count(DISTINCT i.code_qp) FROM instance i JOIN reunion r USING (code_instance)
           WHERE i.type_instance = 'conseil citoyen' AND r.statut = 'tenue' AND r.date_reunion <= $au
             AND r.date_reunion > $au - INTERVAL 12 MONTH""",
        {"au": DEMO_AU},
    ).fetchall()[0][0]
    assert (summary["qpv"], summary["sans_conseil_citoyen"], summary["conseil_citoyen_actif"]) == (
        demo_cur.execute("SELECT count(*) FROM quartier").fetchall()[0][0],
        no_cc,
        active_cc,
    )


def test_obligations_summary_counts(demo_cur):
    obligations = gouv.annual_obligations(demo_cur, contrat=None, donnees_au=DEMO_AU)
    summary = fig_gouv.obligations_summary(gouv.obligations_counts(obligations))
    for row in summary.iter_rows(named=True):
        year = obligations.filter(pl.col("annee").cast(pl.String) == row["Année"])
        assert row["Contrats"] == year.height
        assert row["COPIL respectée"] == (year["copil_statut"] == "respectée").sum()
        assert row["Rapport annuel non respectée"] == (year["rapport_statut"] == "non respectée").sum()
    to_check = gouv.obligations_to_check(obligations)
    assert (
        to_check.height
        == obligations.filter(
            pl.col("copil_statut").is_in(list(gouv.OBLIGATION_TO_CHECK))
            | pl.col("revue_statut").is_in(list(gouv.OBLIGATION_TO_CHECK))
            | pl.col("rapport_statut").is_in(list(gouv.OBLIGATION_TO_CHECK))
        ).height
    )
