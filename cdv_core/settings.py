"""Settings are data: one frozen dataclass read from the environment, documented in README."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("CDV_STORE", str(PROJECT_ROOT / "data" / "cdv.duckdb"),
            "Chemin du fichier DuckDB (le « store »). Créé avec le territoire de démonstration s'il est absent."),
    Setting("CDV_UNPAID_MONTHS", "3",
            "Nombre de mois après la décision au-delà duquel une subvention accordée et non versée est signalée."),
    Setting("CDV_CADENCE_TOLERANCE_DAYS", "30",
            "Tolérance (jours) au-delà de la cadence attendue avant de signaler une instance en retard."),
    Setting("CDV_INDICATOR_MAX_AGE_MONTHS", "24",
            "Âge maximal (mois) de la dernière valeur d'un indicateur avant qu'elle soit jugée ancienne."),
)


@dataclass(frozen=True)
class Settings:
    store_path: Path = field(default_factory=lambda: Path(_get("CDV_STORE")))
    unpaid_months: int = field(default_factory=lambda: int(_get("CDV_UNPAID_MONTHS")))
    cadence_tolerance_days: int = field(default_factory=lambda: int(_get("CDV_CADENCE_TOLERANCE_DAYS")))
    indicator_max_age_months: int = field(default_factory=lambda: int(_get("CDV_INDICATOR_MAX_AGE_MONTHS")))


def _get(env: str) -> str:
    default = next(s.default for s in SETTINGS if s.env == env)
    return os.environ.get(env) or default


def load() -> Settings:
    return Settings()


__all__ = ["SETTINGS", "Setting", "Settings", "load", "fields"]
