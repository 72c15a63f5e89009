"""Test-wide setup: Qt runs offscreen, before any QApplication exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


@pytest.fixture
def temp_qt_settings(tmp_path: Path) -> None:
    """The GUI's QSettings (window layout, last folders) in a fresh folder per test, so no
    test reads or writes the user's real settings; GUI test modules opt in with
    ``pytestmark = pytest.mark.usefixtures("temp_qt_settings")``."""
    from PySide6 import QtCore

    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat,
        QtCore.QSettings.Scope.UserScope,
        str(tmp_path / "settings"),
    )
