"""The `hipscope` command line: a thin front door over acquisition, processing and gui.

Each module in ``hipscope.commands`` adds its commands through ``register(app)``; heavy
imports stay inside the command functions so ``hipscope --help`` answers at once.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

import hipscope.commands
from hipscope.base.errors import HipscopeError

app = typer.Typer(
    name="hipscope",
    help="Wearable IMU movement screening: hip-drive timing, pelvic stability, gait symmetry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _register_commands() -> None:
    for module_info in sorted(
        pkgutil.iter_modules(hipscope.commands.__path__), key=lambda m: m.name
    ):
        module = importlib.import_module(f"hipscope.commands.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; bad input ends with one red line and exit code 1."""
    try:
        # standalone mode: click itself reports usage errors (one line, exit code 2)
        app(args=argv, prog_name="hipscope", standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except HipscopeError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130
    return 0


def entry_point() -> None:
    sys.exit(main())
