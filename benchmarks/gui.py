"""GUI redraw benchmark: 4 sensors at 200 Hz into the live window; replay of an hour-long file.

Prints
- frame cost: GUI-thread CPU per frame (hub drain + streaming fusion + set data + a
  synchronous repaint of the whole window), median and 95th percentile;
- real time: achieved redraw rate with the ~30 Hz QTimer while a producer thread feeds
  4 x 200 Hz, and the process CPU (all threads) in % of one core;
- replay: time to open a 1-hour 4 x 200 Hz recording, seek, and play 1 s at 4x.

    python benchmarks/gui.py [--seconds 10] [--rate 200] [--hour-file PATH] [--no-hour]

Runs offscreen unless a display is set (QT_QPA_PLATFORM decides).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hipscope.acquisition.samples import SampleBatch

PLACEMENTS = ("pelvis", "trunk", "thigh_left", "thigh_right")


def synthetic_batch(placement_index: int, t0: float, n: int, rate_hz: float) -> SampleBatch:
    t = t0 + np.arange(n) / rate_hz
    phase = 2 * np.pi * 0.9 * t + placement_index
    acc = np.column_stack([9.81 + 2 * np.sin(phase), 1.5 * np.cos(phase), 0.5 * np.sin(2 * phase)])
    gyr = np.column_stack([0.8 * np.cos(phase), 0.3 * np.sin(phase), 0.2 * np.cos(2 * phase)])
    return SampleBatch(t, acc, gyr)


class Producer(threading.Thread):
    """Feeds the hub like the acquisition thread: every 10 ms, 2 samples per sensor at 200 Hz."""

    def __init__(self, hub: object, rate_hz: float, period_s: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.hub = hub
        self.rate_hz = rate_hz
        self.period_s = period_s
        self.stop_event = threading.Event()
        self.samples = 0

    def run(self) -> None:
        start = time.monotonic()
        sent = 0
        while not self.stop_event.is_set():
            due = int((time.monotonic() - start) * self.rate_hz)
            n = due - sent
            if n > 0:
                for i, placement in enumerate(PLACEMENTS):
                    self.hub.on_samples(
                        placement, synthetic_batch(i, sent / self.rate_hz, n, self.rate_hz)
                    )  # type: ignore[attr-defined]
                sent = due
                self.samples += 4 * n
            time.sleep(self.period_s)


def prefill(hub: object, rate_hz: float, seconds: float) -> float:
    n = int(seconds * rate_hz)
    for i, placement in enumerate(PLACEMENTS):
        hub.on_samples(placement, synthetic_batch(i, 0.0, n, rate_hz))  # type: ignore[attr-defined]
    return n / rate_hz


class FakeAcquisition:
    """Just enough of LiveAcquisition for the window (status and task calls)."""

    placements = PLACEMENTS

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.error = None
        self.finished = False
        self.running = True

    def add_consumer(self, consumer: object) -> None:
        pass

    def status(self) -> dict[str, dict[str, object]]:
        return {
            p: {
                "connected": True,
                "rate_hz": self.rate_hz,
                "lost_samples": 0,
                "clock_offset_s": 0.001,
            }
            for p in PLACEMENTS
        }

    def session_time_s(self) -> float:
        return time.monotonic()

    def stop(self) -> None:
        pass


def frame_cost(rate_hz: float, frames: int) -> None:
    from hipscope.gui.app import application
    from hipscope.gui.live import LiveWindow

    app = application()
    window = LiveWindow(FakeAcquisition(rate_hz))
    window.remember_layout = False
    window.show()
    app.processEvents()
    t = prefill(window.hub, rate_hz, 12.0)
    window.hub.process_pending()
    costs = []
    step = 1.0 / 30.0
    for k in range(frames):
        n = int((t + step) * rate_hz) - int(t * rate_hz)
        for i, placement in enumerate(PLACEMENTS):
            window.hub.on_samples(
                placement, synthetic_batch(i, int(t * rate_hz) / rate_hz, n, rate_hz)
            )
        t += step
        start = time.thread_time()
        window.before_redraw()
        window.redraw()
        window.repaint()
        app.processEvents()
        if k >= 10:
            costs.append(1000 * (time.thread_time() - start))
    costs.sort()
    p95 = costs[int(0.95 * len(costs)) - 1]
    size = window.size()
    print(
        f"frame cost ({size.width()}x{size.height()}, 4 sensors x {rate_hz:.0f} Hz, 10 s window): "
        f"median {statistics.median(costs):.1f} ms, p95 {p95:.1f} ms per frame (GUI thread CPU)"
    )
    window.close()


def real_time(rate_hz: float, seconds: float) -> None:
    from PySide6 import QtCore

    from hipscope.gui.app import application
    from hipscope.gui.live import LiveWindow

    app = application()
    window = LiveWindow(FakeAcquisition(rate_hz))
    window.remember_layout = False
    window.show()
    producer = Producer(window.hub, rate_hz)
    producer.start()
    window.start_redraw()
    QtCore.QTimer.singleShot(1000, lambda: None)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    frames0, wall0 = window.frames, time.monotonic()
    QtCore.QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    wall = time.monotonic() - wall0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    producer.stop_event.set()
    producer.join()
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    fps = (window.frames - frames0) / wall
    print(
        f"real time ({seconds:.0f} s): {fps:.1f} frames/s with the {1000 / 33:.0f} Hz timer, "
        f"process CPU {100 * cpu / wall:.0f} % of one core, "
        f"{producer.samples / wall:.0f} samples/s in, "
        f"tick CPU {1000 * window.frame_cpu_s / max(window.frames, 1):.1f} ms (excl. paint)"
    )
    window.shutdown()
    window.close()


def write_hour(path: Path, rate_hz: float, hours: float) -> None:
    from hipscope.acquisition.recorder import Recorder, SensorMeta
    from hipscope.acquisition.samples import Task

    chunk_s = 60.0
    total = hours * 3600.0
    with Recorder(
        path, [SensorMeta(p, nominal_rate_hz=rate_hz) for p in PLACEMENTS], flush_interval_s=30.0
    ) as rec:
        t = 0.0
        while t < total:
            n = int(chunk_s * rate_hz)
            for i, p in enumerate(PLACEMENTS):
                rec.append(p, synthetic_batch(i, t, n, rate_hz))
            t += n / rate_hz
        rec.add_task(Task("static", "", 1.0, 6.0))
        for k in range(1, int(total // 600)):
            rec.add_task(Task("gait", "", 600.0 * k, 600.0 * k + 120.0))


def replay_hour(path: Path | None, rate_hz: float) -> None:
    from hipscope.gui.app import application
    from hipscope.gui.replay import ReplaySource, ReplayWindow

    app = application()
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "hour.h5"
        start = time.perf_counter()
        write_hour(path, rate_hz, 1.0)
        print(
            f"replay: wrote a 1 h 4 x {rate_hz:.0f} Hz recording in "
            f"{time.perf_counter() - start:.1f} s ({path.stat().st_size / 1e6:.0f} MB)"
        )
    start = time.perf_counter()
    source = ReplaySource(path)
    window = ReplayWindow(source)
    window.remember_layout = False
    window.show()
    app.processEvents()
    opened = time.perf_counter() - start
    start = time.perf_counter()
    window.seek(source.start_s + 0.5 * source.duration_s)
    seek = time.perf_counter() - start
    window.set_speed(4.0)
    start = time.perf_counter()
    t = window.position_s
    ticks = 30
    for _ in range(ticks):
        t += 4.0 / 30.0
        window.advance_to(t)
        window.redraw()
        window.repaint()
    play = (time.perf_counter() - start) / ticks
    print(
        f"replay of {source.duration_s / 3600:.2f} h: window open {1000 * opened:.0f} ms, "
        f"seek to the middle {1000 * seek:.0f} ms, playing at 4x {1000 * play:.1f} ms per frame "
        f"({source.reads} HDF5 reads)"
    )
    window.close()
    if tmp is not None:
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="real-time run length, s")
    parser.add_argument("--rate", type=float, default=200.0, help="sensor rate, Hz")
    parser.add_argument("--frames", type=int, default=150, help="frames timed for the frame cost")
    parser.add_argument(
        "--hour-file", type=Path, default=None, help="replay this file instead of a generated one"
    )
    parser.add_argument("--no-hour", action="store_true", help="skip the hour-long replay")
    args = parser.parse_args()
    from hipscope.gui.app import font_family

    print(f"Qt platform {os.environ.get('QT_QPA_PLATFORM')}, font {font_family()!r}")
    frame_cost(args.rate, args.frames)
    real_time(args.rate, args.seconds)
    if not args.no_hour:
        replay_hour(args.hour_file, args.rate)


if __name__ == "__main__":
    main()
