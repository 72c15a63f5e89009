"""Any mix of sensors and task rows (empty, tiny, outside the data) analyses without a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.samples import TASK_KINDS, Task
from hipscope.acquisition.simulator import GaitSpec, StaticSpec, simulate
from hipscope.processing.pipeline import analyze_recording

WINDOWS = ((0.0, 0.0), (1.0, 1.05), (2.0, 3.0), (5.0, 14.0), (30.0, 40.0))


@pytest.fixture(scope="module")
def session() -> object:
    return simulate([StaticSpec(duration_s=4.0), GaitSpec(duration_s=8.0)], seed=1)


@pytest.mark.parametrize(
    "placements",
    [("pelvis", "trunk", "thigh_left", "thigh_right"), ("trunk",), ("pelvis", "thigh_right")],
)
def test_every_task_kind_and_window(
    tmp_path: Path, session: object, placements: tuple[str, ...]
) -> None:
    path = tmp_path / "mix.h5"
    with Recorder(path, [SensorMeta(p, nominal_rate_hz=100.0) for p in placements]) as recorder:
        for p in placements:
            recorder.append(p, session.samples[p])  # type: ignore[attr-defined]
        for kind in TASK_KINDS:
            for side in ("left", "right", ""):
                for start, end in WINDOWS:
                    recorder.add_task(Task(kind, side, start, end))
    doc = analyze_recording(path).to_dict()
    json.dumps(doc, allow_nan=False)
    assert len(doc["tasks"]) == len(TASK_KINDS) * 3 * len(WINDOWS)
    for task in doc["tasks"]:
        for key, value in task["metrics"].items():
            if value is None and key not in ("hold_detection", "contact_source"):
                assert key in task["unavailable"], (task["kind"], key)
