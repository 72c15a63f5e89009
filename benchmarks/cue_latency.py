"""Live-cue latency: from the sample that broke a rule to the flash on the live window.

A virtual kit (4 sensors, 200 Hz by default, real time) streams a simulated athlete in
single-leg stance whose pelvis drops from 2° to 9° in bouts (``DropBoutsSpec``), through
the product's own path: virtual sensors on the bumble radio, bleak, the session's clock
mapping, the live window's hub, streaming fusion, the cue rule ``pelvic_drop_deg>5`` and the
flash. For every cue:

- **breaking sample**: the first pelvis-obliquity sample of the bout whose drop exceeds the
  threshold (read back from the hub's angle buffer: the sample after the last one at or
  below it). The cue itself carries the newest sample of the redraw that judged it, which
  is up to one redraw later; both are printed.
- **sample produced** (host clock): a virtual sensor takes sample k at session time k/rate,
  and session time 0 is a fixed ``time.monotonic()`` reading (``t0``, found from
  ``LiveAcquisition.session_time_s()``), so the sample's session time maps to host time as
  ``t0 + t / speed``. A clock-mapping error of the session shifts this by as much.
- **received**: when the batch holding that sample reached the window's consumer on the
  acquisition thread (the newest of the four sensors: the angle needs all of them).
- **shown**: when the flash widget first painted (``CueFlash.painted_at_s``), i.e. Qt has
  drawn it into the window's backing store.

latency = shown − produced; it splits into transport (produced → received: virtual radio
with a 7.5 ms connection interval, bleak, clock mapping) and window (received → shown:
waiting for the ~30 Hz redraw, fusion, cue judgement, paint).

Not measured: the air time and connection-interval batching of a real kit's radio (a real
sensor may hold a sample for one or more connection intervals, 7.5–50 ms, before it is
sent), the sensor's own filtering, and the display's compositor and refresh (up to one
frame, ~17 ms at 60 Hz) after Qt has painted. The tone is started in the same step as the
flash; audio output buffering (tens of ms) is not measured.

    python benchmarks/cue_latency.py [--rate 200] [--bouts 12] [--speed 1]

Target (issue "Live biofeedback cues"): p95 ≤ 150 ms at 4 × 200 Hz. Runs offscreen unless
a display is set.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import threading
import time
from typing import Any

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hipscope.acquisition.runner import LiveAcquisition
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.simulation.cue_drills import DropBoutsSpec
from hipscope.acquisition.simulator import StaticSpec
from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource
from hipscope.base.cues import parse_rules

THRESHOLD_DEG = 5.0
BOUT_S = 1.5
PERIOD_S = 3.0


def protocol(bouts: int) -> list[Any]:
    """Standing, then a left and a right stance with ``bouts`` drop bouts between them."""
    left = (bouts + 1) // 2
    stances = []
    for side, count in (("left", left), ("right", bouts - left)):
        if count == 0:
            continue
        stances.append(
            DropBoutsSpec(
                side,
                hold_s=count * PERIOD_S + 1.0,
                pelvic_drop_deg=2.0,
                trunk_lean_deg=1.0,
                bouts=tuple((1.0 + i * PERIOD_S, BOUT_S) for i in range(count)),
                bout_drop_deg=9.0,
            )
        )
    return [StaticSpec(duration_s=5.0), *stances]


class Arrivals:
    """Host time at which each sensor's samples reached the consumer (acquisition thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: dict[str, list[tuple[float, float]]] = {}

    def __call__(self, placement: str, batch: SampleBatch) -> None:
        now = time.monotonic()
        if len(batch):
            with self.lock:
                self.batches.setdefault(placement, []).append((float(batch.time_s[-1]), now))

    def received_s(self, sample_s: float) -> float:
        """When every sensor had delivered its sample at ``sample_s`` (NaN if unknown)."""
        times = []
        with self.lock:
            for rows in self.batches.values():
                when = next((at for last, at in rows if last >= sample_s - 1e-6), math.nan)
                times.append(when)
        return max(times) if times and all(math.isfinite(t) for t in times) else math.nan


def breaking_sample_s(window: Any, event: Any) -> float:
    """Session time of the first sample above the threshold in the bout the cue is about."""
    time_s, obliquity = window.hub.angle_window(
        "pelvis_obliquity", event.time_s - 3.0, event.time_s
    )
    sign = 1.0 if event.task_side == "left" else -1.0
    drop_deg = np.degrees(sign * obliquity)
    below = np.flatnonzero(~(drop_deg > THRESHOLD_DEG))
    first = below[-1] + 1 if below.size else 0
    return float(time_s[first]) if first < time_s.size else float(event.time_s)


def summary(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"{name}: no values"
    ordered = sorted(values_ms)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return (
        f"{name:<34} n={len(ordered):3d}  median {statistics.median(ordered):6.1f} ms  "
        f"p95 {p95:6.1f} ms  max {ordered[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="sensor rate, Hz (200)")
    parser.add_argument("--bouts", type=int, default=12, help="rule breaks to cue (12)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated s per s (1)")
    args = parser.parse_args()

    from PySide6 import QtCore

    from hipscope.gui.app import application
    from hipscope.gui.live import LiveWindow

    application()
    source = VirtualSource(
        VirtualOptions(rate_hz=args.rate, speed=args.speed, protocol=protocol(args.bouts))
    )
    acquisition = LiveAcquisition(source, protocol="screen")
    arrivals = Arrivals()
    acquisition.add_consumer(arrivals)
    window = LiveWindow(acquisition, cue_rules=parse_rules([f"pelvic_drop_deg>{THRESHOLD_DEG:g}"]))
    window.remember_layout = False
    rows: list[dict[str, float]] = []
    clock: dict[str, float] = {}

    def on_painted(painted_s: float) -> None:
        shown = window.cues_shown[-1]
        if "t0" not in clock:
            clock["t0"] = time.monotonic() - acquisition.session_time_s() / args.speed
        t0 = clock["t0"]
        breaking_s = breaking_sample_s(window, shown.event)
        rows.append(
            {
                "shown": painted_s,
                "breaking_produced": t0 + breaking_s / args.speed,
                "newest_produced": t0 + shown.event.time_s / args.speed,
                "received": arrivals.received_s(breaking_s),
                "judged": shown.emitted_monotonic_s,
            }
        )

    window.cue_flash.painted.append(on_painted)
    window.show()
    window.start()
    started = time.monotonic()
    frames0: dict[str, float] = {}
    loop = QtCore.QEventLoop()

    def watch() -> None:  # the app's own event loop runs the window, as in `hipscope live`
        if acquisition.wait_connected(0) and "t0" not in clock:
            clock["t0"] = time.monotonic() - acquisition.session_time_s() / args.speed
            frames0.update(frames=window.frames, cpu_s=window.frame_cpu_s)
        if acquisition.finished or time.monotonic() - started > 600:
            loop.quit()

    watcher = QtCore.QTimer()
    watcher.timeout.connect(watch)
    watcher.start(100)
    loop.exec()
    watcher.stop()
    frames = window.frames - int(frames0.get("frames", 0))
    cpu_s = window.frame_cpu_s - frames0.get("cpu_s", 0.0)
    window.close()
    if acquisition.error is not None:
        raise SystemExit(f"acquisition failed: {acquisition.error}")

    print(
        f"virtual kit: {len(window.hub.placements)} sensors x {args.rate:.0f} Hz, speed "
        f"{args.speed:g}, rule pelvic_drop_deg>{THRESHOLD_DEG:g}; {args.bouts} breaks, "
        f"{len(rows)} cues shown; redraw {1000 * cpu_s / max(frames, 1):.1f} ms CPU per frame"
    )
    print(
        summary(
            "breaking sample -> flash shown",
            [1000 * (r["shown"] - r["breaking_produced"]) for r in rows],
        )
    )
    print(
        summary(
            "cue's newest sample -> flash shown",
            [1000 * (r["shown"] - r["newest_produced"]) for r in rows],
        )
    )
    print(
        summary(
            "  transport (produced -> received)",
            [
                1000 * (r["received"] - r["breaking_produced"])
                for r in rows
                if math.isfinite(r["received"])
            ],
        )
    )
    print(
        summary(
            "  window (received -> shown)",
            [1000 * (r["shown"] - r["received"]) for r in rows if math.isfinite(r["received"])],
        )
    )
    print(
        summary(
            "    received -> cue judged",
            [1000 * (r["judged"] - r["received"]) for r in rows if math.isfinite(r["received"])],
        )
    )
    print(
        summary(
            "    cue judged -> flash painted", [1000 * (r["shown"] - r["judged"]) for r in rows]
        )
    )
    if len(rows) != args.bouts:
        print(f"WARNING: {args.bouts} breaks but {len(rows)} cues")


if __name__ == "__main__":
    main()
