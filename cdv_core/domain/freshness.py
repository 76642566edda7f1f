"""THE freshness rule of indicator values (« à jour » / « ancienne »), used by the « Indicateurs »
dictionary and the « Jalons » readiness checklist alike.

- Only values dated on or before the « données au » date exist at that date (a value dated later
  is ignored, as on « Projets de quartier »).
- The latest such value is « à jour » when it is dated on or after `fresh_from(donnees_au,
  max_age_months)` = « données au » minus `max_age_months` calendar months (clamped to the month's
  last day, like DuckDB's `date - INTERVAL n MONTH`): a value exactly `max_age_months` old is
  still « à jour »; one day older, it is « ancienne ». Parameter: setting
  `indicator_max_age_months` (`CDV_INDICATOR_MAX_AGE_MONTHS`, 24).
"""

from __future__ import annotations

from datetime import date

from cdv_core.domain.cadence import add_months

A_JOUR = "à jour"
ANCIENNE = "ancienne"
AUCUNE = "aucune valeur"


def fresh_from(donnees_au: date, max_age_months: int) -> date:
    """The oldest `date_valeur` still « à jour » at `donnees_au`."""
    return add_months(donnees_au, -max_age_months)


def is_fresh(latest: date | None, *, donnees_au: date, max_age_months: int) -> bool:
    """True when `latest` (the latest value known at `donnees_au`) is « à jour »."""
    return latest is not None and fresh_from(donnees_au, max_age_months) <= latest <= donnees_au


def label(latest: date | None, *, donnees_au: date, max_age_months: int) -> str:
    if latest is None:
        return AUCUNE
    return A_JOUR if is_fresh(latest, donnees_au=donnees_au, max_age_months=max_age_months) else ANCIENNE
