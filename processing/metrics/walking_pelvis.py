"""Pelvic drop in single support, pelvic obliquity range and hip sagittal range while walking.

Per side S, stride by stride (from one initial contact of S to the next):

- **Single support of S**: from the other foot's final contact to its next initial contact.
  Without final contacts it starts ``double_support_fraction`` of the stride after S's
  initial contact (about 10 % in walking; a labelled approximation, reported in
  ``single_support_source``). When S's own final contact comes before the other foot's
  next initial contact (a flight phase: running), single support is S's stance, from its
  initial to its final contact; without final contacts a run's window would take in the
  flight, so running needs them.
- **Pelvic drop in S's single support**: the peak drop of the free (other) side of the
  pelvis, relative to standing: pelvic obliquity minus its standing reference, signed so
  that the free side lower is positive (obliquity is positive when the right side is
  lower: a left-stance drop is +obliquity, a right-stance drop −obliquity). Median over
  strides, per side.
- **Pelvic obliquity range**: peak to peak within each stride (strides of either side),
  median.
- **Hip flexion and extension per side**: the hip angle (thigh on pelvis, not the thigh's
  inclination) relative to standing: peak flexion and peak extension (positive when the
  hip extends past standing) per stride and their difference, the range; medians.

Strides shorter than ``min_stride_s``, longer than ``max_stride_s`` (pauses, turns), with
missing angles, or outside a given straight-walking mask are left out and counted.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.gait import LEFT, RIGHT, GaitEvents
from hipscope.processing.metrics.common import median_or_none, number

SIDES = (LEFT, RIGHT)


def _other(side: str) -> str:
    return RIGHT if side == LEFT else LEFT


def _first_after(times: NDArray[np.float64], after_s: float, before_s: float) -> float | None:
    inside = times[(times > after_s) & (times < before_s)]
    return float(inside[0]) if inside.size else None


class WalkingPelvis(Algorithm):
    """Pelvis and hip angles over the strides of one walk (see the module doc).

    Parameters
    ----------
    min_stride_s
        Strides shorter than this are left out, s. Default 0.6.
    max_stride_s
        Strides longer than this (pauses, turns) are left out, s. Default 2.0.
    double_support_fraction
        Without final contacts, single support starts this fraction of the stride after
        the stance side's initial contact. Default 0.1.
    """

    _action_method = "compute"

    def __init__(
        self,
        *,
        min_stride_s: float = 0.6,
        max_stride_s: float = 2.0,
        double_support_fraction: float = 0.1,
    ) -> None:
        self.min_stride_s = min_stride_s
        self.max_stride_s = max_stride_s
        self.double_support_fraction = double_support_fraction

    def compute(
        self,
        time_s: ArrayLike,
        events: GaitEvents,
        *,
        start_s: float,
        end_s: float,
        pelvis_obliquity_rad: ArrayLike | None,
        hip_flexion_left_rad: ArrayLike | None = None,
        hip_flexion_right_rad: ArrayLike | None = None,
        reference: dict[str, float] | None = None,
        straight_mask: ArrayLike | None = None,
    ) -> WalkingPelvis:
        """Results: ``metrics_`` (JSON-ready, degrees), ``unavailable_`` (reasons),
        ``strides_`` (one dict per stride and side, for tables).

        reference: standing values (radians) by angle name (``pelvis_obliquity``,
        ``hip_flexion_left`` ...); missing names count as 0 (the calibration stance).
        """
        t = np.asarray(time_s, dtype=np.float64)
        reference = reference or {}
        straight = None if straight_mask is None else np.asarray(straight_mask, dtype=bool)
        obliquity = self._relative(pelvis_obliquity_rad, reference.get("pelvis_obliquity", 0.0))
        hips = {
            LEFT: self._relative(hip_flexion_left_rad, reference.get("hip_flexion_left", 0.0)),
            RIGHT: self._relative(hip_flexion_right_rad, reference.get("hip_flexion_right", 0.0)),
        }
        has_fc = all(events.final_contacts(side).size for side in SIDES)
        approximation = f"initial contacts + {100 * self.double_support_fraction:.0f} % of stride"
        self.metrics_: dict[str, Any] = {
            "single_support_source": "final contacts" if has_fc else approximation
        }
        self.unavailable_: dict[str, str] = {}
        self.strides_: list[dict[str, Any]] = []
        drops: dict[str, list[float]] = {LEFT: [], RIGHT: []}
        ranges: list[float] = []
        flexion: dict[str, list[float]] = {LEFT: [], RIGHT: []}
        extension: dict[str, list[float]] = {LEFT: [], RIGHT: []}
        skipped = 0
        for side in SIDES:
            contacts = events.initial_contacts(side)
            contacts = contacts[(contacts >= start_s) & (contacts <= end_s)]
            for ic, next_ic in itertools.pairwise(contacts):
                stride_s = next_ic - ic
                rows = (t >= ic) & (t < next_ic)
                if not self.min_stride_s <= stride_s <= self.max_stride_s or rows.sum() < 5:
                    skipped += 1
                    continue
                if straight is not None and not straight[rows].all():
                    skipped += 1
                    continue
                row: dict[str, Any] = {
                    "side": side,
                    "start_s": number(ic),
                    "stride_s": number(stride_s),
                }
                if obliquity is not None and np.isfinite(obliquity[rows]).all():
                    ranges.append(float(np.ptp(obliquity[rows])))
                    drop = self._drop(t, obliquity, events, side, ic, next_ic, stride_s, has_fc)
                    if drop is not None:
                        drops[side].append(drop)
                        row["pelvic_drop_deg"] = number(np.degrees(drop), 2)
                hip = hips[side]
                if hip is not None and np.isfinite(hip[rows]).all():
                    flexion[side].append(float(np.max(hip[rows])))
                    extension[side].append(float(-np.min(hip[rows])))
                    row["hip_flexion_peak_deg"] = number(np.degrees(flexion[side][-1]), 2)
                    row["hip_extension_peak_deg"] = number(np.degrees(extension[side][-1]), 2)
                self.strides_.append(row)
        self.metrics_["strides_used"] = len(self.strides_)
        self.metrics_["strides_left_out"] = skipped
        self._summarise("pelvic_obliquity_range_deg", ranges, obliquity, "pelvis_obliquity")
        for side in SIDES:
            self._summarise(
                f"pelvic_drop_single_support_{side}_deg", drops[side], obliquity, "pelvis_obliquity"
            )
            self._summarise(
                f"hip_flexion_peak_{side}_deg", flexion[side], hips[side], f"hip_flexion_{side}"
            )
            self._summarise(
                f"hip_extension_peak_{side}_deg", extension[side], hips[side], f"hip_flexion_{side}"
            )
            sagittal = [f + e for f, e in zip(flexion[side], extension[side], strict=True)]
            self._summarise(
                f"hip_sagittal_range_{side}_deg", sagittal, hips[side], f"hip_flexion_{side}"
            )
        return self

    @staticmethod
    def _relative(values: ArrayLike | None, reference_rad: float) -> NDArray[np.float64] | None:
        if values is None:
            return None
        return np.asarray(values, dtype=np.float64) - reference_rad

    def _drop(
        self,
        t: NDArray[np.float64],
        obliquity: NDArray[np.float64],
        events: GaitEvents,
        side: str,
        ic: float,
        next_ic: float,
        stride_s: float,
        has_fc: bool,
    ) -> float | None:
        """Peak drop of the free side during ``side``'s single support in this stride."""
        other = _other(side)
        end = _first_after(events.initial_contacts(other), ic, next_ic)
        if end is None:
            return None
        start = _first_after(events.final_contacts(other), ic, end) if has_fc else None
        own_off = _first_after(events.final_contacts(side), ic, end) if has_fc else None
        if own_off is not None:
            # Flight before the other foot lands (running): the stance is the single support,
            # the other foot having left the ground before this one landed.
            end = own_off
            start = ic if start is None else start
        if start is None:
            start = ic + self.double_support_fraction * stride_s
        rows = (t >= start) & (t <= end)
        if start >= end or rows.sum() < 2:
            return None
        sign = 1.0 if side == LEFT else -1.0  # free right side lower = positive obliquity
        return float(np.max(sign * obliquity[rows]))

    def _summarise(
        self, key: str, values: list[float], source: NDArray[np.float64] | None, angle: str
    ) -> None:
        value = median_or_none(np.degrees(values)) if values else None
        self.metrics_[key] = number(value, 2)
        if value is None:
            self.unavailable_[key] = (
                f"no {angle} (needs its sensors)" if source is None else "no complete stride"
            )
