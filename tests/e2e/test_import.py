"""The real app in Chromium: upload a programmation file, read the report, commit, see the log."""

from __future__ import annotations

from cdv_core.ingest import samples
from tests.e2e.conftest import new_page, settle, shot


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
    path.write_bytes(
        samples.to_csv(
            samples.programmation(25, contracts={"CV-DEMO-VERM": ["QN00281M"], "CV-DEMO-BRE": ["QN06081M"]}),
            encoding="cp1252",
        )
    )
    _upload(page, live_server.url, path)
    assert page.get_by_text("Encodage : Windows-1252").first.is_visible()
    card = page.get_by_test_id("stMetric").filter(has_text="Erreurs")
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == "0"
    shot(page, "import-rapport")
    page.get_by_role("button", name="Valider l'import").click()
    page.get_by_test_id("stAlertContentSuccess").get_by_text("Import n° 1 validé").wait_for(timeout=60_000)
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
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code_qp": "QN00281M"},
                        "geometry": {"type": "MultiPolygon", "coordinates": square},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    _upload(page, live_server.url, path)
    assert page.get_by_text("Contours des QPV (GeoJSON officiel)").first.is_visible()
    page.get_by_role("button", name="Valider l'import").click()
    page.get_by_text("validé").first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("stException").count() == 0


def _server_peak_mb(pid: int) -> float:
    """The server process's peak resident memory (VmHWM)."""
    from pathlib import Path

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("VmHWM introuvable")


def test_hostile_uploads_are_refused_and_the_server_stays_up(live_server, chromium, tmp_path):
    """Issue 23: the 1,6 KB workbook with a cell at XFD1048576 and the CSV of a million columns
    used to take the server past 8 GB and disconnect every session. Now each is refused in
    French in the uploader's session, another session keeps working, and the server's peak
    memory stays bounded."""
    import urllib.request

    from tests import hostile

    watcher = new_page(chromium)
    watcher.goto(live_server.url + "/vue_ensemble")
    settle(watcher)
    page = new_page(chromium)
    page.goto(live_server.url + "/mise_a_jour")
    settle(page)
    cases = {
        "coin.xlsx": (hostile.far_corner_xlsx(), "jusqu'à la colonne XFD"),
        "colonnes.csv": (hostile.wide_header_csv(), "réglage CDV_MAX_COLONNES"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
        page.get_by_text(message).first.wait_for(timeout=60_000)
        settle(page)
        assert page.get_by_test_id("stException").count() == 0
    with urllib.request.urlopen(live_server.url + "/_stcore/health", timeout=5) as r:
        assert r.status == 200
    watcher.reload()
    settle(watcher)
    assert watcher.get_by_test_id("stException").count() == 0
    assert watcher.get_by_text("Vue d'ensemble").first.is_visible()
    assert _server_peak_mb(live_server.proc.pid) < 1_500
