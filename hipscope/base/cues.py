"""Live biofeedback cues: the metrics a rule can watch, the rule grammar and the rule engine.

A coach sets a rule such as ``pelvic_drop_deg>5`` and the athlete gets a cue the moment it
breaks. This module is pure: no I/O, no Qt, no clock. The live window feeds ``CueEngine``
the current value of each cue metric once per redraw (``CueEngine.update``) and shows,
sounds and records the ``CueEvent`` objects it returns; the recorder stores them; the
report lists them per task (``docs/DESIGN.md``, "Live cues").

Rule grammar (spaces allowed, one rule per string)::

    rule      := metric op number [ "~" number ]
    metric    := a name of CUE_METRICS, or |name| for its absolute value
    op        := ">" | ">=" | "<" | "<="

The optional ``~ h`` sets the hysteresis (in the metric's unit; default per metric): a rule
``x > t`` breaks when ``x > t`` and is re-armed only once ``x <= t - h``, so a value that
hovers at the threshold is cued once. A metric that is a per-event value (the hip lead of
each repetition) is judged once per event: each new repetition that breaks the rule is one
cue, whatever the previous repetition did.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hipscope.base.errors import HipscopeError


class CueRuleError(HipscopeError):
    """A cue rule that does not follow the grammar or names an unknown metric."""


@dataclass(frozen=True)
class CueMetric:
    """One live value a rule can watch.

    name: the rule name, with its unit (``pelvic_drop_deg``).
    label: what the live window and the report call it.
    short: the name on the flash, read from across the room ("pelvic drop").
    unit: display unit.
    families: the task families (``hipscope.base.tasks``) during which it has a value.
    hysteresis: default hysteresis of a rule on it, in ``unit``.
    per_event: True when each value belongs to one event (a repetition) and a rule is judged
        once per event; False for a continuous value judged with hysteresis.
    decimals: digits a value is shown with (flash, report).
    """

    name: str
    label: str
    short: str
    unit: str
    families: tuple[str, ...]
    hysteresis: float
    per_event: bool = False
    decimals: int = 1


CUE_METRICS: dict[str, CueMetric] = {
    m.name: m
    for m in (
        CueMetric(
            "pelvic_drop_deg",
            "pelvic drop (free side lower)",
            "pelvic drop",
            "°",
            ("stance",),
            hysteresis=1.0,
        ),
        CueMetric(
            "trunk_lean_deg",
            "trunk lean towards the stance side",
            "trunk lean",
            "°",
            ("stance",),
            hysteresis=1.0,
        ),
        CueMetric(
            "hip_lead_ms",
            "hip lead of the last repetition",
            "hip lead",
            "ms",
            ("repetitions",),
            hysteresis=0.0,
            per_event=True,
            decimals=0,
        ),
        CueMetric(
            "step_time_si_pct",
            "step-time symmetry index, last 10 steps",
            "step-time SI",
            "%",
            ("gait",),
            hysteresis=1.0,
        ),
    )
}
"""Every metric a cue rule can name (one registry; the live window computes each one)."""

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_RULE = re.compile(
    r"^\s*(?P<abs>\|?)\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?P=abs)\s*"
    r"(?P<op>>=|<=|>|<)\s*(?P<threshold>[-+]?\d+(?:\.\d*)?|[-+]?\.\d+)"
    r"\s*(?:~\s*(?P<hysteresis>\d+(?:\.\d*)?|\.\d+))?\s*$"
)
MAX_RULE_CHARS = 80


@dataclass(frozen=True)
class CueRule:
    """One parsed rule. ``text`` is its canonical spelling, used as its name everywhere."""

    metric: str
    op: str
    threshold: float
    hysteresis: float
    absolute: bool = False

    @property
    def text(self) -> str:
        name = f"|{self.metric}|" if self.absolute else self.metric
        default = CUE_METRICS[self.metric].hysteresis
        tail = "" if self.hysteresis == default else f"~{_number(self.hysteresis)}"
        return f"{name}{self.op}{_number(self.threshold)}{tail}"

    @property
    def definition(self) -> CueMetric:
        return CUE_METRICS[self.metric]

    def breaks(self, value: float) -> bool:
        """True when ``value`` (the metric, before any absolute) breaks the rule."""
        return _OPS[self.op](self._signed(value), self.threshold)

    def rearms(self, value: float) -> bool:
        """True when ``value`` is back on the good side by at least the hysteresis."""
        v = self._signed(value)
        if self.op in (">", ">="):
            return v <= self.threshold - self.hysteresis
        return v >= self.threshold + self.hysteresis

    def _signed(self, value: float) -> float:
        return abs(value) if self.absolute else value


def parse_rule(text: str) -> CueRule:
    """Parse one rule (``"pelvic_drop_deg>5"``, ``"|step_time_si_pct|>8"``, ``"x>5~2"``)."""
    if not isinstance(text, str):
        raise CueRuleError(f"cue rule must be text, got {type(text).__name__}")
    if len(text) > MAX_RULE_CHARS:
        raise CueRuleError(f"cue rule longer than {MAX_RULE_CHARS} characters")
    match = _RULE.match(text)
    if match is None:
        raise CueRuleError(
            f"cue rule {text!r}: expected METRIC OP NUMBER, e.g. 'pelvic_drop_deg>5' "
            f"(OP one of > >= < <=; metrics: {', '.join(CUE_METRICS)})"
        )
    metric = match["metric"]
    if metric not in CUE_METRICS:
        raise CueRuleError(
            f"cue rule {text!r}: unknown metric {metric!r} (known: {', '.join(CUE_METRICS)})"
        )
    threshold = float(match["threshold"])
    hysteresis = (
        CUE_METRICS[metric].hysteresis
        if match["hysteresis"] is None
        else float(match["hysteresis"])
    )
    if not (math.isfinite(threshold) and math.isfinite(hysteresis)):
        raise CueRuleError(f"cue rule {text!r}: threshold and hysteresis must be finite")
    return CueRule(metric, match["op"], threshold, hysteresis, absolute=bool(match["abs"]))


def parse_rules(texts: list[str] | tuple[str, ...]) -> tuple[CueRule, ...]:
    """Parse several rules; a rule given twice (same canonical text) counts once."""
    rules: dict[str, CueRule] = {}
    for text in texts:
        rule = parse_rule(text)
        rules.setdefault(rule.text, rule)
    return tuple(rules.values())


@dataclass(frozen=True)
class CueValue:
    """One metric's current value for ``CueEngine.update``.

    value: in the metric's unit; None or NaN while it has none.
    sample_time_s: session time of the newest sample the value was computed from (latency is
        measured from it).
    event: for per-event metrics, an id that changes with each new event (repetition index).
    """

    value: float | None
    sample_time_s: float
    event: int | None = None


@dataclass(frozen=True)
class CueEvent:
    """One cue: a rule broke. Times on the session clock, value in the metric's unit."""

    time_s: float
    rule: str
    metric: str
    value: float
    threshold: float
    task_kind: str
    task_side: str


@dataclass
class _RuleState:
    active: bool = False
    last_event: int | None = None
    count: int = 0


@dataclass
class CueEngine:
    """Judges every rule against the live values once per update; returns the new cues.

    A rule is judged only while a task of one of its metric's families runs. It cues once
    when it breaks, then waits until the value is back past the hysteresis or the task ends
    (continuous metrics; a missing value changes nothing), or for the next event (per-event
    metrics). ``counts`` holds the cues per rule text since the engine was made.
    """

    rules: tuple[CueRule, ...]
    _states: dict[str, _RuleState] = field(default_factory=dict, init=False, repr=False)
    _task: tuple[str, str, float] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.rules = tuple(self.rules)
        self._states = {rule.text: _RuleState() for rule in self.rules}

    @property
    def counts(self) -> dict[str, int]:
        return {text: state.count for text, state in self._states.items()}

    def add(self, rule: CueRule) -> None:
        if rule.text not in self._states:
            self.rules = (*self.rules, rule)
            self._states[rule.text] = _RuleState()

    def remove(self, text: str) -> None:
        self.rules = tuple(r for r in self.rules if r.text != text)
        self._states.pop(text, None)

    def update(
        self,
        task: tuple[str, str, float] | None,
        family: str | None,
        values: Mapping[str, CueValue],
    ) -> list[CueEvent]:
        """New cues for the running ``task`` (kind, side, start_s) of ``family``.

        ``values`` maps metric names to their current values; a missing name is no value.
        """
        if task != self._task:
            self._task = task
            for state in self._states.values():
                state.active = False
                state.last_event = None
        if task is None or family is None:
            return []
        events: list[CueEvent] = []
        for rule in self.rules:
            state = self._states[rule.text]
            if family not in rule.definition.families:
                continue
            current = values.get(rule.metric)
            if current is None or current.value is None or not math.isfinite(current.value):
                continue  # a gap inside a break must not re-arm it (one break, one cue)
            value = float(current.value)
            if rule.definition.per_event:
                if current.event is None or current.event == state.last_event:
                    continue
                state.last_event = current.event
                fire = rule.breaks(value)
            elif state.active:
                state.active = not rule.rearms(value)
                fire = False
            else:
                fire = state.active = rule.breaks(value)
            if fire:
                state.count += 1
                events.append(
                    CueEvent(
                        time_s=current.sample_time_s,
                        rule=rule.text,
                        metric=rule.metric,
                        value=value,
                        threshold=rule.threshold,
                        task_kind=task[0],
                        task_side=task[1],
                    )
                )
        return events


def _number(value: float) -> str:
    return f"{value:g}"
