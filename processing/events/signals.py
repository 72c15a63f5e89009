"""Small signal helpers shared by the event detectors and the metrics (filters, crossings, runs)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal


def _filtfilt(sos: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Zero-phase filtering along axis 0 that copes with short signals (shorter pad)."""
    n = x.shape[0]
    if n < 2:
        return x.copy()
    padlen = min(3 * (2 * sos.shape[0] + 1), n - 1)
    return signal.sosfiltfilt(sos, x, axis=0, padlen=padlen)


def lowpass(x: ArrayLike, cutoff_hz: float, rate_hz: float, order: int = 2) -> NDArray[np.float64]:
    """Zero-phase Butterworth low-pass along axis 0 (no-op when the cutoff is >= Nyquist)."""
    data = np.asarray(x, dtype=np.float64)
    if cutoff_hz >= 0.5 * rate_hz * 0.99:
        return data.copy()
    sos = signal.butter(order, cutoff_hz, btype="lowpass", fs=rate_hz, output="sos")
    return _filtfilt(sos, data)


def bandpass(
    x: ArrayLike, low_hz: float, high_hz: float, rate_hz: float, order: int = 2
) -> NDArray[np.float64]:
    """Zero-phase Butterworth band-pass along axis 0."""
    data = np.asarray(x, dtype=np.float64)
    high_hz = min(high_hz, 0.45 * rate_hz)
    sos = signal.butter(order, [low_hz, high_hz], btype="bandpass", fs=rate_hz, output="sos")
    return _filtfilt(sos, data)


def ricker_wavelet(width_samples: float) -> NDArray[np.float64]:
    """Ricker ("Mexican hat") wavelet of width ``a`` in samples, unit energy, ±5a long.

    scipy.signal.ricker / cwt were removed from scipy, so it is written out here.
    """
    a = float(width_samples)
    half = max(1, int(np.ceil(5.0 * a)))
    t = np.arange(-half, half + 1, dtype=np.float64)
    norm = 2.0 / (np.sqrt(3.0 * a) * np.pi**0.25)
    return norm * (1.0 - (t / a) ** 2) * np.exp(-0.5 * (t / a) ** 2)


def ricker_cwt(x: ArrayLike, width_s: float, rate_hz: float) -> NDArray[np.float64]:
    """One scale of the continuous wavelet transform with a Ricker wavelet (same length)."""
    data = np.asarray(x, dtype=np.float64)
    wavelet = ricker_wavelet(width_s * rate_hz)
    return signal.oaconvolve(data, wavelet, mode="same")


def fill_nan(x: ArrayLike) -> NDArray[np.float64]:
    """Linear interpolation over NaN samples along axis 0 (edges held); all-NaN stays NaN."""
    data = np.array(x, dtype=np.float64, copy=True)
    flat = data.reshape(data.shape[0], -1)
    index = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        column = flat[:, j]
        bad = ~np.isfinite(column)
        if bad.any() and not bad.all():
            column[bad] = np.interp(index[bad], index[~bad], column[~bad])
    return data


def runs(mask: ArrayLike) -> list[tuple[int, int]]:
    """``(start, stop)`` index pairs (stop exclusive) of the True runs of a 1-D mask."""
    m = np.asarray(mask, dtype=bool).astype(np.int8)
    if m.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def crossing_time(
    time_s: NDArray[np.float64], x: NDArray[np.float64], index: int, threshold: float
) -> float:
    """Sub-sample time where ``x`` crosses ``threshold`` between ``index - 1`` and ``index``."""
    if index <= 0:
        return float(time_s[0])
    x0, x1 = float(x[index - 1]), float(x[index])
    if x1 == x0:
        return float(time_s[index])
    frac = float(np.clip((threshold - x0) / (x1 - x0), 0.0, 1.0))
    return float(time_s[index - 1] + frac * (time_s[index] - time_s[index - 1]))


def parabolic_peak(x: NDArray[np.float64], index: int) -> float:
    """Sub-sample offset (in samples, within ±0.5) of an extremum at ``index`` by a parabola."""
    if index <= 0 or index >= x.shape[0] - 1:
        return 0.0
    y0, y1, y2 = float(x[index - 1]), float(x[index]), float(x[index + 1])
    denom = y0 - 2.0 * y1 + y2
    if denom == 0.0:
        return 0.0
    return float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))


def unbiased_autocorrelation(x: ArrayLike, max_lag: int) -> NDArray[np.float64]:
    """Unbiased, normalised autocorrelation (Moe-Nilssen & Helbostad 2004) for lags 0..max_lag.

    ``r(m) = (1 / (N - |m|)) Σ x(i) x(i + m) / ((1 / N) Σ x(i)²)`` on the mean-removed signal.
    """
    data = np.asarray(x, dtype=np.float64)
    data = data - data.mean()
    n = data.shape[0]
    max_lag = int(min(max_lag, n - 1))
    spectrum = np.fft.rfft(data, 2 * n)
    raw = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 1]
    lags = np.arange(max_lag + 1)
    unbiased = raw / (n - lags)
    zero = raw[0] / n
    if zero <= 0.0:
        return np.zeros(max_lag + 1)
    return unbiased / zero


def symmetry_index_pct(left: float | None, right: float | None) -> float | None:
    """SI = 100 (L − R) / (0.5 (L + R)) (Robinson 1987); None when a side is missing or both 0."""
    if left is None or right is None or not np.isfinite(left) or not np.isfinite(right):
        return None
    mean = 0.5 * (left + right)
    if mean == 0.0:
        return None
    return float(100.0 * (left - right) / mean)
