"""Dark gym-laptop theme: colours, fonts and pyqtgraph options shared by every window."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from hipscope.base import tasks as task_registry

BACKGROUND = "#15171c"
PANEL = "#1d2027"
FOREGROUND = "#d8dce4"
MUTED = "#8a93a3"
GRID = "#2c313b"
ACCENT = "#4fb3ff"
GOOD = "#3ecf7a"
WARN = "#f2b134"
BAD = "#ff5c5c"
RECORD = "#ff3b3b"

# x, y, z channels; left/right sides; a few extra series colours
AXIS_COLOURS: tuple[str, str, str] = ("#ff6b6b", "#5ee08a", "#5aa9ff")
LEFT = "#4fb3ff"
RIGHT = "#ff9f43"
SERIES: tuple[str, ...] = ("#e8e36b", "#c58cff", "#5ee0d0", "#ff7eb6")


def task_colour(kind: str) -> str:
    """A task kind's colour from its registry record (muted for unknown kinds)."""
    record = task_registry.find(kind)
    return record.colour if record is not None else MUTED


FONT_FAMILY = "DejaVu Sans"
FONT_POINT_SIZE = 10

STYLE_SHEET = f"""
QWidget {{ background-color: {BACKGROUND}; color: {FOREGROUND}; }}
QMainWindow::separator {{ background: {GRID}; width: 3px; height: 3px; }}
QDockWidget::title {{ background: {PANEL}; padding: 4px; color: {MUTED}; }}
QPushButton, QToolButton {{
    background-color: {PANEL}; border: 1px solid {GRID}; border-radius: 4px;
    padding: 5px 10px; color: {FOREGROUND};
}}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:checked, QToolButton:checked {{ background-color: #23415e; border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #555b66; }}
QPushButton#record:checked {{ background-color: #5e1f1f; border-color: {RECORD}; color: white; }}
QLabel#chip {{ border-radius: 4px; padding: 3px 6px; font-size: 9pt; }}
QLabel#metricValue {{ font-size: 20pt; font-weight: bold; color: white; }}
QLabel#metricName {{ color: {MUTED}; }}
QLabel#title {{ font-size: 12pt; font-weight: bold; }}
QTableWidget {{ gridline-color: {GRID}; background-color: {PANEL}; }}
QHeaderView::section {{ background-color: {BACKGROUND}; color: {MUTED}; border: 0; padding: 4px; }}
QComboBox, QDoubleSpinBox {{ background-color: {PANEL}; border: 1px solid {GRID}; padding: 3px; }}
QSlider::groove:horizontal {{ background: {GRID}; height: 4px; }}
QSlider::handle:horizontal {{
    background: {ACCENT}; width: 12px; margin: -5px 0; border-radius: 6px;
}}
QTabBar::tab {{ background: {PANEL}; padding: 6px 12px; border: 1px solid {GRID}; }}
QTabBar::tab:selected {{ background: #23415e; }}
QStatusBar {{ color: {MUTED}; }}
"""


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options: no antialiasing (halves paint time), dark colours."""
    pg.setConfigOptions(
        antialias=False,
        background=BACKGROUND,
        foreground=FOREGROUND,
        useOpenGL=False,
        exitCleanup=False,
    )


def apply(app: QtWidgets.QApplication) -> None:
    """Apply fonts, palette and the style sheet to the application."""
    configure_pyqtgraph()
    font = QtGui.QFont(FONT_FAMILY, FONT_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)


def pen(colour: str, width: float = 1.0) -> QtGui.QPen:
    p = pg.mkPen(colour, width=width)
    p.setCosmetic(True)
    return p
