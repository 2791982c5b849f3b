"""Inline SVG charts: values over an agent's observations, bounds, bands and marks.

Input: series of values (NaN where nothing was measured), horizontal lines,
bands, spans and marks, labels. Output: one ``<svg>`` element as text, every
piece of text escaped (names come from policies and traces). Stage: ``nomo
report``; the page needs no script and no network to show these.

A series longer than ``MAX_POINTS`` is drawn from buckets that keep each
bucket's lowest and highest value, so a single spike still shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

MAX_POINTS = 1200
WIDTH = 880
HEIGHT = 210
LEFT, RIGHT, TOP, BOTTOM = 58, 16, 14, 38


@dataclass(frozen=True, slots=True)
class Line:
    """One series: a value per observation (NaN for none)."""

    values: Sequence[float]
    color: str
    label: str


@dataclass(frozen=True, slots=True)
class Rule:
    """A horizontal line (a threshold)."""

    value: float
    color: str
    label: str
    dashed: bool = True


@dataclass(frozen=True, slots=True)
class Band:
    """A horizontal band between two values (the approaching band)."""

    low: float
    high: float
    color: str
    label: str


@dataclass(frozen=True, slots=True)
class Span:
    """Observations ``first``..``last`` (indices) shaded (while violated)."""

    first: int
    last: int
    color: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A dot at one observation, with a tooltip."""

    index: int
    value: float
    color: str
    title: str


@dataclass(slots=True)
class Chart:
    """Everything one chart draws."""

    count: int
    lines: list[Line] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    # (index, first text row, second text row) under the x axis.
    ticks: list[tuple[int, str, str]] = field(default_factory=list)
    title: str = ""


def _finite(values: Sequence[float]) -> list[float]:
    return [value for value in values if not math.isnan(value) and not math.isinf(value)]


def _range(chart: Chart) -> tuple[float, float]:
    values: list[float] = []
    for line in chart.lines:
        values.extend(_finite(line.values))
    values.extend(rule.value for rule in chart.rules if math.isfinite(rule.value))
    for band in chart.bands:
        values.extend(v for v in (band.low, band.high) if math.isfinite(v))
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if low >= 0:
        low = 0.0  # counts, rates, shares and scores read best from zero
    if math.isclose(low, high):
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return (low if low == 0 else low - pad), high + pad


def _points(values: Sequence[float]) -> list[tuple[float, float]]:
    """(index, value) to draw; buckets of min and max beyond MAX_POINTS."""
    count = len(values)
    if count <= MAX_POINTS:
        return [(float(i), v) for i, v in enumerate(values)]
    buckets = MAX_POINTS // 2
    size = count / buckets
    out: list[tuple[float, float]] = []
    for bucket in range(buckets):
        start, end = int(bucket * size), max(int((bucket + 1) * size), int(bucket * size) + 1)
        chunk = [(i, values[i]) for i in range(start, min(end, count))]
        finite = [(i, v) for i, v in chunk if math.isfinite(v)]
        if not finite:
            out.append((float(start), math.nan))
            continue
        low = min(finite, key=lambda item: item[1])
        high = max(finite, key=lambda item: item[1])
        for i, v in sorted({low, high}):
            out.append((float(i), v))
    return out


def render(chart: Chart) -> str:
    """The chart as an ``<svg>`` element."""
    low, high = _range(chart)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    last = max(chart.count - 1, 1)

    def x(index: float) -> float:
        return LEFT + inner_w * (index / last)

    def y(value: float) -> float:
        clipped = min(max(value, low), high)
        return TOP + inner_h * (1 - (clipped - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(chart.title)}" '
        f'style="max-width:{WIDTH}px;display:block">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" fill="#ffffff" '
        'stroke="#d0d5dd"/>',
    ]
    for span in chart.spans:
        left = x(span.first - 0.5 if span.first > 0 else 0)
        right = x(span.last + 0.5 if span.last < last else last)
        parts.append(
            f'<rect x="{left:.2f}" y="{TOP}" width="{max(right - left, 1.5):.2f}" height="{inner_h}" '
            f'fill="{span.color}" opacity="0.35"/>'
        )
    for band in chart.bands:
        top, bottom = y(max(band.low, band.high)), y(min(band.low, band.high))
        parts.append(
            f'<rect x="{LEFT}" y="{top:.2f}" width="{inner_w}" height="{max(bottom - top, 0.5):.2f}" '
            f'fill="{band.color}" opacity="0.22"><title>{escape(band.label)}</title></rect>'
        )
    parts.extend(_axis(low, high, y))
    for line in chart.lines:
        parts.extend(_path(line, x, y))
    for rule in chart.rules:
        dash = ' stroke-dasharray="6 4"' if rule.dashed else ""
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{y(rule.value):.2f}" y2="{y(rule.value):.2f}" '
            f'stroke="{rule.color}" stroke-width="1.5"{dash}><title>{escape(rule.label)}</title></line>'
        )
    for mark in chart.marks:
        if not math.isfinite(mark.value):
            continue
        parts.append(
            f'<circle cx="{x(mark.index):.2f}" cy="{y(mark.value):.2f}" r="4.5" fill="{mark.color}" '
            f'stroke="#ffffff" stroke-width="1.5"><title>{escape(mark.title)}</title></circle>'
        )
    for position, (index, first, second) in enumerate(chart.ticks):
        px = x(index)
        anchor = (
            "start"
            if position == 0 and len(chart.ticks) > 1
            else "end"
            if position == len(chart.ticks) - 1 and len(chart.ticks) > 1
            else "middle"
        )
        parts.append(
            f'<line x1="{px:.2f}" x2="{px:.2f}" y1="{TOP + inner_h}" y2="{TOP + inner_h + 4}" stroke="#667085"/>'
        )
        parts.append(
            f'<text x="{px:.2f}" y="{TOP + inner_h + 16}" text-anchor="{anchor}" font-size="10" '
            f'fill="#475467">{escape(first)}</text>'
        )
        if second:
            parts.append(
                f'<text x="{px:.2f}" y="{TOP + inner_h + 28}" text-anchor="{anchor}" font-size="9" '
                f'fill="#667085">{escape(second)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


Scale = Callable[[float], float]


def _axis(low: float, high: float, y: Scale) -> list[str]:
    parts = []
    for step in range(5):
        value = low + (high - low) * step / 4
        py = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.2f}" y2="{py:.2f}" stroke="#eaecf0"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{py + 3:.2f}" text-anchor="end" font-size="10" fill="#475467">'
            f"{escape(_tick(value))}</text>"
        )
    return parts


def _tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.001:
        return f"{value:.2g}"
    return f"{value:.3g}"


def _path(line: Line, x: Scale, y: Scale) -> list[str]:
    segments: list[list[str]] = [[]]
    for index, value in _points(line.values):
        if not math.isfinite(value):
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(f"{x(index):.2f},{y(value):.2f}")
    parts = []
    for segment in segments:
        if len(segment) == 1:
            px, py = segment[0].split(",")
            parts.append(f'<circle cx="{px}" cy="{py}" r="1.8" fill="{line.color}"/>')
        elif segment:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{line.color}" '
                f'stroke-width="1.6" stroke-linejoin="round"><title>{escape(line.label)}</title></polyline>'
            )
    return parts
