"""PySide6 6.12.0 aborts Python 3.11 after ~10 s of plotting (none_dealloc): catch it.

The pin in pyproject excludes that release; this test fails if an install slips past the
pin, both by version and by actually plotting for long enough to trigger the crash (in a
subprocess, so an abort is reported instead of killing the test run).
"""

from __future__ import annotations

import os
import subprocess
import sys

import PySide6

PLOT_FOR_12_S = r"""
import time
import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

app = QtWidgets.QApplication([])
plot = pg.PlotWidget()
curve = plot.plot()
plot.resize(400, 300)
plot.show()
start = time.monotonic()
frames = 0
while time.monotonic() - start < 12.0:
    curve.setData(np.random.default_rng(frames).normal(size=2000))
    app.processEvents()
    frames += 1
print(frames)
"""


def test_pyside6_is_not_the_release_that_crashes_python_311() -> None:
    if sys.version_info[:2] == (3, 11):
        assert PySide6.__version__ != "6.12.0"


def test_twelve_seconds_of_plotting_do_not_abort_python() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", PLOT_FOR_12_S], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 50
