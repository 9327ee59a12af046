"""Figures for reports and web pages: AIS shift diagram, motor-score trajectories with the
natural-history band, adverse-event timeline.

matplotlib is imported inside the functions (the analysis can be used without it), and figures
are built with :class:`matplotlib.figure.Figure` directly -- no pyplot, no global state -- so
they can be drawn in a web server's threads. :func:`figure_png` and :func:`figure_svg` render a
figure to bytes / text for embedding.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from cordtrial.analysis.endpoints import AIS_GRADES, LAST, last_observed, parse_grades
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.natural_history import MotorChangeFigure, motor_change_figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ae_timeline_figure",
    "ais_shift_figure",
    "figure_png",
    "figure_svg",
    "motor_trajectories_figure",
]

_SERIOUS = "#c0392b"
_OTHER = "#2c7fb8"


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    # fixed margins: a layout engine doubles the drawing time on a slow machine
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.12, right=0.9, bottom=0.16, top=0.9, wspace=0.3)
    return fig


def figure_png(fig: Figure, *, dpi: int = 150) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_svg(fig: Figure) -> str:
    """The figure as an SVG document (text), for inline embedding in HTML."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def ais_shift_figure(endpoints: pd.DataFrame, visit: str = LAST, *, title: str = "") -> Figure:
    """AIS grade at baseline (left) joined to the grade at ``visit`` (right), one line per
    baseline -> visit pair, its width and label the number of participants. Undetermined
    grades (NT) are drawn dashed to the range's middle; participants without the visit go to
    ``missing``."""
    frame = last_observed(endpoints) if visit == LAST else endpoints[endpoints["visit"] == visit]
    if frame.empty:
        raise AnalysisInputError("visit", visit, "a visit present in the endpoint table")
    fig = _figure(5.5, 4.0)
    ax = fig.subplots()
    y = {g: i for i, g in enumerate(AIS_GRADES)}
    y_missing = -1.0

    def position(value: str, status: str) -> tuple[float, bool]:
        grades = parse_grades(value) if status == "observed" else frozenset()
        if not grades:
            return y_missing, True
        ys = [y[g] for g in grades]
        return sum(ys) / len(ys), len(grades) > 1

    pairs: dict[tuple[float, float, bool], int] = {}
    for base, value, status in zip(
        frame["ais_baseline"], frame["ais"], frame["status"], strict=True
    ):
        yb, open_b = position(base, "observed")
        yv, open_v = position(value, status)
        key = (yb, yv, open_b or open_v or yv == y_missing)
        pairs[key] = pairs.get(key, 0) + 1
    for (yb, yv, dashed), count in sorted(pairs.items()):
        colour = "#999999" if yv == y_missing else (_OTHER if yv > yb else "#555555")
        ax.plot([0, 1], [yb, yv], color=colour, linewidth=1.5 + 2.5 * count,
                linestyle="--" if dashed else "-", alpha=0.8, solid_capstyle="round")  # fmt: skip
        ax.annotate(str(count), ((0.15), yb + 0.15 * (yv - yb)), fontsize=9, color=colour)
    ticks = [y_missing, *y.values()]
    labels = ["missing", *AIS_GRADES]
    ax.set_yticks(ticks, labels)
    right = ax.twinx()
    right.set_ylim(-1.5, 4.5)
    right.set_yticks(ticks, labels)
    ax.set_ylim(-1.5, 4.5)
    ax.set_xlim(-0.1, 1.1)
    ax.set_xticks([0, 1], ["baseline", "last observed" if visit == LAST else visit])
    ax.set_title(title or "AIS grade: baseline -> follow-up (line width = participants)")
    return fig


def motor_trajectories_figure(
    endpoints: pd.DataFrame,
    *,
    scores: tuple[str, ...] = ("uems", "lems"),
    bands: dict[str, MotorChangeFigure] | None = None,
) -> Figure:
    """Change from baseline of motor scores over days since transplant, one line per
    participant, with the published spontaneous one-year change (mean +/- 1 SD) as a band.

    Ranges left open by NT are drawn as vertical bars. The default bands are the cervical AIS A
    changes of Kirshblum 2022 (UEMS +7.8 +/- 6.5, LEMS +2.3 +/- 7.4 at 377.5 +/- 93.4 days); they
    are for orientation, not a matched control.
    """
    if bands is None:
        bands = {f.score: f for f in motor_change_figures()}
    fig = _figure(4.2 * len(scores), 3.6)
    axes = fig.subplots(1, len(scores), squeeze=False)[0]
    observed = endpoints[endpoints["status"] == "observed"]
    for ax, score in zip(axes, scores, strict=True):
        band = bands.get(score)
        if band is not None:
            lo_day, hi_day = band.timing_days
            ax.fill_between([lo_day, hi_day], band.mean_change - band.sd_change,
                            band.mean_change + band.sd_change, color="#bbbbbb", alpha=0.5,
                            label="natural history, mean +/- SD")  # fmt: skip
            ax.hlines(band.mean_change, lo_day, hi_day, color="#777777", linewidth=1)
        for pid, g in observed.groupby("participant", sort=True):
            days = g["day"].astype(float)
            lo = g[f"{score}_change_min"].astype(float)
            hi = g[f"{score}_change_max"].astype(float)
            mid = (lo + hi) / 2
            line = ax.plot(days, mid, marker="o", markersize=3, label=str(pid))[0]
            open_ = (hi - lo) > 0
            if open_.any():
                ax.vlines(days[open_], lo[open_], hi[open_], color=line.get_color(), alpha=0.6)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xlabel("days since transplant")
        ax.set_ylabel(f"change in {score.upper()} (points)")
        ax.set_title(score.upper())
        ax.legend(fontsize=7, loc="upper left")
    return fig


def ae_timeline_figure(aes: pd.DataFrame, participants: pd.DataFrame) -> Figure:
    """Adverse events over days since transplant, one row per participant: a marker at onset
    (size by CTCAE grade, red when serious, a ring when related) and a line to resolution (to the
    participant's last event day when unresolved)."""
    people = [str(p) for p in participants["participant"]]
    fig = _figure(7.0, 0.6 * max(len(people), 2) + 1.4)
    ax = fig.subplots()
    row = {p: i for i, p in enumerate(people)}
    if len(aes):
        frame = aes[aes["participant"].astype(str).isin(row)]
        for rec in frame.to_dict(orient="records"):
            yy = row[str(rec["participant"])]
            start = _num(rec.get("onset_day"))
            if math.isnan(start):
                continue
            end = start
            resolved = rec.get("resolution_date")
            if resolved is not None and not (isinstance(resolved, float)):
                onset = rec.get("onset_date")
                if onset is not None:
                    end = start + (resolved - onset).days
            colour = _SERIOUS if rec.get("serious") else _OTHER
            ax.hlines(yy, start, max(end, start), color=colour, linewidth=2, alpha=0.6)
            size = 30 + 25 * int(rec.get("ctcae_grade", 1))
            ax.scatter([start], [yy], s=size, color=colour, zorder=3,
                       edgecolors="black" if rec.get("related") else colour,
                       linewidths=1.5)  # fmt: skip
            ax.annotate(str(rec.get("term", ""))[:40], (start, yy + 0.18), fontsize=7)
    ax.set_yticks(range(len(people)), people)
    ax.set_ylim(-0.6, len(people) - 0.2)
    left, right = ax.get_xlim()
    ax.set_xlim(left, right + 0.25 * (right - left))  # room for the labels
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("days since transplant (marker size: CTCAE grade; red: serious; ring: related)")
    ax.set_title("Adverse events")
    return fig


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
