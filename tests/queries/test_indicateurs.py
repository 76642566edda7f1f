"""« Indicateurs »: gap and trend rules on hand-made values, queries on a hand-made store."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cdv_core import fmt
from cdv_core.domain import gaps
from cdv_core.figures import indicateurs as fig_ind
from cdv_core.queries import indicateurs as ind
from tests.conftest import insert, minimal_contract

pytestmark = pytest.mark.both_backends  # the core suite runs on the file and on DuckLake

D22, D24 = date(2022, 1, 1), date(2024, 1, 1)
AU = date(2026, 11, 15)  # « données au » of the hand-made store (after every value)


# --- gap ------------------------------------------------------------------------------------------


def test_gap_of_a_rate_is_in_points():
    assert gaps.gap(44.0, 15.0, "%") == pytest.approx(29.0)
    assert gaps.gap(48.0, 65.0, "%") == pytest.approx(-17.0)
    assert gaps.gap_unit("%") == "pts"


def test_gap_of_an_amount_is_relative_to_the_reference():
    assert gaps.gap(12_000.0, 20_000.0, "€") == pytest.approx(-40.0)
    assert gaps.gap(5.5, 5.0, "pour 10 000 hab.") == pytest.approx(10.0)
    assert gaps.gap_unit("€") == "%"


@pytest.mark.parametrize("qpv, ref", [(None, 15.0), (44.0, None), (10.0, 0.0)])
def test_no_gap_without_both_values(qpv, ref):
    assert gaps.gap(qpv, ref, "€" if ref == 0.0 else "%") is None


# --- trend ----------------------------------------------------------------------------------------


def _trend(**kw):
    args = {"base_date": D22, "latest_date": D24, "unite": "%"} | kw
    return gaps.trend(**args)


def test_decreasing_desired_direction_gap_closing_is_favourable():
    # poverty 44 % vs 15 % (gap 29 pts) → 40 % vs 15 % (gap 25 pts): Δ = −4 pts, desired: decrease
    t = _trend(base_value=44.0, base_ref=15.0, latest_value=40.0, latest_ref=15.0, sens="baisse")
    assert t == {"evolution": pytest.approx(-4.0), "mesure_tendance": "écart", "tendance": "favorable"}


def test_decreasing_desired_direction_but_territory_improves_faster_is_unfavourable():
    # the QPV improves (44 → 40) but its territory more (15 → 10): the gap widens 29 → 30
    t = _trend(base_value=44.0, base_ref=15.0, latest_value=40.0, latest_ref=10.0, sens="baisse")
    assert t["evolution"] == pytest.approx(1.0)
    assert t["tendance"] == "defavorable"


def test_increasing_desired_direction():
    # employment 48 vs 65 (−17) → 52 vs 65 (−13): Δ = +4, desired: increase
    up = _trend(base_value=48.0, base_ref=65.0, latest_value=52.0, latest_ref=65.0, sens="hausse")
    assert up["tendance"] == "favorable" and up["evolution"] == pytest.approx(4.0)
    down = _trend(base_value=48.0, base_ref=65.0, latest_value=46.0, latest_ref=65.0, sens="hausse")
    assert down["tendance"] == "defavorable" and down["evolution"] == pytest.approx(-2.0)


def test_increasing_desired_direction_relative_gap():
    # income 10 000 vs 20 000 (−50 %) → 12 000 vs 20 000 (−40 %): Δ = +10 points of %
    t = _trend(
        base_value=10_000.0, base_ref=20_000.0, latest_value=12_000.0, latest_ref=20_000.0, sens="hausse", unite="€"
    )
    assert t["evolution"] == pytest.approx(10.0)
    assert t["tendance"] == "favorable"


def test_missing_baseline_gives_no_trend():
    t = _trend(base_value=None, base_ref=15.0, latest_value=40.0, latest_ref=15.0, sens="baisse", base_date=None)
    assert t == {"evolution": None, "mesure_tendance": None, "tendance": "sans_base"}


def test_secret_latest_value_gives_no_trend_and_never_zero():
    t = _trend(base_value=44.0, base_ref=15.0, latest_value=None, latest_ref=15.0, sens="baisse")
    assert t == {"evolution": None, "mesure_tendance": None, "tendance": "manquante"}


def test_single_value_gives_no_trend():
    t = _trend(base_value=44.0, base_ref=15.0, latest_value=44.0, latest_ref=15.0, sens="baisse", latest_date=D22)
    assert t["tendance"] == "unique" and t["evolution"] is None


def test_without_reference_territory_the_trend_is_on_the_value():
    t = _trend(base_value=120.0, base_ref=None, latest_value=100.0, latest_ref=None, sens="baisse", unite="jours")
    assert t == {"evolution": pytest.approx(-20.0), "mesure_tendance": "valeur", "tendance": "favorable"}


def test_neutral_and_stable():
    assert (
        _trend(base_value=75.0, base_ref=25.0, latest_value=70.0, latest_ref=25.0, sens="neutre")["tendance"]
        == "neutre"
    )
    assert (
        _trend(base_value=44.0, base_ref=15.0, latest_value=43.0, latest_ref=14.0, sens="baisse")["tendance"]
        == "stable"
    )


def test_percentages_are_never_summed_nor_averaged():
    # a rate: the ratio of the sums of its parts, or no aggregate at all — never a sum, never a mean
    assert gaps.aggregation_method("%", "somme") == gaps.NOT_AGGREGATED
    assert gaps.aggregation_method("%", "moyenne pondérée") == gaps.NOT_AGGREGATED
    assert gaps.aggregation_method("%", "somme", with_parts=True) == gaps.RATIO_OF_SUMS
    assert gaps.aggregation_method("pour 10 000 hab.", "moyenne pondérée", with_parts=True) == gaps.RATIO_OF_SUMS
    assert gaps.aggregation_method("pour 10 000 hab.", "moyenne pondérée") == "moyenne pondérée"
    assert gaps.aggregation_method("nb", "somme") == "somme"
    assert gaps.aggregation_method("€", "moyenne pondérée") == "moyenne pondérée"
    assert gaps.aggregation_method("€", "moyenne pondérée", with_parts=True) == "moyenne pondérée"  # not a ratio
    assert (gaps.rate_scale("%"), gaps.rate_scale("‰"), gaps.rate_scale("pour 10 000 hab."), gaps.rate_scale("€")) == (
        100,
        1000,
        10000,
        None,
    )


# --- queries on a hand-made store -------------------------------------------------------------------

QA, QB, QC = "QN07511M", "QN07512M", "QN07513M"


def _v(code, ttype, terr, d, valeur=None, secret=None, parts=None):
    return {
        "code_indicateur": code,
        "type_territoire": ttype,
        "code_territoire": terr,
        "date_valeur": d,
        "valeur": valeur,
        "secret": secret,
        "numerateur": parts[0] if parts else None,
        "denominateur": parts[1] if parts else None,
    }


@pytest.fixture
def store(empty_store):
    con = empty_store
    minimal_contract(con, "CV-T", (QA, QB, QC))
    con.execute("UPDATE contrat SET siren_signataire = '200000009'")
    con.execute(
        "UPDATE quartier SET population = CASE code_qp WHEN $a THEN 1000 WHEN $b THEN 3000 ELSE 2000 END,"
        " siren_epci = CASE WHEN code_qp = $c THEN NULL ELSE '200000001' END",
        {"a": QA, "b": QB, "c": QC},
    )
    insert(
        con,
        "indicateur",
        [
            {
                "code_indicateur": "T1",
                "libelle": "Taux de pauvreté",
                "unite": "%",
                "sens": "baisse",
                "source": "Insee",
                "axe": "Éducation et émancipation",
                "agregation": "moyenne pondérée",
            },
            {
                "code_indicateur": "T2",
                "libelle": "Demandeurs d'emploi",
                "unite": "nb",
                "sens": "hausse",
                "source": "France Travail",
                "axe": "Emploi et insertion",
                "agregation": "somme",
            },
            {
                "code_indicateur": "T3",
                "libelle": "Part déclarée sommable",
                "unite": "%",
                "sens": "hausse",
                "source": "x",
                "axe": "Santé",
                "agregation": "somme",
            },
            {
                "code_indicateur": "T4",
                "libelle": "Jamais mesuré",
                "unite": "%",
                "sens": "neutre",
                "source": "x",
                "axe": "Santé",
                "agregation": "moyenne pondérée",
            },
        ],
    )
    insert(
        con,
        "valeur_indicateur",
        [
            # T1 with its parts (the QPV's population as denominator, so the ratio of the sums is the
            # population-weighted mean of the rates)
            _v("T1", "QPV", QA, D22, 40.0, parts=(400, 1000)),
            _v("T1", "QPV", QA, D24, 36.0, parts=(360, 1000)),
            _v("T1", "QPV", QB, D22, 50.0, parts=(1500, 3000)),
            _v("T1", "QPV", QB, D24, secret="s"),
            _v("T1", "QPV", QC, D24, 30.0, parts=(600, 2000)),
            _v("T1", "commune", "75118", D22, 15.0),
            _v("T1", "commune", "75118", D24, 14.0),
            _v("T1", "EPCI", "200000001", D22, 16.0),
            _v("T1", "EPCI", "200000001", D24, 16.0),
            _v("T1", "EPCI", "200000009", D24, 12.0),
            _v("T1", "France", "FR", D22, 14.5),
            _v("T1", "France", "FR", D24, 14.0),
            _v("T2", "QPV", QA, D24, 10.0),
            _v("T2", "QPV", QB, D24, 5.0),
            _v("T2", "QPV", QC, D24, secret="nd"),
            _v("T3", "QPV", QA, D24, 10.0),
            _v("T3", "QPV", QB, D24, 20.0),
        ],
    )
    insert(
        con,
        "cible_indicateur",
        [
            {
                "code_indicateur": "T1",
                "code_qp": QA,
                "valeur_reference": 41.0,
                "date_reference": D22,
                "valeur_cible": 30.0,
                "date_cible": date(2030, 12, 31),
            },
        ],
    )
    return con.cursor()


def test_comparison_gap_baseline_and_trend(store):
    frame = ind.comparison(store, code_indicateur="T1", contrat="CV-T", reference="commune", donnees_au=AU)
    rows = {r["code_qp"]: r for r in frame.iter_rows(named=True)}
    assert frame["date_valeur"].unique().to_list() == [D24]
    a, b, c = rows[QA], rows[QB], rows[QC]
    # A: baseline from cible_indicateur (41 in 2022, commune 15) → 36 vs commune 14 in 2024
    assert (a["valeur"], a["valeur_reference_territoire"], a["ecart"]) == (36.0, 14.0, pytest.approx(22.0))
    assert (a["valeur_base"], a["date_base"], a["source_base"]) == (41.0, D22, "valeur de référence")
    assert a["ecart_base"] == pytest.approx(26.0) and a["evolution"] == pytest.approx(-4.0)
    assert a["tendance"] == "favorable" and a["valeur_cible"] == 30.0
    # B: latest value under secret statistique: missing with its reason, never 0
    assert b["valeur"] is None and b["secret"] == "s" and b["motif"] == "secret statistique"
    assert b["ecart"] is None and b["tendance"] == "manquante"
    assert (b["valeur_base"], b["source_base"]) == (50.0, "dernière valeur connue à la signature")
    # C: its only value is the one known at signature → no trend yet
    assert (c["valeur_base"], c["date_base"], c["tendance"]) == (30.0, D24, "unique")


def test_comparison_epci_falls_back_to_the_signatory(store):
    frame = ind.comparison(store, code_indicateur="T1", contrat="CV-T", reference="EPCI", donnees_au=AU)
    refs = dict(zip(frame["code_qp"], frame["code_reference"]))
    assert refs == {QA: "200000001", QB: "200000001", QC: "200000009"}
    c = frame.filter(pl.col("code_qp") == QC).row(0, named=True)
    assert c["ecart"] == pytest.approx(30.0 - 12.0)


def test_comparison_rejects_unknown_reference(store):
    with pytest.raises(ValueError):
        ind.comparison(store, code_indicateur="T1", contrat="CV-T", reference="région; DROP TABLE x", donnees_au=AU)


def test_ratio_of_sums_leaves_secret_values_out(store):
    frame = ind.aggregate(store, code_indicateur="T1", contrat="CV-T", donnees_au=AU)
    rows = {r["date_valeur"]: r for r in frame.iter_rows(named=True)}
    assert rows[D22]["valeur"] == pytest.approx((400 + 1500) / (1000 + 3000) * 100)
    assert rows[D24]["valeur"] == pytest.approx((360 + 600) / (1000 + 2000) * 100)  # B (secret) is not a 0
    assert (rows[D24]["qpv_inclus"], rows[D24]["qpv_total"]) == (2, 3)
    assert frame["methode"].unique().to_list() == [gaps.RATIO_OF_SUMS]


D25 = date(2025, 1, 1)


def test_a_rate_is_the_ratio_of_its_sums_never_a_mean_of_rates(store):
    """Two QPV: 10 % of 100 and 50 % of 900 make 46 % of 1 000 — the mean of the rates (30 %) and the
    mean weighted by population (equal populations here: 30 %) are both wrong. A QPV whose rate
    comes without its parts is shown but left out of the ratio."""
    insert(
        store,
        "valeur_indicateur",
        [
            _v("T3", "QPV", QA, D25, 10.0, parts=(10, 100)),
            _v("T3", "QPV", QB, D25, 50.0, parts=(450, 900)),
            _v("T3", "QPV", QC, D25, 80.0),
        ],
    )
    store.execute("UPDATE quartier SET population = 1000")
    row = (
        ind.aggregate(store, code_indicateur="T3", contrat="CV-T", donnees_au=AU)
        .filter(pl.col("date_valeur") == D25)
        .row(0, named=True)
    )
    assert row["valeur"] == pytest.approx(46.0) and row["methode"] == gaps.RATIO_OF_SUMS
    assert (row["qpv_inclus"], row["qpv_total"]) == (2, 3)


def test_sum_only_for_summable_counts(store):
    counts = ind.aggregate(store, code_indicateur="T2", contrat="CV-T", donnees_au=AU).row(0, named=True)
    assert (counts["valeur"], counts["qpv_inclus"], counts["methode"]) == (15.0, 2, "somme")
    shares = ind.aggregate(store, code_indicateur="T3", contrat="CV-T", donnees_au=AU).row(0, named=True)
    # declared summable, but a % without its parts: never 10 + 20, and no mean of rates either
    assert shares["methode"] == gaps.NOT_AGGREGATED
    assert (shares["valeur"], shares["qpv_inclus"]) == (None, 0)


def test_dictionary_vintage_and_freshness(store):
    frame = ind.dictionary(store, contrat="CV-T", donnees_au=date(2026, 11, 15), max_age_months=24)
    rows = {r["code_indicateur"]: r for r in frame.iter_rows(named=True)}
    assert rows["T1"]["derniere_date"] == D24
    assert (rows["T1"]["qpv_renseignes"], rows["T1"]["qpv_secret"]) == (2, 1)
    assert rows["T1"]["fraicheur"] == "ancienne"  # 34 months > 24
    assert rows["T4"]["fraicheur"] == "aucune valeur"
    assert rows["T1"]["a_reference"] and not rows["T2"]["a_reference"]
    fresh = ind.dictionary(store, contrat="CV-T", donnees_au=date(2026, 11, 15), max_age_months=36)
    assert fresh.filter(pl.col("code_indicateur") == "T1")["fraicheur"].item() == "à jour"


def test_dictionary_search_ignores_case_and_accents(store):
    frame = ind.dictionary(store, contrat=None, donnees_au=date(2026, 11, 15), max_age_months=24)
    assert ind.filter_dictionary(frame, "education")["code_indicateur"].to_list() == ["T1"]
    assert ind.filter_dictionary(frame, "FRANCE travail")["code_indicateur"].to_list() == ["T2"]
    assert ind.filter_dictionary(frame, "  ").height == frame.height
    assert ind.filter_dictionary(frame, "introuvable").is_empty()


def test_trajectory_series_and_secret_points(store):
    traj = ind.trajectory(store, code_indicateur="T1", focus=QB, autres=(QA,), donnees_au=AU)
    counts = dict(traj.group_by("type_serie").len().iter_rows())
    assert counts == {"QPV": 4, "commune": 2, "EPCI": 2, "France": 2}
    plotted = ind.plotted(traj)
    assert plotted["valeur"].null_count() == 0 and plotted.height == 9
    missing = ind.secret_summary(traj)
    assert missing.rows() == [(f"Quartier {QB}", D24, "s", "secret statistique")]
    gap = ind.gap_series(
        ind.trajectory(store, code_indicateur="T1", focus=QA, donnees_au=AU), focus=QA, reference="France", unite="%"
    )
    assert gap.rows() == [(D22, pytest.approx(25.5)), (D24, pytest.approx(22.0))]


def test_markers_only_for_existing_baselines_and_targets(store):
    frame = ind.comparison(store, code_indicateur="T1", contrat="CV-T", reference="France", donnees_au=AU)
    marks = ind.markers(frame, (QA, QB))
    assert sorted(marks.select("serie", "repere", "valeur").rows()) == [
        (f"Quartier {QA}", "Cible", 30.0),
        (f"Quartier {QA}", "Point de départ", 41.0),
        (f"Quartier {QB}", "Point de départ", 50.0),
    ]


def test_display_tables_show_reasons_not_zeros(store):
    frame = ind.comparison(store, code_indicateur="T1", contrat="CV-T", reference="commune", donnees_au=AU)
    table = fig_ind.comparison_table(frame, unite="%")
    rows = {r["Quartier"]: r for r in table.iter_rows(named=True)}
    assert rows[f"Quartier {QB}"]["Valeur"] == "secret statistique"
    assert rows[f"Quartier {QA}"]["Valeur"] == "36,0\u00a0%"
    assert rows[f"Quartier {QA}"]["Écart"] == "+22,0\u00a0pts"
    assert rows[f"Quartier {QA}"]["Évolution"] == "-4,0\u00a0pts (écart)"


def test_french_number_expression():
    s = (
        pl.DataFrame({"x": [1234567.891, -1234.56, -0.04, None]})
        .select(fmt.number_expr(pl.col("x"), 1, signed=True))
        .to_series()
        .to_list()
    )
    assert s == ["+1\u202f234\u202f567,9", "-1\u202f234,6", "0,0", None]


def test_the_commune_series_of_a_qpv_over_several_communes_names_its_main_commune(store):
    """The official list keeps every commune's name (« Paris; Saint-Ouen »): the commune series,
    whose values are the main commune's (`insee_com`), is named after that one only."""
    store.execute(
        "UPDATE quartier SET lib_com = 'Paris; Saint-Ouen-sur-Seine', communes = '75118; 93070' WHERE code_qp = ?", [QA]
    )
    traj = ind.trajectory(store, code_indicateur="T1", focus=QA, donnees_au=AU)
    assert set(traj.filter(pl.col("type_serie") == "commune")["serie"]) == {"Commune : Paris"}
