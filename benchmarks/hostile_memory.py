"""Peak memory and time of `hipscope analyze` on the sample screen with clock jumps.

    python benchmarks/hostile_memory.py [--jumps 0 86400 1e6 1e12]

Each jump moves every sample after the middle of the 91 s, 100 Hz sample recording that
many seconds later (a sensor clock reset, a wrong RTC). The analysis runs in a fresh
process under a 3 GiB address-space cap; its peak resident memory (VmHWM) and wall time
are printed. The grid of the kinematics covers only the stretches with samples, so the
numbers should not depend on the jump.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np

SAMPLE = Path(__file__).parents[1] / "recordings" / "sample_screen.h5"
CAP_BYTES = 3 << 30
CHILD = textwrap.dedent(
    """
    import sys
    from hipscope.cli import main
    code = main(sys.argv[1:])
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"VMHWM_KB={peak}", file=sys.stderr)
    sys.exit(code)
    """
)


def with_jump(folder: Path, jump_s: float) -> Path:
    out = folder / f"jump_{jump_s:g}.h5"
    shutil.copyfile(SAMPLE, out)
    with h5py.File(out, "r+") as f:
        for group in f["sensors"].values():
            t = group["time_s"][()]
            middle = 0.5 * (t[0] + t[-1])
            del group["time_s"]
            group["time_s"] = np.where(t > middle, t + jump_s, t)
    return out


def measure(path: Path) -> tuple[int, float, float, str]:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))

    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "analyze", str(path)],
        capture_output=True,
        text=True,
        preexec_fn=cap,
        timeout=600,
    )
    wall_s = time.perf_counter() - started
    lines = done.stderr.strip().splitlines()
    peak = [int(line.split("=")[1]) for line in lines if line.startswith("VMHWM_KB=")]
    other = [line for line in lines if not line.startswith("VMHWM_KB=")]
    return done.returncode, (peak[-1] / 1024 if peak else float("nan")), wall_s, " ".join(other)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jumps", nargs="+", type=float, default=[0.0, 86_400.0, 1e6, 1e12])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'jump s':>10} {'exit':>4} {'peak MB':>8} {'wall s':>7}  message")
        for jump_s in args.jumps:
            code, peak_mb, wall_s, message = measure(with_jump(Path(tmp), jump_s))
            print(f"{jump_s:>10g} {code:>4} {peak_mb:>8.0f} {wall_s:>7.1f}  {message[:80]}")


if __name__ == "__main__":
    main()
