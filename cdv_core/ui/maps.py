"""pydeck maps of QPV that need no Mapbox token and no network: layers only, no basemap tiles.

The background is drawn from two files shipped in `cdv_core/fonds/` (outlines of the départements
and of the communes holding a QPV, IGN Admin Express COG 2018 simplified, Licence Ouverte): read
once per process, and only the outlines near the QPV shown are sent to the browser."""

from __future__ import annotations

import functools
import json
import math
import weakref
from collections.abc import Mapping
from typing import Literal
from urllib.parse import quote, urlsplit

import numpy as np
import polars as pl
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from cdv_core import geo
from cdv_core.domain import progress
from cdv_core.memo import by_content

DEFAULT_COLOR = (31, 78, 121)

# Status colours of the maps, matching Streamlit's Markdown colours used in the legends.
# Streamlit's named colours (st.badge, Markdown) that the statuses use.
StatusColor = Literal["green", "orange", "red", "gray"]
STATUS_PALETTE: dict[str, tuple[tuple[int, int, int], StatusColor]] = {
    progress.EN_BONNE_VOIE: ((33, 160, 84), "green"),
    progress.A_SURVEILLER: ((255, 164, 33), "orange"),
    progress.EN_RETARD: ((230, 57, 57), "red"),
    progress.DONNEES_INSUFFISANTES: ((128, 132, 149), "gray"),
}
STATUS_HEX: dict[str, str] = {
    s: "#{:02x}{:02x}{:02x}".format(*rgb) for s, (rgb, _) in STATUS_PALETTE.items()
}  # for charts


def with_status_color(
    frame: pl.DataFrame,
    *,
    status_column: str = "statut",
    color_column: str = "couleur",
    palette: Mapping[str, tuple[tuple[int, int, int], str]] | None = None,
) -> pl.DataFrame:
    """Add an [r, g, b] column for `qpv_map(color_column=...)` from a status column."""
    palette = palette or STATUS_PALETTE
    mapping = {k: list(rgb) for k, (rgb, _) in palette.items()}
    return frame.with_columns(
        pl.col(status_column)
        .replace_strict(mapping, default=list(DEFAULT_COLOR), return_dtype=pl.List(pl.Int64))
        .alias(color_column)
    )


ATTRIBUTION = "Fond de carte : IGN Admin Express COG 2018 · INSEE COG — Licence Ouverte"
HIGHLIGHT_COLOR = (20, 20, 20)
MAX_LABELS = 40  # QPV names are written on the map up to this many QPV
LABEL_PX = 14
MARKERS_BELOW_ZOOM = 9.5  # below this zoom a QPV contour also gets a marker at its centre
COMMUNES_MAX_DEGREES = 0.6  # a wider selection gets the départements only (no communes)
_TOLERANCES = (0.0005, 0.001, 0.002, 0.004, 0.0075, 0.015, 0.03)  # degrees, see `_background_layers`


@functools.lru_cache(maxsize=128)
def background_features(
    name: str, box: tuple[float, float, float, float], *, tolerance: float = 0.0005
) -> tuple[dict, ...]:
    """The outlines of `fonds/<name>` whose bounding box meets `box` (lon_min, lat_min, lon_max,
    lat_max), simplified: inside `box` a point closer than `tolerance` degrees to the last kept
    one is dropped, outside it (off screen) closer than `_COARSE` degrees. Cached per view, so a
    rerun of the same selection costs nothing."""
    lon_min, lat_min, lon_max, lat_max = box
    decimals = 2 if tolerance >= 0.01 else 3 if tolerance >= 0.001 else 4
    out = []
    for (x0, y0, x1, y1), feature in geo.read_outlines(name):
        if x0 > lon_max or x1 < lon_min or y0 > lat_max or y1 < lat_min:
            continue
        polygons = []
        for polygon in feature["polygons"]:
            rings = [
                ring for ring in (_simplify_ring(ring, box, tolerance, decimals) for ring in polygon) if len(ring) >= 4
            ]
            if rings:
                polygons.append(rings)
        if polygons:
            out.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "MultiPolygon", "coordinates": polygons},
                    "properties": {"code": feature["code"], "nom": feature["nom"]},
                }
            )
    return tuple(out)


_COARSE = 0.03  # degrees: the simplification of outlines outside the view


def _simplify_ring(ring: np.ndarray, box: tuple[float, float, float, float], tolerance: float, decimals: int) -> list:
    """Radial-distance simplification of an (n, 2) array of points, finer inside `box`; the ring
    stays closed."""
    lon_min, lat_min, lon_max, lat_max = box
    out: list = []
    last_lon = last_lat = math.inf
    for lon, lat in ring[:-1].tolist():
        tol = tolerance if lon_min <= lon <= lon_max and lat_min <= lat <= lat_max else _COARSE
        if abs(lon - last_lon) >= tol or abs(lat - last_lat) >= tol:
            out.append([round(lon, decimals), round(lat, decimals)])
            last_lon, last_lat = lon, lat
    if out:
        out.append(out[0])
    return out


def _bounds(frame: pl.DataFrame) -> tuple[float, float, float, float]:
    """Longitude min and max, latitude min and max of the placed rows (nulls ignored)."""
    lon, lat = pl.col("longitude"), pl.col("latitude")
    return frame.select(
        lon.min().alias("lon_min"), lon.max().alias("lon_max"), lat.min().alias("lat_min"), lat.max().alias("lat_max")
    ).row(0)


def _background_layers(data: pl.DataFrame, *, tiles: bool = False) -> list[pdk.Layer]:
    """Départements (and, for a local view, the communes holding a QPV) around the QPV shown:
    outlines, not pickable (no tooltip); the départements filled in a light tint unless a tile
    layer is drawn under them (`tiles`)."""
    placed = data.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null())
    if placed.is_empty():
        return []
    lon_min, lon_max, lat_min, lat_max = _bounds(placed)
    span = max(lon_max - lon_min, lat_max - lat_min, 0.2)
    margin = span * 0.5  # the map is wider than the area fitted to the QPV (see `_view`)
    box = tuple(round(v, 2) for v in (lon_min - margin, lat_min - margin, lon_max + margin, lat_max + margin))
    # ≈ 2 px at the fitted zoom (the QPV span ≈ 380 px), from a few values so each is computed once
    tolerance = max([t for t in _TOLERANCES if t <= span / 200], default=_TOLERANCES[0])
    layers = [
        pdk.Layer(
            "GeoJsonLayer",
            {
                "type": "FeatureCollection",
                "features": list(background_features("departements", box, tolerance=tolerance)),
            },
            id="fond-departements",
            pickable=False,
            stroked=True,
            filled=not tiles,
            get_fill_color=[246, 244, 238],
            get_line_color=[120, 120, 120],
            line_width_min_pixels=1.5,
        )
    ]
    if span <= COMMUNES_MAX_DEGREES:
        layers.append(
            pdk.Layer(
                "GeoJsonLayer",
                {
                    "type": "FeatureCollection",
                    "features": list(background_features("communes-avec-qpv", box, tolerance=tolerance)),
                },
                id="fond-communes",
                pickable=False,
                stroked=True,
                filled=False,
                get_line_color=[170, 170, 170],
                line_width_min_pixels=1,
            )
        )
    return layers


def legend(palette: Mapping[str, tuple[tuple[int, int, int], str]] | None = None, *, chosen: bool = True) -> str:
    """The status legend at body size in bold, large filled dots (readable from the back of a room
    on a projector), with the chosen quartier's mark."""
    palette = palette or STATUS_PALETTE
    items = [f":{name}[**⬤**]\u00a0**{label}**" for label, (_, name) in palette.items()]
    if chosen:
        items.append("**◯**\u00a0**contour noir épais** : quartier choisi")
    return " · ".join(items)


@by_content
def qpv_map(
    frame: pl.DataFrame,
    *,
    tooltip_html: str,
    color_column: str | None = None,
    chosen: str | None = None,
    label_column: str = "libelle",
    tiles: str = "",
) -> pdk.Deck:
    """A map of QPV: contours (GeoJSON in column `contour`) where present, centroids otherwise,
    over the outlines of the départements and communes around them.

    `frame` needs `longitude`, `latitude`, optionally `contour` (GeoJSON geometry text) and, when
    `color_column` is given, a column of [r, g, b] lists. `tooltip_html` uses `{column}`
    placeholders of the frame. `chosen`: the `code_qp` drawn with a thick dark outline. The QPV
    names (`label_column`) are written on the map when there are at most `MAX_LABELS` QPV.
    `map_provider=None`: no external request, so it renders offline. `tiles` (the CDV_FOND_TUILES
    setting, off by default): a raster tile service drawn under everything, see `tile_style`.

    Built once per content (`cdv_core.memo`): the same rows give every session the same deck, whose
    JSON is written once (`CompactDeck`); nobody changes it after.
    """
    color = color_column or "_color"
    data = frame if color_column else frame.with_columns(pl.lit(list(DEFAULT_COLOR)).alias("_color"))
    has_contour = "contour" in data.columns
    with_shape = data.filter(pl.col("contour").is_not_null()) if has_contour else data.clear()
    points = data.filter(pl.col("contour").is_null()) if has_contour else data
    # A QPV without coordinates (nor contour) cannot be placed: it is left off the map.
    points = points.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null())
    layers = _background_layers(data, tiles=bool(tiles))
    if with_shape.height:
        features = [
            {
                "type": "Feature",
                "geometry": json.loads(row["contour"]),
                "properties": {k: v for k, v in row.items() if k != "contour"},
            }
            for row in with_shape.iter_rows(named=True)  # one feature per QPV of the selection
        ]
        layers.append(
            pdk.Layer(
                "GeoJsonLayer",
                {"type": "FeatureCollection", "features": features},
                id="qpv-contours",
                pickable=True,
                stroked=True,
                filled=True,
                get_fill_color=f"properties.{color}",
                get_line_color=[40, 40, 40],
                line_width_min_pixels=1,
                opacity=0.6,
            )
        )
    if points.height:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                points.drop("contour", strict=False).to_dicts(),
                id="qpv-points",
                pickable=True,
                get_position=["longitude", "latitude"],
                get_fill_color=color,
                get_radius=350,
                radius_min_pixels=9,
                stroked=True,
                get_line_color=[40, 40, 40],
                line_width_min_pixels=1.5,
                opacity=0.9,
            )
        )
    placed = data.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null())
    labelled = label_column in placed.columns and 0 < placed.height <= MAX_LABELS
    # names stick out of their QPV: a narrower fitted area keeps them inside the map
    view = _view(placed, width=_FIT_WIDTH_PX - (120 if labelled else 0))
    if with_shape.height and view.zoom < MARKERS_BELOW_ZOOM:
        # zoomed out, a contour is a speck: a marker at its centre shows where it is
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                with_shape.drop("contour").filter(pl.col("longitude").is_not_null()).to_dicts(),
                id="qpv-marqueurs",
                pickable=True,
                get_position=["longitude", "latitude"],
                get_fill_color=color,
                get_radius=50,
                radius_min_pixels=8,
                stroked=True,
                get_line_color=[40, 40, 40],
                line_width_min_pixels=1.5,
                opacity=0.9,
            )
        )
    layers += _chosen_layers(data, chosen)
    if labelled:
        names = _readable_labels(placed, label_column, view, chosen)
        # pydeck turns a bare string into a deck.gl expression (« auto » would be an unknown
        # variable): constants are quoted. « auto » builds the glyph atlas from the names (accents).
        layers.append(
            pdk.Layer(
                "TextLayer",
                names,
                id="qpv-noms",
                pickable=False,
                get_position=["longitude", "latitude"],
                get_text="nom",
                get_size=LABEL_PX,
                size_units="'pixels'",
                character_set="'auto'",
                font_family="'sans-serif'",
                font_weight=600,
                get_color=[25, 25, 25],
                get_text_anchor="'middle'",
                get_alignment_baseline="'top'",
                get_pixel_offset=[0, 12],
                background=True,
                get_background_color=[255, 255, 255, 220],
                background_padding=[4, 2],
            )
        )
    # Feature properties are nested for GeoJSON layers: the same tooltip serves both layers.
    html = tooltip_html
    # map_style must stay pydeck's default sentinel: with map_style=None the JSON has no mapStyle
    # and Streamlit's frontend then adds a Carto basemap (an external request, blank offline).
    return CompactDeck(
        layers=layers,
        initial_view_state=view,
        map_provider=None,
        tooltip={"html": html, "style": TOOLTIP_STYLE},
        **({"map_style": tile_style(tiles)} if tiles else {}),
    )


def tile_style(tiles: str) -> str:
    """A basemap style of one raster tile layer, as a `data:` address: Streamlit's map takes a style
    by address only (an object breaks its frontend), and this one needs no file served. Its map
    library then fetches the tiles from `tiles` (an https template with {z}, {x}, {y})."""
    style = {
        "version": 8,
        "sources": {"tuiles": {"type": "raster", "tiles": [tiles], "tileSize": 256}},
        "layers": [{"id": "tuiles", "type": "raster", "source": "tuiles"}],
    }
    return "data:application/json," + quote(json.dumps(style, separators=(",", ":")), safe="")


def attribution(tiles: str = "") -> str:
    """The map's sources, said under it: the offline outlines, and the tile service when one is set."""
    return ATTRIBUTION + (f" · tuiles : {urlsplit(tiles).hostname}" if tiles else "")


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation, written once. Streamlit sends `deck.to_json()` as is,
    and pydeck indents it by 2 spaces: with outlines (one coordinate per line) that is most of the
    payload. The JSON of « Tous les contrats » is ≈ 0,6 Mo: a deck kept by `qpv_map`'s memo is
    not serialised again at every run (the deck is not changed after it is built)."""

    def to_json(self) -> str:
        text = _DECK_JSON.get(self)
        if text is None:
            text = json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))
            _DECK_JSON[self] = text
        return text


# a deck's JSON, kept outside the deck: every attribute of a deck is serialised into its JSON
_DECK_JSON: weakref.WeakKeyDictionary[CompactDeck, str] = weakref.WeakKeyDictionary()


# deck.gl places its tooltip at the pointer (`transform: translate(x, y)`) inside the map's box,
# which Streamlit clips (`overflow: hidden`): near the right or bottom edge it was cut. pydeck
# offers no placement option, but the style is applied after the position, so overriding
# `transform` pins the tooltip to the map's bottom-left corner, always whole.
TOOLTIP_STYLE = {
    "backgroundColor": "#1f4e79",
    "color": "white",
    "fontSize": "15px",
    "lineHeight": "1.35",
    "padding": "8px 10px",
    "borderRadius": "4px",
    "maxWidth": "60%",
    "transform": "none",
    "top": "auto",
    "left": "8px",
    "bottom": "8px",
}


def _chosen_layers(data: pl.DataFrame, chosen: str | None) -> list[pdk.Layer]:
    """The chosen quartier drawn on top: its contour in a thick dark line, or a ring around its point."""
    if chosen is None or "code_qp" not in data.columns:
        return []
    row = data.filter(pl.col("code_qp") == chosen)
    if row.is_empty():
        return []
    contour = row["contour"][0] if "contour" in row.columns else None
    if contour is not None:
        feature = {"type": "Feature", "geometry": json.loads(contour), "properties": {"code_qp": chosen}}
        return [
            pdk.Layer(
                "GeoJsonLayer",
                {"type": "FeatureCollection", "features": [feature]},
                id="qpv-choisi",
                pickable=False,
                stroked=True,
                filled=False,
                get_line_color=list(HIGHLIGHT_COLOR),
                line_width_min_pixels=4,
            )
        ]
    if row["longitude"][0] is None or row["latitude"][0] is None:
        return []
    return [
        pdk.Layer(
            "ScatterplotLayer",
            row.select("longitude", "latitude").to_dicts(),
            id="qpv-choisi",
            pickable=False,
            get_position=["longitude", "latitude"],
            get_radius=350,
            radius_min_pixels=14,
            stroked=True,
            filled=False,
            get_line_color=list(HIGHLIGHT_COLOR),
            line_width_min_pixels=4,
        )
    ]


# The map area the initial view must fit (pixels, margins included): a half-width column.
_FIT_WIDTH_PX, _FIT_HEIGHT_PX = 380, 300


def _readable_labels(placed: pl.DataFrame, label_column: str, view: pdk.ViewState, chosen: str | None) -> list[dict]:
    """The names that do not overlap at the initial view (the chosen quartier's first, then in the
    frame's order): each label's box is estimated in screen pixels (Web Mercator, 512 px at zoom 0)."""
    scale = 512 * 2**view.zoom
    first = pl.col("code_qp") == chosen if chosen and "code_qp" in placed.columns else pl.lit(False)
    rows = placed.select(
        pl.col(label_column).alias("nom"), "longitude", "latitude", first.fill_null(False).alias("_first")
    ).sort("_first", descending=True, maintain_order=True)
    kept: list[tuple[float, float, float, float]] = []
    out = []
    for row in rows.iter_rows(named=True):
        if row["nom"] is None:
            continue
        x = (row["longitude"] + 180) / 360 * scale
        phi = math.radians(row["latitude"])
        y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * scale
        half = (len(row["nom"]) * LABEL_PX * 0.55 + 8) / 2
        box = (x - half, y + 10, x + half, y + 12 + LABEL_PX + 8)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in kept):
            continue
        kept.append(box)
        out.append({"nom": row["nom"], "longitude": row["longitude"], "latitude": row["latitude"]})
    return out


def _view(frame: pl.DataFrame, *, width: int = _FIT_WIDTH_PX) -> pdk.ViewState:
    """Centre and zoom that fit every QPV. deck.gl's world is 512 px wide at zoom 0; the latitude
    span is stretched by 1 / cos(latitude) (Web Mercator)."""
    if frame.is_empty():
        return pdk.ViewState(longitude=2.4, latitude=46.6, zoom=4.5)
    lon_min, lon_max, lat_min, lat_max = _bounds(frame)
    lat_mid = (lat_min + lat_max) / 2
    lon_span = max(lon_max - lon_min, 0.03)
    lat_span = max(lat_max - lat_min, 0.02) / max(math.cos(math.radians(lat_mid)), 0.2)
    zoom_x = math.log2(width * 360 / (512 * lon_span))
    zoom_y = math.log2(_FIT_HEIGHT_PX * 360 / (512 * lat_span))
    zoom = max(1.0, min(13.0, zoom_x, zoom_y))
    return pdk.ViewState(longitude=(lon_min + lon_max) / 2, latitude=lat_mid, zoom=zoom)
