"""Time and peak memory of `hipscope angles` on a long session (default: 1 h, 4 sensors, 200 Hz).

Usage: python benchmarks/angles.py [--hours 1] [--rate 200] [--format csv|mot] [--file x.h5]

The session repeats the default screen protocol until it lasts the requested time and is
written as a recording. The command (``hipscope angles FILE --out OUT``) then runs in a
fresh child process, so its wall time, CPU time and peak memory (VmHWM) are its own,
imports included. Targets: <= 15 s and <= 1 GB for one hour. The machine's load average is
printed: on a shared machine the wall time is only comparable at similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the same long session the analysis benchmark builds (this folder is on sys.path when run)
from analyze import make_session

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
from hipscope.cli import main
code = main(["angles", sys.argv[1], "--out", sys.argv[2]])
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
rss_mb = usage.ru_maxrss / 1024.0
try:
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    rss_mb = int(hwm.split()[1]) / 1024.0
except (OSError, StopIteration):
    pass
print(json.dumps({"code": code, "elapsed_s": elapsed, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "max_rss_mb": rss_mb}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="session length, h")
    parser.add_argument("--rate", type=float, default=200.0, help="sample rate, Hz")
    parser.add_argument("--format", choices=("csv", "mot"), default="csv", help="output type")
    parser.add_argument("--file", type=Path, default=None, help="export this recording instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "long.h5"
            started = time.perf_counter()
            duration_s = make_session(path, args.hours, args.rate)
            print(
                f"simulated {duration_s / 60:.1f} min at {args.rate:g} Hz, 4 sensors "
                f"({time.perf_counter() - started:.1f} s to simulate and write)"
            )
        out = Path(tmp) / f"angles.{args.format}"
        load_before = os.getloadavg()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
        size_mb = out.stat().st_size / 1e6 if out.exists() else 0.0
        with out.open("rb") as handle:
            rows = sum(1 for _ in handle) - 1
    load = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(load_before, os.getloadavg(), strict=True))
    print(f"  load average (1, 5, 15 min) before/after: {load} on {os.cpu_count()} CPUs")
    print(
        f"hipscope angles: {result['elapsed_s']:.1f} s ({result['cpu_s']:.1f} s CPU), "
        f"peak memory {result['max_rss_mb']:.0f} MB, {rows} lines, {size_mb:.0f} MB "
        f"{args.format} (exit {result['code']})"
    )
    return 0 if result["code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
