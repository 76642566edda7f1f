"""The cadence rule of governance instances, as plain Python (the SQL of
`cdv_core.queries.gouvernance` applies the same rule in bulk; tests keep the two in step).

- Only meetings with statut « tenue » dated on or before the « données au » date count as held;
  « prévue », « annulée » and « reportée » never do.
- The reference date of an instance is its last held meeting, or, if it never met, its creation
  date (or the contract start when the creation date is unknown).
- Due date = reference date + `cadence_mois` months (calendar months, clamped to the month's
  last day, as DuckDB's `date + INTERVAL n MONTH`) + `tolerance_days` days.
- The instance is late when the due date is strictly before the « données au » date: on the due
  date itself it is not late yet.
- Meetings expected in a calendar year = active months / cadence_mois rounded half up, i.e.
  (2 × months + cadence) // (2 × cadence), where the active months are counted from
  max(1 January, creation date) to min(31 December, « données au »), as month boundaries crossed
  (DuckDB `datediff('month', start, end + 1 day)`). A full year gives 12 / cadence; an instance
  created mid-year is expected to meet in proportion of its months of existence (a yearly COPIL
  created on 1 July: 1 meeting; created on 1 October: 0).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta

HELD = "tenue"
ACTIVE_MONTHS = 12  # a residents' body is active when it held a meeting in the last 12 months


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, clamped to the end of the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def last_held(meetings: Iterable[tuple[date, str]], *, donnees_au: date) -> date | None:
    """The date of the last meeting held on or before `donnees_au` (meetings: (date, statut))."""
    held = [d for d, statut in meetings if statut == HELD and d <= donnees_au]
    return max(held) if held else None


def due_date(*, last_held: date | None, created: date | None, cadence_months: int, tolerance_days: int) -> date | None:
    """The date after which the instance is late; None when there is no reference date."""
    reference = last_held or created
    if reference is None:
        return None
    return add_months(reference, cadence_months) + timedelta(days=tolerance_days)


def is_late(
    *, last_held: date | None, created: date | None, cadence_months: int, tolerance_days: int, donnees_au: date
) -> bool:
    """True when the due date (see `due_date`) is strictly before `donnees_au`."""
    due = due_date(last_held=last_held, created=created, cadence_months=cadence_months, tolerance_days=tolerance_days)
    return due is not None and due < donnees_au


def months_between(start: date, end_inclusive: date) -> int:
    """Month boundaries crossed from `start` to the day after `end_inclusive` (0 if empty)."""
    after = end_inclusive + timedelta(days=1)
    if after <= start:
        return 0
    return (after.year - start.year) * 12 + after.month - start.month


def expected_meetings(*, year: int, created: date | None, cadence_months: int, donnees_au: date) -> int:
    """Meetings the instance is expected to hold in `year` (see the module docstring)."""
    start = max(date(year, 1, 1), created or date(year, 1, 1))
    end = min(date(year, 12, 31), donnees_au)
    return (2 * months_between(start, end) + cadence_months) // (2 * cadence_months)
