"""The peer: mobgap's IcdIonescu + LrcUllrich on lower-back trials, run in mobgap's own env.

Usage (from ``benchmarks/gait_ipol.py --peer mobgap``, not by hand):
    PYTHON_WITH_MOBGAP benchmarks/peer_mobgap.py IN.npz OUT.json

``IN.npz`` holds, per trial ``NAME``: ``NAME/acc`` and ``NAME/gyr`` (n, 3) in mobgap's body
frame (is up, ml right, pa forward; m/s², and deg/s as mobgap expects), ``NAME/window``
[first, last] sample of the walk and ``NAME/rate`` in Hz. ``OUT.json`` maps each name to
initial contacts (sample index on the trial's grid) and their "left" / "right" labels.
mobgap (Apache-2.0) is never a hipscope dependency: this script runs in whichever Python has
it installed (its pretrained side model needs scikit-learn 1.6.1).
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np


def main() -> int:
    import pandas as pd
    from mobgap.initial_contacts import IcdIonescu
    from mobgap.laterality import LrcUllrich

    warnings.filterwarnings("ignore")
    source, target = sys.argv[1], sys.argv[2]
    arrays = np.load(source)
    names = sorted({key.split("/")[0] for key in arrays.files})
    out: dict[str, dict[str, list]] = {}
    for name in names:
        acc, gyr = arrays[f"{name}/acc"], arrays[f"{name}/gyr"]
        lo, hi = (int(x) for x in arrays[f"{name}/window"])
        rate_hz = float(arrays[f"{name}/rate"])
        data = pd.DataFrame(
            np.column_stack([acc[lo : hi + 1], gyr[lo : hi + 1]]),
            columns=["acc_is", "acc_ml", "acc_pa", "gyr_is", "gyr_ml", "gyr_pa"],
        )
        ics = IcdIonescu().detect(data, sampling_rate_hz=rate_hz).ic_list_
        if ics.empty:
            out[name] = {"ic": [], "side": []}
            continue
        sides = LrcUllrich().predict(data, ics, sampling_rate_hz=rate_hz).ic_lr_list_
        out[name] = {
            "ic": [int(x) + lo for x in sides["ic"].to_numpy()],
            "side": [str(x) for x in sides["lr_label"].to_numpy()],
        }
    with open(target, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
