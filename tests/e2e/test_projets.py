"""« Projets de quartier » in headless Chromium: the offline map paints the QPV, no basemap request."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from tests.e2e.conftest import ARTIFACTS, settle, shot

MIN_PAINTED_PIXELS = 300  # the Vermandie QPV contours cover a few thousand pixels


def _painted_pixels(png: bytes) -> int:
    """Pixels of the map area that are not (near-)white: the drawn QPV shapes."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return int((pixels.min(axis=2) < 235).sum())


def test_map_shows_the_qpv_offline(live_server, browser_page):
    page = browser_page
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if r.url.startswith("http") and not r.url.startswith(live_server.url) else None,
    )
    page.goto(live_server.url + "/projets_quartier?contrat=CV-DEMO-VERM")
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", name="Projets de quartier").is_visible()
    carte = page.locator(".st-key-projets_carte")
    carte.scroll_into_view_if_needed()
    carte.locator("canvas").first.wait_for(state="attached", timeout=30_000)
    # deck.gl paints asynchronously after the script has finished: poll the pixels, not a sleep.
    painted, deadline = 0, time.monotonic() + 30
    while time.monotonic() < deadline:
        png = carte.screenshot()
        painted = _painted_pixels(png)
        if painted >= MIN_PAINTED_PIXELS:
            break
        page.wait_for_timeout(250)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "projets-carte.png").write_bytes(png)
    assert painted >= MIN_PAINTED_PIXELS, f"carte vide ({painted} pixels dessinés)"
    shot(page, "projets-quartier")
    assert not [u for u in outside if "cartocdn" in u or "mapbox" in u], outside


TILE_COLOR = (250, 200, 30)  # a colour no other layer of the map uses


def _tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), TILE_COLOR).save(out, format="PNG")
    return out.getvalue()


def _tile_pixels(png: bytes) -> int:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(pixels - np.array(TILE_COLOR)).sum(axis=2) < 30).sum())


def test_optional_tile_layer_draws_under_the_qpv(tmp_path, chromium):
    """CDV_FOND_TUILES set: the browser fetches the tiles from that service (here answered by the
    test itself: no internet in CI) and draws them under the QPV; the caption names the service."""
    from tests.e2e.conftest import LiveServer, new_page

    server = LiveServer(
        tmp_path / "store" / "cdv.duckdb",
        tmp_path / "streamlit.log",
        env={"CDV_FOND_TUILES": "https://tuiles.exemple.test/plan/{z}/{x}/{y}.png"},
    )
    try:
        page = new_page(chromium)
        asked = []
        page.context.route(
            "https://tuiles.exemple.test/**",  # the map fetches tiles from a worker
            lambda route: (
                asked.append(route.request.url),
                route.fulfill(
                    status=200, content_type="image/png", body=_tile_png(), headers={"Access-Control-Allow-Origin": "*"}
                ),
            ),
        )
        page.goto(server.url + "/projets_quartier?contrat=CV-DEMO-VERM")
        settle(page)
        assert page.get_by_test_id("stException").count() == 0
        page.get_by_text("tuiles : tuiles.exemple.test").wait_for(timeout=30_000)
        carte = page.locator(".st-key-projets_carte")
        carte.scroll_into_view_if_needed()
        tiled, deadline = 0, time.monotonic() + 30
        while time.monotonic() < deadline:
            png = carte.screenshot()
            tiled = _tile_pixels(png)
            if tiled > 10_000:
                break
            page.wait_for_timeout(250)
        (ARTIFACTS / "projets-carte-tuiles.png").write_bytes(png)
        assert asked and all("/plan/" in u for u in asked)
        assert tiled > 10_000, f"aucune tuile dessinée ({tiled} pixels, {len(asked)} tuiles demandées)"
    finally:
        server.stop()
