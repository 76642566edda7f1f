"""The offline basemap shipped in `cdv_core/fonds/` (outlines of the départements and of the
communes holding a QPV 2024; IGN Admin Express COG 2018 simplified, Licence Ouverte), read once
per process, and a vectorised point-in-polygon test on those outlines.

The outlines are shipped packed (`pack`: the points as integers, the ends of rings, polygons and
features), read back with each feature's bounding box in ≈ 15–20 ms (`unpack`); `python -m cdv_core.geo DIR`
packs them again from the GeoJSON files `DIR/<name>.geojson.gz` (the reference's `fonds/`)."""

from __future__ import annotations

import functools
import gzip
import json
import threading
from itertools import pairwise
from pathlib import Path

import numpy as np

FONDS = Path(__file__).resolve().parent / "fonds"
BASEMAPS = ("departements", "communes-avec-qpv")

Box = tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max

# each file read once, even when two first maps ask at once; one lock per file, so that a map of
# the départements alone does not wait for the communes
_parsing = {name: threading.Lock() for name in BASEMAPS}


def read_outlines(name: str) -> tuple[tuple[Box, dict], ...]:
    """The features of `fonds/<name>` (properties `code`, `nom`) with their bounding box,
    polygons as MultiPolygon, each ring an (n, 2) array of longitude, latitude. Read once per
    process, at its first map."""
    with _parsing[name]:
        return _parse(name)


@functools.cache
def _parse(name: str) -> tuple[tuple[Box, dict], ...]:
    return unpack(FONDS / f"{name}.npz")


def unpack(path: Path) -> tuple[tuple[Box, dict], ...]:
    """A file written by `pack` back into features, each ring an (n, 2) array of longitude,
    latitude: ≈ 15–20 ms for both files of the basemap, where parsing their GeoJSON took ≈ 0,35 s of
    the interpreter, in the first visits after a server started (docs/performance.md, item 34)."""
    with np.load(path, allow_pickle=False) as packed:
        coords = packed["coords"] / COORD_SCALE  # the nearest doubles, as parsing the JSON gave them
        coords.flags.writeable = False  # every map of the process shares these rings: read only
        ring_ends, polygon_ends, feature_ends = (packed[k] for k in ("ring_ends", "polygon_ends", "feature_ends"))
        codes, names = packed["codes"].tolist(), packed["noms"].tolist()
    # each feature's bounding box, over its points (every feature has some: `pack` checks it)
    point_ends = ring_ends[polygon_ends[feature_ends - 1] - 1]
    starts = np.concatenate([[0], point_ends[:-1]])
    lon, lat = coords[:, 0], coords[:, 1]
    boxes = zip(
        *(
            f.reduceat(c, starts).tolist()
            for f, c in ((np.minimum, lon), (np.minimum, lat), (np.maximum, lon), (np.maximum, lat))
        ),
        strict=True,
    )
    rings = np.split(coords, ring_ends[:-1].tolist())  # views: (n, 2) arrays of longitude, latitude
    polygons = [rings[a:b] for a, b in pairwise([0, *polygon_ends.tolist()])]
    return tuple(
        (box, {"code": code, "nom": nom, "polygons": polygons[a:b]})
        for box, code, nom, (a, b) in zip(boxes, codes, names, pairwise([0, *feature_ends.tolist()]), strict=True)
    )


COORD_SCALE = 10_000  # the outlines have 4 decimals (≈ 10 m): kept as integers, exactly


def from_geojson(path: Path) -> list[dict]:
    """The features of a gzipped GeoJSON file of départements or communes (properties `code`,
    `nom`), polygons as MultiPolygon; those without a point are left out."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        features = json.load(f)["features"]
    out = []
    for feature in features:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        if any(ring for polygon in polygons for ring in polygon):
            out.append(
                {"code": feature["properties"]["code"], "nom": feature["properties"]["nom"], "polygons": polygons}
            )
    return out


def pack(features: list[dict], out: Path) -> None:
    """Write `features` (as `from_geojson` gives them) as `unpack` reads them: every point as
    integers (coordinates × `COORD_SCALE`: `unpack` must give back the same values), the end of
    each ring, polygon and feature, codes and names; compressed. The bounding boxes are `unpack`'s."""
    if empty := [f["code"] for f in features if not any(len(ring) for p in f["polygons"] for ring in p)]:
        raise ValueError(f"features without a point: {', '.join(empty)}")
    points = np.asarray(
        [pt for f in features for polygon in f["polygons"] for ring in polygon for pt in ring], dtype=np.float64
    )
    coords = np.rint(points * COORD_SCALE)
    if not np.array_equal(coords / COORD_SCALE, points):  # -0.0 comes back 0.0: equal
        raise ValueError(f"coordinates with more than {len(str(COORD_SCALE)) - 1} decimals")
    rings = [len(ring) for f in features for polygon in f["polygons"] for ring in polygon]
    polygons = [len(polygon) for f in features for polygon in f["polygons"]]
    np.savez_compressed(
        out,
        coords=coords.astype(np.int32),
        ring_ends=np.cumsum(rings),
        polygon_ends=np.cumsum(polygons),
        feature_ends=np.cumsum([len(f["polygons"]) for f in features]),
        codes=np.array([f["code"] for f in features]),
        noms=np.array([f["nom"] for f in features]),
    )


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


if __name__ == "__main__":  # python -m cdv_core.geo DIR: the basemap packed again from DIR/<name>.geojson.gz
    import sys

    for name in BASEMAPS:
        pack(from_geojson(Path(sys.argv[1]) / f"{name}.geojson.gz"), FONDS / f"{name}.npz")
