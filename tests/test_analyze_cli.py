"""`hipscope analyze` as a user runs it, and the CSV tables it writes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hipscope.acquisition.simulator import GaitSpec, SingleLegStanceSpec, StaticSpec, simulate
from hipscope.cli import main


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("analyze") / "short.h5"
    protocol = [
        StaticSpec(duration_s=4.0),
        SingleLegStanceSpec(side="left", hold_s=5.0),
        SingleLegStanceSpec(side="right", hold_s=5.0),
        GaitSpec(duration_s=12.0),
    ]
    # A name a spreadsheet would run as a formula, with a comma and a quote in it.
    simulate(protocol, seed=5).write(path, athlete='=HYPERLINK("x"), Zoë')
    return path


def test_analyze_writes_json_and_csv(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "out" / "metrics.json"
    out_csv = tmp_path / "tables"
    code = main(["analyze", str(recording), "--json", str(out_json), "--csv", str(out_csv)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "left vs right" in printed and "pelvic drop" in printed
    doc = json.loads(out_json.read_text())
    assert doc["format"] == "hipscope-metrics"
    assert [t["kind"] for t in doc["tasks"]] == [
        "static",
        "single_leg_stance",
        "single_leg_stance",
        "gait",
    ]
    names = sorted(p.name for p in out_csv.iterdir())
    assert names == [
        "short_angles.csv",
        "short_gait.csv",
        "short_gait_steps.csv",
        "short_single_leg_stance.csv",
        "short_static.csv",
    ]
    with (out_csv / "short_single_leg_stance.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["side"] for r in rows] == ["left", "right"]
    assert rows[0]["athlete"] == '\'=HYPERLINK("x"), Zoë'  # quoted, not a formula
    drop = float(rows[0]["pelvic_drop_mean_deg"])
    assert drop == pytest.approx(doc["tasks"][1]["metrics"]["pelvic_drop_mean_deg"])
    with (out_csv / "short_gait_steps.csv").open(encoding="utf-8-sig", newline="") as f:
        steps = list(csv.DictReader(f))
    n_contacts = sum(
        len(doc["tasks"][3]["metrics"][f"initial_contacts_{s}_s"]) for s in ("left", "right")
    )
    assert len(steps) == n_contacts
    assert {s["side"] for s in steps} == {"left", "right"}


def test_bad_input_is_one_red_line(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(tmp_path / "nope.h5")]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err
    bad = tmp_path / "bad.h5"
    bad.write_text("hello")
    assert main(["analyze", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.h5" in err and len(err.strip().splitlines()) == 1
    assert main(["analyze", str(recording), "--fusion", "kalman9000"]) == 1
    assert "kalman9000" in capsys.readouterr().err


def test_executable_help_and_exit_code(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("hipscope")
    done = subprocess.run(
        [str(exe), "analyze", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for option in ("--json", "--csv", "--fusion"):
        assert option in done.stdout
    done = subprocess.run(
        [str(exe), "analyze", str(tmp_path / "missing.h5")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
