"""How each metric key of the JSON contract is shown to a coach: name, unit, decimals, meaning."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricLabel:
    name: str
    unit: str
    decimals: int
    meaning: str


TASK_TITLES: dict[str, str] = {
    "static": "Quiet standing",
    "gait": "Walking",
    "single_leg_stance": "Single-leg stance",
    "hip_hinge": "Hip hinge",
    "hip_bridge": "Hip bridge",
    "squat": "Squat",
    "lunge": "Lunge",
}

LABELS: dict[str, MetricLabel] = {
    # single-leg stance
    "pelvic_drop_peak_deg": MetricLabel(
        "Pelvic drop, peak",
        "°",
        1,
        "Largest drop of the free side during the steady hold "
        "(positive = free side lower than in the calibration standing posture). Noise "
        "inflates a peak: compare sides with the mean.",
    ),
    "pelvic_drop_mean_deg": MetricLabel(
        "Pelvic drop, mean",
        "°",
        1,
        "Average drop of the free side over the steady hold (after the free thigh has "
        "lifted and settled), relative to the calibration standing posture.",
    ),
    "trunk_lean_mean_deg": MetricLabel(
        "Trunk lean",
        "°",
        1,
        "Trunk inclination from vertical in the frontal plane, mean over the steady hold "
        "(positive = leaning towards the stance side). A pelvic drop under an upright "
        "trunk is not lean.",
    ),
    "sway_rms_m_s2": MetricLabel(
        "Sway (RMS)", "m/s²", 3, "How much the pelvis wobbles: horizontal acceleration RMS."
    ),
    "sway_ml_rms_m_s2": MetricLabel(
        "Sway side-to-side (RMS)", "m/s²", 3, "Mediolateral part of sway."
    ),
    "sway_ap_rms_m_s2": MetricLabel(
        "Sway front-to-back (RMS)", "m/s²", 3, "Anteroposterior part of sway."
    ),
    "sway_ellipse_area_m2_s4": MetricLabel(
        "Sway area (95 % ellipse)",
        "m²/s⁴",
        4,
        "Area covering 95 % of the pelvis horizontal accelerations: bigger = less steady.",
    ),
    "sway_path_m_s2": MetricLabel("Sway path", "m/s²", 2, "Total path of the acceleration trace."),
    "hold_s": MetricLabel("Steady hold", "s", 1, "How long the athlete held the steady stance."),
    "hold_start_s": MetricLabel("Hold start", "s", 2, "Session time the steady hold began."),
    "hold_end_s": MetricLabel("Hold end", "s", 2, "Session time the steady hold ended."),
    "pelvic_drop_lr_diff_deg": MetricLabel(
        "Pelvic drop L − R",
        "°",
        1,
        "Mean drop over the steady hold standing on the left minus the same standing on the right.",
    ),
    # repetitions
    "rep_count": MetricLabel("Repetitions", "", 0, "Repetitions found in the task."),
    "valid_rep_count": MetricLabel(
        "Repetitions with a valid lead",
        "",
        0,
        "Repetitions whose hip and lower-back rises could both be timed.",
    ),
    "hip_lead_ms_q1": MetricLabel("Hip lead, lower quartile", "ms", 0, ""),
    "hip_lead_ms_q3": MetricLabel("Hip lead, upper quartile", "ms", 0, ""),
    "hip_lead_ms_iqr": MetricLabel(
        "Hip lead spread (IQR)", "ms", 0, "Interquartile range of the valid repetitions' leads."
    ),
    "hip_lead_zone_ms": MetricLabel(
        "Indeterminate zone",
        "ms",
        0,
        'A median within ± this of 0 ms is "unclear": from the repetitions\' spread and count.',
    ),
    "hip_lead_verdict": MetricLabel(
        "Who leads",
        "",
        0,
        '"hips first" or "back first" only when the median clears the indeterminate zone; '
        'otherwise "unclear".',
    ),
    "rejected_reps": MetricLabel(
        "Rejected repetitions", "", 0, "Why repetitions gave no valid lead, with counts."
    ),
    "rejected": MetricLabel("Rejected", "", 0, "Why this repetition gave no valid lead."),
    "hip_lead_ms_median": MetricLabel(
        "Hip lead (median)",
        "ms",
        0,
        "How much earlier the hips start extending than the lower back, median over the "
        "valid repetitions (positive = hips start first).",
    ),
    "hip_onset_s": MetricLabel("Hip onset", "s", 2, "Hip extension starts."),
    "lumbar_onset_s": MetricLabel("Lower-back onset", "s", 2, "Lower-back extension starts."),
    "hip_lead_ms": MetricLabel("Hip lead", "ms", 0, "Positive = hips first."),
    "peak_hip_ext_vel_deg_s": MetricLabel(
        "Peak hip extension speed", "°/s", 0, "Fastest hip extension while rising."
    ),
    "time_to_peak_hip_ext_vel_s": MetricLabel(
        "Time to peak hip speed", "s", 2, "From hip onset to the fastest hip extension."
    ),
    "hip_share_pct": MetricLabel(
        "Hip share", "%", 0, "Share of the rising movement done by the hips (rest: lower back)."
    ),
    # gait
    "step_time_left_s": MetricLabel(
        "Step time",
        "s",
        3,
        "Time from the other foot's contact to this foot's contact (straight walking).",
    ),
    "step_time_right_s": MetricLabel("Step time", "s", 3, ""),
    "step_time_si_pct": MetricLabel(
        "Step-time symmetry index",
        "%",
        1,
        "0 = even rhythm; positive = left steps longer. Straight walking only: steps in "
        "turns are left out. ±: error against foot contacts on real walkers; CI: the spread "
        "over this walk's strides.",
    ),
    "stride_time_s": MetricLabel("Stride time", "s", 3, "One full gait cycle (two steps)."),
    "cadence_steps_min": MetricLabel("Cadence", "steps/min", 0, "Steps per minute."),
    "stance_time_si_pct": MetricLabel(
        "Stance-time symmetry index", "%", 1, "Time on the ground, left vs right."
    ),
    "swing_time_si_pct": MetricLabel(
        "Swing-time symmetry index", "%", 1, "Time in the air, left vs right."
    ),
    "thigh_rom_left_deg": MetricLabel(
        "Thigh range of motion", "°", 1, "Forward-backward thigh swing per stride."
    ),
    "thigh_rom_right_deg": MetricLabel("Thigh range of motion", "°", 1, ""),
    "pelvic_drop_single_support_left_deg": MetricLabel(
        "Pelvic drop in single support",
        "°",
        1,
        "Peak drop of the free side of the pelvis while standing on this leg, relative to "
        "quiet standing; median over strides (positive = free side lower).",
    ),
    "pelvic_drop_single_support_right_deg": MetricLabel(
        "Pelvic drop in single support", "°", 1, ""
    ),
    "hip_flexion_peak_left_deg": MetricLabel(
        "Hip flexion, peak", "°", 1, "Hip angle (thigh on pelvis) at its most flexed per stride."
    ),
    "hip_flexion_peak_right_deg": MetricLabel("Hip flexion, peak", "°", 1, ""),
    "hip_extension_peak_left_deg": MetricLabel(
        "Hip extension, peak",
        "°",
        1,
        "How far the hip extends past its standing angle per stride (positive = extended).",
    ),
    "hip_extension_peak_right_deg": MetricLabel("Hip extension, peak", "°", 1, ""),
    "hip_sagittal_range_left_deg": MetricLabel(
        "Hip range, flexion to extension", "°", 1, "Peak flexion to peak extension per stride."
    ),
    "hip_sagittal_range_right_deg": MetricLabel("Hip range, flexion to extension", "°", 1, ""),
    "pelvic_obliquity_range_deg": MetricLabel(
        "Pelvic obliquity range", "°", 1, "Peak-to-peak side-to-side pelvis tilt per stride."
    ),
    "thigh_rom_si_pct": MetricLabel(
        "Thigh ROM symmetry index", "%", 1, "Positive = the left thigh swings more."
    ),
    "step_regularity": MetricLabel(
        "Step regularity", "", 2, "How alike consecutive steps are (1 = identical)."
    ),
    "stride_regularity": MetricLabel(
        "Stride regularity", "", 2, "How alike consecutive strides are (1 = identical)."
    ),
    "harmonic_ratio_vertical": MetricLabel(
        "Harmonic ratio (vertical)",
        "",
        2,
        "Smoothness and rhythm of the up-down pelvis motion (higher = smoother).",
    ),
    "stance_time_left_s": MetricLabel("Stance time", "s", 3, "Foot on the ground per stride."),
    "stance_time_right_s": MetricLabel("Stance time", "s", 3, ""),
    "swing_time_left_s": MetricLabel("Swing time", "s", 3, "Foot in the air per stride."),
    "swing_time_right_s": MetricLabel("Swing time", "s", 3, ""),
    "contact_source": MetricLabel("Foot contacts from", "", 0, "Which sensors gave the contacts."),
    "hip_share_pct_median": MetricLabel(
        "Hip share (median)", "%", 0, "Share of the rising movement done by the hips."
    ),
    "hip_ext_deg": MetricLabel("Hip extension", "°", 0, "Hip extension range while rising."),
    "lumbar_ext_deg": MetricLabel(
        "Lower-back extension", "°", 0, "Lower-back extension range while rising."
    ),
    "hold_detection": MetricLabel("Hold found from", "", 0, "How the steady hold was found."),
    "duration_s": MetricLabel("Duration", "s", 1, "Length of the task."),
    "pelvis_tilt_mean_deg": MetricLabel(
        "Pelvic tilt vs calibration",
        "°",
        1,
        "Relative to the calibration standing posture, not anatomical (about 0 when the "
        "calibration used this task). Anterior tilt positive.",
    ),
    "pelvis_obliquity_mean_deg": MetricLabel(
        "Pelvic obliquity vs calibration",
        "°",
        1,
        "Relative to the calibration standing posture, not anatomical. Positive = right "
        "side lower.",
    ),
    "trunk_tilt_mean_deg": MetricLabel(
        "Trunk tilt vs calibration",
        "°",
        1,
        "Relative to the calibration standing posture. Forward tilt positive.",
    ),
    "lumbar_flexion_mean_deg": MetricLabel(
        "Lower-back flexion vs calibration", "°", 1, "Trunk on pelvis, relative to calibration."
    ),
    "lumbar_lateral_bend_mean_deg": MetricLabel(
        "Trunk on pelvis, side bend",
        "°",
        1,
        "Trunk relative to the pelvis, relative to the calibration posture; positive = "
        "trunk leaning right on the pelvis. In single-leg stance it includes the pelvic "
        "drop; the trunk lean is the trunk against vertical.",
    ),
    "hip_flexion_left_mean_deg": MetricLabel("Hip flexion, left, vs calibration", "°", 1, ""),
    "hip_flexion_right_mean_deg": MetricLabel("Hip flexion, right, vs calibration", "°", 1, ""),
    "n_steps_left": MetricLabel(
        "Steps counted", "", 0, "Steps in the step-time symmetry index (straight walking)."
    ),
    "n_steps_right": MetricLabel("Steps counted", "", 0, ""),
    "n_steps_in_turns": MetricLabel(
        "Steps in turns", "", 0, "Left out of the step-time symmetry index."
    ),
}


def label_for(key: str) -> MetricLabel:
    """The display label of a metric key; unknown keys get a readable name from the key."""
    if key in LABELS:
        return LABELS[key]
    unit = ""
    name = key
    for suffix, text in (
        ("_deg_s", "°/s"),
        ("_deg", "°"),
        ("_m_s2", "m/s²"),
        ("_ms", "ms"),
        ("_s", "s"),
        ("_pct", "%"),
        ("_hz", "Hz"),
        ("_m2_s4", "m²/s⁴"),
    ):
        if key.endswith(suffix):
            unit, name = text, key[: -len(suffix)]
            break
    return MetricLabel(name.replace("_", " ").capitalize(), unit, 2, "")


def format_value(value: object, decimals: int = 2, unit: str = "") -> str:
    """A metric value as display text (the templates escape it); None/NaN show as an en
    dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = f"{value:d}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        text = f"{value:.{decimals}f}"
        if float(text) == 0.0:
            text = text.lstrip("-")  # no "−0.0"
    elif isinstance(value, list | tuple):
        if len(value) > 8:
            return f"{len(value)} values"
        return ", ".join(format_value(v, decimals) for v in value)
    else:
        text = str(value)
    text = text.replace("-", "−") if isinstance(value, int | float) else text
    sep = "" if unit in ("°", "%", "") else "\u202f"
    return f"{text}{sep}{unit}" if unit else text
