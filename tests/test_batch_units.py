"""Batch building blocks without a cluster: flattening, discovery, hashing, part store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hipscope.acquisition.simulator import (
    GaitSpec,
    RepetitionSpec,
    SingleLegStanceSpec,
    StaticSpec,
    simulate,
)
from hipscope.base.errors import HipscopeError, RecordingError
from hipscope.processing.batch.discover import discover_recordings
from hipscope.processing.batch.flatten import REPETITION_SUMMARIES, flatten_metrics, task_rows
from hipscope.processing.batch.run import analyze_task
from hipscope.processing.batch.store import (
    PartStore,
    TablePaths,
    content_hash,
    file_state,
    merge,
    write_table,
)
from hipscope.processing.pipeline import analyze_file

PROTOCOL = [
    StaticSpec(duration_s=3.0),
    SingleLegStanceSpec("left", hold_s=3.0, pelvic_drop_deg=6.0),
    RepetitionSpec(reps=3, hip_lead_ms=70.0, hip_lead_jitter_ms=25.0),
    GaitSpec(duration_s=8.0),
]


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("flat") / "s.h5"
    simulate(PROTOCOL, seed=5).write(path, athlete="Flat Athlete")
    return analyze_file(path)


def test_one_row_per_task_with_every_scalar_metric(doc: dict[str, Any]) -> None:
    rows = task_rows(doc)
    assert [r["kind"] for r in rows] == [t["kind"] for t in doc["tasks"]]
    assert [r["task_index"] for r in rows] == list(range(len(doc["tasks"])))
    for row, task in zip(rows, doc["tasks"], strict=True):
        assert row["athlete"] == "Flat Athlete"
        assert row["session_id"] == doc["recording"]["session_id"]
        assert row["created_date"] == doc["recording"]["created_utc"][:10]
        assert row["start_s"] == task["start_s"] and row["side"] == task["side"]
        for key, value in task["metrics"].items():
            if value is None or isinstance(value, str | int | float):
                assert row[key] == value, key
            else:
                assert key not in row  # lists are summarised or left to task_json
        assert json.loads(row["task_json"]) == {
            "metrics": task["metrics"],
            "unavailable": task["unavailable"],
        }
    assert rows[0]["placements"] == "pelvis,thigh_left,thigh_right,trunk"


def test_repetitions_summarised_like_numpy(doc: dict[str, Any]) -> None:
    task = next(t for t in doc["tasks"] if t["kind"] == "hip_hinge")
    row = next(r for r in task_rows(doc) if r["kind"] == "hip_hinge")
    reps = task["metrics"]["repetitions"]
    assert len(reps) == 3
    for field, stats in REPETITION_SUMMARIES.items():
        values = np.array([r[field] for r in reps if r.get(field) is not None], dtype=float)
        expected = {
            "mean": np.mean(values),
            "median": np.median(values),
            "sd": np.std(values, ddof=1),
            "min": np.min(values),
            "max": np.max(values),
        }
        for stat in stats:
            assert row[f"{field}_{stat}"] == pytest.approx(expected[stat], abs=1e-4)
    assert row["hip_lead_ms_median"] == task["metrics"]["hip_lead_ms_median"]


def test_flatten_edge_cases() -> None:
    flat = flatten_metrics(
        {
            "a_deg": 1.5,
            "gone": None,
            "nan": float("nan"),
            "label": "free thigh",
            "contacts_s": [1.0, 2.0],
            "nested": {"x": 1, "deep": {"y": 2}},
            "repetitions": [{"hip_lead_ms": 10.0}, {"hip_lead_ms": None}],
        }
    )
    assert flat["a_deg"] == 1.5 and flat["gone"] is None and flat["nan"] is None
    assert flat["label"] == "free thigh" and flat["nested_x"] == 1
    assert "contacts_s" not in flat and "nested_deep" not in flat
    assert flat["hip_lead_ms_mean"] == 10.0 and flat["hip_lead_ms_sd"] is None
    assert "peak_hip_ext_vel_deg_s_median" not in flat


def _contract_doc(athlete: str, created: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """A minimal document that passes the metrics contract."""
    return {
        "format": "hipscope-metrics",
        "format_version": 1,
        "software": "hipscope test",
        "recording": {
            "path": "s.h5",
            "file_name": "s.h5",
            "session_id": created[:10],
            "athlete": athlete,
            "created_utc": created,
            "duration_s": 60.0,
            "sensors": {},
        },
        "calibration": {"method": "static task"},
        "tasks": [{"start_s": 0.0, "end_s": 3.0, **task} for task in tasks],
    }


def test_recording_without_tasks_and_clashing_keys() -> None:
    (row,) = task_rows(_contract_doc("A", "2026-01-02T03:04:05+00:00", []))
    assert row["athlete"] == "A" and row["kind"] is None and row["task_index"] is None
    # a kind without its own metrics model may carry any scalar, even a clashing key
    lunge = {"kind": "lunge", "side": "", "metrics": {"kind": "x"}}
    (row,) = task_rows(_contract_doc("A", "2026-01-02T03:04:05+00:00", [lunge]))
    assert row["kind"] == "lunge" and row["metric_kind"] == "x"
    with pytest.raises(HipscopeError, match=r"tasks\[0\]\.metrics\.kind' is not a field"):
        task_rows(_contract_doc("A", "2026", [{**lunge, "kind": "static"}]))


def test_discover_files_folders_globs(tmp_path: Path) -> None:
    for name in ("a.h5", "sub/b.hdf5", "sub/deeper/c.H5", ".hidden/d.h5", "sub/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = discover_recordings([tmp_path])
    assert [p.name for p in found] == ["a.h5", "b.hdf5", "c.H5"]
    assert all(p.is_absolute() for p in found)
    assert discover_recordings([f"{tmp_path}/**/*.hdf5"]) == [(tmp_path / "sub/b.hdf5").resolve()]
    # a file named explicitly is taken whatever its suffix; duplicates collapse
    both = discover_recordings([tmp_path / "sub/notes.txt", tmp_path, tmp_path / "a.h5"])
    assert len(both) == 4
    with pytest.raises(HipscopeError, match="no such file or folder"):
        discover_recordings([tmp_path / "missing.h5"])
    with pytest.raises(HipscopeError, match="matches no file"):
        discover_recordings([f"{tmp_path}/*.nothing"])


def test_broken_symlinks_and_fifos_are_found_and_fail_visibly(tmp_path: Path) -> None:
    """Self-looping and dangling symlinks (and a FIFO, whose hash would block) are not
    skipped: they are discovered and get an error instead of a content hash."""
    (tmp_path / "good.h5").write_bytes(b"x")
    (tmp_path / "loop.h5").symlink_to("loop.h5")
    (tmp_path / "dangling.h5").symlink_to("gone.h5")
    os.mkfifo(tmp_path / "fifo.h5")
    found = discover_recordings([tmp_path])
    assert [p.name for p in found] == ["dangling.h5", "fifo.h5", "good.h5", "loop.h5"]
    states = {p.name: file_state(p, {}, rehash=False) for p in found}
    assert states["good.h5"].content_hash is not None
    assert "broken symlink (No such file or directory)" in str(states["dangling.h5"].error)
    assert "broken symlink (Too many levels of symbolic links)" in str(states["loop.h5"].error)
    assert str(states["fifo.h5"].error).endswith("fifo.h5: is not a regular file")
    # named one by one, too (a broken link used to abort the batch as "no such file")
    assert len(discover_recordings([tmp_path / "loop.h5", tmp_path / "dangling.h5"])) == 2


def test_batch_csv_guards_formulas_like_analyze_csv(tmp_path: Path) -> None:
    """One guard for every CSV: text cells starting = + - @ get an apostrophe; numbers stay."""
    import csv

    import pyarrow as pa

    from hipscope.processing.exports import spreadsheet_text

    table = pa.table(
        {
            "athlete": ['=HYPERLINK("http://evil.example","x")', "Jane", None],
            "session_id": ["=cmd|' /C calc'!A0", "@SUM(A1)", "-2+3"],
            "value": [-1.5, 2.0, 3.0],
        }
    )
    parquet, csv_path = tmp_path / "t.parquet", tmp_path / "t.csv"
    write_table(table, parquet, csv_path=csv_path)
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["athlete"] for r in rows] == ['\'=HYPERLINK("http://evil.example","x")', "Jane", ""]
    assert [r["session_id"] for r in rows] == ["'=cmd|' /C calc'!A0", "'@SUM(A1)", "'-2+3"]
    assert [r["value"] for r in rows] == ["-1.5", "2", "3"]
    assert spreadsheet_text("=1+1") == "'=1+1" and spreadsheet_text("a=1") == "a=1"
    # the Parquet table keeps the text exactly
    import pyarrow.parquet as pq

    assert pq.read_table(parquet).column("athlete").to_pylist()[0].startswith("=HYPERLINK")


@pytest.mark.skipif(shutil.which("b2sum") is None, reason="coreutils b2sum not installed")
def test_content_hash_matches_coreutils_b2sum(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(np.random.default_rng(0).bytes(3 * (1 << 20) + 17))  # spans chunks
    reference = subprocess.run(
        ["b2sum", "-l", "128", str(path)], check=True, capture_output=True, text=True
    ).stdout.split()[0]
    assert content_hash(path) == reference


def test_table_paths_and_part_store(tmp_path: Path) -> None:
    paths = TablePaths.for_table(tmp_path / "lib.parquet")
    assert paths.errors.name == "lib.errors.parquet" and paths.parts.name == "lib.parts"
    with pytest.raises(HipscopeError, match=r"must end in \.parquet"):
        TablePaths.for_table(tmp_path / "lib.csv")
    store = PartStore(paths.parts, "hipscope 1.2.3", "p1")
    assert store.get("ab" * 16) is None
    store.put("ab" * 16, {"status": "ok", "rows": [{"kind": "gait", "x": 1}]})
    assert store.get("ab" * 16)["rows"] == [{"kind": "gait", "x": 1}]
    assert PartStore(paths.parts, "hipscope 1.2.4", "p1").get("ab" * 16) is None  # other version
    assert PartStore(paths.parts, "hipscope 1.2.3", "p2").get("ab" * 16) is None  # other params
    store.path_for("cd" * 16).write_text("{broken")
    assert store.get("cd" * 16) is None  # a torn part only costs a re-analysis


def test_file_state_trusts_unchanged_stat_only(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    path.write_bytes(b"first")
    fresh = file_state(path, {}, rehash=False)
    assert fresh.content_hash == content_hash(path)
    stat = path.stat()
    known = {str(path): (stat.st_size, stat.st_mtime_ns, "cached")}
    assert file_state(path, known, rehash=False).content_hash == "cached"
    assert file_state(path, known, rehash=True).content_hash == fresh.content_hash
    path.write_bytes(b"second!")
    assert file_state(path, known, rehash=False).content_hash == content_hash(path)
    missing = file_state(tmp_path / "gone.h5", {}, rehash=False)
    assert missing.content_hash is None and "cannot read" in (missing.error or "")


def test_merge_mixed_types_and_errors(tmp_path: Path) -> None:
    store = PartStore(tmp_path / "parts", "hipscope 0", "p")
    a, b, c = (tmp_path / n for n in ("a.h5", "b.h5", "c.h5"))
    for p in (a, b, c):
        p.write_bytes(p.name.encode())
    states = [file_state(p, {}, rehash=False) for p in (a, b, c)]
    store.put(states[0].content_hash, {"status": "ok", "rows": [{"kind": "gait", "v": 1}]})
    store.put(states[1].content_hash, {"status": "ok", "rows": [{"kind": "gait", "v": "x"}]})
    store.put(states[2].content_hash, {"status": "error", "error_type": "E", "error": "bad"})
    results, errors = merge(states, store)
    assert results.num_rows == 2 and errors.num_rows == 1
    assert results.column("v").to_pylist() == ["1", "x"]  # mixed kinds fall back to text
    assert results.column_names[0] == "path"
    assert errors.to_pylist()[0]["error"] == f"{c}: bad"  # every error row names its file


def test_twin_bad_files_each_get_the_error_under_their_own_name(tmp_path: Path) -> None:
    """Byte-identical files share one cached part; its error must name the file it is
    reported for, also after the file it was found under is gone."""
    store = PartStore(tmp_path / "parts", "hipscope 0", "p")
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for p in (a, b):
        p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    states = [file_state(p, {}, rehash=False) for p in (a, b)]
    assert states[0].content_hash == states[1].content_hash
    part = analyze_task(str(a), _raise(RecordingError(a, "not an HDF5 file")))
    store.put(states[0].content_hash, part)
    _, errors = merge(states, store)
    assert [r["error"] for r in errors.to_pylist()] == [
        f"{a}: not an HDF5 file",
        f"{b}: not an HDF5 file",
    ]
    a.unlink()
    _, errors = merge([file_state(b, {}, rehash=False)], store)
    assert errors.to_pylist()[0]["error"] == f"{b}: not an HDF5 file"


class _Future:
    def __init__(self, value: object) -> None:
        self.value = value

    def result(self) -> object:
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


def _raise(error: Exception) -> Any:
    def analyze(path: Path) -> dict[str, Any]:
        raise error

    return analyze


def test_analyze_task_turns_failures_into_one_line_error_parts(tmp_path: Path) -> None:
    from hipscope.base.errors import RecordingError
    from hipscope.processing.batch.run import analyze_task

    missing = tmp_path / "missing.h5"
    part = analyze_task(str(missing))
    assert part["status"] == "error" and part["error_type"] == "RecordingError"
    assert part["error"].startswith(str(missing))
    part = analyze_task("x.h5", _raise(RecordingError("x.h5", "bad\nsecond line")))
    assert part["error"] == "x.h5: bad"
    part = analyze_task("y.h5", _raise(ZeroDivisionError("division by zero")))
    assert (part["error_type"], part["error"]) == (
        "ZeroDivisionError",
        "y.h5: ZeroDivisionError: division by zero",
    )


def test_outcome_of_dead_workers_and_other_versions() -> None:
    from distributed import KilledWorker

    from hipscope.processing.batch.run import _outcome

    ok = {"status": "ok", "rows": [], "worker_software": "hipscope 1"}
    assert _outcome(_Future(ok), Path("a.h5"), "hipscope 1") is ok
    other = _outcome(_Future(ok), Path("a.h5"), "hipscope 2")
    assert other["status"] == "error" and other["error_type"] == "VersionMismatch"
    killed = _outcome(_Future(KilledWorker("k", None, 0)), Path("b.h5"), "hipscope 1")
    assert killed["error_type"] == "KilledWorker" and killed["error"].startswith("b.h5: ")


def test_cli_refuses_bad_input_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hipscope.cli

    (tmp_path / "empty").mkdir()
    out = str(tmp_path / "t.parquet")
    cases = [
        (["batch", str(tmp_path / "empty"), "--out", out], "no recordings"),
        (["batch", str(tmp_path / "nothing"), "--out", out], "no such file or folder"),
        (["batch", str(tmp_path), "--out", str(tmp_path / "t.csv")], "must end in .parquet"),
        (["batch", str(tmp_path), "--out", out, "--workers", "0"], "at least 1"),
        (["trends", str(tmp_path / "missing.parquet")], "no such batch table"),
    ]
    for argv, message in cases:
        assert hipscope.cli.main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    not_batch = tmp_path / "other.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), not_batch)
    assert hipscope.cli.main(["trends", str(not_batch)]) == 1
    assert "not a hipscope batch table" in capsys.readouterr().err


def _fake_doc(athlete: str, created: str, drop_left_deg: float) -> dict[str, Any]:
    return _contract_doc(
        athlete,
        created,
        [
            {"kind": "static", "side": "", "metrics": {"duration_s": 3.0}, "unavailable": {}},
            {
                "kind": "single_leg_stance",
                "side": "left",
                "metrics": {"pelvic_drop_mean_deg": drop_left_deg, "pelvic_drop_peak_deg": 9.0},
                "unavailable": {},
            },
        ],
    )


def test_trends_from_a_table_latest_sessions_and_athlete_choice(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from hipscope.processing.batch.store import rows_table
    from hipscope.processing.batch.trends import athlete_sessions, write_trends
    from hipscope.processing.report.compare import summarize

    docs = [_fake_doc("Kim", f"2026-0{m}-01T08:00:00+00:00", float(m)) for m in (3, 1, 4, 2)] + [
        _fake_doc("Lee", "2026-05-01T08:00:00+00:00", 7.0)
    ]
    rows = []
    for i, doc in enumerate(docs):
        for row in task_rows(doc):
            rows.append({"path": f"/lib/s{i}.h5", "content_hash": f"{i:032x}", **row})
    table = tmp_path / "t.parquet"
    pq.write_table(rows_table(rows, ("path", "content_hash")), table)

    name, sessions = athlete_sessions(table, "kim")
    assert name == "Kim"
    assert [s.values["pelvic_drop_mean_deg:left"] for s in sessions] == [1.0, 2.0, 3.0, 4.0]
    assert sessions[0].values == summarize(docs[1], "").values  # the report's own summary
    out, shown, total = write_trends(table, tmp_path / "k.html", athlete="Kim", last=2)
    assert (shown, total) == (2, 4)
    html = out.read_text()
    assert "01 Apr 2026" in html and "01 Mar 2026" in html and "01 Jan 2026" not in html
    with pytest.raises(HipscopeError, match="holds 2 athletes"):
        write_trends(table, tmp_path / "x.html")
    with pytest.raises(HipscopeError, match="no sessions of athlete 'Max'"):
        write_trends(table, tmp_path / "x.html", athlete="Max")


def test_changed_parameters_reanalyse_and_equal_parameters_hit_the_cache(tmp_path: Path) -> None:
    """The parameters hash is part of each file's cache key (one local worker)."""
    from hipscope.processing.batch import run_batch
    from hipscope.processing.config import AnalysisConfig

    lib = tmp_path / "lib"
    lib.mkdir()
    simulate([StaticSpec(duration_s=2.0), RepetitionSpec(reps=2)], seed=3).write(lib / "a.h5")
    out = tmp_path / "t.parquet"
    strict = AnalysisConfig.from_parameters({"hip_drive": {"segmenter": {"min_range_deg": 500}}})

    def reps(summary: Any) -> list[Any]:
        import pyarrow.parquet as pq

        rows = pq.read_table(summary.table_path).to_pylist()
        return [r["rep_count"] for r in rows if r["kind"] == "hip_hinge"]

    first = run_batch([lib], out, n_workers=1)
    assert (first.n_analysed, first.n_skipped, reps(first)) == (1, 0, [2])
    same = run_batch([lib], out, n_workers=1, config=AnalysisConfig())
    assert (same.n_analysed, same.n_skipped, reps(same)) == (0, 1, [2])
    changed = run_batch([lib], out, n_workers=1, config=strict)
    assert (changed.n_analysed, changed.n_skipped, reps(changed)) == (1, 0, [0])
    again = run_batch([lib], out, n_workers=1, config=strict)
    assert (again.n_analysed, again.n_skipped, reps(again)) == (0, 1, [0])
    back = run_batch([lib], out, n_workers=1)  # the default parameters' part is still there
    assert (back.n_analysed, back.n_skipped, reps(back)) == (0, 1, [2])
    assert len(list((tmp_path / "t.parts").glob("*.json"))) == 2
