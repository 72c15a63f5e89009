"""Live acquisition on the virtual kit: latency, CPU and how much one process sustains.

    python benchmarks/acquisition.py [--seconds 10] [--quick]

1. Four virtual sensors (hipscope open profile) at 200 Hz in real time, recorded to HDF5:
   - notification -> recorder latency: from the notify callback to ``Recorder.append``;
   - sample -> recorder latency: from the moment the last sample of a packet was taken
     (simulated clock = session clock) to ``Recorder.append`` (includes the radio);
   - CPU share of one core used by the whole process (virtual sensors included, so it is
     an upper bound for the central's side).
2. Capacity: sensors x rate (x speed) stepped up until samples go missing or the p99
   sample -> recorder latency exceeds 100 ms.
3. Cross-sensor timing end to end (``--hip-lead``): a simulated hip hinge recorded
   through the virtual radio by ``LiveAcquisition`` and analysed by the pipeline, against
   the same analysis of the simulator's own file (hip-lead depends on the relative timing
   of pelvis, trunk and thighs).
Everything runs in this process (peripherals, radio and central share one loop).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.samples import PLACEMENTS, SampleBatch
from hipscope.acquisition.session import Session
from hipscope.acquisition.virtual.kit import VirtualKit, still_samples


async def run_once(
    n_sensors: int, rate_hz: float, speed: float, seconds: float, out: Path
) -> dict[str, float]:
    placements = PLACEMENTS[:n_sensors]
    samples = still_samples(placements, rate_hz, 30.0)
    async with VirtualKit(
        placements=placements, rate_hz=rate_hz, speed=speed, samples=samples
    ) as env:
        session = Session(
            env.session_devices,
            scanner_backend=env.scanner_backend,
            client_backend=env.client_backend,
            rate_hz=dict.fromkeys(placements, rate_hz),
            time_scale=speed,
            t0_monotonic_s=env.session_t0,
        )
        sample_latency_s: list[float] = []

        def on_batch(_placement: str, batch: SampleBatch) -> None:
            assert batch.seq is not None
            taken_s = float(batch.seq[-1]) / rate_hz  # when the packet's last sample was taken
            sample_latency_s.append((session.session_time_s() - taken_s) / speed)

        session.add_consumer(on_batch)
        await session.connect()
        session.start_recording(out)
        session.latencies_s.clear()
        sample_latency_s.clear()
        sent0 = sum(s.sent_notifications for s in env.sensors.values())
        wall0, cpu0 = time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        notify_latency_s = np.array(session.latencies_s)
        lost = sum(link.mapper.lost_samples for link in session.links.values())
        await session.close()
        skipped = sum(s.skipped_samples for s in env.sensors.values())
        notifications = sum(s.sent_notifications for s in env.sensors.values())
    recording = load_recording(out)
    expected = recorded = 0
    for sensor in recording.sensors.values():
        seq = sensor.samples.seq.astype(np.int64)  # type: ignore[union-attr]
        expected += int(seq[-1] - seq[0] + 1)
        recorded += len(seq)
    sample_lat = np.array(sample_latency_s)
    return {
        "lost": float(lost + sum(s.lost_samples for s in recording.sensors.values())),
        "skipped_by_sensors": float(skipped),
        "recorded_fraction": recorded / expected,
        "notify_p50_ms": float(np.percentile(notify_latency_s, 50) * 1e3),
        "notify_p99_ms": float(np.percentile(notify_latency_s, 99) * 1e3),
        "sample_p50_ms": float(np.percentile(sample_lat, 50) * 1e3),
        "sample_p99_ms": float(np.percentile(sample_lat, 99) * 1e3),
        "cpu_share": cpu / wall,
        "notifications_per_s": (notifications - sent0) / wall,
    }


def hip_lead_check(speeds: list[float], runs: int, tmp: Path) -> None:
    from hipscope.acquisition.runner import LiveAcquisition
    from hipscope.acquisition.simulator import RepetitionSpec, StaticSpec, simulate
    from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource
    from hipscope.processing.pipeline import analyze_recording

    protocol = (StaticSpec(duration_s=4.0),
                RepetitionSpec(kind="hip_hinge", reps=5, hip_lead_ms=120.0))

    def hip_lead_ms(path: Path) -> float:
        tasks = analyze_recording(path).to_dict()["tasks"]
        return float(next(t["metrics"]["hip_lead_ms_median"] for t in tasks
                          if t["kind"] == "hip_hinge"))

    direct = hip_lead_ms(simulate(list(protocol), rate_hz=100.0, seed=3).write(tmp / "d.h5"))
    print(f"hip lead (simulated 120 ms): simulator's file {direct:.1f} ms; live - file:")
    for speed in speeds:
        errors = []
        for run in range(runs):
            path = tmp / f"hl_{speed:g}_{run}.h5"
            live = LiveAcquisition(
                VirtualSource(
                    VirtualOptions(rate_hz=100.0, speed=speed, seed=3, protocol=protocol)
                ),
                out_path=path, protocol="screen",
            )
            live.start()
            live.wait_finished(300.0)
            errors.append(hip_lead_ms(path) - direct)
        shown = ", ".join(f"{e:+.1f}" for e in errors)
        print(f"  speed {speed:g}: {shown} ms (max |error| {max(map(abs, errors)):.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--quick", action="store_true", help="fewer capacity steps")
    parser.add_argument("--hip-lead", action="store_true",
                        help="only the end-to-end hip-lead timing check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.hip_lead:
            hip_lead_check([1.0, 2.0, 4.0], 3, Path(tmp))
            return
        base = asyncio.run(run_once(4, 200.0, 1.0, args.seconds, Path(tmp) / "base.h5"))
        print(f"4 sensors x 200 Hz, {args.seconds:g} s real time:")
        print(f"  notification -> recorder  p50 {base['notify_p50_ms']:.2f} ms"
              f"  p99 {base['notify_p99_ms']:.2f} ms")
        print(f"  sample -> recorder        p50 {base['sample_p50_ms']:.2f} ms"
              f"  p99 {base['sample_p99_ms']:.2f} ms")
        print(f"  CPU share (whole process, sensors included): {base['cpu_share'] * 100:.0f}% "
              "of one core")
        print(f"  lost {base['lost']:.0f}, recorded {base['recorded_fraction'] * 100:.2f}% "
              "of the samples taken (first to last)")
        steps = [(4, 200.0, 1.0), (8, 200.0, 1.0), (8, 400.0, 1.0), (8, 400.0, 2.0),
                 (8, 400.0, 4.0), (8, 400.0, 6.0), (8, 400.0, 8.0), (8, 400.0, 12.0),
                 (8, 400.0, 16.0), (8, 400.0, 24.0)]
        if args.quick:
            steps = steps[::2]
        print("capacity (sensors x rate x speed = samples/s):")
        best = 0.0
        for i, (n, rate, speed) in enumerate(steps):
            seconds = max(3.0, args.seconds / 2)
            result = asyncio.run(run_once(n, rate, speed, seconds, Path(tmp) / f"cap{i}.h5"))
            load = n * rate * speed
            ok = (result["lost"] == 0 and result["recorded_fraction"] >= 0.999
                  and result["sample_p99_ms"] < 100.0)
            print(f"  {n} x {rate:g} Hz x {speed:g} = {load:6.0f}/s: lost {result['lost']:.0f}, "
                  f"recorded {result['recorded_fraction'] * 100:.2f}%, sample p99 "
                  f"{result['sample_p99_ms']:.1f} ms, {result['notifications_per_s']:.0f} "
                  f"notifications/s, CPU {result['cpu_share'] * 100:.0f}%"
                  f" -> {'ok' if ok else 'NOT sustained'}")
            if not ok:
                break
            best = load
        print(f"largest sustained load: {best:.0f} samples/s in one process")


if __name__ == "__main__":
    main()
