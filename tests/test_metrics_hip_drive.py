"""HipDrive on synthetic hinge repetitions with known hip and lumbar extension onsets."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt

from hipscope.processing.events.repetitions import RepetitionSegmenter
from hipscope.processing.metrics.hip_drive import HipDrive


def _cosine_step(t: NDArray[np.float64], start: float, duration: float) -> NDArray[np.float64]:
    """0 before start, 1 after start + duration, raised cosine in between."""
    u = np.clip((t - start) / duration, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def _min_jerk_step(t: NDArray[np.float64], start: float, duration: float) -> NDArray[np.float64]:
    """Minimum-jerk step (Flash & Hogan 1985): 10u³ − 15u⁴ + 6u⁵."""
    u = np.clip((t - start) / duration, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


STEPS = {"cosine": _cosine_step, "min_jerk": _min_jerk_step}


def hinge(
    rate_hz: float,
    leads_ms: list[float],
    *,
    hip_deg: float = 45.0,
    lumbar_deg: float = 20.0,
    rise_s: float = 1.0,
    rate_noise_deg_s: float = 0.0,
    seed: int = 0,
    shape: str = "cosine",
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], list[float]]:
    """Hip and lumbar flexion (rad) of a hinge series; returns the true hip onsets.

    Noise is gyro-like: white angular-rate noise integrated into the angle.
    """
    t = np.arange(0.0, 2.0 + 4.5 * len(leads_ms), 1.0 / rate_hz)
    hip = np.zeros_like(t)
    lumbar = np.zeros_like(t)
    onsets = []
    _step = STEPS[shape]
    for k, lead_ms in enumerate(leads_ms):
        down = 1.0 + 4.5 * k
        rise = down + 1.6
        onsets.append(rise)
        hip += hip_deg * (_step(t, down, 1.0) - _step(t, rise, rise_s))
        lumbar += lumbar_deg * (_step(t, down, 1.0) - _step(t, rise + lead_ms / 1000.0, rise_s))
    rng = np.random.default_rng(seed)
    hip += np.cumsum(rng.normal(0.0, rate_noise_deg_s, t.shape)) / rate_hz
    lumbar += np.cumsum(rng.normal(0.0, rate_noise_deg_s, t.shape)) / rate_hz
    return t, np.radians(hip), np.radians(lumbar), onsets


# A minimum-jerk rise is what the onset fit models; a raised cosine (jump in acceleration)
# starts more abruptly, so its fitted onset comes early (the same for both joints: the lead
# keeps its tolerance, the absolute onset gets a looser one).
@pytest.mark.parametrize(
    ("shape", "tolerance_ms", "onset_tolerance_s"),
    [("min_jerk", 20.0, 0.05), ("cosine", 25.0, 0.15)],
)
@pytest.mark.parametrize("rate_hz", [60.0, 100.0, 200.0])
def test_hip_lead_matches_the_injected_onsets(
    rate_hz: float, shape: str, tolerance_ms: float, onset_tolerance_s: float
) -> None:
    leads = [80.0, -60.0, 0.0, 150.0, 40.0]
    t, hip, lumbar, onsets = hinge(rate_hz, leads, rate_noise_deg_s=0.5, shape=shape)
    drive = HipDrive().compute(
        t, hip_flexion_rad=hip, lumbar_flexion_rad=lumbar, start_s=0.5, end_s=t[-1]
    )
    assert drive.rep_count_ == len(leads)
    for rep, lead, onset in zip(drive.repetitions_, leads, onsets, strict=True):
        assert rep["hip_lead_ms"] == pytest.approx(lead, abs=tolerance_ms)
        assert rep["hip_onset_s"] == pytest.approx(onset, abs=onset_tolerance_s)
        assert rep["rejected"] is None
        # peak of a raised cosine of 45° over 1 s: π/2 · 45 deg/s, half-way through the rise
        # peak velocity half-way through the rise: π/2 · 45 deg/s (cosine), 15/8 · 45 (min jerk)
        peak = np.pi / 2 * 45.0 if shape == "cosine" else 15.0 / 8.0 * 45.0
        assert rep["peak_hip_ext_vel_deg_s"] == pytest.approx(peak, rel=0.05)
        assert rep["time_to_peak_hip_ext_vel_s"] == pytest.approx(0.5, abs=onset_tolerance_s + 0.01)
        assert rep["hip_share_pct"] == pytest.approx(100 * 45 / 65, abs=2.0)
    metrics = drive.metrics_
    assert metrics["hip_lead_ms_median"] == pytest.approx(np.median(leads), abs=tolerance_ms)
    assert metrics["valid_rep_count"] == len(leads) and metrics["rejected_reps"] == {}
    q1, q3 = np.percentile(leads, [25, 75])
    assert metrics["hip_lead_ms_q1"] == pytest.approx(q1, abs=tolerance_ms)
    assert metrics["hip_lead_ms_q3"] == pytest.approx(q3, abs=tolerance_ms)
    # a spread of 40..80 ms over 5 reps: the median (40 ms) does not clear the zone
    assert metrics["hip_lead_zone_ms"] > 40.0 and metrics["hip_lead_verdict"] == "unclear"


def test_lumbar_first_is_negative_and_missing_lumbar_is_explained() -> None:
    t, hip, lumbar, _ = hinge(100.0, [-120.0, -120.0, -120.0], hip_deg=30.0, lumbar_deg=35.0)
    drive = HipDrive().compute(
        t, hip_flexion_rad=hip, lumbar_flexion_rad=lumbar, start_s=0.0, end_s=t[-1]
    )
    assert drive.hip_lead_ms_median_ == pytest.approx(-120.0, abs=15.0)
    only_hip = HipDrive().compute(
        t, hip_flexion_rad=hip, lumbar_flexion_rad=None, start_s=0.0, end_s=t[-1]
    )
    assert only_hip.rep_count_ == 3
    assert only_hip.hip_lead_ms_median_ is None
    assert "lumbar" in only_hip.unavailable_["hip_lead_ms_median"]
    assert all(r["hip_onset_s"] is not None for r in only_hip.repetitions_)
    nothing = HipDrive().compute(
        t, hip_flexion_rad=None, lumbar_flexion_rad=None, start_s=0.0, end_s=t[-1]
    )
    assert nothing.rep_count_ is None
    assert "rep_count" in nothing.unavailable_


def test_segmenter_ignores_small_wobbles() -> None:
    rate_hz = 100.0
    t = np.arange(0, 20, 1 / rate_hz)
    flexion = np.radians(3.0 * np.sin(2 * np.pi * 0.7 * t))
    reps = RepetitionSegmenter().detect(t, flexion, start_s=0, end_s=20).repetitions_
    assert reps == []
    _, hip, lumbar, onsets = hinge(rate_hz, [0.0] * 4)
    t2 = np.arange(hip.shape[0]) / rate_hz
    reps = RepetitionSegmenter().detect(t2, hip + lumbar, start_s=0, end_s=t2[-1]).repetitions_
    assert len(reps) == 4
    for rep, onset in zip(reps, onsets, strict=True):
        assert rep.start_s < rep.turn_s < onset + 0.2 < rep.end_s


def _band_noise(
    rng: np.random.Generator, n: int, rate_hz: float, band_hz: tuple[float, float]
) -> NDArray[np.float64]:
    """Unit-RMS noise in ``band_hz`` (2nd-order Butterworth band-pass, zero phase)."""
    sos = butter(
        2, [band_hz[0], min(band_hz[1], 0.45 * rate_hz)], "bandpass", fs=rate_hz, output="sos"
    )
    x = sosfiltfilt(sos, rng.standard_normal(n))
    return x / np.std(x)


def realistic_reps(
    rate_hz: float,
    lead_ms: float,
    *,
    bounce: bool,
    n_reps: int = 6,
    sta_deg: float = 1.5,
    hip_deg: float = 60.0,
    lumbar_deg: float = 20.0,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], list[float]]:
    """Hinge reps with rep-to-rep variability (±10 % depth, timing), paused (0.4 s at the
    bottom) or bounce (no pause), and per-segment (pelvis, trunk, thigh) noise: soft-tissue
    artefact of ``sta_deg`` RMS at 2–10 Hz while the segment moves (near zero at rest) plus
    integrated gyroscope noise (0.3 °/s white). Returns t, hip and lumbar flexion (rad) and
    each rep's true lead (ms)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 3.0 + 5.5 * n_reps, 1.0 / rate_hz)
    hip, lumbar, moving = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    start, truth = 1.0, []
    for _ in range(n_reps):
        down_s, up_s, depth = (1.0 + 0.1 * rng.standard_normal(3)) * (1.2, 1.0, 1.0)
        pause_s = 0.0 if bounce else 0.4 * (1.0 + 0.1 * rng.standard_normal())
        rise = start + down_s + pause_s
        lead_s = lead_ms / 1000.0
        t_hip, t_lumbar = rise + max(0.0, -lead_s), rise + max(0.0, lead_s)
        hip += depth * hip_deg * (_min_jerk_step(t, start, down_s) - _min_jerk_step(t, t_hip, up_s))
        lumbar += (
            depth
            * lumbar_deg
            * (_min_jerk_step(t, start, down_s) - _min_jerk_step(t, t_lumbar, up_s))
        )
        moving[(t > start) & (t < start + down_s)] = 1.0
        moving[(t > min(t_hip, t_lumbar)) & (t < max(t_hip, t_lumbar) + up_s)] = 1.0
        truth.append(1000.0 * (t_lumbar - t_hip))
        start = rise + abs(lead_s) + up_s + 1.0
    envelope = np.clip(sosfiltfilt(butter(2, 2.0, fs=rate_hz, output="sos"), moving), 0.0, 1.0)
    noise = {
        seg: sta_deg * envelope * _band_noise(rng, t.shape[0], rate_hz, (2.0, 10.0))
        + np.cumsum(rng.normal(0.0, 0.3, t.shape)) / rate_hz
        for seg in ("pelvis", "trunk", "thigh")
    }
    hip_measured = hip + noise["thigh"] - noise["pelvis"]
    lumbar_measured = lumbar + noise["trunk"] - noise["pelvis"]
    return t, np.radians(hip_measured), np.radians(lumbar_measured), truth


@pytest.mark.parametrize("bounce", [False, True], ids=["paused", "bounce"])
@pytest.mark.parametrize(("rate_hz", "sta_deg"), [(60.0, 1.5), (100.0, 1.0), (200.0, 1.5)])
def test_hip_lead_under_soft_tissue_artefact(bounce: bool, rate_hz: float, sta_deg: float) -> None:
    """Median within ±25 ms and the sign right for |lead| >= 30 ms; every rep counted."""
    for seed, lead_ms in enumerate((-60.0, -30.0, 30.0, 60.0)):
        t, hip, lumbar, truth = realistic_reps(
            rate_hz, lead_ms, bounce=bounce, sta_deg=sta_deg, seed=seed
        )
        drive = HipDrive().compute(
            t, hip_flexion_rad=hip, lumbar_flexion_rad=lumbar, start_s=0.5, end_s=t[-1] - 0.5
        )
        m = drive.metrics_
        assert abs(m["valid_rep_count"] - len(truth)) <= 1, m["rejected_reps"]
        assert m["hip_lead_ms_median"] == pytest.approx(np.median(truth), abs=25.0)
        assert np.sign(m["hip_lead_ms_median"]) == np.sign(lead_ms)
        if m["hip_lead_verdict"] != "unclear":
            assert m["hip_lead_verdict"] == ("hips first" if lead_ms > 0 else "back first")


def test_zero_lead_is_unclear_not_a_verdict() -> None:
    """With a true lead of 0 ms the verdict must not claim a side (over many seeds)."""
    verdicts = []
    for seed in range(10):
        t, hip, lumbar, _ = realistic_reps(100.0, 0.0, bounce=seed % 2 == 1, seed=100 + seed)
        drive = HipDrive().compute(
            t, hip_flexion_rad=hip, lumbar_flexion_rad=lumbar, start_s=0.5, end_s=t[-1] - 0.5
        )
        verdicts.append(drive.metrics_["hip_lead_verdict"])
    assert verdicts.count("unclear") >= 8, verdicts


def test_a_rep_without_lumbar_motion_is_rejected_with_its_reason() -> None:
    t, hip, lumbar, _ = hinge(100.0, [40.0, 40.0, 40.0], rate_noise_deg_s=0.2)
    flat = np.zeros_like(lumbar)
    drive = HipDrive().compute(
        t, hip_flexion_rad=hip + lumbar, lumbar_flexion_rad=flat, start_s=0.0, end_s=t[-1]
    )
    m = drive.metrics_
    assert m["rep_count"] == 3 and m["valid_rep_count"] == 0
    assert m["rejected_reps"] == {"lower back: no extension": 3}
    assert m["hip_lead_ms_median"] is None and m["hip_lead_verdict"] is None
    assert "hip_lead_verdict" in drive.unavailable_


def bridge_reps(
    rate_hz: float,
    leads_ms: list[float],
    *,
    sta_deg: float,
    hip_deg: float = 45.0,
    lumbar_deg: float = 8.0,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Hip bridges from lying flexed: each repetition extends (hip ``hip_deg``, lumbar only
    ``lumbar_deg``, minimum-jerk rises of 0.8–1.2 s), holds 0.3 s and lowers again; skin
    artefact of ``sta_deg`` RMS at 2–10 Hz on each segment while it moves and integrated
    gyroscope noise. Returns t, hip and lumbar flexion (rad)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 3.0 + 5.0 * len(leads_ms), 1.0 / rate_hz)
    hip, lumbar, moving = np.full_like(t, hip_deg), np.full_like(t, lumbar_deg), np.zeros_like(t)
    start = 1.5
    for lead_ms in leads_ms:
        up_s, down_s = rng.uniform(0.8, 1.2), rng.uniform(0.9, 1.4)
        lead_s = lead_ms / 1000.0
        t_hip, t_lumbar = start + max(0.0, -lead_s), start + max(0.0, lead_s)
        top = start + abs(lead_s) + up_s + 0.3
        hip -= hip_deg * (_min_jerk_step(t, t_hip, up_s) - _min_jerk_step(t, top, down_s))
        lumbar -= lumbar_deg * (_min_jerk_step(t, t_lumbar, up_s) - _min_jerk_step(t, top, down_s))
        moving[(t > start) & (t < top + down_s)] = 1.0
        start = top + down_s + rng.uniform(0.8, 1.5)
    envelope = np.clip(sosfiltfilt(butter(2, 2.0, fs=rate_hz, output="sos"), moving), 0.0, 1.0)
    noise = {
        seg: sta_deg * envelope * _band_noise(rng, t.shape[0], rate_hz, (2.0, 10.0))
        + np.cumsum(rng.normal(0.0, 0.3, t.shape)) / rate_hz
        for seg in ("pelvis", "trunk", "thigh")
    }
    return (
        t,
        np.radians(hip + noise["thigh"] - noise["pelvis"]),
        np.radians(lumbar + noise["trunk"] - noise["pelvis"]),
    )


def test_bridge_lead_holds_under_skin_artefact() -> None:
    """A bridge's lumbar rise is small (8° here) and 1.5° RMS of skin artefact on each of
    pelvis and trunk puts about 2° on the lumbar angle: an onset at a velocity threshold
    rides on the artefact (the velocity-threshold onset read task medians up to 225 ms
    off here). Over 10 simulated tasks every median stays within 30 ms of the truth and
    nearly every repetition too."""
    leads = [20.0, 60.0, -20.0, 100.0, 40.0]
    errors_ms, median_errors_ms = [], []
    for seed in range(10):
        t, hip, lumbar = bridge_reps(100.0, leads, sta_deg=1.5, seed=seed)
        drive = HipDrive().compute(
            t,
            hip_flexion_rad=hip,
            lumbar_flexion_rad=lumbar,
            start_s=1.0,
            end_s=t[-1] - 1.0,
            start_posture="flexed",
        )
        assert drive.rep_count_ == len(leads)
        got = [r["hip_lead_ms"] for r in drive.repetitions_]
        assert all(g is not None for g in got), drive.metrics_["rejected_reps"]
        errors_ms.extend(np.array(got) - leads)
        median_errors_ms.append(drive.hip_lead_ms_median_ - np.median(leads))
    assert np.abs(median_errors_ms).max() <= 30.0, median_errors_ms
    assert np.median(np.abs(errors_ms)) <= 10.0
    assert np.mean(np.abs(errors_ms) <= 30.0) >= 0.95


def test_a_few_samples_of_boundary_shift_leave_every_lead_alone() -> None:
    """Task rows set by hand or by detection differ by a few samples, and a row may start
    right where the first descent does: no repetition's lead (and so not the median) may
    move with them (the velocity-threshold onset's median jumped from 29 to 100 ms here
    with a shift of 2 samples)."""
    t, hip, lumbar, truth = realistic_reps(100.0, 50.0, bounce=False, sta_deg=1.0, seed=7)
    leads = []
    for shift_samples in (-4, -2, 0, 2, 4):
        shift_s = shift_samples / 100.0
        drive = HipDrive().compute(
            t,
            hip_flexion_rad=hip,
            lumbar_flexion_rad=lumbar,
            start_s=1.0 + shift_s,  # the first descent starts at 1.0 s
            end_s=t[-1] - 2.5 + shift_s,
        )
        leads.append([r["hip_lead_ms"] for r in drive.repetitions_])
    assert all(len(x) == len(truth) for x in leads)
    spread = np.ptp(np.array(leads, dtype=np.float64), axis=0)
    assert spread.max() <= 1.0, spread
    assert np.abs(np.array(leads[2]) - truth).max() <= 30.0
