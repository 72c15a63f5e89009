"""The analysis configuration: TOML in, algorithms out, parameters in the metrics JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hipscope.acquisition.simulator import RepetitionSpec, StaticSpec, simulate
from hipscope.cli import main
from hipscope.processing.config import AnalysisConfig, AnalysisConfigError
from hipscope.processing.metrics.hip_drive import HipDrive
from hipscope.processing.pipeline import analyze_file

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "analysis.example.toml"


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "hinge.h5"
    simulate([StaticSpec(duration_s=3.0), RepetitionSpec(reps=3)], seed=11).write(path)
    return path


def test_example_file_lists_every_parameter_with_its_default() -> None:
    with EXAMPLE.open("rb") as handle:
        tables = tomllib.load(handle)
    defaults = AnalysisConfig().parameters()
    assert json.loads(json.dumps(tables)) == defaults
    loaded = AnalysisConfig.load(EXAMPLE)
    assert loaded.parameters() == defaults
    assert loaded.parameters_hash() == AnalysisConfig().parameters_hash()


def test_parameters_of_every_algorithm_with_defaults() -> None:
    config = AnalysisConfig()
    params = config.parameters()
    assert list(params) == [
        "pelvic_stability",
        "hip_drive",
        "gait_events",
        "gait_refinement",
        "straight_walking",
        "gait_symmetry",
        "step_asymmetry",
        "walking_pelvis",
        "task_detection",
    ]
    assert params["hip_drive"] == HipDrive().params_json()
    assert params["hip_drive"]["segmenter"]["min_range_deg"] == 15.0
    assert params["gait_events"]["pelvis"]["band_hz"] == [0.15, 3.14]
    assert json.loads(json.dumps(params)) == params  # plain JSON data


def test_a_partial_file_overrides_only_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(
        "[hip_drive]\nlowpass_hz = 5\n\n[hip_drive.segmenter]\nmin_range_deg = 10.5\n\n"
        "[gait_events.pelvis]\nband_hz = [0.2, 3]\n"
    )
    config = AnalysisConfig.load(path)
    assert config.hip_drive.lowpass_hz == 5.0 and isinstance(config.hip_drive.lowpass_hz, float)
    assert config.hip_drive.segmenter.min_range_deg == 10.5
    assert config.gait_events.pelvis.band_hz == (0.2, 3.0)
    expected = AnalysisConfig().parameters()
    expected["hip_drive"]["lowpass_hz"] = 5.0
    expected["hip_drive"]["segmenter"]["min_range_deg"] = 10.5
    expected["gait_events"]["pelvis"]["band_hz"] = [0.2, 3.0]
    assert config.parameters() == expected


def test_hash_follows_the_values_not_the_spelling() -> None:
    default = AnalysisConfig().parameters_hash()
    assert AnalysisConfig.from_parameters({"hip_drive": {"lowpass_hz": 6}}).parameters_hash() == (
        default
    )  # 6 and 6.0 are the same parameter
    reordered = dict(reversed(list(AnalysisConfig().parameters().items())))
    assert AnalysisConfig.from_parameters(reordered).parameters_hash() == default
    seen = {default}
    for tables in (
        {"hip_drive": {"lowpass_hz": 6.5}},
        {"hip_drive": {"segmenter": {"margin_s": 1.5}}},
        {"gait_events": {"pelvis": {"band_hz": [0.15, 3.0]}}},
        {"gait_events": {"thigh_contact_delay_s": 0.01}},
        {"gait_symmetry": {"harmonics": 19}},
        {"straight_walking": {"max_turn_rate_deg_s": 30.0}},
        {"pelvic_stability": {"hold": {"lift_threshold_deg": 12.0}}},
    ):
        digest = AnalysisConfig.from_parameters(tables).parameters_hash()
        assert digest not in seen, tables
        seen.add(digest)


def test_hash_is_the_same_in_a_fresh_process() -> None:
    code = (
        "from hipscope.processing.config import AnalysisConfig as C; "
        "print(C().parameters_hash(), C.from_parameters({'hip_drive': {'lowpass_hz': 4}})"
        ".parameters_hash())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    here = AnalysisConfig.from_parameters({"hip_drive": {"lowpass_hz": 4.0}}).parameters_hash()
    assert out == [AnalysisConfig().parameters_hash(), here]


def test_parameters_from_a_metrics_file_rebuild_the_configuration() -> None:
    config = AnalysisConfig.from_parameters(
        {"hip_drive": {"segmenter": {"min_range_deg": 9.0}}, "gait_symmetry": {"harmonics": 10}}
    )
    again = AnalysisConfig.from_parameters(json.loads(json.dumps(config.parameters())))
    assert again.parameters() == config.parameters()
    assert again.parameters_hash() == config.parameters_hash()


BAD: list[tuple[str, str, str]] = [
    ("[hip_drve]\nlowpass_hz = 1.0\n", "hip_drve", "unknown algorithm"),
    ("[hip_drive]\nlowpas_hz = 1.0\n", "hip_drive.lowpas_hz", "no parameter"),
    ("[hip_drive.segmenter]\nmin_rang_deg = 1.0\n", "hip_drive.segmenter.min_rang_deg", "no "),
    ('[hip_drive]\nlowpass_hz = "6"\n', "hip_drive.lowpass_hz", "expected a number"),
    ("[hip_drive]\nlowpass_hz = true\n", "hip_drive.lowpass_hz", "expected a number"),
    ("[hip_drive]\nlowpass_hz = 0.0\n", "hip_drive.lowpass_hz", "above 0 Hz"),
    ("[hip_drive]\nlowpass_hz = nan\n", "hip_drive.lowpass_hz", "finite"),
    ("[gait_symmetry]\nharmonics = 2.5\n", "gait_symmetry.harmonics", "whole number"),
    ("[gait_events.pelvis]\nband_hz = [1.0]\n", "gait_events.pelvis.band_hz", "list of 2"),
    ('[gait_events.pelvis]\nband_hz = [1, "x"]\n', "gait_events.pelvis.band_hz", "number"),
    ("[hip_drive]\nsegmenter = 3\n", "hip_drive.segmenter", "table of RepetitionSegmenter"),
    ("hip_drive = 3\n", "hip_drive", "table of HipDrive"),
    ("[hip_drive\n", "", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD)
def test_bad_files_are_refused_with_one_line_naming_file_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = tmp_path / "analysis.toml"
    path.write_text(text)
    with pytest.raises(AnalysisConfigError) as caught:
        AnalysisConfig.load(path)
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: {key}") and message in line


def test_missing_file_and_unreadable_text(tmp_path: Path) -> None:
    with pytest.raises(AnalysisConfigError, match="no such file"):
        AnalysisConfig.load(tmp_path / "nope.toml")
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AnalysisConfigError, match="cannot read"):
        AnalysisConfig.load(binary)


def test_the_metrics_json_holds_the_effective_parameters_and_they_act(recording: Path) -> None:
    default = analyze_file(recording)
    assert default["parameters"] == AnalysisConfig().parameters()
    hinge = next(t for t in default["tasks"] if t["kind"] == "hip_hinge")
    assert hinge["metrics"]["rep_count"] == 3
    strict = AnalysisConfig.from_parameters({"hip_drive": {"segmenter": {"min_range_deg": 500}}})
    doc = analyze_file(recording, strict)
    assert doc["parameters"]["hip_drive"]["segmenter"]["min_range_deg"] == 500.0
    assert doc["parameters"]["gait_symmetry"] == default["parameters"]["gait_symmetry"]
    hinge = next(t for t in doc["tasks"] if t["kind"] == "hip_hinge")
    assert hinge["metrics"]["rep_count"] == 0
    # everything else is untouched
    assert doc["tasks"][0] == default["tasks"][0]


def test_cli_analyze_with_config(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[hip_drive]\nmin_velocity_deg_s = 12\n")
    out = tmp_path / "m.json"
    assert main(["analyze", str(recording), "--config", str(good), "--json", str(out)]) == 0
    doc: dict[str, Any] = json.loads(out.read_text())
    assert doc["parameters"]["hip_drive"]["min_velocity_deg_s"] == 12.0
    digest = AnalysisConfig.load(good).parameters_hash()
    assert f"parameters {good} ({digest})" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[hip_drive]\nmin_velocity = 12\n")
    for command in ("analyze", "batch"):
        argv = [command, str(recording), "--config", str(bad)]
        if command == "batch":
            argv += ["--out", str(tmp_path / "t.parquet")]
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"{bad}: hip_drive.min_velocity: HipDrive has no parameter" in err
        assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "t.parquet").exists()
