"""`hipscope demo` end to end: virtual kit -> BLE -> recording -> analysis -> JSON, CSV, HTML."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hipscope.acquisition.recording import load_recording
from hipscope.base.cues import parse_rules
from hipscope.base.errors import HipscopeError
from hipscope.cli import main
from hipscope.commands.demo import default_folder, run_demo

TEST_SPEED = 6.0  # the ~92 s protocol streams in ~15 s


def _reject_nan(token: str) -> Any:
    raise ValueError(f"non-JSON number {token} in metrics")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_demo_end_to_end(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    rules = parse_rules(["pelvic_drop_deg>5", "pelvic_drop_deg>9"])
    paths = run_demo(
        tmp_path / "demo",
        speed=TEST_SPEED,
        console=console,
        athlete="Zoë <Demo>",
        cue_rules=rules,
    )
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
        assert sensor.lost_samples == 0

    doc = json.loads(paths["json"].read_text(encoding="utf-8"), parse_constant=_reject_nan)
    assert doc["format"] == "hipscope-metrics" and doc["format_version"] == 1
    assert len(doc["tasks"]) == len(recording.tasks)
    html = paths["report"].read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    assert "script" not in parser.tags
    assert parser.tags.count("svg") >= 8  # stance ×2, reps ×10, steps, bars
    assert "Zoë &lt;Demo&gt;" in html

    tables = sorted(paths["csv"].glob("*.csv"))
    assert len(tables) >= 4  # one per task kind at least
    for table in tables:
        with table.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert len(rows) >= 2, table.name
        assert all(len(row) == len(rows[0]) for row in rows), table.name

    assert "Screen results" in output and "report" in output

    # cues judged headless while streaming: the 7° drop standing on the right breaks the 5°
    # rule once (hysteresis); the 4° drop on the left and the 9° rule never break
    assert recording.cue_rules == ("pelvic_drop_deg>5", "pelvic_drop_deg>9")
    cues = [(c.rule, c.task_kind, c.task_side) for c in recording.cues]
    assert cues == [("pelvic_drop_deg>5", "single_leg_stance", "right")]
    right = next(t for t in recording.tasks if t.side == "right")
    assert right.start_s <= recording.cues[0].time_s <= right.end_s
    assert "cue at" in output and "Live cues" in html

    if "too busy" in " ".join(output.split()):
        # the session clock stretched under load (the demo said so); accuracy is not the
        # demo's to check then, the structure above is
        pytest.skip("machine too busy: session clock stretched, simulator truth not checked")
    for sensor in recording.sensors.values():
        assert sensor.rate_hz == pytest.approx(100.0, rel=0.02)
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


def test_demo_refuses_to_overwrite_and_bad_speed(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "session.h5").write_bytes(b"")
    with pytest.raises(HipscopeError, match="already exists"):
        run_demo(folder, speed=TEST_SPEED)
    assert main(["demo", "--out", str(tmp_path / "x"), "--speed", "0"]) == 1
    assert main(["demo", "--out", str(tmp_path / "y"), "--cue", "knee_valgus_deg>5"]) == 1
    assert not (tmp_path / "y").exists()


def test_default_folder_is_timestamped() -> None:
    from datetime import datetime

    folder = default_folder(datetime(2026, 11, 26, 9, 5, 7))
    assert folder == Path("recordings") / "demo-20261126-090507"


@pytest.mark.parametrize(("clock_scale", "warned"), [(1.0, False), (1.08, True)])
def test_a_stretched_session_clock_is_reported(
    tmp_path: Path, clock_scale: float, warned: bool
) -> None:
    """Samples whose session times run 8 % longer than their counters say get a warning."""
    import numpy as np

    from hipscope.acquisition.recorder import Recorder, SensorMeta
    from hipscope.acquisition.samples import SampleBatch
    from hipscope.commands.demo import _warn_on_timing

    path = tmp_path / "r.h5"
    n = 500
    seq = np.arange(n, dtype=np.uint32)
    batch = SampleBatch(
        time_s=seq * 0.01 * clock_scale,
        acc_m_s2=np.tile([0.0, 0.0, 9.81], (n, 1)),
        gyr_rad_s=np.zeros((n, 3)),
        seq=seq,
    )
    meta = SensorMeta("pelvis", nominal_rate_hz=100.0, has_seq=True)
    with Recorder(path, [meta]) as recorder:
        recorder.append("pelvis", batch)
    console = Console(record=True, width=200)
    _warn_on_timing(path, 30.0, console)
    assert ("too busy for --speed 30" in console.export_text()) is warned
