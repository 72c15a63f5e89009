"""Measurement error of the screen's headline metrics, from many simulated sessions.

Usage: python benchmarks/uncertainty_sim.py [--seeds 12] [--rates 60 100 200]
       [--misalignment 10 30] [--soft-tissue 0 1 1.5] [--table]

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
    args = parser.parse_args()
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
