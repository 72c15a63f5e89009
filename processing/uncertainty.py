"""hipscope's own measurement error of each headline metric, shown as "± x" beside it.

Where hipscope has been checked against an independent reference on real people, the ±
comes from that check (``basis`` "real walkers"): the step-time SI's from
``benchmarks/gait_ipol.py`` (110 walks of 19 adults against foot-sensor contacts, the
whole pipeline, docs/VALIDATION.md "Gait"), whose error is several times the simulation's.
The others come from the simulation study ``benchmarks/uncertainty_sim.py`` (published
in docs/VALIDATION.md, "Screen metrics uncertainty"): many simulated sessions with the
simulator's sensor noise and gyroscope bias, mounting errors up to 30° (any heading about
the segment's long axis), movement-driven soft-tissue artefact up to 2°, at 60, 100 and
200 Hz, each analysed by the whole pipeline and
compared with the simulator's truth. ``half_width`` is the larger magnitude of the 95 %
limits of agreement (bias ± 1.96 SD) pooled over all conditions: a measured value is
within ± ``half_width`` of the simulated truth for about 95 % of sessions. It is the error
of the instrument and the algorithms on a simulated athlete, not the day-to-day variation
of a real athlete, and no smaller error can be claimed from it.

To refresh: run ``python benchmarks/uncertainty_sim.py --table`` and copy its rows here and
into docs/VALIDATION.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Uncertainty:
    """The 95 % error half-width and the bias of a metric, in its own unit.

    ``kinds``: the task kinds the study simulated for this metric; empty when it covers every
    kind the metric belongs to. A kind the study did not simulate gets no "± x".
    """

    half_width: float
    bias: float
    kinds: tuple[str, ...] = ()
    basis: str = "simulation"
    """"simulation" (the simulation study) or "real walkers" (the IPOL gait benchmark)."""
    name: str = ""
    """What the metric is called where the ± is explained (needed for "real walkers")."""
    contacts_from: str = ""
    """For a gait metric: the sensor whose contacts the ± was measured with ("pelvis"); a
    walk whose ``contact_source`` names other contacts gets no ±."""


STUDY = (
    "benchmarks/uncertainty_sim.py: {sessions} simulated sessions, 60/100/200 Hz, mounting "
    "error up to 30° with any heading, soft-tissue artefact 0–2°; 95 % limits of agreement "
    "with the truth"
)
SESSIONS = 180
"""Number of simulated sessions behind the table."""

# python benchmarks/uncertainty_sim.py --seeds 10 --rates 60 100 200 --misalignment 10 30
#     --soft-tissue 0 1 2 --random-heading --table
# (180 sessions: 360 stances, 180 hinges of 6 repetitions, 180 walks)
UNCERTAINTY: dict[str, Uncertainty] = {
    "pelvic_drop_mean_deg": Uncertainty(0.04, -0.02),
    "pelvic_drop_lr_diff_deg": Uncertainty(0.05, -0.01),
    "trunk_lean_mean_deg": Uncertainty(0.03, +0.02),
    # the study simulated hinges only: squats and bridges (a smaller lumbar rise) measured
    # wider in benchmarks/task_detection.py, so they show no ± rather than a hinge's
    "hip_lead_ms_median": Uncertainty(6.41, -0.43, kinds=("hip_hinge",)),
    # real walkers: python benchmarks/gait_ipol.py --data PATH/TO/ipol-gait (pipeline path),
    # "95 % limits of agreement -8.25 … +11.09 points" over 110 walks; the simulation study
    # gave -1.9 … +0.9, because its pelvis feels both feet's contacts with the same delay
    "step_time_si_pct": Uncertainty(
        11.09,
        +1.42,
        basis="real walkers",
        name="step-time symmetry index",
        contacts_from="pelvis",
    ),
}
"""metric key -> its 95 % error half-width and bias (pooled study result). Shown with at
least the display's last digit: "± 0.1°" is "below 0.1° in simulation", not a claim of
that precision on an athlete (docs/VALIDATION.md says what the simulation leaves out)."""


def uncertainty_for(
    key: str, kind: str | None = None, contact_source: str | None = None
) -> Uncertainty | None:
    """The error for a metric key of a task ``kind``, or None when it was not measured for
    it (a kind-limited entry asked without a kind counts as not covered; a gait entry
    measured with pelvis contacts does not cover a walk whose ``contact_source`` says its
    contacts came from elsewhere)."""
    found = UNCERTAINTY.get(key)
    if found is None or (found.kinds and kind not in found.kinds):
        return None
    if (
        found.contacts_from
        and contact_source
        and not contact_source.startswith(found.contacts_from)
    ):
        return None
    return found


def plus_minus(
    key: str,
    decimals: int,
    unit: str = "",
    kind: str | None = None,
    contact_source: str | None = None,
) -> str | None:
    """Text such as "± 0.8°" for a metric key of a task ``kind``, or None when its error was
    not measured for it (see ``uncertainty_for``)."""
    found = uncertainty_for(key, kind, contact_source)
    if found is None:
        return None
    sep = "" if unit in ("°", "%", "") else "\u202f"
    value = max(found.half_width, 10.0**-decimals)
    return f"± {value:.{decimals}f}{sep}{unit}"


def study_note() -> str:
    """One line saying where the simulation study's ± numbers come from."""
    return STUDY.format(sessions=SESSIONS)


REAL_WALKERS = "foot-sensor contacts on 110 real walks of 19 adults"
"""What the "real walkers" ± was measured against (docs/VALIDATION.md, "Gait")."""


def plus_minus_note() -> str:
    """The sentence that explains every "± x" shown, naming which rest on real people."""
    real = sorted(u.name for u in UNCERTAINTY.values() if u.basis == "real walkers")
    text = "“± x”: hipscope's measurement error (95 % limits). "
    if real:
        text += f"For the {', '.join(real)}: against {REAL_WALKERS} (docs/VALIDATION.md). "
    return text + (
        "For the others: in a simulation study with sensor noise, skin artefact and mounting "
        "errors (docs/VALIDATION.md); their error on real athletes has not been measured and "
        "is likely larger."
    )
