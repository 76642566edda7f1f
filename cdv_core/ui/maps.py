"""pydeck maps of QPV that need no Mapbox token and no network: layers only, no basemap tiles."""

from __future__ import annotations

import json
import math

import polars as pl
import pydeck as pdk

from cdv_core.domain import progress

DEFAULT_COLOR = (31, 78, 121)

# Status colours of the maps, matching Streamlit's Markdown colours used in the legends.
STATUS_PALETTE: dict[str, tuple[tuple[int, int, int], str]] = {
    progress.EN_BONNE_VOIE: ((33, 160, 84), "green"),
    progress.A_SURVEILLER: ((255, 164, 33), "orange"),
    progress.EN_RETARD: ((230, 57, 57), "red"),
    progress.DONNEES_INSUFFISANTES: ((128, 132, 149), "gray"),
}


def with_status_color(frame: pl.DataFrame, *, status_column: str = "statut", color_column: str = "couleur",
                      palette: dict[str, tuple[tuple[int, int, int], str]] | None = None) -> pl.DataFrame:
    """Add an [r, g, b] column for `qpv_map(color_column=...)` from a status column."""
    palette = palette or STATUS_PALETTE
    mapping = {k: list(rgb) for k, (rgb, _) in palette.items()}
    return frame.with_columns(
        pl.col(status_column).replace_strict(mapping, default=list(DEFAULT_COLOR),
                                             return_dtype=pl.List(pl.Int64)).alias(color_column))


def status_legend(palette: dict[str, tuple[tuple[int, int, int], str]] | None = None) -> str:
    """A one-line Markdown legend (coloured dots) for a status-coloured map."""
    palette = palette or STATUS_PALETTE
    return " · ".join(f":{name}[:material/fiber_manual_record:] {label}" for label, (_, name) in palette.items())


def qpv_map(frame: pl.DataFrame, *, tooltip_html: str, color_column: str | None = None) -> pdk.Deck:
    """A map of QPV: contours (GeoJSON in column `contour`) where present, centroids otherwise.

    `frame` needs `longitude`, `latitude`, optionally `contour` (GeoJSON geometry text) and, when
    `color_column` is given, a column of [r, g, b] lists. `tooltip_html` uses `{column}`
    placeholders of the frame. `map_provider=None`: no external request, so it renders offline.
    """
    color = color_column or "_color"
    data = frame if color_column else frame.with_columns(pl.lit(list(DEFAULT_COLOR)).alias("_color"))
    has_contour = "contour" in data.columns
    with_shape = data.filter(pl.col("contour").is_not_null()) if has_contour else data.clear()
    points = data.filter(pl.col("contour").is_null()) if has_contour else data
    # A QPV without coordinates (nor contour) cannot be placed: it is left off the map.
    points = points.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null())
    layers = []
    if with_shape.height:
        features = [
            {"type": "Feature", "geometry": json.loads(row["contour"]),
             "properties": {k: v for k, v in row.items() if k != "contour"}}
            for row in with_shape.iter_rows(named=True)  # one feature per QPV of the selection
        ]
        layers.append(pdk.Layer(
            "GeoJsonLayer", {"type": "FeatureCollection", "features": features}, pickable=True, stroked=True,
            filled=True, get_fill_color=f"properties.{color}", get_line_color=[40, 40, 40], line_width_min_pixels=1,
            opacity=0.55))
    if points.height:
        layers.append(pdk.Layer(
            "ScatterplotLayer", points.drop("contour", strict=False).to_dicts(), pickable=True,
            get_position=["longitude", "latitude"], get_fill_color=color, get_radius=350,
            radius_min_pixels=6, stroked=True, get_line_color=[40, 40, 40], line_width_min_pixels=1, opacity=0.8))
    view = _view(data.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null()))
    # Feature properties are nested for GeoJSON layers: the same tooltip serves both layers.
    html = tooltip_html
    # map_style must stay pydeck's default sentinel: with map_style=None the JSON has no mapStyle
    # and Streamlit's frontend then adds a Carto basemap (an external request, blank offline).
    return pdk.Deck(layers=layers, initial_view_state=view, map_provider=None,
                    tooltip={"html": html, "style": {"backgroundColor": "#1f4e79", "color": "white"}})


# The map area the initial view must fit (pixels, margins included): a half-width column.
_FIT_WIDTH_PX, _FIT_HEIGHT_PX = 380, 300


def _view(frame: pl.DataFrame) -> pdk.ViewState:
    """Centre and zoom that fit every QPV. deck.gl's world is 512 px wide at zoom 0; the latitude
    span is stretched by 1 / cos(latitude) (Web Mercator)."""
    if frame.is_empty():
        return pdk.ViewState(longitude=2.4, latitude=46.6, zoom=4.5)
    lon_min, lon_max = frame["longitude"].min(), frame["longitude"].max()
    lat_min, lat_max = frame["latitude"].min(), frame["latitude"].max()
    lat_mid = (lat_min + lat_max) / 2
    lon_span = max(lon_max - lon_min, 0.03)
    lat_span = max(lat_max - lat_min, 0.02) / max(math.cos(math.radians(lat_mid)), 0.2)
    zoom_x = math.log2(_FIT_WIDTH_PX * 360 / (512 * lon_span))
    zoom_y = math.log2(_FIT_HEIGHT_PX * 360 / (512 * lat_span))
    zoom = max(1.0, min(13.0, zoom_x, zoom_y))
    return pdk.ViewState(longitude=(lon_min + lon_max) / 2, latitude=lat_mid, zoom=zoom)
