"""Small server-rendered SVG line charts of a participant's course (no JavaScript, no fonts or
files fetched): values over days since day 0 (the transplant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["Series", "line_chart"]

_W, _H = 420, 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 12, 26, 30
_COLOURS = ("#1f5fa8", "#c0392b", "#1c7c3c")


@dataclass(frozen=True, slots=True)
class Series:
    """A named series of (day since day 0, value) points."""

    name: str
    points: Sequence[tuple[int, float]]


def _x(day: int, low: int, high: int) -> float:
    span = max(high - low, 1)
    return _LEFT + (day - low) / span * (_W - _LEFT - _RIGHT)


def _y(value: float, low: float, high: float) -> float:
    span = high - low or 1.0
    return _H - _BOTTOM - (value - low) / span * (_H - _TOP - _BOTTOM)


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    y_range: tuple[float, float],
    y_ticks: Sequence[tuple[float, str]],
) -> Markup:
    """An accessible SVG chart (``role="img"`` with a title and a text description of the
    values) of ``series`` against days since day 0; empty series say "no data"."""
    low, high = y_range
    days = [d for s in series for d, _ in s.points]
    d_low, d_high = min([*days, 0]), max([*days, 28])
    parts = [
        f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for value, label in y_ticks:
        y = _y(value, low, high)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ee"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6475">'
            f"{escape(label)}</text>"
        )
    axis_y = _H - _BOTTOM
    parts.append(
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#9aa3b2"/>'
    )
    for day in _day_ticks(d_low, d_high):
        x = _x(day, d_low, d_high)
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#5b6475">{day}</text>'
        )
    parts.append(
        f'<text x="{(_LEFT + _W - _RIGHT) / 2:.0f}" y="{_H - 3}" text-anchor="middle" '
        f'fill="#5b6475">days since day 0</text>'
    )
    described = []
    for index, s in enumerate(series):
        colour = _COLOURS[index % len(_COLOURS)]
        points = sorted(s.points)
        coords = [(_x(d, d_low, d_high), _y(v, low, high)) for d, v in points]
        # later series dashed, so one lying on another stays visible
        dash = ' stroke-dasharray="6 4"' if index else ""
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
        for x, y in coords:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        described.append(
            f"{s.name}: " + (", ".join(f"day {d} {_fmt(v, y_ticks)}" for d, v in points) or "none")
        )
    if len(series) > 1:
        for index, s in enumerate(series):
            colour = _COLOURS[index % len(_COLOURS)]
            x = _LEFT + 8 + index * 90
            parts.append(
                f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
                f'<text x="{x + 14}" y="13" fill="#1d2433">{escape(s.name)}</text>'
            )
    if not days:
        parts.append(
            f'<text x="{_W / 2:.0f}" y="{_H / 2:.0f}" text-anchor="middle" fill="#5b6475">'
            "no data yet</text>"
        )
    parts.append(f"<desc>{escape('; '.join(described))}</desc></svg>")
    return Markup("".join(parts))


def _fmt(value: float, ticks: Sequence[tuple[float, str]]) -> str:
    labels = {v: label for v, label in ticks}
    if value in labels and not labels[value].isdigit():
        return labels[value]
    return f"{value:g}"


def _day_ticks(low: int, high: int) -> list[int]:
    step = next(s for s in (7, 14, 28, 56, 91, 182, 364, 728) if (high - low) / s <= 8)
    start = (low // step) * step
    return [d for d in range(start, high + 1, step) if d >= low]
