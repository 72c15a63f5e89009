"""Trunk lean is the trunk against world vertical, not against the pelvis (whole pipeline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hipscope.acquisition.simulator import SingleLegStanceSpec, StaticSpec, simulate
from hipscope.processing.pipeline import analyze_recording


@pytest.mark.parametrize("rate_hz", [60.0, 200.0])
def test_a_6_degree_drop_under_a_vertical_trunk_reads_no_lean(
    tmp_path: Path, rate_hz: float
) -> None:
    protocol = [
        StaticSpec(),
        SingleLegStanceSpec("left", hold_s=6.0, pelvic_drop_deg=6.0, trunk_lean_deg=0.0),
        SingleLegStanceSpec("right", hold_s=6.0, pelvic_drop_deg=6.0, trunk_lean_deg=0.0),
        SingleLegStanceSpec("left", hold_s=6.0, pelvic_drop_deg=2.0, trunk_lean_deg=4.0),
    ]
    session = simulate(protocol, rate_hz=rate_hz, seed=5, misalignment_deg=20.0)
    path = tmp_path / "stance.h5"
    session.write(path)
    analysis = analyze_recording(path)
    stances = [t for t in analysis.tasks if t.task.kind == "single_leg_stance"]
    for result, truth in zip(stances, session.truth[1:], strict=True):
        m = result.metrics
        assert m["pelvic_drop_mean_deg"] == pytest.approx(truth["pelvic_drop_deg"], abs=0.5)
        assert m["trunk_lean_mean_deg"] == pytest.approx(truth["trunk_lean_deg"], abs=1.0)
        # the trunk on the pelvis carries the drop: positive = trunk leaning right on it
        assert m["lumbar_lateral_bend_mean_deg"] == pytest.approx(
            truth["lumbar_lateral_bend_deg"], abs=1.0
        )
    left, right = stances[0].metrics, stances[1].metrics
    assert left["trunk_lean_mean_deg"] == pytest.approx(0.0, abs=1.0)
    assert right["trunk_lean_mean_deg"] == pytest.approx(0.0, abs=1.0)
    assert left["lumbar_lateral_bend_mean_deg"] == pytest.approx(-6.0, abs=1.0)
    assert right["lumbar_lateral_bend_mean_deg"] == pytest.approx(6.0, abs=1.0)
