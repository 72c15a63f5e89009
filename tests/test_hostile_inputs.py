"""Every command that reads files, run on hostile files (``tests/hostile_files.py``).

The contract: exit 0, or exit 1 with one line that names the file and the problem; never a
traceback (nor the one-line "internal error" of a bug, exit 70); no terminal escape from the
data on the screen; bounded time per read; memory bounded by a fixed base plus the data.

Cases that pass only once other parts of issue 11 are fixed are marked ``xfail`` with the
fix they need (``strict=False``: they turn green silently when it lands, then the mark can
go).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import hostile_files as hf
import pytest

from hipscope.base.text import visible_text
from hipscope.cli import main

IN_PROCESS_UNSAFE = {"declared_10_gb"}
"""Read only in a memory-capped subprocess (it would allocate ~10 GB today)."""

BROKEN_H5 = ("hdf5_signature_then_garbage", "cut_to_8_bytes", "soft_link_to_itself")
REFUSED_BY_INFO = (
    "time_backwards",
    "duplicate_times",
    "nan_samples",
    "cut_in_half",
    "empty_file",
    "text_file",
    "folder_named_h5",
    "bad_nominal_rate",
    "fifo_named_h5",
    "format_version_1_9",
    "external_link",
    *BROKEN_H5,
)


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at 80 columns off a terminal; wide lines keep names whole for the checks."""
    monkeypatch.setenv("COLUMNS", "1000")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def base(folder: Path) -> Path:
    return hf.base_recording(folder / "base.h5")


@pytest.fixture(scope="module")
def recordings(folder: Path, base: Path) -> dict[str, Path]:
    return {name: build(base, folder) for name, build in hf.RECORDINGS.items()}


@pytest.fixture(scope="module")
def metrics_files(folder: Path, base: Path) -> dict[str, Path]:
    from hipscope.processing.pipeline import analyze_file

    good = analyze_file(base)
    sub = folder / "metrics"
    sub.mkdir()
    return hf.metrics_documents(good, sub)


@pytest.fixture(scope="module")
def kits(folder: Path) -> dict[str, Path]:
    sub = folder / "kits"
    sub.mkdir()
    return hf.kit_files(sub)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Run:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def assert_contract(result: Run, path: Path) -> None:
    """Exit 0, or exit 1 with one line naming the file; no traceback, no raw escapes."""
    text = result.out + result.err
    assert "Traceback" not in text
    assert "\x1b" not in text and "\x07" not in text  # off a terminal rich writes none itself
    assert result.code in (0, 1), result.err
    if result.code == 1:
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        assert lines[0].startswith("error: ")
        assert visible_text(path.name) in lines[0], lines[0]


def _case(name: str, reason: str | None) -> object:
    return (
        pytest.param(name, marks=pytest.mark.xfail(strict=False, reason=reason)) if reason else name
    )


def _pair(command: str, name: str, reason: str | None = None) -> object:
    # an expected failure may be slow while it still fails (a hang, a 10 GB read)
    marks = [pytest.mark.xfail(strict=False, reason=reason), pytest.mark.slow] if reason else []
    return pytest.param(command, name, marks=marks, id=f"{command}-{name}")


def _cases(known: dict[str, str], skip: set[str] = IN_PROCESS_UNSAFE) -> list[object]:
    return [_case(name, known.get(name)) for name in hf.RECORDINGS if name not in skip]


READ_KNOWN: dict[str, str] = {}


@pytest.mark.parametrize("name", _cases(READ_KNOWN))
def test_info(name: str, recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = recordings[name]
    result = run(["info", str(path)], capsys)
    assert_contract(result, path)
    assert (result.code == 1) == (name in REFUSED_BY_INFO)


@pytest.mark.parametrize("name", _cases(READ_KNOWN))
def test_analyze(
    name: str, recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = recordings[name]
    metrics = tmp_path / "m.json"
    result = run(["analyze", str(path), "--json", str(metrics)], capsys)
    assert_contract(result, path)
    if result.code == 0:
        assert json.loads(metrics.read_text(encoding="utf-8"))["format"] == "hipscope-metrics"


@pytest.mark.parametrize(
    "name",
    [_case("format_version_1_9", None), _case("external_link", None)],
)
def test_files_info_must_refuse(
    name: str, recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A version 1.9 is not version 1; another file's data must not be analysed."""
    result = run(["info", str(recordings[name])], capsys)
    assert result.code == 1
    assert_contract(result, recordings[name])


def test_names_print_as_text(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue probes: `[/` tracebacks, ``session [jane].h5`` printed as ``session .h5``, a
    ``[link=...]`` athlete turned into a hyperlink, raw escapes in a name sent to the
    terminal, ``:emoji:`` codes replaced."""
    path = recordings["markup_in_file_name"]
    for command in (["info", str(path)], ["analyze", str(path)]):
        result = run(command, capsys)
        assert result.code == 0 and "session [jane].h5" in result.out
    result = run(["info", str(recordings["markup_in_attributes"])], capsys)
    assert result.code == 0
    for text in (hf.MARKUP_ATHLETE, "[/session]", "[/]dev", "[red]fake"):
        assert text in result.out
    result = run(["analyze", str(recordings["markup_in_attributes"])], capsys)
    assert result.code == 0 and hf.MARKUP_ATHLETE in result.out
    for command in ("info", "analyze"):
        result = run([command, str(recordings["control_chars_in_attributes"])], capsys)
        assert result.code == 0 and visible_text(hf.ANSI_ATHLETE) in result.out
        result = run([command, str(recordings["emoji_code_athlete"])], capsys)
        assert result.code == 0 and hf.EMOJI_ATHLETE in result.out


def test_cue_texts_print_as_text(
    recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rule and task texts of recorded cues are data: shown as text in the terminal and the
    report; a malformed cue table is a note, not a refusal."""
    path = recordings["cues_with_markup"]
    result = run(["info", str(path)], capsys)
    assert result.code == 0 and "live cues: 2" in result.out
    assert hf.MARKUP_ATHLETE in result.out and visible_text(hf.ANSI_ATHLETE) in result.out
    assert "1 row(s) without a rule or with a time" in result.out
    out = tmp_path / "cues.html"
    assert run(["report", str(path), "-o", str(out)], capsys).code == 0
    html = out.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x1b" not in html
    result = run(["info", str(recordings["cues_malformed"])], capsys)
    assert result.code == 0 and "/cues ignored" in result.out
    assert "attribute cue_rules ignored" in result.out


def test_error_lines_keep_markup_and_escapes_visible(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = folder / "lib[" / "x]" / "no [bold]such\x1b[2J.h5"
    result = run(["analyze", str(path)], capsys)
    assert result.code == 1
    assert result.err.strip() == f"error: {visible_text(path)}: no such file"


# --- report and compare ---------------------------------------------------------------

METRICS_KNOWN: dict[str, str] = {}


@pytest.mark.parametrize("name", [_case(n, METRICS_KNOWN.get(n)) for n in hf.METRICS_NAMES])
def test_report_on_metrics_files(
    name: str, metrics_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = metrics_files[name]
    result = run(["report", str(path), "-o", str(tmp_path / "r.html")], capsys)
    assert_contract(result, path)


@pytest.mark.parametrize(
    "name", [_case(n, None) for n in hf.METRICS_NAMES]
)
def test_compare_with_metrics_files(
    name: str,
    metrics_files: dict[str, Path],
    base: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = metrics_files[name]
    result = run(["compare", str(path), str(base), "-o", str(tmp_path / "c.html")], capsys)
    assert_contract(result, path)


@pytest.mark.parametrize(
    "name",
    [
        "markup_in_attributes",
        "control_chars_in_attributes",
        "formula_athlete",
        "stuck_accelerometer",
        "clock_jump_day",
        "empty_file",
        "cues_with_markup",
        _case("hdf5_signature_then_garbage", None),
    ],
)
def test_report_on_recordings(
    name: str, recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = recordings[name]
    out = tmp_path / "r [bold].html"
    result = run(["report", str(path), "-o", str(out)], capsys)
    assert_contract(result, path)
    if result.code == 0:
        assert f"report {out}" in result.out


# --- replay and review (Qt, offscreen) ------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "name"),
    [
        _pair("replay", "empty_file"),
        _pair("replay", "bad_nominal_rate", None),
        _pair("replay", "hdf5_signature_then_garbage", None),
        _pair("review", "folder_named_h5"),
        _pair("review", "soft_link_to_itself", None),
    ],
)
def test_replay_and_review_refuse_bad_files(
    command: str,
    name: str,
    recordings: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = recordings[name]
    result = run([command, str(path), "--screenshot", str(tmp_path / "s.png")], capsys)
    assert_contract(result, path)
    assert result.code == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "name"),
    [
        _pair("replay", "markup_in_file_name"),
        _pair("review", "markup_in_attributes"),
        _pair("replay", "time_backwards", None),
    ],
)
def test_replay_and_review_agree_with_info(
    command: str,
    name: str,
    recordings: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The windows open what info opens and refuse what info refuses."""
    path = recordings[name]
    result = run([command, str(path), "--screenshot", str(tmp_path / "s.png")], capsys)
    assert_contract(result, path)
    assert (result.code == 1) == (name in REFUSED_BY_INFO)


# --- batch and trends -----------------------------------------------------------------------


def test_batch_over_a_hostile_library(
    folder: Path, base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue probes: `[/` in the folder (MarkupError on every rerun), formulas let through
    to the CSV, twin bad files sharing one error under the wrong name, broken symlinks
    skipped silently."""
    import pyarrow.parquet as pq

    made = hf.batch_folder(base, folder)
    library = made["good"].parent
    table, csv_path = tmp_path / "lib.parquet", tmp_path / "lib.csv"
    argv = ["batch", str(library), "-o", str(table), "--csv", str(csv_path), "-w", "1"]
    for attempt in range(2):
        result = run(argv, capsys)
        assert result.code == 0, result.err
        assert "Traceback" not in result.out + result.err
        rows = pq.read_table(tmp_path / "lib.errors.parquet").to_pylist()
        errors = {Path(r["path"]).name: r["error"] for r in rows}
        assert set(errors) == {"twin_bad_a.h5", "twin_bad_b.h5", "loop.h5", "dangling.h5"}, attempt
        for name, error in errors.items():
            assert error.startswith(f"{library / name}: "), error
            assert f"✗ {library / name}: " in result.out
    csv_text = csv_path.read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in csv_text and "'=cmd|" in csv_text
    assert ',"=' not in csv_text and "\n=" not in csv_text
    made["twin_bad_a"].unlink()
    result = run(argv, capsys)
    assert result.code == 0
    assert f"✗ {made['twin_bad_b']}: " in result.out and "twin_bad_a" not in result.out

    trends = tmp_path / "t.html"
    result = run(["trends", str(table), "-a", hf.MARKUP_ATHLETE, "-o", str(trends)], capsys)
    assert_contract(result, table)
    assert result.code == 0 and f"trends {trends}" in result.out


@pytest.mark.parametrize(
    "content", [b"", b"PAR1 not really", b"\x00" * 100], ids=["empty", "fake", "zeros"]
)
def test_trends_on_hostile_tables(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "lib[" / "x] [bold].parquet"
    table.parent.mkdir()
    table.write_bytes(content)
    result = run(["trends", str(table), "-o", str(tmp_path / "t.html")], capsys)
    assert_contract(result, table)
    assert result.code == 1


# --- kits: record and live ------------------------------------------------------------------

KIT_KNOWN: dict[str, str] = {}
KITS_REFUSED = (
    "bad_cue_rule.toml",
    "empty_kit.toml",
    "markup_placement.toml",
    "invalid_utf8.toml",
    "deep_nesting.toml",
    "profile_traversal.toml",
    "profile_absolute.toml",
)


@pytest.mark.parametrize("name", [_case(n, KIT_KNOWN.get(n)) for n in hf.KIT_NAMES])
def test_record_with_hostile_kits(
    name: str, kits: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit = kits[name]
    out = tmp_path / "rec [/x].h5"
    argv = ["record", "--virtual", "--kit", str(kit), "--duration", "1", "--speed", "4"]
    result = run([*argv, "-o", str(out)], capsys)
    assert_contract(result, kit)
    assert (result.code == 1) == (name in KITS_REFUSED)
    if name == "empty_kit.toml":
        assert "[[sensor]]" in result.err  # was eaten as markup


@pytest.mark.parametrize("name", [_case(n, KIT_KNOWN.get(n)) for n in KITS_REFUSED])
def test_live_refuses_hostile_kits(
    name: str, kits: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit = kits[name]
    result = run(["live", "--kit", str(kit), "--duration", "1"], capsys)
    assert_contract(result, kit)
    assert result.code == 1


@pytest.mark.parametrize("name", ["profile_traversal.toml", "profile_absolute.toml"])
def test_kit_profiles_are_names_not_paths(
    name: str, kits: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A profile path must not be opened and parsed (the error quoted a parse position
    inside /etc/passwd)."""
    argv = ["record", "--virtual", "--kit", str(kits[name]), "-o", str(tmp_path / "x.h5")]
    result = run(argv, capsys)
    assert result.code == 1 and "TOML" not in result.err


# --- time and memory, in a subprocess ----------------------------------------------------

# VmHWM (the peak RSS of this program image): ru_maxrss would also count the memory of the
# forked test process before exec.
_MEASURE = textwrap.dedent(
    """
    import sys
    from hipscope.cli import main
    code = main(sys.argv[1:])
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"MAXRSS_KB={peak}", file=sys.stderr)
    sys.exit(code)
    """
)
CAP_BYTES = 3 << 30
"""Address-space cap of the measured process: a regression fails, it cannot eat the machine."""


def _measured(argv: list[str], timeout_s: float) -> tuple[Run, float]:
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))

    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        preexec_fn=cap,
        env={**os.environ, "COLUMNS": "1000"},
    )
    err_lines = done.stderr.strip().splitlines()
    rss = [line for line in err_lines if line.startswith("MAXRSS_KB=")]
    assert rss, done.stderr
    err = "\n".join(line for line in err_lines if not line.startswith("MAXRSS_KB="))
    return Run(done.returncode, done.stdout, err), int(rss[-1].split("=")[1]) / 1024


MEMORY_BASE_MB = 400.0
"""The commands' own footprint (Python, numpy, scipy, h5py, the analysis) with room."""


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("analyze", "clock_jump_day"),
        ("analyze", "clock_jump_1e6"),
        ("analyze", "gap_one_hour_one_sensor"),
        ("info", "clock_jump_1e12"),
        _pair("info", "declared_10_gb", None),
        _pair("analyze", "declared_10_gb", None),
    ],
)
def test_memory_follows_the_data(command: str, name: str, recordings: dict[str, Path]) -> None:
    """Issue probes: a 1-day clock jump made analyze use 4.1 GB, 1e6 s a MemoryError; a file
    declaring 10 GB made info allocate 9.3 GiB. Bound: a fixed base plus twice the file."""
    path = recordings[name]
    result, rss_mb = _measured([command, str(path)], timeout_s=90)
    assert_contract(result, path)
    assert rss_mb < MEMORY_BASE_MB + 2 * path.stat().st_size / 2**20, f"{rss_mb:.0f} MB"


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_fifo_profile_does_not_hang_record(kits: dict[str, Path], tmp_path: Path) -> None:
    kit = kits["profile_is_fifo.toml"]
    argv = ["record", "--virtual", "--kit", str(kit), "-o", str(tmp_path / "r.h5")]
    try:
        result, _ = _measured(argv, timeout_s=10)
    except subprocess.TimeoutExpired:
        pytest.fail("record hung on a kit whose profile is a FIFO")
    assert_contract(result, kit)
    assert result.code == 1


def test_a_clock_jump_across_the_full_screen_prints_nothing_but_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample screen (91 s, every task kind) with a 1-day jump in the middle: the tasks
    after it have no data; that must not print numpy's "Mean of empty slice" (a warning is
    an error under pytest, so it would end as an internal error here)."""
    sample = Path(__file__).parents[1] / "recordings" / "sample_screen.h5"
    path = hf.clock_jump(sample, tmp_path, 86_400.0, after_s=45.0)  # inside the hip hinge
    result = run(["analyze", str(path)], capsys)
    assert_contract(result, path)
    assert result.code == 0 and "Warning" not in result.err
