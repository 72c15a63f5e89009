"""Report references is quoted in docs/REFERENCES.md; nothing unverified is coloured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hipscope.processing.report import references
from hipscope.processing.report.labels import LABELS
from hipscope.processing.report.references import (
    CITATIONS,
    NO_NORM_TEXT,
    REFERENCES,
    Reference,
    reference_for,
    reference_text,
    verdict_for,
    verified_norms,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "REFERENCES.md"
NUMBER = re.compile(r"\d+(?:\.\d+)?")
# metric keys the report judges that are not plain metric labels
JUDGED_KEYS = ("pelvic_drop_lr_diff_deg", "pelvic_drop_change_deg", "step_time_si_pct")


def _sections(text: str) -> dict[str, str]:
    """Each ``### `key``` section of docs/REFERENCES.md, up to the next heading."""
    parts = re.split(r"^#{2,3} ", text, flags=re.MULTILINE)
    sections = {}
    for part in parts:
        match = re.match(r"`([a-z0-9_]+)`\s*\n", part)
        if match:
            sections[match.group(1)] = part
    return sections


def _quotes(section: str) -> str:
    """The quoted text of a section: its blockquote lines joined."""
    return " ".join(line[1:].strip() for line in section.splitlines() if line.startswith(">"))


@pytest.fixture(scope="module")
def sections() -> dict[str, str]:
    return _sections(DOC.read_text(encoding="utf-8"))


def test_every_citation_has_a_section_with_a_quoted_sentence(sections: dict[str, str]) -> None:
    assert CITATIONS, "the report cites nothing: then this test guards nothing"
    for key, citation in CITATIONS.items():
        assert key in sections, f"{key}: no section in docs/REFERENCES.md"
        quotes = _quotes(sections[key])
        assert re.search(r'"[^"]{20,}"', quotes), f"{key}: no quoted sentence"
        year = re.search(r"\b(19|20)\d\d\b", citation.short)
        assert year and year.group(0) in sections[key], f"{key}: year differs from the doc"


def test_every_number_a_reference_shows_is_in_a_quote_of_its_source(
    sections: dict[str, str],
) -> None:
    for metric, ref in REFERENCES.items():
        assert ref.citations, f"{metric}: a reference without a source"
        quoted = " ".join(_quotes(sections[key]) for key in ref.citations)
        for number in NUMBER.findall(ref.text):
            assert number in quoted, f"{metric}: {number} is not in a quote of {ref.citations}"
        if ref.upper_abs is not None:
            limit = f"{ref.upper_abs:g}"
            assert limit in quoted, f"{metric}: threshold {limit} is not quoted"
            assert f"`{metric}`" in DOC.read_text(encoding="utf-8"), f"{metric}: no norm row"


def test_unverified_metrics_get_no_verdict_colour() -> None:
    norms = verified_norms()
    for metric in (*LABELS, *JUDGED_KEYS):
        if metric in norms:
            continue
        for value in (-1e6, -5.0, 0.0, 5.0, 1e6):
            assert verdict_for(metric, value) == "neutral", metric
    # the removed, unverifiable thresholds stay removed
    for metric in JUDGED_KEYS:
        assert metric not in norms
        assert reference_text(metric) == NO_NORM_TEXT


def test_removed_sources_are_no_longer_cited() -> None:
    for key in ("dimattia2005", "patterson2008", "milosavljevic2008", "voisard2023"):
        assert key not in CITATIONS
    texts = " ".join(r.text for r in REFERENCES.values())
    texts += " ".join(c.full for c in CITATIONS.values())
    for claim in ("minimal detectable", "healthy |SI|", "1.7", "83 ±", "weak hip abductors"):
        assert claim not in texts


def test_context_text_is_shown_without_colour() -> None:
    ref = reference_for("hip_lead_ms_median")
    assert ref is not None and ref.upper_abs is None
    assert verdict_for("hip_lead_ms_median", -300.0) == "neutral"
    assert "not a hinge" in reference_text("hip_lead_ms_median")
    assert reference_for("no_such_metric") is None
    assert reference_text("no_such_metric") == NO_NORM_TEXT


def test_a_verified_norm_colours_and_needs_a_source(monkeypatch: pytest.MonkeyPatch) -> None:
    norm = Reference("step_time_si_pct", "test norm", ("siebers2021",), upper_abs=5.0)
    monkeypatch.setitem(references.REFERENCES, "step_time_si_pct", norm)
    assert verified_norms() == {"step_time_si_pct": norm}
    assert verdict_for("step_time_si_pct", 4.9) == "typical"
    assert verdict_for("step_time_si_pct", -5.1) == "watch"
    assert verdict_for("step_time_si_pct", None) == "neutral"
    assert verdict_for("step_time_si_pct", float("nan")) == "neutral"
    with pytest.raises(ValueError, match="needs a source"):
        Reference("x_deg", "unsourced", (), upper_abs=4.0)
    with pytest.raises(ValueError, match="unknown citation"):
        Reference("x_deg", "made up", ("nobody2099",))


def test_the_coach_guide_cites_only_documented_sources() -> None:
    guide = (DOC.parent / "COACH_GUIDE.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r"REFERENCES\.md#([a-z0-9_]+)", guide))
    assert anchors, "the coach guide points at no source"
    assert anchors <= set(CITATIONS), anchors - set(CITATIONS)
    for removed in ("DiMattia", "Patterson", "Milosavljevic", "minimal detectable", "weak hip"):
        assert removed not in guide
