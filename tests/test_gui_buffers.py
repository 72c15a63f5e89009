"""Ring buffers and stick-figure geometry: pure numpy, no Qt window needed."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipscope.base.errors import HipscopeError
from hipscope.gui.ringbuffer import RingBuffer
from hipscope.gui.stickfigure import PELVIS_HALF_WIDTH_M, THIGH_M, frontal_points, sagittal_points


def test_ring_buffer_keeps_newest_rows_in_order() -> None:
    buffer = RingBuffer(capacity=10, width=3)
    for start in range(0, 25, 4):  # batches of 4 rows wrap around several times
        t = np.arange(start, start + 4, dtype=float)
        buffer.append(t, np.column_stack([t, 2 * t, -t]))
    time_s, values = buffer.latest()
    assert len(buffer) == 10
    assert buffer.total_appended == 28
    np.testing.assert_array_equal(time_s, np.arange(18, 28, dtype=float))
    np.testing.assert_array_equal(values[:, 1], 2 * np.arange(18, 28, dtype=np.float32))
    assert buffer.last_time_s() == 27.0
    t3, _ = buffer.latest(3)
    np.testing.assert_array_equal(t3, [25.0, 26.0, 27.0])


def test_ring_buffer_window_and_oversized_batch() -> None:
    buffer = RingBuffer(capacity=5, width=1)
    buffer.append(np.arange(12.0), np.arange(12.0))  # larger than the capacity
    time_s, values = buffer.window(8.5, 10.0)
    np.testing.assert_array_equal(time_s, [9.0, 10.0])
    np.testing.assert_array_equal(values[:, 0], [9.0, 10.0])
    buffer.clear()
    assert len(buffer) == 0 and math.isnan(buffer.last_time_s())
    with pytest.raises(HipscopeError):
        RingBuffer(0, 3)


def test_ring_buffer_concurrent_writer_reader_sees_consistent_rows() -> None:
    buffer = RingBuffer(capacity=500, width=2)
    stop = threading.Event()

    def writer() -> None:
        t = 0.0
        while not stop.is_set():
            times = t + np.arange(7.0)
            buffer.append(times, np.column_stack([times, times]))
            t += 7.0

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            time_s, values = buffer.latest()
            assert np.all(np.diff(time_s) == 1.0)  # contiguous, never torn
            np.testing.assert_array_equal(values[:, 0], time_s.astype(np.float32))
    finally:
        stop.set()
        thread.join()


def test_frontal_figure_right_side_drops_with_positive_obliquity() -> None:
    drop = math.radians(10.0)
    points = frontal_points({"pelvis_obliquity": drop})
    left_hip, right_hip = points["pelvis"]
    assert right_hip[1] < 0 < left_hip[1]
    assert math.isclose(right_hip[1], -PELVIS_HALF_WIDTH_M * math.sin(drop), rel_tol=1e-9)
    # thighs move with the pelvis when the hips are neutral
    knee = points["thigh_right"][1] - points["thigh_right"][0]
    assert math.isclose(math.atan2(-knee[0], -knee[1]), drop, rel_tol=1e-9)
    # left stance with the stance hip adducted by the drop keeps the left thigh vertical
    stance = frontal_points({"pelvis_obliquity": drop, "hip_adduction_left": drop})
    thigh = stance["thigh_left"][1] - stance["thigh_left"][0]
    assert abs(thigh[0]) < 1e-12 and math.isclose(-thigh[1], THIGH_M)
    # trunk leaning right (positive obliquity) moves the head to screen right
    assert frontal_points({"trunk_obliquity": 0.2})["trunk"][1, 0] > 0


def test_sagittal_figure_flexion_moves_knee_and_trunk_forward() -> None:
    points = sagittal_points({"thigh_sagittal_left": math.radians(60), "trunk_tilt": 0.5})
    assert points["thigh_left"][1, 0] > 0.3  # knee forward
    assert math.isclose(points["thigh_right"][1, 0], 0.0, abs_tol=1e-12)
    assert points["trunk"][1, 0] > points["trunk"][0, 0]
    nan = sagittal_points({"pelvis_tilt": float("nan")})
    assert np.all(np.isfinite(np.concatenate(list(nan.values()))))


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(1, 40),
    sizes=st.lists(st.integers(0, 25), min_size=1, max_size=12),
    bounds=st.tuples(st.floats(-5, 200), st.floats(-5, 200)),
)
def test_ring_buffer_window_matches_brute_force(
    capacity: int, sizes: list[int], bounds: tuple[float, float]
) -> None:
    buffer = RingBuffer(capacity, 2)
    t = 0.0
    all_times: list[float] = []
    for n in sizes:
        times = t + np.arange(n) * 0.5
        buffer.append(times, np.column_stack([times, -times]))
        all_times.extend(times.tolist())
        t += 0.5 * n + 0.25
    kept = np.array(all_times[-capacity:]) if all_times else np.empty(0)
    lo, hi = min(bounds), max(bounds)
    expected = kept[(kept >= lo) & (kept <= hi)]
    time_s, values = buffer.window(lo, hi)
    np.testing.assert_array_equal(time_s, expected)
    np.testing.assert_array_equal(values[:, 1], -expected.astype(np.float32))


def test_peak_decimation_keeps_spikes_and_order() -> None:
    from hipscope.gui.plots import peak_decimate

    x = np.arange(2003, dtype=float)
    y = np.sin(x / 50.0)
    y[777] = 9.0  # a one-sample spike must survive
    y[1500] = -7.0
    xd, yd = peak_decimate(x, y, 200)
    assert xd.size <= 200 + 3
    assert np.all(np.diff(xd) > 0)
    assert yd.max() == 9.0 and yd.min() == -7.0
    assert set(xd) <= set(x)
    np.testing.assert_array_equal(yd, y[xd.astype(int)])
    assert peak_decimate(x[:50], y[:50], 200)[0].size == 50
    y[100:140] = np.nan
    xg, yg = peak_decimate(x, y, 200)
    assert np.isnan(yg).any() and xg.size <= 202


def test_break_gaps_inserts_nan_rows_only_in_long_gaps() -> None:
    from hipscope.gui.panels import break_gaps

    t = np.array([0.0, 0.01, 0.02, 0.5, 0.51, 2.0])
    v = np.arange(12, dtype=np.float32).reshape(6, 2)
    tb, vb = break_gaps(t, v, 0.05)
    assert tb.size == 8
    assert np.all(np.diff(tb) > 0)
    nan_rows = np.flatnonzero(np.isnan(vb[:, 0]))
    np.testing.assert_array_equal(nan_rows, [3, 6])
    np.testing.assert_array_equal(vb[~np.isnan(vb[:, 0])], v)
    assert break_gaps(t[:3], v[:3], 0.05)[0].size == 3
