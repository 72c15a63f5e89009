"""Reading small TOML files that users hand us (kits, sensor profiles) without trusting them.

Only regular files are read (a FIFO would block forever, a symlink to ``/dev/zero`` would
read without end), at most ``max_bytes`` of them, as strict UTF-8. Every failure — missing
file, wrong kind of file, too big, bad encoding, bad TOML, nesting deep enough to exhaust
the parser's recursion — becomes one ``HipscopeError`` line of the caller's class naming the
file, never a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from hipscope.base.errors import HipscopeError

MAX_TOML_BYTES = 256 * 1024
"""Largest kit or profile file read (a real one is a few kB)."""


def read_toml(
    path: Path, *, what: str, error: type[HipscopeError], max_bytes: int = MAX_TOML_BYTES
) -> dict[str, Any]:
    """The parsed table of ``path``; ``what`` names the kind of file in messages."""
    label = path.name or str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a {what} .toml file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{path}: symbolic link loop, expected a {what} file") from None
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path}: is a directory, expected a {what} .toml file")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file, expected a {what} .toml file")
        if info.st_size > max_bytes:
            raise error(
                f"{label}: {info.st_size} bytes, larger than the {max_bytes // 1024} kB "
                f"a {what} file may have"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise error(f"{label}: larger than the {max_bytes // 1024} kB a {what} file may have")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{label}: not UTF-8 text (byte {exc.start}: 0x{raw[exc.start]:02x})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{label}: not valid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{label}: not valid TOML (nested too deeply)") from None
