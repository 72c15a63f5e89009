"""Sensor samples no body could produce: found, left out of the analysis, and said so.

A recording can hold finite but impossible values: an accelerometer reading 3e38 m/s² for
a second, a gyroscope pinned at its range limit, a sensor that froze and repeated one
sample. Fed to the fusion they tilt the orientation for seconds and the metrics come out
wrong without a word (a 1 s spike of 3e38 inside a single-leg stance turned a 4° pelvic
drop into −1°). ``screen_samples`` finds such rows per sensor before fusion and removes
them; the analysis then sees a gap (which the kinematics leave as NaN) and one note per
sensor says how much was left out, where, and why.

Three rules, each a property of sensors in general rather than of one model:

- **Beyond any IMU's range**: an acceleration component beyond ``ACC_LIMIT_M_S2`` (400 g;
  the widest-range MEMS accelerometers stop at ±400 g) or an angular rate beyond
  ``GYR_LIMIT_RAD_S`` (about 5700 °/s; MEMS gyroscopes stop at ±4000 °/s).
- **Saturated**: one axis pinned at exactly the same large value (at least
  ``SATURATION_ACC_M_S2`` or ``SATURATION_GYR_RAD_S``) for ``SATURATION_MIN_SAMPLES`` or
  more samples in a row: a clipped signal, not motion (real motion at that level never
  repeats a reading exactly).
- **Frozen**: all accelerometer and gyroscope channels repeating exactly for at least
  ``FROZEN_MIN_S``, in a sensor whose samples otherwise change from one to the next (at
  most ``FROZEN_MAX_REPEAT_FRACTION`` of them repeat). Noise-free synthetic data repeat
  all the time and are left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.recording import Recording, SensorData
from hipscope.processing.kinematics import SessionKinematics

STANDARD_GRAVITY_M_S2 = 9.80665
ACC_LIMIT_M_S2 = 400.0 * STANDARD_GRAVITY_M_S2
GYR_LIMIT_RAD_S = 100.0
SATURATION_ACC_M_S2 = 4.0 * STANDARD_GRAVITY_M_S2
SATURATION_GYR_RAD_S = float(np.radians(1000.0))
SATURATION_MIN_SAMPLES = 3
FROZEN_MIN_S = 1.0
FROZEN_MAX_REPEAT_FRACTION = 0.2


@dataclass(frozen=True)
class SensorQuality:
    """What the screen found in one sensor: a row mask and the reasons, for the note."""

    placement: str
    bad: NDArray[np.bool_]
    reasons: tuple[str, ...]
    spans_s: tuple[tuple[float, float], ...]

    @property
    def n_bad(self) -> int:
        return int(self.bad.sum())

    def note(self) -> str:
        shown = ", ".join(f"{a:.2f}–{b:.2f} s" for a, b in self.spans_s[:3])
        more = f" and {len(self.spans_s) - 3} more stretches" if len(self.spans_s) > 3 else ""
        return (
            f"{self.placement}: {self.n_bad} sample(s) left out of the analysis "
            f"({'; '.join(self.reasons)}) at {shown}{more}"
        )


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(first, last + 1) of every run of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _repeat_runs(same_as_previous: NDArray[np.bool_], min_samples: int) -> NDArray[np.bool_]:
    """Rows in runs of at least ``min_samples`` equal samples (``same_as_previous[i]``:
    row i+1 equals row i)."""
    out = np.zeros(len(same_as_previous) + 1, dtype=bool)
    for first, stop in _runs(same_as_previous):
        if stop - first + 1 >= min_samples:
            out[first : stop + 1] = True
    return out


def _pinned(values: NDArray[np.float32], floor: float) -> NDArray[np.bool_]:
    """Rows where some axis sits at one value of magnitude >= floor for a run of samples."""
    bad = np.zeros(values.shape[0], dtype=bool)
    if values.shape[0] < SATURATION_MIN_SAMPLES:
        return bad
    for axis in range(values.shape[1]):
        column = values[:, axis]
        same = (column[1:] == column[:-1]) & (np.abs(column[1:]) >= floor)
        bad |= _repeat_runs(same, SATURATION_MIN_SAMPLES)
    return bad


def _frozen(sensor: SensorData) -> NDArray[np.bool_]:
    samples = sensor.samples
    n = len(samples)
    if n < 3:
        return np.zeros(n, dtype=bool)
    same = np.all(samples.acc_m_s2[1:] == samples.acc_m_s2[:-1], axis=1) & np.all(
        samples.gyr_rad_s[1:] == samples.gyr_rad_s[:-1], axis=1
    )
    if same.mean() > FROZEN_MAX_REPEAT_FRACTION:
        return np.zeros(n, dtype=bool)  # a noise-free (synthetic) sensor: repeats are normal
    rate_hz = sensor.rate_hz if sensor.rate_hz > 0 else sensor.nominal_rate_hz
    min_samples = max(3, int(np.ceil(FROZEN_MIN_S * rate_hz))) if rate_hz > 0 else n + 1
    return _repeat_runs(same, min_samples)


def check_sensor(sensor: SensorData) -> SensorQuality:
    """The rows of one sensor that no body movement could have produced, and why."""
    samples = sensor.samples
    acc = samples.acc_m_s2
    gyr = samples.gyr_rad_s
    reasons: list[str] = []
    bad = np.zeros(len(samples), dtype=bool)
    if len(samples):
        acc_peak = np.abs(acc).max(axis=1)
        gyr_peak = np.abs(gyr).max(axis=1)
        beyond_acc = acc_peak > ACC_LIMIT_M_S2
        beyond_gyr = gyr_peak > GYR_LIMIT_RAD_S
        if beyond_acc.any():
            reasons.append(
                f"accelerometer beyond any IMU's range, up to {float(acc_peak.max()):.3g} m/s²"
            )
        if beyond_gyr.any():
            reasons.append(
                f"gyroscope beyond any IMU's range, up to {float(gyr_peak.max()):.3g} rad/s"
            )
        saturated = (_pinned(acc, SATURATION_ACC_M_S2) | _pinned(gyr, SATURATION_GYR_RAD_S)) & ~(
            beyond_acc | beyond_gyr
        )
        if saturated.any():
            reasons.append("saturated (pinned at a large constant value)")
        frozen = _frozen(sensor) & ~(beyond_acc | beyond_gyr | saturated)
        if frozen.any():
            reasons.append(f"frozen (the same sample repeated for {FROZEN_MIN_S:g} s or more)")
        bad = beyond_acc | beyond_gyr | saturated | frozen
    t = samples.time_s
    spans = tuple((float(t[a]), float(t[b - 1])) for a, b in _runs(bad))
    return SensorQuality(sensor.placement, bad, tuple(reasons), spans)


def screen_samples(recording: Recording) -> tuple[Recording, tuple[str, ...]]:
    """The recording without implausible rows (see the module docstring), and one note per
    sensor that lost any. Unchanged sensors are the same objects; nothing is copied when
    every sample is plausible."""
    sensors: dict[str, SensorData] = {}
    notes: list[str] = []
    for placement, sensor in recording.sensors.items():
        quality = check_sensor(sensor)
        if quality.n_bad == 0:
            sensors[placement] = sensor
            continue
        notes.append(quality.note())
        sensors[placement] = dataclasses.replace(sensor, samples=sensor.samples.take(~quality.bad))
    if not notes:
        return recording, ()
    return dataclasses.replace(recording, sensors=sensors), tuple(notes)


def with_notes(kinematics: SessionKinematics, notes: Sequence[str]) -> SessionKinematics:
    """The kinematics with data-quality notes first among its calibration notes (they reach
    the metrics JSON and the report with the other notes)."""
    if not notes:
        return kinematics
    calibration = dataclasses.replace(
        kinematics.calibration, notes=(*notes, *kinematics.calibration.notes)
    )
    return dataclasses.replace(kinematics, calibration=calibration)
