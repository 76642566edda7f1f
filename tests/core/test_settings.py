"""Settings are data: each one is documented in the README, and read from the environment."""

from __future__ import annotations

from cdv_core import fmt, settings
from tests.conftest import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.env for s in settings.SETTINGS if f"`{s.env}`" not in readme]
    assert missing == []


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CDV_STORE", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("CDV_UNPAID_MONTHS", "5")
    cfg = settings.load()
    assert cfg.store_path == str(tmp_path / "x.duckdb")
    assert cfg.unpaid_months == 5
    assert settings.Settings().cadence_tolerance_days == int(
        next(s.default for s in settings.SETTINGS if s.env == "CDV_CADENCE_TOLERANCE_DAYS")
    )


def test_an_unusable_setting_is_a_french_error_naming_it(monkeypatch):
    import pytest

    for env, value in (
        ("CDV_UNPAID_MONTHS", "abc"),
        ("CDV_CADENCE_TOLERANCE_DAYS", "-3"),
        ("CDV_MAX_UPLOAD_MB", "500"),
        ("CDV_CACHE_DISQUE", "cache/relatif"),
    ):
        monkeypatch.setenv(env, value)
        with pytest.raises(settings.SettingError, match=f"Réglage {env} : « {value} » n'est pas accepté"):
            settings.load()
        monkeypatch.delenv(env)
    assert settings.load().max_upload_mb == 50


def test_the_tile_layer_setting_needs_an_https_template(monkeypatch):
    import pytest

    assert settings.load().map_tiles == ""  # off by default: no outside request
    for value in (
        "http://tuiles.test/{z}/{x}/{y}.png",
        "https://tuiles.test/{z}/{x}.png",
        'https://tuiles.test/{z}/{x}/{y}.png" onload="x',
    ):
        monkeypatch.setenv("CDV_FOND_TUILES", value)
        with pytest.raises(settings.SettingError, match="Réglage CDV_FOND_TUILES"):
            settings.load()
    good = "https://data.geopf.fr/wmts?LAYER=PLAN&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
    monkeypatch.setenv("CDV_FOND_TUILES", good)
    assert settings.load().map_tiles == good


def test_the_page_upload_limit_stays_under_the_server_ceiling():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == settings.UPLOAD_CEILING_MB
    default = int(next(s.default for s in settings.SETTINGS if s.env == "CDV_MAX_UPLOAD_MB"))
    assert default <= settings.UPLOAD_CEILING_MB


def test_the_app_shows_a_bad_setting_in_french(app_env, monkeypatch):
    from tests.conftest import run_app

    monkeypatch.setenv("CDV_UNPAID_MONTHS", "trois")
    at = run_app()
    assert not at.exception
    assert any(fmt.md("Réglage CDV_UNPAID_MONTHS : « trois »") in e.value for e in at.error)  # the value as text


def test_the_read_cache_on_disk_is_on_by_default_off_or_in_a_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CDV_CACHE_DISQUE")
    assert settings.load().read_cache_folder == ""  # on, in the default folder
    monkeypatch.setenv("CDV_CACHE_DISQUE", "Non")
    assert settings.load().read_cache_folder is None
    monkeypatch.setenv("CDV_CACHE_DISQUE", str(tmp_path))
    assert settings.load().read_cache_folder == str(tmp_path)
