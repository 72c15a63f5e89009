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
from hipscope.gui.hub import DataHub, default_kinematics_factory, kit_kinematics_factory
from hipscope.gui.worker import (
    acquisition_mountings,
    acquisition_placements,
    acquisition_rate_hz,
)

HISTORY_S = 30.0  # as the live window: long enough for a set of repetitions


class CueWatcher:
    """Judges ``rules`` on everything ``acquisition`` streams; call ``poll`` often.

    Register it before the acquisition starts (it adds a consumer). The running task is the
    planned task (virtual protocol) whose span holds the newest sample's time.
    """

    def __init__(self, acquisition: Any, rules: Sequence[CueRule]) -> None:
        mountings = acquisition_mountings(acquisition)
        self.acquisition = acquisition
        self.hub = DataHub(
            acquisition_placements(acquisition),
            acquisition_rate_hz(acquisition),
            history_s=HISTORY_S,
            kinematics_factory=(
                kit_kinematics_factory(mountings) if mountings else default_kinematics_factory
            ),
        )
        self.engine = CueEngine(tuple(rules))
        self.judge = CueJudge(self.engine)
        self.events: list[CueEvent] = []
        acquisition.add_consumer(self.hub.on_samples)

    def running_task(self, now_s: float) -> tuple[str, str, float] | None:
        for task in getattr(self.acquisition, "planned_tasks", None) or ():
            if task.start_s <= now_s <= task.end_s:
                return (task.kind, task.side, task.start_s)
        return None

    def poll(self) -> list[CueEvent]:
        """Fuse what arrived, judge the rules, record and return the new cues."""
        self.hub.process_pending()
        now_s = self.hub.now_s()
        events = self.judge.judge(self.hub, self.running_task(now_s), now_s)
        for event in events:
            self.acquisition.record_cue(event)
        self.events.extend(events)
        return events
