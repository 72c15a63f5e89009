"""Sensor-to-segment alignment and a common heading from quiet standing plus functional movement.

For each sensor the calibration finds ``q_sensor_segment`` (the ISB segment frame in sensor
coordinates) and ``q_world_fusion`` (a rotation about z taking that sensor's fusion frame
into the common world frame: x the athlete's forward direction at the standing window).

1. Standing window: the stillest ``window_s`` inside the ``static`` tasks (method
   ``"static task"``); without one, the stillest window of the whole recording in which
   every sensor's nominal up axis is within ``max_upright_deg`` of gravity (``"stillest
   window"``). The segment's superior axis (ISB y) is the measured up direction there: the
   mean specific force, which standing still is gravity alone.
2. Direction of progression (any sensor with ``min_walk_s`` of ``gait`` tasks): the
   pendular exchange of walking (``progression_direction``): vertical velocity and
   forward acceleration are opposed at every step, so their covariance, taken in sensor
   coordinates window by window, points backwards along the way the sensor's wearer walks,
   through turns and out-and-back walks alike. Its cross product with the superior axis
   is a mediolateral axis that needs no mounting at all. When the windows disagree
   (resultant length below ``min_walk_consistency``) walking gives no axis, and the
   source says "nominal mounting (walking direction ambiguous)".
3. Mediolateral axis (ISB z): the principal axis of the angular velocity (its component
   about the world vertical removed), projected onto the segment's transverse plane, during
   functional tasks (hinge, squat, bridge for pelvis and trunk; for thighs gait, else squat,
   lunge, bridge, else single-leg stance, else hinge). Its sign, and the reference it must
   lie within ``max_axis_deviation_deg`` of, come from walking where there was walking,
   else from the nominal mounting. Used only when it clearly dominates (variance ratio >=
   ``min_axis_ratio``). Without walking, the direction the segment first turns away from
   standing in hinges and squats (pelvis and trunk lean forward, thighs flex) gives the sign
   instead, and the nominal axis is no longer a limit. Otherwise the walking axis itself;
   otherwise the nominal mounting's mediolateral axis, made horizontal, and a note says
   so. So any heading of the sensor about the segment's long axis is found from standing
   plus walking.
4. Heading: each segment's anterior axis at the standing window defines world +x.

Nominal mounting (docs/DESIGN.md): pelvis and trunk sensors +x up, +z backwards (so +y left);
thigh sensors +x up, +z outwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter1d, uniform_filter1d
from scipy.spatial.transform import Rotation

from hipscope.acquisition.samples import Task
from hipscope.base import tasks as task_registry
from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import from_rotation, quat_conjugate, quat_multiply, to_rotation
from hipscope.processing.angles import finite_rows, row_chunks

# Columns: ISB segment x (anterior), y (superior), z (right) in sensor coordinates.
_TRUNK_LIKE = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
_LATERAL_RIGHT = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
_LATERAL_LEFT = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])

NOMINAL_SENSOR_SEGMENT: dict[str, NDArray[np.float64]] = {
    "pelvis": _TRUNK_LIKE,
    "trunk": _TRUNK_LIKE,
    "thigh_left": _LATERAL_LEFT,
    "thigh_right": _LATERAL_RIGHT,
    "shank_left": _LATERAL_LEFT,
    "shank_right": _LATERAL_RIGHT,
    "foot_left": _LATERAL_LEFT,
    "foot_right": _LATERAL_RIGHT,
}
"""Rotation matrices R_sensor_segment of the nominal mounting per placement."""

TRUNK_LIKE_PLACEMENTS = ("pelvis", "trunk")


def functional_tiers(placement: str) -> tuple[tuple[str, ...], ...]:
    """Task kinds whose angular velocity gives the mediolateral axis, in tiers tried in
    order; each kind's tier is its registry record's calibration role. For the limbs gait
    comes first: in a single-leg stance the pelvis drops while the free thigh lifts, which
    tilts the principal axis; the hinge barely moves the thighs."""
    role = "trunk_axis_tier" if placement in TRUNK_LIKE_PLACEMENTS else "limb_axis_tier"
    tiers: dict[int, list[str]] = {}
    for record in task_registry.task_kinds():
        tier = getattr(record.calibration, role)
        if tier is not None:
            tiers.setdefault(tier, []).append(record.kind)
    return tuple(tuple(tiers[tier]) for tier in sorted(tiers))


_MISSING_SENSOR_COST = 1e3

_UP_WORLD = np.array([0.0, 0.0, 1.0])


def nominal_q_sensor_segment(placement: str) -> NDArray[np.float64]:
    """``q_sensor_segment`` of docs/DESIGN.md's nominal mounting for a placement."""
    if placement not in NOMINAL_SENSOR_SEGMENT:
        raise HipscopeError(f"calibration: no nominal mounting for placement {placement!r}")
    return from_rotation(Rotation.from_matrix(NOMINAL_SENSOR_SEGMENT[placement]))


@dataclass(frozen=True)
class SegmentCalibration:
    """One sensor's alignment.

    ``q_world_segment = q_world_fusion ⊗ q_fusion_sensor ⊗ q_sensor_segment``.
    """

    placement: str
    q_sensor_segment: NDArray[np.float64]
    q_world_fusion: NDArray[np.float64]
    misalignment_rad: float
    """Angle between the calibrated and the nominal mounting."""
    axis_source: str
    """Where the mediolateral axis came from: a task kind list or "nominal mounting"."""
    axis_ratio: float
    """Variance ratio of the principal to the secondary horizontal angular velocity axis."""
    superior_source: str = "gravity"
    """Where the superior axis came from (gravity in the standing window)."""


@dataclass(frozen=True)
class CalibrationResult:
    method: str
    """"static task" | "stillest window" | "live reference"."""
    window_start_s: float
    window_end_s: float
    segments: dict[str, SegmentCalibration]
    notes: tuple[str, ...] = field(default=())

    @property
    def window_s(self) -> float:
        return self.window_end_s - self.window_start_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (degrees at this edge)."""
        return {
            "method": self.method,
            "window_start_s": round(float(self.window_start_s), 4),
            "window_end_s": round(float(self.window_end_s), 4),
            "window_s": round(float(self.window_s), 4),
            "misalignment_deg": {
                p: round(float(np.degrees(s.misalignment_rad)), 2) for p, s in self.segments.items()
            },
            "mediolateral_axis_source": {p: s.axis_source for p, s in self.segments.items()},
            "axis_sources": {
                p: {
                    "superior": f"{s.superior_source} ({self.method})",
                    "mediolateral": s.axis_source,
                    "anterior": "superior × mediolateral",
                }
                for p, s in self.segments.items()
            },
            "notes": list(self.notes),
        }


def _quat_angle(q: NDArray[np.float64]) -> float:
    return float(2.0 * np.arccos(np.clip(abs(q[0]), 0.0, 1.0)))


def _window_means(values: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Mean over every length-n window (rows: window start); NaN inside a window gives NaN."""
    if values.ndim == 1:
        csum = np.empty(values.shape[0] + 1)
        csum[0] = 0.0
        np.cumsum(values, out=csum[1:])
        out = csum[n:] - csum[:-n]
        out /= n
        return out
    csum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    return (csum[n:] - csum[:-n]) / n


def stillness_score(
    gyr_rad_s: NDArray[np.float64], acc_m_s2: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    """Per window start: mean squared rate plus acceleration variance / g² (lower = stiller).

    Column by column, so a long session needs a few (N,) temporaries, not (N, 3) ones.
    """
    bad = ~finite_rows(gyr_rad_s, acc_m_s2)
    gyr_sq = np.zeros(len(bad))
    acc_sq = np.zeros(len(bad))
    acc_mean_sq: NDArray[np.float64] | float = 0.0
    for k in range(3):
        gyr = np.where(bad, 0.0, gyr_rad_s[:, k])
        gyr_sq += np.multiply(gyr, gyr, out=gyr)
        del gyr
        acc = np.where(bad, 0.0, acc_m_s2[:, k])
        acc /= 9.81
        acc_mean = _window_means(acc, n)
        acc_mean_sq = acc_mean_sq + acc_mean * acc_mean
        del acc_mean
        acc_sq += np.multiply(acc, acc, out=acc)
        del acc
    gyr2 = _window_means(gyr_sq, n)
    acc2 = _window_means(acc_sq, n)
    score = gyr2 + np.maximum(acc2 - acc_mean_sq, 0.0)
    bad_count = _window_means(bad.astype(np.float64), n)
    return np.where(bad_count > 0, np.inf, score)


def _mark_between(
    mask: NDArray[np.bool_],
    low: NDArray[np.float64],
    low_min: float,
    high: NDArray[np.float64],
    high_max: float,
    ascending: bool,
) -> None:
    """``mask |= (low >= low_min) & (high <= high_max)``; by binary search when both arrays
    are finite and non-decreasing (``ascending``): per-task comparisons over every row of a
    long session add up."""
    if ascending:
        i0 = int(np.searchsorted(low, low_min, side="left"))
        i1 = int(np.searchsorted(high, high_max, side="right"))
        mask[i0:i1] = True
    else:
        mask |= (low >= low_min) & (high <= high_max)


def _ascending(values: NDArray[np.float64]) -> bool:
    """Finite and non-decreasing."""
    return bool(np.isfinite(values).all() and np.all(values[1:] >= values[:-1]))


def _grid_rate_hz(time_s: NDArray[np.float64]) -> float:
    """The grid's rate from its typical step (the grid may leave out long empty gaps)."""
    return 1.0 / float(np.median(np.diff(time_s))) if len(time_s) > 1 else 1.0


def _without_vertical_rate(
    q_fusion_sensor: NDArray[np.float64], gyr_rad_s: NDArray[np.float64], mask: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Angular velocity of the masked rows, its world-vertical component removed, in sensor
    coordinates; block by block (a long walk would need several (N, 3, 3) matrices at once).

    Turning about the vertical (pelvis rotation, heading changes) correlates with the swing
    of the thigh; without it the principal axis is the flexion axis.
    """
    parts = []
    for rows in row_chunks(len(mask)):
        keep = mask[rows]
        if not keep.any():
            continue
        r_fusion_sensor = to_rotation(q_fusion_sensor[rows][keep])
        gyr_world = r_fusion_sensor.apply(gyr_rad_s[rows][keep])
        gyr_world[:, 2] = 0.0
        parts.append(r_fusion_sensor.inv().apply(gyr_world))
    return np.concatenate(parts) if parts else np.empty((0, 3))


def lowpass_runs(
    values: NDArray[np.float64], mask: NDArray[np.bool_], cutoff_hz: float, rate_hz: float
) -> NDArray[np.float64]:
    """``values`` with each run of True rows of ``mask`` low-passed (zero phase).

    A Gaussian kernel with gain 1/2 at ``cutoff_hz``, like a forward-backward order-2
    Butterworth: the same gain at twice the cutoff (0.06), a little less in the pass band
    (0.93 against 0.99 at a third of it) and far less above (0.05 % against 0.8 % at 10 Hz
    for a 3 Hz cutoff); no ringing, and no import of scipy.signal, whose loading costs the
    angle export about a second.
    Only the masked rows change (a long session's other rows cost nothing); runs too short
    for the filter, or a cutoff at or above Nyquist, stay as they are.
    """
    if not 0.0 < cutoff_hz < 0.45 * rate_hz or not mask.any():
        return values
    # |H(f)| = exp(-2 pi^2 sigma^2 f^2) = 1/2 at the cutoff
    sigma_samples = np.sqrt(np.log(2.0) / 2.0) / (np.pi * cutoff_hz) * rate_hz
    out = values.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start > 30:
            out[start:stop] = gaussian_filter1d(
                values[start:stop], sigma_samples, axis=0, mode="nearest", truncate=4.0
            )
    return out


MOVEMENT_SIGNS: dict[str, dict[str, float]] = {
    "pelvis": {"hip_hinge": -1.0, "squat": -1.0},
    "trunk": {"hip_hinge": -1.0, "squat": -1.0},
    "thigh_left": {"squat": 1.0},
    "thigh_right": {"squat": 1.0},
}
"""Sign of the rotation about the segment's right (ISB z) axis on the way down from
standing: pelvis and trunk lean forward (negative), thighs flex (positive)."""


def movement_sign(
    placement: str,
    time_s: NDArray[np.float64],
    gyr_rad_s: NDArray[np.float64],
    axis: NDArray[np.float64],
    tasks: Sequence[Task],
    rate_hz: float,
    min_angle_rad: float = np.radians(5.0),
) -> float:
    """+1 when ``axis`` points to the segment's right, -1 when left, 0 when unclear.

    Over each task whose kind has a known direction (``MOVEMENT_SIGNS``), the rotation angle
    about ``axis`` relative to the task's start (rate minus its mean over the task: the
    athlete stands at both ends) spends its time on the flexed side of zero.
    """
    signs = MOVEMENT_SIGNS.get(placement, {})
    evidence = 0.0
    for task in tasks:
        expected = signs.get(task.kind)
        if expected is None:
            continue
        i0 = int(np.searchsorted(time_s, task.start_s, side="left"))
        i1 = int(np.searchsorted(time_s, task.end_s, side="right"))
        rate = gyr_rad_s[i0:i1] @ axis
        if len(rate) < 10 or not np.isfinite(rate).all():
            continue
        angle = np.cumsum(rate - rate.mean()) / rate_hz
        evidence += expected * float(np.mean(angle - angle[0]))
    if abs(evidence) < min_angle_rad:
        return 0.0
    return 1.0 if evidence > 0 else -1.0


def _up_in_sensor(q_fusion_sensor: NDArray[np.float64]) -> NDArray[np.float64]:
    """World up expressed in sensor coordinates, per row."""
    return to_rotation(q_fusion_sensor).inv().apply(_UP_WORLD)


def standing_up(
    q_fusion_sensor: NDArray[np.float64], acc_m_s2: NDArray[np.float64]
) -> NDArray[np.float64]:
    """World up in sensor coordinates over a still window: the mean specific force.

    Standing still, the accelerometer measures gravity alone. The fused orientation there
    can be off by a degree: an offline filter spreads the inclination error of a nearby
    start (walking away accelerates the body by ~1 m/s in one stride) backwards in time
    into the standing. The fused up is the fallback when the window has no finite sample.
    """
    finite = finite_rows(acc_m_s2)
    if finite.any():
        return _mean_unit(acc_m_s2[finite])
    return _mean_unit(_up_in_sensor(q_fusion_sensor))


def _mean_unit(vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    v = np.nanmean(vectors, axis=0)
    return v / np.linalg.norm(v)


def principal_horizontal_axis(
    gyr_rad_s: NDArray[np.float64], up: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float]:
    """Principal axis of angular velocity perpendicular to ``up`` and its variance ratio."""
    gyr = gyr_rad_s[finite_rows(gyr_rad_s)]
    if gyr.shape[0] < 10:
        return np.full(3, np.nan), 0.0
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(up, helper)
    u /= np.linalg.norm(u)
    v = np.cross(up, u)
    planar = np.column_stack([gyr @ u, gyr @ v])
    planar -= planar.mean(axis=0)
    eigval, eigvec = np.linalg.eigh(planar.T @ planar / planar.shape[0])
    ratio = float(eigval[1] / max(eigval[0], 1e-12))
    axis = eigvec[0, 1] * u + eigvec[1, 1] * v
    return axis / np.linalg.norm(axis), ratio


def segment_frame(
    up_sensor: NDArray[np.float64], mediolateral_sensor: NDArray[np.float64]
) -> NDArray[np.float64]:
    """q_sensor_segment from the superior axis and an (approximately) right-pointing axis."""
    y = up_sensor / np.linalg.norm(up_sensor)
    z = mediolateral_sensor - np.dot(mediolateral_sensor, y) * y
    z /= np.linalg.norm(z)
    x = np.cross(y, z)
    return from_rotation(Rotation.from_matrix(np.column_stack([x, y, z])))


def heading_alignment(
    q_fusion_sensor: NDArray[np.float64], q_sensor_segment: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Rotation about z that turns the segment's mean anterior axis (in these rows) onto +x."""
    q_fusion_segment = quat_multiply(q_fusion_sensor, q_sensor_segment)
    anterior = to_rotation(q_fusion_segment).apply([1.0, 0.0, 0.0])
    mean = np.nanmean(anterior, axis=0)
    psi = float(np.arctan2(mean[1], mean[0]))
    return np.array([np.cos(-psi / 2.0), 0.0, 0.0, np.sin(-psi / 2.0)])


G_M_S2 = 9.81


@dataclass(frozen=True)
class ProgressionEstimate:
    """The direction of progression found in walking, in sensor coordinates.

    ``forward`` is a unit vector (NaN when no window was usable); ``consistency`` the
    weighted resultant length of the windows' directions (1: every window agrees, about
    ``1/sqrt(windows)`` for directions at random); ``windows`` how many windows voted.
    Windows with a flight phase (running) give only an axis, ``running_axis`` (either
    sign), with ``running_consistency`` the resultant length of their doubled angles and
    ``running_windows`` their count.
    """

    forward: NDArray[np.float64]
    consistency: float
    windows: int
    running_windows: int = 0
    running_axis: NDArray[np.float64] = field(default_factory=lambda: np.full(3, np.nan))
    running_consistency: float = 0.0
    weak_windows: int = 0
    """Windows without a clear pendular rhythm (covariance below ``min_pendular_m2_s3``)."""


def progression_direction(
    time_s: NDArray[np.float64],
    q_fusion_sensor: NDArray[np.float64],
    acc_m_s2: NDArray[np.float64],
    walks: Sequence[tuple[float, float]],
    up: NDArray[np.float64],
    window_s: float = 3.0,
    highpass_s: float = 1.0,
    max_flight_g: float = 0.2,
    min_flight_fraction: float = 0.02,
    min_pendular_m2_s3: float = 0.003,
) -> ProgressionEstimate:
    """Direction of progression from the pendular exchange of walking, window by window.

    Walking, the body vaults over the stance leg like an inverted pendulum: it rises and
    slows in the first half of single support, falls and speeds up in the second
    (Cavagna et al. 1977), so forward acceleration ~ -(g / speed) * vertical velocity.
    The covariance of the horizontal acceleration with the vertical velocity (both with
    their ``highpass_s`` moving average removed: the step-frequency oscillation) therefore
    points backwards along the direction of progression, wherever the walk goes. It is
    taken in sensor coordinates sample by sample, so every straight part, a turn's steps
    and the way back of an out-and-back walk each vote with their own heading relative to
    the sensor, and a walk needs neither net displacement nor standstills to integrate
    between. Mediolateral acceleration oscillates once per stride, vertical velocity
    twice, so sway does not enter. Running (spring-mass: slowing while falling) reverses
    the relation; windows in which the vertical specific force drops below
    ``max_flight_g`` for at least ``min_flight_fraction`` of their time (100 ms means:
    running has a flight of about 0.1 s in every step, near free fall; a walker's pelvis
    cannot come near it, since an inverted pendulum's stance leg would leave the ground,
    and a single knock on the sensor is too short to count) give only an axis: vertical
    and forward motion are coupled at every step in any gait, only the sign differs.

    Each ``window_s`` window of a walk's finite rows gives one vote (its covariance,
    projected on the plane normal to ``up``, weighted by its size), if the covariance
    reaches ``min_pendular_m2_s3``: a bob of about 3 mm up and down and to and fro at 1.5
    steps/s; IPOL's walking windows have 0.009 and more (median 0.17), sensor noise on a
    sensor that only turns about 1e-5, so standing, shuffling and turning on the spot do
    not vote at random.
    """
    dt = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 0.0
    nan = ProgressionEstimate(np.full(3, np.nan), 0.0, 0)
    if dt <= 0.0:
        return nan
    n_window = max(2, round(window_s / dt))
    n_highpass = max(3, round(highpass_s / dt))
    n_flight = max(1, round(0.1 / dt))
    votes: list[NDArray[np.float64]] = []
    running: list[NDArray[np.float64]] = []
    weak = 0
    for a, b in _finite_runs(time_s, walks, q_fusion_sensor, acc_m_s2):
        if b - a < n_window:
            continue
        walking, flight = _pendular_votes(
            q_fusion_sensor[a:b],
            acc_m_s2[a:b],
            dt,
            n_window,
            n_highpass,
            n_flight,
            max_flight_g,
            min_flight_fraction,
        )
        for vote in walking:
            weak += _keep_if_strong(votes, vote, up, min_pendular_m2_s3)
        for vote in flight:
            weak += _keep_if_strong(running, vote, up, min_pendular_m2_s3)
    forward, consistency = _resultant(votes, up, axial=False)
    axis, axial_consistency = _resultant(running, up, axial=True)
    return ProgressionEstimate(
        -forward, consistency, len(votes), len(running), axis, axial_consistency, weak
    )


def _finite_runs(
    time_s: NDArray[np.float64],
    walks: Sequence[tuple[float, float]],
    q_fusion_sensor: NDArray[np.float64],
    acc_m_s2: NDArray[np.float64],
) -> Iterator[tuple[int, int]]:
    """(first, end) sample indices of each run of finite samples inside each walk."""
    for start_s, end_s in walks:
        i0 = int(np.searchsorted(time_s, start_s, side="left"))
        i1 = int(np.searchsorted(time_s, end_s, side="right"))
        finite = finite_rows(q_fusion_sensor[i0:i1], acc_m_s2[i0:i1])
        edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
        for a, b in zip(edges[::2] + i0, edges[1::2] + i0, strict=True):
            yield int(a), int(b)


def _keep_if_strong(
    votes: list[NDArray[np.float64]],
    vote: NDArray[np.float64],
    up: NDArray[np.float64],
    min_size: float,
) -> int:
    """Append the vote when its part normal to ``up`` reaches ``min_size``; 1 when not."""
    if float(np.linalg.norm(vote - np.dot(vote, up) * up)) >= min_size:
        votes.append(vote)
        return 0
    return 1


def _resultant(
    votes: Sequence[NDArray[np.float64]], up: NDArray[np.float64], axial: bool
) -> tuple[NDArray[np.float64], float]:
    """Weighted mean direction of the votes in the plane normal to ``up`` and its resultant
    length; ``axial``: of their doubled angles (an axis, either sign). (NaN, 0) without
    votes."""
    if not votes:
        return np.full(3, np.nan), 0.0
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(up, helper)
    u /= np.linalg.norm(u)
    v = np.cross(up, u)
    stacked = np.array(votes)
    planar = stacked @ u + 1j * (stacked @ v)
    size = float(np.abs(planar).sum())
    if axial:
        planar = planar**2 / np.maximum(np.abs(planar), 1e-300)
    total = complex(planar.sum())
    if size <= 0.0 or total == 0.0:
        return np.full(3, np.nan), 0.0
    angle = np.angle(total) / (2.0 if axial else 1.0)
    return np.cos(angle) * u + np.sin(angle) * v, abs(total) / size


def velocity_direction(
    time_s: NDArray[np.float64],
    q_fusion_sensor: NDArray[np.float64],
    acc_m_s2: NDArray[np.float64],
    walks: Sequence[tuple[float, float]],
    min_run_s: float = 5.0,
) -> tuple[NDArray[np.float64], float]:
    """Mean horizontal velocity during the walks in sensor coordinates, and the mean speed.

    Each finite run of a walk is integrated on its own: horizontal acceleration in the
    fusion frame less its mean (the walk starts and ends at rest), each sample's velocity
    turned into the sensor frame. A cross-check of the sign only: integration drifts, and a
    sensor-frame accelerometer bias cannot be told apart from the path on out-and-back
    walks (fitting one made the direction up to 157° wrong on real walks). (NaN, 0) when no
    run is long enough.
    """
    dt = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 0.0
    total = np.zeros(3)
    speed_sum = 0.0
    count = 0
    for a, b in _finite_runs(time_s, walks, q_fusion_sensor, acc_m_s2):
        if (b - a) * dt < min_run_s:
            continue
        rows = _horizontal_rows(q_fusion_sensor[a:b])
        horizontal = np.einsum("kij,kj->ki", rows, acc_m_s2[a:b])
        horizontal -= horizontal.mean(axis=0)
        velocity = np.cumsum(horizontal, axis=0) * dt
        total += np.einsum("kij,ki->j", rows, velocity)
        speed_sum += float(np.linalg.norm(velocity, axis=1).sum())
        count += b - a
    if count == 0:
        return np.full(3, np.nan), 0.0
    return total / count, speed_sum / count


def _pendular_votes(
    q_wxyz: NDArray[np.float64],
    acc_m_s2: NDArray[np.float64],
    dt: float,
    n_window: int,
    n_highpass: int,
    n_flight: int,
    max_flight_g: float,
    min_flight_fraction: float,
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Per window of one finite run: mean of vertical velocity x horizontal acceleration
    (sensor coordinates); the windows without a flight phase, then those with one."""

    def highpass(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return x - uniform_filter1d(x, n_highpass, axis=0, mode="nearest")

    rows = _horizontal_rows(q_wxyz)
    vertical = _vertical_row(q_wxyz)
    specific_vertical = np.einsum("kj,kj->k", vertical, acc_m_s2)
    vertical_velocity = highpass(np.cumsum(highpass(specific_vertical)) * dt)
    # horizontal acceleration in sensor coordinates: world x, y components turned back
    horizontal = np.einsum("kij,ki->kj", rows, np.einsum("kij,kj->ki", rows, acc_m_s2))
    product = vertical_velocity[:, None] * highpass(horizontal)
    flight = uniform_filter1d(specific_vertical, n_flight, mode="nearest") < (max_flight_g * G_M_S2)
    walking: list[NDArray[np.float64]] = []
    running: list[NDArray[np.float64]] = []
    for k in range(len(product) // n_window):
        window = slice(k * n_window, (k + 1) * n_window)
        vote = product[window].mean(axis=0)
        (running if flight[window].mean() >= min_flight_fraction else walking).append(vote)
    return walking, running


def _angle_deg(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _vertical_row(q_wxyz: NDArray[np.float64]) -> NDArray[np.float64]:
    """(N, 3): the world z row of each quaternion's rotation matrix (up in sensor terms)."""
    q = q_wxyz / np.linalg.norm(q_wxyz, axis=1, keepdims=True)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.column_stack(
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)]
    )


def _horizontal_rows(q_wxyz: NDArray[np.float64]) -> NDArray[np.float64]:
    """(N, 2, 3): the first two rows (world x and y) of each quaternion's rotation matrix."""
    q = q_wxyz / np.linalg.norm(q_wxyz, axis=1, keepdims=True)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    out = np.empty((len(q), 2, 3))
    out[:, 0, 0] = 1.0 - 2.0 * (y * y + z * z)
    out[:, 0, 1] = 2.0 * (x * y - w * z)
    out[:, 0, 2] = 2.0 * (x * z + w * y)
    out[:, 1, 0] = 2.0 * (x * y + w * z)
    out[:, 1, 1] = 1.0 - 2.0 * (x * x + z * z)
    out[:, 1, 2] = 2.0 * (y * z - w * x)
    return out


class Calibrator:
    """Finds each sensor's segment alignment and the common heading (see the module doc).

    window_s: length of the standing window, s (1.0).
    min_axis_ratio: variance ratio above which the functional axis is trusted (4.0).
    max_axis_deviation_deg: largest accepted angle between functional and nominal
        mediolateral axes, degrees (45.0).
    max_upright_deg: largest angle between a sensor's nominal up axis and gravity for a
        window to count as standing when there is no static task, degrees (50.0).
    min_functional_s: least functional-task time needed to try the functional axis, s (2.0).
    functional_lowpass_hz: low-pass of the angular velocity before its principal axis is
        taken; skin and soft tissue wobble faster than segments swing, Hz (3.0).
    min_walk_s: least gait-task time to take the direction of progression from, s (5.0).
    walk_window_s: length of the walking windows that each vote for the direction of
        progression, s (3.0: several steps, so one window's steps average out).
    min_walk_windows: least number of windows for the direction to count (3: two windows
        at random directions agree within 0.8 four times in ten).
    min_walk_consistency: least resultant length of the windows' directions (0.8, about
        37° of circular spread); below it the walking direction is ambiguous and the
        calibration falls back to the nominal mounting and says so.
    min_walk_speed_m_s: least mean velocity along the segment's transverse plane for the
        walk's integrated velocity to check the direction's sign, m/s (0.3).
    max_progression_disagreement_deg: largest angle between the pendular direction and the
        integrated mean velocity; beyond it (a run without detected flight phases, whose
        relation is reversed) the direction is ambiguous, degrees (120: the velocity alone
        was up to 64° off on real out-and-back walks).

    Result: ``result_`` (``CalibrationResult``) after ``calibrate``.
    """

    def __init__(
        self,
        window_s: float = 1.0,
        min_axis_ratio: float = 4.0,
        max_axis_deviation_deg: float = 45.0,
        max_upright_deg: float = 50.0,
        min_functional_s: float = 2.0,
        min_walk_s: float = 5.0,
        functional_lowpass_hz: float = 3.0,
        walk_window_s: float = 3.0,
        min_walk_windows: int = 3,
        min_walk_consistency: float = 0.8,
        min_walk_speed_m_s: float = 0.3,
        max_progression_disagreement_deg: float = 120.0,
    ) -> None:
        self.window_s = window_s
        self.min_axis_ratio = min_axis_ratio
        self.max_axis_deviation_deg = max_axis_deviation_deg
        self.max_upright_deg = max_upright_deg
        self.min_functional_s = min_functional_s
        self.min_walk_s = min_walk_s
        self.functional_lowpass_hz = functional_lowpass_hz
        self.walk_window_s = walk_window_s
        self.min_walk_windows = min_walk_windows
        self.min_walk_consistency = min_walk_consistency
        self.min_walk_speed_m_s = min_walk_speed_m_s
        self.max_progression_disagreement_deg = max_progression_disagreement_deg

    def calibrate(
        self,
        time_s: NDArray[np.float64],
        q_fusion_sensor: Mapping[str, NDArray[np.float64]],
        gyr_rad_s: Mapping[str, NDArray[np.float64]],
        acc_m_s2: Mapping[str, NDArray[np.float64]],
        tasks: Sequence[Task] = (),
        mountings: Mapping[str, NDArray[np.float64]] | None = None,
    ) -> Calibrator:
        """Calibrate every placement from data on one uniform grid ``time_s``.

        mountings: placement -> nominal mounting where it is not docs/DESIGN.md's, as the kit
        states it (``KitDevice.q_segment_sensor``: sensor-frame vectors into the segment
        frame); its up and mediolateral axes are the starting point instead of docs/DESIGN.md's.
        """
        self._mountings = {
            p: to_rotation(q).inv().as_matrix() for p, q in (mountings or {}).items()
        }
        self._ascending = _ascending(np.asarray(time_s, dtype=np.float64))
        placements = list(q_fusion_sensor)
        if not placements:
            raise HipscopeError("calibration: no sensors to calibrate")
        n_total = len(time_s)
        rate_hz = _grid_rate_hz(time_s)
        n = max(2, round(self.window_s * rate_hz))
        if n_total < n:
            raise HipscopeError(
                f"calibration: recording too short ({n_total} samples) "
                f"for a {self.window_s} s window"
            )
        notes: list[str] = []
        per_sensor = {p: stillness_score(gyr_rad_s[p], acc_m_s2[p], n) for p in placements}
        # A window missing a sensor costs far more than any movement: windows with every
        # sensor win, and a sensor that never overlaps the others is left out, not fatal.
        missing = sum((~np.isfinite(v)).astype(np.float64) for v in per_sensor.values())
        score = sum(np.where(np.isfinite(v), v, 0.0) for v in per_sensor.values())
        score = np.where(missing < len(placements), score + _MISSING_SENSOR_COST * missing, np.inf)
        starts = time_s[: n_total - n + 1]
        static = [t for t in tasks if task_registry.get(t.kind).calibration.standing]
        allowed = np.zeros_like(score, dtype=bool)
        ends = starts + self.window_s
        ascending = self._ascending
        for task in static:
            _mark_between(allowed, starts, task.start_s, ends, task.end_s + 1e-9, ascending)
        if allowed.any() and np.isfinite(score[allowed]).any():
            method = "static task"
        else:
            method = "stillest window"
            if static:
                notes.append("static task shorter than the window or without data for every sensor")
            else:
                notes.append("no static task: used the stillest upright window of the recording")
            allowed = self._upright(q_fusion_sensor, placements, n, n_total)
            if not (allowed & np.isfinite(score)).any():
                notes.append("no upright still window found: used the stillest window")
                allowed = np.ones_like(score, dtype=bool)
        candidates = np.where(allowed, score, np.inf)
        if not np.isfinite(candidates).any():
            raise HipscopeError("calibration: no window where any sensor has data")
        i0 = int(np.argmin(candidates))
        window = slice(i0, i0 + n)
        segments: dict[str, SegmentCalibration] = {}
        late = []
        for p in placements:
            if not np.isfinite(per_sensor[p][i0]):
                late.append(p)
                continue
            segments[p] = self._segment(
                p, time_s, window, q_fusion_sensor[p], gyr_rad_s[p], acc_m_s2[p], tasks, notes
            )
        for p in late:
            calibrated = self._late_sensor(
                p,
                time_s,
                n,
                per_sensor,
                q_fusion_sensor,
                gyr_rad_s,
                acc_m_s2,
                tasks,
                segments,
                notes,
            )
            if calibrated is not None:
                segments[p] = calibrated
        self.result_ = CalibrationResult(
            method=method,
            window_start_s=float(time_s[i0]),
            window_end_s=float(time_s[i0 + n - 1]),
            segments=segments,
            notes=tuple(notes),
        )
        return self

    def _nominal(self, placement: str) -> NDArray[np.float64]:
        """R_sensor_segment of the nominal mounting (given, else docs/DESIGN.md's)."""
        mountings = getattr(self, "_mountings", {})
        if placement in mountings:
            return mountings[placement]
        if placement not in NOMINAL_SENSOR_SEGMENT:
            raise HipscopeError(f"calibration: no nominal mounting for placement {placement!r}")
        return NOMINAL_SENSOR_SEGMENT[placement]

    def _late_sensor(
        self,
        placement: str,
        time_s: NDArray[np.float64],
        n: int,
        per_sensor: Mapping[str, NDArray[np.float64]],
        q_fusion_sensor: Mapping[str, NDArray[np.float64]],
        gyr_rad_s: Mapping[str, NDArray[np.float64]],
        acc_m_s2: Mapping[str, NDArray[np.float64]],
        tasks: Sequence[Task],
        segments: Mapping[str, SegmentCalibration],
        notes: list[str],
    ) -> SegmentCalibration | None:
        """A sensor without data at the standing window: its own still upright window,
        its heading matched to the segments already calibrated there."""
        others = list(segments)
        own = per_sensor[placement]
        with_others = np.zeros_like(own, dtype=bool)
        for o in others:
            with_others |= np.isfinite(per_sensor[o])
        upright = self._upright(q_fusion_sensor, [placement, *others], n, len(time_s))
        candidates = np.where(np.isfinite(own) & with_others & upright, own, np.inf)
        if not np.isfinite(candidates).any():
            notes.append(f"{placement}: no still upright window shared with others: left out")
            return None
        j0 = int(np.argmin(candidates))
        window = slice(j0, j0 + n)
        q_own, gyr_own = q_fusion_sensor[placement], gyr_rad_s[placement]
        seg = self._segment(
            placement, time_s, window, q_own, gyr_own, acc_m_s2[placement], tasks, notes
        )
        headings = []
        for o in others:
            q = q_fusion_sensor[o][window]
            q = q[np.isfinite(q).all(axis=1)]
            if len(q):
                q_ws = quat_multiply(
                    quat_multiply(segments[o].q_world_fusion, q), segments[o].q_sensor_segment
                )
                anterior = to_rotation(q_ws).apply([1.0, 0.0, 0.0])
                headings.append(np.arctan2(anterior[:, 1], anterior[:, 0]))
        psi = float(np.angle(np.mean(np.exp(1j * np.concatenate(headings)))))
        notes.append(
            f"{placement}: no data at the standing window: aligned at {time_s[j0]:.1f} s "
            "to the other segments' heading"
        )
        q_turn = np.array([np.cos(psi / 2.0), 0.0, 0.0, np.sin(psi / 2.0)])
        return SegmentCalibration(
            placement=placement,
            q_sensor_segment=seg.q_sensor_segment,
            q_world_fusion=quat_multiply(q_turn, seg.q_world_fusion),
            misalignment_rad=seg.misalignment_rad,
            axis_source=seg.axis_source,
            axis_ratio=seg.axis_ratio,
            superior_source=seg.superior_source,
        )

    def _walking_axis(
        self,
        placement: str,
        time_s: NDArray[np.float64],
        q_fusion_sensor: NDArray[np.float64],
        acc_m_s2: NDArray[np.float64],
        tasks: Sequence[Task],
        up: NDArray[np.float64],
        notes: list[str],
    ) -> tuple[NDArray[np.float64] | None, str, str]:
        """The mediolateral axis (sensor coordinates) from the direction of progression,
        or None and why not ("" when there was no walking to take it from); then what the
        axis source adds (running)."""
        walks = [(t.start_s, t.end_s) for t in tasks if t.kind == "gait"]
        walked_s = sum(max(0.0, end - start) for start, end in walks)
        if not walks or walked_s < self.min_walk_s:
            return None, "", ""
        found = progression_direction(
            time_s, q_fusion_sensor, acc_m_s2, walks, up, self.walk_window_s
        )
        velocity, _ = velocity_direction(time_s, q_fusion_sensor, acc_m_s2, walks)
        velocity -= np.dot(velocity, up) * up
        speed = float(np.linalg.norm(velocity))
        moving = bool(np.isfinite(speed) and speed >= self.min_walk_speed_m_s)
        forward = found.forward
        why, suffix = "", ""
        if found.windows >= self.min_walk_windows:
            if found.running_windows:
                notes.append(
                    f"{placement}: {found.running_windows} walking window(s) with a flight "
                    "phase (running) left out of the direction of progression"
                )
            apart_deg = _angle_deg(forward, velocity) if moving else 0.0
            if found.consistency < self.min_walk_consistency:
                why = (
                    f"consistency {found.consistency:.2f} over {found.windows} windows "
                    f"(< {self.min_walk_consistency:g})"
                )
            elif apart_deg > self.max_progression_disagreement_deg:
                why = f"the walk's mean velocity points {apart_deg:.0f}° away"
        elif found.running_windows >= self.min_walk_windows:
            # Running: the step rhythm gives the axis; the way the athlete went, its sign.
            forward = found.running_axis
            apart_deg = _angle_deg(forward, velocity) if moving else 90.0
            if found.running_consistency < self.min_walk_consistency:
                why = (
                    f"running: axis consistency {found.running_consistency:.2f} over "
                    f"{found.running_windows} windows (< {self.min_walk_consistency:g})"
                )
            elif min(apart_deg, 180.0 - apart_deg) > 180.0 - self.max_progression_disagreement_deg:
                why = "running: the mean velocity does not say which way the axis points"
            else:
                forward = forward if apart_deg < 90.0 else -forward
                suffix = " (running: sign from the mean velocity)"
        else:
            why = (
                f"{found.windows + found.running_windows} of "
                f"{found.windows + found.running_windows + found.weak_windows} windows of "
                f"{self.walk_window_s:g} s with a pendular rhythm"
            )
        if why:
            notes.append(f"{placement}: walking gave no clear direction of progression ({why})")
            return None, why, ""
        ml = np.cross(forward, up)
        return ml / np.linalg.norm(ml), "", suffix

    def _upright(
        self,
        q_fusion_sensor: Mapping[str, NDArray[np.float64]],
        placements: list[str],
        n: int,
        n_total: int,
    ) -> NDArray[np.bool_]:
        ok = np.ones(n_total, dtype=bool)
        cos_max = np.cos(np.radians(self.max_upright_deg))
        for p in placements:
            nominal_up = self._nominal(p)[:, 1]
            q = q_fusion_sensor[p]
            for rows in row_chunks(n_total):
                finite = finite_rows(q[rows])
                up = np.full((len(finite), 3), np.nan)
                if finite.any():
                    up[finite] = _up_in_sensor(q[rows][finite])
                ok[rows] &= (np.nan_to_num(up @ nominal_up, nan=1.0) >= cos_max) | ~finite
        return _window_means(ok.astype(np.float64), n) >= 1.0 - 1e-9

    def _segment(
        self,
        placement: str,
        time_s: NDArray[np.float64],
        window: slice,
        q_fusion_sensor: NDArray[np.float64],
        gyr_rad_s: NDArray[np.float64],
        acc_m_s2: NDArray[np.float64],
        tasks: Sequence[Task],
        notes: list[str],
    ) -> SegmentCalibration:
        nominal = self._nominal(placement)
        nominal_q = from_rotation(Rotation.from_matrix(nominal))
        up = standing_up(q_fusion_sensor[window], acc_m_s2[window])
        off_deg = float(np.degrees(np.arccos(np.clip(up @ nominal[:, 1], -1.0, 1.0))))
        if off_deg > self.max_upright_deg:
            notes.append(f"{placement}: sensor up axis is {off_deg:.0f}° from the nominal mounting")
        nominal_ml = nominal[:, 2]
        ml = nominal_ml - np.dot(nominal_ml, up) * up
        ml /= np.linalg.norm(ml)
        walk_ml, walk_ambiguous, walk_suffix = self._walking_axis(
            placement, time_s, q_fusion_sensor, acc_m_s2, tasks, up, notes
        )
        reference = "nominal mounting"
        if walk_ml is not None:
            ml = walk_ml
            reference = "walking"
        axis_source = "nominal mounting"
        ratio = 0.0
        rate_hz = _grid_rate_hz(time_s)
        finite_q = finite_rows(q_fusion_sensor)
        rejected: list[str] = []
        for tier in functional_tiers(placement):
            mask = np.zeros(len(time_s), dtype=bool)
            used = []
            for task in tasks:
                if task.kind in tier:
                    _mark_between(
                        mask,
                        time_s,
                        task.start_s,
                        time_s,
                        task.end_s,
                        getattr(self, "_ascending", False),
                    )
                    if task.kind not in used:
                        used.append(task.kind)
            mask &= finite_q
            if mask.sum() < self.min_functional_s * rate_hz:
                continue
            gyr = lowpass_runs(gyr_rad_s, mask, self.functional_lowpass_hz, rate_hz)
            axis, ratio = principal_horizontal_axis(
                _without_vertical_rate(q_fusion_sensor, gyr, mask), up
            )
            if not np.all(np.isfinite(axis)):
                continue
            if np.dot(axis, ml) < 0:
                axis = -axis
            deviation = np.degrees(np.arccos(np.clip(np.dot(axis, ml), -1.0, 1.0)))
            signed_by = ""
            any_heading = False
            if walk_ml is None:
                # No walking to check against: the way the segment first turns away from
                # standing says which end of the axis is right, whatever the mounting says.
                sign = movement_sign(placement, time_s, gyr, axis, tasks, rate_hz)
                if sign != 0:
                    any_heading = True
                    if sign < 0 or deviation > self.max_axis_deviation_deg:
                        signed_by = " (sign from the movement)"
                    axis = sign * axis
            close = any_heading or deviation <= self.max_axis_deviation_deg
            if ratio >= self.min_axis_ratio and close:
                ml = axis
                axis_source = "functional: " + ", ".join(used) + signed_by
                if rejected:
                    notes.append(f"{placement}: not used: {'; '.join(rejected)}")
                break
            rejected.append(
                f"{', '.join(used)} (variance ratio {ratio:.1f}, {deviation:.0f}° from the "
                f"{reference} axis)"
            )
        if axis_source == "nominal mounting" and walk_ml is not None:
            axis_source = "walking: direction of progression" + walk_suffix
            ratio = 0.0
        elif axis_source == "nominal mounting":
            why = "; ".join(rejected) if rejected else "no functional task"
            notes.append(f"{placement}: nominal mediolateral axis ({why})")
            if walk_ambiguous:
                axis_source = "nominal mounting (walking direction ambiguous)"
            ratio = 0.0
        q_sensor_segment = segment_frame(up, ml)
        q_world_fusion = heading_alignment(q_fusion_sensor[window], q_sensor_segment)
        misalignment = _quat_angle(quat_multiply(quat_conjugate(nominal_q), q_sensor_segment))
        return SegmentCalibration(
            placement=placement,
            q_sensor_segment=q_sensor_segment,
            q_world_fusion=q_world_fusion,
            misalignment_rad=misalignment,
            axis_source=axis_source,
            axis_ratio=ratio,
        )


def reference_from_window(
    q_fusion_sensor: Mapping[str, NDArray[np.float64]],
    start_s: float,
    end_s: float,
    q_sensor_segment: Mapping[str, NDArray[np.float64]] | None = None,
) -> CalibrationResult:
    """Standing-only calibration from rows already cut to the window (live reference).

    Uses the measured up axis and the mediolateral axis of ``q_sensor_segment`` (an earlier
    calibration or the kit's mounting) where given, else of docs/DESIGN.md's nominal mounting.
    """
    segments: dict[str, SegmentCalibration] = {}
    for p, q in q_fusion_sensor.items():
        finite = np.isfinite(q).all(axis=1)
        if not finite.any():
            continue
        nominal = NOMINAL_SENSOR_SEGMENT[p]
        up = _mean_unit(_up_in_sensor(q[finite]))
        given = q_sensor_segment is not None and p in q_sensor_segment
        ml_source = nominal[:, 2]
        if given:
            ml_source = to_rotation(q_sensor_segment[p]).apply([0.0, 0.0, 1.0])  # type: ignore[index]
        q_ss = segment_frame(up, ml_source)
        segments[p] = SegmentCalibration(
            placement=p,
            q_sensor_segment=q_ss,
            q_world_fusion=heading_alignment(q[finite], q_ss),
            misalignment_rad=_quat_angle(
                quat_multiply(quat_conjugate(nominal_q_sensor_segment(p)), q_ss)
            ),
            axis_source="given" if given else "nominal mounting",
            axis_ratio=0.0,
        )
    return CalibrationResult("live reference", start_s, end_s, segments)
