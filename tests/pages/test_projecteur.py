"""Projector UX of the séance, the jalons frise and the gouvernance page: card layout and value
sizing in live mode, the projet de quartier section (its QPV, its chart), the frise's axis and
reference dates, the wording of the 12-month figures and of the tolerance footnote."""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import polars as pl
import pytest

from cdv_core import fmt, seance, settings, store
from cdv_core.domain import progress
from cdv_core.queries import gouvernance
from cdv_core.ui import widgets
from tests.conftest import DEMO_AU, run_app

CONTRAT = "CV-DEMO-VERM"
REVUE = "Revue de projet de quartier Les Tanneries - Clos Margot"


# --- live-mode card layout and value sizing -------------------------------------------------


@pytest.mark.parametrize(
    ("n", "rows"),
    [
        (0, ()),
        (1, (1,)),
        (2, (2,)),
        (3, (3,)),
        (4, (2, 2)),
        (5, (3, 2)),
        (6, (3, 3)),
        (7, (3, 2, 2)),
        (10, (3, 3, 2, 2)),
    ],
)
def test_cards_rows_hold_at_most_three_and_are_even(n, rows):
    assert seance.card_rows(n) == rows
    assert sum(rows) == n


@pytest.mark.parametrize(
    ("value", "measured"),
    [
        ("1\u202f122\u202f190\u00a0€", 4.42),
        ("31 décembre 2027", 7.58),
        ("en retard", 3.78),
        ("16\u202f570", 2.6),
        ("57,9\u00a0%", 2.76),
        ("J-411", 2.28),
        ("données insuffisantes", 9.09),
        ("échéance dépassée", 8.09),
    ],
)
def test_value_width_estimate_is_a_slight_overestimate(value, measured):
    # `measured`: canvas measureText of the value in the app font (Source Sans 400) at 1 em, Chromium.
    assert measured <= seance.value_ems(value) <= measured * 1.2


def test_fit_class_follows_the_widest_value_of_the_section():
    figures = (seance.Figure("A", "6"), seance.Figure("B", "1\u202f122\u202f190\u00a0€"), seance.Figure("C", "J-411"))
    assert seance.fit_ems(figures) == 5  # ceil(4.8 em)
    assert seance.fit_ems((seance.Figure("A", "6"),)) == seance.FIT_EMS_MIN
    assert seance.fit_ems((seance.Figure("A", "x" * 60),)) == seance.FIT_EMS_MAX
    assert seance.fit_ems(()) == seance.FIT_EMS_MIN


def test_presentation_css_sizes_values_to_the_card_and_lets_labels_wrap():
    css = widgets._PRESENTATION_CSS % ""
    assert "container-type: inline-size" in css
    # every value size is a clamp() bounded by 3.2rem, never a fixed size that overflows a card
    sizes = re.findall(r'stMetricValue"\] \{ font-size: ([^;]+);', css)
    assert len(sizes) == 1 + 24 and all(s.startswith("clamp(1.5rem,") and s.endswith("3.2rem)") for s in sizes)
    for n in range(seance.FIT_EMS_MIN, seance.FIT_EMS_MAX + 1):
        assert f".st-key-seance_fit_{n} " in css and f"(100cqi - 2.2rem) / {n})" in css
    assert "white-space: normal" in css and "text-overflow: clip" in css
    assert "display: none" in widgets._PRESENTATION_CSS % widgets._HIDE_SIDEBAR


def _start(at, instance: str | None = None, qpv: str | None = None):
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    if instance:
        at.selectbox(key="seance_instance").set_value(instance).run()
    if qpv:
        box = next(s for s in at.selectbox if s.label == "Quartier présenté")
        box.set_value(qpv).run()
    at.button(key="seance_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _instance(path, libelle: str) -> tuple[str, str | None]:
    con = duckdb.connect(str(path))  # same process as the app: shares its database instance
    try:
        return con.execute("SELECT code_instance, code_qp FROM instance WHERE libelle = ?", [libelle]).fetchall()[0]
    finally:
        con.close()


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _block_key(node) -> str:
    proto = getattr(node, "proto", None)
    return getattr(proto, "id", "") if proto is not None and type(node).__name__ == "Block" else ""


def test_live_section_lays_out_three_cards_a_row_in_a_fit_container(app_env):
    at = _start(run_app("seance"))
    fit = [n for n in _walk(at.main) if re.search(r"-seance_fit_\d+$", _block_key(n))]
    assert len(fit) == 1 and _block_key(fit[0]).endswith("-seance_fit_5")  # « 1 122 190 € »: ceil(4.8 em)
    rows = list(fit[0].children.values())
    # vue d'ensemble: 7 cards, 3 columns a row (same card width everywhere), filled 3 + 2 + 2
    assert [len(row.children) for row in rows] == [3, 3, 3]
    assert [sum(1 for n in _walk(row) if getattr(n, "type", None) == "metric") for row in rows] == [3, 2, 2]
    # the navigation buttons sit in the séance bar (kept in view), each as wide as its text, with
    # the position in the agenda
    nav = next(n for n in _walk(at.main) if _block_key(n).endswith("-seance_nav"))
    assert [getattr(b, "label", None) for b in nav.children.values() if getattr(b, "type", None) == "button"] == [
        "Précédent",
        "Suivant",
    ]
    assert any("Section 1 sur 6" in str(getattr(b, "value", "")) for b in nav.children.values())


# --- projet de quartier section ---------------------------------------------------------------


def test_revue_instance_presents_its_own_qpv_by_default(app_env):
    code_instance, code_qp = _instance(app_env, REVUE)
    assert code_qp is not None
    at = run_app("seance")
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    at.selectbox(key="seance_instance").set_value(code_instance).run()
    box = next(s for s in at.selectbox if s.label == "Quartier présenté")
    assert box.value == code_qp
    at.button(key="seance_start").click().run()
    at.button(key="seance_next").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.header[0].value == "Projet de quartier — Les Tanneries - Clos Margot"


def test_contract_wide_instance_keeps_the_most_worrying_qpv(app_env):
    copil, code_qp = _instance(app_env, "Comité de pilotage — CA du Pays de Vermandie (démo)")
    assert code_qp is None
    at = run_app("seance")
    at.sidebar.selectbox(key="sidebar_contrat").set_value(CONTRAT).run()
    at.selectbox(key="seance_instance").set_value(copil).run()
    box = next(s for s in at.selectbox if s.label == "Quartier présenté")
    assert box.value is None  # « Le plus en difficulté »


@pytest.fixture(scope="module")
def moulin(demo_store_master):
    con = duckdb.connect(str(demo_store_master), read_only=True)
    try:
        code = con.execute("SELECT code_qp FROM quartier WHERE libelle = 'Résidence du Moulin Brûlé'").fetchall()[0][0]
        yield seance.agenda(
            con.cursor(),
            keys=("projet_quartier", "vue_ensemble", "gouvernance"),
            contrat=CONTRAT,
            donnees_au=DEMO_AU,
            settings=settings.load(),
            code_qp=code,
        )
    finally:
        con.close()


def test_objectives_chart_labels_every_status_and_counts_them(moulin):
    section = moulin[0]
    spec = section.chart
    data = next(iter(spec["datasets"].values()))
    # independent: the statuses of the section's own table, quartier objectives only
    table = section.table.filter(pl.col("Axe") != "Socle transversal")
    expected = dict(table.group_by("Statut").len().iter_rows())
    assert {row["statut"]: row["objectifs"] for row in data} == expected
    assert len(expected) == 3  # en bonne voie, à surveiller, en retard: three bars, three labels
    assert {row["nombre"] for row in data} == {fmt.plural(n, "objectif") for n in expected.values()}
    bars, counts = spec["layer"]
    y = spec["encoding"]["y"] if "encoding" in spec else bars["encoding"]["y"]
    assert y["axis"]["labelOverlap"] is False and y["sort"] == list(progress.STATUTS)
    assert (spec.get("encoding") or bars["encoding"])["x"]["axis"] is None  # no bare 0–1 axis
    assert counts["mark"]["type"] == "text"
    assert spec["height"] == {"step": 44}


def test_section_charts_use_projector_font_sizes(moulin):
    for section in moulin:
        if section.chart is None:
            continue
        config = section.chart["config"]
        assert config["axis"]["labelFontSize"] >= 14 and config["title"]["fontSize"] >= 18
        assert config["locale"]["number"]["decimal"] == ","
    assert moulin[1].chart["height"] == {"step": 28}  # bars keep their height under Streamlit's theme


def test_gouvernance_section_says_the_twelve_month_window(moulin, demo_cur):
    labels = {f.label: f.value for f in moulin[2].figures}
    label = f"Réunions tenues ({gouvernance.RECENT_MONTHS} derniers mois)"
    held = demo_cur.execute(
        """SELECT count(*) FROM reunion r JOIN instance i USING (code_instance)
           WHERE i.code_contrat = ? AND r.statut = 'tenue' AND r.date_reunion <= ?
             AND r.date_reunion > ? - INTERVAL 12 MONTH""",
        [CONTRAT, DEMO_AU, DEMO_AU],
    ).fetchall()[0][0]
    assert labels[label] == fmt.integer(held)


# --- gouvernance page ----------------------------------------------------------------------------


def test_gouvernance_headline_and_footnote_wording(app_env, demo_cur):
    at = run_app("gouvernance", query={"contrat": CONTRAT})
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    held = demo_cur.execute(
        """SELECT count(*), coalesce(sum(nb_habitants), 0) FROM reunion r JOIN instance i USING (code_instance)
           WHERE i.code_contrat = ? AND r.statut = 'tenue' AND r.date_reunion <= ?
             AND r.date_reunion > ? - INTERVAL 12 MONTH""",
        [CONTRAT, DEMO_AU, DEMO_AU],
    ).fetchall()[0]
    assert metrics["Réunions tenues (12 derniers mois)"] == fmt.integer(held[0])
    assert held[0] > 0
    assert metrics["Habitants présents (12 derniers mois)"] == fmt.integer(held[1])
    captions = " ".join(c.value for c in at.caption)
    assert "CDV_" not in captions
    tolerance = settings.load().cadence_tolerance_days
    assert f"une tolérance de {fmt.plural(tolerance, 'jour')} (réglable" in captions


def test_participation_axis_title_is_short(app_env):
    at = run_app("gouvernance", query={"contrat": CONTRAT})
    at.session_state["gouv_tabs"] = "Participation des habitants"
    at.run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    titles = [
        s["encoding"]["y"]["title"]
        for s in specs
        if s.get("encoding", {}).get("y", {}).get("field") == "habitants_par_reunion"
    ]
    assert titles == ["Habitants / réunion"]


# --- jalons frise --------------------------------------------------------------------------------


def _frise(at) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    return next(
        s
        for s in specs
        if "layer" in s
        and any(layer.get("encoding", {}).get("color", {}).get("field") == "repere" for layer in s["layer"])
    )


@pytest.mark.parametrize("contrat", [CONTRAT, None])
def test_frise_axis_years_and_reference_dates_in_a_legend(app_env, contrat):
    at = run_app("jalons", query={"contrat": contrat} if contrat else None)
    assert not at.exception
    spec = _frise(at)
    dots, rules = spec["layer"]
    years = [v["year"] for v in dots["encoding"]["x"]["axis"]["values"]]
    assert years == list(range(2024, 2031))  # no « 2031 » tick
    domain = dots["encoding"]["x"]["scale"]["domain"]
    assert date.fromisoformat(domain[0]) >= date(2023, 9, 1) and date.fromisoformat(domain[1]) <= date(2031, 1, 31)
    # the two reference dates are named in a legend, not written on the chart (they overlapped)
    assert all(layer["mark"]["type"] != "text" for layer in spec["layer"])
    legend = rules["encoding"]["color"]
    assert legend["scale"]["domain"] == [f"données au {fmt.day(DEMO_AU)}", "actualisation : 31/12/2027"]
    assert spec["resolve"]["scale"]["color"] == "independent"
    # « Tous les contrats »: one sub-row per status, so equal dates with different statuses stay visible
    assert ("yOffset" in dots["encoding"]) == (contrat is None)


def test_a_seance_opens_on_the_contracts_copil(app_env):
    frame = pl.DataFrame(
        {
            "code_instance": ["REV", "COPIL-1", "COTECH"],
            "type_instance": ["revue de projet de quartier", "COPIL", "COTECH"],
        }
    )
    assert seance.instance_order(frame) == ["COPIL-1", "REV", "COTECH"]
    at = run_app("seance")
    at.sidebar.selectbox(key="sidebar_contrat").set_value("CV-DEMO-VERM").run()
    chosen = at.selectbox(key="seance_instance").value
    con = store.connect(app_env)
    try:
        kind = store.scalar(con, "SELECT type_instance FROM instance WHERE code_instance = $i", {"i": chosen})
    finally:
        con.close()
    assert kind == "COPIL"
