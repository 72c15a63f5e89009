"""Review: the session's metrics (the pipeline's analysis) beside the replay, with JSON/CSV export.

Tables: one row per task with its headline numbers; left vs right; one row per repetition;
every metric of the selected task (with the reason where a metric is unavailable).
Selecting a task moves the replay cursor to it. When the tasks were detected (the
recording has no task rows), the "Detected tasks" tab lets the coach accept, relabel or
delete each and save them into the recording (``gui/task_review.py``). "Export angles…"
writes the session's angle curves as CSV or an OpenSim motion file, through the same code
as `hipscope angles` (``processing/angle_export.py``).
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from hipscope.acquisition.samples import SOURCE_TEXT, Task
from hipscope.base import tasks as task_registry
from hipscope.base.atomic import atomic_write_text
from hipscope.base.errors import HipscopeError
from hipscope.gui import theme
from hipscope.gui.task_review import DetectedTasksPanel
from hipscope.processing.contract import (
    GaitMetrics,
    HipDriveMetrics,
    MetricsDocument,
    Repetition,
    SingleLegStanceMetrics,
    TaskResult,
    as_document,
    write_metrics,
)
from hipscope.processing.exports import spreadsheet_text


def headlines(kind: str) -> tuple[str, ...]:
    """The headline metric keys of a task kind (its task-registry record's)."""
    record = task_registry.find(kind)
    return record.headline_metrics if record is not None else ()


# (metric label, key for the left-stance / left value, key for the right, key of the SI or None)
GAIT_PAIRS: tuple[tuple[str, str, str, str | None], ...] = (
    ("Step time", "step_time_left_s", "step_time_right_s", "step_time_si_pct"),
    ("Thigh range of motion", "thigh_rom_left_deg", "thigh_rom_right_deg", "thigh_rom_si_pct"),
    (
        "Pelvic drop in single support",
        "pelvic_drop_single_support_left_deg",
        "pelvic_drop_single_support_right_deg",
        None,
    ),
    ("Hip range", "hip_sagittal_range_left_deg", "hip_sagittal_range_right_deg", None),
    ("Steps counted", "n_steps_left", "n_steps_right", None),
)
STANCE_KEYS: tuple[str, ...] = (
    "pelvic_drop_mean_deg",
    "pelvic_drop_peak_deg",
    "trunk_lean_mean_deg",
    "lumbar_lateral_bend_mean_deg",
    "sway_rms_m_s2",
    "sway_ellipse_area_m2_s4",
    "hold_s",
)
REP_COLUMNS: tuple[str, ...] = (
    "hip_onset_s",
    "lumbar_onset_s",
    "hip_lead_ms",
    "peak_hip_ext_vel_deg_s",
    "time_to_peak_hip_ext_vel_s",
    "hip_share_pct",
    "rejected",
)


def label(key: str) -> tuple[str, str, int]:
    """(name, unit, decimals) of a metric key, from the report's label table."""
    try:
        from hipscope.processing.report.labels import label_for

        found = label_for(key)
        return found.name, found.unit, found.decimals
    except ImportError:  # pragma: no cover - report module missing
        return key, "", 2


def fmt(value: Any, key: str = "") -> str:
    """A metric value as table text; None/NaN as an en dash."""
    _, unit, decimals = label(key) if key else ("", "", 2)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.{decimals}f}"
    elif isinstance(value, list | tuple):
        return f"{len(value)} values" if len(value) > 6 else ", ".join(fmt(v) for v in value)
    elif isinstance(value, Mapping):
        return "; ".join(f"{k} ×{v}" for k, v in value.items()) or "none"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit not in ("°", "%") else f"{text}{unit}"


def fmt_pm(value: Any, key: str, kind: str | None = None, contact_source: str | None = None) -> str:
    """``fmt`` plus hipscope's own 95 % error ("± x", ``processing/uncertainty.py``) where it
    covers the metric for this task ``kind``."""
    text = fmt(value, key)
    if value is None or text == "–":
        return text
    from hipscope.processing.uncertainty import plus_minus

    _, unit, decimals = label(key)
    extra = plus_minus(key, decimals, unit, kind, contact_source)
    return f"{text} {extra}" if extra else text


def task_name(task: TaskResult) -> str:
    """The task's title, and where it came from when it was not marked while recording."""
    if task.source == "detected" and task.confidence is not None:
        return f"{task.title} · detected {100 * task.confidence:.0f} %"
    if task.source in SOURCE_TEXT:
        return f"{task.title} · {SOURCE_TEXT[task.source]}"
    return task.title


def left_right_rows(document: MetricsDocument) -> list[tuple[str, Any, Any, str, str]]:
    """Rows (metric, left, right, difference or SI text, key) comparing the sides."""
    rows: list[tuple[str, Any, Any, str, str]] = []
    stance = {
        t.side: t.metrics
        for t in document.tasks
        if isinstance(t.metrics, SingleLegStanceMetrics) and t.side
    }
    if stance:
        empty = SingleLegStanceMetrics()
        left, right = stance.get("left", empty), stance.get("right", empty)
        for key in STANCE_KEYS:
            name = label(key)[0]
            lv, rv = getattr(left, key), getattr(right, key)
            diff = "–"
            if lv is not None and rv is not None:
                diff = f"L−R {fmt(float(lv) - float(rv), key)}"
            rows.append((f"SLS: {name}", lv, rv, diff, key))
    gait = next((t.metrics for t in document.tasks if isinstance(t.metrics, GaitMetrics)), None)
    if gait is not None:
        for name, lkey, rkey, si_key in GAIT_PAIRS:
            si = fmt(getattr(gait, si_key), si_key) if si_key else "–"
            rows.append(
                (
                    f"Gait: {name}",
                    getattr(gait, lkey),
                    getattr(gait, rkey),
                    f"SI {si}" if si_key else "–",
                    lkey,
                )
            )
    return rows


def repetition_rows(document: MetricsDocument) -> list[tuple[int, str, int, Repetition]]:
    """(task index, task name, repetition number, repetition) for every repetition."""
    rows = []
    for index, task in enumerate(document.tasks):
        if isinstance(task.metrics, HipDriveMetrics):
            for number, rep in enumerate(task.metrics.repetitions, start=1):
                rows.append((index, task.title, number, rep))
    return rows


def _task_values(task: TaskResult) -> dict[str, Any]:
    """The task's metrics as the analyser set them (JSON-ready, the model's order)."""
    return task.metrics.model_dump(mode="json", exclude_unset=True)


def metrics_csv(document: MetricsDocument) -> str:
    """Long-format CSV: one row per task metric (and per repetition field)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "task_index",
            "kind",
            "side",
            "start_s",
            "end_s",
            "repetition",
            "metric",
            "value",
            "unavailable",
        ]
    )
    for index, task in enumerate(document.tasks):
        base = [index, spreadsheet_text(task.kind), task.side, task.start_s, task.end_s]
        values = _task_values(task)
        for key, value in values.items():
            if key == "repetitions" and isinstance(value, list):
                for number, rep in enumerate(value, start=1):
                    for rkey, rvalue in rep.items():
                        writer.writerow([*base, number, rkey, _csv_value(rvalue), ""])
                continue
            reason = spreadsheet_text(task.unavailable.get(key, ""))
            writer.writerow([*base, "", key, _csv_value(value), reason])
        for key, reason in task.unavailable.items():
            if key not in values:
                writer.writerow([*base, "", spreadsheet_text(key), "", spreadsheet_text(reason)])
    return out.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(_csv_value(v) for v in value)
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return spreadsheet_text(value)  # text from files is never a spreadsheet formula
    return str(value)


def export(document: MetricsDocument | Mapping[str, Any], path: str | Path) -> Path:
    """Write the metrics as JSON (``.json``) or long CSV (``.csv``)."""
    out = Path(path)
    if out.suffix.lower() == ".json":
        write_metrics(as_document(document), out)
    elif out.suffix.lower() == ".csv":
        try:
            atomic_write_text(out, metrics_csv(as_document(document)))
        except OSError as error:
            raise HipscopeError(f"{out}: cannot write ({error.strerror})") from None
    else:
        raise HipscopeError(f"cannot export to {out.name}: expected a .json or .csv file name")
    return out


def _table(headers: Sequence[str]) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setStretchLastSection(True)
    table.setAlternatingRowColors(False)
    table.setShowGrid(False)
    return table


def _fill(table: QtWidgets.QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QtWidgets.QTableWidgetItem(text)
            if 0 < c and not (table.columnCount() == 3 and c == 2):
                item.setTextAlignment(
                    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                )
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


class _Signals(QtCore.QObject):
    done = QtCore.Signal(object, object)  # (analysis or None, error text or None)
    progress = QtCore.Signal(str, float)


class ReviewPanel(QtWidgets.QWidget):
    """Metric tables for one analysed session, with export buttons.

    ``seek`` (optional) is called with a task's start time when the coach selects it.
    """

    def __init__(
        self,
        *,
        seek: Callable[[float], None] | None = None,
        cursor: Callable[[], float] | None = None,
        status: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("reviewPanel")
        self.seek = seek
        self.cursor_s = cursor
        self.status = status
        self.doc: dict[str, Any] | None = None  # the document as JSON-ready data
        self.document: MetricsDocument | None = None
        self.analysis: Any = None
        self._signals = _Signals()
        self._signals.done.connect(self._on_done)
        self._signals.progress.connect(self._on_progress)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        head = QtWidgets.QHBoxLayout()
        self.state_label = QtWidgets.QLabel("No analysis yet")
        self.state_label.setObjectName("title")
        head.addWidget(self.state_label, 1)
        self.json_button = QtWidgets.QPushButton("Export JSON")
        self.csv_button = QtWidgets.QPushButton("Export CSV")
        for button, suffix in ((self.json_button, ".json"), (self.csv_button, ".csv")):
            button.setEnabled(False)
            button.setToolTip(f"Save the session metrics as {suffix[1:].upper()}")
            button.clicked.connect(lambda _=False, s=suffix: self._export_dialog(s))
            head.addWidget(button)
        self.angles_button = QtWidgets.QPushButton("Export angles…")
        self.angles_button.setEnabled(False)
        self.angles_button.setToolTip(
            "Save the angle curves: .csv (hipscope names, degrees) or .mot (OpenSim)"
        )
        self.angles_button.clicked.connect(self._export_angles_dialog)
        head.addWidget(self.angles_button)
        layout.addLayout(head)
        self.message_label = QtWidgets.QLabel("")
        self.message_label.setObjectName("message")
        layout.addWidget(self.message_label)
        from hipscope.processing.uncertainty import plus_minus_note

        caveat = QtWidgets.QLabel(plus_minus_note())
        caveat.setWordWrap(True)
        caveat.setObjectName("caveat")
        layout.addWidget(caveat)
        self.tasks_table = _table(["Task", "Time", "Key metrics"])
        self.tasks_table.itemSelectionChanged.connect(self._task_selected)
        self.tasks_table.setWordWrap(True)
        self.sides_table = _table(["Metric", "Left", "Right", "Asymmetry"])
        self.reps_table = _table(
            [
                "Task",
                "Rep",
                "Hip lead",
                "Hip onset",
                "Back onset",
                "Peak hip ext vel",
                "Hip share",
                "Not used because",
            ]
        )
        self.detail_table = _table(["Metric", "Value", "Note"])
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.sides_table, "Left vs right")
        self.tabs.addTab(self.reps_table, "Repetitions")
        self.tabs.addTab(self.detail_table, "Task detail")
        self.series_plot = pg.PlotWidget(background=theme.PANEL)
        self.series_plot.getPlotItem().setMenuEnabled(False)
        self.series_plot.getPlotItem().getAxis("bottom").setLabel("session time", units="s")
        self.series_legend = self.series_plot.getPlotItem().addLegend(offset=(8, 8))
        self.tabs.addTab(self.series_plot, "Task plot")
        self.detected = DetectedTasksPanel(status=self.show_status, seek=seek)
        self.detected_tab = self.tabs.addTab(self.detected, "Detected tasks")
        self.tabs.setTabVisible(self.detected_tab, False)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.tasks_table)
        split.addWidget(self.tabs)
        split.setSizes([320, 420])
        layout.addWidget(split, 1)
        self.source_path: Path | None = None

    # -- analysis ---------------------------------------------------------------------------
    def show_status(self, text: str, error: bool = False) -> None:
        """One line for the coach: in the panel and in the window's status bar."""
        self.message_label.setText(text)
        self.message_label.setStyleSheet(f"color: {theme.BAD};" if error else "")
        if self.status is not None:
            self.status(text)

    def analyze(self, path: str | Path, *, wait: bool = False) -> None:
        """Run the session analysis (in a background thread unless ``wait``)."""
        self.source_path = Path(path)
        self.state_label.setText("Analysing…")
        self.angles_button.setEnabled(False)

        def work() -> None:
            try:
                from hipscope.processing.pipeline import analyze_recording

                analysis = analyze_recording(
                    path,
                    progress=lambda stage, fraction: self._signals.progress.emit(stage, fraction),
                )
                self._signals.done.emit(analysis, None)
            except Exception as error:
                self._signals.done.emit(None, str(error) or type(error).__name__)

        if wait:
            work()
            QtWidgets.QApplication.processEvents()
        else:
            threading.Thread(target=work, name="hipscope-review", daemon=True).start()

    def _on_progress(self, stage: str, fraction: float) -> None:
        self.state_label.setText(f"Analysing… {stage} {100 * fraction:.0f} %")

    def _on_done(self, analysis: Any, error: str | None) -> None:
        if error is not None:
            self.state_label.setText(f"Analysis failed: {error}")
            self.state_label.setStyleSheet(f"color: {theme.BAD};")
            return
        self.analysis = analysis
        self.show_doc(analysis.to_document())

    # -- tables -----------------------------------------------------------------------------
    def show_doc(self, document: MetricsDocument | Mapping[str, Any]) -> None:
        """Fill every table from a metrics document (validated by the contract)."""
        doc = self.document = as_document(document)
        self.doc = doc.to_dict()
        athlete = doc.recording.athlete or "athlete"
        duration = fmt(doc.recording.duration_s, "duration_s")
        self.state_label.setText(f"{athlete} · {len(doc.tasks)} tasks · {duration}")
        self.state_label.setStyleSheet("")
        task_rows = []
        for task in doc.tasks:
            values = _task_values(task)
            parts = [
                f"{label(k)[0]} {fmt_pm(values[k], k, task.kind, values.get('contact_source'))}"
                for k in headlines(task.kind)
                if k in values
            ]
            when = f"{fmt(task.start_s)}–{fmt(task.end_s)} s"
            task_rows.append([task_name(task), when, "\n".join(parts) or "–"])
        _fill(self.tasks_table, task_rows)
        self.tasks_table.resizeRowsToContents()
        _fill(
            self.sides_table,
            [
                [name, fmt_pm(lv, key), fmt_pm(rv, key.replace("left", "right")), diff]
                for name, lv, rv, diff, key in left_right_rows(doc)
            ],
        )
        _fill(
            self.reps_table,
            [
                [task, str(number)]
                + [
                    fmt(getattr(rep, k), k)
                    for k in (
                        "hip_lead_ms",
                        "hip_onset_s",
                        "lumbar_onset_s",
                        "peak_hip_ext_vel_deg_s",
                        "hip_share_pct",
                        "rejected",
                    )
                ]
                for _, task, number, rep in repetition_rows(doc)
            ],
        )
        for button in (self.json_button, self.csv_button):
            button.setEnabled(True)
        self.angles_button.setEnabled(self.analysis is not None)
        self._show_detected(doc)
        if task_rows:
            self.show_task(self._task_at_cursor(doc))

    def _show_detected(self, doc: MetricsDocument) -> None:
        """Fill the "Detected tasks" tab when this analysis detected its tasks."""
        found = (
            [
                (Task(t.kind, t.side, t.start_s, t.end_s, source="detected"), t.confidence)
                for t in doc.tasks
                if t.source == "detected" and t.start_s is not None and t.end_s is not None
            ]
            if doc.task_detection is not None
            else []
        )
        self.detected.set_detected(self.source_path if found else None, found)
        if not found and self.tabs.currentIndex() == self.detected_tab:
            self.tabs.setCurrentIndex(0)  # Qt would show the hidden tab's neighbour
        self.tabs.setTabVisible(self.detected_tab, bool(found))
        self.tabs.setTabText(self.detected_tab, f"Detected tasks ({len(found)})")
        if found:
            self.tabs.setCurrentIndex(self.detected_tab)

    def _task_at_cursor(self, document: MetricsDocument) -> int:
        if self.cursor_s is None:
            return 0
        now = self.cursor_s()
        for index, task in enumerate(document.tasks):
            start = task.start_s if task.start_s is not None else math.inf
            end = task.end_s if task.end_s is not None else -math.inf
            if start <= now <= end:
                return index
        return 0

    def show_task(self, index: int) -> None:
        if self.document is None:
            return
        task = self.document.tasks[index]
        values = _task_values(task)
        rows = []
        for key, value in values.items():
            if key == "repetitions":
                rows.append(["Repetitions (see tab)", str(len(value or [])), ""])
                continue
            name, _, _ = label(key)
            shown = fmt_pm(value, key, task.kind, values.get("contact_source"))
            rows.append([name, shown, task.unavailable.get(key, "")])
        for key, reason in task.unavailable.items():
            if key not in values:
                rows.append([label(key)[0], "–", reason])
        _fill(self.detail_table, rows)
        self.plot_series(index)
        self.tabs.setTabText(2, f"Detail: {task.title}")

    def plot_series(self, index: int) -> int:
        """Plot the selected task's analysis series (angles, velocities; events as lines)."""
        plot = self.series_plot.getPlotItem()
        plot.clear()
        self.series_legend.clear()
        tasks = getattr(self.analysis, "tasks", None)
        if not tasks or index >= len(tasks):
            return 0
        series = tasks[index].series
        time_s = series.get("time_s")
        if time_s is None or len(time_s) == 0:
            return 0
        drawn = 0
        for key, values in series.items():
            if key == "time_s":
                continue
            if len(values) == len(time_s):
                colour = theme.SERIES[drawn % len(theme.SERIES)]
                plot.plot(time_s, values, pen=theme.pen(colour, 1.5), name=label(key)[0])
                drawn += 1
            elif key.endswith("_s"):  # event times: onsets, contacts
                colour = theme.LEFT if "lumbar" not in key else theme.RIGHT
                for t in values:
                    plot.addLine(
                        x=float(t), pen=pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DotLine)
                    )
        return drawn

    def _task_selected(self) -> None:
        rows = {i.row() for i in self.tasks_table.selectedItems()}
        if not rows or self.document is None:
            return
        index = min(rows)
        self.show_task(index)
        start_s = self.document.tasks[index].start_s
        if self.seek is not None and start_s is not None:
            self.seek(start_s)

    # -- export -----------------------------------------------------------------------------
    def export(self, path: str | Path) -> Path:
        if self.document is None:
            raise HipscopeError("no metrics to export yet (the analysis has not finished)")
        return export(self.document, path)

    def export_angles(self, path: str | Path) -> Any:
        """Write the session's angles (.csv or .mot by the suffix), as `hipscope angles`
        does; returns the table written."""
        if self.analysis is None:
            raise HipscopeError("no angles to export yet (the analysis has not finished)")
        from hipscope.processing.angle_export import export_angles

        kin = self.analysis.kinematics
        try:
            return export_angles(
                path,
                kin.time_s,
                kin.angles_rad,
                kin.q_world_segment,
                self.analysis.recording.sensors,
            )
        except OSError as error:
            raise HipscopeError(f"{path}: cannot write ({error.strerror or error})") from None

    def _export_angles_dialog(self) -> None:
        stem = self.source_path.with_suffix("") if self.source_path else Path("session")
        csv_filter, mot_filter = "Angles, CSV (*.csv)", "OpenSim motion (*.mot)"
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export angles", f"{stem}_angles.csv", f"{csv_filter};;{mot_filter}"
        )
        if not path:
            return
        if Path(path).suffix.lower() not in (".csv", ".mot"):
            path += ".mot" if chosen == mot_filter else ".csv"
        self.save_angles(path)

    def save_angles(self, path: str | Path) -> bool:
        """``export_angles`` with its one-line outcome in the status; True when written."""
        try:
            table = self.export_angles(path)
        except HipscopeError as error:
            self.show_status(f"Angle export failed: {error}", True)
            return False
        self.show_status(
            f"Angles saved: {Path(path).name} ({table.n_rows} rows × {len(table.columns)} angles)"
        )
        return True

    def _export_dialog(self, suffix: str) -> None:
        stem = self.source_path.with_suffix("") if self.source_path else Path("metrics")
        suggestion = f"{stem}.metrics{suffix}"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export metrics", suggestion, f"*{suffix}"
        )
        if path:
            try:
                out = self.export(path)
                self.show_status(f"Saved {out.name}")
            except (OSError, HipscopeError) as error:
                self.show_status(f"Export failed: {error}", True)


def attach_review(window: Any, *, wait: bool = False) -> ReviewPanel:
    """Add a review dock to a ReplayWindow and analyse its recording."""
    panel = ReviewPanel(
        seek=window.request_seek,
        cursor=lambda: window.position_s,
        status=lambda text: window.status.showMessage(text),
    )
    dock = QtWidgets.QDockWidget("Review", window)
    dock.setObjectName("dock_review")
    dock.setWidget(panel)
    window.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.tabifyDockWidget(window.sensor_dock, dock)  # metrics beside the replay, raw on a tab
    dock.raise_()
    window.settings_key = "review"
    window.review_panel = panel
    window.review_dock = dock
    window.add_shortcut("Ctrl+E", lambda: panel._export_dialog(".json"), "Export JSON")
    window.add_shortcut("Ctrl+S", panel.detected.save, "Save accepted detected tasks")

    def show_marks() -> None:
        window.timeline.set_marks(panel.detected.marks())
        window.source.review_tasks = tuple(panel.detected.tasks_shown())
        window.task_state = None
        window.redraw()

    def saved(path: Path) -> None:
        """The file now holds the accepted rows: show them as rows and analyse again."""
        try:
            window.source.reload_tasks()
        except HipscopeError as error:
            panel.show_status(f"Saved, but cannot read the file again: {error}", True)
            return
        window.timeline.set_tasks(window.source.tasks)
        panel.analyze(path, wait=wait)

    panel.detected.changed.connect(show_marks)
    panel.detected.saved.connect(saved)
    panel.analyze(window.source.path, wait=wait)
    return panel
