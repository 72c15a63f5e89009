"""The command line front door: one red line for bad input, usage errors, info on files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.cli import main


def _recording(path: Path) -> None:
    n = 300
    seq = np.arange(n, dtype=np.uint32)
    seq[150:] += 7  # seven samples lost mid-way
    with Recorder(
        path, [SensorMeta("pelvis", "dev", "", "hipscope_open", 100.0, has_seq=True)]
    ) as rec:
        rec.append("pelvis", SampleBatch(seq / 100.0, np.zeros((n, 3)), np.zeros((n, 3)), seq=seq))
        rec.add_task(Task("static", "", 0.0, 3.0))


def test_info_shows_sensors_gaps_and_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.h5"
    _recording(path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "pelvis" in out and "static" in out
    assert "7 sample(s) lost between 1.490 s and 1.570 s" in out


@pytest.mark.parametrize("content", ["noise", "foreign", "truncated"])
def test_info_refuses_bad_files_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / f"{content}.h5"
    if content == "noise":
        path.write_bytes(np.random.default_rng(1).bytes(10_000))
    elif content == "foreign":
        with h5py.File(path, "w") as f:
            f["data"] = np.arange(10)
    else:
        good = tmp_path / "good.h5"
        _recording(good)
        path.write_bytes(good.read_bytes()[:3000])
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and str(path.name) in err and "Traceback" not in err
    assert len(err.splitlines()) <= 2  # one line, possibly wrapped by the terminal width


def test_usage_errors_are_click_errors_not_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert "No such command" in err and "Missing argument" in err and "Traceback" not in err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "record", "scan", "live", "replay", "analyze", "report", "info"):
        assert command in out


def test_a_bug_is_one_line_with_its_own_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception hipscope did not raise on purpose still ends in one line (exit 70, told
    apart from bad input); HIPSCOPE_TRACEBACK=1 lets it through for debugging."""
    import hipscope.acquisition.recording as recording_module
    from hipscope.cli import INTERNAL_ERROR_EXIT, TRACEBACK_ENV

    def broken(path: object) -> None:
        raise RuntimeError("h5py said [/] no\nsecond line")

    monkeypatch.setattr(recording_module, "load_recording", broken)
    path = tmp_path / "s.h5"
    assert main(["info", str(path)]) == INTERNAL_ERROR_EXIT
    err = capsys.readouterr().err.strip()
    assert err.startswith("internal error: RuntimeError: h5py said [/] no (a bug")
    assert len(err.splitlines()) == 1
    monkeypatch.setenv(TRACEBACK_ENV, "1")
    with pytest.raises(RuntimeError, match="h5py said"):
        main(["info", str(path)])


def test_error_line_shows_markup_and_control_characters_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "[bold]x[/] \x1b]0;title\x07.h5"
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    shown = str(path).replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    assert err == f"error: {shown}: no such file"
    assert "[bold]x[/]" in err and "\x1b" not in err
