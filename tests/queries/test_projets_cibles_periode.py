"""Targets per period (issue #20): an intermediate target (the 2027 actualisation) between the
reference and the 2030 target; the trajectory runs through it and a value is judged against the
target of its period."""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow as pa
import pytest

from cdv_core import ingest, store
from cdv_core.access import local_user
from cdv_core.domain import progress
from cdv_core.queries import indicateurs as ind
from cdv_core.ui import projets as projets_view
from tests.conftest import DEMO_AU, run_app

LOCAL = local_user("test")
REF, MID, END = date(2022, 1, 1), date(2027, 12, 31), date(2030, 12, 31)


def _scored(at: date, *, mid: float | None, value: float) -> dict:
    """One indicator « baisse »: 40 at the reference, 30 targeted for 2030, `mid` for 2027."""
    frame = pl.DataFrame(
        {
            "sens": ["baisse"],
            "valeur_reference": [40.0],
            "date_reference": [REF],
            "valeur_cible": [30.0],
            "date_cible": [END],
            "valeur_cible_intermediaire": [mid],
            "date_cible_intermediaire": [MID if mid else None],
            "valeur": [value],
            "date_valeur": [at],
        },
        schema_overrides={"valeur_cible_intermediaire": pl.Float64, "date_cible_intermediaire": pl.Date},
    )
    return progress.score_indicator_rows(frame).row(0, named=True)


def test_the_expected_share_follows_the_target_of_the_period():
    share = lambda d, e: (e - REF).days / (d - REF).days  # noqa: E731
    # without an intermediate target: the elapsed share of the whole period
    plain = _scored(date(2024, 12, 31), mid=None, value=37.0)
    assert plain["attendu"] == pytest.approx(share(END, date(2024, 12, 31)))
    # a 2027 step (34: 60 % of the way by the end of 2027) sets what is expected before 2027…
    staged = _scored(date(2024, 12, 31), mid=34.0, value=37.0)
    assert staged["attendu"] == pytest.approx(0.6 * share(MID, date(2024, 12, 31)))
    assert staged["realise"] == pytest.approx(0.3) and plain["realise"] == pytest.approx(0.3)
    # …and the rest of the way after it
    late = _scored(date(2029, 6, 30), mid=34.0, value=33.0)
    assert late["attendu"] == pytest.approx(0.6 + 0.4 * (date(2029, 6, 30) - MID).days / (END - MID).days)
    # a step beyond the target counts as the whole way, never more
    assert _scored(MID, mid=25.0, value=30.0)["attendu"] == pytest.approx(1.0)


def test_a_staged_trajectory_can_change_a_status():
    """Same value, same date: on the straight path 36,7 at the end of 2024 is on time (33 % done,
    33 % expected); with an ambitious 2027 step (30,5: 95 % of the way by 2027) it is behind (33 %
    done, 47,5 % expected)."""
    rule = progress.RULE
    plain = _scored(date(2024, 12, 31), mid=None, value=36.7)
    staged = _scored(date(2024, 12, 31), mid=30.5, value=36.7)
    assert staged["realise"] == plain["realise"] == pytest.approx(0.33)
    assert staged["attendu"] == pytest.approx(0.95 * 0.5)
    assert plain["realise"] - plain["attendu"] > -rule.seuil_surveiller
    assert staged["realise"] - staged["attendu"] < -rule.seuil_surveiller


HEADER = (
    "code_indicateur;code_qp;valeur_reference;date_reference;valeur_cible;date_cible;"
    "valeur_cible_intermediaire;date_cible_intermediaire\n"
)


def test_the_import_takes_and_checks_the_intermediate_target(demo_store):
    con = store.connect(demo_store)
    try:
        bad = ingest.analyse(
            con.cursor(),
            (
                HEADER + "CHOM;QN00281M;20;01/01/2022;15;31/12/2030;17;\n"
                "CHOM;QN00282M;20;01/01/2022;15;31/12/2030;17;31/12/2031\n"
                "CHOM;QN00283M;20;01/01/2022;15;31/12/2030;;31/12/2027\n"
            ).encode(),
            "cibles.csv",
        )
        errors = sorted(bad.problems.filter(pl.col("gravité") == "erreur").select("ligne", "problème").rows())
        assert errors == [
            (2, "Cible intermédiaire sans sa date, ou date sans valeur"),
            (3, "Cible intermédiaire hors de la période de la cible"),
            (4, "Cible intermédiaire sans sa date, ou date sans valeur"),
        ]
        good = ingest.analyse(
            con.cursor(),
            (HEADER + "CHOM;QN00281M;20;01/01/2022;15;31/12/2030;17,5;31/12/2027\n").encode(),
            "cibles.csv",
        )
        assert good.ok, good.problems
        ingest.commit(con, good, user=LOCAL)
        row = con.execute(
            "SELECT valeur_cible_intermediaire, date_cible_intermediaire FROM cible_indicateur "
            "WHERE code_indicateur = 'CHOM' AND code_qp = 'QN00281M'"
        ).fetchall()
        assert row == [(17.5, MID)]
        # the store refuses what the import would have refused, whoever writes
        with pytest.raises(store.IntegrityError, match="cible intermédiaire"):
            with store.transaction(con, written=["cible_indicateur"], audit=store.Audit("test", "x")) as cur:
                cur.execute(
                    "UPDATE cible_indicateur SET date_cible_intermediaire = DATE '2031-01-01' "
                    "WHERE code_indicateur = 'CHOM' AND code_qp = 'QN00281M'"
                )
    finally:
        con.close()


def test_the_demo_steps_between_baseline_and_target(demo_cur):
    c = demo_cur.sql("SELECT * FROM cible_indicateur WHERE valeur_cible_intermediaire IS NOT NULL").pl()
    assert c.height and (c["date_cible_intermediaire"] == MID).all()
    lo = pl.min_horizontal("valeur_reference", "valeur_cible")
    hi = pl.max_horizontal("valeur_reference", "valeur_cible")
    assert c.filter(
        (pl.col("valeur_cible_intermediaire") <= lo) | (pl.col("valeur_cible_intermediaire") >= hi)
    ).is_empty()


def test_the_pages_draw_the_trajectory_through_the_intermediate_target(app_env, demo_cur):
    pair = demo_cur.execute(
        """SELECT c.code_qp, c.code_indicateur, c.valeur_cible_intermediaire, o.code_objectif FROM cible_indicateur c
           JOIN objectif o ON o.code_qp = c.code_qp JOIN objectif_indicateur oi USING (code_objectif)
           WHERE oi.code_indicateur = c.code_indicateur AND c.valeur_cible_intermediaire IS NOT NULL
             AND o.code_contrat = 'CV-DEMO-VERM' ORDER BY 1, 2 LIMIT 1"""
    ).fetchall()[0]
    code_qp, code_indicateur, step, code_objectif = pair
    at = run_app("projets_quartier", query={"contrat": "CV-DEMO-VERM", "qpv": code_qp})
    at.session_state[projets_view.objectif_key(code_objectif)] = True  # built only while open
    at.run()
    assert not at.exception, at.exception
    tables = [t.value for t in at.dataframe if "Cible intermédiaire" in t.value.columns]
    assert tables and any(str(int(step)) in " ".join(t["Cible intermédiaire"]) for t in tables)
    paths = []
    for chart in at.get("vega_lite_chart"):  # chart data is shipped as Arrow IPC in the proto
        for named in chart.proto.datasets:
            data = pa.ipc.open_stream(named.data.data).read_all().to_pydict()
            paths += [v for s_, v in zip(data.get("série", []), data.get("valeur", [])) if s_ == "trajectoire visée"]
    assert step in paths, "the intermediate target is on a drawn path"
    comparison = ind.comparison(
        demo_cur, code_indicateur=code_indicateur, contrat="CV-DEMO-VERM", reference="EPCI", donnees_au=DEMO_AU
    )
    marks = ind.markers(comparison, (code_qp,))
    assert marks.filter(pl.col("repere") == "Cible intermédiaire")["valeur"].to_list() == [step]
