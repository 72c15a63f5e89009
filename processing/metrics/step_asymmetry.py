"""Step-time asymmetry with its uncertainty: steps per side, a bootstrap 95 % interval of the
symmetry index, and a "too few steps" state.

A left step ends at a left initial contact and starts at the right contact before it
(docs/DESIGN.md). Each side's step time is the mean of its steps within ±30 % of that side's
median (a missed or extra contact is left out), and SI = 100 (L − R) / (0.5 (L + R))
(Robinson 1987): positive when left steps take longer.

Steps in turns are left out when a straight-walking mask is given (the pipeline's
``StraightWalking``): turning, the outer foot travels the longer arc, so the inner and outer
steps differ by the path's geometry, not by the walker, and a walk that always turns the
same way would read asymmetric. Both contacts of a step must lie in straight walking; the
steps left out are counted (``n_steps_in_turns``), and the per-side step times shown beside
the SI come from the same straight steps.

The interval resamples strides, not single steps: one late contact lengthens one step and
shortens the next, so a left step and the right step that follows it are drawn together
and that anti-correlation stays in every resample. A plain percentile bootstrap covers
too little with a dozen strides, so the interval is widened around the estimate by
t(n−1)/z·√(n/(n−1)) ("expanded percentile", Hesterberg 2015).

Below ``min_steps_per_side`` steps on either side the SI is withheld ("too few steps").
The default of 8 follows from the spread of step times: with a step-to-step CV of about
3 % (healthy adults 1–3 %, more in clinical gait), the SI's standard error is about
100·√2·0.03/√n points, so 8 steps per side give a 95 % interval of about ±3 points, the
width of the healthy range itself; fewer steps cannot separate an asymmetry from noise,
and a percentile bootstrap over fewer than about 4 strides is not a useful interval.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm
from scipy.stats import t as student_t

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.gait import GaitEvents
from hipscope.processing.metrics.gait_symmetry import STANCE_SWING_KEYS

LEFT = "left"
RIGHT = "right"
OK = "ok"
TOO_FEW_STEPS = "too few steps"


def symmetry_index(left: Any, right: Any) -> Any:
    """SI in percent, positive when the left value is larger (Robinson 1987)."""
    return 100.0 * (left - right) / (0.5 * (left + right))


@dataclass(frozen=True)
class Step:
    """One step: it ends at the contact ``end_index`` of ``side``."""

    side: str
    duration_s: float
    end_index: int


def steps_from_contacts(
    ic_time_s: ArrayLike, ic_side: ArrayLike, *, max_step_s: float = 1.5
) -> list[Step]:
    """Steps between consecutive contacts of opposite, known sides, no longer than max_step_s."""
    t = np.asarray(ic_time_s, dtype=np.float64)
    side = np.asarray(ic_side).astype(str)
    out = []
    for k in range(1, t.shape[0]):
        if side[k] in (LEFT, RIGHT) and side[k - 1] in (LEFT, RIGHT) and side[k] != side[k - 1]:
            dt = float(t[k] - t[k - 1])
            if 0.0 < dt <= max_step_s:
                out.append(Step(str(side[k]), dt, k))
    return out


def contacts_in_straight_walking(
    time_s: ArrayLike, straight_mask: ArrayLike, ic_time_s: ArrayLike
) -> NDArray[np.bool_]:
    """For each contact, whether the sample nearest to it is straight walking (False
    outside the signal)."""
    t = np.asarray(time_s, dtype=np.float64)
    straight = np.asarray(straight_mask, dtype=bool)
    ic = np.asarray(ic_time_s, dtype=np.float64)
    if t.shape[0] == 0:
        return np.zeros(ic.shape[0], dtype=bool)
    nearest = np.rint(np.interp(ic, t, np.arange(t.shape[0]))).astype(np.intp)
    return straight[nearest] & (ic >= t[0]) & (ic <= t[-1])


def robust_mean(values: NDArray[np.float64], band: float = 0.3) -> float:
    """Mean of the values within ±band of their median (NaN when there are none)."""
    if values.shape[0] == 0:
        return float("nan")
    median = float(np.median(values))
    kept = values[np.abs(values - median) <= band * median]
    return float(np.mean(kept)) if kept.shape[0] else median


class StepTimeAsymmetry(Algorithm):
    """Step-time SI of one walk, with steps per side and a bootstrap 95 % interval.

    Parameters
    ----------
    min_steps_per_side
        Fewer steps than this on either side gives the "too few steps" state and no SI
        (see the module docstring for the default of 8).
    n_bootstrap
        Resamples for the interval. Default 2000.
    max_step_s
        Longer intervals (pauses, turns) are not steps, s. Default 1.5.
    band
        Steps further than this fraction from their side's median are left out. Default 0.3.
    seed
        Seed of the resampling, so one walk always reads the same. Default 0.
    """

    _action_method = "compute"

    def __init__(
        self,
        *,
        min_steps_per_side: int = 8,
        n_bootstrap: int = 2000,
        max_step_s: float = 1.5,
        band: float = 0.3,
        seed: int = 0,
    ) -> None:
        self.min_steps_per_side = min_steps_per_side
        self.n_bootstrap = n_bootstrap
        self.max_step_s = max_step_s
        self.band = band
        self.seed = seed

    def compute(
        self,
        ic_time_s: ArrayLike,
        ic_side: ArrayLike,
        *,
        contact_straight: ArrayLike | None = None,
    ) -> StepTimeAsymmetry:
        """Results in ``metrics_`` (JSON-ready) and ``unavailable_`` (key -> reason).

        ``contact_straight`` (one bool per contact, e.g. from
        ``contacts_in_straight_walking``) leaves out the steps that start or end in a turn.
        """
        steps = steps_from_contacts(ic_time_s, ic_side, max_step_s=self.max_step_s)
        in_turns: int | None = None
        if contact_straight is not None:
            straight = np.asarray(contact_straight, dtype=bool)
            kept = [x for x in steps if straight[x.end_index] and straight[x.end_index - 1]]
            in_turns = len(steps) - len(kept)
            steps = kept
        durations = {
            s: np.array([x.duration_s for x in steps if x.side == s]) for s in (LEFT, RIGHT)
        }
        n_left, n_right = durations[LEFT].shape[0], durations[RIGHT].shape[0]
        self.steps_ = steps
        m: dict[str, object] = {
            "n_steps_left": n_left,
            "n_steps_right": n_right,
            "n_steps_in_turns": in_turns,
            "step_time_si_min_steps_per_side": self.min_steps_per_side,
            "step_time_si_pct": None,
            "step_time_si_ci95_pct": None,
            "step_time_si_state": OK,
        }
        un: dict[str, str] = {}
        self.metrics_, self.unavailable_ = m, un
        left = robust_mean(durations[LEFT], self.band)
        right = robust_mean(durations[RIGHT], self.band)
        if in_turns is None:
            un["n_steps_in_turns"] = "turns not known (no pelvis orientation): no step left out"
        elif n_left and n_right:
            # the step times beside the SI come from the same straight steps
            m["step_time_left_s"] = round(left, 4)
            m["step_time_right_s"] = round(right, 4)
        if min(n_left, n_right) < self.min_steps_per_side:
            m["step_time_si_state"] = TOO_FEW_STEPS
            reason = (
                f"too few steps: {n_left} left / {n_right} right, "
                f"needs {self.min_steps_per_side} per side"
            )
            un["step_time_si_pct"] = reason
            un["step_time_si_ci95_pct"] = reason
            return self
        si = symmetry_index(left, right)
        m["step_time_si_pct"] = round(si, 2)
        low, high = self._interval(steps)
        # a percentile bootstrap is too narrow for few strides: widen it around the estimate
        # by t(n-1)/z * sqrt(n / (n-1)) (Hesterberg 2015, "expanded percentile")
        n = len(_strides(steps))
        k = float(student_t.ppf(0.975, n - 1) / norm.ppf(0.975) * np.sqrt(n / (n - 1)))
        low, high = si - k * (si - low), si + k * (high - si)
        m["step_time_si_ci95_pct"] = [round(low, 2), round(high, 2)]
        return self

    def _interval(self, steps: list[Step]) -> tuple[float, float]:
        """Percentile interval of the SI over strides drawn with replacement."""
        units = _strides(steps)
        per_side = {
            s: np.array([next((x.duration_s for x in u if x.side == s), np.nan) for u in units])
            for s in (LEFT, RIGHT)
        }
        rng = np.random.default_rng(self.seed)
        draws = rng.integers(0, len(units), size=(self.n_bootstrap, len(units)))
        means = {}
        with warnings.catch_warnings():
            # a resample without any step of one side gives NaN and is left out below
            warnings.simplefilter("ignore", RuntimeWarning)
            for s, values in per_side.items():
                drawn = values[draws]
                median = np.nanmedian(drawn, axis=1, keepdims=True)
                kept = np.where(np.abs(drawn - median) <= self.band * median, drawn, np.nan)
                means[s] = np.nanmean(kept, axis=1)
        si = symmetry_index(means[LEFT], means[RIGHT])  # type: ignore[arg-type]
        low, high = np.nanpercentile(si, [2.5, 97.5])
        return float(low), float(high)


def _strides(steps: list[Step]) -> list[list[Step]]:
    """Each step paired with the next when it shares its closing contact (one stride)."""
    units: list[list[Step]] = []
    k = 0
    while k < len(steps):
        if k + 1 < len(steps) and steps[k + 1].end_index == steps[k].end_index + 1:
            units.append([steps[k], steps[k + 1]])
            k += 2
        else:
            units.append([steps[k]])
            k += 1
    return units


PELVIS_FOOT_OFF = "pelvis foot-off"


def apply_step_asymmetry(
    metrics: dict[str, Any],
    unavailable: dict[str, str],
    events: GaitEvents,
    asymmetry: StepTimeAsymmetry | None = None,
    *,
    contact_straight: ArrayLike | None = None,
) -> None:
    """Put the step-time SI with its 95 % interval, steps per side and state into a gait
    task's metrics, and keep stance / swing only where the final contacts are foot-offs.
    ``contact_straight`` (one bool per contact) leaves the steps in turns out of the SI.

    Stance and swing need foot-off: the pelvis foot-off is validated against toe-off
    references (docs/VALIDATION.md); peak thigh extension comes before foot-off, so times
    from it would read stance short and swing long and are withheld.
    """
    result = (
        (asymmetry or StepTimeAsymmetry())
        .clone()
        .compute(events.ic_time_s, events.ic_side, contact_straight=contact_straight)
    )
    for key in ("step_time_si_pct", "step_time_si_ci95_pct"):
        unavailable.pop(key, None)
    metrics.update(result.metrics_)
    if events.ic_time_s.shape[0] and not (events.ic_side != "").any():
        result.unavailable_ = {
            key: "contact sides unknown (no pelvis gyroscope or thigh sensors)"
            for key in ("step_time_si_pct", "step_time_si_ci95_pct")
        }
        metrics["step_time_si_state"] = "sides unknown"
    unavailable.update(result.unavailable_)
    by_pelvis = PELVIS_FOOT_OFF in events.source and events.fc_time_s.shape[0] > 0
    metrics["final_contact_source"] = (
        "pelvis foot-off (McCamley 2012)"
        if by_pelvis
        else ("peak thigh extension" if events.fc_time_s.shape[0] else None)
    )
    if metrics["final_contact_source"] is None:
        unavailable["final_contact_source"] = "no final contacts found"
    if not by_pelvis:
        reason = (
            "needs foot-off: peak thigh extension comes before it (not a foot-off); "
            "a pelvis sensor gives foot-off"
            if events.fc_time_s.shape[0]
            else "needs foot-off (a pelvis sensor)"
        )
        for key in STANCE_SWING_KEYS:
            metrics[key] = None
            unavailable[key] = reason
