"""Which recordings a batch covers: files, folders (recursive) and glob patterns."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from hipscope.base.errors import HipscopeError

RECORDING_SUFFIXES = (".h5", ".hdf5")
_GLOB_CHARS = set("*?[")


def _is_recording(path: Path) -> bool:
    """A recording's name that is not a folder: regular files, and also broken symlinks,
    FIFOs and the like, which then fail visibly in the errors table instead of vanishing."""
    return path.suffix.lower() in RECORDING_SUFFIXES and not path.is_dir()


def _absolute(path: Path) -> Path:
    """The resolved path; a dangling or self-looping symlink stays as named (absolute)."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return path.absolute()
    return resolved


def discover_recordings(paths: Iterable[str | Path]) -> list[Path]:
    """Absolute paths of the recordings named by ``paths``, sorted and without duplicates.

    A file is taken as given (whatever its suffix: a foreign file then fails visibly in the
    errors table); a folder contributes every ``*.h5`` / ``*.hdf5`` below it (hidden
    folders and files skipped; broken symlinks and other non-regular files included, so
    they land in the errors table); a pattern with ``*``, ``?`` or ``[`` is expanded (``**``
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
                    found.add(_absolute(match))
            continue
        path = Path(text)
        if path.is_dir():
            found.update(_walk(path))
        elif path.exists() or path.is_symlink():
            found.add(_absolute(path))
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
            out.append(_absolute(path))
    return out
