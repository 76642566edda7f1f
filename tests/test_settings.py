"""Settings are data: each one is documented in the README, and read from the environment."""

from __future__ import annotations

from cdv_core import settings
from tests.conftest import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.env for s in settings.SETTINGS if f"`{s.env}`" not in readme]
    assert missing == []


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CDV_STORE", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("CDV_UNPAID_MONTHS", "5")
    cfg = settings.load()
    assert cfg.store_path == tmp_path / "x.duckdb"
    assert cfg.unpaid_months == 5
    assert settings.Settings().cadence_tolerance_days == int(
        next(s.default for s in settings.SETTINGS if s.env == "CDV_CADENCE_TOLERANCE_DAYS"))
