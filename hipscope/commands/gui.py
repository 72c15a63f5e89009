"""Desktop app commands: `hipscope live`, `hipscope replay`, `hipscope review`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from hipscope.base.cues import CueRule, CueRuleError, parse_rule
from hipscope.base.errors import HipscopeError
from hipscope.base.text import visible_text


def _check_screenshot(screenshot: Path | None) -> None:
    if screenshot is not None and screenshot.suffix.lower() != ".png":
        raise HipscopeError(f"--screenshot {screenshot}: expected a .png file name")


def live_cue_rules(kit_rules: Sequence[CueRule], options: Sequence[str]) -> tuple[CueRule, ...]:
    """The kit file's rules first, then the ``--cue`` options; a rule given twice counts once.

    A bad ``--cue`` raises one line naming the option (``CueRuleError``).
    """
    rules = {rule.text: rule for rule in kit_rules}
    for text in options:
        try:
            rule = parse_rule(text)
        except CueRuleError as error:
            raise CueRuleError(f"--cue: {error}") from None
        rules.setdefault(rule.text, rule)
    return tuple(rules.values())


def register(app: typer.Typer) -> None:
    @app.command()
    def live(
        kit: Path | None = typer.Option(
            None, "--kit", help="Kit file (TOML) naming the real sensors."
        ),
        virtual: bool = typer.Option(
            False, "--virtual", help="Use the virtual kit instead of real sensors."
        ),
        rate_hz: float = typer.Option(100.0, "--rate", help="Sample rate of the virtual kit, Hz."),
        loss: float = typer.Option(
            0.0, "--loss", help="Fraction of virtual notifications lost (0-1)."
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Record to this .h5 file from the start (otherwise press R)."
        ),
        athlete: str = typer.Option("", "--athlete", help="Athlete name stored in recordings."),
        duration: float | None = typer.Option(
            None, "--duration", help="Close the window after this many seconds."
        ),
        screenshot: Path | None = typer.Option(
            None,
            "--screenshot",
            help="Save a PNG of the window when it closes (after --duration, default 5 s).",
        ),
        cue: list[str] = typer.Option(
            [],
            "--cue",
            help='Live cue rule, e.g. "pelvic_drop_deg>5" or "|step_time_si_pct|>8" '
            "(repeatable; added to the kit file's cues).",
        ),
    ) -> None:
        """Live monitor: sensor status, traces, segment view, recording and task buttons."""
        if (kit is None) == (not virtual):
            raise HipscopeError("give exactly one of --kit KIT.toml or --virtual")
        if kit is not None and not kit.exists():
            raise HipscopeError(f"kit file {kit} does not exist")
        if duration is not None and duration <= 0:
            raise HipscopeError(f"--duration must be positive, got {duration}")
        _check_screenshot(screenshot)
        from hipscope.acquisition.runner import LiveAcquisition
        from hipscope.acquisition.sources import KitSource, SensorSource
        from hipscope.gui.app import run_live

        source: SensorSource
        kit_rules: tuple[CueRule, ...] = ()
        if virtual:
            from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource

            source = VirtualSource(VirtualOptions(rate_hz=rate_hz, loss_fraction=loss))
        else:
            assert kit is not None
            kit_source = KitSource(kit)
            kit_rules = kit_source.kit.cue_rules  # a bad kit file (or rule) fails here
            source = kit_source
        rules = live_cue_rules(kit_rules, cue)
        acquisition = LiveAcquisition(
            source,
            out_path=out,
            athlete=athlete,
            cue_rules=rules,
        )
        code = run_live(acquisition, duration_s=duration, screenshot=screenshot, cue_rules=rules)
        if acquisition.error is not None:
            raise HipscopeError(f"acquisition stopped: {acquisition.error}")
        if screenshot is not None:
            typer.echo(f"screenshot: {visible_text(screenshot)}")
        raise typer.Exit(code)

    @app.command()
    def replay(
        file: Path = typer.Argument(..., help="A hipscope recording (.h5, format v1)."),
        at: float | None = typer.Option(None, "--at", help="Start at this session time, s."),
        screenshot: Path | None = typer.Option(
            None, "--screenshot", help="Save a PNG of the window after loading, then exit."
        ),
    ) -> None:
        """Replay a recording through the live views: timeline, play/pause, speed, scrub."""
        _check_screenshot(screenshot)
        from hipscope.gui.app import run_replay

        code = run_replay(file, screenshot=screenshot, at_s=at)
        if screenshot is not None:
            typer.echo(f"screenshot: {visible_text(screenshot)}")
        raise typer.Exit(code)

    @app.command()
    def review(
        file: Path = typer.Argument(..., help="A hipscope recording (.h5, format v1)."),
        at: float | None = typer.Option(
            None, "--at", help="Start the replay at this session time, s."
        ),
        screenshot: Path | None = typer.Option(
            None, "--screenshot", help="Save a PNG after the analysis finished, then exit."
        ),
    ) -> None:
        """Replay with the session's metrics beside it (per task, left vs right, per repetition)."""
        _check_screenshot(screenshot)
        from hipscope.gui.app import run_replay

        code = run_replay(file, screenshot=screenshot, at_s=at, review=True)
        if screenshot is not None:
            typer.echo(f"screenshot: {visible_text(screenshot)}")
        raise typer.Exit(code)
