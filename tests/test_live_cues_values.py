"""The cue values the live window computes (``gui/cuevalues.py``, no Qt): a simulated
session fed batch by batch through the live hub and its streaming fusion, judged by the
rule engine as the window does on every redraw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hipscope.acquisition.simulator import GaitSpec, RepetitionSpec, StaticSpec, simulate
from hipscope.base.cues import CueEngine, CueEvent, parse_rules
from hipscope.gui.cuevalues import CueJudge, TaskState, cue_values
from hipscope.gui.hub import DataHub
from hipscope.gui.livealgorithms import step_times

RATE_HZ = 100.0
TICK_S = 1.0 / 30.0


def _replay(
    protocol: list,  # type: ignore[type-arg]
    rules: list[str],
    seen: dict[str, list[float]] | None = None,
) -> tuple[list[CueEvent], list, CueEngine]:  # type: ignore[type-arg]
    """Feed the session as the acquisition would and judge the rules every ~33 ms;
    ``seen`` collects every value judged, per metric."""
    session = simulate(protocol, rate_hz=RATE_HZ, seed=3)
    hub = DataHub(tuple(session.samples), RATE_HZ, history_s=60.0)
    engine = CueEngine(parse_rules(rules))
    judge = CueJudge(engine)
    events: list[CueEvent] = []
    n = len(session.time_s)
    step = round(TICK_S * RATE_HZ)
    for start in range(0, n, step):
        for placement, batch in session.samples.items():
            hub.on_samples(placement, batch.take(slice(start, start + step)))
        hub.process_pending()
        now_s = hub.now_s()
        running = next(
            ((t.kind, t.side, t.start_s) for t in session.tasks if t.start_s <= now_s <= t.end_s),
            None,
        )
        events += judge.judge(hub, running, now_s)
        if judge.state is not None:  # the newest sample used, never a future one
            for name, value in cue_values(hub, judge.state, now_s).items():
                assert not value.sample_time_s > now_s
                if seen is not None and value.value is not None:
                    seen.setdefault(name, []).append(value.value)
    return events, session.truth, engine


def test_step_times_over_the_newest_steps_only() -> None:
    # 20 even steps, then 10 with the left step 0.60 s and the right 0.50 s
    durations = [0.55] * 20 + [0.60, 0.50] * 5
    times = np.cumsum([0.0, *durations])
    sides = np.array(["right", "left"] * 16)[: times.size]  # a left step ends at a left contact
    left, right, count = step_times(times, sides, last_steps=10)
    assert (left, right, count) == (pytest.approx(0.60), pytest.approx(0.50), 10)
    left_all, right_all, count_all = step_times(times, sides)
    assert count_all == 30 and left_all == pytest.approx(0.55) and right_all == pytest.approx(0.55)


@pytest.mark.timeout(240)
def test_hip_lead_cues_every_back_first_rep_and_step_si_cues_a_limp() -> None:
    protocol = [
        StaticSpec(duration_s=5.0),
        RepetitionSpec("hip_hinge", reps=4, hip_lead_ms=-90.0, hip_lead_jitter_ms=5.0),
        GaitSpec(duration_s=16.0, step_time_left_s=0.62, step_time_right_s=0.52),
    ]
    seen: dict[str, list[float]] = {}
    events, truth, engine = _replay(protocol, ["hip_lead_ms<0", "|step_time_si_pct|>8"], seen)
    leads = [e for e in events if e.rule == "hip_lead_ms<0"]
    hinge = truth[1]
    # one cue per repetition (each judged once), after the repetition's rise began
    assert len(leads) == len(hinge["reps"]) == 4
    for cue, rep in zip(leads, hinge["reps"], strict=True):
        assert cue.task_kind == "hip_hinge"
        assert cue.value == pytest.approx(rep["hip_lead_ms"], abs=45.0)
        assert rep["rise_start_s"] < cue.time_s < rep["end_s"] + 3.0
    steps = [e for e in events if e.rule == "|step_time_si_pct|>8"]
    expected_si = 100.0 * (0.62 - 0.52) / (0.5 * (0.62 + 0.52))
    # cued once, as the SI over the newest steps first passed 8 %; it then settles near the
    # limp's SI (the walk's first steps are gait initiation)
    assert len(steps) == 1 and steps[0].task_kind == "gait" and steps[0].value > 8.0
    settled = float(np.median(seen["step_time_si_pct"][-60:]))
    assert settled == pytest.approx(expected_si, abs=3.0)
    assert engine.counts == {"hip_lead_ms<0": 4, "|step_time_si_pct|>8": 1}


def test_hips_first_reps_and_an_even_walk_give_no_cue() -> None:
    protocol = [
        StaticSpec(duration_s=5.0),
        RepetitionSpec("hip_hinge", reps=3, hip_lead_ms=90.0, hip_lead_jitter_ms=5.0),
        GaitSpec(duration_s=12.0, step_time_left_s=0.55, step_time_right_s=0.55),
    ]
    events, _, engine = _replay(protocol, ["hip_lead_ms<0", "|step_time_si_pct|>8"])
    assert events == []
    assert engine.counts == {"hip_lead_ms<0": 0, "|step_time_si_pct|>8": 0}


def test_stance_values_follow_the_stance_side() -> None:
    hub = DataHub(("pelvis", "trunk"), 100.0, kinematics_factory=None)
    t = np.arange(0.0, 2.0, 0.01)
    hub.angles["pelvis_obliquity"].append(t, np.radians(np.linspace(0.0, 6.0, t.size)))
    hub.angles["trunk_obliquity"].append(t, np.full(t.size, np.radians(-3.0)))
    left = cue_values(hub, TaskState("single_leg_stance", "left", 0.0), 1.5)
    assert left["pelvic_drop_deg"].value == pytest.approx(6.0 * 1.5 / 1.99, abs=0.05)
    assert left["pelvic_drop_deg"].sample_time_s == pytest.approx(1.5)  # not after now
    assert left["trunk_lean_deg"].value == pytest.approx(3.0)  # leaning left, over the left leg
    right = cue_values(hub, TaskState("single_leg_stance", "right", 0.0), 1.5)
    assert right["pelvic_drop_deg"].value == pytest.approx(-6.0 * 1.5 / 1.99, abs=0.05)
    assert right["trunk_lean_deg"].value == pytest.approx(-3.0)
    assert cue_values(hub, TaskState("static", "", 0.0), 1.5) == {}
    empty = cue_values(hub, TaskState("single_leg_stance", "left", 5.0), 6.0)
    assert empty["pelvic_drop_deg"].value is None
    assert math.isnan(empty["pelvic_drop_deg"].sample_time_s)


def test_repetition_numbers_survive_the_ring_buffer_dropping_old_reps(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A long set: the buffered repetitions lose their first one, the index of the newest
    shifts down, but it is the same repetition and is not cued again."""
    from hipscope.gui import livealgorithms
    from hipscope.gui.cuevalues import HipDriveNow

    answers = iter(
        [
            HipDriveNow(9, -50.0, 40.0, last_end_s=39.0),  # the 9th rep in the buffers
            HipDriveNow(9, -50.0, 40.6, last_end_s=39.05),  # the 1st rep left the ring
            HipDriveNow(10, -40.0, 43.0, last_end_s=42.5),  # a new rep
        ]
    )
    monkeypatch.setattr(livealgorithms, "live_hip_drive", lambda *args: next(answers))
    hub = DataHub(("pelvis",), 100.0, kinematics_factory=None)
    engine = CueEngine(parse_rules(["hip_lead_ms<0"]))
    judge = CueJudge(engine)
    task = ("hip_hinge", "", 0.0)
    fired = [len(judge.judge(hub, task, now_s)) for now_s in (40.0, 40.6, 43.0)]
    assert fired == [1, 0, 1]
