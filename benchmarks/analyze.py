"""Time and peak memory of analysing a long session (default: 1 hour, 4 sensors, 200 Hz).

Usage: python benchmarks/analyze.py [--hours 1] [--rate 200] [--file existing.h5]

The session is simulated by repeating the default screen protocol until it lasts the
requested time, and written as a recording. The analysis (``analyze_recording`` +
``to_dict``) then runs in a fresh child process so its peak memory (VmHWM) is its own;
the stages are timed from the pipeline's progress callback. Target: well under 30 s and
1 GB for one hour. The machine's load average is printed before and after: on a shared
machine the times are only comparable at similar load.

Where the peak goes for one hour (2026-11): ~126 MB of imports (numpy, scipy, h5py, vqf),
~122 MB for the recording's samples and ~320 MB for the kinematics the analysis returns
(float64 orientations, rotated signals and 17 angles per grid row); the transient buffers
of the offline VQF (~110 MB per sensor, one sensor at a time) stay below that end state.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from hipscope.processing.pipeline import analyze_recording

started = time.perf_counter()
usage0 = resource.getrusage(resource.RUSAGE_SELF)
stages = [("imports", started - t0)]
def progress(stage, fraction):
    stages.append((stage, time.perf_counter() - started))
analysis = analyze_recording(sys.argv[1], progress=progress)
doc = analysis.to_dict()
json.dumps(doc, allow_nan=False)
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_s = usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime
# VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so it would report the parent's
# peak (the simulated hour) whenever that is larger than the analysis's own.
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
try:
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    rss_mb = int(hwm.split()[1]) / 1024.0
except (OSError, StopIteration):
    pass
print(json.dumps({"elapsed_s": elapsed, "cpu_s": cpu_s, "max_rss_mb": rss_mb, "stages": stages,
                  "tasks": len(doc["tasks"])}))
"""


def make_session(path: Path, hours: float, rate_hz: float) -> float:
    from hipscope.acquisition.simulator import screen_protocol, simulate

    one = simulate(rate_hz=rate_hz, seed=0, noise=False).duration_s
    repeats = max(1, round(hours * 3600.0 / one))
    protocol = list(screen_protocol()) * repeats
    session = simulate(protocol, rate_hz=rate_hz, seed=0)
    session.write(path, athlete="benchmark")
    return session.duration_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="session length, h")
    parser.add_argument("--rate", type=float, default=200.0, help="sample rate, Hz")
    parser.add_argument("--file", type=Path, default=None, help="analyse this recording instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "long.h5"
            started = time.perf_counter()
            duration_s = make_session(path, args.hours, args.rate)
            print(
                f"simulated {duration_s / 60:.1f} min at {args.rate:g} Hz, 4 sensors, "
                f"{path.stat().st_size / 1e6:.0f} MB on disk "
                f"({time.perf_counter() - started:.1f} s to simulate and write)"
            )
        load_before = os.getloadavg()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
    load = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(load_before, os.getloadavg(), strict=True))
    print(f"  load average (1, 5, 15 min) before/after: {load} on {os.cpu_count()} CPUs")
    print(f"  imports {result['stages'][0][1]:.2f} s (not counted)")
    # time spent in each stage = gap to the next progress message, summed per stage kind
    totals: dict[str, float] = {}
    stages = result["stages"][1:]
    for (stage, at), (_, following) in itertools.pairwise(stages):
        name = stage.split(": ", 1)[-1].split(" (")[0] if stage.startswith("task ") else stage
        totals[name] = totals.get(name, 0.0) + following - at
    for name, seconds in totals.items():
        print(f"  {seconds:7.2f} s  {name}")
    print(
        f"analysis: {result['elapsed_s']:.1f} s ({result['cpu_s']:.1f} s CPU), "
        f"peak memory {result['max_rss_mb']:.0f} MB, "
        f"{result['tasks']} tasks"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
