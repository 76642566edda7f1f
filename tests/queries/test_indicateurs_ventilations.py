"""Breakdowns of indicator values by sexe and âge (issue #20 « Breakdowns »): the query on a
hand-built store against independent SQL, the « Indicateurs » page on the demo, the demo's figures."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from cdv_core.demo import indicateurs as demo_ind
from cdv_core.domain import model
from cdv_core.queries import indicateurs as ind
from tests.conftest import DEMO_AU, insert, minimal_contract, run_app

QPV = ("QN07511M", "QN07512M", "QN07513M")
AU = date(2026, 6, 30)


def _value(code, qpv, d, valeur, *, num=None, den=None, secret=None):
    return {
        "code_indicateur": code,
        "type_territoire": "QPV",
        "code_territoire": qpv,
        "date_valeur": d,
        "valeur": valeur,
        "secret": secret,
        "numerateur": num,
        "denominateur": den,
    }


def _detail(code, qpv, d, dimension, modalite, valeur, *, num=None, den=None, secret=None, ttype="QPV"):
    return {
        "code_indicateur": code,
        "type_territoire": ttype,
        "code_territoire": qpv,
        "date_valeur": d,
        "dimension": dimension,
        "modalite": modalite,
        "valeur": valeur,
        "secret": secret,
        "numerateur": num,
        "denominateur": den,
    }


@pytest.fixture
def con(empty_store):
    con = empty_store
    minimal_contract(con, qpv=QPV)
    insert(
        con,
        "indicateur",
        [
            {
                "code_indicateur": "DEFM",
                "libelle": "Demandeurs d'emploi",
                "unite": "nb",
                "sens": "baisse",
                "source": "France Travail",
                "axe": "Emploi",
                "agregation": "somme",
            },
            {
                "code_indicateur": "EMPL",
                "libelle": "Taux d'emploi",
                "unite": "%",
                "sens": "hausse",
                "source": "ONPV",
                "axe": "Emploi",
                "agregation": "moyenne pondérée",
            },
            {
                "code_indicateur": "PAUV",
                "libelle": "Taux de pauvreté",
                "unite": "%",
                "sens": "baisse",
                "source": "Insee",
                "axe": "Emploi",
                "agregation": "moyenne pondérée",
            },
        ],
    )
    old, new, later = date(2025, 1, 1), date(2026, 1, 1), date(2026, 10, 1)
    insert(
        con,
        "valeur_indicateur",
        [
            _value("DEFM", "QN07511M", new, 300),
            _value("DEFM", "QN07512M", new, 150),
            _value("DEFM", "QN07513M", new, 20),
            _value("DEFM", "QN07511M", old, 320),
            _value("EMPL", "QN07511M", new, 50.0, num=500, den=1000),
            _value("EMPL", "QN07512M", new, 40.0, num=200, den=500),
            _value("PAUV", "QN07511M", new, 40.0),
            _value("PAUV", "QN07512M", new, 30.0),
        ],
    )
    insert(
        con,
        "valeur_indicateur_detail",
        [
            # DEFM by sexe: an old vintage, the latest, and one after « données au » (ignored)
            _detail("DEFM", "QN07511M", old, "sexe", "femmes", 150),
            _detail("DEFM", "QN07511M", old, "sexe", "hommes", 170),
            _detail("DEFM", "QN07511M", new, "sexe", "femmes", 140),
            _detail("DEFM", "QN07511M", new, "sexe", "hommes", 160),
            _detail("DEFM", "QN07512M", new, "sexe", "femmes", 80),
            _detail("DEFM", "QN07512M", new, "sexe", "hommes", 70),
            _detail("DEFM", "QN07513M", new, "sexe", "femmes", None, secret="s"),
            _detail("DEFM", "QN07513M", new, "sexe", "hommes", None, secret="s"),
            _detail("DEFM", "QN07511M", later, "sexe", "femmes", 999),
            _detail("DEFM", "QN07511M", later, "sexe", "hommes", 1),
            # DEFM by âge
            _detail("DEFM", "QN07511M", new, "âge", "50 ans et plus", 75),
            _detail("DEFM", "QN07511M", new, "âge", "moins de 26 ans", 45),
            _detail("DEFM", "QN07511M", new, "âge", "26 à 49 ans", 180),
            # EMPL by sexe with parts; PAUV by sexe without parts
            _detail("EMPL", "QN07511M", new, "sexe", "femmes", 45.0, num=225, den=500),
            _detail("EMPL", "QN07511M", new, "sexe", "hommes", 55.0, num=275, den=500),
            _detail("EMPL", "QN07512M", new, "sexe", "femmes", 30.0, num=60, den=200),
            _detail("EMPL", "QN07512M", new, "sexe", "hommes", 140 / 3, num=140, den=300),
            _detail("PAUV", "QN07511M", new, "sexe", "femmes", 42.0),
            _detail("PAUV", "QN07511M", new, "sexe", "hommes", 38.0),
            _detail("PAUV", "QN07512M", new, "sexe", "femmes", 31.0),
            _detail("PAUV", "QN07512M", new, "sexe", "hommes", 29.0),
        ],
    )
    return con


def _rows(frame: pl.DataFrame, ttype: str, dimension: str = "sexe") -> dict:
    part = frame.filter((pl.col("type_territoire") == ttype) & (pl.col("dimension") == dimension))
    return {(r["code_territoire"], r["modalite"]): r for r in part.iter_rows(named=True)}


def test_latest_breakdown_at_or_before_donnees_au_with_secret_kept(con):
    b = ind.breakdowns(con.cursor(), code_indicateur="DEFM", contrat="CV-T", donnees_au=AU)
    qpv = _rows(b, "QPV")
    assert {r["date_valeur"] for r in qpv.values()} == {date(2026, 1, 1)}  # not 2025, not the later 999
    assert qpv[("QN07511M", "femmes")]["valeur"] == 140 and qpv[("QN07511M", "hommes")]["valeur"] == 160
    assert qpv[("QN07511M", "femmes")]["total"] == 300
    secret = qpv[("QN07513M", "femmes")]
    assert secret["valeur"] is None and secret["secret"] == "s" and secret["motif"] == model.SECRET_MARKERS["s"]
    # the gap femmes − hommes of a count: in % of the hommes' value (gaps.gap_expr)
    assert qpv[("QN07511M", "femmes")]["ecart_femmes_hommes"] == pytest.approx((140 - 160) / 160 * 100)
    assert qpv[("QN07513M", "femmes")]["ecart_femmes_hommes"] is None
    # âge: the bands in their order
    ages = b.filter((pl.col("dimension") == "âge") & (pl.col("type_territoire") == "QPV"))["modalite"].to_list()
    assert ages == ["moins de 26 ans", "26 à 49 ans", "50 ans et plus"]
    # an earlier « données au »: the earlier vintage
    early = ind.breakdowns(con.cursor(), code_indicateur="DEFM", contrat="CV-T", donnees_au=date(2025, 6, 30))
    assert set(early["date_valeur"]) == {date(2025, 1, 1)}
    assert _rows(early, "QPV")[("QN07511M", "femmes")]["valeur"] == 150


def test_the_sum_of_a_count_per_modalite_equals_independent_sql(con):
    b = ind.breakdowns(con.cursor(), code_indicateur="DEFM", contrat="CV-T", donnees_au=AU)
    sel = _rows(b, ind.SELECTION)
    expected = dict(
        con.execute("""SELECT modalite, sum(valeur) FROM valeur_indicateur_detail
        WHERE code_indicateur = 'DEFM' AND dimension = 'sexe' AND date_valeur = DATE '2026-01-01'
          GROUP BY ALL""").fetchall()
    )
    assert {m: sel[(None, m)]["valeur"] for m in model.SEXES} == expected == {"femmes": 220, "hommes": 230}
    assert sel[(None, "femmes")]["qpv_inclus"] == 2 and sel[(None, "femmes")]["methode"] == "somme"
    assert sel[(None, "femmes")]["total"] == 470  # the aggregate of the totals, same rule


def test_a_rate_with_parts_is_the_ratio_of_the_sums(con):
    b = ind.breakdowns(con.cursor(), code_indicateur="EMPL", contrat="CV-T", donnees_au=AU)
    sel = _rows(b, ind.SELECTION)
    expected = dict(
        con.execute("""SELECT modalite, sum(numerateur) / sum(denominateur) * 100
        FROM valeur_indicateur_detail WHERE code_indicateur = 'EMPL' GROUP BY ALL""").fetchall()
    )
    for m in model.SEXES:
        assert sel[(None, m)]["valeur"] == pytest.approx(expected[m])
    assert sel[(None, "femmes")]["valeur"] == pytest.approx(285 / 700 * 100)  # not the mean of 45 and 30
    assert sel[(None, "femmes")]["methode"] == "ratio des sommes"
    assert sel[(None, "femmes")]["total"] == pytest.approx(700 / 1500 * 100)
    # the gap of a rate: in points
    assert sel[(None, "hommes")]["ecart_femmes_hommes"] == pytest.approx(285 / 700 * 100 - 415 / 800 * 100)
    assert _rows(b, "QPV")[("QN07511M", "femmes")]["ecart_femmes_hommes"] == pytest.approx(-10.0)


def test_a_rate_without_parts_is_not_aggregated(con):
    b = ind.breakdowns(con.cursor(), code_indicateur="PAUV", contrat="CV-T", donnees_au=AU)
    sel = _rows(b, ind.SELECTION)
    assert sel[(None, "femmes")]["valeur"] is None and sel[(None, "femmes")]["qpv_inclus"] == 0
    assert sel[(None, "femmes")]["methode"] == "non agrégé" and sel[(None, "femmes")]["motif"] == "non agrégé"
    assert _rows(b, "QPV")[("QN07512M", "femmes")]["valeur"] == 31.0


def test_no_breakdown_no_row_and_the_perimetre_applies(con):
    insert(
        con,
        "indicateur",
        [
            {
                "code_indicateur": "X",
                "libelle": "X",
                "unite": "nb",
                "sens": "baisse",
                "source": "s",
                "axe": "a",
                "agregation": "somme",
            }
        ],
    )
    assert ind.breakdowns(con.cursor(), code_indicateur="X", contrat="CV-T", donnees_au=AU).is_empty()
    assert ind.breakdowns(con.cursor(), code_indicateur="DEFM", contrat=None, donnees_au=AU, perimetre=()).is_empty()
    one = ind.breakdowns(con.cursor(), code_indicateur="DEFM", contrat="CV-T", donnees_au=AU, qpv=("QN07512M",))
    assert set(one.filter(pl.col("type_territoire") == "QPV")["code_territoire"]) == {"QN07512M"}


def test_reference_territories_with_breakdowns_are_shown(con):
    insert(
        con,
        "valeur_indicateur_detail",
        [
            _detail("EMPL", "FR", date(2026, 1, 1), "sexe", "femmes", 62.0, ttype="France"),
            _detail("EMPL", "FR", date(2026, 1, 1), "sexe", "hommes", 69.0, ttype="France"),
            _detail("EMPL", "FR", date(2025, 1, 1), "sexe", "femmes", 61.0, ttype="France"),  # another year
        ],
    )
    b = ind.breakdowns(con.cursor(), code_indicateur="EMPL", contrat="CV-T", donnees_au=AU, reference="France")
    fr = _rows(b, "France")
    assert fr[("FR", "femmes")]["valeur"] == 62.0 and fr[("FR", "femmes")]["territoire"] == "France"
    assert fr[("FR", "femmes")]["ecart_femmes_hommes"] == pytest.approx(-7.0)
    none = ind.breakdowns(con.cursor(), code_indicateur="EMPL", contrat="CV-T", donnees_au=AU, reference="commune")
    assert _rows(none, "commune") == {}


# --- the demo -------------------------------------------------------------------------------------


def test_the_demo_breakdowns_of_defm_sum_to_the_totals(demo_cur):
    per = demo_cur.sql("""
        SELECT d.dimension, d.code_territoire, d.date_valeur, sum(d.valeur) AS somme, count(d.secret) AS secrets,
               any_value(t.valeur) AS total
        FROM valeur_indicateur_detail d
          JOIN valeur_indicateur t USING (code_indicateur, type_territoire, code_territoire, date_valeur)
        WHERE d.code_indicateur = 'DEFM' GROUP BY ALL""").pl()
    assert set(per["dimension"]) == {"sexe", "âge"}
    full = per.filter(pl.col("secrets") == 0)
    assert full.height and (full["somme"] == full["total"]).all()
    shares = demo_cur.sql("""SELECT modalite, sum(valeur) / (SELECT sum(valeur) FROM valeur_indicateur_detail
                                                            WHERE code_indicateur = 'DEFM' AND dimension = 'sexe')
                             FROM valeur_indicateur_detail WHERE code_indicateur = 'DEFM' AND dimension = 'sexe'
                             GROUP BY ALL""").fetchall()
    assert 0.46 <= dict(shares)["femmes"] <= 0.54
    # EMPL by sexe: parts give the value back and add up to the total's; women ~10-15 points lower
    empl = demo_cur.sql("""
        SELECT d.code_territoire, d.date_valeur, sum(d.numerateur) AS num, sum(d.denominateur) AS den,
               any_value(t.numerateur) AS tnum, any_value(t.denominateur) AS tden,
               max(d.valeur) FILTER (WHERE modalite = 'hommes')
                 - max(d.valeur) FILTER (WHERE modalite = 'femmes') AS gap,
               max(abs(d.numerateur / d.denominateur * 100 - d.valeur)) AS off
        FROM valeur_indicateur_detail d
          JOIN valeur_indicateur t USING (code_indicateur, type_territoire, code_territoire, date_valeur)
        WHERE d.code_indicateur = 'EMPL' GROUP BY ALL""").pl()
    assert empl.height and (empl["num"] == empl["tnum"]).all() and (empl["den"] == empl["tden"]).all()
    assert empl["off"].max() <= 0.051
    assert 8 <= empl["gap"].median() <= 16


def test_demo_secret_below_the_threshold():
    from cdv_core import demo

    frames = demo.generate("demo", seed=2024)
    d = frames["valeur_indicateur_detail"]
    assert d.filter(pl.col("valeur") < demo_ind.SECRET_THRESHOLD).is_empty()
    assert d.filter(pl.col("valeur").is_null() != pl.col("secret").is_not_null()).is_empty()


# --- the page -------------------------------------------------------------------------------------


def _arrow_rows(chart) -> list[dict]:
    rows = []
    for dataset in chart.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


def test_the_page_shows_the_breakdowns_of_the_query(app_env):
    at = run_app("indicateurs", query={"contrat": "CV-DEMO-VERM"})
    at.selectbox(key="indic_indicateur").set_value("DEFM")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    headers = [m.value for m in at.markdown]
    assert any("Répartition par sexe" in h for h in headers) and any("Répartition par âge" in h for h in headers)
    con = duckdb.connect(str(app_env))  # same configuration as the app's in-process connection
    try:
        expected = ind.breakdowns(
            con.cursor(), code_indicateur="DEFM", contrat="CV-DEMO-VERM", donnees_au=DEMO_AU, reference="EPCI"
        )
    finally:
        con.close()
    sexe = expected.filter(
        (pl.col("dimension") == "sexe") & pl.col("valeur").is_not_null() & (pl.col("type_territoire") == "QPV")
    )
    charts = [c for c in at.get("vega_lite_chart") if '"yOffset"' in c.proto.spec]  # the grouped bars
    assert len(charts) == 2, "one breakdown chart per dimension"
    drawn = {(r["territoire"], r["modalite"]): r["valeur"] for r in _arrow_rows(charts[0])}
    assert drawn == {(t, m): v for t, m, v in sexe.select("territoire", "modalite", "valeur").iter_rows()}
    assert len(drawn) == 12  # 6 QPV × femmes, hommes; the sum of the QPV is not drawn beside them
    ages = {r["modalite"] for r in _arrow_rows(charts[1])}
    assert ages == {"moins de 26 ans", "26 à 49 ans", "50 ans et plus"}
    table = [t.value for t in at.dataframe if "Écart femmes − hommes" in t.value.columns]
    assert table and list(table[0].columns) == [
        "Territoire",
        "Femmes",
        "Hommes",
        "Ensemble",
        "Écart femmes − hommes",
        "Date",
    ]
    rows = {r["Territoire"]: r for r in table[0].to_dict("records")}
    sel = expected.filter((pl.col("type_territoire") == ind.SELECTION) & (pl.col("modalite") == "femmes")).row(
        0, named=True
    )
    assert rows[sel["territoire"]]["Femmes"] == f"{sel['valeur']:,.0f}".replace(",", "\u202f")


def test_a_partenaire_sees_no_small_count_nor_what_gives_it_back(con):
    from types import SimpleNamespace

    from cdv_core.ui import ventilations

    insert(con, "valeur_indicateur", [_value("DEFM", "QN07513M", date(2026, 4, 1), 30)])
    insert(
        con,
        "valeur_indicateur_detail",
        [
            _detail("DEFM", "QN07513M", date(2026, 4, 1), "sexe", "femmes", 8),
            _detail("DEFM", "QN07513M", date(2026, 4, 1), "sexe", "hommes", 22),
        ],
    )
    frame = ind.breakdowns(con.cursor(), code_indicateur="DEFM", contrat="CV-T", donnees_au=AU)
    meta = {"unite": "nb", "libelle": "Demandeurs d'emploi"}
    ctx = SimpleNamespace(user=SimpleNamespace(publishable_only=True), settings=SimpleNamespace(secret_threshold=11))
    shown = _rows(ventilations._publishable(ctx, meta, frame), "QPV")
    assert shown[("QN07513M", "femmes")]["valeur"] is None and shown[("QN07513M", "hommes")]["valeur"] is None
    assert shown[("QN07513M", "hommes")]["motif"] == "secret statistique (masquage secondaire)"
    assert shown[("QN07513M", "femmes")]["ecart_femmes_hommes"] is None
    assert _rows(ventilations._publishable(ctx, meta, frame), ind.SELECTION)[(None, "femmes")]["valeur"] is None
    ctx.user.publishable_only = False  # everyone else sees the figures
    assert _rows(ventilations._publishable(ctx, meta, frame), "QPV")[("QN07513M", "femmes")]["valeur"] == 8
