"""Entry points of the desktop app: QApplication setup, replay, live and review windows."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets

from hipscope.base.errors import HipscopeError
from hipscope.gui import theme

if TYPE_CHECKING:
    from hipscope.acquisition.runner import LiveAcquisition
    from hipscope.base.cues import CueRule


def _choose_platform(offscreen_ok: bool) -> None:
    """Render offscreen for screenshots on a machine without a display; else fail clearly."""
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if not offscreen_ok:
        raise HipscopeError(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset): run on a desktop, "
            "or add --screenshot PNG to render offscreen"
        )
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _quiet_offscreen(mode: QtCore.QtMsgType, context: object, message: str) -> None:
    # the offscreen plugin warns about every dock/toolbar size hint; nothing to act on
    if "propagateSizeHints" not in message:
        sys.stderr.write(message + "\n")


def application(*, offscreen_ok: bool = True) -> QtWidgets.QApplication:
    """The process's QApplication (created once), themed."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        _choose_platform(offscreen_ok)
        if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
            QtCore.qInstallMessageHandler(_quiet_offscreen)
        QtCore.QCoreApplication.setOrganizationName("hipscope")
        QtCore.QCoreApplication.setApplicationName("hipscope")
        app = QtWidgets.QApplication(sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)
    theme.apply(app)
    return app


def _finish(window: QtWidgets.QMainWindow, screenshot: str | Path | None, delay_ms: int) -> int:
    """Show the window; with a screenshot path save it after ``delay_ms`` and quit."""
    app = application()
    window.show()
    if screenshot is None:
        return int(app.exec())
    result: dict[str, Any] = {}
    loop = QtCore.QEventLoop()

    def shoot() -> None:
        try:
            window.screenshot(screenshot)  # type: ignore[attr-defined]
        except Exception as error:  # reported after the loop ends
            result["error"] = error
        _close_quietly(app, window)
        loop.quit()

    QtCore.QTimer.singleShot(delay_ms, shoot)
    loop.exec()  # a local loop: never app.quit(), which would end a caller's event loops too
    if "error" in result:
        raise result["error"]
    return 0


def _close_quietly(app: QtWidgets.QApplication, window: QtWidgets.QWidget) -> None:
    """Close without the last-window-closed quit (the process may keep using Qt)."""
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    try:
        window.close()
    finally:
        app.setQuitOnLastWindowClosed(quit_on_close)


def run_replay(
    path: str | Path,
    *,
    screenshot: str | Path | None = None,
    at_s: float | None = None,
    review: bool = False,
) -> int:
    """Open a recording in the replay window (with the review panel when ``review``)."""
    from hipscope.gui.replay import ReplaySource, ReplayWindow

    source = ReplaySource(path)  # a bad file fails before any window exists
    application(offscreen_ok=screenshot is not None)
    window = ReplayWindow(source)
    window.remember_layout = screenshot is None
    if at_s is not None:
        window.seek(at_s)
    if review:
        from hipscope.gui.review import attach_review

        attach_review(window, wait=screenshot is not None)
    window.restore_layout()
    window.start_redraw()
    return _finish(window, screenshot, delay_ms=400)


def run_live(
    acquisition: LiveAcquisition,
    *,
    duration_s: float | None = None,
    screenshot: str | Path | None = None,
    cue_rules: tuple[CueRule, ...] = (),
) -> int:
    """Show the live window for a started-or-not ``LiveAcquisition``; used by `hipscope demo --gui`.

    ``cue_rules`` are judged from the start (more can be set in the window's "Cues…").

    With ``duration_s`` the window closes after that many seconds, or ~1 s after the
    acquisition ends by itself (a virtual protocol ran out), taking the screenshot first
    when asked. The acquisition is stopped when the window closes.
    """
    from hipscope.gui.live import LiveWindow

    app = application(offscreen_ok=screenshot is not None)
    window = LiveWindow(acquisition, cue_rules=cue_rules)
    window.remember_layout = screenshot is None
    window.restore_layout()
    window.start()
    window.show()
    if duration_s is None and screenshot is None:
        code = int(app.exec())
        window.shutdown()
        return code
    result: dict[str, Any] = {}
    state = {"finishing": False, "ended": False}
    loop = QtCore.QEventLoop()

    def finish() -> None:
        if state["finishing"]:
            return
        state["finishing"] = True
        try:
            if screenshot is not None:
                window.screenshot(screenshot)
        except Exception as error:
            result["error"] = error
        _close_quietly(app, window)
        loop.quit()

    def watch() -> None:
        if getattr(acquisition, "finished", False) and not state["ended"]:
            state["ended"] = True
            QtCore.QTimer.singleShot(1000, finish)

    watcher = QtCore.QTimer(window)
    watcher.timeout.connect(watch)
    watcher.start(200)
    QtCore.QTimer.singleShot(int(1000 * (duration_s if duration_s is not None else 5.0)), finish)
    loop.exec()
    watcher.stop()
    window.shutdown()
    if "error" in result:
        raise result["error"]
    error = getattr(acquisition, "error", None)
    return 1 if error else 0


def font_family() -> str:
    """The family Qt actually renders with (empty boxes mean no usable font)."""
    return QtGui.QFontInfo(application().font()).family()
