"""`hipscope simulate`: write a simulated screen-protocol recording with its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hipscope.base import tasks as task_registry
from hipscope.base.errors import HipscopeError
from hipscope.base.text import terminal_text


def _truth_text(row: dict[str, Any]) -> str:
    family = task_registry.get(row["kind"]).family
    if family == "standing":
        return f"quiet standing, sway {row['sway_m_s2']:.2f} m/s² RMS"
    if family == "stance":
        return (
            f"pelvic drop {row['pelvic_drop_deg']:.1f}°, trunk lean {row['trunk_lean_deg']:.1f}°, "
            f"hold {row['hold_s']:.1f} s ({row['hold_start_s']:.2f}–{row['hold_end_s']:.2f}), "
            f"sway {row['sway_m_s2']:.2f} m/s²"
        )
    if family == "repetitions":
        leads = ", ".join(f"{r['hip_lead_ms']:.0f}" for r in row["reps"])
        return (
            f"{len(row['reps'])} reps, hip lead {row['hip_lead_mean_ms']:.0f} ms mean "
            f"(per rep: {leads} ms)"
        )
    if family == "gait":
        n = len(row["initial_contacts_left_s"]) + len(row["initial_contacts_right_s"])
        return (
            f"step L/R {row['step_time_left_s']:.3f}/{row['step_time_right_s']:.3f} s "
            f"(SI {row['step_time_si_pct']:+.1f}%), thigh ROM L/R "
            f"{row['thigh_rom_left_deg']:.0f}/{row['thigh_rom_right_deg']:.0f}°, {n} contacts"
        )
    return ""


def _write_atomically(sim: Any, out: Path, athlete: str, truth_path: Path | None) -> None:
    """The recording and its truth file, each complete or not there (a replaced file stays
    as it was until its successor is whole)."""
    import json
    import os

    from hipscope.base.atomic import atomic_path, atomic_write_text
    from hipscope.base.errors import RecordingError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as temp:
            sim.write(temp, athlete=athlete)
        if truth_path is not None:
            atomic_write_text(truth_path, json.dumps(sim.truth_dict(), indent=1))
    except OSError as error:
        where = error.filename or out
        raise HipscopeError(f"{where}: cannot write ({error.strerror})") from None
    except RecordingError as error:  # the writer could not create the (temporary) file
        cause = error.__cause__
        if isinstance(cause, OSError) and cause.errno:
            raise HipscopeError(f"{out}: cannot write ({os.strerror(cause.errno)})") from None
        raise


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        out: Annotated[Path, typer.Argument(help="Recording to write (HDF5, format v1).")],
        seed: Annotated[
            int, typer.Option("--seed", help="Seed of every random choice (same seed, same file).")
        ] = 0,
        rate: Annotated[
            float,
            typer.Option("--rate", help="Sampling rate of every sensor in Hz (60–200 typical)."),
        ] = 100.0,
        misalignment: Annotated[
            float,
            typer.Option("--misalignment", help="Largest sensor mounting misalignment in degrees."),
        ] = 10.0,
        athlete: Annotated[
            str, typer.Option("--athlete", help="Athlete name stored in the recording.")
        ] = "simulated athlete",
        mag: Annotated[
            bool, typer.Option("--mag/--no-mag", help="Also simulate magnetometers.")
        ] = False,
        noise: Annotated[
            bool, typer.Option("--noise/--no-noise", help="Add sensor noise and gyroscope bias.")
        ] = True,
        truth: Annotated[
            bool,
            typer.Option(
                "--truth/--no-truth", help="Also write the ground truth as OUT.truth.json."
            ),
        ] = True,
        protocol: Annotated[
            str,
            typer.Option(
                "--protocol",
                help="'screen' (static, single-leg stance L/R, hip hinge, gait; ~91 s) or "
                "'full' (the screen plus squats and hip bridges; ~150 s).",
            ),
        ] = "screen",
        soft_tissue: Annotated[
            float,
            typer.Option(
                "--soft-tissue",
                help="Soft-tissue motion of the sensors on their segments, degrees (0: rigid).",
            ),
        ] = 0.0,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace OUT (and its truth file) if present.")
        ] = False,
    ) -> None:
        """Simulate a screen session and write it as a recording with its ground truth.

        The default protocol: quiet standing, single-leg stance left and right, five hip
        hinges and 30 s of walking, on pelvis, trunk and thigh sensors (--protocol full adds
        squats and hip bridges).
        """
        from rich.console import Console
        from rich.table import Table

        from hipscope.acquisition.simulation.specs import PROTOCOLS
        from hipscope.acquisition.simulator import simulate as run_simulation

        truth_path = out.with_suffix(".truth.json")
        if out.suffix.lower() not in (".h5", ".hdf5"):
            raise HipscopeError(f"{out}: expected a .h5 or .hdf5 file name")
        if protocol not in PROTOCOLS:
            raise HipscopeError(
                f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}"
            )
        if out.exists() and not overwrite:
            raise HipscopeError(f"{out}: file exists; pass --overwrite to replace it")
        sim = run_simulation(
            PROTOCOLS[protocol](),
            rate_hz=rate,
            seed=seed,
            misalignment_deg=misalignment,
            noise=noise,
            with_mag=mag,
            soft_tissue_deg=soft_tissue,
        )
        _write_atomically(sim, out, athlete, truth_path if truth else None)

        console = Console(emoji=False)
        table = Table(
            title=f"{terminal_text(out)}  ({sim.duration_s:.1f} s, {rate:g} Hz, seed {seed})",
            title_justify="left",
        )
        for column in ("task", "start s", "end s", "truth"):
            table.add_column(column, justify="right" if column.endswith(" s") else "left")
        for task, row in zip(sim.tasks, sim.truth, strict=True):
            table.add_row(task.label, f"{task.start_s:.2f}", f"{task.end_s:.2f}", _truth_text(row))
        console.print(table)
        mounting = ", ".join(f"{p} {a:.1f}°" for p, a in sim.misalignment_deg.items())
        console.print(f"sensors: {', '.join(sim.samples)}; misalignment {mounting}")
        if truth:
            console.print(f"truth: {terminal_text(truth_path)}")
