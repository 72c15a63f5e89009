"""Signal helpers against independent computations (direct correlation, analytic wavelets)."""

from __future__ import annotations

import numpy as np
import pytest

from hipscope.processing.events.signals import (
    crossing_time,
    fill_nan,
    lowpass,
    parabolic_peak,
    ricker_cwt,
    ricker_wavelet,
    runs,
    symmetry_index_pct,
    unbiased_autocorrelation,
)


def test_ricker_wavelet_is_zero_mean_unit_energy_and_peaks_at_centre() -> None:
    w = ricker_wavelet(8.0)
    assert abs(w.sum()) < 1e-3 * np.abs(w).sum()
    assert np.sum(w**2) == pytest.approx(1.0, rel=1e-3)
    assert int(np.argmax(w)) == w.shape[0] // 2
    # zero crossings of (1 - t²/a²) at t = ±a
    centre = w.shape[0] // 2
    assert w[centre + 8] == pytest.approx(0.0, abs=1e-12)


def test_ricker_cwt_of_a_gaussian_second_derivative_peaks_where_expected() -> None:
    rate_hz = 100.0
    t = np.arange(0, 10, 1 / rate_hz)
    x = np.exp(-0.5 * ((t - 4.0) / 0.1) ** 2)
    out = ricker_cwt(x, 0.1, rate_hz)
    assert t[np.argmax(out)] == pytest.approx(4.0, abs=0.011)
    assert out.shape == x.shape


def test_unbiased_autocorrelation_matches_direct_sum() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=400) + np.sin(np.arange(400) * 0.2)
    ac = unbiased_autocorrelation(x, 50)
    d = x - x.mean()
    n = d.shape[0]
    direct = np.array([np.dot(d[: n - m], d[m:]) / (n - m) for m in range(51)]) / (np.dot(d, d) / n)
    np.testing.assert_allclose(ac, direct, rtol=1e-9, atol=1e-12)
    assert ac[0] == pytest.approx(1.0)


def test_symmetry_index() -> None:
    assert symmetry_index_pct(0.55, 0.58) == pytest.approx(100 * (0.55 - 0.58) / 0.565)
    assert symmetry_index_pct(1.0, 1.0) == 0.0
    assert symmetry_index_pct(None, 1.0) is None
    assert symmetry_index_pct(float("nan"), 1.0) is None


def test_runs_crossings_and_peaks() -> None:
    assert runs(np.array([0, 1, 1, 0, 1], dtype=bool)) == [(1, 3), (4, 5)]
    assert runs(np.zeros(0, dtype=bool)) == []
    t = np.array([0.0, 0.1, 0.2])
    assert crossing_time(t, np.array([0.0, 1.0, 3.0]), 2, 2.0) == pytest.approx(0.15)
    x = -((np.arange(10) - 4.3) ** 2)
    assert 4 + parabolic_peak(x, 4) == pytest.approx(4.3)


def test_fill_nan_and_lowpass() -> None:
    x = np.array([0.0, np.nan, 2.0, np.nan])
    np.testing.assert_allclose(fill_nan(x), [0.0, 1.0, 2.0, 2.0])
    rate_hz = 200.0
    t = np.arange(0, 5, 1 / rate_hz)
    slow = np.sin(2 * np.pi * 1.0 * t)
    fast = 0.5 * np.sin(2 * np.pi * 40.0 * t)
    out = lowpass(slow + fast, 6.0, rate_hz)
    assert np.max(np.abs(out - slow)[200:-200]) < 0.02
