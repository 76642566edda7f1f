"""The offline basemap shipped in `cdv_core/fonds/` (outlines of the départements and of the
communes holding a QPV 2024; IGN Admin Express COG 2018 simplified, Licence Ouverte), read once
per process — in the background once the app has drawn its first page (`preload`) — and a vectorised
point-in-polygon test on those outlines."""

from __future__ import annotations

import functools
import gzip
import json
import threading
import time
from pathlib import Path

import numpy as np

FONDS = Path(__file__).resolve().parent / "fonds"
BASEMAPS = ("departements", "communes-avec-qpv")

Box = tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max

# each file parsed once, even when a map asks while `preload` parses it; one lock per file, so that
# a map of the départements alone does not wait for the communes
_parsing = {name: threading.Lock() for name in BASEMAPS}
preloads: list[threading.Thread] = []  # the background parses started (tests join them)


def read_outlines(name: str) -> tuple[tuple[Box, dict], ...]:
    """The features of `fonds/<name>.geojson.gz` (properties `code`, `nom`) with their bounding
    box, polygons as MultiPolygon. Read, parsed and measured once per process."""
    with _parsing[name]:
        return _parse(name)


def preload(*, after: float = 0.0) -> threading.Thread | None:
    """Parse the basemap in a background thread, `after` seconds from now, unless this process has
    parsed it or is parsing it. The app calls it when a page has been drawn (`ui.nav.entrypoint`),
    so that the first map a person opens after the server started does not wait for it (≈ 0,4 s of
    the first Projets de quartier visit), nor the page that person reads first (parsing holds the
    interpreter: at the store's opening it made the first page 0,4 s slower; docs/performance.md)."""
    if _parse.cache_info().currsize == len(BASEMAPS) or any(t.is_alive() for t in preloads):
        return None

    def parse() -> None:
        time.sleep(after)
        for name in BASEMAPS:
            read_outlines(name)

    thread = threading.Thread(target=parse, name="cdv-fond-de-carte", daemon=True)
    preloads.append(thread)
    thread.start()
    return thread


@functools.cache
def _parse(name: str) -> tuple[tuple[Box, dict], ...]:
    with gzip.open(FONDS / f"{name}.geojson.gz", "rt", encoding="utf-8") as f:
        features = json.load(f)["features"]
    out = []
    for feature in features:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        lons = [pt[0] for polygon in polygons for ring in polygon for pt in ring]
        lats = [pt[1] for polygon in polygons for ring in polygon for pt in ring]
        if lons:
            out.append(
                (
                    (min(lons), min(lats), max(lons), max(lats)),
                    {"code": feature["properties"]["code"], "nom": feature["properties"]["nom"], "polygons": polygons},
                )
            )
    return tuple(out)


def inside(lon: np.ndarray, lat: np.ndarray, polygons: list) -> np.ndarray:
    """Whether each point lies inside a MultiPolygon (even-odd rule over every ring, so holes
    count out), by ray casting over all edges at once."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    result = np.zeros(lon.shape, dtype=bool)
    for polygon in polygons:
        for ring in polygon:
            pts = np.asarray(ring, dtype=float)
            x0, y0 = pts[:-1, 0][None, :], pts[:-1, 1][None, :]
            x1, y1 = pts[1:, 0][None, :], pts[1:, 1][None, :]
            crosses = (y0 > lat[:, None]) != (y1 > lat[:, None])
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = x0 + (lat[:, None] - y0) * (x1 - x0) / (y1 - y0)
            result ^= (crosses & (lon[:, None] < x_at)).sum(axis=1) % 2 == 1
    return result
