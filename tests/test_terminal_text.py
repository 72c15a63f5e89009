"""Text from users and files prints as text: no markup, no control sequences, one line."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from hipscope.base.text import terminal_console, terminal_text, visible_text


def _printed(value: str, *, terminal: bool = True) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=500, emoji=False)
    # values sit inside markup as at the call sites: "[bold]{terminal_text(path)}[/]"
    console.print(f"name: [bold]{terminal_text(value)}[/]", highlight=False, soft_wrap=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "value",
    [
        "session [jane].h5",
        "lib[/x]/a.h5",
        "[/]",
        "[link=javascript:alert(1)]click[/link]",
        "[bold red]loud",
        "[[sensor]]",
        "ends with a backslash \\",
        "a\\[b] escaped already",
        "[#ff0000]hex [@click]",
    ],
)
def test_markup_in_values_prints_literally(value: str) -> None:
    out = _printed(value, terminal=False)
    assert out == f"name: {value}\n"
    styled = _printed(value, terminal=True)
    assert "\x1b]8;" not in styled  # no OSC 8 hyperlink
    assert value in styled


def test_control_characters_are_shown_not_sent() -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\u202eevil\nsecond\r\x00\x7f\x9b"
    shown = visible_text(hostile)
    assert shown == ("\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\u202eevil\\nsecond\\r\\x00\\x7f\\x9b")
    out = _printed(hostile, terminal=False)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert out.count("\n") == 1  # one line
    assert "\\x1b]0;pwned" in out


def test_printable_text_is_unchanged() -> None:
    for text in ("Zoë Ünal", "李小龙", "José 🏃", "tab-free plain", ""):
        assert visible_text(text) == text
    assert terminal_text("x [y]") == "x \\[y]"


def test_emoji_codes_stay_text_on_the_terminal_console() -> None:
    console = terminal_console()
    console.file = io.StringIO()
    console.print(terminal_text(":thumbs_up: jane"))
    assert console.file.getvalue() == ":thumbs_up: jane\n"
