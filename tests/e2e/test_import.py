"""The real app in Chromium: upload a programmation file, read the report, commit, see the log."""

from __future__ import annotations

from cdv_core.ingest import samples
from tests.e2e.conftest import settle, shot


def _upload(page, url: str, path) -> None:
    """Open « Mise à jour des données », choose the file and wait for its report."""
    page.goto(url + "/mise_a_jour")
    settle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    page.get_by_text("Différences avec la base").wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0


def test_upload_validate_and_commit_in_browser(live_server, browser_page, tmp_path):
    page = browser_page
    path = tmp_path / "programmation_2025.csv"
    path.write_bytes(samples.to_csv(samples.programmation(
        25, contracts={"CV-DEMO-VERM": ["QN00281M"], "CV-DEMO-BRE": ["QN06081M"]}), encoding="cp1252"))
    _upload(page, live_server.url, path)
    assert page.get_by_text("Encodage : Windows-1252").first.is_visible()
    card = page.get_by_test_id("stMetric").filter(has_text="Erreurs")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "0"
    shot(page, "import-rapport")
    page.get_by_role("button", name="Valider l'import").click()
    page.get_by_text("Import n° 1 validé").wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stFileUploaderFile").count() == 0  # the uploader was reset
    shot(page, "import-valide")


def test_upload_qpv_contours_geojson_in_browser(live_server, browser_page, tmp_path):
    """The uploader takes the contours GeoJSON the page offers as a file type."""
    import json

    page = browser_page
    square = [[[[2.0, 49.0], [2.01, 49.0], [2.01, 49.01], [2.0, 49.0]]]]
    path = tmp_path / "contours_qpv.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code_qp": "QN00281M"},
         "geometry": {"type": "MultiPolygon", "coordinates": square}}]}), encoding="utf-8")
    _upload(page, live_server.url, path)
    assert page.get_by_text("Contours des QPV (GeoJSON officiel)").first.is_visible()
    page.get_by_role("button", name="Valider l'import").click()
    page.get_by_text("validé").first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0
