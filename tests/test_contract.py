"""The metrics contract: typed models, one-line reading errors, the published JSON Schema."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hipscope.cli import main
from hipscope.processing.config import AnalysisConfig
from hipscope.processing.contract import (
    FORMAT_VERSION,
    GaitMetrics,
    HipDriveMetrics,
    MetricsDocument,
    MetricsError,
    StaticMetrics,
    metrics_json_schema,
    parse_metrics,
    read_metrics,
    schema_text,
    write_metrics,
)
from hipscope.processing.pipeline import analyze_recording

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "docs" / "metrics.schema.json"
FIXTURES = sorted((ROOT / "tests" / "data").rglob("*metrics*.json"))
SAMPLE = ROOT / "recordings" / "sample_screen.h5"


@pytest.fixture(scope="module")
def sample_doc() -> dict[str, Any]:
    return analyze_recording(SAMPLE).to_dict()


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_published_schema_is_the_generated_one() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == schema_text(), (
        "docs/metrics.schema.json is stale: python -m hipscope.processing.contract > "
        "docs/metrics.schema.json"
    )
    schema = metrics_json_schema()
    assert schema["properties"]["format_version"]["const"] == FORMAT_VERSION
    assert "parameters" in schema["properties"]


def test_every_fixture_follows_the_contract_and_the_schema() -> None:
    assert FIXTURES, "no metrics fixtures found"
    validator = _validator()
    for path in FIXTURES:
        document = read_metrics(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert not list(validator.iter_errors(raw)), path
        assert document.to_dict() == {k: v for k, v in raw.items()}, path


def test_the_pipeline_writes_what_the_schema_describes(
    sample_doc: dict[str, Any], tmp_path: Path
) -> None:
    """An independent validator (jsonschema) accepts the pipeline's file; the typed reader
    gives each kind its model, and writing then reading changes nothing."""
    assert not list(_validator().iter_errors(sample_doc))
    out = write_metrics(parse_metrics(sample_doc), tmp_path / "m.json")
    document = read_metrics(out)
    assert document.to_dict() == sample_doc
    models = [type(t.metrics) for t in document.tasks]
    assert models[0] is StaticMetrics and HipDriveMetrics in models and GaitMetrics in models
    # the effective parameters of every algorithm, defaults included
    assert document.parameters == AnalysisConfig().parameters()
    assert json.loads(out.read_text())["parameters"]["hip_drive"]["segmenter"]


def test_a_version_1_file_without_parameters_stays_readable(sample_doc: dict[str, Any]) -> None:
    old = copy.deepcopy(sample_doc)
    del old["parameters"]
    document = parse_metrics(old)
    assert isinstance(document, MetricsDocument) and document.parameters == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["tasks"][3]["metrics"].update(rep_count="5"),
            "field 'tasks[3].metrics.rep_count' expected an integer, got '5'",
        ),
        (
            lambda d: d["tasks"][0]["metrics"].update(pelvis_tilt_deg=1.0),
            "field 'tasks[0].metrics.pelvis_tilt_deg' is not a field of the contract",
        ),
        (
            lambda d: d["recording"].update(duration_s="long"),
            "field 'recording.duration_s' expected a number, got 'long'",
        ),
        (lambda d: d["recording"].pop("athlete"), "field 'recording.athlete' is missing"),
        (lambda d: d["tasks"][1].update(side="up"), "field 'tasks[1].side' expected 'left'"),
        (lambda d: d["tasks"][2].update(kind="plank"), "field 'tasks[2].kind' must be one of"),
        (lambda d: d.update(format_version=7), "field 'format_version' must be one of 1"),
        (lambda d: d.update(format="other"), "field 'format' must be 'hipscope-metrics'"),
        (lambda d: d["parameters"].update(gait=3), "field 'parameters.gait' expected a"),
    ],
)
def test_bad_documents_give_one_line_naming_file_and_field(
    sample_doc: dict[str, Any], tmp_path: Path, change: Any, message: str
) -> None:
    bad = copy.deepcopy(sample_doc)
    change(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(MetricsError) as error:
        read_metrics(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_unreadable_files_give_one_line(tmp_path: Path) -> None:
    cases = {
        "missing.json": (None, "no such file"),
        "broken.json": ("{not json", "not a JSON file (line 1, column 2"),
        "nan.json": ('{"format": NaN}', "NaN is not a JSON number"),
        "list.json": ("[1, 2]", "field 'format' must be"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(MetricsError, match=re.escape(message)):
            read_metrics(path)


def test_report_cli_on_wrongly_typed_metrics_prints_one_line(
    sample_doc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = copy.deepcopy(sample_doc)
    bad["tasks"][4]["metrics"]["step_time_si_pct"] = "high"
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(bad))
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "wrong.json" in err and "tasks[4].metrics.step_time_si_pct" in err
