"""pydeck maps of QPV that need no Mapbox token and no network: layers only, no basemap tiles."""

from __future__ import annotations

import json
import math

import polars as pl
import pydeck as pdk

DEFAULT_COLOR = (31, 78, 121)


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
    view = _view(data)
    # Feature properties are nested for GeoJSON layers: the same tooltip serves both layers.
    html = tooltip_html
    return pdk.Deck(layers=layers, initial_view_state=view, map_provider=None, map_style=None,
                    tooltip={"html": html, "style": {"backgroundColor": "#1f4e79", "color": "white"}})


def _view(frame: pl.DataFrame) -> pdk.ViewState:
    if frame.is_empty():
        return pdk.ViewState(longitude=2.4, latitude=46.6, zoom=4.5)
    lon_min, lon_max = frame["longitude"].min(), frame["longitude"].max()
    lat_min, lat_max = frame["latitude"].min(), frame["latitude"].max()
    span = max(lon_max - lon_min, (lat_max - lat_min) * 1.5, 0.02)
    zoom = max(3.5, min(13.5, 8.7 - 1.44 * math.log(span)))
    return pdk.ViewState(longitude=(lon_min + lon_max) / 2, latitude=(lat_min + lat_max) / 2, zoom=zoom)
