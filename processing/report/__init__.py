"""Coaching review: the HTML report of one session, the session history, and their plots.

Public API:

- ``html.render_report(analysis_or_metrics, athlete=None) -> str`` and ``html.write_report``:
  one self-contained HTML file (inline CSS and SVG, no JavaScript) from a
  ``processing.pipeline.SessionAnalysis`` or a metrics document (``processing/contract.py``),
  rendered from the jinja2 templates in ``templates/`` with autoescaping.
- ``compare.write_comparison(paths, out, athlete=None)``: the same athlete across sessions
  (recordings or metrics JSON), sorted by date, with trends and minimal-detectable-change marks.
- ``plots.line_chart(...)``: the small SVG chart builder both pages use.
- ``references``: the literature reference values the report cites (no made-up norms).
- ``chromium``: headless Chromium for ``--pdf``, screenshots and browser checks.
"""
