"""Profiles load by name only; kit and profile files are read as untrusted input.

Regression tests built from the hostile inputs themselves: a kit whose profile is a path
(``../../../../etc/passwd``, an absolute path), a FIFO and a symlink to /dev/zero as kit or
profile, an oversized file, invalid UTF-8 and deeply nested TOML. Each ends in one line
naming the file and the problem, in bounded time, never a traceback.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hipscope.acquisition.kit import load_kit
from hipscope.acquisition.profiles import (
    PROFILE_DIR,
    PROFILE_DIR_ENV,
    load_profile,
    profile_names,
)
from hipscope.base.errors import HipscopeError, KitError, ProfileError
from hipscope.cli import main


def _kit(tmp_path: Path, profile: str, name: str = "kit.toml") -> Path:
    path = tmp_path / name
    path.write_text(
        f'[[sensor]]\nplacement = "pelvis"\nname = "A"\nprofile = "{profile}"\n',
        encoding="utf-8",
    )
    return path


def _within(seconds: float, fn: Callable[[], object]) -> BaseException | None:
    """Run ``fn`` in a thread; fail the test if it does not finish in ``seconds``."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"did not finish within {seconds} s"
    return outcome[0]


@pytest.mark.parametrize(
    "hostile",
    [
        "../../../../etc/passwd",
        "/etc/passwd",
        "/dev/zero",
        "hipscope_open.toml",
        "..",
        "Movella_DOT",
        "a" * 65,
    ],
)
def test_a_kit_profile_is_a_name_never_a_path(tmp_path: Path, hostile: str) -> None:
    with pytest.raises(KitError) as caught:
        load_kit(_kit(tmp_path, hostile))
    message = str(caught.value)
    assert message.startswith("kit.toml: sensor[0].profile: ")
    assert "paths are not accepted" in message and "\n" not in message
    assert "root" not in message and "line" not in message  # nothing of the target was parsed


def test_names_resolve_to_the_package_profiles() -> None:
    assert load_profile("movella_dot").source.parent == PROFILE_DIR
    assert "movella_dot" in profile_names()
    with pytest.raises(ProfileError, match=r"unknown sensor profile 'nope' \(known: "):
        load_profile("nope")


def _user_profile(folder: Path, name: str) -> Path:
    text = (PROFILE_DIR / "nordic_thingy52.toml").read_text()
    path = folder / f"{name}.toml"
    path.write_text(text.replace('id = "nordic_thingy52"', f'id = "{name}"', 1))
    return path


def test_user_profile_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    _user_profile(folder, "club_thingy")
    monkeypatch.setenv(PROFILE_DIR_ENV, str(folder))
    assert load_profile("club_thingy").id == "club_thingy"
    assert "club_thingy" in profile_names()
    kit = load_kit(_kit(tmp_path, "club_thingy"))
    assert kit.devices[0].profile == "club_thingy"
    # the file name is the name: an id that disagrees is refused
    (folder / "other.toml").write_text((folder / "club_thingy.toml").read_text())
    with pytest.raises(ProfileError, match=r"other.toml: id: expected 'other'"):
        load_profile("other")
    monkeypatch.delenv(PROFILE_DIR_ENV)
    with pytest.raises(ProfileError, match="unknown sensor profile 'club_thingy'"):
        load_profile("club_thingy")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_kit_and_fifo_profile_are_refused_without_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "kit.toml"
    os.mkfifo(fifo)
    error = _within(5.0, lambda: load_kit(fifo))
    assert isinstance(error, KitError) and "not a regular file" in str(error)
    folder = tmp_path / "profiles"
    folder.mkdir()
    os.mkfifo(folder / "pipe.toml")
    monkeypatch.setenv(PROFILE_DIR_ENV, str(folder))
    error = _within(5.0, lambda: load_kit(_kit(tmp_path, "pipe", "uses_pipe.toml")))
    assert isinstance(error, KitError)
    assert "sensor[0].profile" in str(error) and "not a regular file" in str(error)


def test_symlink_to_dev_zero_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    link = tmp_path / "kit.toml"
    link.symlink_to("/dev/zero")
    error = _within(5.0, lambda: load_kit(link))
    assert isinstance(error, KitError) and "not a regular file" in str(error)
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "zero.toml").symlink_to("/dev/zero")
    monkeypatch.setenv(PROFILE_DIR_ENV, str(folder))
    error = _within(5.0, lambda: load_profile("zero"))
    assert isinstance(error, ProfileError) and "not a regular file" in str(error)


def test_oversized_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = _kit(tmp_path, "hipscope_open")
    big.write_text(big.read_text() + ("# padding\n" * 30_000))
    with pytest.raises(KitError, match=r"kit.toml: \d+ bytes, larger than the 256 kB"):
        load_kit(big)
    folder = tmp_path / "profiles"
    folder.mkdir()
    path = _user_profile(folder, "fat")
    path.write_text(path.read_text() + "#" * 300_000)
    monkeypatch.setenv(PROFILE_DIR_ENV, str(folder))
    with pytest.raises(ProfileError, match=r"fat.toml: \d+ bytes, larger than the 256 kB"):
        load_profile("fat")


def test_invalid_utf8_and_deep_nesting_give_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "kit.toml"
    bad.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(KitError, match=r"^kit.toml: not UTF-8 text \(byte 11: 0xe9\)$"):
        load_kit(bad)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(KitError, match=r"^deep.toml: not valid TOML"):
        load_kit(deep)
    tables = tmp_path / "tables.toml"
    tables.write_text("x = " + "{a = " * 30_000 + "1" + "}" * 30_000 + "\n")
    with pytest.raises(KitError, match=r"^tables.toml: not valid TOML"):
        load_kit(tables)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'name = "caf\xe9"\n', "not UTF-8 text"),
        (b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "not valid TOML"),
        (
            b'[[sensor]]\nplacement = "pelvis"\nname = "A"\nprofile = "../../../../etc/passwd"\n',
            "paths are not accepted",
        ),
        (b'[[sensor]]\nplacement = "pelvis"\nname = "A"\nprofile = 7\n', "expected a string"),
    ],
)
def test_record_with_a_hostile_kit_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    kit = tmp_path / "kit.toml"
    kit.write_bytes(content)
    code = main(["record", "--kit", str(kit), "--virtual", "--out", str(tmp_path / "o.h5")])
    out = capsys.readouterr()
    text = (out.out + out.err).strip()
    assert code == 1
    assert "Traceback" not in text and expected in text
    assert len([line for line in text.splitlines() if line.strip()]) <= 2  # one message


def test_errors_are_hipscope_errors(tmp_path: Path) -> None:
    with pytest.raises(HipscopeError):
        load_kit(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("mounting = 5\n", r"^kit.toml: sensor\[0\].mounting: expected a string, got 5$"),
        ("rate_hz = -3\n", r"^kit.toml: sensor\[0\].rate_hz: input should be greater than 0"),
        ("name = 7\n", r"^kit.toml: sensor\[0\].name: expected a string, got 7$"),
    ],
)
def test_kit_schema_errors_name_file_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "kit.toml"
    path.write_text(f'[[sensor]]\nplacement = "pelvis"\nprofile = "hipscope_open"\n{body}')
    with pytest.raises(KitError, match=message):
        load_kit(path)
    session = tmp_path / "kit.toml"
    session.write_text('[session]\nrate_hz = "fast"\n' + path.read_text())
    with pytest.raises(KitError, match=r"^kit.toml: session.rate_hz: expected a number"):
        load_kit(session)
