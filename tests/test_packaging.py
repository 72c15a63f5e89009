"""The wheel installs one top-level package, ``hipscope``, with its sensor profiles as data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=out,
    )
    (path,) = out.glob("hipscope-*.whl")
    return path


def test_wheel_holds_only_the_hipscope_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "hipscope",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    for package in ("acquisition", "processing", "gui", "firmware_configs", "base"):
        assert f"hipscope/{package}/__init__.py" in names
    assert "hipscope/firmware_configs/movella_dot.toml" in names
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)


def test_the_generic_names_are_not_importable_outside_the_source_tree(tmp_path: Path) -> None:
    code = (
        "import importlib.util as u\n"
        "assert u.find_spec('hipscope.gui') is not None\n"
        "for name in ('acquisition', 'processing', 'gui', 'firmware_configs'):\n"
        "    assert u.find_spec(name) is None, name\n"
        "from hipscope.acquisition.profiles import load_profile\n"
        "print(load_profile('movella_dot').id)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "movella_dot"


def test_every_source_package_is_in_the_wheel(wheel: Path) -> None:
    """``[tool.setuptools] packages`` is an explicit list: a new sub-package must join it."""
    names = set(zipfile.ZipFile(wheel).namelist())
    mapping = {
        "hipscope": "hipscope",
        "acquisition": "hipscope/acquisition",
        "processing": "hipscope/processing",
        "gui": "hipscope/gui",
        "firmware_configs": "hipscope/firmware_configs",
    }
    for folder, installed in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.relative_to(REPO / folder).as_posix()
            assert f"{installed}/{relative}" in names, f"{folder}/{relative} is not packaged"
