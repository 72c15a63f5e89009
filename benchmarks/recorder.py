"""Recorder throughput and memory: 1 hour of 4 sensors at 200 Hz, written as a live session would.

Prints rows/s, how much faster than real time, the file size and the process's resident
memory at each simulated 10 minutes (flat memory = nothing accumulates).

    python benchmarks/recorder.py [--minutes 60] [--sensors 4] [--rate 200] [--mag]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.recording import open_recording
from hipscope.acquisition.samples import PLACEMENTS, SampleBatch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sensors", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0, help="samples/s per sensor")
    parser.add_argument("--batch", type=int, default=10, help="samples per notification")
    parser.add_argument("--mag", action="store_true", help="also record a magnetometer")
    args = parser.parse_args()

    process = psutil.Process()
    placements = PLACEMENTS[: args.sensors]
    total_rows = int(args.minutes * 60 * args.rate)
    meta = [
        SensorMeta(p, nominal_rate_hz=args.rate, has_mag=args.mag, has_seq=True) for p in placements
    ]
    rng = np.random.default_rng(0)
    template = rng.normal(0, 1, (args.batch, 3)).astype(np.float32)
    rss_mb: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hour.h5"
        start = time.perf_counter()
        with Recorder(path, meta) as recorder:
            for first in range(0, total_rows, args.batch):
                seq = np.arange(first, first + args.batch, dtype=np.uint32)
                batch = SampleBatch(
                    seq / args.rate, template, template, template if args.mag else None, seq
                )
                for placement in placements:
                    recorder.append(placement, batch)
                if first % int(600 * args.rate) == 0:
                    rss_mb.append(process.memory_info().rss / 2**20)
        elapsed_s = time.perf_counter() - start
        size_mb = path.stat().st_size / 2**20
        with open_recording(path) as check:
            rows = [check.sensor_info(p)["n_samples"] for p in placements]
    assert rows == [total_rows] * len(placements), rows
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    recorded_s = args.minutes * 60
    print(f"sensors={args.sensors} rate_hz={args.rate:g} minutes={args.minutes:g} mag={args.mag}")
    print(f"rows written: {sum(rows):,} in {elapsed_s:.1f} s = {sum(rows) / elapsed_s:,.0f} rows/s")
    print(f"faster than real time: {recorded_s / elapsed_s:.0f}x")
    print(f"file size: {size_mb:.1f} MB")
    print(
        "resident memory every 10 simulated minutes (MB): " + ", ".join(f"{m:.0f}" for m in rss_mb)
    )
    print(
        f"recorder: write_s={elapsed_s:.1f} realtime_x={recorded_s / elapsed_s:.0f} "
        f"file_mb={size_mb:.1f} peak_rss_mb={peak_mb:.0f}"
    )


if __name__ == "__main__":
    main()
