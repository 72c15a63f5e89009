"""Hostile inputs for every command that reads files: recordings, metrics JSON, kits, folders.

``base_recording`` writes one small, valid simulated session (static + left single-leg
stance, 50 Hz, 15 s); every hostile recording is a copy of it changed with h5py, or raw
bytes. Each builder takes the destination folder and returns the path it made. The test
suite (``tests/test_hostile_inputs.py``) runs the commands on them; ``python
tests/hostile_files.py OUT`` writes them all into OUT to try by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

RATE_HZ = 50.0
STANCE_HOLD_S = (9.5, 12.5)
"""Inside the left single-leg stance's steady hold of the base session (task 8–14 s)."""

MARKUP_ATHLETE = "[link=javascript:alert(1)]coach[/link] [/] [bold]x"
ANSI_ATHLETE = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\u202eevil"
EMOJI_ATHLETE = ":thumbs_up: jane"


def base_recording(path: Path) -> Path:
    """A valid 15 s session: static (1–5 s), left single-leg stance (8–14 s), 4 sensors."""
    from hipscope.acquisition.simulation.specs import SingleLegStanceSpec, StaticSpec
    from hipscope.acquisition.simulator import simulate

    sim = simulate(
        [
            StaticSpec(duration_s=4.0),
            SingleLegStanceSpec("left", hold_s=4.0, pelvic_drop_deg=4.0, trunk_lean_deg=2.0),
        ],
        rate_hz=RATE_HZ,
        seed=0,
    )
    sim.write(path, athlete="Jane Doe")
    return path


def _copy(base: Path, folder: Path, name: str) -> Path:
    out = folder / name
    shutil.copyfile(base, out)
    return out


def _rewrite_times(path: Path, change: Callable[[np.ndarray], np.ndarray], *only: str) -> None:
    with h5py.File(path, "r+") as f:
        for placement, group in f["sensors"].items():
            if only and placement not in only:
                continue
            time_s = group["time_s"][()]
            del group["time_s"]
            group["time_s"] = change(time_s)


# --- recordings: names and attributes -------------------------------------------------


def markup_in_file_name(base: Path, folder: Path) -> Path:
    """Rich markup in the path: ``lib[/x]/session [jane].h5`` (``[/`` spans the separator)."""
    sub = folder / "lib[" / "x]"
    sub.mkdir(parents=True, exist_ok=True)
    return _copy(base, sub, "session [jane].h5")


def markup_in_attributes(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "markup_attrs.h5")
    with h5py.File(out, "r+") as f:
        f.attrs["athlete"] = MARKUP_ATHLETE
        f.attrs["session_id"] = "[/session]"
        f.attrs["software"] = "[red]fake"
        f["sensors/pelvis"].attrs["device_name"] = "[/]dev"
        f["sensors/trunk"].attrs["profile"] = "[link=file:///etc/passwd]p[/link]"
    return out


def control_chars_in_attributes(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "ansi_attrs.h5")
    with h5py.File(out, "r+") as f:
        f.attrs["athlete"] = ANSI_ATHLETE
        f.attrs["session_id"] = "line1\nline2\r\x7f"
        f["sensors/pelvis"].attrs["device_name"] = "\x1b[5mblink\x9b31m"
    return out


def emoji_code_athlete(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "emoji_athlete.h5")
    with h5py.File(out, "r+") as f:
        f.attrs["athlete"] = EMOJI_ATHLETE
    return out


def formula_athlete(base: Path, folder: Path) -> Path:
    """CSV injection: the athlete name is a spreadsheet formula."""
    out = _copy(base, folder, "formula_athlete.h5")
    with h5py.File(out, "r+") as f:
        f.attrs["athlete"] = '=HYPERLINK("http://evil.example","x")'
        f.attrs["session_id"] = "=cmd|' /C calc'!A0"
    return out


# --- recordings: time axis ------------------------------------------------------------


def clock_jump(
    base: Path, folder: Path, jump_s: float, *only: str, after_s: float = 7.0
) -> Path:
    """Every sample after ``after_s`` (of the given sensors, default all) moved ``jump_s``
    later."""
    tag = "_".join(only) or "all"
    out = _copy(base, folder, f"clock_jump_{jump_s:.0f}s_{tag}_after_{after_s:g}s.h5")
    _rewrite_times(out, lambda t: np.where(t > after_s, t + jump_s, t), *only)
    return out


def clock_jump_day(base: Path, folder: Path) -> Path:
    return clock_jump(base, folder, 86_400.0)


def clock_jump_day_one_sensor(base: Path, folder: Path) -> Path:
    return clock_jump(base, folder, 86_400.0, "thigh_right")


def clock_jump_1e6(base: Path, folder: Path) -> Path:
    return clock_jump(base, folder, 1e6)


def clock_jump_1e12(base: Path, folder: Path) -> Path:
    return clock_jump(base, folder, 1e12)


def gap_one_hour_one_sensor(base: Path, folder: Path) -> Path:
    """The trunk sensor silent for an hour in the middle (the others go on)."""
    out = _copy(base, folder, "gap_1h_trunk.h5")
    _rewrite_times(out, lambda t: np.where(t > 6.0, t + 3600.0, t), "trunk")
    return out


def time_backwards(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "time_backwards.h5")
    _rewrite_times(out, lambda t: np.concatenate([t[:100], t[100:] - 5.0]), "pelvis")
    return out


def duplicate_times(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "duplicate_times.h5")

    def dup(t: np.ndarray) -> np.ndarray:
        t = t.copy()
        t[200] = t[199]
        return t

    _rewrite_times(out, dup, "pelvis")
    return out


def nan_samples(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "nan_samples.h5")
    with h5py.File(out, "r+") as f:
        acc = f["sensors/pelvis/acc_m_s2"]
        acc[300] = [np.nan, np.inf, 0.0]
    return out


def tasks_outside_recording(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "tasks_outside.h5")
    with h5py.File(out, "r+") as f:
        for name, offset in (("start_s", 1000.0), ("end_s", 1000.0)):
            values = f["tasks"][name][()] + offset
            del f["tasks"][name]
            f["tasks"][name] = values
    return out


def one_sample_per_sensor(base: Path, folder: Path) -> Path:
    out = folder / "one_sample.h5"
    with h5py.File(base, "r") as src, h5py.File(out, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for placement, group in src["sensors"].items():
            g = dst.create_group(f"sensors/{placement}")
            for key, value in group.attrs.items():
                g.attrs[key] = value
            for name in ("time_s", "acc_m_s2", "gyr_rad_s", "seq"):
                if name in group:
                    g[name] = group[name][:1]
    return out


# --- recordings: sample values (item 8) ------------------------------------------------


def stuck_accelerometer(base: Path, folder: Path, value: float = 3e38) -> Path:
    """The pelvis accelerometer pinned at ``value`` for 1 s inside the single-leg hold."""
    out = _copy(base, folder, f"stuck_acc_{value:g}.h5")
    with h5py.File(out, "r+") as f:
        t = f["sensors/pelvis/time_s"][()]
        rows = np.flatnonzero((t >= STANCE_HOLD_S[0]) & (t < STANCE_HOLD_S[0] + 1.0))
        acc = f["sensors/pelvis/acc_m_s2"]
        acc[rows[0] : rows[-1] + 1] = np.full((len(rows), 3), value, dtype=np.float32)
    return out


def saturated_gyroscope(base: Path, folder: Path) -> Path:
    """The left thigh gyroscope at 1e9 rad/s for half a second in the hold."""
    out = _copy(base, folder, "gyro_1e9.h5")
    with h5py.File(out, "r+") as f:
        t = f["sensors/thigh_left/time_s"][()]
        rows = np.flatnonzero((t >= 10.0) & (t < 10.5))
        f["sensors/thigh_left/gyr_rad_s"][rows[0] : rows[-1] + 1] = 1e9
    return out


# --- recordings: structure and bytes --------------------------------------------------


def hdf5_signature_then_garbage(base: Path, folder: Path) -> Path:
    out = folder / "signature_garbage.h5"
    out.write_bytes(b"\x89HDF\r\n\x1a\n" + np.random.default_rng(0).bytes(4000))
    return out


def cut_to_8_bytes(base: Path, folder: Path) -> Path:
    out = folder / "cut_8_bytes.h5"
    out.write_bytes(base.read_bytes()[:8])
    return out


def cut_in_half(base: Path, folder: Path) -> Path:
    out = folder / "cut_half.h5"
    data = base.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def empty_file(base: Path, folder: Path) -> Path:
    out = folder / "empty.h5"
    out.write_bytes(b"")
    return out


def text_file(base: Path, folder: Path) -> Path:
    out = folder / "text.h5"
    out.write_text("not a recording\n[/] \x1b[2J\n")
    return out


def folder_named_h5(base: Path, folder: Path) -> Path:
    out = folder / "folder.h5"
    out.mkdir(exist_ok=True)
    return out


def soft_link_to_itself(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "soft_link_self.h5")
    with h5py.File(out, "r+") as f:
        del f["sensors/pelvis/acc_m_s2"]
        f["sensors/pelvis/acc_m_s2"] = h5py.SoftLink("/sensors/pelvis/acc_m_s2")
    return out


def external_link(base: Path, folder: Path) -> Path:
    """/sensors/pelvis/acc_m_s2 is an ExternalLink into another recording."""
    other = _copy(base, folder, "external_target.hdf")
    out = _copy(base, folder, "external_link.h5")
    with h5py.File(out, "r+") as f:
        del f["sensors/pelvis/acc_m_s2"]
        f["sensors/pelvis/acc_m_s2"] = h5py.ExternalLink(other.name, "/sensors/pelvis/acc_m_s2")
    return out


def format_version_1_9(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "format_version_1_9.h5")
    with h5py.File(out, "r+") as f:
        f.attrs["format_version"] = 1.9
    return out


def bad_nominal_rate(base: Path, folder: Path) -> Path:
    out = _copy(base, folder, "bad_nominal_rate.h5")
    with h5py.File(out, "r+") as f:
        f["sensors/pelvis"].attrs["nominal_rate_hz"] = "fast"
    return out


def declared_10_gb(base: Path, folder: Path) -> Path:
    """A small file whose pelvis datasets declare ~10 GB (unwritten chunks read as fill)."""
    out = _copy(base, folder, "declared_10gb.h5")
    n = 400_000_000
    with h5py.File(out, "r+") as f:
        g = f["sensors/pelvis"]
        for name in ("time_s", "acc_m_s2", "gyr_rad_s", "seq"):
            del g[name]
        g.create_dataset("time_s", shape=(n,), dtype="f8", chunks=(65536,))
        g.create_dataset("acc_m_s2", shape=(n, 3), dtype="f4", chunks=(65536, 3))
        g.create_dataset("gyr_rad_s", shape=(n, 3), dtype="f4", chunks=(65536, 3))
    return out


def fifo_named_h5(base: Path, folder: Path) -> Path:
    out = folder / "fifo.h5"
    if not out.exists():
        os.mkfifo(out)
    return out


def cues_with_markup(base: Path, folder: Path) -> Path:
    """Live cues whose rule and task texts are markup and terminal escapes, plus a NaN row."""
    out = _copy(base, folder, "cues_markup.h5")
    with h5py.File(out, "r+") as f:
        cues = f["cues"]
        rows = np.zeros(3, cues.dtype)
        for i, time_s in enumerate((10.0, 11.0, 12.0)):
            rows[i] = (time_s, MARKUP_ATHLETE.encode()[:96], b"pelvic_drop_deg", 6.0, 5.0,
                       ANSI_ATHLETE.encode()[:32], b"<b>left</b>")
        rows[1]["value"] = np.nan
        cues.resize(3, axis=0)
        cues[:] = rows
        f.attrs["cue_rules"] = np.array(
            [MARKUP_ATHLETE, ANSI_ATHLETE, "<script>alert(1)</script>"],
            dtype=h5py.string_dtype(),
        )
    return out


def cues_malformed(base: Path, folder: Path) -> Path:
    """A foreign ``/cues`` (2-D floats) and a ``cue_rules`` that is a number."""
    out = _copy(base, folder, "cues_malformed.h5")
    with h5py.File(out, "r+") as f:
        if "cues" in f:
            del f["cues"]
        f.create_dataset("cues", data=np.ones((4, 7)))
        f.attrs["cue_rules"] = 5
    return out


RECORDINGS: dict[str, Callable[[Path, Path], Path]] = {
    "markup_in_file_name": markup_in_file_name,
    "markup_in_attributes": markup_in_attributes,
    "control_chars_in_attributes": control_chars_in_attributes,
    "emoji_code_athlete": emoji_code_athlete,
    "formula_athlete": formula_athlete,
    "clock_jump_day": clock_jump_day,
    "clock_jump_day_one_sensor": clock_jump_day_one_sensor,
    "clock_jump_1e6": clock_jump_1e6,
    "clock_jump_1e12": clock_jump_1e12,
    "gap_one_hour_one_sensor": gap_one_hour_one_sensor,
    "time_backwards": time_backwards,
    "duplicate_times": duplicate_times,
    "nan_samples": nan_samples,
    "tasks_outside_recording": tasks_outside_recording,
    "one_sample_per_sensor": one_sample_per_sensor,
    "stuck_accelerometer": stuck_accelerometer,
    "saturated_gyroscope": saturated_gyroscope,
    "hdf5_signature_then_garbage": hdf5_signature_then_garbage,
    "cut_to_8_bytes": cut_to_8_bytes,
    "cut_in_half": cut_in_half,
    "empty_file": empty_file,
    "text_file": text_file,
    "folder_named_h5": folder_named_h5,
    "soft_link_to_itself": soft_link_to_itself,
    "external_link": external_link,
    "format_version_1_9": format_version_1_9,
    "bad_nominal_rate": bad_nominal_rate,
    "declared_10_gb": declared_10_gb,
    "fifo_named_h5": fifo_named_h5,
    "cues_with_markup": cues_with_markup,
    "cues_malformed": cues_malformed,
}


# --- metrics JSON (report, compare) -----------------------------------------------------


def metrics_documents(good: dict, folder: Path) -> dict[str, Path]:
    """Hostile metrics files derived from a good metrics document ``good``."""
    out: dict[str, Path] = {}

    def put(name: str, content: str | bytes) -> None:
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        out[name] = path

    put("not_json.json", "{ this is not json [/]")
    put("empty.json", "")
    put("invalid_utf8.json", b'{"format": "\xff\xfe"}')
    put("a_list.json", "[1, 2, 3]")
    put("deep.json", "[" * 100_000 + "]" * 100_000)
    wrong = json.loads(json.dumps(good))
    wrong["tasks"] = "not a list"
    put("tasks_wrong_type.json", json.dumps(wrong))
    wrong = json.loads(json.dumps(good))
    wrong["recording"]["duration_s"] = "long"
    wrong["tasks"][0]["metrics"] = [1, 2]
    put("fields_wrong_type.json", json.dumps(wrong))
    markup = json.loads(json.dumps(good))
    markup["recording"]["athlete"] = MARKUP_ATHLETE + ANSI_ATHLETE
    markup["recording"]["file_name"] = "[/]x.h5"
    put("markup [bold] athlete.json", json.dumps(markup))
    return out


METRICS_NAMES = (
    "not_json.json",
    "empty.json",
    "invalid_utf8.json",
    "a_list.json",
    "deep.json",
    "tasks_wrong_type.json",
    "fields_wrong_type.json",
    "markup [bold] athlete.json",
)
"""What ``metrics_documents`` writes."""


# --- kits (record, live) ------------------------------------------------------------------


def kit_files(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}

    def put(name: str, content: str | bytes) -> None:
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        out[name] = path

    sensor = '[[sensor]]\nplacement = "{p}"\nname = "{n}"\nprofile = "{pr}"\n'
    put("empty_kit.toml", 'name = "no sensors"\n')
    put("markup_placement.toml", sensor.format(p="[/]pelvis", n="X", pr="hipscope_open"))
    put("markup_name.toml", sensor.format(p="pelvis", n="[/]\\u001b[2J", pr="hipscope_open"))
    put("invalid_utf8.toml", b'name = "\xff\xfe"\n')
    put("deep_nesting.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    put("profile_traversal.toml", sensor.format(p="pelvis", n="X", pr="../../../../etc/passwd"))
    put("profile_absolute.toml", sensor.format(p="pelvis", n="X", pr="/etc/hostname"))
    fifo = folder / "profile_fifo.toml"
    if not fifo.exists():
        os.mkfifo(fifo)
    put("profile_is_fifo.toml", sensor.format(p="pelvis", n="X", pr=str(fifo)))
    put("kit [bold] name.toml", sensor.format(p="pelvis", n="X", pr="hipscope_open"))
    one_sensor = sensor.format(p="pelvis", n="X", pr="hipscope_open")
    put("bad_cue_rule.toml", 'cues = ["[bold]knee_valgus_deg>5"]\n' + one_sensor)
    return out


KIT_NAMES = (
    "empty_kit.toml",
    "markup_placement.toml",
    "markup_name.toml",
    "invalid_utf8.toml",
    "deep_nesting.toml",
    "profile_traversal.toml",
    "profile_absolute.toml",
    "kit [bold] name.toml",
    "bad_cue_rule.toml",
)
"""What ``kit_files`` writes, but for ``profile_is_fifo.toml`` (it can block a reader)."""


# --- batch folders ----------------------------------------------------------------------


def batch_folder(base: Path, folder: Path) -> dict[str, Path]:
    """A library with a good file, CSV-injection names, twin bad files and bad symlinks."""
    lib = folder / "library [" / "x]"
    lib.mkdir(parents=True, exist_ok=True)
    made = {
        "good": _copy(base, lib, "good.h5"),
        "formula": formula_athlete(base, lib),
        "markup": markup_in_attributes(base, lib),
        "twin_bad_a": lib / "twin_bad_a.h5",
        "twin_bad_b": lib / "twin_bad_b.h5",
        "self_loop": lib / "loop.h5",
        "dangling": lib / "dangling.h5",
    }
    for twin in ("twin_bad_a", "twin_bad_b"):
        made[twin].write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    if not made["self_loop"].is_symlink():
        made["self_loop"].symlink_to(made["self_loop"].name)
    if not made["dangling"].is_symlink():
        made["dangling"].symlink_to("no_such_target.h5")
    return made


def write_all(folder: Path) -> dict[str, Path]:
    """Every hostile recording, kit and batch library into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    base = base_recording(folder / "base.h5")
    made = {name: build(base, folder) for name, build in RECORDINGS.items()}
    kits = folder / "kits"
    kits.mkdir(exist_ok=True)
    made.update(kit_files(kits))
    made.update({f"batch_{k}": v for k, v in batch_folder(base, folder).items()})
    return made


if __name__ == "__main__":
    for name, path in write_all(Path(sys.argv[1])).items():
        print(f"{name:32s} {path}")
