"""Reference values from the literature (and from public data measured by this project).

Only values with a source are here; a metric without a published reference is shown
neutrally. Each `Reference` says how a value is judged (`judge`) and where it comes from,
so the report can colour a number and cite the source next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["typical", "watch", "neutral"]


@dataclass(frozen=True)
class Citation:
    """One source: a short key for the report (``[1]``), author-year and details."""

    key: str
    short: str
    full: str


@dataclass(frozen=True)
class Reference:
    """A reference value for one metric.

    ``upper_abs`` is the limit on the absolute value above which the report marks a number
    "watch" (outside the reference); ``None`` means the reference is context only (shown,
    never used to colour). ``text`` is the one-line wording shown to the coach.
    """

    metric: str
    text: str
    citations: tuple[str, ...]
    upper_abs: float | None = None

    def judge(self, value: float | None) -> Verdict:
        if value is None or self.upper_abs is None or not math.isfinite(value):
            return "neutral"
        return "watch" if abs(value) > self.upper_abs else "typical"


CITATIONS: dict[str, Citation] = {
    c.key: c
    for c in (
        Citation(
            "dimattia2005",
            "DiMattia et al. 2005",
            "DiMattia MA, Livengood AL, Uhl TL, Mattacola CG, Malone TR. What are the validity "
            "of the single-leg-squat test and its relationship to hip-abduction strength? "
            "J Sport Rehabil 2005;14(2):108-123. Pelvis-on-femur angle 83 ± 3°, SEM 2°, "
            "minimal detectable change 4°.",
        ),
        Citation(
            "robinson1987",
            "Robinson et al. 1987",
            "Robinson RO, Herzog W, Nigg BM. Use of force platform variables to quantify the "
            "effects of chiropractic manipulation on gait symmetry. J Manipulative Physiol "
            "Ther 1987;10(4):172-176. Symmetry index SI = 100 (L − R) / (0.5 (L + R)).",
        ),
        Citation(
            "patterson2008",
            "Patterson et al. 2008",
            "Patterson KK, Parafianowicz I, Danells CJ, Closson V, Verrier MC, Staines WR, "
            "Black SE, McIlroy WE. Gait asymmetry in community-ambulating stroke survivors. "
            "Arch Phys Med Rehabil 2008;89(2):304-310. Upper limits of the healthy symmetry "
            "ratio (larger/smaller): swing 1.06, stance 1.05, step length 1.08.",
        ),
        Citation(
            "voisard2023",
            "Voisard et al. 2023 (data), measured by hipscope",
            "Voisard C et al. Public gait dataset, Image Processing On Line 2023 "
            "(ipol.im/pub/art/2023/497): 19 healthy adults aged 25-79, lower-back IMU with "
            "foot-sensor reference events (AGPL-3.0). Values measured on "
            "this public data by the hipscope team: step-time |SI| interquartile range "
            "1.7-5.0 %; harmonic ratio (vertical) median 3.3; step regularity 0.88, stride "
            "regularity 0.84.",
        ),
        Citation(
            "moenilssen2004",
            "Moe-Nilssen & Helbostad 2004",
            "Moe-Nilssen R, Helbostad JL. Estimation of gait cycle characteristics by trunk "
            "accelerometry. J Biomech 2004;37(1):121-126. Step and stride regularity from the "
            "unbiased autocorrelation of vertical trunk acceleration.",
        ),
        Citation(
            "menz2003",
            "Menz et al. 2003",
            "Menz HB, Lord SR, Fitzpatrick RC. Acceleration patterns of the head and pelvis "
            "when walking on level and irregular surfaces. Gait Posture 2003;18(1):35-46. "
            "Harmonic ratio: even over odd harmonics of the stride.",
        ),
        Citation(
            "mancini2012",
            "Mancini et al. 2012",
            "Mancini M, Salarian A, Carlson-Kuhta P, Zampieri C, King L, Chiari L, Horak FB. "
            "ISway: a sensitive, valid and reliable measure of postural control. "
            "J Neuroeng Rehabil 2012;9:59. Sway from lumbar horizontal acceleration: RMS, "
            "path, 95 % ellipse area.",
        ),
        Citation(
            "milosavljevic2008",
            "Milosavljevic et al. 2008",
            "Milosavljevic S, Pal P, Bain D, Johnson G. Kinematic and temporal interactions "
            "of the lumbar spine and hip during trunk extension in healthy male subjects. "
            "Eur Spine J 2008;17(1):122-128. In healthy trunk extension the lumbar spine "
            "tends to start first; peak velocities 22-37 °/s lumbar vs 15-22 °/s hip.",
        ),
    )
}

# Patterson's symmetry-ratio limits expressed as symmetry-index limits: SI = 200 (r - 1)/(r + 1).
_SI_FROM_RATIO = lambda ratio: 200.0 * (ratio - 1.0) / (ratio + 1.0)  # noqa: E731

PELVIC_DROP_MDC_DEG = 4.0
STEP_TIME_SI_HEALTHY_IQR_PCT = (1.7, 5.0)
STANCE_TIME_SI_LIMIT_PCT = _SI_FROM_RATIO(1.05)
SWING_TIME_SI_LIMIT_PCT = _SI_FROM_RATIO(1.06)

REFERENCES: dict[str, Reference] = {
    r.metric: r
    for r in (
        Reference(
            "pelvic_drop_lr_diff_deg",
            f"A left-right difference above {PELVIC_DROP_MDC_DEG:.0f}° exceeds the minimal "
            "detectable change of clinical pelvis-on-femur scoring.",
            ("dimattia2005",),
            upper_abs=PELVIC_DROP_MDC_DEG,
        ),
        Reference(
            "pelvic_drop_change_deg",
            f"A change between sessions above {PELVIC_DROP_MDC_DEG:.0f}° exceeds the minimal "
            "detectable change.",
            ("dimattia2005",),
            upper_abs=PELVIC_DROP_MDC_DEG,
        ),
        Reference(
            "step_time_si_pct",
            "Healthy adults: |SI| interquartile range "
            f"{STEP_TIME_SI_HEALTHY_IQR_PCT[0]:.1f}-{STEP_TIME_SI_HEALTHY_IQR_PCT[1]:.1f} %; "
            "marked above the upper quartile.",
            ("voisard2023", "robinson1987"),
            upper_abs=STEP_TIME_SI_HEALTHY_IQR_PCT[1],
        ),
        Reference(
            "stance_time_si_pct",
            f"Healthy upper limit: symmetry ratio 1.05 (|SI| {STANCE_TIME_SI_LIMIT_PCT:.1f} %).",
            ("patterson2008",),
            upper_abs=STANCE_TIME_SI_LIMIT_PCT,
        ),
        Reference(
            "swing_time_si_pct",
            f"Healthy upper limit: symmetry ratio 1.06 (|SI| {SWING_TIME_SI_LIMIT_PCT:.1f} %).",
            ("patterson2008",),
            upper_abs=SWING_TIME_SI_LIMIT_PCT,
        ),
        Reference(
            "harmonic_ratio_vertical",
            "Healthy adults walking: median 3.3 (higher = smoother, more rhythmic).",
            ("voisard2023", "menz2003"),
        ),
        Reference(
            "step_regularity",
            "Healthy adults walking: median 0.88 (1 = identical consecutive steps).",
            ("voisard2023", "moenilssen2004"),
        ),
        Reference(
            "stride_regularity",
            "Healthy adults walking: median 0.84 (1 = identical consecutive strides).",
            ("voisard2023", "moenilssen2004"),
        ),
        Reference(
            "hip_lead_ms_median",
            "In healthy trunk extension from a forward bend the lumbar spine tends to start first.",
            ("milosavljevic2008",),
        ),
        Reference(
            "sway_ellipse_area_m2_s4",
            "Sway area from pelvis horizontal acceleration; compare sides and sessions.",
            ("mancini2012",),
        ),
    )
}


def reference_for(metric: str) -> Reference | None:
    """The reference for a metric key, or None when the literature gives none."""
    return REFERENCES.get(metric)
