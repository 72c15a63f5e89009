"""Wall time of `hipscope batch` over a library of simulated recordings, 1 vs 2 workers.

Usage: python benchmarks/batch.py [--files 100] [--minutes 5] [--workers 1,2]
                                  [--workdir DIR] [--rate 100]

The recordings (the full screen protocol - static, single-leg stance L/R, hinge, squat,
bridge - plus walking to fill the requested length, a different seed and athlete truth
per file) are generated once and cached in ``--workdir`` (default: a folder in the system
temp dir named after the size). For each worker count the whole library is analysed from
scratch (``force``) on a fresh local cluster; printed per run: total wall time, cluster
start-up, analysis wall time (first submit -> last result) and files per second. The
scaling efficiency is ``T(1) / (k * T(k))`` on the analysis wall time (1.0 = perfect).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def protocol(minutes: float, seed: int) -> list[object]:
    """The full protocol with per-file truth, plus walking up to ``minutes``."""
    import numpy as np

    from hipscope.acquisition.simulator import (
        GaitSpec,
        RepetitionSpec,
        SingleLegStanceSpec,
        StaticSpec,
    )

    rng = np.random.default_rng(seed)
    specs: list[object] = [
        StaticSpec(),
        SingleLegStanceSpec("left", pelvic_drop_deg=float(rng.uniform(2, 9))),
        SingleLegStanceSpec("right", pelvic_drop_deg=float(rng.uniform(2, 9))),
        RepetitionSpec("hip_hinge", hip_lead_ms=float(rng.uniform(-40, 120))),
        RepetitionSpec("squat", hip_lead_ms=float(rng.uniform(-40, 120))),
        RepetitionSpec("hip_bridge", hip_lead_ms=float(rng.uniform(-40, 120))),
    ]
    from hipscope.acquisition.simulator import simulate

    used_s = simulate(specs, rate_hz=10.0, noise=False).duration_s + 3.0  # + the pause
    walk_s = max(10.0, minutes * 60.0 - used_s)
    left = float(rng.uniform(0.5, 0.6))
    specs.append(
        GaitSpec(
            duration_s=walk_s,
            step_time_left_s=left,
            step_time_right_s=left * float(rng.uniform(0.92, 1.08)),
            step_time_cv=0.02,
        )
    )
    return specs


def make_library(
    folder: Path, files: int, minutes: float, rate_hz: float
) -> tuple[list[Path], float]:
    """Simulate the missing recordings; returns their paths and mean duration in s."""
    import h5py

    from hipscope.acquisition.simulator import simulate

    folder.mkdir(parents=True, exist_ok=True)
    durations = []
    paths = []
    started = time.perf_counter()
    for i in range(files):
        path = folder / f"athlete{i % 10:02d}" / f"session{i:04d}.h5"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.h5")
            tmp.unlink(missing_ok=True)
            session = simulate(protocol(minutes, i), seed=i, rate_hz=rate_hz)
            session.write(tmp, athlete=f"Athlete {i % 10:02d}")
            with h5py.File(tmp, "r+") as f:  # one session a week per athlete
                f.attrs["created_utc"] = f"2026-{1 + (i // 10) // 4 % 12:02d}-" + (
                    f"{1 + 7 * ((i // 10) % 4):02d}T10:00:00+00:00"
                )
            tmp.rename(path)
            print(f"\r  simulated {i + 1}/{files}", end="", flush=True)
        paths.append(path)
        with h5py.File(path, "r") as f:
            t = f["sensors/pelvis/time_s"]
            durations.append(float(t[-1] - t[0]))
    print(f"\r  library ready: {files} files in {time.perf_counter() - started:.0f} s")
    return paths, sum(durations) / len(durations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, help="recordings in the library")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each recording")
    parser.add_argument("--rate", type=float, default=100.0, help="sampling rate, Hz")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--workdir", type=Path, default=None, help="cache folder")
    args = parser.parse_args()

    import pyarrow.parquet as pq

    from hipscope.processing.batch import run_batch

    workdir = args.workdir or Path(tempfile.gettempdir()) / (
        f"hipscope-batch-bench-{args.files}x{args.minutes:g}min-{args.rate:g}hz"
    )
    library = workdir / "library"
    print(f"library: {library}")
    paths, mean_s = make_library(library, args.files, args.minutes, args.rate)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"  {args.files} recordings, {mean_s / 60:.1f} min each, {size_mb:.0f} MB in total")

    results: dict[int, float] = {}
    for n in [int(x) for x in args.workers.split(",")]:
        out = workdir / f"table-{n}w.parquet"
        summary = run_batch(paths, out, n_workers=n, force=True)
        results[n] = summary.analysis_wall_s
        per_file = (
            pq.read_table(out, columns=["content_hash", "analysis_s", "analysis_cpu_s"])
            .group_by("content_hash")
            .aggregate([("analysis_s", "max"), ("analysis_cpu_s", "max")])
        )
        busy_s = sum(per_file.column("analysis_s_max").to_pylist())
        cpu_s = sum(per_file.column("analysis_cpu_s_max").to_pylist())
        print(
            f"workers={n}: wall {summary.wall_s:6.1f} s "
            f"(cluster start {summary.cluster_start_s:.1f} s, "
            f"analysis {summary.analysis_wall_s:.1f} s) -> "
            f"{args.files / summary.analysis_wall_s:.2f} files/s, "
            f"{summary.n_rows} task rows, {summary.n_failed} failed"
        )
        print(
            f"           worker busy {busy_s:.1f} s in total, "
            f"{busy_s / args.files:.2f} s per file (CPU {cpu_s / args.files:.2f} s); "
            "effective parallelism "
            f"{busy_s / summary.analysis_wall_s:.2f}; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        rerun = run_batch(paths, out, n_workers=n)
        print(f"           re-run (all unchanged, skipped): {rerun.wall_s:.2f} s")
    if 1 in results:
        for n, t in results.items():
            if n > 1:
                print(f"scaling efficiency 1 -> {n} workers: {results[1] / (n * t):.2f}")


if __name__ == "__main__":
    main()
