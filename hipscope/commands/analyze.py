"""`hipscope analyze`: one recording -> metrics JSON (+ CSV tables) and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hipscope.base.errors import HipscopeError

if TYPE_CHECKING:
    from rich.table import Table

    from hipscope.processing.config import AnalysisConfig
    from hipscope.processing.pipeline import SessionAnalysis

CONFIG_HELP = (
    "Analysis configuration (TOML): one table per algorithm, keys are its parameter names; "
    "unset parameters keep their defaults. See docs/analysis.example.toml."
)


def load_config(path: Path | None) -> AnalysisConfig | None:
    """The ``--config`` file, validated (None: defaults)."""
    if path is None:
        return None
    from hipscope.processing.config import AnalysisConfig

    return AnalysisConfig.load(path)


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "[dim]–[/]"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _task_summary(task: dict[str, Any]) -> str:
    m = task["metrics"]
    kind = task["kind"]
    if kind == "static":
        return (
            f"pelvis tilt {_fmt(m.get('pelvis_tilt_mean_deg'), '°')}, "
            f"sway {_fmt(m.get('sway_rms_m_s2'), ' m/s²', 3)}"
        )
    if kind == "single_leg_stance":
        return (
            f"pelvic drop {_fmt(m.get('pelvic_drop_mean_deg'), '°')} "
            f"(peak {_fmt(m.get('pelvic_drop_peak_deg'), '°')}), "
            f"trunk lean from vertical {_fmt(m.get('trunk_lean_mean_deg'), '°')}, "
            f"sway {_fmt(m.get('sway_rms_m_s2'), ' m/s²', 3)}, "
            f"hold {_fmt(m.get('hold_s'), ' s')}"
        )
    if kind in ("hip_hinge", "hip_bridge", "squat"):
        return (
            f"{_fmt(m.get('rep_count'))} reps ({_fmt(m.get('valid_rep_count'))} valid), "
            f"hip lead {_fmt(m.get('hip_lead_ms_median'), ' ms', 0)} (median, "
            f"{m.get('hip_lead_verdict') or 'unclear'}), "
            f"hip share {_fmt(m.get('hip_share_pct_median'), '%', 0)}"
        )
    if kind == "gait":
        return (
            f"step L {_fmt(m.get('step_time_left_s'), ' s', 3)} / "
            f"R {_fmt(m.get('step_time_right_s'), ' s', 3)} "
            f"(SI {_fmt(m.get('step_time_si_pct'), '%')}), "
            f"cadence {_fmt(m.get('cadence_steps_min'), '/min', 0)}, "
            f"thigh ROM L {_fmt(m.get('thigh_rom_left_deg'), '°')} / "
            f"R {_fmt(m.get('thigh_rom_right_deg'), '°')}"
        )
    return f"duration {_fmt(m.get('duration_s'), ' s')}"


def summary_tables(doc: dict[str, Any]) -> tuple[Table, Table]:
    """Per-task key metrics, and left vs right."""
    from rich.table import Table

    rec = doc["recording"]
    title = f"{rec['file_name']} — {rec['athlete'] or 'unnamed athlete'}, {rec['duration_s']:.0f} s"
    tasks = Table(title=title, title_justify="left")
    tasks.add_column("#", justify="right")
    tasks.add_column("task")
    tasks.add_column("time s", justify="right")
    tasks.add_column("key metrics")
    tasks.add_column("not available", style="dim")
    for i, task in enumerate(doc["tasks"], start=1):
        label = task["kind"] + (f" ({task['side']})" if task["side"] else "")
        missing = ", ".join(sorted(task["unavailable"]))
        tasks.add_row(
            str(i),
            label,
            f"{task['start_s']:.1f}–{task['end_s']:.1f}",
            _task_summary(task),
            missing if len(missing) < 60 else f"{len(task['unavailable'])} metrics",
        )

    sides = Table(title="left vs right", title_justify="left")
    sides.add_column("measure")
    sides.add_column("left", justify="right")
    sides.add_column("right", justify="right")
    sides.add_column("difference / SI", justify="right")
    stance = {t["side"]: t["metrics"] for t in doc["tasks"] if t["kind"] == "single_leg_stance"}
    if stance:
        left, right = stance.get("left", {}), stance.get("right", {})
        diff = (left or right).get("pelvic_drop_lr_diff_deg")
        sides.add_row(
            "pelvic drop, mean (stance side)",
            _fmt(left.get("pelvic_drop_mean_deg"), "°"),
            _fmt(right.get("pelvic_drop_mean_deg"), "°"),
            _fmt(diff, "°"),
        )
        sides.add_row(
            "trunk lean towards stance",
            _fmt(left.get("trunk_lean_mean_deg"), "°"),
            _fmt(right.get("trunk_lean_mean_deg"), "°"),
            "",
        )
    for gait in (t["metrics"] for t in doc["tasks"] if t["kind"] == "gait"):
        for label, key, unit, digits in (
            ("step time", "step_time", " s", 3),
            ("stance time", "stance_time", " s", 3),
            ("swing time", "swing_time", " s", 3),
        ):
            sides.add_row(
                label,
                _fmt(gait.get(f"{key}_left_s"), unit, digits),
                _fmt(gait.get(f"{key}_right_s"), unit, digits),
                _fmt(gait.get(f"{key}_si_pct"), "%"),
            )
        sides.add_row(
            "thigh range of motion",
            _fmt(gait.get("thigh_rom_left_deg"), "°"),
            _fmt(gait.get("thigh_rom_right_deg"), "°"),
            _fmt(gait.get("thigh_rom_si_pct"), "%"),
        )
    return tasks, sides


def analyze_with_progress(
    file: Path, fusion: str, config: AnalysisConfig | None = None
) -> SessionAnalysis:
    """``analyze_recording`` behind a transient rich progress bar (used by analyze and report)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hipscope.processing.pipeline import analyze_recording

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True
    ) as progress:
        bar = progress.add_task("analysing", total=1.0)

        def report(stage: str, fraction: float) -> None:
            progress.update(bar, description=f"analysing: {stage}", completed=fraction)

        return analyze_recording(file, fusion=fusion, progress=report, config=config)


def register(app: typer.Typer) -> None:
    @app.command()
    def analyze(
        file: Annotated[Path, typer.Argument(help="Recording to analyse (hipscope HDF5, .h5).")],
        json_out: Annotated[
            Path | None,
            typer.Option("--json", help="Write the metrics (JSON, format_version 1) here."),
        ] = None,
        csv_dir: Annotated[
            Path | None,
            typer.Option("--csv", help="Write spreadsheet-friendly CSV tables into this folder."),
        ] = None,
        fusion: Annotated[
            str,
            typer.Option(help="Orientation filter: vqf-offline, vqf, madgwick, mahony or ekf."),
        ] = "vqf-offline",
        config_path: Annotated[Path | None, typer.Option("--config", help=CONFIG_HELP)] = None,
    ) -> None:
        """Analyse one recording: hip drive, pelvic stability and gait symmetry per task."""
        import json

        from rich.console import Console

        from hipscope.processing.fusion import FUSION_METHODS

        if fusion not in FUSION_METHODS:
            raise HipscopeError(f"--fusion {fusion!r} is not one of {', '.join(FUSION_METHODS)}")
        config = load_config(config_path)
        if not file.exists():
            raise HipscopeError(f"{file}: no such file")
        analysis = analyze_with_progress(file, fusion, config)
        doc = analysis.to_dict()
        console = Console()
        for table in summary_tables(doc):
            if table.row_count:
                console.print(table)
        if config is not None:
            digest = config.parameters_hash()
            console.print(
                f"[green]parameters[/] {config_path} ({digest})", highlight=False, soft_wrap=True
            )
        if json_out is not None:
            try:
                json_out.parent.mkdir(parents=True, exist_ok=True)
                json_out.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
            except OSError as error:
                raise HipscopeError(f"{json_out}: cannot write ({error.strerror})") from error
            console.print(f"[green]metrics[/] {json_out}")
        if csv_dir is not None:
            from hipscope.processing.exports import write_csv_tables

            written = write_csv_tables(analysis, csv_dir)
            from hipscope.processing.angle_export import export_session_angles

            stem = Path(analysis.recording.path).stem
            angles = export_session_angles(
                csv_dir / f"{stem}_angles.csv", analysis.recording, analysis.kinematics
            )
            console.print(
                f"[green]csv[/]     {csv_dir} ({len(written) + (angles is not None)} tables)"
            )
