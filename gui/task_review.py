"""Review of automatically detected tasks: accept, relabel or delete each, then save.

When a session's tasks were found by task detection (``processing/task_detection.py``: the
recording had no task rows), the review window lists them here. For each one the coach
accepts it, gives it another kind or side (the choices come from the task registry,
``hipscope.base.tasks``), or deletes it. "Save to recording" appends the accepted tasks to
the recording as task rows with their source (``detected``, or ``detected_relabelled`` when
the label was changed), through ``add_task_rows``: a copy renamed over the file, so a
failed save leaves the file as it was. Tasks still to review are not saved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from hipscope.acquisition.recorder import add_task_rows
from hipscope.acquisition.samples import Task
from hipscope.base import tasks as task_registry
from hipscope.base.errors import HipscopeError
from hipscope.gui import theme
from hipscope.gui.replay import TimelineMark

TO_REVIEW = "to review"
ACCEPTED = "accepted"
DELETED = "deleted"
DECISIONS: tuple[str, ...] = (TO_REVIEW, ACCEPTED, DELETED)

_SIDES_BY_RULE: dict[str, tuple[str, ...]] = {
    "none": ("",),
    "left_or_right": ("left", "right"),
    "optional": ("", "left", "right"),
}


def label_choices() -> tuple[tuple[str, str], ...]:
    """Every (kind, side) a task row may carry, in the registry's order."""
    return tuple(
        (record.kind, side)
        for record in task_registry.task_kinds()
        for side in _SIDES_BY_RULE[record.side_rule]
    )


@dataclass
class DetectedTaskReview:
    """One detected task and the coach's decision about it."""

    found: Task
    confidence: float | None
    kind: str
    side: str
    decision: str = TO_REVIEW

    @property
    def relabelled(self) -> bool:
        return (self.kind, self.side) != (self.found.kind, self.found.side)

    @property
    def title(self) -> str:
        return task_registry.title(self.kind, self.side)

    @property
    def confidence_text(self) -> str:
        return "–" if self.confidence is None else f"{100 * self.confidence:.0f} %"

    def row(self) -> Task:
        """The task row saved for an accepted task, with its source."""
        return Task(
            self.kind,
            self.side,
            self.found.start_s,
            self.found.end_s,
            source="detected_relabelled" if self.relabelled else "detected",
        )

    def mark(self) -> TimelineMark:
        """How the task shows on the timeline while under review."""
        if self.decision == DELETED:
            text = f"{self.title} · deleted"
        elif self.relabelled:
            text = f"{self.title} · relabelled (detected {self.found.kind.replace('_', ' ')})"
        elif self.decision == ACCEPTED:
            text = f"{self.title} · detected {self.confidence_text}, accepted"
        else:
            text = f"{self.title} · detected {self.confidence_text}"
        return TimelineMark(
            self.found.start_s, self.found.end_s, self.kind, text, muted=self.decision == DELETED
        )


def _choice_text(kind: str, side: str) -> str:
    return task_registry.title(kind, side)


class DetectedTasksPanel(QtWidgets.QWidget):
    """The detected tasks of one analysis with a decision per task, and the save button.

    ``changed`` fires whenever a decision or label changes (the timeline redraws);
    ``saved`` carries the recording's path after the rows were written.
    """

    changed = QtCore.Signal()
    saved = QtCore.Signal(object)

    def __init__(
        self,
        *,
        status: Callable[[str, bool], None] | None = None,
        seek: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("detectedTasks")
        self.status = status or (lambda _text, _error: None)
        self.seek = seek
        self.path: Path | None = None
        self.reviews: list[DetectedTaskReview] = []
        self.choices = label_choices()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.hint = QtWidgets.QLabel(
            "No task rows in this recording: these tasks were detected in the movement. "
            "Accept, relabel or delete each, then save them into the recording."
        )
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Time", "Confidence", "Task", "Decision"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setShowGrid(False)
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table, 1)
        buttons = QtWidgets.QHBoxLayout()
        self.accept_button = QtWidgets.QPushButton("Accept")
        self.accept_button.setToolTip("Accept the selected task (A)")
        self.accept_button.clicked.connect(lambda: self._on_selected(self.accept))
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected task (Del)")
        self.delete_button.clicked.connect(lambda: self._on_selected(self.delete))
        self.accept_rest_button = QtWidgets.QPushButton("Accept the rest")
        self.accept_rest_button.setToolTip("Accept every task still to review")
        self.accept_rest_button.clicked.connect(self.accept_rest)
        self.save_button = QtWidgets.QPushButton("Save to recording")
        self.save_button.setToolTip(
            "Append the accepted tasks to the recording as task rows (Ctrl+S)"
        )
        self.save_button.clicked.connect(self.save)
        for button in (self.accept_button, self.delete_button, self.accept_rest_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.summary = QtWidgets.QLabel("")
        layout.addWidget(self.summary)
        # keys on the table itself: a QShortcut for a letter loses to the table's type-ahead
        self.table.installEventFilter(self)
        self._refresh_buttons()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """A accepts and Del deletes the selected task while the table has the focus."""
        if watched is self.table and event.type() == QtCore.QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key == QtCore.Qt.Key.Key_A:
                self._on_selected(self.accept)
                return True
            if key in (QtCore.Qt.Key.Key_Delete, QtCore.Qt.Key.Key_Backspace):
                self._on_selected(self.delete)
                return True
        return super().eventFilter(watched, event)

    # -- content ----------------------------------------------------------------------------
    def set_detected(
        self, path: str | Path | None, found: Sequence[tuple[Task, float | None]]
    ) -> None:
        """Show the detected tasks of a recording (an empty list clears the panel)."""
        self.path = None if path is None else Path(path)
        self.reviews = [
            DetectedTaskReview(task, confidence, task.kind, task.side) for task, confidence in found
        ]
        self.table.setRowCount(len(self.reviews))
        for row, review in enumerate(self.reviews):
            when = QtWidgets.QTableWidgetItem(
                f"{review.found.start_s:.1f}–{review.found.end_s:.1f} s"
            )
            self.table.setItem(row, 0, when)
            confidence = QtWidgets.QTableWidgetItem(review.confidence_text)
            confidence.setTextAlignment(
                QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
            )
            self.table.setItem(row, 1, confidence)
            label = QtWidgets.QComboBox()
            label.setToolTip("Relabel: the task's kind and side")
            for kind, side in self.choices:
                label.addItem(_choice_text(kind, side), (kind, side))
            if (review.kind, review.side) in self.choices:
                label.setCurrentIndex(self.choices.index((review.kind, review.side)))
            label.currentIndexChanged.connect(
                lambda i, r=row: self.relabel(r, *self.choices[i]) if i >= 0 else None
            )
            self.table.setCellWidget(row, 2, label)
            decision = QtWidgets.QComboBox()
            decision.addItems(list(DECISIONS))
            decision.currentTextChanged.connect(lambda text, r=row: self.decide(r, text))
            self.table.setCellWidget(row, 3, decision)
        self.table.resizeColumnsToContents()
        self._refresh_rows()

    def label_box(self, row: int) -> QtWidgets.QComboBox:
        return self.table.cellWidget(row, 2)  # type: ignore[return-value]

    def decision_box(self, row: int) -> QtWidgets.QComboBox:
        return self.table.cellWidget(row, 3)  # type: ignore[return-value]

    # -- decisions --------------------------------------------------------------------------
    def decide(self, row: int, decision: str) -> None:
        if decision not in DECISIONS:
            raise HipscopeError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
        self.reviews[row].decision = decision
        self._refresh_rows()

    def accept(self, row: int) -> None:
        self.decide(row, ACCEPTED)

    def delete(self, row: int) -> None:
        self.decide(row, DELETED)

    def relabel(self, row: int, kind: str, side: str) -> None:
        """Give a detected task another kind and side (which accepts it)."""
        if (kind, side) not in self.choices:
            raise HipscopeError(f"{kind!r} with side {side!r} is not a task of the registry")
        review = self.reviews[row]
        review.kind, review.side = kind, side
        if review.decision == TO_REVIEW:
            review.decision = ACCEPTED
        self._refresh_rows()

    def accept_rest(self) -> None:
        for review in self.reviews:
            if review.decision == TO_REVIEW:
                review.decision = ACCEPTED
        self._refresh_rows()

    def rows_to_save(self) -> list[Task]:
        return [r.row() for r in self.reviews if r.decision == ACCEPTED]

    def tasks_shown(self) -> list[Task]:
        """The detected tasks not deleted, with their current labels."""
        return [r.row() for r in self.reviews if r.decision != DELETED]

    def marks(self) -> list[TimelineMark]:
        return [r.mark() for r in self.reviews]

    def counts(self) -> dict[str, int]:
        return {d: sum(r.decision == d for r in self.reviews) for d in DECISIONS}

    # -- save -------------------------------------------------------------------------------
    def save(self) -> Path | None:
        """Append the accepted tasks to the recording; None (status says why) on failure."""
        rows = self.rows_to_save()
        if self.path is None or not rows:
            self.status("Nothing to save: accept or relabel a detected task first", True)
            return None
        left = self.counts()[TO_REVIEW]
        try:
            add_task_rows(self.path, rows)
        except HipscopeError as error:
            self.status(f"Save failed: {error}", True)
            return None
        relabelled = sum(row.source == "detected_relabelled" for row in rows)
        text = f"Saved {len(rows)} task row(s) into {self.path.name}"
        if relabelled:
            text += f" ({relabelled} relabelled)"
        if left:
            text += f"; {left} still to review, not saved"
        self.status(text, False)
        path = self.path
        self.set_detected(None, [])
        self.saved.emit(path)
        return path

    # -- view -------------------------------------------------------------------------------
    def _on_selected(self, action: Callable[[int], None]) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if rows:
            action(min(rows))

    def _selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if rows and self.seek is not None:
            self.seek(self.reviews[min(rows)].found.start_s)
        self._refresh_buttons()

    def _refresh_rows(self) -> None:
        colours = {TO_REVIEW: theme.WARN, ACCEPTED: theme.GOOD, DELETED: theme.MUTED}
        for row, review in enumerate(self.reviews):
            label, decision = self.label_box(row), self.decision_box(row)
            for box in (label, decision):
                box.blockSignals(True)
            label.setCurrentIndex(self.choices.index((review.kind, review.side)))
            decision.setCurrentText(review.decision)
            decision.setStyleSheet(f"color: {colours[review.decision]};")
            for box in (label, decision):
                box.blockSignals(False)
        counts = self.counts()
        self.summary.setText(
            f"{len(self.reviews)} detected: {counts[ACCEPTED]} accepted, "
            f"{counts[DELETED]} deleted, {counts[TO_REVIEW]} to review"
            if self.reviews
            else ""
        )
        self._refresh_buttons()
        self.changed.emit()

    def _refresh_buttons(self) -> None:
        selected = bool(self.table.selectedIndexes())
        self.accept_button.setEnabled(selected)
        self.delete_button.setEnabled(selected)
        self.accept_rest_button.setEnabled(self.counts()[TO_REVIEW] > 0)
        self.save_button.setEnabled(self.counts()[ACCEPTED] > 0)
