"""Every output is the complete new file or the old one: failed writes leave no trace."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hipscope.base import atomic
from hipscope.base.atomic import atomic_open, atomic_path, atomic_write_bytes, atomic_write_text
from hipscope.cli import main


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_replaces_and_keeps_mode_and_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic_write_text(target, "old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert target.stat().st_mode & 0o777 == 0o640
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    atomic_write_bytes(link, b"via link")
    assert link.is_symlink() and target.read_bytes() == b"via link"
    assert _leftovers(tmp_path) == []


def test_unencodable_text_fails_before_touching_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("good report")
    with pytest.raises(OSError) as caught:
        atomic_write_text(target, "athlete \udcff")
    assert caught.value.errno == errno.EILSEQ and caught.value.filename == str(target)
    assert "\\udcff" in caught.value.strerror
    with pytest.raises(OSError), atomic_open(target, "w", encoding="utf-8") as handle:
        handle.write("half written \udcff")
    assert target.read_text() == "good report"
    assert _leftovers(tmp_path) == []


def test_an_injected_disk_error_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "metrics.json"
    target.write_text("previous")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError) as caught:
        atomic_write_text(target, "x" * 10_000)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert target.read_text() == "previous"
    assert _leftovers(tmp_path) == []


def test_atomic_path_for_writers_that_create_the_file(tmp_path: Path) -> None:
    target = tmp_path / "table.parquet"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_bytes(b"partial")
        raise RuntimeError("writer failed")
    with pytest.raises(OSError, match="produced no file"), atomic_path(target):
        pass
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []
    with atomic_path(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".") and temp.suffix == ".parquet"
        temp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


# --- the commands ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import hostile_files

    return hostile_files.base_recording(tmp_path_factory.mktemp("atomic") / "session.h5")


def test_report_with_an_unencodable_athlete_keeps_the_previous_report(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue probe: ``--athlete`` with a byte that cannot be encoded gave a traceback and
    emptied the existing report."""
    report = tmp_path / "report.html"
    metrics = tmp_path / "m.json"
    assert main(["analyze", str(recording), "--json", str(metrics)]) == 0
    assert main(["report", str(metrics), "-o", str(report)]) == 0
    good = report.read_bytes()
    capsys.readouterr()
    assert main(["report", str(metrics), "-o", str(report), "--athlete", "Jos\udce9"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(report) in err and "\\udce9" in err
    assert report.read_bytes() == good
    assert _leftovers(tmp_path) == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 kB tmpfs (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> None:
    """Fill the file system to the last block."""
    with (folder / "filler").open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


def test_full_disk_keeps_the_previous_json_report_and_csv(
    recording: Path, tiny_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue probe: a full disk during ``report`` or ``analyze --json`` replaced the
    previous good report with a truncated file and the JSON with 0 bytes."""
    metrics, report, csv_dir = tiny_disk / "m.json", tiny_disk / "r.html", tiny_disk / "csv"
    assert main(["analyze", str(recording), "--json", str(metrics), "--csv", str(csv_dir)]) == 0
    before_json = metrics.read_bytes()
    before_csv = {p.name: p.read_bytes() for p in csv_dir.iterdir()}
    json.loads(before_json)
    report.write_text("<html>previous report</html>")
    _fill(tiny_disk)
    capsys.readouterr()
    assert main(["analyze", str(recording), "--json", str(metrics)]) == 1
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and str(metrics) in err
    assert len(err.splitlines()) == 1
    assert main(["report", str(metrics), "-o", str(report)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert main(["analyze", str(recording), "--csv", str(csv_dir)]) == 1
    assert metrics.read_bytes() == before_json
    assert report.read_text() == "<html>previous report</html>"
    assert {p.name: p.read_bytes() for p in csv_dir.iterdir()} == before_csv
    assert _leftovers(tiny_disk) == [] and _leftovers(csv_dir) == []
