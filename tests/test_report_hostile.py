"""Hostile names through the whole chain: recording -> pipeline -> HTML report and CSV tables."""

from __future__ import annotations

import csv
import dataclasses
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hipscope.acquisition.simulator import simulate
from hipscope.processing.exports import write_csv_tables
from hipscope.processing.pipeline import SessionAnalysis, analyze_recording
from hipscope.processing.report.html import render_report

NAMES = [
    "<script>alert(1)</script>",
    '=HYPERLINK("http://example.invalid","click"), "quoted"',
    "Line one\nline two; O'Brien & Søn",
    "李小龙 Жанна ليلى " + "x" * 300,
]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> SessionAnalysis:
    path = tmp_path_factory.mktemp("hostile") / "screen.h5"
    simulate(seed=6).write(path, athlete="placeholder", session_id="s<1>")
    return analyze_recording(path)


@pytest.mark.parametrize("name", NAMES)
def test_hostile_names_in_html_and_csv(base: SessionAnalysis, tmp_path: Path, name: str) -> None:
    # as if the athlete had been recorded under this name
    recording = dataclasses.replace(base.recording, athlete=name)
    analysis = SessionAnalysis(recording, base.kinematics, base.tasks)
    page = _Page()
    page.feed(render_report(analysis))
    assert "script" not in page.tags
    assert name in "".join(page.text)

    tables = write_csv_tables(analysis, tmp_path / "csv")
    assert tables
    for table in tables:
        with table.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            athlete = row["athlete"]
            # the value survives quoting intact; a leading "=" is neutralised for spreadsheets
            assert athlete in (name, "'" + name)
            assert not athlete.startswith(("=", "+", "-", "@"))
