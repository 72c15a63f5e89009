"""Cue rule grammar and the rule engine's hysteresis (hipscope.base.cues)."""

from __future__ import annotations

import math

import pytest

from hipscope.base.cues import (
    CUE_METRICS,
    CueEngine,
    CueRuleError,
    CueValue,
    parse_rule,
    parse_rules,
)
from hipscope.base.errors import HipscopeError

STANCE = ("single_leg_stance", "left", 0.0)


def test_parse_rules_canonical_text_and_defaults() -> None:
    rule = parse_rule(" pelvic_drop_deg > 5 ")
    assert (rule.metric, rule.op, rule.threshold) == ("pelvic_drop_deg", ">", 5.0)
    assert rule.hysteresis == CUE_METRICS["pelvic_drop_deg"].hysteresis
    assert rule.text == "pelvic_drop_deg>5"
    assert parse_rule("|step_time_si_pct|>8").absolute
    assert parse_rule("|step_time_si_pct|>8").text == "|step_time_si_pct|>8"
    assert parse_rule("hip_lead_ms<0").text == "hip_lead_ms<0"
    assert parse_rule("trunk_lean_deg>=8~2.5").text == "trunk_lean_deg>=8~2.5"
    assert len(parse_rules(["pelvic_drop_deg>5", "pelvic_drop_deg > 5.0"])) == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pelvic_drop_deg",
        "pelvic_drop>5",
        "pelvic_drop_deg=5",
        "pelvic_drop_deg>five",
        "|pelvic_drop_deg>5",
        "pelvic_drop_deg>5~-1",
        "<b>x</b>>5",
        "x" * 200,
    ],
)
def test_bad_rules_give_one_line_errors(text: str) -> None:
    with pytest.raises(CueRuleError) as error:
        parse_rule(text)
    assert isinstance(error.value, HipscopeError)
    assert "\n" not in str(error.value)


def _feed(engine: CueEngine, values: list[float], family: str = "stance") -> list[float]:
    fired = []
    for i, value in enumerate(values):
        cue_values = {"pelvic_drop_deg": CueValue(value, sample_time_s=float(i))}
        fired += [e.time_s for e in engine.update(STANCE, family, cue_values)]
    return fired


def test_hovering_at_the_threshold_cues_once_until_rearmed() -> None:
    engine = CueEngine(parse_rules(["pelvic_drop_deg>5"]))
    # breaks at 2, hovers around 5 (never below 4 = 5 - 1°), re-arms at 7, breaks at 9
    values = [0.0, 3.0, 5.5, 4.8, 5.4, 4.2, 5.9, 3.9, 4.5, 6.0, 6.5]
    assert _feed(engine, values) == [2.0, 9.0]
    assert engine.counts == {"pelvic_drop_deg>5": 2}


def test_rule_only_judged_during_its_family_and_task_change_rearms() -> None:
    engine = CueEngine(parse_rules(["pelvic_drop_deg>5"]))
    assert _feed(engine, [9.0, 9.0], family="gait") == []
    assert engine.update(None, None, {"pelvic_drop_deg": CueValue(9.0, 0.0)}) == []
    assert len(engine.update(STANCE, "stance", {"pelvic_drop_deg": CueValue(9.0, 1.0)})) == 1
    assert engine.update(STANCE, "stance", {"pelvic_drop_deg": CueValue(9.0, 2.0)}) == []
    right = ("single_leg_stance", "right", 5.0)
    events = engine.update(right, "stance", {"pelvic_drop_deg": CueValue(9.0, 6.0)})
    assert [(e.task_side, e.value, e.threshold) for e in events] == [("right", 9.0, 5.0)]


def test_a_gap_inside_a_break_does_not_cue_it_again_and_nan_never_cues() -> None:
    engine = CueEngine(parse_rules(["pelvic_drop_deg>5"]))
    assert _feed(engine, [6.0, math.nan, 6.0, 3.0, math.nan, 6.0]) == [0.0, 5.0]
    assert _feed(CueEngine(parse_rules(["pelvic_drop_deg>5"])), [math.nan] * 3) == []


def test_per_event_metric_judged_once_per_repetition() -> None:
    engine = CueEngine(parse_rules(["hip_lead_ms<0"]))
    hinge = ("hinge", "", 0.0)
    leads = [(None, None), (-20.0, 1), (-20.0, 1), (15.0, 2), (-5.0, 3), (-8.0, 4)]
    fired = []
    for i, (lead, rep) in enumerate(leads):
        value = {"hip_lead_ms": CueValue(lead, sample_time_s=float(i), event=rep)}
        fired += [(e.time_s, e.value) for e in engine.update(hinge, "repetitions", value)]
    assert fired == [(1.0, -20.0), (4.0, -5.0), (5.0, -8.0)]


def test_absolute_rules_watch_both_signs() -> None:
    engine = CueEngine(parse_rules(["|step_time_si_pct|>8"]))
    walk = ("walk", "", 0.0)
    fired = []
    for i, si in enumerate([2.0, -9.0, -8.5, 0.0, 9.5]):
        value = {"step_time_si_pct": CueValue(si, sample_time_s=float(i))}
        fired += [e.value for e in engine.update(walk, "gait", value)]
    assert fired == [-9.0, 9.5]
