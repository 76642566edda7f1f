"""UX fixes of « Indicateurs », « Projets de quartier », the demo targets and « Données au »."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from cdv_core import charts, fmt
from cdv_core.domain import gaps
from cdv_core.figures import indicateurs as fig_ind
from cdv_core.queries import indicateurs as ind
from tests.conftest import DEMO_AU, metric, run_app

VERM_QPV = "QN00281M"  # Les Hauts de Vermandie, EPCI 200099018 (signatory of CV-DEMO-VERM)
MONT_QPV = "QN08081M"  # Val Fleuri - Bois Sergent, contract signed by a commune: no EPCI name in the store


def _sql(store, q, params=None):
    con = duckdb.connect(str(store))  # same configuration as the app's in-process connection
    try:
        return con.execute(q, params or {}).fetchall()
    finally:
        con.close()


# --- 1. unit of a change since the baseline ---------------------------------------------------


@pytest.mark.parametrize(
    ("unite", "mesure", "expected"),
    [
        ("€", "écart", "pts"),  # a relative gap (in %) changes by points
        ("%", "écart", "pts"),
        ("%", "valeur", "pts"),  # a rate's own value changes by points too
        ("‰", "valeur", "pts"),
        ("€", "valeur", "€"),
        ("nb", "valeur", "nb"),
    ],
)
def test_change_unit(unite, mesure, expected):
    assert gaps.change_unit(unite, mesure) == expected


def test_comparison_table_writes_points_for_a_relative_gap_change(demo_cur):
    frame = ind.comparison(
        demo_cur, code_indicateur="REVMED", contrat="CV-DEMO-VERM", reference="EPCI", donnees_au=DEMO_AU
    )
    table = fig_ind.comparison_table(frame, unite="€")
    on_gap = frame["mesure_tendance"] == "écart"
    assert on_gap.any()
    for text in table.filter(on_gap)["Évolution"]:
        assert text.endswith("\u00a0pts (écart)"), text
    assert not any(" % (écart)" in t for t in table["Évolution"])


def test_revmed_card_delta_in_points(app_env):
    """REVMED (€): the gap is relative (in % of the EPCI's value); its change since the baseline is
    hand-computed here from the stored values and must read « … pts depuis le départ »."""
    store = app_env
    rows = dict(
        _sql(
            store,
            """SELECT type_territoire || year(date_valeur), valeur FROM valeur_indicateur
                               WHERE code_indicateur = 'REVMED' AND date_valeur <= $au
                                 AND ((type_territoire = 'QPV' AND code_territoire = $q)
                                      OR (type_territoire = 'EPCI' AND code_territoire = '200099018'))""",
            {"au": DEMO_AU, "q": VERM_QPV},
        )
    )
    signature = _sql(
        store, "SELECT year(coalesce(date_signature, date_debut)) FROM contrat WHERE code_contrat = 'CV-DEMO-VERM'"
    )[0][0]
    assert not _sql(
        store, "SELECT 1 FROM cible_indicateur WHERE code_indicateur = 'REVMED' AND code_qp = $q", {"q": VERM_QPV}
    )
    latest = max(int(k[3:]) for k in rows if k.startswith("QPV") and rows[k] is not None)
    base = max(int(k[3:]) for k in rows if k.startswith("QPV") and rows[k] is not None and int(k[3:]) <= signature)
    gap_now = (rows[f"QPV{latest}"] - rows[f"EPCI{latest}"]) / rows[f"EPCI{latest}"] * 100
    gap_base = (rows[f"QPV{base}"] - rows[f"EPCI{base}"]) / rows[f"EPCI{base}"] * 100

    at = run_app("indicateurs")
    at.selectbox(key="indic_indicateur").set_value("REVMED").run()
    at.selectbox(key="indic_qpv").set_value(VERM_QPV).run()
    assert not at.exception
    card = metric(at, "Écart à l'EPCI", prefix=True)
    assert card.value == f"{fmt.number(gap_now, 1)}\u00a0%"
    delta = card.proto.delta
    assert delta == f"{fmt.number(gap_now - gap_base, 1)}\u00a0pts depuis le départ"


# --- 1. French number format on every axis ----------------------------------------------------


def _positional_quantitative(spec) -> list[dict]:
    """Every x/y encoding of a quantitative field in a Vega-Lite spec (all layers)."""
    found = []
    if isinstance(spec, dict):
        enc = spec.get("encoding")
        if isinstance(enc, dict):
            found += [
                enc[c] for c in ("x", "y") if isinstance(enc.get(c), dict) and enc[c].get("type") == "quantitative"
            ]
        for value in spec.values():
            found += _positional_quantitative(value)
    elif isinstance(spec, list):
        for value in spec:
            found += _positional_quantitative(value)
    return found


def test_every_number_axis_is_french(app_env):
    at = run_app("indicateurs")
    at.selectbox(key="indic_indicateur").set_value("REVMED").run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) >= 3  # trajectory, gap, comparison
    axes = [enc for spec in specs for enc in _positional_quantitative(spec)]
    assert len(axes) >= 6
    for enc in axes:
        assert (enc.get("axis") or {}).get("format") == charts.NUMBER_AXIS_FORMAT, enc
        assert enc["axis"]["labelExpr"] == charts.number_axis().to_dict()["labelExpr"]
    assert all(s["config"]["locale"]["number"]["decimal"] == "," for s in specs)


def test_number_axis_labels_read_french():
    """Rendered offline by Vega itself: « 25 000 » with a visible no-break space, « 2,5 »."""
    import re

    import altair as alt
    import polars as pl
    import vl_convert

    def labels(values):
        chart = (
            alt.Chart(pl.DataFrame({"x": [1, 2], "y": values}))
            .mark_line()
            .encode(x=alt.X("x:O"), y=alt.Y("y:Q", axis=charts.number_axis(), scale=alt.Scale(zero=False)))
        )
        svg = vl_convert.vegalite_to_svg(charts.french(chart).to_dict())
        return set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))

    big = labels([10000.0, 25000.0])
    assert "20\u00a0000" in big and "10\u00a0000" in big
    assert not [t for t in big if re.fullmatch(r"\d{5}", t)]
    small = labels([1.0, 3.0])
    assert {"1", "1,2", "1,4", "2"} <= small  # decimal comma, no trailing zeros


# --- 1. the EPCI's name in the legend ---------------------------------------------------------


def test_epci_series_named_after_the_epci(demo_cur):
    traj = ind.trajectory(demo_cur, code_indicateur="PAUV", focus=VERM_QPV, donnees_au=DEMO_AU)
    epci = set(traj.filter(traj["type_serie"] == "EPCI")["serie"].to_list())
    libelle = demo_cur.execute(
        "SELECT libelle FROM contrat WHERE siren_signataire = '200099018' AND type_signataire = 'EPCI'"
    ).fetchall()[0][0]
    assert libelle == "Contrat de ville de la CA du Pays de Vermandie (démo)"
    assert epci == {"EPCI : CA du Pays de Vermandie (démo)"}


def test_epci_without_known_name_keeps_its_siren(demo_cur):
    # Montval's QPV point at SIREN 218099109, which signed its contract as a commune: no EPCI name
    traj = ind.trajectory(demo_cur, code_indicateur="PAUV", focus=MONT_QPV, donnees_au=DEMO_AU)
    assert set(traj.filter(traj["type_serie"] == "EPCI")["serie"].to_list()) == {"EPCI 218099109"}


@pytest.mark.parametrize(
    ("libelle", "serie"),
    [
        ("Contrat de ville – Grand Nord Agglomération", "EPCI : Grand Nord Agglomération"),
        ("Contrat de ville du Pays Vert", "EPCI : Pays Vert"),
        ("Contrat de ville n° 7 (dép. 02)", "EPCI 200099018"),  # names no EPCI: the SIREN stays
    ],
)
def test_epci_name_taken_from_its_contract(demo_store, libelle, serie):
    con = duckdb.connect(str(demo_store))
    try:
        con.execute("UPDATE contrat SET libelle = $l WHERE code_contrat = 'CV-DEMO-VERM'", {"l": libelle})
        traj = ind.trajectory(con.cursor(), code_indicateur="PAUV", focus=VERM_QPV, donnees_au=DEMO_AU)
    finally:
        con.close()
    assert set(traj.filter(traj["type_serie"] == "EPCI")["serie"].to_list()) == {serie}


def test_epci_legend_on_the_page(app_env):
    at = run_app("indicateurs", query={"contrat": "CV-DEMO-VERM"})
    at.selectbox(key="indic_qpv").set_value(VERM_QPV).run()
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    text = json.dumps(spec, ensure_ascii=False) + "".join(str(r) for r in _arrow_rows(at.get("vega_lite_chart")[0]))
    assert "EPCI : CA du Pays de Vermandie (démo)" in text
    assert "EPCI 200099018" not in text


def _arrow_rows(chart) -> list[dict]:
    import pyarrow as pa

    rows = []
    for dataset in chart.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


# --- 1. missing values under the chart; a reference territory that stays chosen ---------------


def test_missing_values_table_not_squeezed_in_a_side_column(app_env):
    at = run_app("indicateurs")
    at.selectbox(key="indic_indicateur").set_value("INSEC").run()
    assert not at.exception
    missing = [d for d in at.dataframe if "Motif" in d.value.columns]
    assert len(missing) == 1 and len(missing[0].value) >= 1
    assert list(missing[0].value.columns) == ["Série", "Date", "Motif"]
    for column in at.columns:  # never inside st.columns (it showed one column out of three at 1280 px)
        assert not [d for d in column.dataframe if "Motif" in d.value.columns]


def test_reference_territory_cannot_be_emptied(app_env):
    at = run_app("indicateurs")
    radio = at.radio(key="indic_reference")
    assert radio.value == "EPCI"
    assert list(radio.options) == ["Commune", "EPCI", "France"]
    radio.set_value("France").run()
    assert metric(at, "Écart à", prefix=True).label == "Écart à la France"
    assert at.radio(key="indic_reference").value == "France"


# --- 2. the period of the Projets de quartier amounts -----------------------------------------


def test_projets_amounts_say_their_period(app_env):
    at = run_app("projets_quartier", query={"contrat": "CV-DEMO-VERM"})
    assert not at.exception
    card = metric(at, "Accordé aux actions en QPV", prefix=True)
    assert card.label == "Accordé aux actions en QPV (toutes années)"
    total = _sql(
        app_env,
        """SELECT sum(f.montant_accorde)::DOUBLE FROM financement f JOIN action a USING (code_action)
                             WHERE a.code_contrat = 'CV-DEMO-VERM'
                               AND EXISTS (SELECT 1 FROM action_quartier aq WHERE aq.code_action = a.code_action)""",
    )
    assert card.value == fmt.euros_compact(total[0][0])
    assert metric(at, "Versé aux actions en QPV", prefix=True).label.endswith("(toutes années)")
    assert metric(at, "Accordé hors QPV", prefix=True).label.endswith("(toutes années)")


# --- 3. demo targets: a rate stays within [0, 100] --------------------------------------------


def test_demo_rates_within_0_100(demo_cur):
    bad_values = demo_cur.execute(
        """SELECT count(*) FROM valeur_indicateur v JOIN indicateur i USING (code_indicateur)
           WHERE i.unite = '%' AND (v.valeur < 0 OR v.valeur > 100)"""
    ).fetchall()[0][0]
    bad_targets = demo_cur.execute(
        """SELECT count(*) FROM cible_indicateur c JOIN indicateur i USING (code_indicateur)
           WHERE i.unite = '%' AND (c.valeur_cible < 0 OR c.valeur_cible > 100
                                    OR c.valeur_reference < 0 OR c.valeur_reference > 100)"""
    ).fetchall()[0][0]
    assert (bad_values, bad_targets) == (0, 0)
    # the DNB targets close part of the gap to the reference: there are some, and none is 100 %
    dnb = demo_cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE valeur_cible >= 100) FROM cible_indicateur "
        "WHERE code_indicateur = 'DNB' AND valeur_cible IS NOT NULL"
    ).fetchall()[0]
    assert dnb[0] >= 1 and dnb[1] == 0


# --- 4. « Données au » ------------------------------------------------------------------------


def _sidebar_warnings(at) -> list[str]:
    return [w.value for w in at.sidebar.warning]


def test_donnees_au_bounded_and_warned(app_env):
    at = run_app("vue_ensemble")
    box = at.date_input(key="sidebar_donnees_au")
    assert box.value == DEMO_AU
    assert box.max == date(2030, 12, 31)  # demo contracts end on 31/12/2030
    assert not [w for w in _sidebar_warnings(at) if "s'arrêtent" in w]
    box.set_value(date(2029, 1, 1)).run()
    assert not at.exception
    assert f"Les données s'arrêtent au {fmt.day(DEMO_AU)}" in " ".join(_sidebar_warnings(at))


def test_donnees_au_from_url_beyond_the_contracts_is_ignored_with_a_message(app_env):
    at = run_app(query={"au": "2035-06-01"})  # the session's first run reads the link (and says what it ignored)
    assert not at.exception
    assert at.date_input(key="sidebar_donnees_au").value == DEMO_AU  # the store's date, as without a link
    assert [t.value for t in at.toast] == [
        f"Paramètre « au » invalide ({fmt.md('2035-06-01')}) : une date entre le 01/01/2023 et le 31/12/2030 est "
        f"attendue, écrite AAAA-MM-JJ ; affichage au {fmt.day(DEMO_AU)}."
    ]
