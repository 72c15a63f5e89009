"""The report's headline numbers: one pelvic-drop difference, an honest hip-lead verdict, ±."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hipscope.processing.report.html import render_report
from hipscope.processing.uncertainty import UNCERTAINTY, plus_minus, study_note

FIXTURE = Path(__file__).parent / "data" / "report" / "metrics_example.json"
HEADLINE_KEYS = (
    "pelvic_drop_mean_deg",
    "pelvic_drop_lr_diff_deg",
    "trunk_lean_mean_deg",
    "hip_lead_ms_median",
    "step_time_si_pct",
)


@pytest.fixture
def doc() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _task(doc: dict[str, Any], kind: str, side: str | None = None) -> dict[str, Any]:
    return next(
        t for t in doc["tasks"] if t["kind"] == kind and (side is None or t["side"] == side)
    )


def _glance(html: str) -> str:
    return html[html.index('<section id="glance">') : html.index("</section>")]


def test_the_study_covers_every_headline_metric() -> None:
    for key in HEADLINE_KEYS:
        found = UNCERTAINTY[key]
        assert 0.0 < found.half_width < 100.0 and abs(found.bias) < found.half_width
    assert plus_minus("trunk_lean_mean_deg", 1, "°").startswith("± ")
    assert plus_minus("hold_s", 1, "s") is None
    assert "sessions" in study_note() and "30°" in study_note()
    # the study simulated hinges only: squats and bridges get no borrowed ±
    assert plus_minus("hip_lead_ms_median", 0, "ms", "hip_hinge") is not None
    for kind in ("squat", "bridge", None):
        assert plus_minus("hip_lead_ms_median", 0, "ms", kind) is None


def test_no_hinge_plus_minus_beside_a_squat_lead(doc: dict[str, Any]) -> None:
    hinge = _task(doc, "hip_hinge")
    squat = json.loads(json.dumps(hinge))
    squat["kind"] = "squat"
    squat["metrics"]["hip_lead_ms_median"] = 61.0
    hinge["metrics"]["hip_lead_ms_median"] = 47.0
    doc["tasks"].append(squat)
    glance = _glance(render_report(doc))
    hinge_pm = plus_minus("hip_lead_ms_median", 0, "ms", "hip_hinge")
    assert hinge_pm is not None and "Hip lead (Squat)" in glance
    assert glance.count(hinge_pm) == 1  # beside the hinge's lead, not the squat's


def test_the_glance_card_compares_mean_drops_not_peaks(doc: dict[str, Any]) -> None:
    for side, mean, peak in (("left", 3.0, 9.0), ("right", 5.5, 6.0)):
        metrics = _task(doc, "single_leg_stance", side)["metrics"]
        metrics["pelvic_drop_mean_deg"], metrics["pelvic_drop_peak_deg"] = mean, peak
    glance = _glance(render_report(doc))
    assert "3.0°" in glance and "5.5°" in glance and "9.0°" not in glance
    assert "left − right −2.5°" in glance and "steady hold" in glance
    assert plus_minus("pelvic_drop_mean_deg", 1, "°") in glance


@pytest.mark.parametrize(
    ("verdict", "shown"), [("unclear", "unclear"), ("hips first", "hips first")]
)
def test_the_hip_lead_card_says_what_the_evidence_supports(
    doc: dict[str, Any], verdict: str, shown: str
) -> None:
    metrics = _task(doc, "hip_hinge")["metrics"]
    metrics.update(
        {
            "hip_lead_ms_median": 8.0 if verdict == "unclear" else 45.0,
            "valid_rep_count": 4,
            "rep_count": 5,
            "hip_lead_ms_q1": -10.0,
            "hip_lead_ms_q3": 30.0,
            "hip_lead_zone_ms": 22.0,
            "hip_lead_verdict": verdict,
        }
    )
    html = render_report(doc)
    glance = _glance(html)
    assert "4 of 5 repetitions" in glance and f": {shown} (within ±22 ms of 0" in glance
    assert plus_minus("hip_lead_ms_median", 0, "ms", "hip_hinge") in glance
    if verdict == "unclear":
        assert "hips first" not in glance
    assert re.search(r"Who leads</td><td class=\"num\">" + shown, html)


def test_the_step_time_si_carries_its_real_walker_error(doc: dict[str, Any]) -> None:
    """The SI's ± is the real-walker error (IPOL), several times the simulation's, and the
    report and the review window say which ± rests on real people."""
    si = UNCERTAINTY["step_time_si_pct"]
    assert si.basis == "real walkers" and si.half_width > 5.0
    assert all(u.basis in ("simulation", "real walkers") for u in UNCERTAINTY.values())
    html = render_report(doc)
    glance = _glance(html)
    assert "against foot-sensor contacts on 110 real walks" in glance
    assert "For the step-time symmetry index" in glance
    assert plus_minus("step_time_si_pct", 1, "%") == "± 11.1%"
    assert "± 11.1%" in glance  # beside the walking card's SI


def test_no_pelvis_measured_si_error_beside_thigh_contacts(doc: dict[str, Any]) -> None:
    """The SI's ± was measured with pelvis contacts: a walk timed by the thighs alone
    shows its SI without it (its error there is not known, not the pelvis's)."""
    gait = _task(doc, "gait")
    gait["metrics"]["contact_source"] = "pelvis contacts, thigh sides, pelvis foot-off"
    assert "± 11.1%" in render_report(doc)
    gait["metrics"]["contact_source"] = "thigh peak flexion"
    html = render_report(doc)
    assert "± 11.1%" not in html
    assert plus_minus("step_time_si_pct", 1, "%", "gait", "thigh peak flexion") is None
    assert plus_minus("step_time_si_pct", 1, "%", "gait", "pelvis contacts") == "± 11.1%"
