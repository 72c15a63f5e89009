"""`hipscope analyze`: one recording -> metrics JSON (+ CSV tables) and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hipscope.base.errors import HipscopeError

if TYPE_CHECKING:
    from rich.table import Table

    from hipscope.processing.config import AnalysisConfig
    from hipscope.processing.contract import MetricsDocument, TaskResult
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


def print_parameters(console: Any, path: Path | None, config: AnalysisConfig | None) -> None:
    """The line naming a ``--config`` file and the hash of its effective parameters."""
    if config is None:
        return
    from hipscope.base.text import terminal_text

    console.print(
        f"[green]parameters[/] {terminal_text(path)} ({config.parameters_hash()})",
        highlight=False,
        soft_wrap=True,
    )


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "[dim]–[/]"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _task_summary(task: TaskResult) -> str:
    from hipscope.processing.contract import (
        GaitMetrics,
        HipDriveMetrics,
        SingleLegStanceMetrics,
        StaticMetrics,
    )

    m = task.metrics
    if isinstance(m, StaticMetrics):
        return (
            f"pelvis tilt {_fmt(m.pelvis_tilt_mean_deg, '°')}, "
            f"sway {_fmt(m.sway_rms_m_s2, ' m/s²', 3)}"
        )
    if isinstance(m, SingleLegStanceMetrics):
        return (
            f"pelvic drop {_fmt(m.pelvic_drop_mean_deg, '°')} "
            f"(peak {_fmt(m.pelvic_drop_peak_deg, '°')}), "
            f"trunk lean from vertical {_fmt(m.trunk_lean_mean_deg, '°')}, "
            f"sway {_fmt(m.sway_rms_m_s2, ' m/s²', 3)}, "
            f"hold {_fmt(m.hold_s, ' s')}"
        )
    if isinstance(m, HipDriveMetrics):
        return (
            f"{_fmt(m.rep_count)} reps ({_fmt(m.valid_rep_count)} valid), "
            f"hip lead {_fmt(m.hip_lead_ms_median, ' ms', 0)} (median, "
            f"{m.hip_lead_verdict or 'unclear'}), "
            f"hip share {_fmt(m.hip_share_pct_median, '%', 0)}"
        )
    if isinstance(m, GaitMetrics):
        return (
            f"step L {_fmt(m.step_time_left_s, ' s', 3)} / "
            f"R {_fmt(m.step_time_right_s, ' s', 3)} "
            f"(SI {_fmt(m.step_time_si_pct, '%')}), "
            f"cadence {_fmt(m.cadence_steps_min, '/min', 0)}, "
            f"thigh ROM L {_fmt(m.thigh_rom_left_deg, '°')} / "
            f"R {_fmt(m.thigh_rom_right_deg, '°')}"
        )
    record = task.record
    recorded = " (recorded, no metrics)" if record is not None and not record.has_metrics else ""
    return f"duration {_fmt(m.duration_s, ' s')}{recorded}"


def summary_tables(document: MetricsDocument | dict[str, Any]) -> tuple[Table, Table]:
    """Per-task key metrics, and left vs right."""
    from rich.table import Table

    from hipscope.acquisition.samples import SOURCE_TEXT
    from hipscope.base.text import terminal_text as txt
    from hipscope.processing.contract import GaitMetrics, SingleLegStanceMetrics, as_document

    doc = as_document(document)
    rec = doc.recording
    duration = f"{rec.duration_s:.0f} s" if rec.duration_s is not None else "–"
    title = f"{txt(rec.file_name)} — {txt(rec.athlete or 'unnamed athlete')}, {duration}"
    tasks = Table(title=title, title_justify="left")
    tasks.add_column("#", justify="right")
    tasks.add_column("task")
    tasks.add_column("time s", justify="right")
    tasks.add_column("key metrics")
    tasks.add_column("not available", style="dim")
    for i, task in enumerate(doc.tasks, start=1):
        missing = txt(", ".join(sorted(task.unavailable)))
        title = task.title
        if task.source == "detected" and task.confidence is not None:
            title += f" · detected {task.confidence:.2f}"
        elif task.source in SOURCE_TEXT:  # a detected task saved as a row
            title += f" · {SOURCE_TEXT[task.source]}"
        tasks.add_row(
            str(i),
            title,
            f"{_fmt(task.start_s)}–{_fmt(task.end_s)}",
            _task_summary(task),
            missing if len(missing) < 60 else f"{len(task.unavailable)} metrics",
        )

    sides = Table(title="left vs right", title_justify="left")
    sides.add_column("measure")
    sides.add_column("left", justify="right")
    sides.add_column("right", justify="right")
    sides.add_column("difference / SI", justify="right")
    stance = {t.side: t.metrics for t in doc.tasks if isinstance(t.metrics, SingleLegStanceMetrics)}
    if stance:
        empty = SingleLegStanceMetrics()
        left, right = stance.get("left", empty), stance.get("right", empty)
        sides.add_row(
            "pelvic drop, mean (stance side)",
            _fmt(left.pelvic_drop_mean_deg, "°"),
            _fmt(right.pelvic_drop_mean_deg, "°"),
            _fmt(left.pelvic_drop_lr_diff_deg or right.pelvic_drop_lr_diff_deg, "°"),
        )
        sides.add_row(
            "trunk lean towards stance",
            _fmt(left.trunk_lean_mean_deg, "°"),
            _fmt(right.trunk_lean_mean_deg, "°"),
            "",
        )
    for gait in (t.metrics for t in doc.tasks if isinstance(t.metrics, GaitMetrics)):
        for label, key, unit, digits in (
            ("step time", "step_time", " s", 3),
            ("stance time", "stance_time", " s", 3),
            ("swing time", "swing_time", " s", 3),
        ):
            sides.add_row(
                label,
                _fmt(getattr(gait, f"{key}_left_s"), unit, digits),
                _fmt(getattr(gait, f"{key}_right_s"), unit, digits),
                _fmt(getattr(gait, f"{key}_si_pct"), "%"),
            )
        sides.add_row(
            "thigh range of motion",
            _fmt(gait.thigh_rom_left_deg, "°"),
            _fmt(gait.thigh_rom_right_deg, "°"),
            _fmt(gait.thigh_rom_si_pct, "%"),
        )
    return tasks, sides


def analyze_with_progress(
    file: Path, fusion: str, config: AnalysisConfig | None = None, detect: bool | None = None
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

        return analyze_recording(file, fusion=fusion, progress=report, config=config, detect=detect)


def save_detected_rows(analysis: SessionAnalysis, console: Any) -> None:
    """``--save-tasks``: append the detected tasks to a recording without task rows."""
    import dataclasses

    from hipscope.acquisition.recorder import add_task_rows
    from hipscope.base.text import terminal_text as txt

    path = Path(analysis.recording.path)
    if analysis.recording.tasks:
        raise HipscopeError(
            f"--save-tasks: {path} already has {len(analysis.recording.tasks)} task rows; "
            "add detected tasks to it with hipscope review"
        )
    if analysis.detection is None or not analysis.tasks:
        raise HipscopeError(f"--save-tasks: no task was detected in {path}; nothing saved")
    rows = [dataclasses.replace(t.task, source="detected") for t in analysis.tasks]
    add_task_rows(path, rows)
    console.print(
        f"[green]saved[/]   {len(rows)} detected task rows into {txt(path)} (source = detected)",
        highlight=False,
        soft_wrap=True,
    )


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
        detect_tasks: Annotated[
            bool,
            typer.Option(
                "--detect-tasks",
                help="Find the tasks in the movement itself and analyse those instead of the "
                "task rows (done anyway when the recording has no task rows).",
            ),
        ] = False,
        save_tasks: Annotated[
            bool,
            typer.Option(
                "--save-tasks",
                help="Save the detected tasks into the recording as task rows (source "
                "'detected'), for a recording without task rows; the file is replaced "
                "atomically. To accept, relabel or delete each first: hipscope review.",
            ),
        ] = False,
    ) -> None:
        """Analyse one recording: hip drive, pelvic stability and gait symmetry per task."""
        from rich.console import Console

        from hipscope.base.text import terminal_text as txt
        from hipscope.processing.contract import write_metrics
        from hipscope.processing.fusion import FUSION_METHODS

        if fusion not in FUSION_METHODS:
            raise HipscopeError(f"--fusion {fusion!r} is not one of {', '.join(FUSION_METHODS)}")
        config = load_config(config_path)
        if not file.exists():
            raise HipscopeError(f"{file}: no such file")
        analysis = analyze_with_progress(file, fusion, config, True if detect_tasks else None)
        doc = analysis.to_document()
        console = Console(emoji=False)
        # --- automatic task detection ---
        if analysis.detection is not None:
            rows = len(analysis.recording.tasks)
            why = (
                f"--detect-tasks: the {rows} recorded task rows are set aside"
                if rows
                else "the recording has no task rows"
            )
            console.print(
                f"[yellow]tasks detected[/] {len(analysis.tasks)} ({why}; source = detected)",
                highlight=False,
                soft_wrap=True,
            )
            for note in analysis.detection.notes_:
                console.print(f"[yellow]note[/] {note}", highlight=False, soft_wrap=True)
        # --- end automatic task detection ---
        if save_tasks:
            save_detected_rows(analysis, console)
        for table in summary_tables(doc):
            if table.row_count:
                console.print(table)
        print_parameters(console, config_path, config)
        if json_out is not None:
            write_metrics(doc, json_out)
            console.print(f"[green]metrics[/] {txt(json_out)}")
        if csv_dir is not None:
            from hipscope.processing.exports import write_csv_tables

            written = write_csv_tables(analysis, csv_dir)
            from hipscope.processing.angle_export import export_session_angles

            stem = Path(analysis.recording.path).stem
            angles = export_session_angles(
                csv_dir / f"{stem}_angles.csv", analysis.recording, analysis.kinematics
            )
            console.print(
                f"[green]csv[/]     {txt(csv_dir)} ({len(written) + (angles is not None)} tables)"
            )
