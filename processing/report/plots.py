"""Small self-contained SVG charts for the HTML report (no JavaScript, no network).

`line_chart` draws lines, points, vertical markers, horizontal reference bands and shaded
vertical spans on one pair of axes and returns an ``<svg>`` element as
``markupsafe.Markup``, which the report templates embed as is. Every text that reaches the
SVG goes through markupsafe's ``escape`` first, so labels may come from users; the
clip-path id is derived from the chart's content, so the same chart gives the same bytes in
every process.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup, escape
from numpy.typing import ArrayLike, NDArray

LEFT_COLOR = "#1f6fb4"
RIGHT_COLOR = "#d9610b"
HIP_COLOR = "#218a3d"
LUMBAR_COLOR = "#7b3fa0"
NEUTRAL_COLOR = "#5b6770"
BAND_COLOR = "#2e9e5b"

_MAX_POINTS = 700
_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


@dataclass(frozen=True)
class Line:
    """A polyline; NaN values break the line (gaps are shown, never bridged)."""

    x: ArrayLike
    y: ArrayLike
    label: str = ""
    color: str = NEUTRAL_COLOR
    width: float = 1.8
    dash: str | None = None


@dataclass(frozen=True)
class Points:
    """Markers at (x, y), optionally joined by a thin line (``joined``)."""

    x: ArrayLike
    y: ArrayLike
    label: str = ""
    color: str = NEUTRAL_COLOR
    shape: str = "circle"  # circle | square | diamond
    radius: float = 3.5
    joined: bool = False


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``x`` with a short label at the top."""

    x: float
    label: str = ""
    color: str = NEUTRAL_COLOR
    dash: str | None = "4 3"
    anchor: str = "start"  # label to the right ("start") or left ("end") of the line


@dataclass(frozen=True)
class Band:
    """A shaded horizontal band from ``low`` to ``high`` (a reference range)."""

    low: float
    high: float
    label: str = ""
    color: str = BAND_COLOR


@dataclass(frozen=True)
class Span:
    """A shaded vertical span from ``start`` to ``end`` on the x axis (e.g. a turn)."""

    start: float
    end: float
    label: str = ""
    color: str = NEUTRAL_COLOR


@dataclass(frozen=True)
class Axes:
    """Axis labels, optional fixed ranges and optional categorical ticks [(x, label)]."""

    x_label: str = ""
    y_label: str = ""
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    x_ticks: Sequence[tuple[float, str]] | None = None
    zero_line: bool = False
    y_min_span: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)


def nice_ticks(low: float, high: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(target, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9 * step:
        ticks.append(0.0 if abs(value) < 1e-12 * step else value)
        value += step
    return ticks


def _fmt_tick(value: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = 0
    while decimals < 4 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0.0 else text.replace("-", "−")


def _decimate(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Keep min and max of each bucket so peaks survive while the file stays small."""
    n = x.size
    if n <= _MAX_POINTS:
        return x, y
    buckets = _MAX_POINTS // 2
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep: list[int] = []
    for a, b in itertools.pairwise(edges):
        if b <= a:
            continue
        chunk = y[a:b]
        if np.all(np.isnan(chunk)):
            keep.append(a)
            continue
        i_min = a + int(np.nanargmin(chunk))
        i_max = a + int(np.nanargmax(chunk))
        keep.extend(sorted({i_min, i_max}))
        if np.any(np.isnan(chunk)):
            keep.append(a + int(np.flatnonzero(np.isnan(chunk))[0]))
    index = np.unique(np.asarray(keep, dtype=int))
    return x[index], y[index]


def _as_float(values: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=float).ravel()
    return array


def _finite_range(arrays: Sequence[NDArray[np.float64]]) -> tuple[float, float] | None:
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return None
    return float(min(a.min() for a in finite)), float(max(a.max() for a in finite))


def line_chart(
    *,
    lines: Sequence[Line] = (),
    points: Sequence[Points] = (),
    markers: Sequence[Marker] = (),
    bands: Sequence[Band] = (),
    spans: Sequence[Span] = (),
    axes: Axes | None = None,
    title: str = "",
    width: int = 560,
    height: int = 230,
) -> Markup:
    """One chart as inline ``<svg>`` markup (sized by ``width``/``height`` in px)."""
    axes = axes or Axes()
    margin_left, margin_right, margin_top, margin_bottom = 56, 14, 30 if title else 14, 44
    series: list[Line | Points] = [*lines, *points]
    legend_items = [
        (item.label, item.color, isinstance(item, Points)) for item in series if item.label
    ]
    legend_items += [(b.label, b.color, False) for b in bands if b.label]
    legend_items += list(dict.fromkeys((v.label, v.color, False) for v in spans if v.label))
    if legend_items:
        margin_top += 18
    plot_w = width - margin_left - margin_right
    plot_h = height - margin_top - margin_bottom

    xs = [_as_float(item.x) for item in series]
    ys = [_as_float(item.y) for item in series]
    x_span = axes.x_range or _finite_range([*xs, np.array([m.x for m in markers], dtype=float)])
    y_extra = [np.array([b.low, b.high]) for b in bands]
    if axes.zero_line:
        y_extra.append(np.array([0.0]))
    y_span = axes.y_range or _finite_range(ys + y_extra)
    if x_span is None or y_span is None:
        return _empty_svg(title or "no data", width, height)
    x_lo, x_hi = x_span
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    y_lo, y_hi = y_span
    if axes.y_range is None:
        span = max(y_hi - y_lo, axes.y_min_span, 1e-9)
        mid = 0.5 * (y_hi + y_lo)
        y_lo, y_hi = mid - 0.55 * span, mid + 0.55 * span
    if axes.x_ticks is not None and axes.x_range is None:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5

    def sx(value: NDArray[np.float64] | float) -> NDArray[np.float64] | float:
        return margin_left + (np.asarray(value) - x_lo) / (x_hi - x_lo) * plot_w

    def sy(value: NDArray[np.float64] | float) -> NDArray[np.float64] | float:
        return margin_top + (1.0 - (np.asarray(value) - y_lo) / (y_hi - y_lo)) * plot_h

    parts: list[str] = []
    label = escape(title or axes.y_label or "chart")
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{label}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{_FONT}" font-size="11">'
    )
    parts.append(f"<title>{escape(title or axes.y_label)}</title>")
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')
    if title:
        parts.append(
            f'<text x="{margin_left}" y="18" font-size="13" font-weight="bold" '
            f'fill="#1d2830">{escape(title)}</text>'
        )
    clip_id = CLIP_PLACEHOLDER
    parts.append(
        f'<clipPath id="{clip_id}"><rect x="{margin_left}" y="{margin_top}" '
        f'width="{plot_w}" height="{plot_h}"/></clipPath>'
    )
    # bands and spans under everything
    for vspan in spans:
        left, right = float(sx(max(vspan.start, x_lo))), float(sx(min(vspan.end, x_hi)))
        if right > left:
            parts.append(
                f'<rect x="{left:.1f}" y="{margin_top}" width="{right - left:.1f}" '
                f'height="{plot_h}" fill="{vspan.color}" fill-opacity="0.13"/>'
            )
    for band in bands:
        top, bottom = float(sy(min(band.high, y_hi))), float(sy(max(band.low, y_lo)))
        if bottom > top:
            parts.append(
                f'<rect x="{margin_left}" y="{top:.1f}" width="{plot_w}" '
                f'height="{bottom - top:.1f}" fill="{band.color}" fill-opacity="0.13"/>'
            )
    # grid and ticks
    y_ticks = nice_ticks(y_lo, y_hi, 5)
    for tick in y_ticks:
        y = float(sy(tick))
        parts.append(
            f'<line x1="{margin_left}" x2="{margin_left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e3e8ec" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{margin_left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4a5560">'
            f"{_fmt_tick(tick, y_ticks)}</text>"
        )
    if axes.x_ticks is not None:
        x_tick_list = [(float(v), text) for v, text in axes.x_ticks]
    else:
        values = nice_ticks(x_lo, x_hi, 6)
        x_tick_list = [(v, _fmt_tick(v, values)) for v in values]
    for value, text in x_tick_list:
        tx = float(sx(value))
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{margin_top}" y2="{margin_top + plot_h}" '
            f'stroke="#eef1f4" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{margin_top + plot_h + 15}" text-anchor="middle" '
            f'fill="#4a5560">{escape(text)}</text>'
        )
    if axes.zero_line and y_lo < 0 < y_hi:
        y0 = float(sy(0.0))
        parts.append(
            f'<line x1="{margin_left}" x2="{margin_left + plot_w}" y1="{y0:.1f}" y2="{y0:.1f}" '
            f'stroke="#8a959e" stroke-width="1"/>'
        )
    parts.append(
        f'<rect x="{margin_left}" y="{margin_top}" width="{plot_w}" height="{plot_h}" '
        f'fill="none" stroke="#9aa5ae" stroke-width="1"/>'
    )
    if axes.x_label:
        parts.append(
            f'<text x="{margin_left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
            f'fill="#1d2830">{escape(axes.x_label)}</text>'
        )
    if axes.y_label:
        cy = margin_top + plot_h / 2
        parts.append(
            f'<text x="14" y="{cy:.1f}" text-anchor="middle" fill="#1d2830" '
            f'transform="rotate(-90 14 {cy:.1f})">{escape(axes.y_label)}</text>'
        )
    parts.append(f'<g clip-path="url(#{clip_id})">')
    for marker in markers:
        if not math.isfinite(marker.x):
            continue
        mx = float(sx(marker.x))
        dash = f' stroke-dasharray="{marker.dash}"' if marker.dash else ""
        parts.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{margin_top}" y2="{margin_top + plot_h}" '
            f'stroke="{marker.color}" stroke-width="1.4"{dash}/>'
        )
    for line in lines:
        line_x, line_y = _decimate(_as_float(line.x), _as_float(line.y))
        dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        for path in _paths(np.asarray(sx(line_x)), np.asarray(sy(line_y))):
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{line.color}" '
                f'stroke-width="{line.width}" stroke-linejoin="round"{dash}/>'
            )
    for group in points:
        px, py = np.asarray(sx(_as_float(group.x))), np.asarray(sy(_as_float(group.y)))
        if group.joined:
            for path in _paths(px, py):
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{group.color}" '
                    f'stroke-width="1.2" stroke-opacity="0.7"/>'
                )
        for point_x, point_y in zip(px, py, strict=True):
            if np.isfinite(point_x) and np.isfinite(point_y):
                parts.append(
                    _shape(group.shape, float(point_x), float(point_y), group.radius, group.color)
                )
    parts.append("</g>")
    for marker in markers:
        if marker.label and math.isfinite(marker.x):
            label_x = float(sx(marker.x))
            anchor = "end" if marker.anchor == "end" else "start"
            dx = -3 if anchor == "end" else 3
            parts.append(
                f'<text x="{label_x + dx:.1f}" y="{margin_top + 11}" font-size="10" '
                f'text-anchor="{anchor}" fill="{marker.color}">{escape(marker.label)}</text>'
            )
    if legend_items:
        lx: float = margin_left
        ly = margin_top - 10
        for text, color, is_point in legend_items:
            if is_point:
                parts.append(_shape("circle", lx + 6, ly - 4, 3.5, color))
            else:
                parts.append(f'<rect x="{lx}" y="{ly - 6}" width="14" height="4" fill="{color}"/>')
            parts.append(f'<text x="{lx + 18}" y="{ly}" fill="#1d2830">{escape(text)}</text>')
            lx += 26 + 6.3 * len(text)
    parts.append("</svg>")
    return _with_clip_id("".join(parts))


CLIP_PLACEHOLDER = "clip-@@"


def _with_clip_id(svg: str) -> Markup:
    """Name the chart's clip path after its content: the same chart gives the same bytes in
    every process (a counter would not), and different charts on a page get different ids
    (identical charts share an identical clip path, so sharing its id is harmless)."""
    digest = hashlib.sha256(svg.encode("utf-8")).hexdigest()[:12]
    # every text in the chart went through markupsafe's escape on the way in
    return Markup(svg.replace(CLIP_PLACEHOLDER, f"clip-{digest}"))


def _paths(px: NDArray[np.float64], py: NDArray[np.float64]) -> list[str]:
    finite = np.isfinite(px) & np.isfinite(py)
    paths: list[str] = []
    if not finite.any():
        return paths
    breaks = np.flatnonzero(np.diff(finite.astype(np.int8)) != 0) + 1
    for segment in np.split(np.arange(px.size), breaks):
        if segment.size and finite[segment[0]]:
            paths.append(" ".join(f"{px[i]:.1f},{py[i]:.1f}" for i in segment))
    return paths


def _shape(shape: str, cx: float, cy: float, r: float, color: str) -> str:
    if shape == "square":
        return (
            f'<rect x="{cx - r:.1f}" y="{cy - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
            f'fill="{color}"/>'
        )
    if shape == "diamond":
        return (
            f'<polygon points="{cx:.1f},{cy - r * 1.3:.1f} {cx + r * 1.3:.1f},{cy:.1f} '
            f'{cx:.1f},{cy + r * 1.3:.1f} {cx - r * 1.3:.1f},{cy:.1f}" fill="{color}"/>'
        )
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{color}"/>'


def _empty_svg(text: str, width: int, height: int) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart empty" role="img" '
        f'aria-label="{escape(text)}" width="{width}" height="{height // 3}" '
        f'viewBox="0 0 {width} {height // 3}" font-family="{_FONT}" font-size="12">'
        f'<rect x="0" y="0" width="{width}" height="{height // 3}" fill="#f6f8f9"/>'
        f'<text x="{width / 2:.0f}" y="{height / 6 + 4:.0f}" text-anchor="middle" '
        f'fill="#6b7780">{escape(text)}: no data</text></svg>'
    )


def lr_bars(
    left: float | None,
    right: float | None,
    *,
    width: int = 120,
    height: int = 26,
    highlight: bool = False,
) -> Markup:
    """A tiny pair of horizontal bars comparing a left and a right value (same scale)."""
    values = [v for v in (left, right) if v is not None and math.isfinite(v)]
    if not values:
        return Markup("")
    scale = max(abs(v) for v in values) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lrbars" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="left vs right">'
    ]
    if highlight:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" rx="3" fill="#fde9e3"/>')
    for row, (value, color) in enumerate(((left, LEFT_COLOR), (right, RIGHT_COLOR))):
        if value is None or not math.isfinite(value):
            continue
        bar = max(1.0, abs(value) / scale * (width - 6))
        y = 3 + row * 11
        opacity = "1" if value >= 0 else "0.45"
        parts.append(
            f'<rect x="3" y="{y}" width="{bar:.1f}" height="9" rx="2" fill="{color}" '
            f'fill-opacity="{opacity}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
