"""`hipscope demo` end to end: virtual kit -> BLE -> recording -> analysis -> JSON, CSV, HTML."""

from __future__ import annotations

import csv
import importlib.util
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from acquisition.errors import HipscopeError
from acquisition.recording import load_recording
from hipscope.cli import main
from hipscope.commands.demo import default_folder, run_demo

TEST_SPEED = 12.0  # the ~92 s protocol streams in ~8 s


def _reject_nan(token: str) -> Any:
    raise ValueError(f"non-JSON number {token} in metrics")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@pytest.mark.timeout(120)
def test_demo_end_to_end(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    paths = run_demo(tmp_path / "demo", speed=TEST_SPEED, console=console, athlete="Zoë <Demo>")
    output = console.export_text()

    recording = load_recording(paths["recording"])
    assert set(recording.sensors) == {"pelvis", "trunk", "thigh_left", "thigh_right"}
    kinds = [(t.kind, t.side) for t in recording.tasks]
    assert kinds == [
        ("static", ""),
        ("single_leg_stance", "left"),
        ("single_leg_stance", "right"),
        ("hip_hinge", ""),
        ("gait", ""),
    ]
    for sensor in recording.sensors.values():
        assert sensor.rate_hz == pytest.approx(100.0, rel=0.02)
        assert sensor.lost_samples == 0

    doc = json.loads(paths["json"].read_text(encoding="utf-8"), parse_constant=_reject_nan)
    assert doc["format"] == "hipscope-metrics" and doc["format_version"] == 1
    assert len(doc["tasks"]) == len(recording.tasks)
    stance = {t["side"]: t["metrics"] for t in doc["tasks"] if t["kind"] == "single_leg_stance"}
    # the simulated screen: 4° drop standing on the left, 7° on the right (simulator truth)
    assert stance["left"]["pelvic_drop_peak_deg"] == pytest.approx(4.0, abs=1.5)
    assert stance["right"]["pelvic_drop_peak_deg"] == pytest.approx(7.0, abs=1.5)
    gait = next(t["metrics"] for t in doc["tasks"] if t["kind"] == "gait")
    assert gait["step_time_left_s"] == pytest.approx(0.55, abs=0.02)
    assert gait["step_time_right_s"] == pytest.approx(0.58, abs=0.02)
    hinge = next(t["metrics"] for t in doc["tasks"] if t["kind"] == "hip_hinge")
    assert hinge["rep_count"] == 5
    assert 0 < hinge["hip_lead_ms_median"] < 160  # truth: hips lead by 80 ± 10 ms

    html = paths["report"].read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    assert "script" not in parser.tags
    assert parser.tags.count("svg") >= 8  # stance ×2, reps ×10, steps, bars
    assert "Zoë &lt;Demo&gt;" in html

    if importlib.util.find_spec("processing.exports") is not None:
        tables = sorted(paths["csv"].glob("*.csv"))
        assert tables
        for table in tables:
            with table.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
            assert len(rows) >= 2, table.name
            assert all(len(row) == len(rows[0]) for row in rows), table.name

    assert "Screen results" in output and "report" in output


def test_demo_refuses_to_overwrite_and_bad_speed(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "session.h5").write_bytes(b"")
    with pytest.raises(HipscopeError, match="already exists"):
        run_demo(folder, speed=TEST_SPEED)
    assert main(["demo", "--out", str(tmp_path / "x"), "--speed", "0"]) == 1


def test_default_folder_is_timestamped() -> None:
    from datetime import datetime

    folder = default_folder(datetime(2026, 11, 26, 9, 5, 7))
    assert folder == Path("recordings") / "demo-20261126-090507"
