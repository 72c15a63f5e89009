"""The task-kind registry: one record per kind, read by every layer; a toy kind flows through."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.samples import Task
from hipscope.base import tasks as task_registry
from hipscope.base.errors import HipscopeError
from hipscope.processing.contract import GenericMetrics, parse_metrics
from hipscope.processing.pipeline import RECORDED_ONLY, TaskAnalysis, analyze_recording
from hipscope.processing.report.html import render_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "recordings" / "sample_screen.h5"


def analyse_toy(ctx: object) -> TaskAnalysis:
    """A toy analyser: the task's length and a made-up score."""
    task = ctx.task  # type: ignore[attr-defined]
    return TaskAnalysis(
        task,
        {"duration_s": task.end_s - task.start_s, "toy_score": 42.5, "toy_label": "<b>ok</b>"},
        {"toy_missing_deg": "toys have no angles"},
    )


TOY = task_registry.TaskKind(
    "toy_balance",
    "Toy balance",
    "other",
    analyser=f"{__name__}:analyse_toy",
    headline_metrics=("toy_score",),
)
TOY_RECORDED = task_registry.TaskKind("toy_jump", "Toy jump", "recorded")


def test_every_builtin_kind_has_one_complete_record() -> None:
    kinds = task_registry.kind_names()
    assert kinds == (
        "static",
        "single_leg_stance",
        "hip_hinge",
        "hip_bridge",
        "squat",
        "gait",
        "lunge",
    )
    titles = [r.title for r in task_registry.task_kinds()]
    assert len(set(titles)) == len(titles)
    assert task_registry.title("static") == "Quiet standing"
    assert task_registry.title("gait") == "Walking"
    shortcuts = [b.shortcut for r in task_registry.task_kinds() for b in r.buttons]
    assert len(set(shortcuts)) == len(shortcuts)
    assert task_registry.kind_names("repetitions") == ("hip_hinge", "hip_bridge", "squat")
    lunge = task_registry.get("lunge")
    assert not lunge.has_metrics and lunge.family == "recorded"
    for record in task_registry.task_kinds():
        if record.analyser:
            assert callable(task_registry.resolve(record.analyser))
        if record.result_model:
            assert task_registry.resolve(record.result_model)


def test_registry_refuses_bad_records() -> None:
    with pytest.raises(HipscopeError, match="already registered"):
        task_registry.register(task_registry.get("squat"))
    with pytest.raises(HipscopeError, match="built in"):
        task_registry.unregister("squat")
    with pytest.raises(HipscopeError, match="lower-case identifier"):
        task_registry.TaskKind("Bad Kind", "x", "recorded")
    with pytest.raises(HipscopeError, match="needs one"):
        task_registry.TaskKind("no_analyser", "x", "other")
    with pytest.raises(HipscopeError, match="is not one of static"):
        Task("toy_balance", "", 0.0, 1.0)


def test_base_layer_imports_nothing_of_hipscope() -> None:
    code = (
        "import sys, hipscope.base.tasks; "
        "print(sorted(m for m in sys.modules if m.startswith('hipscope.') "
        "and not m.startswith('hipscope.base')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_toy_kind_flows_through_from_its_record_alone() -> None:
    recording = load_recording(SAMPLE)
    with task_registry.registered(TOY), task_registry.registered(TOY_RECORDED):
        extra = (Task("toy_balance", "", 1.0, 6.0), Task("toy_jump", "left", 7.0, 8.0))
        toy_recording = dataclasses.replace(recording, tasks=recording.tasks + extra)
        analysis = analyze_recording(toy_recording)
        document = analysis.to_document()
        toy, jump = document.tasks[-2:]
        assert toy.kind == "toy_balance" and isinstance(toy.metrics, GenericMetrics)
        assert toy.metrics.model_dump()["toy_score"] == 42.5
        assert toy.unavailable == {"toy_missing_deg": "toys have no angles"}
        assert jump.unavailable == {"metrics": RECORDED_ONLY}
        # the JSON round trip keeps the toy kind while it is registered
        assert parse_metrics(document.to_dict()) == document
        html = render_report(analysis)
        assert "Toy balance" in html and "Toy jump — left" in html
        assert "Toy score" in html and "42.50" in html and "&lt;b&gt;ok&lt;/b&gt;" in html
        assert "Recorded, no metrics" in html
    # gone from the registry, the kind is refused by the contract with one line
    with pytest.raises(HipscopeError, match=r"tasks\[5\]\.kind' must be one of"):
        parse_metrics(document.to_dict())


def test_lunge_is_recorded_without_metrics_everywhere() -> None:
    from hipscope.gui import metricspanel, review
    from hipscope.gui.live import task_buttons
    from hipscope.processing.contract import parse_metrics as parse

    recording = load_recording(SAMPLE)
    lunge_recording = dataclasses.replace(
        recording, tasks=(*recording.tasks, Task("lunge", "left", 2.0, 5.0))
    )
    analysis = analyze_recording(lunge_recording)
    lunge = parse(analysis.to_dict()).tasks[-1]
    assert lunge.unavailable == {"metrics": RECORDED_ONLY}
    assert set(lunge.metrics.model_dump(exclude_unset=True)) == {"duration_s"}
    html = render_report(analysis)
    assert "Lunge — left" in html and "Recorded, no metrics" in html
    # the GUI shows no repetition counter or hip lead for it
    assert "rep_count" not in review.headlines("lunge")
    assert task_registry.get("lunge").family == "recorded"
    hub = SimpleNamespace(latest_angle=lambda _name: 0.0)
    shown = metricspanel.compute(hub, metricspanel.TaskState("lunge", "left", 10.0), 12.5)
    assert [m.name for m in shown][-1] == "recorded, no metrics"
    assert "repetitions" not in [m.name for m in shown]
    assert all(kind != "lunge" for _, kind, _, _ in task_buttons())
    assert next(label for _, _, _, label in task_buttons()) == "Standing"
