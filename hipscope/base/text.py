"""Text from users and files, made safe to show on a terminal.

Paths, athlete names, device attributes and kit fields are data. On the terminal they must
never act as rich markup (``[/``, ``[link=...]``) or reach the terminal as control
sequences (ESC/OSC sequences retitle windows, clear screens, fake hyperlinks). Two helpers:

- ``visible_text``: every control character written as a visible escape (``\\x1b``,
  ``\\n``, ``\\u202e``); for plain output (``typer.echo``, log lines).
- ``terminal_text``: ``visible_text`` plus rich's markup escaping; for values placed into
  rich markup strings, table cells and titles.

Consoles that print such values should be created with ``emoji=False`` (or through
``terminal_console``), so an athlete called ``:smile:`` stays ``:smile:``.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Unicode format characters that reorder or hide text (bidi overrides, zero-width marks)
# are shown too: a name must read on screen as it is stored.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _escape_char(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _needs_escape(char: str) -> bool:
    if char.isprintable() or char == " ":
        return False
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES


def visible_text(value: object) -> str:
    """``str(value)`` with every control or invisible format character as a visible escape.

    ``"\\x1b]0;pwned\\x07"`` becomes ``"\\\\x1b]0;pwned\\\\x07"``; a newline becomes
    ``"\\\\n"``, so a value always stays on one line. Printable text (accents, CJK, emoji)
    is unchanged.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return "".join(_escape_char(c) if _needs_escape(c) else c for c in text)


def terminal_text(value: object) -> str:
    """``visible_text`` escaped for rich markup: the value prints exactly as its text.

    Use it for every path, name or file field put into a rich markup string or table cell:
    ``console.print(f"[bold]{terminal_text(path)}[/]")``. (A trailing backslash is doubled,
    as rich's escaping must for a closing tag that may follow; at the very end of a
    printed string it then shows twice.)
    """
    from rich.markup import escape

    return escape(visible_text(value))


def terminal_console(*, stderr: bool = False) -> Console:
    """A rich console that leaves ``:name:`` emoji codes in user text alone."""
    from rich.console import Console

    return Console(stderr=stderr, emoji=False)
