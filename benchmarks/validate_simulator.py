"""The whole analysis against the simulator's ground truth across seeds, rates and misalignment.

Usage: python benchmarks/validate_simulator.py [--seeds 0 1 2] [--rates 60 100 200]
       [--misalignment 0 10 15]
       python benchmarks/validate_simulator.py --noise [--rates 60 100 200]

``--noise`` compares the simulator's sensor noise at rest with the still segments of the
BROAD fixture (tests/data/broad_crops.npz, CC BY 4.0): white-noise density per axis.

Each case simulates the default screen protocol plus a hip bridge (hip lead −60 ms) and a
squat (+120 ms), writes it as a recording, runs
``hipscope.processing.pipeline.analyze_recording`` and compares with the truth. Targets: pelvic drop
within 1°, hip lead within 30 ms (per repetition), step-time SI within 1.5 points.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGETS = {"pelvic_drop_deg": 1.0, "hip_lead_ms": 30.0, "step_time_si_pct": 1.5}


def evaluate(seed: int, rate_hz: float, misalignment_deg: float, workdir: Path) -> dict[str, Any]:
    """Absolute errors of one simulated session (max over tasks / repetitions)."""
    from hipscope.acquisition.simulator import RepetitionSpec, screen_protocol, simulate
    from hipscope.processing.pipeline import analyze_recording

    protocol = [
        *screen_protocol(),
        RepetitionSpec(kind="hip_bridge", reps=4, hip_lead_ms=-60.0),
        RepetitionSpec(kind="squat", reps=4, hip_lead_ms=120.0),
    ]
    session = simulate(protocol, rate_hz=rate_hz, seed=seed, misalignment_deg=misalignment_deg)
    path = workdir / f"sim_{seed}_{rate_hz:g}_{misalignment_deg:g}.h5"
    session.write(path, athlete="validation")
    started = time.perf_counter()
    analysis = analyze_recording(path)
    elapsed = time.perf_counter() - started
    path.unlink()
    errors: dict[str, list[float]] = {
        "pelvic_drop_deg": [],
        "trunk_lean_deg": [],
        "hold_s": [],
        "hip_lead_ms": [],
        "hip_onset_ms": [],
        "step_time_si_pct": [],
        "step_time_ms": [],
        "thigh_rom_deg": [],
    }
    for result, truth in zip(analysis.tasks, session.truth, strict=True):
        m = result.metrics
        kind = result.task.kind
        if kind == "single_leg_stance":
            errors["pelvic_drop_deg"].append(
                _err(m["pelvic_drop_mean_deg"], truth["pelvic_drop_deg"])
            )
            errors["trunk_lean_deg"].append(_err(m["trunk_lean_mean_deg"], truth["trunk_lean_deg"]))
            errors["hold_s"].append(_err(m["hold_s"], truth["hold_s"]))
        elif kind in ("hip_hinge", "hip_bridge", "squat"):
            reps = m["repetitions"]
            true_reps = truth["reps"]
            if len(reps) != len(true_reps):
                errors["hip_lead_ms"].append(float("inf"))
                continue
            for rep, true_rep in zip(reps, true_reps, strict=True):
                errors["hip_lead_ms"].append(_err(rep["hip_lead_ms"], true_rep["hip_lead_ms"]))
                onset = rep["hip_onset_s"]
                errors["hip_onset_ms"].append(
                    _err(None if onset is None else 1000 * onset, 1000 * true_rep["hip_onset_s"])
                )
        elif kind == "gait":
            errors["step_time_si_pct"].append(
                _err(m["step_time_si_pct"], truth["step_time_si_pct"])
            )
            for side in ("left", "right"):
                errors["step_time_ms"].append(
                    1000 * _err(m[f"step_time_{side}_s"], truth[f"step_time_{side}_s"])
                )
                errors["thigh_rom_deg"].append(
                    _err(m[f"thigh_rom_{side}_deg"], truth[f"thigh_rom_{side}_deg"])
                )
    out: dict[str, Any] = {k: max(v) if v else float("nan") for k, v in errors.items()}
    out["analysis_s"] = elapsed
    return out


def _err(value: float | None, truth: float) -> float:
    return float("inf") if value is None else abs(float(value) - float(truth))


BROAD = Path(__file__).resolve().parents[1] / "tests" / "data" / "broad_crops.npz"


def _noise_density(x: Any, rate_hz: float) -> Any:
    """Per-axis white-noise density (unit/√Hz): the median Welch PSD between 5 Hz and 40 Hz
    (or 0.4 × the rate) of the mean-removed signal, as a one-sided density's square root."""
    import numpy as np
    from scipy.signal import welch

    x = np.asarray(x, dtype=np.float64)
    freq, psd = welch(x - x.mean(axis=0), fs=rate_hz, axis=0, nperseg=min(256, x.shape[0]))
    band = (freq > 5.0) & (freq < min(40.0, 0.4 * rate_hz))
    return np.sqrt(np.median(psd[band], axis=0) / 2.0)


def compare_noise(rates: list[float]) -> None:
    """Sensor noise at rest: BROAD's still segments against the simulator's defaults."""
    import numpy as np

    from hipscope.acquisition.simulator import StaticSpec, simulate

    print("white-noise density at rest, per axis (gyr rad/s/√Hz · 1e4, acc m/s²/√Hz · 1e3)")
    data = np.load(BROAD)
    for trial in ("rotation", "translation"):
        rest = np.flatnonzero(~data[f"{trial}_movement"])
        runs = np.split(rest, np.flatnonzero(np.diff(rest) > 1) + 1)
        longest = max(runs, key=len)
        rate = float(data[f"{trial}_sampling_rate"])
        gyr = _noise_density(data[f"{trial}_imu_gyr"][longest], rate)
        acc = _noise_density(data[f"{trial}_imu_acc"][longest], rate)
        print(
            f"BROAD {trial:<11} {rate:6.1f} Hz {longest.shape[0] / rate:5.1f} s  gyr "
            f"{np.round(1e4 * gyr, 1)}  acc {np.round(1e3 * acc, 1)}"
        )
    for rate in rates:
        session = simulate([StaticSpec(duration_s=20.0, sway_m_s2=0.0)], rate_hz=rate, seed=0)
        batch = session.samples["pelvis"]
        still = (batch.time_s > 2.0) & (batch.time_s < 19.0)
        gyr = _noise_density(batch.gyr_rad_s[still], rate)
        acc = _noise_density(batch.acc_m_s2[still], rate)
        print(
            f"simulator pelvis    {rate:6.1f} Hz  17.0 s  gyr {np.round(1e4 * gyr, 1)}  "
            f"acc {np.round(1e3 * acc, 1)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rates", type=float, nargs="+", default=[60.0, 100.0, 200.0])
    parser.add_argument("--misalignment", type=float, nargs="+", default=[0.0, 10.0, 15.0])
    parser.add_argument(
        "--noise", action="store_true", help="only compare sensor noise at rest with BROAD"
    )
    args = parser.parse_args()
    if args.noise:
        compare_noise(args.rates)
        return 0
    columns = [
        "pelvic_drop_deg",
        "trunk_lean_deg",
        "hold_s",
        "hip_lead_ms",
        "hip_onset_ms",
        "step_time_si_pct",
        "step_time_ms",
        "thigh_rom_deg",
        "analysis_s",
    ]
    print(
        "max absolute error per session (targets: "
        + ", ".join(f"{k} {v:g}" for k, v in TARGETS.items())
        + ")"
    )
    print(f"{'seed':>4} {'rate':>5} {'mis':>4} " + " ".join(f"{c:>16}" for c in columns))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for rate in args.rates:
                for mis in args.misalignment:
                    row = evaluate(seed, rate, mis, Path(tmp))
                    rows.append(row)
                    print(
                        f"{seed:>4} {rate:>5g} {mis:>4g} "
                        + " ".join(f"{row[c]:>16.3f}" for c in columns),
                        flush=True,
                    )
    print(
        "worst over all cases:   " + " ".join(f"{max(r[c] for r in rows):>16.3f}" for c in columns)
    )
    failed = [k for k, v in TARGETS.items() if max(r[k] for r in rows) > v]
    print("targets met" if not failed else f"targets missed: {', '.join(failed)}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
