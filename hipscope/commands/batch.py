"""`hipscope batch` (a library of recordings -> one tidy table, on Dask) and `hipscope trends`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hipscope.base.errors import HipscopeError

if TYPE_CHECKING:
    from rich.progress import Progress


class _RichProgress:
    """``processing.batch.run.BatchProgress`` on a rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.bar = progress.add_task("", total=0, visible=False)
        self.counts: dict[str, int] = {}

    def stage(self, name: str, total: int) -> None:
        self.counts = {}
        self.progress.reset(self.bar, total=max(total, 1), description=name, visible=total > 0)

    def advance(self, path: Path, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if status in ("ok", "error"):
            tally = f"{self.counts.get('ok', 0)} ok, {self.counts.get('error', 0)} failed"
            self.progress.update(self.bar, description=f"analysing ({tally})")
        self.progress.advance(self.bar)


def register(app: typer.Typer) -> None:
    @app.command()
    def batch(
        paths: Annotated[
            list[str],
            typer.Argument(
                help="Recordings, folders (searched recursively for *.h5 / *.hdf5) or glob "
                "patterns (quote them, e.g. 'library/2026-*/*.h5')."
            ),
        ],
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                "-o",
                help="Results table (Parquet, one row per task per recording). Next to it: "
                "TABLE.errors.parquet (files that failed) and TABLE.parts/ (the per-file "
                "results that make re-runs incremental).",
            ),
        ],
        csv: Annotated[
            Path | None, typer.Option("--csv", help="Also write the results table as CSV here.")
        ] = None,
        scheduler: Annotated[
            str | None,
            typer.Option(
                "--scheduler",
                help="Address of a running Dask scheduler (tcp://host:port); its workers must "
                "see the recordings at the same paths. Default: a local cluster.",
            ),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers",
                "-w",
                help="Worker processes of the local cluster (default: one per CPU core).",
            ),
        ] = None,
        force: Annotated[
            bool,
            typer.Option("--force", help="Analyse every file again, even unchanged ones."),
        ] = False,
        retry_errors: Annotated[
            bool,
            typer.Option(
                "--retry-errors", help="Analyse files again that failed in an earlier run."
            ),
        ] = False,
        rehash: Annotated[
            bool,
            typer.Option(
                "--rehash",
                help="Hash every file's content (default: trust the earlier hash when size "
                "and modification time are unchanged).",
            ),
        ] = False,
        config_path: Annotated[
            Path | None,
            typer.Option(
                "--config",
                help="Analysis configuration (TOML), as for `hipscope analyze --config`. "
                "Changed parameters re-analyse every file.",
            ),
        ] = None,
    ) -> None:
        """Analyse many recordings in parallel (Dask) into one table; skips unchanged files."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from hipscope.base.text import terminal_text as txt
        from hipscope.commands.analyze import load_config, print_parameters
        from hipscope.processing.batch import run_batch

        if workers is not None and workers < 1:
            raise HipscopeError(f"--workers must be at least 1, got {workers}")
        config = load_config(config_path)
        console = Console(emoji=False)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            summary = run_batch(
                paths,
                out,
                csv_path=csv,
                scheduler=scheduler,
                n_workers=workers,
                force=force,
                retry_errors=retry_errors,
                rehash=rehash,
                progress=_RichProgress(progress),
                config=config,
            )
        workers_text = f" on {summary.n_workers} workers" if summary.n_analysed else ""
        console.print(
            f"{summary.n_files} recordings: [green]{summary.n_analysed} analysed[/]"
            f"{workers_text}, {summary.n_skipped} unchanged (skipped) in "
            f"{summary.wall_s:.1f} s; [{'red' if summary.n_failed else 'green'}]"
            f"{summary.n_failed} in the errors table[/]"
        )
        for path, reason in summary.errors[:10]:
            console.print(f"  [red]✗[/] {txt(reason or path)}", highlight=False, soft_wrap=True)
        if len(summary.errors) > 10:
            console.print(f"  ... and {len(summary.errors) - 10} more")
        if summary.n_failed_earlier:
            console.print(
                f"[yellow]{summary.n_failed_earlier} of these failed in an earlier run and were "
                "not tried again; add --retry-errors to retry them[/]"
            )
        print_parameters(console, config_path, config)
        console.print(f"[green]table[/]  {txt(summary.table_path)} ({summary.n_rows} task rows)")
        console.print(f"[green]errors[/] {txt(summary.errors_path)} ({summary.n_failed} files)")
        if summary.csv_path is not None:
            console.print(f"[green]csv[/]    {txt(summary.csv_path)}")

    @app.command()
    def trends(
        table: Annotated[Path, typer.Argument(help="Batch table written by `hipscope batch`.")],
        athlete: Annotated[
            str | None,
            typer.Option(
                "--athlete",
                "-a",
                help="Athlete name as stored in the recordings (needed when the table holds "
                "more than one athlete).",
            ),
        ] = None,
        out: Annotated[
            Path, typer.Option("--out", "-o", help="HTML file to write (self-contained).")
        ] = Path("trends.html"),
        last: Annotated[
            int,
            typer.Option(
                "--last",
                help="Show the athlete's most recent N sessions (0: all; the table gets wide).",
            ),
        ] = 8,
    ) -> None:
        """An athlete's metrics over time from a batch table: pelvic drop, hip lead, gait SI."""
        from rich.console import Console

        from hipscope.base.text import terminal_text as txt
        from hipscope.processing.batch.trends import write_trends

        if last < 0:
            raise HipscopeError(f"--last must be 0 (all) or more, got {last}")
        written, shown, total = write_trends(table, out, athlete=athlete, last=last)
        note = f"{shown} sessions" if shown == total else f"the last {shown} of {total} sessions"
        hint = "" if shown == total else "; --last 0 shows all"
        Console(emoji=False).print(f"[green]trends[/] {txt(written)} ({note}{hint})")
