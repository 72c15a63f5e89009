"""Measurement error of the screen's headline metrics, from many simulated sessions.

Usage: python benchmarks/uncertainty_sim.py [--seeds 12] [--rates 60 100 200]
       [--misalignment 10 30] [--soft-tissue 0 1 2] [--random-heading] [--table]
       python benchmarks/uncertainty_sim.py --hip-lead-sweep [--seeds 8]

Each case simulates quiet standing, a single-leg stance on each side (random pelvic drop
1–8°, random trunk lean −2..+5° from vertical), a hip hinge (random true lead −80..+120 ms,
paused or bounce repetitions with rep-to-rep variability) and a 20 s walk (random step-time
asymmetry), runs the whole analysis (``analyze_recording``: fusion, calibration, events,
metrics) and compares each headline metric with the simulator's truth:

- ``pelvic_drop_mean_deg`` (per stance) and ``pelvic_drop_lr_diff_deg`` (per session);
- ``trunk_lean_mean_deg`` (per stance, from world vertical);
- ``hip_lead_ms_median`` (truth: the median of the repetitions' true leads);
- ``step_time_si_pct`` (truth: the simulated step times).

Sensor noise and gyroscope bias are the simulator's defaults, mounting errors are drawn up
to ``--misalignment`` degrees (with ``--random-heading`` each sensor is also turned about
its segment's long axis by a random angle), and ``--soft-tissue`` is the simulator's
movement-driven skin artefact (``skin_artefact_deg``: RMS rotation at 2–10 Hz while the
segment turns, none at rest). Per
metric it prints bias, SD, the 95 % limits (bias ± 1.96 SD) and the 95th percentile of the
absolute error, per condition and pooled; ``--table`` prints the pooled half-widths as the
``UNCERTAINTY`` entries of ``processing/uncertainty.py``.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

EXTRA = ("hip_lead_ms_rep_paused", "hip_lead_ms_rep_bounce", "valid_rep_count")
METRICS = (
    "pelvic_drop_mean_deg",
    "pelvic_drop_lr_diff_deg",
    "trunk_lean_mean_deg",
    "hip_lead_ms_median",
    "step_time_si_pct",
)


def session_errors(
    seed: int,
    rate_hz: float,
    misalignment_deg: float,
    soft_tissue_deg: float,
    workdir: Path,
    random_heading: bool = False,
) -> dict[str, list[float]]:
    """Signed errors (measured − true) of one simulated session, per metric."""
    from hipscope.acquisition.simulator import (
        GaitSpec,
        RepetitionSpec,
        SingleLegStanceSpec,
        StaticSpec,
        simulate,
    )
    from hipscope.processing.pipeline import analyze_recording

    rng = np.random.default_rng([seed, int(rate_hz), int(10 * misalignment_deg)])
    drops = rng.uniform(1.0, 8.0, 2)
    leans = rng.uniform(-2.0, 5.0, 2)
    lead_ms = float(rng.uniform(-80.0, 120.0))
    bounce = bool(seed % 2)
    step_left = 0.55 * (1.0 + rng.uniform(-0.05, 0.05))
    protocol = [
        StaticSpec(),
        SingleLegStanceSpec("left", hold_s=8.0, pelvic_drop_deg=drops[0], trunk_lean_deg=leans[0]),
        SingleLegStanceSpec("right", hold_s=8.0, pelvic_drop_deg=drops[1], trunk_lean_deg=leans[1]),
        RepetitionSpec(
            reps=6,
            hip_lead_ms=lead_ms,
            hip_lead_jitter_ms=10.0,
            pause_s=0.0 if bounce else 0.4,
            **_repetition_variability(),
        ),
        GaitSpec(duration_s=20.0, step_time_left_s=step_left, step_time_right_s=0.55),
    ]
    session = simulate(
        protocol,
        rate_hz=rate_hz,
        seed=seed,
        misalignment_deg=misalignment_deg,
        mounting_heading_deg=None if random_heading else 0.0,
        skin_artefact_deg=soft_tissue_deg,
    )
    path = workdir / f"sim_{seed}_{rate_hz:g}_{misalignment_deg:g}_{soft_tissue_deg:g}.h5"
    session.write(path, athlete="uncertainty")
    analysis = analyze_recording(path)
    path.unlink()
    errors: dict[str, list[float]] = defaultdict(list)
    drop_truth: dict[str, float] = {}
    drop_measured: dict[str, float] = {}
    for result, truth in zip(analysis.tasks, session.truth, strict=True):
        m = result.metrics
        kind = result.task.kind
        if kind == "single_leg_stance":
            side = str(truth["side"])
            drop_truth[side] = float(truth["pelvic_drop_deg"])
            _add(errors, "pelvic_drop_mean_deg", m.get("pelvic_drop_mean_deg"), drop_truth[side])
            _add(
                errors, "trunk_lean_mean_deg", m.get("trunk_lean_mean_deg"), truth["trunk_lean_deg"]
            )
            if m.get("pelvic_drop_mean_deg") is not None:
                drop_measured[side] = float(m["pelvic_drop_mean_deg"])
        elif kind == "hip_hinge":
            true_median = float(np.median([r["hip_lead_ms"] for r in truth["reps"]]))
            _add(errors, "hip_lead_ms_median", m.get("hip_lead_ms_median"), true_median)
            per_rep = f"hip_lead_ms_rep_{'bounce' if bounce else 'paused'}"
            reps = m.get("repetitions") or []
            if len(reps) == len(truth["reps"]):
                for rep, true_rep in zip(reps, truth["reps"], strict=True):
                    _add(errors, per_rep, rep.get("hip_lead_ms"), true_rep["hip_lead_ms"])
            errors["valid_rep_count"].append(float((m.get("valid_rep_count") or 0) - 6))
        elif kind == "gait":
            _add(errors, "step_time_si_pct", m.get("step_time_si_pct"), truth["step_time_si_pct"])
    if len(drop_truth) == 2 and len(drop_measured) == 2:
        errors["pelvic_drop_lr_diff_deg"].append(
            (drop_measured["left"] - drop_measured["right"])
            - (drop_truth["left"] - drop_truth["right"])
        )
    return errors


def _min_jerk_step(t: np.ndarray, start: float, duration: float) -> np.ndarray:
    u = np.clip((t - start) / duration, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


def synthetic_reps(
    rate_hz: float, lead_ms: float, *, bounce: bool, sta_deg: float, seed: int, n_reps: int = 6
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Hinge angles (hip 60°, lumbar 20°) with ±10 % rep-to-rep variability, paused or
    bounce, and per-segment noise: ``sta_deg`` RMS at 2–10 Hz while moving plus integrated
    gyroscope noise (0.3 °/s). Returns t, hip and lumbar flexion (rad), true leads (ms)."""
    from scipy.signal import butter, sosfiltfilt

    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 3.0 + 5.5 * n_reps, 1.0 / rate_hz)
    hip, lumbar, moving = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    start, truth = 1.0, []
    for _ in range(n_reps):
        down_s, up_s, depth = (1.0 + 0.1 * rng.standard_normal(3)) * (1.2, 1.0, 1.0)
        pause_s = 0.0 if bounce else 0.4 * (1.0 + 0.1 * rng.standard_normal())
        rise = start + down_s + pause_s
        t_hip, t_lumbar = rise + max(0.0, -lead_ms / 1e3), rise + max(0.0, lead_ms / 1e3)
        down = _min_jerk_step(t, start, down_s)
        hip += depth * 60.0 * (down - _min_jerk_step(t, t_hip, up_s))
        lumbar += depth * 20.0 * (down - _min_jerk_step(t, t_lumbar, up_s))
        moving[(t > start) & (t < start + down_s)] = 1.0
        moving[(t > min(t_hip, t_lumbar)) & (t < max(t_hip, t_lumbar) + up_s)] = 1.0
        truth.append(1000.0 * (t_lumbar - t_hip))
        start = rise + abs(lead_ms) / 1e3 + up_s + 1.0
    envelope = np.clip(sosfiltfilt(butter(2, 2.0, fs=rate_hz, output="sos"), moving), 0.0, 1.0)
    band = butter(2, [2.0, min(10.0, 0.45 * rate_hz)], "bandpass", fs=rate_hz, output="sos")
    noise = {}
    for segment in ("pelvis", "trunk", "thigh"):
        x = sosfiltfilt(band, rng.standard_normal(t.shape[0]))
        noise[segment] = (
            sta_deg * envelope * x / np.std(x) + np.cumsum(rng.normal(0.0, 0.3, t.shape)) / rate_hz
        )
    return (
        t,
        np.radians(hip + noise["thigh"] - noise["pelvis"]),
        np.radians(lumbar + noise["trunk"] - noise["pelvis"]),
        truth,
    )


def hip_lead_sweep(seeds: int) -> None:
    """Per-repetition bias and SD, and the worst median error, of the hip-lead onset fit on
    synthetic angles: paused and bounce reps, 60/100/200 Hz, artefact 0/1/1.5° RMS."""
    from hipscope.processing.metrics.hip_drive import HipDrive

    print("hip lead on synthetic angles: per-rep bias / SD (ms), worst |median error|, valid")
    print(f"{'reps':>7} {'rate':>5} {'sta':>4} {'lead':>5} {'bias':>7} {'sd':>6} {'|med|':>6} ok")
    for bounce in (False, True):
        for rate in (60.0, 100.0, 200.0):
            for sta in (0.0, 1.0, 1.5):
                for lead in (-60.0, -30.0, 0.0, 30.0, 60.0):
                    errors, medians, counts = [], [], []
                    for seed in range(seeds):
                        t, hip, lumbar, truth = synthetic_reps(
                            rate, lead, bounce=bounce, sta_deg=sta, seed=seed
                        )
                        drive = HipDrive().compute(
                            t,
                            hip_flexion_rad=hip,
                            lumbar_flexion_rad=lumbar,
                            start_s=0.5,
                            end_s=t[-1] - 0.5,
                        )
                        for rep, true_ms in zip(drive.repetitions_, truth, strict=False):
                            if rep["hip_lead_ms"] is not None:
                                errors.append(rep["hip_lead_ms"] - true_ms)
                        if drive.hip_lead_ms_median_ is not None:
                            medians.append(drive.hip_lead_ms_median_ - float(np.median(truth)))
                        counts.append(abs((drive.valid_rep_count_ or 0) - len(truth)) <= 1)
                    print(
                        f"{'bounce' if bounce else 'paused':>7} {rate:>5.0f} {sta:>4.1f} "
                        f"{lead:>+5.0f} {np.mean(errors):>+7.1f} {np.std(errors):>6.1f} "
                        f"{np.max(np.abs(medians)):>6.1f} {sum(counts)}/{len(counts)}"
                    )


def _repetition_variability() -> dict[str, Any]:
    """Rep-to-rep variability where the simulator has it (a fraction of depth and timing)."""
    from hipscope.acquisition.simulator import RepetitionSpec

    if "variability" in inspect.signature(RepetitionSpec).parameters:
        return {"variability": 0.1}
    return {}


def _add(errors: dict[str, list[float]], key: str, value: Any, truth: Any) -> None:
    errors[key].append(float("nan") if value is None else float(value) - float(truth))


def summary(values: list[float]) -> dict[str, float]:
    data = np.asarray(values, dtype=np.float64)
    finite = data[np.isfinite(data)]
    if not finite.size:
        return {"n": float(data.size), "missing": float(data.size)}
    bias, sd = float(np.mean(finite)), float(np.std(finite, ddof=1)) if finite.size > 1 else 0.0
    return {
        "n": float(data.size),
        "missing": float(data.size - finite.size),
        "bias": bias,
        "sd": sd,
        "loa_low": bias - 1.96 * sd,
        "loa_high": bias + 1.96 * sd,
        "p95_abs": float(np.percentile(np.abs(finite), 95)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12, help="sessions per condition")
    parser.add_argument("--rates", type=float, nargs="+", default=[60.0, 100.0, 200.0])
    parser.add_argument("--misalignment", type=float, nargs="+", default=[10.0, 30.0])
    parser.add_argument("--soft-tissue", type=float, nargs="+", default=[0.0, 1.0, 1.5])
    parser.add_argument("--random-heading", action="store_true", help="random sensor heading")
    parser.add_argument("--table", action="store_true", help="print the pooled table")
    parser.add_argument(
        "--hip-lead-sweep", action="store_true", help="only the synthetic-angle hip-lead sweep"
    )
    args = parser.parse_args()
    if args.hip_lead_sweep:
        hip_lead_sweep(args.seeds)
        return 0
    pooled: dict[str, list[float]] = defaultdict(list)
    header = f"{'rate':>5} {'mis':>4} {'sta':>4} {'metric':<24} {'n':>4} {'miss':>4} "
    print(header + f"{'bias':>7} {'sd':>7} {'LoA low':>8} {'LoA high':>8} {'p95|e|':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for rate in args.rates:
            for mis in args.misalignment:
                for sta in args.soft_tissue:
                    condition: dict[str, list[float]] = defaultdict(list)
                    for seed in range(args.seeds):
                        for key, values in session_errors(
                            seed, rate, mis, sta, Path(tmp), args.random_heading
                        ).items():
                            condition[key].extend(values)
                            pooled[key].extend(values)
                    for key in (*METRICS, *EXTRA):
                        _print_row(f"{rate:>5.0f} {mis:>4.0f} {sta:>4.1f}", key, condition[key])
    print("pooled over all conditions")
    for key in (*METRICS, *EXTRA):
        _print_row(f"{'all':>5} {'':>4} {'':>4}", key, pooled[key])
    if args.table:
        n = len(pooled["pelvic_drop_mean_deg"]) // 2
        print(f"\n# {n} sessions; rates {args.rates}; mounting error up to {args.misalignment}°;")
        print(f"# soft-tissue artefact {args.soft_tissue}°")
        for key in METRICS:
            s = summary(pooled[key])
            half = max(abs(s.get("loa_low", np.nan)), abs(s.get("loa_high", np.nan)))
            print(f'    "{key}": ({half:.2f}, {s.get("bias", np.nan):+.2f}),')
    return 0


def _print_row(prefix: str, key: str, values: list[float]) -> None:
    s = summary(values)
    if "bias" not in s:
        print(f"{prefix} {key:<24} {int(s['n']):>4} {int(s['missing']):>4}   (no values)")
        return
    print(
        f"{prefix} {key:<24} {int(s['n']):>4} {int(s['missing']):>4} {s['bias']:>+7.2f} "
        f"{s['sd']:>7.2f} {s['loa_low']:>+8.2f} {s['loa_high']:>+8.2f} {s['p95_abs']:>7.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
