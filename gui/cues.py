"""Live cues in the window: the colour flash with its label, the tone, the counters, the rules.

The rules and their engine are ``hipscope.base.cues``; the values come from
``gui/cuevalues.py``. This module only shows and sounds a cue:

- ``CueFlash``: an opaque band of colour across the whole width of the window naming the
  rule and the value ("pelvic drop 6.2° > 5°"), for ``FLASH_MS``; it notes when it was
  first painted (the latency benchmark reads that). Opaque on purpose: a translucent tint
  over the window makes Qt repaint every plot under it before the flash appears, which
  measured 60-140 ms on a busy laptop; the band alone paints in a few.
- ``CueTone``: a short generated tone through Qt Multimedia's ``QSoundEffect``. Without Qt
  Multimedia or an audio output device it stays silent and says why once
  (``problem``); the flash works either way.
- ``CueBar``: the "Cues…" button and one counter chip per rule.
- ``CueDialog``: add rules (typed, checked with ``parse_rule``, errors shown inline) and
  remove them while streaming.
"""

from __future__ import annotations

import io
import logging
import math
import time
import wave
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from hipscope.base.cues import CUE_METRICS, CueEvent, CueRule, CueRuleError, parse_rule
from hipscope.gui import theme

log = logging.getLogger(__name__)

FLASH_MS = 600
FLASH_COLOUR = theme.WARN
FLASH_HEIGHT_FRACTION = 0.25  # of the window: readable from across the room
TONE_HZ = 880.0
TONE_S = 0.18
TONE_RATE_HZ = 44_100


def _unit(metric: str) -> str:
    unit = CUE_METRICS[metric].unit if metric in CUE_METRICS else ""
    return unit if unit == "°" else f" {unit}"


def cue_text(event: CueEvent, rule: CueRule | None = None) -> str:
    """What the flash says: "pelvic drop 6.2° > 5°", "|step-time SI| 9.1 % > 8 %"."""
    metric = CUE_METRICS.get(event.metric)
    name = metric.short if metric is not None else event.metric.replace("_", " ")
    unit = _unit(event.metric)
    value = event.value
    if rule is not None and rule.absolute:
        name, value = f"|{name}|", abs(value)
    op = rule.op if rule is not None else _op_of(event.rule)
    digits = metric.decimals if metric is not None else 1
    return f"{name} {value:.{digits}f}{unit} {op} {event.threshold:g}{unit}"


def _op_of(text: str) -> str:
    for op in (">=", "<=", ">", "<"):
        if op in text:
            return op
    return "?"


def tone_wav(
    frequency_hz: float = TONE_HZ, duration_s: float = TONE_S, rate_hz: int = TONE_RATE_HZ
) -> bytes:
    """A mono 16-bit WAV of a sine tone with 10 ms fades (no click at either end)."""
    n = max(1, round(duration_s * rate_hz))
    t = np.arange(n) / rate_hz
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.010)
    samples = (0.6 * 32767 * fade * np.sin(2 * math.pi * frequency_hz * t)).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate_hz)
        file.writeframes(samples.tobytes())
    return out.getvalue()


class CueFlash(QtWidgets.QWidget):
    """A band of colour across the window, centred, with the cue's text."""

    def __init__(self, window: QtWidgets.QWidget) -> None:
        super().__init__(window)
        self.setObjectName("cueFlash")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.text = ""
        self.flashes = 0
        self.flashed_at_s = math.nan
        self.painted_at_s = math.nan
        self.painted: list[Callable[[float], None]] = []
        self._awaiting_paint = False
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        window.installEventFilter(self)
        self.hide()

    def flash(self, text: str, duration_ms: int = FLASH_MS) -> None:
        """Show ``text`` for ``duration_ms`` (a new cue restarts the flash)."""
        self.text = text
        self.flashes += 1
        self.flashed_at_s = time.monotonic()
        self._awaiting_paint = True
        self._place()
        self.raise_()
        self.show()
        self.repaint()  # now, not after the plots of this redraw (opaque: only the band)
        self._timer.start(duration_ms)

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        area = parent.rect()
        height = max(80, int(area.height() * FLASH_HEIGHT_FRACTION))
        self.setGeometry(0, (area.height() - height) // 2, area.width(), height)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        band = self.rect()
        painter.fillRect(band, QtGui.QColor(FLASH_COLOUR))
        font = QtGui.QFont(theme.FONT_FAMILY)
        font.setBold(True)
        font.setPixelSize(max(24, int(band.height() * 0.45)))
        metrics = QtGui.QFontMetrics(font)
        width = metrics.horizontalAdvance(self.text)
        if width > 0.92 * band.width():  # shrink a long label to fit the window
            font.setPixelSize(max(12, int(font.pixelSize() * 0.92 * band.width() / width)))
        painter.setFont(font)
        painter.setPen(QtGui.QColor(theme.BACKGROUND))
        painter.drawText(band, QtCore.Qt.AlignmentFlag.AlignCenter, self.text)
        painter.end()
        if self._awaiting_paint:
            self._awaiting_paint = False
            self.painted_at_s = time.monotonic()
            for listener in self.painted:
                listener(self.painted_at_s)


class CueTone:
    """A short tone per cue through Qt Multimedia; silent, with ``problem`` set, without audio."""

    def __init__(self, parent: QtCore.QObject) -> None:
        self.problem = ""
        self.played = 0
        self._effect: object | None = None
        self._folder: QtCore.QTemporaryDir | None = None
        try:
            # Qt Multimedia logs its backend probing (VA-API, FFmpeg) as warnings
            QtCore.QLoggingCategory.setFilterRules("qt.multimedia.*=false")
            from PySide6 import QtMultimedia
        except ImportError:
            self.problem = "no audio (Qt Multimedia is not installed): visual cues only"
            return
        if QtMultimedia.QMediaDevices.defaultAudioOutput().isNull():
            self.problem = "no audio device: visual cues only"
            return
        self._folder = QtCore.QTemporaryDir()
        path = self._folder.filePath("cue-tone.wav")
        try:
            with open(path, "wb") as file:
                file.write(tone_wav())
        except OSError as error:
            self.problem = f"no audio (cannot write the tone: {error}): visual cues only"
            return
        effect = QtMultimedia.QSoundEffect(parent)
        effect.setSource(QtCore.QUrl.fromLocalFile(path))
        effect.setVolume(0.9)
        self._effect = effect

    @property
    def available(self) -> bool:
        return self._effect is not None and not self.problem

    def play(self) -> bool:
        """Start the tone; False (and ``problem`` set once) when it cannot sound."""
        effect = self._effect
        if effect is None or self.problem:
            return False
        from PySide6 import QtMultimedia

        assert isinstance(effect, QtMultimedia.QSoundEffect)
        if effect.status() == QtMultimedia.QSoundEffect.Status.Error:
            self.problem = "the audio device refused the cue tone: visual cues only"
            return False
        effect.play()
        self.played += 1
        return True


class CueBar(QtWidgets.QToolBar):
    """The "Cues…" button, one counter chip per rule and the audio state."""

    def __init__(self, parent: QtWidgets.QWidget, open_dialog: Callable[[], object]) -> None:
        super().__init__("Cues", parent)
        self.setObjectName("cues")
        self.setMovable(False)
        self.button = QtWidgets.QPushButton("Cues…")
        self.button.setToolTip("Set the rules that cue the athlete (K)")
        self.button.clicked.connect(open_dialog)
        self.addWidget(self.button)
        self.audio = QtWidgets.QLabel("")
        self.audio.setObjectName("metricName")
        self.chips: dict[str, QtWidgets.QLabel] = {}
        self._chip_area = QtWidgets.QWidget()
        self._chip_layout = QtWidgets.QHBoxLayout(self._chip_area)
        self._chip_layout.setContentsMargins(8, 0, 8, 0)
        self._chip_layout.setSpacing(8)
        self.empty = QtWidgets.QLabel("no cue rules")
        self.empty.setObjectName("metricName")
        self._chip_layout.addWidget(self.empty)
        self.addWidget(self._chip_area)
        self.addWidget(self.audio)

    def show_counts(self, counts: Mapping[str, int], *, fresh: str = "") -> None:
        """One chip per rule ("pelvic_drop_deg>5: 3"); ``fresh`` highlights the rule just cued."""
        for text in [t for t in self.chips if t not in counts]:
            self.chips.pop(text).deleteLater()
        for text, count in counts.items():
            chip = self.chips.get(text)
            if chip is None:
                chip = self.chips[text] = QtWidgets.QLabel()
                chip.setObjectName("chip")
                self._chip_layout.addWidget(chip)
            chip.setText(f"{text}: {count}")
            colour = FLASH_COLOUR if text == fresh else theme.PANEL
            ink = theme.BACKGROUND if text == fresh else theme.FOREGROUND
            chip.setStyleSheet(f"background-color: {colour}; color: {ink}; font-weight: bold;")
        self.empty.setVisible(not counts)

    def set_audio_problem(self, problem: str) -> None:
        self.audio.setText(problem)
        self.audio.setToolTip(problem)


class CueDialog(QtWidgets.QDialog):
    """Add and remove cue rules while streaming (not modal: the live window keeps running)."""

    def __init__(
        self,
        parent: QtWidgets.QWidget,
        rules: Sequence[CueRule],
        add: Callable[[CueRule], None],
        remove: Callable[[str], None],
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Cue rules")
        self.setModal(False)
        self._add, self._remove = add, remove
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(
            "A rule cues the athlete once each time it breaks, e.g. "
            "<code>pelvic_drop_deg&gt;5</code> or <code>hip_lead_ms&lt;0</code>; bars take the "
            "size either way: <code>|step_time_si_pct|&gt;8</code>."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QtWidgets.QListWidget()
        self.list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        layout.addWidget(self.list)
        row = QtWidgets.QHBoxLayout()
        self.edit = QtWidgets.QLineEdit()
        self.edit.setPlaceholderText("metric op number, e.g. trunk_lean_deg>8")
        self.edit.setMaxLength(200)
        self.edit.returnPressed.connect(self.add_typed)
        self.edit.textEdited.connect(self._clear_error)
        self.add_button = QtWidgets.QPushButton("Add")
        self.add_button.clicked.connect(self.add_typed)
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        for widget in (self.edit, self.add_button, self.remove_button):
            row.addWidget(widget)
        layout.addLayout(row)
        self.error = QtWidgets.QLabel("")
        self.error.setObjectName("cueError")
        self.error.setStyleSheet(f"color: {theme.BAD};")
        self.error.setWordWrap(True)
        self.error.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # rule text is data
        layout.addWidget(self.error)
        metrics = QtWidgets.QLabel(
            "Metrics: "
            + "; ".join(
                f"{m.name} ({m.label}, {'/'.join(m.families)})" for m in CUE_METRICS.values()
            )
        )
        metrics.setObjectName("metricName")
        metrics.setWordWrap(True)
        metrics.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        layout.addWidget(metrics)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)
        self.set_rules(rules)
        self.resize(560, 360)

    def _clear_error(self, _text: str = "") -> None:
        self.error.setText("")

    def set_rules(self, rules: Sequence[CueRule]) -> None:
        self.list.clear()
        for rule in rules:
            self.list.addItem(rule.text)

    def rules_shown(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def add_typed(self) -> bool:
        """Add the typed rule; a bad rule leaves its one-line error under the field."""
        text = self.edit.text()
        try:
            rule = parse_rule(text)
        except CueRuleError as error:
            self.error.setText(str(error))
            return False
        if rule.text in self.rules_shown():
            self.error.setText(f"{rule.text} is already set")
            return False
        self.list.addItem(rule.text)  # listed first: the window then sees it is shown
        self._add(rule)
        self.edit.clear()
        self.error.setText("")
        return True

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self._remove(item.text())
        self.list.takeItem(self.list.row(item))
