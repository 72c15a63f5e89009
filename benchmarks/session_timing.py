"""Cross-sensor timing of a live session against the simulator's truth, with a CPU hog.

    python benchmarks/session_timing.py [--speed 8 1] [--runs 1] [--no-hog] [--seed 0]

For each speed, the simulated screen (the one ``hipscope demo`` streams: 100 Hz, seed 0) is
recorded through the virtual radio by ``LiveAcquisition`` while a busy-loop process hogs a
core, then analysed. Printed per run:

- per-sensor mapping error: median of (recorded time - the time the simulator took the
  sample, ``seq / rate``) in ms; the spread across sensors is the inter-sensor skew;
- hip lead (hip hinge, median over repetitions) from the live recording and from the
  simulator's own file of the same session, and their difference.

Targets: |hip lead difference| <= 10 ms at the demo's default speed with the hog, <= 5 ms at
speed 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.runner import LiveAcquisition
from hipscope.acquisition.simulator import simulate
from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource
from hipscope.processing.pipeline import analyze_recording

RATE_HZ = 100.0


def hip_lead_ms(path: Path) -> float:
    tasks = analyze_recording(path).to_dict()["tasks"]
    values = [
        t["metrics"].get("hip_lead_ms_median")
        for t in tasks
        if t["kind"] == "hip_hinge" and t["metrics"].get("hip_lead_ms_median") is not None
    ]
    return float(np.median(values)) if values else float("nan")


def mapping_errors_ms(path: Path) -> dict[str, float]:
    """Per sensor: median(recorded time - true sampling time) in ms."""
    errors = {}
    recording = load_recording(path)
    spans = []
    for placement, sensor in recording.sensors.items():
        seq = sensor.samples.seq
        assert seq is not None
        truth_s = seq.astype(np.float64) / RATE_HZ
        error_ms = (sensor.samples.time_s - truth_s) * 1e3
        errors[placement] = float(np.median(error_ms))
        spans.append(
            f"{placement} {np.percentile(error_ms, 1):+.0f}..{np.percentile(error_ms, 99):+.0f}"
            f" lost {sensor.lost_samples}"
        )
        if sensor.attrs.get("time_alignment") is None:
            print(f"  ({placement}: recorded times not aligned)")
    print("  error p1..p99 ms: " + ", ".join(spans))
    return errors


def live_run(path: Path, speed: float, seed: int) -> None:
    live = LiveAcquisition(
        VirtualSource(VirtualOptions(rate_hz=RATE_HZ, speed=speed, seed=seed)),
        out_path=path,
        protocol="screen",
    )
    live.start()
    live.wait_finished(900.0)
    live.stop()
    if live.error is not None:
        raise SystemExit(f"live run failed: {live.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, nargs="+", default=[8.0, 1.0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-hog", action="store_true", help="without the busy-loop process")
    args = parser.parse_args()
    hog = None
    if not args.no_hog:
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            direct_path = simulate(rate_hz=RATE_HZ, seed=args.seed).write(Path(tmp) / "sim.h5")
            direct = hip_lead_ms(direct_path)
            print(f"simulator file: hip lead {direct:+.1f} ms   (hog: {hog is not None})")
            for speed in args.speed:
                for run in range(args.runs):
                    path = Path(tmp) / f"live_{speed:g}_{run}.h5"
                    started = time.monotonic()
                    live_run(path, speed, args.seed)
                    wall_s = time.monotonic() - started
                    errors = mapping_errors_ms(path)
                    skew = max(errors.values()) - min(errors.values())
                    live = hip_lead_ms(path)
                    shown = "  ".join(f"{p} {e:+.1f}" for p, e in errors.items())
                    print(f"speed {speed:g} run {run}: ({wall_s:.0f} s) mapping error ms: {shown}")
                    print(
                        f"  inter-sensor skew {skew:.1f} ms; hip lead live {live:+.1f} ms vs "
                        f"file {direct:+.1f} ms: difference {live - direct:+.1f} ms"
                    )
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


if __name__ == "__main__":
    main()
