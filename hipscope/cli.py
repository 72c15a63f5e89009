"""The `hipscope` command line: a thin front door over acquisition, processing and gui.

Each module in ``hipscope.commands`` adds its commands through ``register(app)``; heavy
imports stay inside the command functions so ``hipscope --help`` answers at once.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

import hipscope.commands
from hipscope.base.errors import HipscopeError
from hipscope.base.text import terminal_console, terminal_text

app = typer.Typer(
    name="hipscope",
    help="Wearable IMU movement screening: hip-drive timing, pelvic stability, gait symmetry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = terminal_console(stderr=True)

INTERNAL_ERROR_EXIT = 70
"""Exit code of a bug (an exception hipscope did not raise on purpose): EX_SOFTWARE."""
TRACEBACK_ENV = "HIPSCOPE_TRACEBACK"
"""Set to 1 to let unexpected exceptions end in their traceback (for debugging)."""


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
        err_console.print(
            f"[bold red]error:[/] {terminal_text(error)}", highlight=False, soft_wrap=True
        )
        return 1
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130
    except MemoryError:
        err_console.print("[bold red]error:[/] out of memory", highlight=False)
        return 1
    except Exception as error:
        if os.environ.get(TRACEBACK_ENV) == "1":
            raise
        # A bug: still one line, but told apart from bad input by its exit code.
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        err_console.print(
            f"[bold red]internal error:[/] {terminal_text(type(error).__name__)}"
            f"{': ' + terminal_text(first) if first else ''} "
            f"(a bug in hipscope; {TRACEBACK_ENV}=1 shows the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        return INTERNAL_ERROR_EXIT
    return 0


def entry_point() -> None:
    sys.exit(main())
