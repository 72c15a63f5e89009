"""PelvicStability on synthetic single-leg stances with known drop, lean, hold and sway."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.processing.events.stance import StanceHold
from hipscope.processing.metrics.pelvic_stability import PelvicStability, sway_measures


def _ramp(t: NDArray[np.float64], start: float, duration: float) -> NDArray[np.float64]:
    u = np.clip((t - start) / duration, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def stance(stance_side: str, drop_deg: float, lean_deg: float, rate_hz: float = 100.0) -> dict:
    """A 14 s task: free thigh lifts 40° at 2–2.5 s, holds until 11.5 s, lowers by 12 s.

    ``lean_deg``: trunk inclination from world vertical towards the stance side; the
    trunk-on-pelvis bend follows from it and the pelvis's own obliquity.
    """
    t = np.arange(0.0, 14.0, 1.0 / rate_hz)
    lifted = _ramp(t, 2.0, 0.5) - _ramp(t, 11.5, 0.5)
    sign_obliquity = 1.0 if stance_side == "left" else -1.0
    sign_bend = 1.0 if stance_side == "right" else -1.0
    rng = np.random.default_rng(1)
    acc = np.zeros((t.shape[0], 3))
    acc[:, 0] = 0.03 * rng.normal(size=t.shape[0])
    acc[:, 1] = 0.09 * rng.normal(size=t.shape[0])
    acc[:, 2] = 9.81
    return {
        "time_s": t,
        "free_thigh_sagittal_rad": np.radians(40.0) * lifted,
        "pelvis_obliquity_rad": np.radians(sign_obliquity * drop_deg) * lifted + 0.01,
        # obliquity > 0 = right side lower = leaning right
        "trunk_obliquity_rad": np.radians(sign_bend * lean_deg) * lifted,
        "lumbar_lateral_bend_rad": np.radians(sign_bend * lean_deg - sign_obliquity * drop_deg)
        * lifted,
        "acc_world_pelvis_m_s2": acc,
        "q_world_pelvis": np.tile([1.0, 0.0, 0.0, 0.0], (t.shape[0], 1)),
    }


@pytest.mark.parametrize(("side", "drop", "lean"), [("left", 4.0, 2.0), ("right", 7.0, -3.0)])
def test_drop_lean_and_hold_follow_the_sign_conventions(
    side: str, drop: float, lean: float
) -> None:
    data = stance(side, drop, lean)
    t = data.pop("time_s")
    result = PelvicStability(sway_lowpass_hz=100.0).compute(
        t, stance_side=side, start_s=0.5, end_s=13.5, reference_obliquity_rad=0.01, **data
    )
    m = result.metrics_
    assert m["hold_detection"] == "free thigh"
    assert m["hold_start_s"] == pytest.approx(2.5, abs=0.1)
    assert m["hold_end_s"] == pytest.approx(11.5, abs=0.1)
    assert m["hold_s"] == pytest.approx(9.0, abs=0.2)
    assert m["pelvic_drop_mean_deg"] == pytest.approx(drop, abs=0.1)
    assert m["pelvic_drop_peak_deg"] == pytest.approx(drop, abs=0.1)
    assert m["trunk_lean_mean_deg"] == pytest.approx(lean, abs=0.1)
    sign_bend = 1.0 if side == "right" else -1.0
    sign_obliquity = -sign_bend
    assert m["lumbar_lateral_bend_mean_deg"] == pytest.approx(
        sign_bend * lean - sign_obliquity * drop, abs=0.1
    )
    # world x is the pelvis anterior axis here: AP sway 0.03, ML 0.09
    assert m["sway_ap_rms_m_s2"] == pytest.approx(0.03, rel=0.1)
    assert m["sway_ml_rms_m_s2"] == pytest.approx(0.09, rel=0.1)
    assert m["sway_ellipse_area_m2_s4"] == pytest.approx(np.pi * 5.991 * 0.03 * 0.09, rel=0.15)
    assert result.unavailable_ == {}
    assert result.series_["pelvic_drop_deg"].shape == result.series_["time_s"].shape


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_pelvic_drop_with_a_vertical_trunk_is_no_trunk_lean(side: str) -> None:
    """6° free-side drop, trunk vertical in the world: lean 0 ± 1°, the bend shows the drop."""
    data = stance(side, 6.0, 0.0)
    t = data.pop("time_s")
    rng = np.random.default_rng(3)
    for key in ("pelvis_obliquity_rad", "trunk_obliquity_rad", "lumbar_lateral_bend_rad"):
        data[key] = data[key] + np.radians(0.3) * rng.standard_normal(t.shape)
    m = (
        PelvicStability()
        .compute(t, stance_side=side, start_s=0.5, end_s=13.5, reference_obliquity_rad=0.01, **data)
        .metrics_
    )
    assert m["pelvic_drop_mean_deg"] == pytest.approx(6.0, abs=0.2)
    assert m["trunk_lean_mean_deg"] == pytest.approx(0.0, abs=1.0)
    # trunk on pelvis: the pelvis rolled 6° towards the free side under a vertical trunk
    towards_stance = m["lumbar_lateral_bend_mean_deg"] * (1.0 if side == "right" else -1.0)
    assert towards_stance == pytest.approx(6.0, abs=0.3)


def test_missing_sensors_give_reasons_not_crashes() -> None:
    data = stance("left", 5.0, 0.0)
    t = data["time_s"]
    result = PelvicStability().compute(
        t,
        stance_side="left",
        start_s=0.0,
        end_s=14.0,
        pelvis_obliquity_rad=data["pelvis_obliquity_rad"],
    )
    m = result.metrics_
    assert m["hold_detection"] == "task window"
    assert m["hold_s"] is None and "thigh" in result.unavailable_["hold_s"]
    assert m["pelvic_drop_mean_deg"] is not None
    assert (
        m["trunk_lean_mean_deg"] is None and "trunk" in result.unavailable_["trunk_lean_mean_deg"]
    )
    assert m["lumbar_lateral_bend_mean_deg"] is None and (
        "trunk" in result.unavailable_["lumbar_lateral_bend_mean_deg"]
    )
    assert m["sway_rms_m_s2"] is None and "pelvis" in result.unavailable_["sway_rms_m_s2"]
    no_side = PelvicStability().compute(t, stance_side="", start_s=0.0, end_s=14.0)
    assert no_side.metrics_["pelvic_drop_mean_deg"] is None


def test_a_thigh_that_never_lifts_is_reported() -> None:
    t = np.arange(0, 10, 0.01)
    hold = StanceHold().detect(t, np.radians(3.0) * np.ones_like(t), start_s=0, end_s=10)
    assert hold.method_ == "free thigh" and not hold.found_
    result = PelvicStability().compute(
        t,
        stance_side="right",
        start_s=0,
        end_s=10,
        free_thigh_sagittal_rad=np.zeros_like(t),
        pelvis_obliquity_rad=np.zeros_like(t),
    )
    assert result.metrics_["pelvic_drop_mean_deg"] is None
    assert "lifted" in result.unavailable_["pelvic_drop_mean_deg"]


def test_sway_ellipse_of_a_known_covariance() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    ap = rng.normal(0.0, 0.2, n)
    ml = rng.normal(0.0, 0.05, n)
    c, s = np.cos(0.6), np.sin(0.6)
    rotated_ap, rotated_ml = c * ap - s * ml, s * ap + c * ml
    out = sway_measures(rotated_ap, rotated_ml)
    assert out["sway_ellipse_area_m2_s4"] == pytest.approx(np.pi * 5.991 * 0.2 * 0.05, rel=0.01)
    assert out["sway_rms_m_s2"] == pytest.approx(np.hypot(0.2, 0.05), rel=0.01)
