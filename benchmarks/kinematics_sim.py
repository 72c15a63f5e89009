"""Kinematics accuracy sweep on simulated screen sessions, and the one-hour speed check.

Usage: python benchmarks/kinematics_sim.py [--seeds 5] [--rates 60,100,200]
[--misalignments 0,10,15] [--fusion vqf-offline] [--pelvis-tilt-deg 0] [--hour]

For every (rate, misalignment, seed) a default screen protocol is simulated
(acquisition.simulator), written to HDF5, read back and run through ``compute_kinematics``;
angles are compared with the angles of the simulator's true segment orientations. Prints
the RMS error (degrees) per angle, worst case and median over the sessions, and with
``--hour`` the time ``compute_kinematics`` takes for one hour of 4 sensors at 200 Hz. The
last line: ``kinematics_sim: worst_rms_deg=X.XX sessions=N``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hipscope.acquisition.recording import Recording, SensorData, load_recording
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.simulator import simulate
from hipscope.processing.angles import compute_angles
from hipscope.processing.kinematics import compute_kinematics

ANGLES = (
    "pelvis_obliquity",
    "pelvis_tilt",
    "pelvis_rotation",
    "trunk_tilt",
    "hip_flexion_left",
    "hip_flexion_right",
    "hip_adduction_left",
    "hip_adduction_right",
    "hip_rotation_left",
    "lumbar_flexion",
    "lumbar_lateral_bend",
    "thigh_sagittal_left",
)


def _tilt_pelvis(sim, tilt_deg: float):  # type: ignore[no-untyped-def]
    import dataclasses

    from scipy.spatial.transform import Rotation

    extra = Rotation.from_rotvec([0.0, np.radians(tilt_deg), 0.0])
    b = sim.samples["pelvis"]
    tilted = SampleBatch(
        b.time_s,
        extra.inv().apply(b.acc_m_s2.astype(np.float64)),
        extra.inv().apply(b.gyr_rad_s.astype(np.float64)),
        seq=b.seq,
    )
    return dataclasses.replace(sim, samples={**sim.samples, "pelvis": tilted})


def session_errors(
    rate_hz: float, misalignment_deg: float, seed: int, fusion: str, tilt_deg: float, tmp: Path
) -> dict[str, float]:
    sim = simulate(rate_hz=rate_hz, seed=seed, misalignment_deg=misalignment_deg)
    if tilt_deg:
        sim = _tilt_pelvis(sim, tilt_deg)
    path = tmp / f"sim_{rate_hz:g}_{misalignment_deg:g}_{seed}.h5"
    sim.write(path)
    kin = compute_kinematics(load_recording(path), fusion=fusion)
    truth = compute_angles(sim.q_world_segment)
    out = {}
    for name in ANGLES:
        err = kin.angles_rad[name] - np.interp(kin.time_s, sim.time_s, truth[name])
        if name.endswith("rotation"):
            err = np.angle(np.exp(1j * err))
        out[name] = float(np.degrees(np.sqrt(np.nanmean(err**2))))
    return out


def hour_timing(fusion: str) -> tuple[float, int]:
    sim = simulate(rate_hz=200.0, seed=0)
    reps = int(np.ceil(3600.0 / sim.duration_s))
    period = sim.duration_s + 1.0 / 200.0
    sensors = {}
    for p, b in sim.samples.items():
        t = np.concatenate([b.time_s + k * period for k in range(reps)])
        batch = SampleBatch(t, np.tile(b.acc_m_s2, (reps, 1)), np.tile(b.gyr_rad_s, (reps, 1)))
        sensors[p] = SensorData(p, "", "", "simulated", 200.0, batch)
    recording = Recording(Path("hour.h5"), 1, "", "", "", "", sensors, tuple(sim.tasks))
    start = time.perf_counter()
    compute_kinematics(recording, fusion=fusion)
    return time.perf_counter() - start, len(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="sessions per configuration")
    parser.add_argument("--rates", default="60,100,200", help="comma-separated rates, Hz")
    parser.add_argument(
        "--misalignments", default="0,10,15", help="comma-separated largest misalignments, deg"
    )
    parser.add_argument("--fusion", default="vqf-offline", help="fusion method")
    parser.add_argument(
        "--pelvis-tilt-deg", type=float, default=0.0, help="extra pelvis sensor tilt, deg"
    )
    parser.add_argument("--hour", action="store_true", help="also time one hour at 200 Hz")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    mis = [float(m) for m in args.misalignments.split(",")]
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rate in rates:
            for m in mis:
                config = []
                for seed in range(args.seeds):
                    errors = session_errors(
                        rate, m, seed, args.fusion, args.pelvis_tilt_deg, Path(tmp)
                    )
                    config.append(errors)
                    rows.append(errors)
                worst = {k: max(e[k] for e in config) for k in ANGLES}
                print(
                    f"rate {rate:5.0f} Hz  misalignment {m:4.0f}°  worst RMS: "
                    + "  ".join(f"{k} {v:.2f}" for k, v in worst.items() if "rotation" not in k),
                    flush=True,
                )
    print()
    print(f"{'angle':22s} {'median RMS':>10s} {'worst RMS':>10s}  (degrees, {len(rows)} sessions)")
    for name in ANGLES:
        values = np.array([r[name] for r in rows])
        print(f"{name:22s} {np.median(values):10.2f} {values.max():10.2f}")
    if args.hour:
        elapsed, n = hour_timing(args.fusion)
        print(f"one hour, 4 sensors x {n} samples at 200 Hz: compute_kinematics {elapsed:.1f} s")
    checked = [n for n in ANGLES if "rotation" not in n]
    worst_all = max(r[n] for r in rows for n in checked)
    print(f"kinematics_sim: worst_rms_deg={worst_all:.2f} sessions={len(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
