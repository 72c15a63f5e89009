"""`hipscope report` (one session as an HTML coaching report) and `hipscope compare` (history)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipscope.base.errors import HipscopeError


def _analysis_source(file: Path, fusion: str) -> object:
    """A SessionAnalysis for a recording, or the metrics document for a JSON file."""
    if not file.exists():
        raise HipscopeError(f"{file}: no such file")
    suffix = file.suffix.lower()
    if suffix == ".json":
        from hipscope.processing.contract import read_metrics

        return read_metrics(file)
    if suffix not in (".h5", ".hdf5"):
        raise HipscopeError(f"{file}: expected a recording (.h5) or a metrics file (.json)")
    from hipscope.commands.analyze import analyze_with_progress

    return analyze_with_progress(file, fusion)


def _print_pdf_atomically(html: Path) -> Path:
    """The report as PDF next to it; an earlier PDF stays until the new one is complete."""
    from hipscope.base.atomic import atomic_path
    from hipscope.processing.report.chromium import print_pdf

    target = html.with_suffix(".pdf")
    try:
        with atomic_path(target) as temp:
            print_pdf(html, temp)
    except OSError as error:
        raise HipscopeError(f"{target}: cannot write the PDF ({error.strerror})") from None
    return target


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        file: Annotated[Path, typer.Argument(help="Recording (.h5) or metrics file (.json).")],
        out: Annotated[
            Path | None,
            typer.Option(
                "--out", "-o", help="HTML file to write (default: FILE with the suffix .html)."
            ),
        ] = None,
        athlete: Annotated[
            str | None,
            typer.Option(help="Athlete name to show (default: the name in the recording)."),
        ] = None,
        pdf: Annotated[
            bool,
            typer.Option("--pdf", help="Also print the report to PDF (needs headless Chromium)."),
        ] = False,
        fusion: Annotated[
            str, typer.Option(help="Orientation filter used to analyse a recording.")
        ] = "vqf-offline",
    ) -> None:
        """Write the coaching report of one session: metrics, left vs right, plots."""
        from rich.console import Console

        from hipscope.base.text import terminal_text as txt
        from hipscope.processing.report.html import write_report

        source = _analysis_source(file, fusion)
        written = write_report(source, out or file.with_suffix(".html"), athlete=athlete)
        console = Console(emoji=False)
        console.print(f"[green]report[/] {txt(written)}")
        if pdf:
            pdf_path = _print_pdf_atomically(written)
            console.print(f"[green]pdf[/]    {txt(pdf_path)}")

    @app.command()
    def compare(
        files: Annotated[
            list[Path],
            typer.Argument(help="Sessions of one athlete: recordings (.h5) or metrics (.json)."),
        ],
        out: Annotated[
            Path, typer.Option("--out", "-o", help="HTML file to write (self-contained).")
        ] = Path("compare.html"),
        athlete: Annotated[
            str | None,
            typer.Option(help="Athlete name to show (default: the name in the sessions)."),
        ] = None,
    ) -> None:
        """Compare sessions over time: pelvic drop left/right, hip lead, step symmetry."""
        from rich.console import Console

        from hipscope.base.text import terminal_text as txt
        from hipscope.processing.report.compare import write_comparison

        written = write_comparison(files, out, athlete=athlete)
        Console(emoji=False).print(f"[green]comparison[/] {txt(written)} ({len(files)} sessions)")
