"""`hipscope angles`: one recording -> its angle curves as CSV or an OpenSim motion file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipscope.base.errors import HipscopeError


def register(app: typer.Typer) -> None:
    @app.command()
    def angles(
        file: Annotated[Path, typer.Argument(help="Recording (hipscope HDF5, .h5).")],
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                help="Output file: .csv (hipscope names, degrees) or .mot (OpenSim coordinates).",
            ),
        ],
        fusion: Annotated[
            str,
            typer.Option(help="Orientation filter: vqf-offline, vqf, madgwick, mahony or ekf."),
        ] = "vqf-offline",
    ) -> None:
        """Export pelvis, hip and lumbar angles, one row per sample, zero in the standing
        calibration posture; gaps stay empty (rows left out of a .mot), never interpolated."""
        from rich.console import Console

        from hipscope.acquisition.recording import load_recording
        from hipscope.processing.angle_export import FORMATS, complete_rows, export_angles
        from hipscope.processing.fusion import FUSION_METHODS
        from hipscope.processing.kinematics import compute_kinematics

        if fusion not in FUSION_METHODS:
            raise HipscopeError(f"--fusion {fusion!r} is not one of {', '.join(FUSION_METHODS)}")
        if out.suffix.lower() not in FORMATS:
            raise HipscopeError(f"--out {out}: expected a .csv or .mot file name")
        if not file.exists():
            raise HipscopeError(f"{file}: no such file")
        recording = load_recording(file)
        kin = compute_kinematics(recording, fusion=fusion, segment_signals=False)
        table = export_angles(
            out, kin.time_s, kin.angles_rad, kin.q_world_segment, recording.sensors
        )
        console = Console()
        calibration = kin.calibration.to_dict()
        if out.suffix.lower() == ".mot":
            written = complete_rows(table).n_rows
            gaps = f"{table.n_rows - written} rows with a gap left out"
        else:
            written, gaps = table.n_rows, f"{table.empty_cells()} empty cells"
        console.print(
            f"[green]angles[/] {out}: {written} rows × {len(table.columns)} angles, {gaps}; "
            f"calibration: {calibration['method']}",
            highlight=False,
        )
        for placement, sources in calibration.get("axis_sources", {}).items():
            misalignment = calibration["misalignment_deg"].get(placement)
            console.print(
                f"  {placement}: superior axis from {sources['superior']}, mediolateral from "
                f"{sources['mediolateral']}; {misalignment:.1f}° from the nominal mounting",
                highlight=False,
                markup=False,
            )
