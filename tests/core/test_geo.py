"""The basemap's packed outlines (`cdv_core.geo.pack` / `unpack`): the same features as the GeoJSON."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from cdv_core import geo
from tests.conftest import REFERENCE


def _geojson(tmp_path, features):
    path = tmp_path / "fond.geojson.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f)
    return path


def _feature(code, nom, geometry):
    return {"type": "Feature", "properties": {"code": code, "nom": nom}, "geometry": geometry}


SQUARE = [[4.82, 45.74], [4.84, 45.74], [4.84, 45.76], [4.82, 45.76], [4.82, 45.74]]
HOLE = [[4.83, 45.745], [4.835, 45.745], [4.835, 45.75], [4.83, 45.745]]
ISLAND = [[-61.7904, 16.1668], [-61.7916, 16.1671], [-61.792, 16.1679], [-61.7904, 16.1668]]


def test_packed_outlines_read_back_as_the_geojson_gave_them(tmp_path):
    features = geo.from_geojson(
        _geojson(
            tmp_path,
            [
                _feature("69", "Rhône", {"type": "Polygon", "coordinates": [SQUARE, HOLE]}),
                _feature("971", "Guadeloupe", {"type": "MultiPolygon", "coordinates": [[ISLAND, []], [SQUARE]]}),
                _feature("00", "Vide", {"type": "Polygon", "coordinates": [[]]}),  # no point: left out
            ],
        )
    )
    assert [f["code"] for f in features] == ["69", "971"]
    geo.pack(features, tmp_path / "fond.npz")
    back = geo.unpack(tmp_path / "fond.npz")
    assert [box for box, _ in back] == [(4.82, 45.74, 4.84, 45.76), (-61.792, 16.1668, 4.84, 45.76)]
    assert [(f["code"], f["nom"]) for _, f in back] == [("69", "Rhône"), ("971", "Guadeloupe")]
    assert all(type(v) is float for box, _ in back for v in box)
    assert [[[ring.tolist() for ring in polygon] for polygon in f["polygons"]] for _, f in back] == [
        [[SQUARE, HOLE]],
        [[ISLAND, []], [SQUARE]],
    ]  # the very doubles JSON parsed, each ring an (n, 2) array, an empty ring kept
    ring = back[0][1]["polygons"][0][0]
    with pytest.raises(ValueError):
        ring[0, 0] = 0.0  # shared by every map of the process: read only
    inside = geo.inside(np.array([4.825, 4.834, -61.791]), np.array([45.755, 45.746, 16.167]), back[0][1]["polygons"])
    assert inside.tolist() == [True, False, False]  # the hole counts out


@pytest.mark.parametrize("lon", [4.82001, 0.1 + 0.2])  # a fifth decimal; a sum that is not 0.3 exactly
def test_packing_refuses_coordinates_it_would_round(tmp_path, lon):
    features = [{"code": "69", "nom": "Rhône", "polygons": [[[[lon, 45.74], [4.84, 45.74], [4.84, 45.76]]]]}]
    with pytest.raises(ValueError, match="decimals"):
        geo.pack(features, tmp_path / "fond.npz")


def test_packing_refuses_a_feature_without_a_point(tmp_path):
    features = [
        {"code": "69", "nom": "Rhône", "polygons": [[SQUARE]]},
        {"code": "00", "nom": "Vide", "polygons": [[[]]]},
    ]
    with pytest.raises(ValueError, match="00"):
        geo.pack(features, tmp_path / "fond.npz")


@pytest.mark.parametrize("name", geo.BASEMAPS)
def test_the_shipped_basemap_is_the_reference_outlines(name):
    """The files in cdv_core/fonds are the reference's GeoJSON, packed (`python -m cdv_core.geo`)."""
    source = REFERENCE / "fonds" / f"{name}.geojson.gz"
    if not source.exists():
        pytest.skip(f"{source} absent")
    expected = geo.from_geojson(source)
    shipped = geo.unpack(geo.FONDS / f"{name}.npz")
    assert len(shipped) == len(expected) == {"departements": 101, "communes-avec-qpv": 824}[name]
    for feature, (box, got) in zip(expected, shipped, strict=True):
        points = np.array([pt for polygon in feature["polygons"] for ring in polygon for pt in ring])
        assert box == (*points.min(axis=0).tolist(), *points.max(axis=0).tolist())
        assert (got["code"], got["nom"]) == (feature["code"], feature["nom"])
        assert [[ring.tolist() for ring in polygon] for polygon in got["polygons"]] == feature["polygons"]
