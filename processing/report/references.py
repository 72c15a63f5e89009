"""Reference values and sources the report shows, each one traceable to docs/REFERENCES.md.

A number shown to a coach next to a metric (a norm, a threshold, a published finding) lives
here and nowhere else, and each one has an entry in docs/REFERENCES.md quoting the sentence
or table of its source (a test checks the keys). A verdict colour ("typical" / "watch") is
given only against a `Reference` with a threshold (`upper_abs`) and a cited source; every
other metric is shown neutrally with `NO_NORM_TEXT`. Today no published norm matches how
hipscope measures its headline metrics, so nothing is coloured (see docs/REFERENCES.md,
"Removed").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["typical", "watch", "neutral"]

NO_NORM_TEXT = "No published norm — compare sides and sessions."


@dataclass(frozen=True)
class Citation:
    """One source: a short key for the report (``[1]``), author-year and details."""

    key: str
    short: str
    full: str


@dataclass(frozen=True)
class Reference:
    """What the report may say about one metric beyond its value.

    ``text`` is the one-line wording shown to the coach, ``citations`` the keys of its
    sources in `CITATIONS`. ``upper_abs`` is a verified limit on the absolute value above
    which the report marks a number "watch"; ``None`` (the usual case) means the text is
    context only and the number is never coloured. A limit without a cited source is
    refused.
    """

    metric: str
    text: str
    citations: tuple[str, ...]
    upper_abs: float | None = None

    def __post_init__(self) -> None:
        unknown = [key for key in self.citations if key not in CITATIONS]
        if unknown:
            raise ValueError(f"reference {self.metric!r}: unknown citation(s) {unknown}")
        if self.upper_abs is not None and not self.citations:
            raise ValueError(f"reference {self.metric!r}: a verdict threshold needs a source")

    def judge(self, value: float | None) -> Verdict:
        if value is None or self.upper_abs is None or not math.isfinite(value):
            return "neutral"
        return "watch" if abs(value) > self.upper_abs else "typical"


CITATIONS: dict[str, Citation] = {
    c.key: c
    for c in (
        Citation(
            "siebers2021",
            "Siebers et al. 2021",
            "Siebers HL, Alrawashdeh W, Betsch M, Migliorini F, Hildebrand F, Eschweiler J. "
            "Comparison of different symmetry indices for the quantification of dynamic joint "
            "angles. BMC Sports Sci Med Rehabil 2021;13. doi:10.1186/s13102-021-00355-4. "
            "Symmetry index SI = (X_R − X_L) / (0.5 (X_R + X_L)) · 100 % (Eq. 1); hipscope "
            "takes left minus right.",
        ),
        Citation(
            "mancini2012",
            "Mancini et al. 2012",
            "Mancini M, Salarian A, Carlson-Kuhta P, Zampieri C, King L, Chiari L, Horak FB. "
            "ISway: a sensitive, valid and reliable measure of postural control. "
            "J Neuroeng Rehabil 2012;9:59. Table 2: RMS and sway path of the 2-D "
            "(anteroposterior, mediolateral) trunk acceleration in quiet stance.",
        ),
        Citation(
            "lowry2012",
            "Lowry et al. 2012",
            "Lowry KA, Lokenvitz N, Smiley-Oyen AL. Age- and speed-related differences in "
            "harmonic ratios during walking. Gait Posture 2012;35:272-276. Harmonic ratios "
            "from trunk accelerations: higher ratios indicate greater smoothness.",
        ),
        Citation(
            "vangelder2021",
            "van Gelder et al. 2021",
            "van Gelder LMA, Angelini L, Buckley EE, Mazzà C. A proposal for a linear "
            "calculation of gait asymmetry. Symmetry 2021;13(9):1560. Step and stride "
            "regularity: the first two peaks of the unbiased autocorrelation of trunk "
            "acceleration, at the step and stride lags.",
        ),
        Citation(
            "thomas2007",
            "Thomas & Gibson 2007",
            "Thomas JS, Gibson GE. Coordination and timing of spine and hip joints during full "
            "body reaching tasks. Hum Mov Sci 2007 (author manuscript PMC1868442). 16 "
            "adults returning upright after a forward reach: hip motion began on average "
            "63.0 ms before spine motion.",
        ),
    )
}

REFERENCES: dict[str, Reference] = {
    r.metric: r
    for r in (
        Reference(
            "hip_lead_ms_median",
            "No published norm for a hinge. For context: in one study, adults returning "
            "upright after a forward reach started hip motion on average 63.0 ms before "
            "spine motion (a reaching task, not a hinge).",
            ("thomas2007",),
        ),
        Reference(
            "harmonic_ratio_vertical",
            "Higher = smoother trunk motion. " + NO_NORM_TEXT,
            ("lowry2012",),
        ),
        Reference(
            "step_regularity",
            "From the autocorrelation at the step lag. " + NO_NORM_TEXT,
            ("vangelder2021",),
        ),
        Reference(
            "stride_regularity",
            "From the autocorrelation at the stride lag. " + NO_NORM_TEXT,
            ("vangelder2021",),
        ),
    )
}


def reference_for(metric: str) -> Reference | None:
    """The reference for a metric key, or None when no source gives one."""
    return REFERENCES.get(metric)


def verdict_for(metric: str, value: float | None) -> Verdict:
    """The verdict colour of a metric value: neutral unless a verified norm applies."""
    ref = REFERENCES.get(metric)
    return ref.judge(value) if ref is not None else "neutral"


def reference_text(metric: str) -> str:
    """The sentence shown beside a metric: its reference's text, or `NO_NORM_TEXT`."""
    ref = REFERENCES.get(metric)
    return ref.text if ref is not None else NO_NORM_TEXT


def verified_norms() -> dict[str, Reference]:
    """The references that may colour a number (they have a sourced threshold)."""
    return {key: ref for key, ref in REFERENCES.items() if ref.upper_abs is not None}
