"""Cue rules judged without a window: the live window's hub, values and engine, headless.

``hipscope demo --cue RULE`` streams the virtual kit without the GUI; ``CueWatcher`` judges
the rules on the virtual protocol's tasks from the same ring buffers, streaming fusion and
``CueJudge`` the live window uses, and hands each cue to the acquisition for the recording.
Qt-free: nothing here needs a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hipscope.base.cues import CueEngine, CueEvent, CueRule
from hipscope.gui.cuevalues import CueJudge
from hipscope.gui.worker import acquisition_hub, planned_task_at

HISTORY_S = 30.0  # as the live window: long enough for a set of repetitions


class CueWatcher:
    """Judges ``rules`` on everything ``acquisition`` streams; call ``poll`` often.

    Register it before the acquisition starts (it adds a consumer). The running task is the
    planned task (virtual protocol) whose span holds the newest sample's time.
    """

    def __init__(self, acquisition: Any, rules: Sequence[CueRule]) -> None:
        self.acquisition = acquisition
        self.hub = acquisition_hub(acquisition, history_s=HISTORY_S)
        self.engine = CueEngine(tuple(rules))
        self.judge = CueJudge(self.engine)
        self.events: list[CueEvent] = []
        acquisition.add_consumer(self.hub.on_samples)

    def poll(self) -> list[CueEvent]:
        """Fuse what arrived, judge the rules, record and return the new cues."""
        self.hub.process_pending()
        now_s = self.hub.now_s()
        running = planned_task_at(self.acquisition, now_s)
        events = self.judge.judge(self.hub, running, now_s)
        for event in events:
            self.acquisition.record_cue(event)
        self.events.extend(events)
        return events
