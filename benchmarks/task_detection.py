"""Automatic task detection against simulated sessions and real walks.

Usage: python benchmarks/task_detection.py [--seeds 8] [--first-seed 0]
       [--skin-artefact-deg 2] [--fixed-skin-artefact] [--data PATH/TO/ipol-gait]
       [--skip-sim]

**Simulated sessions** (``hipscope.acquisition.simulator``): per seed, every task kind (quiet
standing, single-leg stance left and right, hinge, squat, bridge, walking) in a shuffled
order, with random durations, repetition counts, depths, tempos and leads, a random rest
between tasks, 10° sensor misalignment, sensor noise and bias, soft-tissue wobble and a
skin artefact (up to 2° RMS). The
recording is written without its task rows and analysed by
``hipscope.processing.pipeline.analyze_recording`` (which then detects the tasks), and again
with its task rows. Scored:

- kind accuracy: each true task is matched to the detected task overlapping it most; the
  match is right when kind (and side) agree;
- boundaries: |start| and |end| errors of the right matches. Quiet standing cannot be told
  from the rest around it, so a static task's truth is the still stretch that holds it
  (from the simulator's noise-free motion);
- phantoms: detected tasks that are the best match of no true task; quiet standing found in
  a rest between tasks (a true still stretch, found to within 0.5 s, but not a task row) is
  counted apart;
- metrics: detected against recorded tasks, within the simulator's stated uncertainty
  (``benchmarks/validate_simulator.py``: pelvic drop 1°, hip lead 30 ms, step-time SI 1.5
  points);
- hip lead against the simulator's truth, with the task rows: per repetition block the
  median within 30 ms of the true mean lead; per repetition the |error| (each estimated
  repetition matched to the true one whose hip onset is nearest, within 0.5 s); and the
  largest change of a block's median when its rows move by ±2 and ±4 samples.

**IPOL walks** (``--data``; AGPL-3.0, read from the given folder, never copied): each
lower-back recording becomes a pelvis-only recording without task rows; the walking bout
found is compared with the trial boundaries (target: found in every trial, start and end
within 1 s).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.simulator import (
    GaitSpec,
    RepetitionSpec,
    SimulatedSession,
    SingleLegStanceSpec,
    StaticSpec,
    TaskSpec,
    simulate,
)
from hipscope.base import tasks as task_registry
from hipscope.processing.pipeline import analyze_recording

METRIC_TOLERANCE = {
    "single_leg_stance": ("pelvic_drop_mean_deg", 1.0),
    "hip_hinge": ("hip_lead_ms_median", 30.0),
    "squat": ("hip_lead_ms_median", 30.0),
    "hip_bridge": ("hip_lead_ms_median", 30.0),
    "gait": ("step_time_si_pct", 1.5),
}
REPETITION_KINDS = ("hip_hinge", "squat", "hip_bridge")
LEAD_TOLERANCE_MS = 30.0
SHIFT_SAMPLES = (-4, -2, 2, 4)
TRUTH_KEY = {
    "hip_lead_ms_median": "hip_lead_mean_ms",
    "pelvic_drop_mean_deg": "pelvic_drop_deg",
    "step_time_si_pct": "step_time_si_pct",
}


def session_specs(rng: np.random.Generator) -> list[TaskSpec]:
    u = rng.uniform
    step_l = u(0.5, 0.62)
    specs: list[TaskSpec] = [
        StaticSpec(duration_s=u(4.0, 10.0)),
        *(
            SingleLegStanceSpec(
                side,
                hold_s=u(4.0, 12.0),
                pelvic_drop_deg=u(1.0, 8.0),
                trunk_lean_deg=u(0.0, 4.0),
                free_hip_flexion_deg=u(30.0, 60.0),
            )
            for side in ("left", "right")
        ),
        *(
            RepetitionSpec(
                kind,
                reps=int(rng.integers(3, 8)),
                hip_lead_ms=u(-60.0, 140.0),
                depth=u(0.75, 1.2),
                down_s=u(0.9, 1.5),
                pause_s=u(0.1, 0.6),
                up_s=u(0.7, 1.3),
                rest_s=u(0.5, 2.0),
            )
            for kind in ("hip_hinge", "squat", "hip_bridge")
        ),
        GaitSpec(
            duration_s=u(10.0, 25.0),
            step_time_left_s=step_l,
            step_time_right_s=step_l * u(0.92, 1.08),
            thigh_rom_left_deg=u(35.0, 50.0),
            thigh_rom_right_deg=u(35.0, 50.0),
            step_time_cv=0.02,
        ),
    ]
    order = rng.permutation(len(specs))
    return [specs[i] for i in order]


def skin_artefact(rng: np.random.Generator, largest_deg: float, fixed: bool) -> float:
    """A session's skin artefact: uniform up to ``largest_deg``, or ``largest_deg`` itself
    when ``fixed`` (drawn either way, so the sessions are otherwise the same)."""
    drawn = float(rng.uniform(0.0, largest_deg))
    return largest_deg if fixed else drawn


def truth_still(sim: SimulatedSession) -> np.ndarray:
    """Noise-free stillness: every segment turning slower than 0.05 rad/s and the pelvis
    accelerating less than 0.15 m/s² over 0.3 s (quiet standing sways with 0.02 m/s² RMS
    and brief peaks near 0.1 m/s²)."""
    rate = sim.rate_hz
    still = np.ones(len(sim.time_s), dtype=bool)
    for q in sim.q_world_segment.values():
        dots = np.abs(np.sum(q[1:] * q[:-1], axis=1)).clip(0.0, 1.0)
        speed = 2.0 * np.arccos(dots) * rate
        still &= np.concatenate([[True], speed < 0.05])
    pos = sim.position_m.get("pelvis")
    if pos is not None:
        acc = np.gradient(np.gradient(pos, axis=0), axis=0) * rate**2
        width = round(0.3 * rate)
        smooth = np.convolve(np.linalg.norm(acc, axis=1), np.ones(width) / width, "same")
        still &= smooth < 0.15
    return still


def still_span(still: np.ndarray, rate: float, start_s: float, end_s: float) -> tuple[float, float]:
    """The still stretch holding the middle of [start_s, end_s]."""
    i = int(0.5 * (start_s + end_s) * rate)
    i0 = i1 = i
    while i0 > 0 and still[i0 - 1]:
        i0 -= 1
    while i1 < len(still) - 1 and still[i1 + 1]:
        i1 += 1
    return i0 / rate, i1 / rate


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def run_simulated(
    seeds: int, skin_artefact_deg: float, first_seed: int = 0, fixed_skin: bool = False
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "true": 0,
        "right": 0,
        "errors": [],
        "boundary_s": [],
        "phantoms": [],
        "rest_static": 0,
        "metric_pairs": [],
        "lead_blocks": [],
        "lead_rep_errors": [],
        "lead_reps_missing": 0,
        "sessions": 0,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first_seed, first_seed + seeds):
            rng = np.random.default_rng([seed, 15])
            sim = simulate(
                session_specs(rng),
                seed=seed,
                pause_s=float(rng.uniform(1.5, 5.0)),
                soft_tissue_deg=float(rng.uniform(0.0, 4.0)),
                skin_artefact_deg=skin_artefact(rng, skin_artefact_deg, fixed_skin),
            )
            path = Path(tmp) / f"session-{seed}.h5"
            sim.write(path)
            rec = load_recording(path)
            recorded = analyze_recording(rec)
            detected = analyze_recording(dataclasses.replace(rec, tasks=()))
            score_session(sim, recorded, detected, results)
            score_hip_lead(sim, recorded, results)
            results["sessions"] += 1
    return results


def score_session(sim: SimulatedSession, recorded: Any, detected: Any, out: dict[str, Any]) -> None:
    still = truth_still(sim)
    found = detected.tasks
    matched: set[int] = set()
    for truth, rec_task in zip(sim.truth, recorded.tasks, strict=True):
        kind, side = truth["kind"], truth["side"]
        start, end = truth["start_s"], truth["end_s"]
        if kind == "static":
            start, end = still_span(still, sim.rate_hz, start, end)
        best = max(
            range(len(found)),
            key=lambda i: overlap(start, end, found[i].task.start_s, found[i].task.end_s),
            default=None,
        )
        out["true"] += 1
        if (
            best is None
            or overlap(start, end, found[best].task.start_s, found[best].task.end_s) <= 0
        ):
            out["errors"].append(f"seed {sim.seed}: {kind} {side} {start:.1f}-{end:.1f} s missed")
            continue
        matched.add(best)
        got = found[best].task
        if (got.kind, got.side) != (kind, side):
            out["errors"].append(
                f"seed {sim.seed}: {kind} {side} {start:.1f}-{end:.1f} s found as "
                f"{got.kind} {got.side} {got.start_s:.1f}-{got.end_s:.1f} s"
            )
            continue
        out["right"] += 1
        out["boundary_s"].append((kind, abs(got.start_s - start), abs(got.end_s - end)))
        if max(abs(got.start_s - start), abs(got.end_s - end)) > 0.5:
            out["errors"].append(
                f"seed {sim.seed}: {kind} {side} {start:.2f}-{end:.2f} s found at "
                f"{got.start_s:.2f}-{got.end_s:.2f} s"
            )
        if kind in METRIC_TOLERANCE:
            key, tol = METRIC_TOLERANCE[kind]
            a, b = rec_task.metrics.get(key), found[best].metrics.get(key)
            out["metric_pairs"].append((kind, key, tol, a, b))
            if a is not None and b is not None and abs(a - b) > tol:
                out["errors"].append(
                    f"seed {sim.seed}: {kind} {key} recorded {a} vs detected {b} "
                    f"(rows {rec_task.task.start_s:.2f}-{rec_task.task.end_s:.2f} s, "
                    f"found {got.start_s:.2f}-{got.end_s:.2f} s; "
                    f"truth {truth.get(TRUTH_KEY.get(key, ''), float('nan')):.1f})"
                )
    for i, task in enumerate(found):
        if i in matched:
            continue
        t = task.task
        # quiet standing in a rest: a true still stretch, found to within 0.5 s
        s0, s1 = still_span(still, sim.rate_hz, t.start_s, t.end_s)
        if t.kind == "static" and max(abs(s0 - t.start_s), abs(s1 - t.end_s)) <= 0.5:
            out["rest_static"] += 1
        else:
            out["phantoms"].append((sim.seed, t.kind, t.end_s - t.start_s, t.start_s))


def mean_hip_flexion(angles: dict[str, np.ndarray]) -> np.ndarray | None:
    """Mean of the left and right hip flexion where either has a value (as the pipeline)."""
    sides = [angles[k] for k in ("hip_flexion_left", "hip_flexion_right") if k in angles]
    if not sides:
        return None
    stacked = np.vstack(sides)
    finite = np.isfinite(stacked)
    count = finite.sum(axis=0)
    total = np.where(finite, stacked, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)


def score_hip_lead(sim: SimulatedSession, recorded: Any, out: dict[str, Any]) -> None:
    """Hip lead with the task rows against the simulator's truth, per block and per
    repetition, and the block median's change when the rows move by a few samples."""
    kin = recorded.kinematics
    hip = mean_hip_flexion(kin.angles_rad)
    lumbar = kin.angles_rad.get("lumbar_flexion")
    for truth, analysis in zip(sim.truth, recorded.tasks, strict=True):
        if truth["kind"] not in REPETITION_KINDS:
            continue
        task = analysis.task
        estimate = analysis.metrics.get("hip_lead_ms_median")
        reps = analysis.metrics.get("repetitions") or []
        for true_rep in truth["reps"]:
            onsets = [
                (abs(r["hip_onset_s"] - true_rep["hip_onset_s"]), r)
                for r in reps
                if r.get("hip_onset_s") is not None and r.get("hip_lead_ms") is not None
            ]
            gap, best = min(onsets, key=lambda x: x[0], default=(np.inf, None))
            if best is None or gap > 0.5:
                out["lead_reps_missing"] += 1
                continue
            out["lead_rep_errors"].append(
                (truth["kind"], float(best["hip_lead_ms"]) - float(true_rep["hip_lead_ms"]))
            )
        shifted = []
        posture = task_registry.get(task.kind).option("start_posture", "extended")
        for samples in SHIFT_SAMPLES:
            shift_s = samples / sim.rate_hz
            drive = recorded.config.hip_drive.clone().compute(
                kin.time_s,
                hip_flexion_rad=hip,
                lumbar_flexion_rad=lumbar,
                start_s=task.start_s + shift_s,
                end_s=task.end_s + shift_s,
                start_posture=posture,
            )
            shifted.append(drive.hip_lead_ms_median_)
        change = (
            max(abs(m - estimate) for m in shifted)
            if estimate is not None and None not in shifted
            else np.inf
        )
        out["lead_blocks"].append(
            (sim.seed, truth["kind"], truth["hip_lead_mean_ms"], estimate, change)
        )


def print_hip_lead(r: dict[str, Any]) -> None:
    blocks = r["lead_blocks"]
    print(f"  hip lead with the task rows against the truth ({len(blocks)} repetition blocks):")
    for kind in REPETITION_KINDS:
        mine = [b for b in blocks if b[1] == kind]
        ok = sum(b[3] is not None and abs(b[3] - b[2]) <= LEAD_TOLERANCE_MS for b in mine)
        errs = np.abs([e for k, e in r["lead_rep_errors"] if k == kind])
        rep_text = (
            f"per repetition |error| median {np.median(errs):.1f} ms, "
            f"90th pct {np.percentile(errs, 90):.1f} ms, max {errs.max():.1f} ms (n={errs.size})"
            if errs.size
            else "no repetition matched"
        )
        print(
            f"    {kind:18s} median within {LEAD_TOLERANCE_MS:.0f} ms: {ok}/{len(mine)}; {rep_text}"
        )
        medians = np.array([b[3] - b[2] for b in mine if b[3] is not None])
        if medians.size > 1:
            print(
                f"    {'':18s} task median − true mean lead: bias {medians.mean():+.1f} ms, "
                f"SD {medians.std(ddof=1):.1f} ms, 95th pct |error| "
                f"{np.percentile(np.abs(medians), 95):.1f} ms, max {np.abs(medians).max():.1f} ms"
            )
    errs = np.abs([e for _, e in r["lead_rep_errors"]])
    if errs.size:
        print(
            f"    all: per repetition |error| median {np.median(errs):.1f} ms, "
            f"90th pct {np.percentile(errs, 90):.1f} ms, max {errs.max():.1f} ms; "
            f"true repetitions without a valid estimate: {r['lead_reps_missing']}"
        )
    changes = np.array([b[4] for b in blocks]) if blocks else np.zeros(0)
    if changes.size:
        print(
            f"    largest change of a block median with the rows moved by "
            f"{', '.join(f'{s:+d}' for s in SHIFT_SAMPLES)} samples: {changes.max():.1f} ms"
        )
    for seed, kind, true_ms, estimate, _ in blocks:
        if estimate is None or abs(estimate - true_ms) > LEAD_TOLERANCE_MS:
            print(f"    seed {seed}: {kind} truth {true_ms:.1f} ms, estimate {estimate} ms")


def print_simulated(r: dict[str, Any]) -> None:
    total, right = r["true"], r["right"]
    print(f"simulated sessions: {r['sessions']}, true tasks: {total}")
    print(f"  task-kind accuracy: {100.0 * right / max(total, 1):.1f} % ({right}/{total})")
    for line in r["errors"]:
        print(f"    {line}")
    errs = (
        np.array([[s, e] for _, s, e in r["boundary_s"]]) if r["boundary_s"] else np.zeros((0, 2))
    )
    if errs.size:
        flat = errs.ravel()
        print(
            f"  boundaries: median {np.median(flat):.2f} s, "
            f"95th pct {np.percentile(flat, 95):.2f} s, max {flat.max():.2f} s; "
            f"within 0.5 s: {100.0 * np.mean(flat <= 0.5):.1f} %"
        )
        by_kind: dict[str, list[float]] = {}
        for kind, s, e in r["boundary_s"]:
            by_kind.setdefault(kind, []).extend([s, e])
        for kind, values in sorted(by_kind.items()):
            print(f"    {kind:18s} max {max(values):.2f} s  (n={len(values) // 2})")
    longest = max((p[2] for p in r["phantoms"]), default=0.0)
    print(
        f"  phantom tasks: {len(r['phantoms'])}, longest {longest:.1f} s; "
        f"quiet standing found in rests between tasks: {r['rest_static']}"
    )
    for seed, kind, dur, start in r["phantoms"]:
        print(f"    seed {seed}: {kind} at {start:.1f} s for {dur:.1f} s")
    print("  metrics, detected vs recorded tasks:")
    by_metric: dict[tuple[str, str, float], list[float]] = {}
    missing = 0
    for kind, key, tol, a, b in r["metric_pairs"]:
        if a is None or b is None:
            missing += a is None or b is None
            continue
        by_metric.setdefault((kind, key, tol), []).append(abs(a - b))
    for (kind, key, tol), diffs in sorted(by_metric.items()):
        d = np.array(diffs)
        print(
            f"    {kind:18s} {key:22s} max |diff| {d.max():.3f} (tolerance {tol}), "
            f"within: {int(np.sum(d <= tol))}/{d.size}"
        )
    if missing:
        print(f"    {missing} pairs without a value on one side")
    print_hip_lead(r)


def run_ipol(data: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gait_ipol import load_trial

    from hipscope.acquisition.recorder import Recorder, SensorMeta
    from hipscope.acquisition.samples import SampleBatch

    names = sorted(p.stem for p in data.glob("*.json"))
    starts, ends, missing, extra_gait = [], [], [], 0
    kinds: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            trial = load_trial(data, name)
            lo, hi = trial.meta["TrialBoundaries"]
            start_s, end_s = trial.packet_time(lo), trial.packet_time(hi)
            path = Path(tmp) / f"{name}.h5"
            with Recorder(path, [SensorMeta("pelvis", profile="ipol", nominal_rate_hz=100.0)]) as r:
                r.append("pelvis", SampleBatch(trial.time_s, trial.acc_m_s2, trial.gyr_rad_s))
            from hipscope.processing.kinematics import compute_kinematics
            from hipscope.processing.task_detection import detect_tasks

            detection = detect_tasks(compute_kinematics(load_recording(path)))
            path.unlink()
            for d in detection.tasks_:
                kinds[d.task.kind] = kinds.get(d.task.kind, 0) + 1
            bouts = [d.task for d in detection.tasks_ if d.task.kind == "gait"]
            extra_gait += max(0, len(bouts) - 1)
            best = max(
                bouts, key=lambda b: overlap(b.start_s, b.end_s, start_s, end_s), default=None
            )
            if best is None or overlap(best.start_s, best.end_s, start_s, end_s) <= 0:
                missing.append(name)
                continue
            starts.append(best.start_s - start_s)
            ends.append(best.end_s - end_s)
    s, e = np.abs(starts), np.abs(ends)
    both = np.maximum(s, e) if s.size else np.zeros(0)
    print(f"IPOL walks: {len(names)} trials, walking bout found in {len(starts)}")
    if missing:
        print(f"  missed: {', '.join(missing)}")
    if s.size:
        print(
            f"  start error: median {np.median(starts):+.2f} s, max |.| {s.max():.2f} s; "
            f"end error: median {np.median(ends):+.2f} s, max |.| {e.max():.2f} s"
        )
        print(f"  start and end within 1 s: {int(np.sum(both <= 1.0))}/{len(names)}")
        worst = np.argsort(both)[::-1][:3]
        ok = [n for n in names if n not in missing]
        print(
            "  worst: " + ", ".join(f"{ok[i]} ({starts[i]:+.2f} / {ends[i]:+.2f} s)" for i in worst)
        )
    print(f"  extra walking bouts: {extra_gait}; detected kinds: {kinds}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="simulated sessions (default 8)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="first simulated seed (default 0)"
    )
    parser.add_argument("--data", type=Path, default=None, help="the ipol-gait folder")
    parser.add_argument(
        "--skin-artefact-deg",
        type=float,
        default=2.0,
        help="largest simulated skin artefact, degrees RMS (default 2)",
    )
    parser.add_argument(
        "--fixed-skin-artefact",
        action="store_true",
        help="every session gets the largest skin artefact (a stress test)",
    )
    parser.add_argument("--skip-sim", action="store_true", help="only the IPOL walks")
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.skip_sim:
        print_simulated(
            run_simulated(
                args.seeds, args.skin_artefact_deg, args.first_seed, args.fixed_skin_artefact
            )
        )
    if args.data is not None:
        run_ipol(args.data)
    print(f"time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
