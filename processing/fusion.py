"""Orientation of one IMU from its gyroscope, accelerometer and (optionally) magnetometer.

Every method returns ``q_world_sensor``: scalar-first unit quaternions that map sensor-frame
vectors into one world frame with z up (ENU when a magnetometer is used; in 6D the heading
is arbitrary but constant). The libraries disagree on their earth frames, so each one is
converted here:

- ``vqf-offline`` / ``vqf`` (the ``vqf`` package): ENU, nothing to convert.
- ``madgwick`` (ahrs): NWU; rotated +90° about z into ENU.
- ``mahony`` (ahrs): ENU.
- ``ekf`` (ahrs, ``frame='NED'``): NED with gravity as the reference, so the accelerometer
  (specific force, +g up at rest) is negated on the way in and the result rotated NED -> ENU;
  the magnetic reference is the local dip estimated from the data unless given.

Rows with a non-finite value give NaN quaternions. Batches are fused per contiguous finite
segment; in 6D the heading is carried across a gap so that one recording keeps one heading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import quat_conjugate, quat_multiply
from hipscope.processing.angles import finite_rows

FUSION_METHODS: tuple[str, ...] = ("vqf-offline", "vqf", "madgwick", "mahony", "ekf")
STREAMING_METHODS: tuple[str, ...] = ("vqf", "madgwick", "mahony", "ekf")

_SQRT_HALF = float(np.sqrt(0.5))
# ENU <- NWU: +90° about z.
_Q_ENU_NWU = np.array([_SQRT_HALF, 0.0, 0.0, _SQRT_HALF])
# ENU <- NED: 180° about (x + y) / sqrt(2).
_Q_ENU_NED = np.array([0.0, _SQRT_HALF, _SQRT_HALF, 0.0])


@dataclass(frozen=True)
class VQFParams:
    """Parameters of VQF (offline and real-time); defaults are the library's.

    tau_acc_s: time constant of the accelerometer (inclination) correction, s (3.0;
        ``vqf-offline`` defaults to ``OFFLINE_TAU_ACC_S``).
    tau_mag_s: time constant of the magnetometer (heading) correction, s (9.0).
    motion_bias_estimation: estimate the gyroscope bias during motion (True).
    rest_bias_estimation: estimate the gyroscope bias at rest (True).
    mag_disturbance_rejection: reject magnetic disturbances (True).
    """

    tau_acc_s: float = 3.0
    tau_mag_s: float = 9.0
    motion_bias_estimation: bool = True
    rest_bias_estimation: bool = True
    mag_disturbance_rejection: bool = True

    def as_vqf(self) -> dict[str, Any]:
        return {
            "tauAcc": float(self.tau_acc_s),
            "tauMag": float(self.tau_mag_s),
            "motionBiasEstEnabled": bool(self.motion_bias_estimation),
            "restBiasEstEnabled": bool(self.rest_bias_estimation),
            "magDistRejectionEnabled": bool(self.mag_disturbance_rejection),
        }


@dataclass(frozen=True)
class MadgwickParams:
    """Madgwick gradient-descent filter (ahrs).

    gain_6d: beta without magnetometer, rad/s (0.033, the ahrs default).
    gain_9d: beta with magnetometer, rad/s (0.12, the best single value on BROAD reported by
        the dataset's authors).
    """

    gain_6d: float = 0.033
    gain_9d: float = 0.12


@dataclass(frozen=True)
class MahonyParams:
    """Mahony complementary filter (ahrs).

    k_p: proportional gain, 1/s (0.74). k_i: integral (bias) gain, 1/s² (0.0012). The ahrs
    default k_i = 0.3 diverges on many BROAD trials.
    """

    k_p: float = 0.74
    k_i: float = 0.0012


@dataclass(frozen=True)
class EKFParams:
    """Extended Kalman filter (ahrs, NED internally).

    var_gyr: gyroscope noise variance, (rad/s)² (0.09). var_acc: accelerometer (normalised)
    noise variance (0.25). var_mag: magnetometer (normalised) noise variance (0.64).
    mag_dip_deg: local magnetic dip, degrees, positive downwards; None estimates it from the
    data (median angle between gravity and the magnetic field).
    """

    var_gyr: float = 0.3**2
    var_acc: float = 0.5**2
    var_mag: float = 0.8**2
    mag_dip_deg: float | None = None


FusionParams = VQFParams | MadgwickParams | MahonyParams | EKFParams

OFFLINE_TAU_ACC_S = 6.0
"""Accelerometer time constant of ``vqf-offline`` by default, s (the library's is 3).

Offline, the gyroscope bias is known from the rest periods and the filter runs forwards
and backwards, so it can trust the gyroscope longer. A body that starts or stops walking
changes its velocity by dv within about a stride; a low-pass of time constant tau sees that
as a horizontal specific force and tilts the estimate by up to about dv / (2 g tau) once
both directions are combined: 1.2° for dv = 1.2 m/s at 3 s, 0.6° at 6 s. On the BROAD
excerpts (tests/test_fusion_broad.py) the two agree within 0.05°. docs/VALIDATION.md
"Angles" has the simulated walks the value was chosen on."""


def offline_vqf_params() -> VQFParams:
    """The default parameters of ``vqf-offline``: the library's, with ``OFFLINE_TAU_ACC_S``."""
    return VQFParams(tau_acc_s=OFFLINE_TAU_ACC_S)


_DEFAULT_PARAMS: dict[str, Callable[[], FusionParams]] = {
    "vqf-offline": offline_vqf_params,
    "vqf": VQFParams,
    "madgwick": MadgwickParams,
    "mahony": MahonyParams,
    "ekf": EKFParams,
}


def _check_method(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise HipscopeError(f"fusion method {method!r} is not one of {', '.join(allowed)}")


def _params_for(method: str, params: FusionParams | None) -> FusionParams:
    default = _DEFAULT_PARAMS[method]()
    if params is None:
        return default
    if type(params) is not type(default):
        raise HipscopeError(
            f"fusion method {method!r} takes {type(default).__name__}, got {type(params).__name__}"
        )
    return params


def _vectors(name: str, value: ArrayLike, n: int | None = None) -> NDArray[np.float64]:
    array = np.ascontiguousarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3 or (n is not None and array.shape[0] != n):
        expected = f"({n if n is not None else 'N'}, 3)"
        raise HipscopeError(f"fusion input {name} must have shape {expected}, got {array.shape}")
    return array


def initial_orientation(
    acc_m_s2: ArrayLike, mag_ut: ArrayLike | None = None
) -> NDArray[np.float64]:
    """``q_world_sensor`` (ENU) from mean specific force (and magnetic field).

    Without a magnetometer the heading is that of the smallest rotation taking the measured
    up direction onto +z.
    """
    acc = np.asarray(acc_m_s2, dtype=np.float64).reshape(-1, 3)
    up = np.nanmean(acc, axis=0)
    up = up / np.linalg.norm(up)
    if mag_ut is not None:
        mag = np.nanmean(np.asarray(mag_ut, dtype=np.float64).reshape(-1, 3), axis=0)
        north = mag - np.dot(mag, up) * up
        if np.linalg.norm(north) > 1e-9:
            north /= np.linalg.norm(north)
            east = np.cross(north, up)
            return _quat_from_matrix(np.vstack([east, north, up]))
    return _quat_between(up, np.array([0.0, 0.0, 1.0]))


def _quat_between(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """The smallest rotation taking unit vector a onto unit vector b."""
    cross = np.cross(a, b)
    dot = float(np.dot(a, b))
    if dot < -1.0 + 1e-12:
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return np.array([0.0, *axis])
    q = np.array([1.0 + dot, *cross])
    return q / np.linalg.norm(q)


def _quat_from_matrix(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.spatial.transform import Rotation

    from hipscope.base.rotations import from_rotation

    return from_rotation(Rotation.from_matrix(matrix))


def _mag_dip_deg(acc: NDArray[np.float64], mag: NDArray[np.float64]) -> float:
    a = acc / np.linalg.norm(acc, axis=1, keepdims=True)
    m = mag / np.linalg.norm(mag, axis=1, keepdims=True)
    # Specific force points up; a downward field (northern hemisphere) has a positive dip.
    return float(np.degrees(np.arcsin(np.clip(np.median(-np.sum(a * m, axis=1)), -1.0, 1.0))))


@dataclass
class _AhrsState:
    q_filter: NDArray[np.float64]
    filter: Any
    to_enu: NDArray[np.float64]
    acc_sign: float
    use_mag: bool
    step: Callable[..., NDArray[np.float64]] = field(repr=False)


class OrientationFilter:
    """Streaming orientation: feed consecutive samples, get ``q_world_sensor`` (ENU) back.

    method: one of ``vqf`` (default), ``madgwick``, ``mahony``, ``ekf``.
    rate_hz: sampling rate of the samples fed in, Hz.
    use_mag: 9D fusion (magnetometer required in every update) instead of 6D (False).
    params: the method's parameter object (``VQFParams``...); None for defaults.

    The first update initialises the orientation from its first samples. Rows with a
    non-finite value give NaN and leave the state untouched.
    """

    def __init__(
        self,
        method: str = "vqf",
        rate_hz: float = 100.0,
        *,
        use_mag: bool = False,
        params: FusionParams | None = None,
    ) -> None:
        _check_method(method, STREAMING_METHODS)
        if not (np.isfinite(rate_hz) and rate_hz > 0):
            raise HipscopeError(f"fusion rate_hz must be a positive number, got {rate_hz}")
        self.method = method
        self.rate_hz = float(rate_hz)
        self.use_mag = use_mag
        self.params = _params_for(method, params)
        self._vqf: Any = None
        self._ahrs: _AhrsState | None = None

    def reset(self) -> None:
        """Forget the state; the next update initialises again."""
        self._vqf = None
        self._ahrs = None

    @property
    def initialised(self) -> bool:
        return self._vqf is not None or self._ahrs is not None

    def update(
        self, gyr_rad_s: ArrayLike, acc_m_s2: ArrayLike, mag_ut: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Fuse the next samples; returns (n, 4) ``q_world_sensor``."""
        gyr = _vectors("gyr_rad_s", gyr_rad_s)
        n = gyr.shape[0]
        acc = _vectors("acc_m_s2", acc_m_s2, n)
        mag: NDArray[np.float64] | None = None
        if self.use_mag:
            if mag_ut is None:
                raise HipscopeError("9D fusion (use_mag=True) needs mag_ut in every update")
            mag = _vectors("mag_ut", mag_ut, n)
        out = np.full((n, 4), np.nan)
        finite: NDArray[np.bool_] = np.asarray(
            np.isfinite(gyr).all(axis=1) & np.isfinite(acc).all(axis=1)
        )
        if mag is not None:
            finite &= np.isfinite(mag).all(axis=1)
        if not finite.any():
            return out
        if not self.initialised:
            first = np.flatnonzero(finite)[: max(1, round(0.2 * self.rate_hz))]
            self._initialise(acc[first], None if mag is None else mag[first], acc, mag, finite)
        index = np.flatnonzero(finite)
        mag_in = None if mag is None else mag[index]
        if self._vqf is not None:
            out[index] = self._update_vqf(gyr[index], acc[index], mag_in)
        else:
            out[index] = self._update_ahrs(gyr[index], acc[index], mag_in)
        return out

    def _initialise(
        self,
        acc_first: NDArray[np.float64],
        mag_first: NDArray[np.float64] | None,
        acc_all: NDArray[np.float64],
        mag_all: NDArray[np.float64] | None,
        finite: NDArray[np.bool_],
    ) -> None:
        import vqf

        if self.method == "vqf":
            assert isinstance(self.params, VQFParams)
            ts = 1.0 / self.rate_hz
            self._vqf = vqf.VQF(ts, **self.params.as_vqf())
            return
        q0_enu = initial_orientation(acc_first, mag_first)
        if self.method == "madgwick":
            from ahrs.filters import Madgwick

            assert isinstance(self.params, MadgwickParams)
            gain = self.params.gain_9d if self.use_mag else self.params.gain_6d
            filt: Any = Madgwick(frequency=self.rate_hz, gain=gain)
            to_enu, acc_sign = _Q_ENU_NWU, 1.0
            step = filt.updateMARG if self.use_mag else filt.updateIMU
        elif self.method == "mahony":
            from ahrs.filters import Mahony

            assert isinstance(self.params, MahonyParams)
            filt = Mahony(frequency=self.rate_hz, k_P=self.params.k_p, k_I=self.params.k_i)
            to_enu, acc_sign = np.array([1.0, 0.0, 0.0, 0.0]), 1.0
            step = filt.updateMARG if self.use_mag else filt.updateIMU
        else:
            from ahrs.filters import EKF

            assert isinstance(self.params, EKFParams)
            dip = self.params.mag_dip_deg
            if dip is None and mag_all is not None:
                dip = _mag_dip_deg(acc_all[finite], mag_all[finite])
            filt = EKF(
                frequency=self.rate_hz,
                frame="NED",
                magnetic_ref=float(dip if dip is not None else 60.0),
                noises=[self.params.var_gyr, self.params.var_acc, self.params.var_mag],
            )
            if self.use_mag:
                filt.mag = np.zeros((1, 3))  # ahrs switches its measurement model on this
            to_enu, acc_sign = _Q_ENU_NED, -1.0
            step = filt.update
        q_filter = quat_multiply(quat_conjugate(to_enu), q0_enu)
        self._ahrs = _AhrsState(q_filter, filt, to_enu, acc_sign, self.use_mag, step)

    def _update_vqf(
        self,
        gyr: NDArray[np.float64],
        acc: NDArray[np.float64],
        mag: NDArray[np.float64] | None,
    ) -> NDArray[np.float64]:
        if mag is None:
            return np.asarray(self._vqf.updateBatch(gyr, acc)["quat6D"])
        return np.asarray(self._vqf.updateBatch(gyr, acc, mag)["quat9D"])

    def _update_ahrs(
        self,
        gyr: NDArray[np.float64],
        acc: NDArray[np.float64],
        mag: NDArray[np.float64] | None,
    ) -> NDArray[np.float64]:
        state = self._ahrs
        assert state is not None
        acc = acc * state.acc_sign
        q = state.q_filter
        out = np.empty((gyr.shape[0], 4))
        step = state.step
        if mag is None:
            for i in range(gyr.shape[0]):
                q = np.asarray(step(q, gyr[i], acc[i]), dtype=np.float64)
                out[i] = q
        else:
            for i in range(gyr.shape[0]):
                q = np.asarray(step(q, gyr[i], acc[i], mag[i]), dtype=np.float64)
                out[i] = q
        state.q_filter = q
        return _positive_w(quat_multiply(state.to_enu, out))


def _positive_w(q: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows with w < 0 negated, in place (every caller passes a fresh array); returns q."""
    np.negative(q, out=q, where=q[..., :1] < 0.0)
    return q


def _finite_segments(finite: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], finite.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _rot_z(angle_rad: float) -> NDArray[np.float64]:
    return np.array([np.cos(angle_rad / 2.0), 0.0, 0.0, np.sin(angle_rad / 2.0)])


def _carry_heading(
    q_before: NDArray[np.float64],
    q_after: NDArray[np.float64],
    heading_axis: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The rotation about z that gives q_after the heading q_before had.

    The heading is that of ``heading_axis`` (sensor coordinates; best a body axis that stays
    horizontal, such as a segment's mediolateral axis) or of the sensor axis that is most
    horizontal at both ends.
    """
    from hipscope.base.rotations import to_rotation

    r_before, r_after = to_rotation(q_before), to_rotation(q_after)
    if heading_axis is None:
        m_before, m_after = r_before.as_matrix(), r_after.as_matrix()
        axis = int(np.argmin(np.abs(m_before[2, :]) + np.abs(m_after[2, :])))
        heading_axis = np.eye(3)[axis]
    before, after = r_before.apply(heading_axis), r_after.apply(heading_axis)
    delta = np.arctan2(before[1], before[0]) - np.arctan2(after[1], after[0])
    return _rot_z(float(delta))


def estimate_orientation(
    gyr_rad_s: ArrayLike,
    acc_m_s2: ArrayLike,
    rate_hz: float,
    *,
    mag_ut: ArrayLike | None = None,
    method: str = "vqf-offline",
    params: FusionParams | None = None,
    heading_axis: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """``q_world_sensor`` (N, 4) for uniformly sampled data; 9D when ``mag_ut`` is given.

    Non-finite rows give NaN rows; each contiguous finite stretch is fused on its own and,
    in 6D, rotated about z to continue the heading of the stretch before it: the heading of
    ``heading_axis`` (a unit vector in sensor coordinates, ideally one that stays horizontal)
    or, by default, of the sensor axis most horizontal on both sides of the gap.
    """
    _check_method(method, FUSION_METHODS)
    params = _params_for(method, params)
    gyr = _vectors("gyr_rad_s", gyr_rad_s)
    n = gyr.shape[0]
    acc = _vectors("acc_m_s2", acc_m_s2, n)
    mag = None if mag_ut is None else _vectors("mag_ut", mag_ut, n)
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise HipscopeError(f"fusion rate_hz must be a positive number, got {rate_hz}")
    finite = finite_rows(gyr, acc) if mag is None else finite_rows(gyr, acc, mag)
    out = np.full((n, 4), np.nan)
    previous_end: NDArray[np.float64] | None = None
    for start, stop in _finite_segments(finite):
        seg_mag = None if mag is None else np.ascontiguousarray(mag[start:stop])
        q = _fuse_segment(
            np.ascontiguousarray(gyr[start:stop]),
            np.ascontiguousarray(acc[start:stop]),
            seg_mag,
            rate_hz,
            method,
            params,
        )
        if mag is None and previous_end is not None:
            axis = None if heading_axis is None else np.asarray(heading_axis, dtype=np.float64)
            q = _positive_w(quat_multiply(_carry_heading(previous_end, q[0], axis), q))
        out[start:stop] = q
        previous_end = q[-1]
    return out


def _fuse_segment(
    gyr: NDArray[np.float64],
    acc: NDArray[np.float64],
    mag: NDArray[np.float64] | None,
    rate_hz: float,
    method: str,
    params: FusionParams,
) -> NDArray[np.float64]:
    if method == "vqf-offline":
        import vqf

        assert isinstance(params, VQFParams)
        result = vqf.offlineVQF(gyr, acc, mag, 1.0 / rate_hz, params.as_vqf())
        return _positive_w(np.asarray(result["quat6D" if mag is None else "quat9D"]))
    filt = OrientationFilter(method, rate_hz, use_mag=mag is not None, params=params)
    return _positive_w(filt.update(gyr, acc, mag))


@dataclass(frozen=True)
class OrientationError:
    """RMS orientation errors, radians (the BROAD benchmark's definitions)."""

    inclination_rad: float
    heading_rad: float
    total_rad: float
    n_samples: int


def orientation_error(
    q_estimate: ArrayLike,
    q_reference: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    remove_heading_offset: bool = False,
) -> OrientationError:
    """BROAD's error: ``q_err = q_est ⊗ conj(q_ref)`` in the earth frame, RMS over ``mask``.

    total = 2 acos|w|, heading = 2 atan|z / w|, inclination = 2 acos sqrt(w² + z²); rows with
    NaN are ignored. ``remove_heading_offset`` (6D) first removes one constant heading offset
    (the circular mean of the heading error over the masked rows).
    """
    est = np.asarray(q_estimate, dtype=np.float64)
    ref = np.asarray(q_reference, dtype=np.float64)
    err = quat_multiply(est, quat_conjugate(ref))
    keep = np.isfinite(err).all(axis=1)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    if not keep.any():
        raise HipscopeError("orientation_error: no rows with both estimate and reference")
    err = err[keep]
    if remove_heading_offset:
        heading = 2.0 * np.arctan2(err[:, 3], err[:, 0])
        offset = float(np.angle(np.mean(np.exp(1j * heading))))
        err = quat_multiply(_rot_z(-offset), err)
    w = np.abs(err[:, 0])
    total = 2.0 * np.arccos(np.clip(w, 0.0, 1.0))
    heading = 2.0 * np.arctan(np.abs(err[:, 3]) / np.maximum(w, 1e-12))
    inclination = 2.0 * np.arccos(np.clip(np.sqrt(err[:, 0] ** 2 + err[:, 3] ** 2), 0.0, 1.0))

    def rms(x: NDArray[np.float64]) -> float:
        return float(np.sqrt(np.mean(x**2)))

    return OrientationError(rms(inclination), rms(heading), rms(total), int(keep.sum()))
