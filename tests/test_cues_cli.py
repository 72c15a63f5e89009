"""Cue rules from kit files and from `hipscope live --cue`: validated up front, combined
(kit first, duplicates once) and handed to the live window and the recorder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hipscope.acquisition.kit import load_kit
from hipscope.base.errors import KitError
from hipscope.cli import main

EXAMPLE_KIT = Path(__file__).parents[1] / "firmware_configs" / "example_kit.toml"
SENSOR = '[[sensor]]\nplacement = "pelvis"\nname = "P"\nprofile = "hipscope_open"\n'


def _kit(tmp_path: Path, cues: str) -> Path:
    path = tmp_path / "kit.toml"
    path.write_text(f"cues = {cues}\n{SENSOR}", encoding="utf-8")
    return path


def test_the_example_kit_carries_rules() -> None:
    kit = load_kit(EXAMPLE_KIT)
    assert [r.text for r in kit.cue_rules] == ["pelvic_drop_deg>5", "|step_time_si_pct|>8"]


def test_kit_rules_are_parsed_and_deduplicated(tmp_path: Path) -> None:
    kit = load_kit(_kit(tmp_path, '["trunk_lean_deg > 8", "trunk_lean_deg>8", "hip_lead_ms<0"]'))
    assert [r.text for r in kit.cue_rules] == ["trunk_lean_deg>8", "hip_lead_ms<0"]
    assert load_kit(tmp_path / "kit.toml").cue_rules[1].op == "<"
    path = tmp_path / "none.toml"
    path.write_text(SENSOR, encoding="utf-8")
    assert load_kit(path).cue_rules == ()


@pytest.mark.parametrize(
    ("cues", "message"),
    [
        ('["pelvic_drop_deg>5", "knee_valgus_deg>5"]', "cues[1]: cue rule 'knee_valgus_deg>5'"),
        ('["pelvic_drop_deg"]', "cues[0]: cue rule 'pelvic_drop_deg': expected METRIC OP"),
        ('"pelvic_drop_deg>5"', "cues"),
        ("[5]", "cues[0]"),
    ],
)
def test_a_bad_kit_rule_is_one_line_naming_file_and_rule(
    tmp_path: Path, cues: str, message: str
) -> None:
    with pytest.raises(KitError) as caught:
        load_kit(_kit(tmp_path, cues))
    text = str(caught.value)
    assert text.startswith("kit.toml: ") and message in text and "\n" not in text


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`hipscope live` up to the window: run_live records what it was given."""
    from hipscope.gui import app

    seen: dict[str, Any] = {}

    def fake_run_live(acquisition: Any, **kwargs: Any) -> int:
        seen["acquisition"] = acquisition
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(app, "run_live", fake_run_live)
    return seen


def test_live_combines_kit_rules_and_cue_options(
    tmp_path: Path, captured: dict[str, Any]
) -> None:
    kit = _kit(tmp_path, '["pelvic_drop_deg>5", "trunk_lean_deg>8"]')
    argv = ["live", "--kit", str(kit), "--cue", "hip_lead_ms<0", "--cue", "pelvic_drop_deg > 5"]
    assert main(argv) == 0
    texts = [r.text for r in captured["cue_rules"]]
    assert texts == ["pelvic_drop_deg>5", "trunk_lean_deg>8", "hip_lead_ms<0"]
    assert captured["acquisition"].cue_rules == tuple(texts)  # stored with recordings


def test_live_virtual_takes_cue_options(captured: dict[str, Any]) -> None:
    assert main(["live", "--virtual", "--cue", "|step_time_si_pct|>8~2"]) == 0
    assert [r.text for r in captured["cue_rules"]] == ["|step_time_si_pct|>8~2"]
    assert main(["live", "--virtual"]) == 0
    assert captured["cue_rules"] == ()


@pytest.mark.parametrize("rule", ["knee>5", "pelvic_drop_deg>>5", "[bold]x>1", "x" * 300])
def test_live_refuses_a_bad_cue_in_one_line(
    rule: str, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["live", "--virtual", "--cue", rule]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --cue: cue rule"), err
    assert "Traceback" not in err
    assert not captured  # the window never opened


def test_live_refuses_a_kit_with_a_bad_rule(
    tmp_path: Path, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    kit = _kit(tmp_path, '["pelvic_drop >5"]')
    assert main(["live", "--kit", str(kit)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "kit.toml: cues[0]" in err, err
    assert not captured
