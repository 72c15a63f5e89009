"""Orientation accuracy of every fusion method on the BROAD benchmark trials.

BROAD: Laidig, Caruso, Cereatti, Seel, "BROAD — A Benchmark for Robust Inertial Orientation
Estimation", Data 6(7), 2021, doi:10.3390/data6070072 (CC BY 4.0).

Usage: python benchmarks/broad.py --data /path/to/broad [--methods vqf-offline,madgwick]
[--modes 6D,9D] [--quick]

Each trial file (``NN_name.hdf5``) holds imu_gyr (rad/s), imu_acc (m/s²), imu_mag (µT),
opt_quat (reference, sensor-to-ENU, w-first), movement (evaluated samples) and the rate as
the ``sampling_rate`` attribute. The error follows the dataset: q_err = q_est ⊗ conj(q_ref),
RMSE over movement samples, filters start at the first sample, 6D heading with one constant
offset removed per trial. Prints a table (mean over trials, degrees) and, as the very last
line, ``broad: method=vqf-offline mode=9D total_rmse_deg=X.XX trials=N``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from hipscope.processing.fusion import FUSION_METHODS, estimate_orientation, orientation_error

QUICK_TRIALS = ("02_", "07_", "15_", "30_")


def load_trial(path: Path) -> dict[str, np.ndarray | float]:
    with h5py.File(path, "r") as f:
        return {
            "gyr": f["imu_gyr"][:].astype(np.float64),
            "acc": f["imu_acc"][:].astype(np.float64),
            "mag": f["imu_mag"][:].astype(np.float64),
            "ref": f["opt_quat"][:].astype(np.float64),
            "movement": f["movement"][:].astype(bool),
            "rate_hz": float(f.attrs["sampling_rate"]),
        }


def published_totals(data: Path, trials: list[str]) -> dict[str, float]:
    """Mean of the authors' per-trial total RMSE (their best single parameter set)."""
    out: dict[str, float] = {}
    for name in ("madgwick", "mahony"):
        path = data / "published" / f"results_{name}_average_rmse.json"
        if not path.exists():
            continue
        per_trial = json.loads(path.read_text())["trials"]
        values = [
            per_trial[t]["tagp_parameters"]["total_rmse_deg"] for t in trials if t in per_trial
        ]
        if values:
            out[name] = float(np.mean(values))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with the BROAD .hdf5 trials"
    )
    parser.add_argument(
        "--methods",
        default=",".join(FUSION_METHODS),
        help=f"comma-separated fusion methods (default: all of {', '.join(FUSION_METHODS)})",
    )
    parser.add_argument("--modes", default="6D,9D", help="comma-separated: 6D, 9D (default both)")
    parser.add_argument(
        "--quick", action="store_true", help=f"only trials {', '.join(QUICK_TRIALS)} (a few)"
    )
    args = parser.parse_args(argv)
    files = sorted(args.data.glob("*.hdf5"))
    if args.quick:
        files = [f for f in files if f.name.startswith(QUICK_TRIALS)]
    if not files:
        print(f"no BROAD .hdf5 trials in {args.data}", file=sys.stderr)
        return 1
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    modes = [m.strip().upper() for m in args.modes.split(",") if m.strip()]
    for m in methods:
        if m not in FUSION_METHODS:
            print(f"unknown method {m!r}; choose from {', '.join(FUSION_METHODS)}", file=sys.stderr)
            return 1
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    speed: dict[tuple[str, str], list[float]] = {}
    for path in files:
        trial = load_trial(path)
        n = len(trial["gyr"])  # type: ignore[arg-type]
        for method in methods:
            for mode in modes:
                start = time.perf_counter()
                q = estimate_orientation(
                    trial["gyr"],
                    trial["acc"],
                    trial["rate_hz"],  # type: ignore[arg-type]
                    mag_ut=trial["mag"] if mode == "9D" else None,
                    method=method,
                )
                elapsed = time.perf_counter() - start
                err = orientation_error(
                    q, trial["ref"], trial["movement"], remove_heading_offset=mode == "6D"
                )
                row = tuple(
                    float(np.degrees(v))
                    for v in (err.inclination_rad, err.heading_rad, err.total_rad)
                )
                results.setdefault((method, mode), []).append(row)  # type: ignore[arg-type]
                speed.setdefault((method, mode), []).append(n / elapsed)
                print(
                    f"  {path.stem:48s} {method:12s} {mode}  incl {row[0]:6.2f}  "
                    f"head {row[1]:6.2f}  total {row[2]:6.2f}  "
                    f"({n / elapsed / 1e3:8.1f} k samples/s)",
                    flush=True,
                )
    trials = [f.stem for f in files]
    print()
    print(f"BROAD, {len(trials)} trials; mean over trials of per-trial RMSE, degrees")
    print(
        f"{'method':12s} {'mode':4s} {'inclination':>11s} {'heading':>8s} {'total':>7s} "
        f"{'samples/s':>11s}"
    )
    for (method, mode), rows in results.items():
        arr = np.array(rows)
        sps = float(np.median(speed[(method, mode)]))
        print(
            f"{method:12s} {mode:4s} {arr[:, 0].mean():11.2f} {arr[:, 1].mean():8.2f} "
            f"{arr[:, 2].mean():7.2f} {sps:11.0f}"
        )
    published = published_totals(args.data, trials)
    for name, value in published.items():
        print(f"published (dataset authors, same trials): {name} 9D total {value:.2f}")
    key = ("vqf-offline", "9D") if ("vqf-offline", "9D") in results else next(iter(results))
    total = float(np.mean(np.array(results[key])[:, 2]))
    print(f"broad: method={key[0]} mode={key[1]} total_rmse_deg={total:.2f} trials={len(trials)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
