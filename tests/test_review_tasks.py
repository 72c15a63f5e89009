"""Review of detected tasks in the review window (accept, relabel, delete, save into the
recording with their source), the task-source column of recording format v1, and the
window's angle export. Real Qt (offscreen) on real simulated recordings."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from tmpfs import small_tmpfs

from hipscope.acquisition import recorder as recorder_module
from hipscope.acquisition.recorder import Recorder, SensorMeta, add_task_rows
from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.acquisition.simulator import SimulatedSession, simulate
from hipscope.base import tasks as task_registry
from hipscope.base.errors import HipscopeError, RecordingError
from hipscope.cli import main
from hipscope.processing.angle_export import COLUMNS
from hipscope.processing.pipeline import analyze_file

RATE_HZ = 50.0
pytestmark = pytest.mark.usefixtures("temp_qt_settings")


@pytest.fixture(scope="module")
def sim() -> SimulatedSession:
    return simulate(rate_hz=RATE_HZ, seed=3)


@pytest.fixture(scope="module")
def no_rows_file(sim: SimulatedSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated screen written without task rows (a recording from another tool)."""
    return dataclasses.replace(sim, tasks=[]).write(tmp_path_factory.mktemp("rv") / "none.h5")


@pytest.fixture(scope="module")
def rows_file(sim: SimulatedSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sim.write(tmp_path_factory.mktemp("rv") / "rows.h5")


def _copy(path: Path, folder: Path, name: str = "session.h5") -> Path:
    out = folder / name
    shutil.copyfile(path, out)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open_review(qtbot, path: Path):  # type: ignore[no-untyped-def]
    from hipscope.gui.replay import ReplaySource, ReplayWindow
    from hipscope.gui.review import attach_review

    window = ReplayWindow(ReplaySource(path))
    window.remember_layout = False
    qtbot.addWidget(window)
    panel = attach_review(window, wait=True)
    return window, panel


def _index(reviews, kind: str) -> int:  # type: ignore[no-untyped-def]
    return next(i for i, r in enumerate(reviews) if r.found.kind == kind)


def test_relabel_delete_accept_save_and_reanalyse(
    qtbot, no_rows_file: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import QtCore

    from hipscope.gui.task_review import ACCEPTED, DELETED, TO_REVIEW

    path = _copy(no_rows_file, tmp_path)
    before = load_recording(path)
    window, panel = _open_review(qtbot, path)
    detected = panel.detected
    reviews = detected.reviews
    kinds = [r.found.kind for r in reviews]
    assert {"static", "single_leg_stance", "hip_hinge", "gait"} <= set(kinds)
    assert panel.tabs.isTabVisible(panel.detected_tab)
    assert panel.tabs.currentIndex() == panel.detected_tab
    assert all(r.decision == TO_REVIEW for r in reviews)
    # visibly distinct on the timeline: hatched, dashed, "detected NN %"; no solid row yet
    assert len(window.timeline.marks) == len(reviews) and window.timeline.regions == []
    brush = window.timeline.marks[0].brush
    assert brush.style() == QtCore.Qt.BrushStyle.BDiagPattern
    texts = [m.text for m in detected.marks()]
    assert all("detected" in t and t.endswith("%") for t in texts)
    assert panel.tasks_table.item(0, 0).text().endswith("%")  # "… · detected 74 %"
    stance = reviews[_index(reviews, "single_leg_stance")].found
    window.seek(0.5 * (stance.start_s + stance.end_s))  # the replay's task metrics follow it
    assert window.running_task(window.position_s)[:2] == (stance.kind, stance.side)

    # relabel the hinge as a squat through its combo box (choices from the task registry)
    hinge = _index(reviews, "hip_hinge")
    box = detected.label_box(hinge)
    labels = [box.itemData(i) for i in range(box.count())]
    assert ("squat", "") in labels and ("single_leg_stance", "left") in labels
    assert {k for k, _ in labels} == set(task_registry.kind_names())
    box.setCurrentIndex(labels.index(("squat", "")))
    assert reviews[hinge].decision == ACCEPTED and reviews[hinge].relabelled
    assert "relabelled" in detected.marks()[hinge].text
    # delete the walk through its decision box, accept the rest with the button
    gait = _index(reviews, "gait")
    detected.decision_box(gait).setCurrentText(DELETED)
    walk = reviews[gait].found
    assert window.source.task_at(0.5 * (walk.start_s + walk.end_s)) is None
    assert window.timeline.marks[gait].brush.color().name() != brush.color().name()  # grey
    qtbot.mouseClick(detected.accept_rest_button, QtCore.Qt.MouseButton.LeftButton)
    assert detected.counts() == {TO_REVIEW: 0, ACCEPTED: len(reviews) - 1, DELETED: 1}
    expected = [
        Task(
            "squat" if i == hinge else r.found.kind,
            r.found.side,
            r.found.start_s,
            r.found.end_s,
            "detected_relabelled" if i == hinge else "detected",
        )
        for i, r in enumerate(reviews)
        if i != gait
    ]

    qtbot.mouseClick(detected.save_button, QtCore.Qt.MouseButton.LeftButton)
    message = window.status.currentMessage()
    assert message.startswith(f"Saved {len(expected)} task row(s) into session.h5")
    assert "1 relabelled" in message

    after = load_recording(path)
    assert after.tasks == tuple(expected)
    for placement, sensor in before.sensors.items():  # the samples are untouched
        saved = after.sensors[placement].samples
        assert np.array_equal(saved.time_s, sensor.samples.time_s)
        assert np.array_equal(saved.acc_m_s2, sensor.samples.acc_m_s2)
    assert after.session_id == before.session_id
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left

    # the window shows the saved rows as rows and re-analysed them: sources in the JSON
    assert len(window.timeline.regions) == len(expected) and window.timeline.marks == []
    assert not panel.tabs.isTabVisible(panel.detected_tab)
    assert panel.tabs.currentIndex() == 0  # back on "Left vs right"
    sources = [t["source"] for t in panel.doc["tasks"]]
    assert sources == [t.source for t in expected]
    assert panel.doc.get("task_detection") is None
    assert all(t["confidence"] is None for t in panel.doc["tasks"])
    assert "detected, relabelled" in panel.tasks_table.item(hinge, 0).text()
    doc = analyze_file(path)  # re-analysis outside the window reads the same rows
    assert [(t["kind"], t["source"]) for t in doc["tasks"]] == [
        (t.kind, t.source) for t in expected
    ]
    window.close()


def test_read_only_file_gives_one_line_and_stays_byte_identical(  # type: ignore[no-untyped-def]
    qtbot, no_rows_file: Path, tmp_path: Path
) -> None:
    path = _copy(no_rows_file, tmp_path)
    window, panel = _open_review(qtbot, path)
    from PySide6 import QtCore

    detected = panel.detected
    detected.table.selectRow(0)  # the keys of the coach guide: A accepts, Del deletes
    qtbot.keyClick(detected.table, QtCore.Qt.Key.Key_A)
    detected.table.selectRow(1)
    qtbot.keyClick(detected.table, QtCore.Qt.Key.Key_Delete)
    assert [r.decision for r in detected.reviews[:2]] == ["accepted", "deleted"]
    path.chmod(0o444)
    digest = _digest(path)
    try:
        panel.detected.accept_rest()
        assert panel.detected.save() is None
    finally:
        path.chmod(0o644)
    message = window.status.currentMessage()
    assert message.startswith("Save failed: ") and "read-only" in message
    assert "\n" not in message
    assert _digest(path) == digest
    assert load_recording(path).tasks == ()
    assert detected.counts()["accepted"] == len(detected.reviews) - 1  # kept to retry
    window.close()


def test_a_save_failing_midway_leaves_the_file_and_no_temporary(
    monkeypatch: pytest.MonkeyPatch, rows_file: Path, tmp_path: Path
) -> None:
    path = _copy(rows_file, tmp_path)
    digest = _digest(path)
    real = recorder_module._append_task_rows

    def fail_half_way(file: h5py.File, tasks: list[Task]) -> None:
        real(file, tasks[:1])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recorder_module, "_append_task_rows", fail_half_way)
    with pytest.raises(RecordingError, match=r"No space left on device.*file unchanged"):
        add_task_rows(path, [Task("squat", "", 10.0, 20.0, "detected")] * 2)
    assert _digest(path) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.h5"]


@pytest.fixture
def small_disk(tmp_path: Path, no_rows_file: Path) -> Iterator[Path]:
    """A tmpfs just large enough for the recording (needs root and mount; else skipped)."""
    size_kb = no_rows_file.stat().st_size // 1024 + 64
    with small_tmpfs(tmp_path / "small", size_kb) as mount_point:
        yield mount_point


def test_full_disk_refused_in_one_line_file_unchanged(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch: pytest.MonkeyPatch, small_disk: Path, no_rows_file: Path
) -> None:
    path = _copy(no_rows_file, small_disk)
    digest = _digest(path)
    window, panel = _open_review(qtbot, path)
    panel.detected.accept_rest()
    assert panel.detected.save() is None
    message = window.status.currentMessage()
    assert message.startswith("Save failed: ") and "disk full" in message
    assert _digest(path) == digest
    # without the free-space check the copy itself runs out of space half-way
    monkeypatch.setattr(
        recorder_module.shutil, "disk_usage", lambda _p: shutil._ntuple_diskusage(1, 0, 1 << 40)
    )
    assert panel.detected.save() is None
    assert "No space left on device" in window.status.currentMessage()
    assert _digest(path) == digest
    assert sorted(p.name for p in small_disk.iterdir()) == ["session.h5"]
    window.close()


def test_saved_rows_follow_the_recorded_rows_which_stay_as_they_were(
    rows_file: Path, tmp_path: Path
) -> None:
    path = _copy(rows_file, tmp_path)
    recorded = load_recording(path).tasks
    assert recorded and all(t.source == "recorded" for t in recorded)
    with h5py.File(path) as f:
        old = {name: f["tasks"][name][()] for name in ("kind", "side", "start_s", "end_s")}
    extra = [
        Task("squat", "", 40.0, 45.0, "detected"),
        Task("single_leg_stance", "right", 50.0, 52.0, "detected_relabelled"),
    ]
    add_task_rows(path, extra)
    assert load_recording(path).tasks == (*recorded, *extra)
    with h5py.File(path) as f:
        for name, values in old.items():
            assert np.array_equal(f["tasks"][name][: len(values)], values)
    doc = analyze_file(path)
    assert [t["source"] for t in doc["tasks"]] == ["recorded"] * len(recorded) + [
        "detected",
        "detected_relabelled",
    ]


def _old_file(path: Path) -> Path:
    """A recording as hipscope wrote it before the task-source column existed."""
    with Recorder(path, [SensorMeta("pelvis", nominal_rate_hz=100.0)]) as rec:
        rec.append(
            "pelvis",
            SampleBatch(
                time_s=np.arange(300) / 100.0,
                acc_m_s2=np.tile([0.0, 0.0, 9.81], (300, 1)),
                gyr_rad_s=np.zeros((300, 3)),
            ),
        )
        rec.add_task(Task("static", "", 0.0, 1.0))
        rec.add_task(Task("single_leg_stance", "left", 1.0, 2.5))
    with h5py.File(path, "r+") as f:
        del f["tasks"]["source"]
    return path


def test_a_file_without_the_source_column_reads_as_recorded(tmp_path: Path) -> None:
    path = _old_file(tmp_path / "old.h5")
    tasks = load_recording(path).tasks
    assert [t.source for t in tasks] == ["recorded", "recorded"]
    add_task_rows(path, [Task("squat", "", 2.5, 2.9, "detected")])
    with h5py.File(path) as f:
        assert [s.decode() for s in f["tasks"]["source"][()]] == [
            "recorded",
            "recorded",
            "detected",
        ]
    assert load_recording(path).tasks == (*tasks, Task("squat", "", 2.5, 2.9, "detected"))


def test_recorder_writes_the_source_and_the_reader_checks_it(tmp_path: Path) -> None:
    path = _old_file(tmp_path / "old.h5")
    with h5py.File(path, "r+") as f:
        f["tasks"].create_dataset("source", data=[b"recorded"])  # shorter: rows appended
    assert [t.source for t in load_recording(path).tasks] == ["recorded", "recorded"]
    with h5py.File(path, "r+") as f:
        del f["tasks"]["source"]
        f["tasks"].create_dataset("source", data=[b"", b"guessed"])
    with pytest.raises(RecordingError) as error:
        load_recording(path)
    assert "/tasks row 1: task source 'guessed' must be one of" in str(error.value)
    assert "\n" not in str(error.value)
    with pytest.raises(HipscopeError, match="task source"):
        Task("static", "", 0.0, 1.0, "imported")
    out = tmp_path / "new.h5"
    with Recorder(out, [SensorMeta("pelvis")]) as rec:
        rec.add_task(Task("squat", "", 0.0, 1.0, "detected"))
        rec.start_task("static", "", 1.0)
        assert rec.open_task == ("static", "", 1.0)
        assert rec.end_task(2.0) == Task("static", "", 1.0, 2.0, "recorded")
    with h5py.File(out) as f:
        assert [s.decode() for s in f["tasks"]["source"][()]] == ["detected", "recorded"]


def test_angle_export_from_the_window(qtbot, rows_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window, panel = _open_review(qtbot, rows_file)
    assert panel.angles_button.isEnabled()
    assert not panel.tabs.isTabVisible(panel.detected_tab)  # recorded rows: nothing to review
    out = tmp_path / "angles.csv"
    assert panel.save_angles(out)
    assert window.status.currentMessage().startswith("Angles saved: angles.csv (")
    with out.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["time_s", *(c.csv_name for c in COLUMNS)]
    # the same code path as `hipscope angles`: byte for byte the same file
    assert main(["angles", str(rows_file), "--out", str(tmp_path / "cli.csv")]) == 0
    assert out.read_bytes() == (tmp_path / "cli.csv").read_bytes()
    assert panel.save_angles(tmp_path / "angles.mot")
    assert "inDegrees=yes" in (tmp_path / "angles.mot").read_text()
    assert not panel.save_angles(tmp_path / "angles.txt")
    message = window.status.currentMessage()
    assert message.startswith("Angle export failed: ") and ".csv or .mot" in message
    assert not (tmp_path / "angles.txt").exists()
    window.close()


def test_analyze_save_tasks(no_rows_file: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _copy(no_rows_file, tmp_path)
    assert main(["analyze", str(path), "--save-tasks", "--json", str(tmp_path / "a.json")]) == 0
    detected = json.loads((tmp_path / "a.json").read_text())["tasks"]
    saved = load_recording(path).tasks
    assert [(t.kind, t.side, t.source) for t in saved] == [
        (t["kind"], t["side"], "detected") for t in detected
    ]
    capsys.readouterr()
    assert main(["analyze", str(path), "--save-tasks"]) == 1
    assert "already has" in capsys.readouterr().err
    assert main(["analyze", str(path), "--json", str(tmp_path / "b.json")]) == 0
    again = json.loads((tmp_path / "b.json").read_text())
    assert again.get("task_detection") is None
    assert {t["source"] for t in again["tasks"]} == {"detected"}


def test_screenshot_of_detected_tasks(qtbot, no_rows_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window, _panel = _open_review(qtbot, no_rows_file)
    out = window.screenshot(tmp_path / "review.png")
    assert out.stat().st_size > 10_000
    if os.environ.get("HIPSCOPE_KEEP_SCREENSHOT"):
        shutil.copyfile(out, os.environ["HIPSCOPE_KEEP_SCREENSHOT"])
    window.close()
