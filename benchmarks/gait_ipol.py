"""Gait events from one lower-back sensor against foot-sensor references (IPOL, Voisard 2023).

Usage: python benchmarks/gait_ipol.py --data PATH/TO/ipol-gait [--via pipeline|fusion]
       [--peer mobgap --peer-python PYTHON_WITH_MOBGAP] [--per-trial] [--trials 1-1 ...]
       [--config analysis.toml]

``--config`` runs hipscope with an analysis configuration (e.g. ``[gait_events.pelvis]
timing = "lobe"`` to compare contact-timing variants).

The data (AGPL-3.0) is read from the given folder and never copied. Each trial is put on a
uniform PacketCounter grid (packets go missing), then:

- ``--via pipeline`` (default): the trial is written as a hipscope recording (pelvis sensor,
  a ``static`` task over the standing before the walk, a ``gait`` task over the
  TrialBoundaries) and analysed by ``hipscope.processing.pipeline.analyze_recording``: the
  pipeline's fusion and calibration make vertical vertical and give the pelvis rates; the
  contacts, sides and foot-offs are the ones the JSON reports. It also prints how far the
  calibration's pelvis anterior axis lies from the worn one (IPOL's sensor is worn in the
  nominal mounting, +X up, +Z backwards), per subject group and with ``--per-trial``.
- ``--via fusion``: offline VQF (6D) alone; vertical = world z, roll rate = angular velocity
  about the horizontal projection of the sensor's backwards axis (+Z as worn), negated,
  yaw rate = world z, mediolateral acceleration along the horizontal left of that axis;
  then the pipeline's event modules, and each side cue's own accuracy is printed too.
- ``--peer mobgap``: mobgap's IcdIonescu + LrcUllrich (defaults) on the same trials, run by
  ``benchmarks/peer_mobgap.py`` in a Python that has mobgap (never a hipscope dependency):
  sensor axes turned to mobgap's body frame, tilt removed with the standing before the
  walk, gyroscope in deg/s; its contacts and sides are scored by the same code.

References: heel strikes (contacts, sides) and toe-offs (foot-off) in ``LeftFootEvents`` /
``RightFootEvents`` ([toe-off, heel-strike] packet pairs) inside TrialBoundaries. A
detection matches the nearest unmatched reference within 150 ms. Printed per method:
sensitivity, precision and timing of contacts; side accuracy over matched contacts and the
walks with more than half of their sides inverted; the per-trial step-time SI error (the
same estimator, ``metrics.step_asymmetry``, on the detected contacts and sides and on the
reference's, both over the straight walking the pipeline's ``StraightWalking`` finds, as the
report does) as median and 90th percentile |error| and the slope of detected against
reference SI, then the same with turning steps kept and with timing alone (the matched
contacts given the reference's sides); foot-off timing against toe-off. Then per subject
group (1-10 / 11-19: the contact thresholds and the foot-off offset were set on 1-10),
without 4-1/4-2, and the misses and false contacts by walk segment.

Trials 4-1 and 4-2 come out inverted, and the evidence points at their reference rather
than the sensor: each of the two physically independent pelvis cues on its own (roll after
the contact, and the mediolateral sway over the stance foot, with polarities fixed by
physics, not by IPOL) inverts on exactly these two walks and on no other of the 110,
mobgap's LrcUllrich (trained elsewhere) inverts them too, and the world-vertical yaw rate
before each contact inverts as well (VQF 6D on the raw file, no hipscope calibration
involved), yet no re-mounting can invert a rate about the gravity-defined vertical.
Swapped foot sensors would explain all of these. A fifth cue, from gait initiation rather
than walking, is printed last: before the first toe-off the pelvis moves over the stance
foot; it names the reference's first swing foot in 104 of 110 walks, and 4-1 and 4-2 are
among the six it contradicts, with two of the three largest shifts (0.13 m/s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import vqf
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from hipscope.base.rotations import to_rotation
from hipscope.processing.calibration import SegmentCalibration
from hipscope.processing.config import AnalysisConfig
from hipscope.processing.events.signals import lowpass
from hipscope.processing.events.turns import StraightWalking
from hipscope.processing.metrics.step_asymmetry import (
    StepTimeAsymmetry,
    contacts_in_straight_walking,
)

RATE_HZ = 100.0
TOLERANCE_S = 0.150


@dataclass
class Trial:
    name: str
    time_s: NDArray[np.float64]
    acc_m_s2: NDArray[np.float64]
    gyr_rad_s: NDArray[np.float64]
    meta: dict
    first_packet: int
    _rotation: Rotation | None = field(default=None, repr=False)
    _straight: NDArray[np.bool_] | None = field(default=None, repr=False)

    def packet_time(self, packet: float) -> float:
        return (packet - self.first_packet) / RATE_HZ

    def rotation(self) -> Rotation:
        """Sensor-to-world orientation by offline VQF 6D (computed once per trial)."""
        if self._rotation is None:
            quat = vqf.offlineVQF(
                np.ascontiguousarray(self.gyr_rad_s),
                np.ascontiguousarray(self.acc_m_s2),
                None,
                1.0 / RATE_HZ,
            )["quat6D"]
            self._rotation = to_rotation(quat)
        return self._rotation


def load_trial(directory: Path, name: str) -> Trial:
    raw = np.loadtxt(directory / f"{name}_lb.txt", skiprows=2)
    packets, index = np.unique(raw[:, 0].astype(np.int64), return_index=True)
    raw = raw[index]
    grid = np.arange(packets[0], packets[-1] + 1)
    columns = np.column_stack([np.interp(grid, packets, raw[:, 1 + j]) for j in range(6)])
    meta = json.loads((directory / f"{name}.json").read_text())
    return Trial(
        name=name,
        time_s=(grid - packets[0]) / RATE_HZ,
        acc_m_s2=columns[:, 0:3],
        gyr_rad_s=columns[:, 3:6],
        meta=meta,
        first_packet=int(packets[0]),
    )


def straight_walking(trial: Trial) -> NDArray[np.bool_]:
    """The pipeline's turn finder (``StraightWalking``) on the trial's pelvis heading: offline
    VQF 6D, pelvis axes as worn (+X up, +Z backwards, +Y left). Cached on the trial."""
    if trial._straight is None:
        # columns: the pelvis's anterior, left and up axes in the sensor's frame
        worn = Rotation.from_matrix([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
        xyzw = (trial.rotation() * worn).as_quat()
        q_world_pelvis = np.column_stack([xyzw[:, 3], xyzw[:, :3]])
        trial._straight = StraightWalking().detect(q_world_pelvis, RATE_HZ).straight_
    return trial._straight


def initiation_swing_side(trial: Trial) -> tuple[str, str, float]:
    """The first swing foot by the reference, and by the pelvis's weight shift before it.

    Starting to walk, the centre of mass is moved over the stance foot before the swing
    foot leaves the ground (anticipatory postural adjustment), so the pelvis's lateral
    velocity just before the first toe-off points at the stance foot: a side cue from gait
    initiation, independent of the walking cues and of any hipscope detector. Returns
    (reference side, side by the shift, lateral velocity in m/s, + = left).
    """
    lo = trial.meta["TrialBoundaries"][0]
    first = [
        s
        for s, key in (("left", "LeftFootEvents"), ("right", "RightFootEvents"))
        if trial.meta[key] and trial.meta[key][0][0] == lo
    ]
    rotation = trial.rotation()
    toe_off = lo - trial.first_packet
    quiet = max(toe_off - 150, 0)
    forward = rotation.apply(np.array([0.0, 0.0, -1.0]))[max(toe_off - 100, 0) : toe_off].mean(0)
    left = np.array([-forward[1], forward[0], 0.0]) / np.hypot(forward[0], forward[1])
    lateral = lowpass(rotation.apply(trial.acc_m_s2) @ left, 5.0, RATE_HZ)
    velocity = float(np.sum(lateral[toe_off - 60 : toe_off] - lateral[quiet : quiet + 30].mean()))
    velocity /= RATE_HZ
    by_shift = "right" if velocity > 0.0 else "left"  # moving left: standing on the left
    return (first[0] if len(first) == 1 else "?"), by_shift, velocity


def reference(trial: Trial, kind: int = 1) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Reference events inside TrialBoundaries: kind 1 heel strikes, kind 0 toe-offs."""
    lo, hi = trial.meta["TrialBoundaries"]
    rows = [(e[kind], "left") for e in trial.meta["LeftFootEvents"]]
    rows += [(e[kind], "right") for e in trial.meta["RightFootEvents"]]
    rows = sorted(r for r in rows if lo <= r[0] <= hi)
    times = np.array([trial.packet_time(r[0]) for r in rows])
    sides = np.array([r[1] for r in rows], dtype="<U5")
    return times, sides


@dataclass
class Detected:
    ic_time_s: NDArray[np.float64]
    ic_side: NDArray[np.str_]
    fc_time_s: NDArray[np.float64]
    fc_side: NDArray[np.str_]
    cues: dict[str, NDArray[np.str_]] = field(default_factory=dict)
    anterior_off_deg: float = float("nan")
    """Pipeline path: the calibrated pelvis anterior axis's angle from the worn one."""


def contacts_via_fusion(trial: Trial, config: AnalysisConfig | None = None) -> Detected:
    """Offline VQF 6D, then the same event modules as the pipeline (no calibration step);
    also keeps each pelvis side cue's own reading (``Detected.cues``)."""
    from hipscope.processing.events.final_contacts import PelvisFinalContacts
    from hipscope.processing.events.gait import PelvisContacts
    from hipscope.processing.events.sides import PelvisSides

    rotation = trial.rotation()
    acc_world = rotation.apply(trial.acc_m_s2)
    gyr_world = rotation.apply(trial.gyr_rad_s)
    forward = rotation.apply(np.array([0.0, 0.0, -1.0]))
    forward[:, 2] = 0.0
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    # Right-hand rule about the forward axis (z up, y left): positive = right side drops.
    roll = np.sum(gyr_world * forward, axis=1)
    left = np.column_stack([-forward[:, 1], forward[:, 0], np.zeros(forward.shape[0])])
    lo, hi = trial.meta["TrialBoundaries"]
    pelvis = config.gait_events.pelvis.clone() if config is not None else PelvisContacts()
    detector = pelvis.detect(
        trial.time_s,
        acc_world[:, 2],
        start_s=trial.packet_time(lo),
        end_s=trial.packet_time(hi),
    )
    ic = detector.ic_time_s_
    sides = PelvisSides().assign(
        trial.time_s,
        ic,
        gyr_yaw_rad_s=gyr_world[:, 2],
        gyr_roll_rad_s=roll,
        acc_ml_m_s2=np.sum(acc_world * left, axis=1),
    )
    final = PelvisFinalContacts().detect(trial.time_s, acc_world[:, 2], ic, sides.side_)
    det = Detected(ic, sides.side_, final.fc_time_s_, final.fc_side_)
    det.cues = {
        k: np.where(v >= 0.0, "left", "right").astype("<U5") for k, v in sides.scores_.items()
    }
    return det


def contacts_via_pipeline(
    trial: Trial, workdir: Path, config: AnalysisConfig | None = None
) -> Detected:
    from hipscope.acquisition.recorder import Recorder, SensorMeta
    from hipscope.acquisition.samples import SampleBatch, Task
    from hipscope.processing.pipeline import analyze_recording

    lo, hi = trial.meta["TrialBoundaries"]
    start_s, end_s = trial.packet_time(lo), trial.packet_time(hi)
    path = workdir / f"{trial.name}.h5"
    with Recorder(
        path,
        [SensorMeta("pelvis", profile="ipol", nominal_rate_hz=RATE_HZ)],
        athlete=f"ipol {trial.name}",
    ) as recorder:
        recorder.append("pelvis", SampleBatch(trial.time_s, trial.acc_m_s2, trial.gyr_rad_s))
        static_end = max(0.5, start_s - 0.5)
        recorder.add_task(Task("static", "", 0.0, static_end))
        recorder.add_task(Task("gait", "", start_s, end_s))
    analysis = analyze_recording(path, config=config)
    gait = next(t for t in analysis.tasks if t.task.kind == "gait")
    events = gait.events
    path.unlink()
    off_deg = anterior_off_deg(analysis.kinematics.calibration.segments["pelvis"])
    if events is None:
        empty = np.empty(0)
        return Detected(
            empty, empty.astype("<U5"), empty, empty.astype("<U5"), anterior_off_deg=off_deg
        )
    return Detected(
        events.ic_time_s,
        events.ic_side,
        events.fc_time_s,
        events.fc_side,
        anterior_off_deg=off_deg,
    )


def anterior_off_deg(segment: SegmentCalibration) -> float:
    """Signed angle about the calibrated superior axis from the worn anterior axis (IPOL's
    sensor -Z, the nominal mounting, made horizontal) to the calibrated one, degrees."""
    from hipscope.base.rotations import to_rotation

    r_sensor_segment = to_rotation(segment.q_sensor_segment)
    anterior, up = r_sensor_segment.apply([1.0, 0.0, 0.0]), r_sensor_segment.apply([0.0, 1.0, 0.0])
    worn = np.array([0.0, 0.0, -1.0])
    worn -= (worn @ up) * up
    return float(np.degrees(np.arctan2(np.cross(worn, anterior) @ up, worn @ anterior)))


def contacts_via_mobgap(trials: list[Trial], python: str, workdir: Path) -> dict[str, Detected]:
    """mobgap's IcdIonescu + LrcUllrich (defaults) in the Python that has mobgap installed."""
    from scipy.spatial.transform import Rotation

    arrays: dict[str, NDArray] = {}
    for trial in trials:
        lo, hi = (round(trial.packet_time(x) * RATE_HZ) for x in trial.meta["TrialBoundaries"])
        # IPOL as worn: +X up, +Y left, +Z backwards; mobgap body frame: is up, ml right,
        # pa forward (a 180 degree turn about X); mobgap takes the gyroscope in deg/s.
        flip = np.array([1.0, -1.0, -1.0])
        # The sensor sits tilted: rotate it (smallest rotation) so the gravity of the standing
        # before the walk lies along "is", as mobgap's body frame assumes.
        up = np.mean(trial.acc_m_s2[: max(lo, 10)], axis=0) * flip
        tilt, _ = Rotation.align_vectors([[1.0, 0.0, 0.0]], [up / np.linalg.norm(up)])
        arrays[f"{trial.name}/acc"] = tilt.apply(trial.acc_m_s2 * flip)
        arrays[f"{trial.name}/gyr"] = np.degrees(tilt.apply(trial.gyr_rad_s * flip))
        arrays[f"{trial.name}/window"] = np.array([lo, hi])
        arrays[f"{trial.name}/rate"] = np.array(RATE_HZ)
    source, target = workdir / "peer_in.npz", workdir / "peer_out.json"
    np.savez(source, **arrays)
    script = Path(__file__).with_name("peer_mobgap.py")
    subprocess.run([python, str(script), str(source), str(target)], check=True)
    found = json.loads(target.read_text())
    out = {}
    for trial in trials:
        row = found[trial.name]
        empty = np.empty(0)
        out[trial.name] = Detected(
            np.array(row["ic"], dtype=np.float64) / RATE_HZ,
            np.array(row["side"], dtype="<U5"),
            empty,
            empty.astype("<U5"),
        )
    return out


def match(detected: NDArray[np.float64], ref: NDArray[np.float64]) -> list[tuple[int, int]]:
    """Greedy nearest matching within the tolerance, closest pairs first."""
    pairs = []
    if detected.size and ref.size:
        distance = np.abs(detected[:, None] - ref[None, :])
        for flat in np.argsort(distance, axis=None):
            i, j = np.unravel_index(flat, distance.shape)
            if distance[i, j] > TOLERANCE_S:
                break
            pairs.append((int(i), int(j)))
            distance[i, :] = np.inf
            distance[:, j] = np.inf
    return pairs


def step_times(
    times: NDArray[np.float64], sides: NDArray[np.str_], side: str
) -> NDArray[np.float64]:
    """Step ending at each contact of ``side`` whose previous contact is the other side."""
    out = []
    for k in range(1, times.shape[0]):
        if sides[k] == side and sides[k - 1] != side and times[k] - times[k - 1] < 1.5:
            out.append(times[k] - times[k - 1])
    return np.array(out)


def step_time_si(
    times: NDArray[np.float64], sides: NDArray[np.str_], trial: Trial | None = None
) -> float:
    """The step-time SI hipscope reports, from any contacts and sides (NaN: no steps); with
    a trial, over its straight walking only, as the pipeline does."""
    straight = (
        None
        if trial is None
        else contacts_in_straight_walking(trial.time_s, straight_walking(trial), times)
    )
    result = StepTimeAsymmetry(min_steps_per_side=1, n_bootstrap=1).compute(
        times, sides, contact_straight=straight
    )
    value = result.metrics_["step_time_si_pct"]
    return float("nan") if value is None else float(value)


def score_trial(trial: Trial, det: Detected) -> dict:
    """Contacts, sides, step-time SI and foot-off of one trial against its references."""
    ref_t, ref_side = reference(trial)
    pairs = match(det.ic_time_s, ref_t)
    ok = [bool(det.ic_side[i] == ref_side[j]) for i, j in pairs]
    missed = np.setdiff1d(np.arange(ref_t.shape[0]), [j for _, j in pairs])
    false = np.setdiff1d(np.arange(det.ic_time_s.shape[0]), [i for i, _ in pairs])
    row = {
        "tp": len(pairs),
        "fp": det.ic_time_s.shape[0] - len(pairs),
        "fn": ref_t.shape[0] - len(pairs),
        "errors": [float(det.ic_time_s[i] - ref_t[j]) for i, j in pairs],
        "side_ok": ok,
        "missed_s": ref_t[missed].tolist(),
        "false_s": det.ic_time_s[false].tolist(),
        "si_ref": step_time_si(ref_t, ref_side, trial),
        "si_det": step_time_si(det.ic_time_s, det.ic_side, trial),
        "si_ref_all": step_time_si(ref_t, ref_side),
        "si_det_all": step_time_si(det.ic_time_s, det.ic_side),
        "step_err": {},
    }
    for side in ("left", "right"):
        ref_steps = step_times(ref_t, ref_side, side)
        det_steps = step_times(det.ic_time_s, det.ic_side, side)
        if ref_steps.size and det_steps.size:
            row["step_err"][side] = float(np.median(det_steps) - np.median(ref_steps))
    by_time = sorted(pairs, key=lambda p: det.ic_time_s[p[0]])
    matched_t = np.array([det.ic_time_s[i] for i, _ in by_time])
    matched_ref = np.array([ref_t[j] for _, j in by_time])
    matched_side = np.array([ref_side[j] for _, j in by_time], dtype="<U5")
    row["si_timing_err"] = step_time_si(matched_t, matched_side, trial) - step_time_si(
        matched_ref, matched_side, trial
    )
    straight = contacts_in_straight_walking(trial.time_s, straight_walking(trial), matched_ref)
    lag = {
        side: (matched_t - matched_ref)[straight & (matched_side == side)]
        for side in ("left", "right")
    }
    row["lr_offset_s"] = (
        float(np.median(lag["left"]) - np.median(lag["right"]))
        if lag["left"].size and lag["right"].size
        else float("nan")
    )
    row["cue_ok"] = {
        cue: [bool(sides[i] == ref_side[j]) for i, j in pairs] for cue, sides in det.cues.items()
    }
    fo_t, fo_side = reference(trial, kind=0)
    fo_pairs = match(det.fc_time_s, fo_t)
    row["fo_n_ref"] = fo_t.shape[0]
    row["fo_n_det"] = det.fc_time_s.shape[0]
    row["fo_errors"] = [float(det.fc_time_s[i] - fo_t[j]) for i, j in fo_pairs]
    row["fo_side_ok"] = [bool(det.fc_side[i] == fo_side[j]) for i, j in fo_pairs]
    return row


def summary(label: str, rows: dict[str, dict]) -> list[str]:
    """The targets of the benchmark as printed lines."""
    tp = sum(r["tp"] for r in rows.values())
    fp = sum(r["fp"] for r in rows.values())
    fn = sum(r["fn"] for r in rows.values())
    err_ms = 1000.0 * np.concatenate([r["errors"] for r in rows.values()])
    side = np.concatenate([r["side_ok"] for r in rows.values()]).astype(float)
    inverted = [n for n, r in rows.items() if r["side_ok"] and np.mean(r["side_ok"]) < 0.5]
    si_err = np.array([r["si_det"] - r["si_ref"] for r in rows.values()])
    si_abs = np.abs(si_err[np.isfinite(si_err)])
    no_si = int(np.sum(~np.isfinite(si_err)))
    all_abs = np.abs(np.array([r["si_det_all"] - r["si_ref_all"] for r in rows.values()]))
    all_abs = all_abs[np.isfinite(all_abs)]
    timing_abs = np.abs(np.array([r["si_timing_err"] for r in rows.values()]))
    timing_abs = timing_abs[np.isfinite(timing_abs)]
    finite = si_err[np.isfinite(si_err)]
    loa = (
        float(np.mean(finite) - 1.96 * np.std(finite, ddof=1)),
        float(np.mean(finite) + 1.96 * np.std(finite, ddof=1)),
    )
    si_pairs = np.array(
        [(r["si_ref"], r["si_det"]) for n, r in rows.items() if n not in inverted]
    ).reshape(-1, 2)
    si_pairs = si_pairs[np.isfinite(si_pairs).all(axis=1)]
    slope = np.polyfit(si_pairs[:, 0], si_pairs[:, 1], 1)[0] if len(si_pairs) > 2 else np.nan
    fo_ms = 1000.0 * np.concatenate([r["fo_errors"] for r in rows.values()] + [[]])
    fo_ref = sum(r["fo_n_ref"] for r in rows.values())
    fo_det = sum(r["fo_n_det"] for r in rows.values())
    fo_side = np.concatenate([r["fo_side_ok"] for r in rows.values()] + [[]]).astype(float)
    lines = [
        f"[{label}] contacts: sensitivity {tp / max(tp + fn, 1):.3f}, precision "
        f"{tp / max(tp + fp, 1):.3f}, timing median {np.median(err_ms):+.1f} ms signed, "
        f"|median| {np.median(np.abs(err_ms)):.1f} ms, mean abs {np.mean(np.abs(err_ms)):.1f} ms",
        f"[{label}] sides: accuracy {side.mean():.3f} over {side.size} matched contacts; "
        f"walks with > half inverted: {len(inverted)} of {len(rows)}"
        + (f" ({', '.join(inverted)})" if inverted else ""),
        f"[{label}] step-time SI error vs reference contacts (straight walking, as reported): "
        f"median |error| {np.median(si_abs):.2f}, 90th pct {np.percentile(si_abs, 90):.2f} "
        f"points over {si_abs.size} trials"
        + (f" ({no_si} without an SI)" if no_si else "")
        + f"; slope of SI against the reference's {slope:.2f} (without inverted walks); "
        f"95 % limits of agreement {loa[0]:+.2f} … {loa[1]:+.2f} points (bias ± 1.96 SD), "
        f"95th pct |error| {np.percentile(si_abs, 95):.2f}",
        f"[{label}]   the same with turning steps kept: median |error| "
        f"{np.median(all_abs):.2f}, 90th pct {np.percentile(all_abs, 90):.2f}; timing alone "
        f"(matched contacts, reference sides): median {np.median(timing_abs):.2f}, 90th pct "
        f"{np.percentile(timing_abs, 90):.2f}",
    ]
    if fo_ms.size:
        lines.append(
            f"[{label}] foot-off vs toe-off: matched {fo_ms.size} of {fo_ref} references "
            f"({fo_det} detected), median {np.median(fo_ms):+.1f} ms signed, |median| "
            f"{np.median(np.abs(fo_ms)):.1f} ms, 90th pct |error| "
            f"{np.percentile(np.abs(fo_ms), 90):.1f} ms, side {fo_side.mean():.3f}"
        )
    else:
        lines.append(f"[{label}] foot-off: not detected")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the ipol-gait folder")
    parser.add_argument(
        "--via",
        choices=("pipeline", "fusion"),
        default="pipeline",
        help="where vertical acceleration and roll rate come from",
    )
    parser.add_argument("--trials", nargs="*", default=None, help="trial names (default: all)")
    parser.add_argument(
        "--peer", choices=("mobgap",), default=None, help="also run the peer in the same harness"
    )
    parser.add_argument(
        "--peer-python",
        default=sys.executable,
        help="a Python with mobgap (and scikit-learn 1.6.1) installed (default: this one)",
    )
    parser.add_argument("--per-trial", action="store_true", help="print one line per trial")
    parser.add_argument("--config", type=Path, default=None, help="an analysis configuration")
    args = parser.parse_args()
    config = AnalysisConfig.load(args.config) if args.config else None
    names = args.trials or sorted(p.stem for p in args.data.glob("*.json"))
    if not names:
        print(f"no trials in {args.data}", file=sys.stderr)
        return 1

    trials = [load_trial(args.data, name) for name in names]
    per_trial: dict[str, dict] = {}
    peer_rows: dict[str, dict] = {}
    segments = {"U-turn": [0, 0], "first/last 1.2 s": [0, 0], "straight": [0, 0]}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for trial in trials:
            if args.via == "fusion":
                det = contacts_via_fusion(trial, config)
            else:
                det = contacts_via_pipeline(trial, Path(tmp), config)
            row = score_trial(trial, det)
            row["anterior_off_deg"] = det.anterior_off_deg
            per_trial[trial.name] = row
            for column, key in ((0, "missed_s"), (1, "false_s")):
                for x in row[key]:
                    segments[segment(trial, float(x))][column] += 1
        elapsed = time.perf_counter() - started
        if args.peer == "mobgap":
            peer = contacts_via_mobgap(trials, args.peer_python, Path(tmp))
            peer_rows = {t.name: score_trial(t, peer[t.name]) for t in trials}
    print(f"IPOL lower-back gait, {len(names)} trials, via {args.via}, {elapsed:.1f} s")
    for line in summary("hipscope", per_trial):
        print(line)
    if peer_rows:
        for line in summary("mobgap IcdIonescu+LrcUllrich", peer_rows):
            print(line)
        print(peer_agreement(per_trial, peer_rows))
    for side in ("left", "right"):
        values = 1000.0 * np.array(
            [r["step_err"][side] for r in per_trial.values() if side in r["step_err"]]
        )
        if values.size:
            print(
                f"median step time error {side:<5}  median {np.median(values):+.1f} ms, "
                f"mean abs {np.mean(np.abs(values)):.1f} ms over {values.size} trials"
            )
    side_acc = [
        (n, float(np.mean(r["side_ok"])) if r["side_ok"] else float("nan"))
        for n, r in per_trial.items()
    ]
    worst = sorted(side_acc, key=lambda x: x[1])[:5]
    print("worst side accuracy: " + ", ".join(f"{n} {a:.2f}" for n, a in worst))
    groups = {
        "subjects 1-10": [n for n in per_trial if int(n.split("-")[0]) <= 10],
        "subjects 11-19": [n for n in per_trial if int(n.split("-")[0]) > 10],
    }
    groups["without 4-1, 4-2"] = [n for n in per_trial if n not in ("4-1", "4-2")]
    for label, members in groups.items():
        print(group_line(label, [per_trial[n] for n in members]))
    if args.via == "pipeline":
        for label, members in groups.items():
            if label.startswith("subjects"):
                print(anterior_line(label, [per_trial[n]["anterior_off_deg"] for n in members]))
    print(
        "missed / false contacts by segment: "
        + ", ".join(f"{k} {v[0]} / {v[1]}" for k, v in segments.items())
    )
    cues = sorted({c for r in per_trial.values() for c in r["cue_ok"]})
    if cues:
        print("each pelvis side cue on its own (its physical polarity, no vote, no chain):")
        for cue in cues:
            rates = {n: np.mean(r["cue_ok"][cue]) for n, r in per_trial.items() if r["side_ok"]}
            flipped = sorted(n for n, a in rates.items() if a < 0.5)
            every = np.concatenate([r["cue_ok"][cue] for r in per_trial.values()])
            print(
                f"  {cue:<5} accuracy {np.mean(every):.3f}; "
                f"walks below 0.5: {len(flipped)} ({', '.join(flipped) or 'none'})"
            )
    starts = {t.name: initiation_swing_side(t) for t in trials}
    against = [f"{n} ({v:+.2f} m/s)" for n, (ref, shift, v) in starts.items() if ref != shift]
    print(
        "first swing foot from the weight shift before the first toe-off (gait initiation; "
        f"no hipscope detector): agrees with the reference in {len(starts) - len(against)} "
        f"of {len(starts)} walks; not in {', '.join(against) or 'none'}"
    )
    if args.per_trial:
        for name, r in per_trial.items():
            peer_si = f", peer SI {peer_rows[name]['si_det']:+.1f}" if peer_rows else ""
            anterior = (
                f", anterior axis {r['anterior_off_deg']:+.0f}°" if args.via == "pipeline" else ""
            )
            print(
                f"{name:>6}: side {np.mean(r['side_ok']) if r['side_ok'] else float('nan'):.2f}, "
                f"SI ref {r['si_ref']:+.1f} ours {r['si_det']:+.1f}{peer_si}{anterior}"
            )
    return 0


def peer_agreement(ours: dict[str, dict], peer: dict[str, dict]) -> str:
    """How far two pelvis detectors agree with each other, against how far each agrees
    with the foot reference (per trial, without 4-1 and 4-2)."""
    names = [n for n in ours if n in peer and n not in ("4-1", "4-2")]

    def column(rows: dict[str, dict], key: str) -> NDArray[np.float64]:
        return np.array([rows[n][key] for n in names], dtype=np.float64)

    si_ours, si_peer, si_ref = (
        column(ours, "si_det"),
        column(peer, "si_det"),
        column(ours, "si_ref"),
    )
    ok = np.isfinite(si_ours) & np.isfinite(si_peer) & np.isfinite(si_ref)
    lag_ours, lag_peer = column(ours, "lr_offset_s"), column(peer, "lr_offset_s")
    both = np.isfinite(lag_ours) & np.isfinite(lag_peer)
    return (
        f"two pelvis detectors against each other ({int(ok.sum())} trials, without 4-1, 4-2): "
        "per-trial SI median |difference| hipscope-mobgap "
        f"{np.median(np.abs(si_ours - si_peer)[ok]):.2f}, hipscope-reference "
        f"{np.median(np.abs(si_ours - si_ref)[ok]):.2f}, mobgap-reference "
        f"{np.median(np.abs(si_peer - si_ref)[ok]):.2f} points; SD of the per-trial SI "
        f"hipscope {np.std(si_ours[ok]):.2f}, mobgap {np.std(si_peer[ok]):.2f}, reference "
        f"{np.std(si_ref[ok]):.2f}; each detector's left-minus-right timing offset against "
        "the foot reference (median |offset| "
        f"{1000 * np.median(np.abs(lag_ours[both])):.1f} / "
        f"{1000 * np.median(np.abs(lag_peer[both])):.1f} ms; mean "
        f"{1000 * np.mean(lag_ours[both]):+.1f} / {1000 * np.mean(lag_peer[both]):+.1f} ms) "
        f"correlates {np.corrcoef(lag_ours[both], lag_peer[both])[0, 1]:.2f} between the two"
    )


def segment(trial: Trial, time_s: float) -> str:
    """Where in the walk a contact lies: U-turn (± 0.3 s), first / last 1.2 s, straight."""
    lo, hi = (trial.packet_time(x) for x in trial.meta["TrialBoundaries"])
    turn = trial.meta.get("UTurnBoundaries")
    if turn:
        t0, t1 = (trial.packet_time(x) for x in turn)
        if t0 - 0.3 <= time_s <= t1 + 0.3:
            return "U-turn"
    if time_s < lo + 1.2 or time_s > hi - 1.2:
        return "first/last 1.2 s"
    return "straight"


def anterior_line(label: str, off_deg: list[float]) -> str:
    """The calibration's pelvis anterior axis against the worn (nominal) mounting."""
    off = np.abs(np.array(off_deg))
    return (
        f"{label:<17} {off.size:>3} trials: calibrated pelvis anterior axis vs the worn one: "
        f"median {np.median(off):.1f}°, max {off.max():.1f}°, over 30°: {int(np.sum(off > 30))}"
    )


def group_line(label: str, trials: list[dict]) -> str:
    tp = sum(t["tp"] for t in trials)
    fp = sum(t["fp"] for t in trials)
    fn = sum(t["fn"] for t in trials)
    err_ms = 1000.0 * np.abs(np.concatenate([t["errors"] for t in trials]))
    side = np.concatenate([t["side_ok"] for t in trials]).astype(float)
    fo_ms = 1000.0 * np.abs(np.concatenate([t["fo_errors"] for t in trials] + [[]]))
    si = np.array([t["si_det"] - t["si_ref"] for t in trials])
    si = np.abs(si[np.isfinite(si)])
    return (
        f"{label:<17} {len(trials):>3} trials: sensitivity {tp / max(tp + fn, 1):.3f}, "
        f"precision {tp / max(tp + fp, 1):.3f}, |median| {np.median(err_ms):.1f} ms, "
        f"side {side.mean():.3f}, SI |error| median {np.median(si):.2f} / 90th "
        f"{np.percentile(si, 90):.2f}"
        + (f", foot-off |median| {np.median(fo_ms):.1f} ms" if fo_ms.size else "")
    )


if __name__ == "__main__":
    sys.exit(main())
