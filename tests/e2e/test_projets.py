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
    page.on("request", lambda r: outside.append(r.url)
            if r.url.startswith("http") and not r.url.startswith(live_server.url) else None)
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
