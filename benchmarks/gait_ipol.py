"""Gait contacts from one lower-back sensor against foot-sensor references (IPOL, Voisard 2023).

Usage: python benchmarks/gait_ipol.py --data PATH/TO/ipol-gait [--via pipeline|fusion]

The data (AGPL-3.0) is read from DIR and never copied. Each trial is put on a uniform
PacketCounter grid (packets go missing), then:

- ``--via pipeline`` (default): the trial is written as a hipscope recording (pelvis sensor,
  a ``static`` task over the standing before the walk, a ``gait`` task over the
  TrialBoundaries) and analysed by ``hipscope.processing.pipeline.analyze_recording``: the
  pipeline's fusion and calibration make vertical vertical and give the pelvis roll rate;
  the contacts are the ones the JSON reports.
- ``--via fusion``: offline VQF (6D) alone; vertical = world z, roll rate = angular velocity
  about the horizontal projection of the sensor's backwards axis (+Z as worn), negated.

Reference: heel strikes in ``LeftFootEvents`` / ``RightFootEvents`` ([toe-off, heel-strike]
packet pairs) inside TrialBoundaries. A detection matches the nearest unmatched reference
within 150 ms. Prints sensitivity, precision, timing error (median signed, median and mean
absolute), side accuracy over matched contacts, and the step-time error per side; then
the same per subject group (1-10 / 11-19: thresholds were shaped on 1-10), the misses and
false contacts by walk segment (U-turn per UTurnBoundaries ± 0.3 s, first / last 1.2 s,
straight), and side accuracy without the trials whose sides come out inverted.

Trials 4-1 and 4-2 come out inverted, and the evidence points at their reference rather
than the sensor: the world-vertical pelvis yaw rate in the 0.2 s before each reference
contact (VQF 6D on the raw file, no hipscope calibration involved) inverts too (left
contacts with a positive yaw rate: 0.92 / 0.97 of them, against 0.00-0.06 in the same
subject's 4-3..4-6), yet no re-mounting can invert a rate about the gravity-defined
vertical, and gravity sits in the same sensor direction in 4-1/4-2 as in 4-3/4-4. Swapped
foot sensors would explain both cues.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

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

    def packet_time(self, packet: float) -> float:
        return (packet - self.first_packet) / RATE_HZ


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


def reference(trial: Trial) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    lo, hi = trial.meta["TrialBoundaries"]
    rows = [(e[1], "left") for e in trial.meta["LeftFootEvents"]]
    rows += [(e[1], "right") for e in trial.meta["RightFootEvents"]]
    rows = sorted(r for r in rows if lo <= r[0] <= hi)
    times = np.array([trial.packet_time(r[0]) for r in rows])
    sides = np.array([r[1] for r in rows], dtype="<U5")
    return times, sides


def contacts_via_fusion(trial: Trial) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    import vqf

    from hipscope.base.rotations import to_rotation
    from hipscope.processing.events.gait import PelvisContacts

    result = vqf.offlineVQF(
        np.ascontiguousarray(trial.gyr_rad_s),
        np.ascontiguousarray(trial.acc_m_s2),
        None,
        1.0 / RATE_HZ,
    )
    rotation = to_rotation(result["quat6D"])
    acc_world = rotation.apply(trial.acc_m_s2)
    gyr_world = rotation.apply(trial.gyr_rad_s)
    forward = rotation.apply(np.array([0.0, 0.0, -1.0]))
    forward[:, 2] = 0.0
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    # Right-hand rule about the forward axis (z up, y left): positive = right side drops.
    roll = np.sum(gyr_world * forward, axis=1)
    lo, hi = trial.meta["TrialBoundaries"]
    detector = PelvisContacts().detect(
        trial.time_s,
        acc_world[:, 2],
        roll,
        start_s=trial.packet_time(lo),
        end_s=trial.packet_time(hi),
    )
    return detector.ic_time_s_, detector.ic_side_


def contacts_via_pipeline(
    trial: Trial, workdir: Path
) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
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
    analysis = analyze_recording(path)
    gait = next(t for t in analysis.tasks if t.task.kind == "gait")
    events = gait.events
    path.unlink()
    if events is None:
        return np.empty(0), np.empty(0, dtype="<U5")
    return events.ic_time_s, events.ic_side


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
    args = parser.parse_args()
    names = args.trials or sorted(p.stem for p in args.data.glob("*.json"))
    if not names:
        print(f"no trials in {args.data}", file=sys.stderr)
        return 1

    tp = fp = fn = side_ok = side_n = 0
    errors: list[float] = []
    step_err = {"left": [], "right": []}
    per_trial_side = []
    per_trial: dict[str, dict] = {}
    segments = {"U-turn": [0, 0], "first/last 1.2 s": [0, 0], "straight": [0, 0]}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            trial = load_trial(args.data, name)
            ref_t, ref_side = reference(trial)
            if args.via == "fusion":
                det_t, det_side = contacts_via_fusion(trial)
            else:
                det_t, det_side = contacts_via_pipeline(trial, Path(tmp))
            pairs = match(det_t, ref_t)
            tp += len(pairs)
            fp += det_t.shape[0] - len(pairs)
            fn += ref_t.shape[0] - len(pairs)
            ok = [det_side[i] == ref_side[j] for i, j in pairs]
            side_ok += sum(ok)
            side_n += len(ok)
            per_trial_side.append((name, float(np.mean(ok)) if ok else float("nan")))
            errors += [float(det_t[i] - ref_t[j]) for i, j in pairs]
            per_trial[name] = {
                "tp": len(pairs),
                "fp": det_t.shape[0] - len(pairs),
                "fn": ref_t.shape[0] - len(pairs),
                "errors": [float(det_t[i] - ref_t[j]) for i, j in pairs],
                "side_ok": ok,
            }
            missed = np.setdiff1d(np.arange(ref_t.shape[0]), [j for _, j in pairs])
            false = np.setdiff1d(np.arange(det_t.shape[0]), [i for i, _ in pairs])
            for column, times in ((0, ref_t[missed]), (1, det_t[false])):
                for x in times:
                    segments[segment(trial, float(x))][column] += 1
            for side in ("left", "right"):
                ref_steps = step_times(ref_t, ref_side, side)
                det_steps = step_times(det_t, det_side, side)
                if ref_steps.size and det_steps.size:
                    step_err[side].append(float(np.median(det_steps) - np.median(ref_steps)))
    elapsed = time.perf_counter() - started
    err_ms = 1000.0 * np.array(errors)
    worst = sorted(per_trial_side, key=lambda x: x[1])[:5]
    print(f"IPOL lower-back gait, {len(names)} trials, via {args.via}, {elapsed:.1f} s")
    print(f"reference heel strikes: {tp + fn}, detected: {tp + fp}, matched (<= 150 ms): {tp}")
    print(f"sensitivity            {tp / max(tp + fn, 1):.3f}   (peer mobgap IcdIonescu 0.978)")
    print(f"precision              {tp / max(tp + fp, 1):.3f}   (peer 0.960)")
    print(f"timing error median    {np.median(err_ms):+.1f} ms (signed; peer -40 ms)")
    print(
        f"timing error |median|  {np.median(np.abs(err_ms)):.1f} ms, "
        f"mean abs {np.mean(np.abs(err_ms)):.1f} ms"
    )
    print(f"side accuracy          {side_ok / max(side_n, 1):.3f}   (peer LrcUllrich 0.957)")
    for side in ("left", "right"):
        values = 1000.0 * np.array(step_err[side])
        if values.size:
            print(
                f"median step time error {side:<5}  median {np.median(values):+.1f} ms, "
                f"mean abs {np.mean(np.abs(values)):.1f} ms over {values.size} trials"
            )
    print("worst side accuracy: " + ", ".join(f"{n} {a:.2f}" for n, a in worst))
    groups = {
        "subjects 1-10": [n for n in per_trial if int(n.split("-")[0]) <= 10],
        "subjects 11-19": [n for n in per_trial if int(n.split("-")[0]) > 10],
    }
    inverted = [n for n, a in per_trial_side if a < 0.2]
    groups["without inverted"] = [n for n in per_trial if n not in inverted]
    for label, members in groups.items():
        print(group_line(label, [per_trial[n] for n in members]))
    print("inverted trials (side accuracy < 0.2): " + (", ".join(inverted) or "none"))
    print(
        "missed / false contacts by segment: "
        + ", ".join(f"{k} {v[0]} / {v[1]}" for k, v in segments.items())
    )
    return 0


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


def group_line(label: str, trials: list[dict]) -> str:
    tp = sum(t["tp"] for t in trials)
    fp = sum(t["fp"] for t in trials)
    fn = sum(t["fn"] for t in trials)
    err_ms = 1000.0 * np.abs(np.concatenate([t["errors"] for t in trials]))
    side = np.concatenate([t["side_ok"] for t in trials]).astype(float)
    return (
        f"{label:<17} {len(trials):>3} trials: sensitivity {tp / max(tp + fn, 1):.3f}, "
        f"precision {tp / max(tp + fp, 1):.3f}, |median| {np.median(err_ms):.1f} ms, "
        f"side {side.mean():.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
