"""The QPV map's deck: offline background near the data only, names, chosen quartier, tooltip."""

from __future__ import annotations

import json
import threading
import time

import polars as pl

from cdv_core import geo
from cdv_core.domain import progress
from cdv_core.ui import maps
from tests.conftest import run_app

SQUARE = json.dumps(
    {"type": "Polygon", "coordinates": [[[4.82, 45.74], [4.84, 45.74], [4.84, 45.76], [4.82, 45.76], [4.82, 45.74]]]}
)


def _frame(**over) -> pl.DataFrame:
    data = {
        "code_qp": ["QN06901M", "QN06902M"],
        "libelle": ["Les Étoiles", "Mermoz"],
        "longitude": [4.83, 4.88],
        "latitude": [45.75, 45.73],
        "contour": [SQUARE, None],
    }
    return pl.DataFrame({**data, **over})


def _layers(deck) -> dict[str, dict]:
    return {layer["id"]: layer for layer in json.loads(deck.to_json())["layers"]}


def test_background_holds_only_outlines_near_the_qpv():
    layers = _layers(maps.qpv_map(_frame(), tooltip_html="{libelle}"))
    deps = {f["properties"]["code"] for f in layers["fond-departements"]["data"]["features"]}
    assert "69" in deps and "13" not in deps and "971" not in deps and len(deps) < 10
    communes = {f["properties"]["nom"] for f in layers["fond-communes"]["data"]["features"]}
    assert "Lyon" in communes and "Marseille" not in communes
    assert not layers["fond-departements"]["pickable"]  # no tooltip on the background
    assert layers["qpv-contours"]["data"]["features"][0]["properties"]["code_qp"] == "QN06901M"
    assert layers["qpv-points"]["data"][0]["code_qp"] == "QN06902M"


def test_a_national_view_gets_departements_only_and_a_light_payload():
    frame = _frame(longitude=[-1.5, 7.5], latitude=[43.5, 49.0], contour=[None, None])
    deck = maps.qpv_map(frame, tooltip_html="{libelle}")
    layers = _layers(deck)
    assert "fond-communes" not in layers
    assert len(layers["fond-departements"]["data"]["features"]) >= 90
    assert len(deck.to_json()) < 400_000
    assert "\n" not in deck.to_json()  # compact JSON: Streamlit sends it as is


def test_names_are_written_with_accents_and_a_halo():
    names = _layers(maps.qpv_map(_frame(), tooltip_html="{libelle}"))["qpv-noms"]
    assert names["@@type"] == "TextLayer"
    assert [d["nom"] for d in names["data"]] == ["Les Étoiles", "Mermoz"]
    assert names["characterSet"] == "auto"  # not « @@=auto »: every accented letter gets a glyph
    assert names["getSize"] >= 14 and names["background"] is True


def test_names_are_left_out_when_there_are_many_qpv():
    n = maps.MAX_LABELS + 1
    frame = pl.DataFrame(
        {
            "code_qp": [f"Q{i}" for i in range(n)],
            "libelle": [f"Q {i}" for i in range(n)],
            "longitude": [4.8 + i / 1000 for i in range(n)],
            "latitude": [45.7] * n,
        }
    )
    assert "qpv-noms" not in _layers(maps.qpv_map(frame, tooltip_html="{libelle}"))


def test_the_chosen_quartier_is_outlined():
    by_contour = _layers(maps.qpv_map(_frame(), tooltip_html="{libelle}", chosen="QN06901M"))["qpv-choisi"]
    assert by_contour["data"]["features"][0]["properties"]["code_qp"] == "QN06901M"
    assert by_contour["lineWidthMinPixels"] >= 3
    by_point = _layers(maps.qpv_map(_frame(), tooltip_html="{libelle}", chosen="QN06902M"))["qpv-choisi"]
    assert by_point["@@type"] == "ScatterplotLayer" and by_point["data"] == [{"longitude": 4.88, "latitude": 45.73}]
    assert "qpv-choisi" not in _layers(maps.qpv_map(_frame(), tooltip_html="{libelle}"))


def test_tooltip_is_pinned_inside_the_map():
    style = maps.qpv_map(_frame(), tooltip_html="{libelle}")._tooltip["style"]
    assert style["transform"] == "none" and style["bottom"] and style["left"]


def test_the_view_without_any_placed_qpv_has_no_background():
    frame = _frame(longitude=[None, None], latitude=[None, None], contour=[None, None])
    layers = _layers(maps.qpv_map(frame, tooltip_html="{libelle}"))
    assert not any(name.startswith("fond-") for name in layers)


def test_overlapping_names_are_left_out_the_chosen_one_kept():
    frame = _frame(longitude=[4.83, 4.8301], latitude=[45.75, 45.7501], contour=[None, None])
    names = _layers(maps.qpv_map(frame, tooltip_html="{libelle}", chosen="QN06902M"))["qpv-noms"]
    assert [d["nom"] for d in names["data"]] == ["Mermoz"]


def test_a_zoomed_out_view_marks_each_contour_with_a_point():
    far = json.dumps({"type": "Polygon", "coordinates": [[[-1.5, 43.5], [-1.49, 43.5], [-1.49, 43.51], [-1.5, 43.5]]]})
    frame = _frame(longitude=[-1.495, 7.5], latitude=[43.505, 49.0], contour=[far, None])
    markers = _layers(maps.qpv_map(frame, tooltip_html="{libelle}"))["qpv-marqueurs"]
    assert [d["code_qp"] for d in markers["data"]] == ["QN06901M"] and markers["pickable"]


def test_the_legend_names_every_status_and_the_chosen_mark():
    text = maps.legend()
    assert all(f"**{status}**" in text for status in maps.STATUS_PALETTE)
    assert "quartier choisi" in text and ":red[**⬤**]" in text


def test_no_basemap_by_default_and_the_optional_tiles_as_a_raster_style():
    offline = json.loads(maps.qpv_map(_frame(), tooltip_html="{libelle}").to_json())
    assert "mapStyle" not in offline or offline["mapStyle"] == "__MAP_STYLE__"  # nothing fetched outside
    assert offline["layers"][0]["filled"] is True  # the départements tinted
    tiles = "https://tuiles.test/plan/{z}/{x}/{y}.png"
    deck = json.loads(maps.qpv_map(_frame(), tooltip_html="{libelle}", tiles=tiles).to_json())
    prefix = "data:application/json,"
    assert deck["mapStyle"].startswith(prefix)
    from urllib.parse import unquote

    style = json.loads(unquote(deck["mapStyle"][len(prefix) :]))
    assert style["sources"]["tuiles"] == {"type": "raster", "tiles": [tiles], "tileSize": 256}
    assert [layer["type"] for layer in style["layers"]] == ["raster"]
    assert (
        _layers(maps.qpv_map(_frame(), tooltip_html="{libelle}", tiles=tiles))["fond-departements"]["filled"] is False
    )
    assert maps.attribution(tiles).endswith("· tuiles : tuiles.test")
    assert maps.attribution() == maps.ATTRIBUTION


def test_the_same_rows_give_the_same_deck_and_its_json_is_written_once():
    # as Projets de quartier draws it: the statuses' colours are an [r, g, b] list column
    frame = maps.with_status_color(_frame(statut=[progress.EN_BONNE_VOIE, progress.EN_RETARD]))
    deck = maps.qpv_map(frame, color_column="couleur", tooltip_html="{libelle}")
    text = deck.to_json()
    again = maps.qpv_map(
        maps.with_status_color(_frame(statut=[progress.EN_BONNE_VOIE, progress.EN_RETARD])),
        color_column="couleur",
        tooltip_html="{libelle}",
    )
    assert again is deck and again.to_json() is text  # kept by content, not serialised again
    assert json.loads(text) == json.loads(
        maps.qpv_map.uncached(frame, color_column="couleur", tooltip_html="{libelle}").to_json()
    )
    chosen = maps.qpv_map(frame, color_column="couleur", tooltip_html="{libelle}", chosen="QN06901M")
    moved = maps.qpv_map(
        maps.with_status_color(_frame(statut=[progress.EN_RETARD, progress.EN_RETARD])),
        color_column="couleur",
        tooltip_html="{libelle}",
    )
    assert chosen is not deck and "qpv-choisi" in _layers(chosen) and "qpv-choisi" not in _layers(deck)
    assert moved is not deck and _layers(moved)["qpv-contours"] != _layers(deck)["qpv-contours"]


def test_the_basemap_is_read_once_per_process_at_its_first_map(app_env, monkeypatch):
    """The outlines are read when a map first needs them, not by a page without a map, and once
    per process (the real cache, emptied for the test); four first maps asking at once during a
    slow read read the file once (the lock per file: without it, each would read it)."""
    read: list[str] = []
    real = geo.unpack

    def slow_unpack(path):
        read.append(path.stem)
        time.sleep(0.2)  # long enough for the four askers below to arrive during the read
        return real(path)

    monkeypatch.setattr(geo, "unpack", slow_unpack)
    geo._parse.cache_clear()
    try:
        at = run_app()  # the overview: no map drawn
        assert not at.exception, at.exception
        assert not at.get("deck_gl_json_chart") and not read
        askers = [threading.Thread(target=geo.read_outlines, args=("departements",)) for _ in range(4)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(timeout=60)
            assert not asker.is_alive()
        assert read == ["departements"]  # once, though four asked at once
        at.switch_page("pages/projets_quartier.py")
        at.run()
        assert not at.exception, at.exception
        assert at.get("deck_gl_json_chart")
        assert read == ["departements"]  # not read again (« Tous les contrats »: the départements only)
    finally:
        geo._parse.cache_clear()  # the next test reads the real files again
