"""Smooth time profiles: minimum-jerk steps, skewed periodic phases and band-limited sway.

Every function here is analytic (no sampling grid), so the simulator can evaluate poses at
any instant and differentiate them cleanly with a small central-difference step.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def smoothstep(u: ArrayLike) -> FloatArray:
    """Minimum-jerk step from 0 (u <= 0) to 1 (u >= 1), flat at both ends."""
    x = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    return x * x * x * (10.0 + x * (-15.0 + 6.0 * x))


def smoothstep_integral(u: ArrayLike) -> FloatArray:
    """Integral of ``smoothstep`` from 0 to u (0 before the step, u - 1/2 after it)."""
    u = np.asarray(u, dtype=np.float64)
    x = np.clip(u, 0.0, 1.0)
    inside = x**4 * (2.5 + x * (-3.0 + x))
    return inside + np.maximum(u - 1.0, 0.0)


def transition(t: ArrayLike, t0: float, duration_s: float, a: float, b: float) -> FloatArray:
    """From a to b along a minimum-jerk profile starting at t0 and lasting duration_s."""
    return a + (b - a) * smoothstep((np.asarray(t, dtype=np.float64) - t0) / duration_s)


def plateau(t: ArrayLike, t_on: float, t_off: float, ramp_s: float) -> FloatArray:
    """0 -> 1 ramp from t_on, 1 -> 0 ramp ending at t_off (both minimum-jerk, ramp_s long)."""
    t = np.asarray(t, dtype=np.float64)
    return smoothstep((t - t_on) / ramp_s) * smoothstep((t_off - t) / ramp_s)


def skewed_phase(phi: ArrayLike, p: float) -> FloatArray:
    """Smooth monotonic warp of a cycle phase so that phase p maps to one half.

    ``w(phi) = phi + c (sin(2 pi (phi - p/2)) + sin(pi p)) / (2 pi)`` with
    ``c = (1/2 - p) pi / sin(pi p)``: w(0) = 0, w(p) = 1/2, w(phi + 1) = w(phi) + 1, and w is
    infinitely differentiable. Monotonic while |c| < 1 (p within about 0.25..0.75).
    """
    phi = np.asarray(phi, dtype=np.float64)
    c = (0.5 - p) * np.pi / np.sin(np.pi * p)
    return phi + c * (np.sin(2.0 * np.pi * (phi - 0.5 * p)) + np.sin(np.pi * p)) / (2.0 * np.pi)


def impacts_m(
    t: ArrayLike, times_s: ArrayLike, peaks_m_s2: ArrayLike, sigma_s: float
) -> FloatArray:
    """Vertical displacement whose second derivative is a short upward pulse at each time.

    A Gaussian dip of depth ``peak * sigma**2``: its acceleration is +peak at the impact,
    with small negative side lobes (a foot contact seen from the pelvis).
    """
    t = np.asarray(t, dtype=np.float64)
    z = np.zeros(len(t))
    for time_s, peak in zip(np.atleast_1d(times_s), np.atleast_1d(peaks_m_s2), strict=True):
        near = np.abs(t - time_s) < 8.0 * sigma_s
        if np.any(near):
            z[near] -= peak * sigma_s**2 * np.exp(-0.5 * ((t[near] - time_s) / sigma_s) ** 2)
    return z


def wobbles(
    t: ArrayLike, times_s: ArrayLike, weights: ArrayLike, freq_hz: float = 12.0
) -> FloatArray:
    """Damped soft-tissue oscillation after each impact: a Gaussian-windowed sine (peak ~1)."""
    t = np.asarray(t, dtype=np.float64)
    out = np.zeros(len(t))
    for time_s, weight in zip(np.atleast_1d(times_s), np.atleast_1d(weights), strict=True):
        tau = t - time_s
        near = (tau > -0.1) & (tau < 0.3)
        if np.any(near):
            window = np.exp(-0.5 * ((tau[near] - 0.05) / 0.025) ** 2)
            out[near] += weight * window * np.sin(2.0 * np.pi * freq_hz * tau[near])
    return out


class SmoothSway:
    """Band-limited random displacement (sum of sines) with a chosen RMS acceleration.

    Parameters
    ----------
    rng
        Random generator that fixes the frequencies and phases.
    acc_rms_m_s2
        RMS of the acceleration of the displacement, summed over the axes (m/s²).
    n_axes
        Number of axes (default 2: anterior-posterior and mediolateral).
    band_hz
        Frequency band of the components (default 0.3..1.5 Hz, typical of postural sway).
    n_components
        Sines per axis (default 6).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        acc_rms_m_s2: float,
        *,
        n_axes: int = 2,
        band_hz: tuple[float, float] = (0.3, 1.5),
        n_components: int = 6,
    ) -> None:
        self.freq_hz = rng.uniform(band_hz[0], band_hz[1], size=(n_axes, n_components))
        self.phase_rad = rng.uniform(0.0, 2.0 * np.pi, size=(n_axes, n_components))
        weights = rng.uniform(0.5, 1.0, size=(n_axes, n_components))
        omega = 2.0 * np.pi * self.freq_hz
        # acceleration amplitude of each sine is A * omega^2; the mean square of a sine is A^2/2
        acc_amp = weights * acc_rms_m_s2 / np.sqrt(0.5 * np.sum(weights**2))
        self.amp_m = acc_amp / omega**2

    def acc_rms_m_s2(self, start_s: float, end_s: float) -> float:
        """RMS acceleration (all axes together) over [start_s, end_s], from the analytic form."""
        t = np.arange(start_s, end_s, 1e-3)
        omega = 2.0 * np.pi * self.freq_hz
        arg = omega[None] * t[:, None, None] + self.phase_rad[None]
        acc = -np.sum(self.amp_m[None] * omega[None] ** 2 * np.sin(arg), axis=2)
        return float(np.sqrt(np.mean(np.sum(acc**2, axis=1))))

    def rescale(self, start_s: float, end_s: float, acc_rms_m_s2: float) -> None:
        """Scale the amplitudes so the RMS acceleration over [start_s, end_s] is exact."""
        actual = self.acc_rms_m_s2(start_s, end_s)
        if actual > 0.0:
            self.amp_m = self.amp_m * (acc_rms_m_s2 / actual)

    def displacement_m(self, t: ArrayLike) -> FloatArray:
        """Displacement (N, n_axes) in metres at times t (s)."""
        t = np.asarray(t, dtype=np.float64)
        arg = 2.0 * np.pi * self.freq_hz[None, :, :] * t[:, None, None] + self.phase_rad[None]
        return np.sum(self.amp_m[None] * np.sin(arg), axis=2)
