"""Helpers shared by the metric objects: JSON-ready numbers and window selection."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray


def number(value: float | np.floating | None, ndigits: int = 4) -> float | None:
    """A finite float rounded for JSON, or None for missing / NaN / infinite values."""
    if value is None:
        return None
    x = float(value)
    if not math.isfinite(x):
        return None
    return round(x, ndigits)


def numbers(values: Iterable[float], ndigits: int = 4) -> list[float | None]:
    return [number(v, ndigits) for v in values]


def window(time_s: NDArray[np.float64], start_s: float, end_s: float) -> NDArray[np.bool_]:
    """Boolean mask of the samples inside [start_s, end_s]."""
    return (time_s >= start_s) & (time_s <= end_s)


def rate_of(time_s: ArrayLike) -> float:
    t = np.asarray(time_s, dtype=np.float64)
    if t.shape[0] < 2 or t[-1] <= t[0]:
        return 0.0
    return float((t.shape[0] - 1) / (t[-1] - t[0]))


def median_or_none(values: ArrayLike) -> float | None:
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    return float(np.median(data)) if data.size else None


def robust_mean_or_none(values: ArrayLike, band: float = 0.3) -> float | None:
    """Mean of the values within ±band (fraction) of their median: uses every normal step
    while a missed or extra contact (a doubled or halved interval) is left out."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if not data.size:
        return None
    median = float(np.median(data))
    kept = data[np.abs(data - median) <= band * abs(median)]
    return float(np.mean(kept)) if kept.size else median
