"""Atomic file output: a file is either the complete new version or the old one, never half.

Every output hipscope writes (metrics JSON, CSV tables, reports, batch tables, simulated
recordings, PDFs) goes through here: the data is written to a temporary file in the same
folder, flushed and fsynced, then renamed over the target (``os.replace``, atomic on POSIX
within one file system) and the folder fsynced. On any error (full disk, an unencodable
name, a failing writer) the temporary file is removed and the previous file stays as it was.

Temporary files are hidden (``.<name>.<random>.tmp<suffix>``), so a folder scan for
recordings never picks one up; they keep the target's suffix for writers that look at it.

Errors are ``OSError``s with ``filename`` set to the target, so callers keep one
``except OSError`` that names the file. Text that cannot be encoded raises an ``OSError``
with ``errno.EILSEQ`` and a message naming the offending character, before the file is
touched.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_path", "atomic_write_bytes", "atomic_write_text"]


def _target(path: str | Path) -> Path:
    """The file to replace: a symlink's final target, so the link itself stays a link."""
    path = Path(path)
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{target.suffix}")


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; not every file system lets a folder be opened or synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_mode(temp: Path, target: Path) -> None:
    """A replaced file keeps its permissions (a new one gets the umask's default)."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return
    with suppress(OSError):
        os.chmod(temp, mode)


def _commit(temp: Path, target: Path) -> None:
    _keep_mode(temp, target)
    os.replace(temp, target)
    _fsync_folder(target.parent)


def _reraise_naming(error: OSError, temp: Path, target: Path) -> None:
    """Raise ``error`` again, naming the target where it named the temporary file."""
    with suppress(OSError):
        temp.unlink()
    names_temp = error.filename is None or str(error.filename) == str(temp)
    if error.errno is None or not names_temp:
        raise error
    strerror = error.strerror or os.strerror(error.errno)
    raise OSError(error.errno, strerror, str(target)) from error


def _encoding_error(error: UnicodeEncodeError, target: Path) -> OSError:
    bad = error.object[error.start : error.end]
    shown = bad.encode("unicode_escape", errors="backslashreplace").decode("ascii")
    return OSError(
        errno.EILSEQ,
        f"the text holds {shown!r} (position {error.start}), which {error.encoding} cannot encode",
        str(target),
    )


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path for a writer that creates the file itself (HDF5, Chromium, Arrow).

    On a clean exit of the ``with`` block the temporary file is fsynced and renamed onto
    ``path``; if the block raises, or wrote nothing, the temporary file is removed and
    ``path`` is untouched::

        with atomic_path(out) as tmp:
            pq.write_table(table, tmp)
    """
    target = _target(path)
    temp = _temp_name(target)
    try:
        yield temp
        if not temp.exists():
            raise OSError(errno.ENOENT, "the writer produced no file", str(target))
        _fsync_file(temp)
        _commit(temp, target)
    except OSError as error:
        _reraise_naming(error, temp, target)
    except BaseException:
        with suppress(OSError):
            temp.unlink()
        raise


@contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """``open`` for writing, committed atomically when the ``with`` block ends cleanly.

    ``mode`` is "w" (text) or "wb" (bytes). A ``UnicodeEncodeError`` inside the block
    becomes an ``OSError`` (``errno.EILSEQ``) naming ``path``; the old file stays.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes new files only (mode 'w' or 'wb'), got {mode!r}")
    target = _target(path)
    temp = _temp_name(target)
    # O_EXCL: never follow a planted file; 0o666 lets the umask decide, as open() would.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(temp, flags, 0o666)
    except OSError as error:  # no folder, read-only, no permission: name the target
        raise OSError(error.errno, error.strerror, str(target)) from error
    try:
        if mode == "wb":
            handle: IO[Any] = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        with suppress(OSError):
            temp.unlink()
        raise
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _commit(temp, target)
    except UnicodeEncodeError as error:
        with suppress(OSError):
            temp.unlink()
        raise _encoding_error(error, target) from None
    except OSError as error:
        _reraise_naming(error, temp, target)
    except BaseException:
        with suppress(OSError):
            temp.unlink()
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``.

    The text is encoded before any file is created, so an unencodable character (a lone
    surrogate from a command-line argument in another encoding) costs nothing on disk.
    """
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as error:
        raise _encoding_error(error, _target(path)) from None
    return atomic_write_bytes(path, data)
