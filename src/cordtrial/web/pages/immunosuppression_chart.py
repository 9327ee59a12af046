"""A server-rendered SVG chart of an immunosuppression course (no JavaScript, nothing fetched):
trough levels (left axis) against the protocol's target band of each period, and the dose taken
(right axis, a step line), over days since the transplant (day 0). Out-of-range troughs are
drawn as red diamonds and named in the chart's text description."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["CourseChart", "course_chart"]

_W, _H = 560, 250
_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 52, 40, 32
_TROUGH, _DOSE, _BAND, _OUT = "#1f5fa8", "#6b4aa0", "#d7eadb", "#c0392b"


@dataclass(frozen=True, slots=True)
class CourseChart:
    """What the chart shows: troughs ``(day, value, out of range)``, the target periods
    ``(from_day, until_day or None, low, high)``, the dose steps ``(day, dose)`` (the dose from
    that day on), units and the drug's name."""

    drug: str
    trough_unit: str
    dose_unit: str
    troughs: Sequence[tuple[int, float, bool]]
    targets: Sequence[tuple[int, int | None, float, float]]
    doses: Sequence[tuple[int, float]]
    last_day: int


def _ticks(high: float) -> list[float]:
    step = next(s for s in (0.5, 1, 2, 5, 10, 20, 50, 100, 200) if high / s <= 6)
    return [i * step for i in range(int(high / step) + 1)]


def course_chart(chart: CourseChart) -> Markup:
    """An accessible SVG (``role="img"``, a title and a description listing every value)."""
    days = [d for d, _, _ in chart.troughs] + [d for d, _ in chart.doses] + [chart.last_day, 0]
    d_low, d_high = min(days), max(max(days), 28)
    t_high = max([v for _, v, _ in chart.troughs] + [h for *_, h in chart.targets] + [1.0]) * 1.1
    dose_high = max([v for _, v in chart.doses] + [1.0]) * 1.25
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(day: float) -> float:
        return _LEFT + (day - d_low) / max(d_high - d_low, 1) * plot_w

    def y(value: float, high: float) -> float:
        return _H - _BOTTOM - value / high * plot_h

    title = f"{chart.drug}: trough level and dose over time"
    parts = [
        f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for start, until, low, high in chart.targets:
        left, right = x(max(start, d_low)), x(min(until if until is not None else d_high, d_high))
        if right > left:
            parts.append(
                f'<rect x="{left:.1f}" y="{y(high, t_high):.1f}" width="{right - left:.1f}" '
                f'height="{y(low, t_high) - y(high, t_high):.1f}" fill="{_BAND}"/>'
            )
    for value in _ticks(t_high):
        ty = y(value, t_high)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#eef1f5"/>'
            f'<text x="{_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="{_TROUGH}">'
            f"{value:g}</text>"
        )
    for value in _ticks(dose_high):
        parts.append(
            f'<text x="{_W - _RIGHT + 6}" y="{y(value, dose_high) + 4:.1f}" fill="{_DOSE}">'
            f"{value:g}</text>"
        )
    axis_y = _H - _BOTTOM
    parts.append(
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#9aa3b2"/>'
    )
    step = next(s for s in (7, 14, 28, 56, 91, 182, 364) if (d_high - d_low) / s <= 9)
    for day in range((d_low // step) * step, d_high + 1, step):
        if day >= d_low:
            parts.append(
                f'<text x="{x(day):.1f}" y="{axis_y + 14}" text-anchor="middle" '
                f'fill="#5b6475">{day}</text>'
            )
    parts.append(
        f'<text x="{_LEFT + plot_w / 2:.0f}" y="{_H - 3}" text-anchor="middle" fill="#5b6475">'
        "days since transplant (day 0)</text>"
        f'<text x="4" y="{_TOP - 8}" fill="{_TROUGH}">trough ({escape(chart.trough_unit)})</text>'
        f'<text x="{_W - 4}" y="{_TOP - 8}" text-anchor="end" fill="{_DOSE}">'
        f"dose ({escape(chart.dose_unit)})</text>"
    )
    if chart.doses:
        steps = sorted(chart.doses)
        path = []
        for (day, dose), following in zip(steps, [*steps[1:], None], strict=True):
            end = following[0] if following is not None else chart.last_day
            path += [
                f"{x(day):.1f},{y(dose, dose_high):.1f}",
                f"{x(end):.1f},{y(dose, dose_high):.1f}",
            ]
        parts.append(
            f'<polyline points="{" ".join(path)}" fill="none" stroke="{_DOSE}" '
            'stroke-width="2" stroke-dasharray="6 3"/>'
        )
    points = sorted(chart.troughs)
    if len(points) > 1:
        line = " ".join(f"{x(d):.1f},{y(v, t_high):.1f}" for d, v, _ in points)
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{_TROUGH}" stroke-width="1.5"/>'
        )
    for day, value, out in points:
        cx, cy = x(day), y(value, t_high)
        if out:
            parts.append(
                f'<path d="M{cx:.1f},{cy - 6:.1f} L{cx + 6:.1f},{cy:.1f} L{cx:.1f},{cy + 6:.1f} '
                f'L{cx - 6:.1f},{cy:.1f} Z" fill="{_OUT}"/>'
            )
        else:
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{_TROUGH}"/>')
    legend = [("trough", _TROUGH), ("out of range", _OUT), ("target range", _BAND), ("dose", _DOSE)]
    for i, (label, colour) in enumerate(legend):
        lx = _LEFT + 130 + i * 92
        parts.append(
            f'<rect x="{lx}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="15" fill="#1d2433">{label}</text>'
        )
    if not points and not chart.doses:
        parts.append(
            f'<text x="{_W / 2:.0f}" y="{_H / 2:.0f}" text-anchor="middle" fill="#5b6475">'
            "no data yet</text>"
        )
    described = [
        "troughs: "
        + (", ".join(f"day {d} {v:g}{' (out of range)' if o else ''}" for d, v, o in points)
           or "none"),
        "target: " + (", ".join(
            f"{lo:g}-{hi:g} from day {s}" + (f" to {u - 1}" if u is not None else "")
            for s, u, lo, hi in chart.targets) or "none"),
        "dose: " + (", ".join(f"{v:g} from day {d}" for d, v in sorted(chart.doses)) or "none"),
    ]  # fmt: skip
    parts.append(f"<desc>{escape('; '.join(described))}</desc></svg>")
    return Markup("".join(parts))
