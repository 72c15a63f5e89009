"""Which recordings a batch covers: files, folders (recursive) and glob patterns."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from hipscope.base.errors import HipscopeError

RECORDING_SUFFIXES = (".h5", ".hdf5")
_GLOB_CHARS = set("*?[")


def _is_recording(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in RECORDING_SUFFIXES


def discover_recordings(paths: Iterable[str | Path]) -> list[Path]:
    """Absolute paths of the recordings named by ``paths``, sorted and without duplicates.

    A file is taken as given (whatever its suffix: a foreign file then fails visibly in the
    errors table); a folder contributes every ``*.h5`` / ``*.hdf5`` below it (hidden
    folders and files skipped); a pattern with ``*``, ``?`` or ``[`` is expanded (``**``
    recursive) and the matches treated like the above. A name matching nothing is an error.
    """
    found: set[Path] = set()
    for raw in paths:
        text = str(raw)
        if any(c in _GLOB_CHARS for c in text) and not Path(text).exists():
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
            if not matches:
                raise HipscopeError(f"{text}: the pattern matches no file")
            for match in matches:
                if match.is_dir():
                    found.update(_walk(match))
                elif _is_recording(match):
                    found.add(match.resolve())
            continue
        path = Path(text)
        if path.is_dir():
            found.update(_walk(path))
        elif path.is_file():
            found.add(path.resolve())
        else:
            raise HipscopeError(f"{path}: no such file or folder")
    return sorted(found)


def _walk(folder: Path) -> list[Path]:
    out = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative):
            continue
        if _is_recording(path):
            out.append(path.resolve())
    return out
