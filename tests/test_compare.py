"""Session history: sessions sorted by date, trends, MDC marks, JSON and recording inputs."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from hipscope.base.errors import HipscopeError
from hipscope.cli import main
from hipscope.processing.report.compare import (
    load_session,
    render_comparison,
    summarize,
    write_comparison,
)

FIXTURE = Path(__file__).parent / "data" / "report" / "metrics_example.json"


def _session(
    date: str, drop_left: float, drop_right: float, lead_ms: float, athlete: str = "Jane Doe"
) -> dict[str, Any]:
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    doc["recording"]["created_utc"] = f"{date}T10:00:00+00:00"
    doc["recording"]["athlete"] = athlete
    for task in doc["tasks"]:
        if task["kind"] == "single_leg_stance":
            task["metrics"]["pelvic_drop_peak_deg"] = (
                drop_left if task["side"] == "left" else drop_right
            )
        if task["kind"] == "hip_hinge":
            task["metrics"]["hip_lead_ms_median"] = lead_ms
    return doc


def test_summary_picks_the_trend_values() -> None:
    summary = summarize(_session("2026-01-05", 3.0, 7.0, 45.0), "a.json")
    assert summary.values["pelvic_drop_peak_deg:left"] == 3.0
    assert summary.values["pelvic_drop_peak_deg:right"] == 7.0
    assert summary.values["hip_lead_ms_median:hip_hinge"] == 45.0
    assert "hip_lead_ms_median:squat" not in summary.values


def test_sessions_are_sorted_by_date_and_big_changes_marked() -> None:
    sessions = [
        summarize(_session("2026-03-01", 3.0, 4.0, 50.0), "march.json"),
        summarize(_session("2026-01-01", 3.5, 9.5, -30.0), "january.json"),
        summarize(_session("2026-02-01", 3.2, 8.0, 10.0), "february.json"),
    ]
    html = render_comparison(sessions)
    listing = html[html.index("<h2>Sessions</h2>") :]
    assert listing.index("01 Jan 2026") < listing.index("01 Feb 2026") < listing.index("01 Mar")
    assert listing.index("january.json") < listing.index("march.json")
    # right drop 9.5 -> 8.0 -> 4.0: the change is shown, never coloured (no verified norm)
    assert re.search(r'class="num"><b>−5\.5', html)
    assert "asym watch" not in html
    assert "No published norm — compare sides and sessions." in html
    assert "DiMattia" not in html and "minimal detectable change" not in html
    assert html.count("<svg") >= 2


def test_mixed_athletes_are_flagged_and_escaped() -> None:
    sessions = [
        summarize(_session("2026-01-01", 3.0, 4.0, 5.0, athlete="<i>A</i>"), "a.json"),
        summarize(_session("2026-01-02", 3.0, 4.0, 5.0, athlete="B"), "b.json"),
    ]
    html = render_comparison(sessions)
    assert "different athletes" in html
    assert "<i>A</i>" not in html and "&lt;i&gt;A&lt;/i&gt;" in html


def test_inputs_json_and_recordings(tmp_path: Path) -> None:
    first = tmp_path / "one.json"
    first.write_text(json.dumps(_session("2026-01-01", 3.0, 4.0, 5.0)))
    recording = tmp_path / "two.h5"
    recording.write_bytes(b"stand-in: analysed by the injected function")
    seen: list[Path] = []

    def fake_analyze(path: Path) -> dict[str, Any]:
        seen.append(path)
        return _session("2026-02-01", 2.0, 3.0, 40.0)

    out = write_comparison([first, recording], tmp_path / "cmp.html", analyze=fake_analyze)
    assert seen == [recording]
    assert "01 Feb 2026" in out.read_text(encoding="utf-8")
    table = tmp_path / "x.csv"
    table.write_text("a,b\n")
    with pytest.raises(HipscopeError, match=r"x\.csv"):
        load_session(table)
    with pytest.raises(HipscopeError, match="no such file"):
        load_session(tmp_path / "missing.json")
    with pytest.raises(HipscopeError, match="at least one"):
        render_comparison([])


def test_compare_command(tmp_path: Path) -> None:
    paths = []
    for i, date in enumerate(("2026-01-01", "2026-02-01")):
        path = tmp_path / f"s{i}.json"
        path.write_text(json.dumps(_session(date, 3.0 + i, 6.0 - i, 10.0 * i)))
        paths.append(str(path))
    out = tmp_path / "history.html"
    assert main(["compare", *paths, "--out", str(out)]) == 0
    assert "Jane Doe" in out.read_text(encoding="utf-8")
    assert main(["compare", str(tmp_path / "nope.json"), "--out", str(out)]) == 1


def test_report_command_on_metrics_json(tmp_path: Path) -> None:
    doc = copy.deepcopy(_session("2026-01-01", 3.0, 4.0, 5.0))
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    assert main(["report", str(path), "--athlete", "Ana"]) == 0
    assert "Ana" in (tmp_path / "m.html").read_text(encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("x")
    assert main(["report", str(bad)]) == 1


def test_pdf_without_chromium_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_session("2026-01-01", 3.0, 4.0, 5.0)))
    monkeypatch.setenv("HIPSCOPE_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert main(["report", str(path), "--pdf"]) == 1
    assert "Chromium not found" in capsys.readouterr().err
    assert (tmp_path / "m.html").exists()  # the HTML report is still there


def test_compare_a_recording_with_a_metrics_file(tmp_path: Path) -> None:
    from hipscope.acquisition.simulator import simulate

    recording = tmp_path / "today.h5"
    simulate(seed=8).write(recording, athlete="Jane Doe")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_session("2020-01-01", 3.0, 12.0, -40.0)))
    out = tmp_path / "history.html"
    assert main(["compare", str(recording), str(old), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    listing = html[html.index("<h2>Sessions</h2>") :]
    assert listing.index("old.json") < listing.index("today.h5")
    # a big change (12° -> ~7°) is shown but not coloured: no verified norm for it
    assert "asym watch" not in html


def test_many_sessions_keep_the_date_axis_readable() -> None:
    sessions = [
        summarize(_session(f"2026-01-{day:02d}", 3.0, 4.0 + day / 10, 5.0), f"{day}.json")
        for day in range(1, 21)
    ]
    html = render_comparison(sessions)
    chart = html[html.index("<svg") : html.index("</svg>")]
    labels = re.findall(r">(\d\d Jan 2026)</text>", chart)
    assert 3 <= len(labels) <= 7
    assert labels[-1] == "20 Jan 2026"
