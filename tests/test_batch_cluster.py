"""`hipscope batch` on a real distributed.LocalCluster (2 worker processes at most).

Simulated recordings plus a corrupt and a foreign file; the table must equal the per-file
analysis run in this process, failures must cost only their file (also a worker that dies),
re-runs must skip unchanged files and resume after an interruption.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import cloudpickle
import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

import hipscope.cli
from hipscope.acquisition.simulator import (
    GaitSpec,
    RepetitionSpec,
    SingleLegStanceSpec,
    StaticSpec,
    simulate,
)
from hipscope.processing.batch import run_batch, task_rows
from hipscope.processing.batch.trends import athlete_sessions
from hipscope.processing.pipeline import analyze_file
from hipscope.processing.report.compare import summarize

pytestmark = pytest.mark.timeout(120)

ANN = 'Ann <b>"&amp;'
DATES = {"ann_jan": "2026-01-05T09:00:00+00:00", "ann_feb": "2026-02-05T09:00:00+00:00"}
DATES["ann_mar"] = "2026-03-05T09:00:00+00:00"
DROPS_DEG = {"ann_jan": 3.0, "ann_feb": 6.0, "ann_mar": 9.0}


def _protocol(drop_deg: float = 5.0) -> list[Any]:
    return [
        StaticSpec(duration_s=3.0),
        SingleLegStanceSpec("left", hold_s=3.0, pelvic_drop_deg=drop_deg),
        SingleLegStanceSpec("right", hold_s=3.0),
        RepetitionSpec(reps=2),
        GaitSpec(duration_s=12.0),  # >= 8 steps per side: the step-time SI is reported
    ]


def _record(
    path: Path, *, seed: int, athlete: str, drop_deg: float = 5.0, created: str = ""
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    simulate(_protocol(drop_deg), seed=seed).write(path, athlete=athlete)
    if created:
        with h5py.File(path, "r+") as f:
            f.attrs["created_utc"] = created
    return path


def _bad_files(folder: Path) -> tuple[Path, Path]:
    corrupt = folder / "corrupt.h5"
    corrupt.write_bytes(np.random.default_rng(1).bytes(20_000))
    foreign = folder / "other" / "foreign.hdf5"
    foreign.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(foreign, "w") as f:
        f["signal"] = np.arange(100.0)
        f.attrs["format"] = "someone-else"
    return corrupt, foreign


def _by_path(table_path: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in pq.read_table(table_path).to_pylist():
        out.setdefault(row["path"], []).append(row)
    return out


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("batch")
    lib = root / "library"
    good = {
        name: _record(
            lib / "ann" / f"{name}.h5",
            seed=i,
            athlete=ANN,
            drop_deg=DROPS_DEG[name],
            created=DATES[name],
        )
        for i, name in enumerate(DATES)
    }
    good["bob"] = _record(lib / "bob" / "bob.h5", seed=7, athlete="Bob")
    corrupt, foreign = _bad_files(lib)
    out = root / "out" / "lib.parquet"
    summary = run_batch([lib], out, csv_path=root / "out" / "lib.csv", n_workers=2)
    return {
        "root": root,
        "lib": lib,
        "good": good,
        "bad": (corrupt, foreign),
        "out": out,
        "summary": summary,
    }


def test_table_holds_every_good_task_as_analysed_in_process(library: dict[str, Any]) -> None:
    summary = library["summary"]
    assert (summary.n_files, summary.n_analysed, summary.n_skipped) == (6, 6, 0)
    assert summary.n_workers == 2
    rows = _by_path(library["out"])
    assert set(rows) == {str(p.resolve()) for p in library["good"].values()}
    n_rows = 0
    for path in library["good"].values():
        reference = task_rows(analyze_file(path))
        got = rows[str(path.resolve())]
        assert len(got) == len(reference)
        for table_row, ref_row in zip(got, reference, strict=True):
            for key, value in ref_row.items():
                assert table_row[key] == value, (path.name, key)
            assert table_row["file_name"] == path.name
            assert table_row["software"].startswith("hipscope ")
            assert len(table_row["content_hash"]) == 32
        n_rows += len(reference)
    assert summary.n_rows == n_rows
    import pandas as pd

    assert len(pd.read_csv(summary.csv_path)) == n_rows


def test_bad_files_land_in_the_errors_table(library: dict[str, Any]) -> None:
    errors = pq.read_table(library["summary"].errors_path).to_pylist()
    assert sorted(e["path"] for e in errors) == sorted(str(p.resolve()) for p in library["bad"])
    for error in errors:
        assert error["error_type"] == "RecordingError"
        assert error["error"].startswith(error["path"]) and "\n" not in error["error"]
    foreign = next(e for e in errors if e["file_name"] == "foreign.hdf5")
    assert "not a hipscope recording" in foreign["error"]


def test_rerun_through_the_cli_skips_everything(
    library: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    parts = sorted(library["out"].with_suffix("").parent.glob("lib.parts/*.json"))
    assert len(parts) == 6
    stamps = [p.stat().st_mtime_ns for p in parts]
    before = pq.read_table(library["out"])
    code = hipscope.cli.main(["batch", str(library["lib"]), "--out", str(library["out"])])
    assert code == 0
    text = capsys.readouterr().out
    assert "0 analysed" in text and "6 unchanged" in text and "2 in the errors table" in text
    assert "--retry-errors" in text  # the kept failures are pointed out
    assert [p.stat().st_mtime_ns for p in parts] == stamps
    assert pq.read_table(library["out"]).equals(before)


def test_trends_page_from_the_table(library: dict[str, Any], tmp_path: Path) -> None:
    name, sessions = athlete_sessions(library["out"], 'ann <B>"&amp;')  # case-insensitive
    assert name == ANN
    assert [s.created_utc for s in sessions] == sorted(DATES.values())
    for session in sessions:  # the same trend values as the report's own path
        assert session.values == summarize(analyze_file(session.source), session.source).values
    drops = [s.values["pelvic_drop_mean_deg:left"] for s in sessions]
    assert drops == pytest.approx([DROPS_DEG[k] for k in DATES], abs=1.0)

    html_path = tmp_path / "trends.html"
    code = hipscope.cli.main(
        ["trends", str(library["out"]), "--athlete", ANN, "--out", str(html_path)]
    )
    assert code == 0
    html = html_path.read_text()
    assert ANN not in html and "Ann &lt;b&gt;&#34;&amp;amp;" in html  # markupsafe: " -> &#34;
    assert html.count("<svg") >= 3 and "<script" not in html.lower()
    assert hipscope.cli.main(["trends", str(library["out"]), "--out", str(html_path)]) == 1


def _dying_analyze(path: Path) -> dict[str, Any]:
    """Analysis that kills its worker process on files named die*.h5 (a segfault stand-in)."""
    if path.name.startswith("die"):
        os._exit(13)
    from hipscope.processing.pipeline import analyze_file

    return analyze_file(path)


def test_a_dying_worker_costs_only_its_file(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    good = [_record(lib / f"g{i}.h5", seed=20 + i, athlete="C") for i in range(3)]
    _record(lib / "die.h5", seed=29, athlete="C")  # own content: equal files are analysed once
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        summary = run_batch([lib], tmp_path / "t.parquet", n_workers=2, analyze=_dying_analyze)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert summary.n_analysed == 4 and summary.n_failed == 1
    (error,) = pq.read_table(summary.errors_path).to_pylist()
    assert error["file_name"] == "die.h5" and error["error_type"] == "KilledWorker"
    assert set(_by_path(summary.table_path)) == {str(p.resolve()) for p in good}

    retried = run_batch([lib], tmp_path / "t.parquet", n_workers=1, retry_errors=True)
    assert (retried.n_analysed, retried.n_skipped, retried.n_failed) == (1, 3, 0)
    assert len(_by_path(retried.table_path)) == 4


class _InterruptAfterFirst:
    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, path: Path, status: str) -> None:
        if status == "ok":
            raise KeyboardInterrupt


def test_interrupted_run_resumes_and_changed_files_are_reanalysed(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    files = [_record(lib / f"r{i}.h5", seed=30 + i, athlete="D") for i in range(3)]
    out = tmp_path / "t.parquet"
    with pytest.raises(KeyboardInterrupt):
        run_batch([lib], out, n_workers=1, progress=_InterruptAfterFirst())
    assert not out.exists() and len(list(tmp_path.glob("t.parts/*.json"))) >= 1
    resumed = run_batch([lib], out, n_workers=1)
    assert resumed.n_skipped >= 1 and resumed.n_analysed == 3 - resumed.n_skipped
    assert set(_by_path(out)) == {str(p.resolve()) for p in files}

    files[1].unlink()
    _record(files[1], seed=99, athlete="D")  # new content at the same path
    changed = run_batch([lib], out, n_workers=1)
    assert (changed.n_analysed, changed.n_skipped) == (1, 2)
    rows = _by_path(out)[str(files[1].resolve())]
    assert rows[0]["content_hash"] != _by_path(out)[str(files[0].resolve())][0]["content_hash"]
    assert rows[0]["session_id"] == analyze_file(files[1])["recording"]["session_id"]
