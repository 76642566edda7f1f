"""What every step of the demo generator shares: the two scales and small vectorised helpers."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from cdv_core.domain.identifiers import luhn_check_digit

SCALES = ("demo", "national")


@dataclass(frozen=True)
class Scale:
    name: str
    years: tuple[int, ...]  # programmation years generated
    new_actions_per_qpv_year: float
    porteurs_base: int  # porteurs per contract = base + per_qpv × QPV
    porteurs_per_qpv: int
    n_indicators: int
    value_years: tuple[int, ...]
    reference_date: date  # the "données au" date of the generated data
    meetings_until: date


DEMO = Scale(
    "demo", (2024, 2025, 2026), 10.0, 6, 5, 14, tuple(range(2016, 2026)), date(2026, 11, 15), date(2027, 6, 30)
)
NATIONAL = Scale(
    "national",
    tuple(range(2024, 2031)),
    25.0,
    4,
    6,
    30,
    tuple(range(2016, 2026)),
    date(2026, 11, 15),
    date(2030, 12, 31),
)


def _choice(rng: np.random.Generator, values, n: int, weights=None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _as_date(days: np.ndarray | pl.Series) -> pl.Series:
    return pl.Series(np.asarray(days, dtype="int64")).cast(pl.Int32).cast(pl.Date)


def digits_of(text: pl.Series | np.ndarray, width: int) -> np.ndarray:
    """(n, width) digit array of `width`-digit strings."""
    raw = "".join(pl.Series(text, dtype=pl.String).to_list()).encode("ascii")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).astype(np.int64) - 48


def text_of(digits: np.ndarray) -> pl.Series:
    """The strings of an (n, width) digit array."""
    if not len(digits):
        return pl.Series([], dtype=pl.String)
    return pl.DataFrame(digits.astype(str)).select(pl.concat_str(pl.all())).to_series()


def with_check_digit(digits: np.ndarray) -> np.ndarray:
    """Each row of digits followed by its Luhn check digit (SIREN, SIRET)."""
    return np.concatenate([digits, luhn_check_digit(digits)[:, None]], axis=1)


def _hex_contour(lon: float, lat: float, radius_km: float, wobble: np.ndarray) -> str:
    points = []
    for i, w in enumerate(wobble):
        angle = 2 * math.pi * i / len(wobble)
        r = radius_km * (0.8 + 0.4 * w)
        points.append(
            [
                round(float(lon + r / (111.3 * math.cos(math.radians(lat))) * math.cos(angle)), 5),
                round(float(lat + r / 111.3 * math.sin(angle)), 5),
            ]
        )
    points.append(points[0])
    return json.dumps({"type": "Polygon", "coordinates": [points]})


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal group ids (groups sorted)."""
    if len(groups) == 0:
        return groups
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    return np.arange(len(groups)) - first + 1
