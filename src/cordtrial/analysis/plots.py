"""Figures for reports and web pages: AIS shift diagram, motor-score trajectories with the
natural-history band, adverse-event timeline.

matplotlib is imported inside the functions (the analysis can be used without it), and figures
are built with :class:`matplotlib.figure.Figure` directly -- no pyplot, no global state -- so
they can be drawn in a web server's threads. :func:`figure_png` and :func:`figure_svg` render a
figure to bytes / text for embedding.
"""

from __future__ import annotations

import io
import itertools
import math
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from cordtrial.analysis.endpoints import AIS_GRADES, LAST, last_observed, parse_grades
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.natural_history import MotorChangeFigure, motor_change_figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ae_label",
    "ae_timeline_description",
    "ae_timeline_figure",
    "ais_shift_figure",
    "figure_png",
    "figure_svg",
    "kaplan_meier_figure",
    "motor_trajectories_figure",
]

_SERIOUS = "#c0392b"
_OTHER = "#2c7fb8"
#: where along a shift line (0 = baseline, 1 = follow-up) its count is written
_COUNT_AT = 0.72
#: the least vertical distance between two count labels, in AIS grades (a 9-pt label is about
#: 0.25 grades high in the 4-inch figure)
_COUNT_GAP = 0.34
#: AE terms are wrapped at this many characters, on at most two lines
_AE_LABEL_WIDTH = 30
_AE_LABEL_LINES = 2


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
    # room for the grade labels on both sides ("missing" is the widest)
    fig.subplots_adjust(left=0.16, right=0.84, top=0.9, bottom=0.1)
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
    labels_at: list[tuple[float, str, str]] = []
    most = max(pairs.values())
    for (yb, yv, dashed), count in sorted(pairs.items()):
        colour = "#999999" if yv == y_missing else (_OTHER if yv > yb else "#555555")
        # width grows with the count up to 9 pt for the largest group, whatever the cohort size
        ax.plot([0, 1], [yb, yv], color=colour, linewidth=1.5 + 7.5 * count / most,
                linestyle="--" if dashed else "-", alpha=0.8, solid_capstyle="round")  # fmt: skip
        # counts sit near the right-hand end, where lines from one baseline grade have parted
        labels_at.append((yb + _COUNT_AT * (yv - yb), str(count), colour))
    for y_label, (_, text, colour) in zip(
        _spread([y for y, _, _ in labels_at], _COUNT_GAP), labels_at, strict=True
    ):
        ax.text(_COUNT_AT, y_label, text, fontsize=9, color=colour, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": colour,
                      "linewidth": 0.6})  # fmt: skip
    ticks = [y_missing, *y.values()]
    labels = ["missing", *AIS_GRADES]
    ax.set_yticks(ticks, labels)
    right = ax.twinx()
    right.set_ylim(-1.5, 4.5)
    right.set_yticks(ticks, labels)
    ax.set_ylim(-1.5, 4.5)
    ax.set_xlim(-0.1, 1.1)
    ax.set_xticks([0, 1], ["baseline", "last observed" if visit == LAST else visit])
    ax.set_title(title or "AIS grade: baseline → follow-up (line width = participants)",
                 fontsize=10)  # fmt: skip
    return fig


def _spread(ys: list[float], gap: float) -> list[float]:
    """``ys`` moved apart, in their order, so that no two are closer than ``gap`` (labels that
    would overlap are pushed up; the group is then centred on where it started)."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    out = list(ys)
    for prev, cur in itertools.pairwise(order):
        out[cur] = max(out[cur], out[prev] + gap)
    # shift the labels back down by their mean push, keeping the gaps
    push = sum(out[i] - ys[i] for i in order) / len(ys) if ys else 0.0
    return [v - push for v in out]


def motor_trajectories_figure(
    endpoints: pd.DataFrame,
    *,
    participants: pd.DataFrame | None = None,
    scores: tuple[str, ...] = ("uems", "lems"),
    bands: dict[str, MotorChangeFigure] | None = None,
) -> Figure:
    """Change from baseline of motor scores, one line per participant, with the published
    spontaneous one-year change where it applies.

    With ``participants`` (``participant``, ``injury_date``, ``injury_level``) the time axis is
    days since injury -- the axis of the published figures -- and a published change is drawn
    only for the participants in its population (:meth:`MotorChangeFigure.applies_to`: the
    default Kirshblum 2022 figures are cervical AIS A with UEMS <= 20 per side, UEMS +7.8 +/- 6.5
    and LEMS +2.3 +/- 7.4 at 377.5 +/- 93.4 days); participants outside it are drawn dashed.
    The mean is a line over the published timing (mean +/- SD days); the +/- 1 SD band is
    drawn only where mean - SD >= 0 (a larger SD means a skewed change, and a symmetric band
    below zero would misdescribe it). Without ``participants``, the axis is days since
    transplant and no published change is drawn (its population cannot be checked).
    Ranges left open by NT are vertical bars. One legend serves every panel.
    """
    if bands is None:
        bands = {f.score: f for f in motor_change_figures()}
    observed = endpoints[endpoints["status"] == "observed"]
    people = sorted({str(p) for p in observed["participant"]})
    info: dict[str, dict[Any, Any]] = {}
    if participants is not None:
        info = {str(r["participant"]): r for r in participants.to_dict(orient="records")}
    base_of = {str(r["participant"]): r for r in observed.to_dict(orient="records")}
    columns = 1 + (len(people) + 1) // 15
    legend_width = 2.6 + 0.9 * (columns - 1)
    width = 4.2 * len(scores) + legend_width
    fig = _figure(width, 3.6)
    fig.subplots_adjust(left=0.7 / width, right=1 - (legend_width + 0.15) / width,
                        bottom=0.16, top=0.9, wspace=0.3)  # fmt: skip
    axes = fig.subplots(1, len(scores), squeeze=False)[0]
    palette = _palette(len(people))
    colour = {p: palette[i % len(palette)] for i, p in enumerate(people)}
    handles: dict[str, Any] = {}

    def in_population(pid: str, band: MotorChangeFigure) -> bool:
        rec, base = info.get(pid), base_of.get(pid)
        if rec is None or base is None or not rec.get("injury_level"):
            return False
        grades = parse_grades(base.get("ais_baseline"))
        return len(grades) == 1 and band.applies_to(
            level=str(rec["injury_level"]), baseline_grade=next(iter(grades)),
            uems_right=_num(base.get("uems_right_baseline")),
            uems_left=_num(base.get("uems_left_baseline")),
        )  # fmt: skip

    for ax, score in zip(axes, scores, strict=True):
        band = bands.get(score) if participants is not None else None
        inside = {p for p in people if band is not None and in_population(p, band)}
        if band is not None and inside:
            lo_day, hi_day = band.timing_days
            author = band.source.split(" ")[0]
            year = band.source.split(";")[0][-4:]
            label = f"published mean change\n({author} {year}, cervical AIS A)"
            handles[label] = ax.hlines(band.mean_change, lo_day, hi_day, color="#555555",
                                       linewidth=2, gid="natural-history-mean")  # fmt: skip
            if band.mean_change - band.sd_change >= 0:
                handles["published +/- 1 SD"] = ax.fill_between(
                    [lo_day, hi_day], band.mean_change - band.sd_change,
                    band.mean_change + band.sd_change, color="#bbbbbb", alpha=0.5,
                    gid="natural-history-band",
                )  # fmt: skip
        for pid, g in observed.groupby("participant", sort=True):
            rec = info.get(str(pid))
            if rec is not None and isinstance(rec.get("injury_date"), date):
                days = pd.Series([(d - rec["injury_date"]).days if isinstance(d, date)
                                  else math.nan for d in g["examined_on"]],
                                 index=g.index, dtype=float)  # fmt: skip
            else:
                days = g["day"].astype(float)
            lo = g[f"{score}_change_min"].astype(float)
            hi = g[f"{score}_change_max"].astype(float)
            mid = (lo + hi) / 2
            c = colour[str(pid)]
            outside = band is not None and str(pid) not in inside
            name = str(pid) + (" (not in its population)" if outside else "")
            line = ax.plot(
                days,
                mid,
                marker="o",
                markersize=3,
                color=c,
                linestyle="--" if outside else "-",
                gid=f"participant {pid}",
            )[0]
            handles.setdefault(name, line)
            open_ = (hi - lo) > 0
            if open_.any():
                ax.vlines(days[open_], lo[open_], hi[open_], color=c, alpha=0.6)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xlabel("days since injury" if participants is not None else
                      "days since transplant")  # fmt: skip
        ax.set_ylabel(f"change in {score.upper()} (points)")
        ax.set_title(score.upper())
    if handles:
        fig.legend(list(handles.values()), list(handles.keys()), loc="center left",
                   bbox_to_anchor=(1 - legend_width / width, 0.5), fontsize=6, ncols=columns,
                   frameon=False)  # fmt: skip
    return fig


def _palette(n: int) -> list[str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [str(to_hex(cmap(i))) for i in range(cmap.N)]


def ae_label(term: str) -> str:
    """An adverse-event term as the timeline prints it: wrapped at word boundaries on at most
    two lines of about 30 characters; a longer term is shortened at a word boundary and ends in
    an ellipsis (the full term is in the report's caption and the page's description)."""
    import textwrap

    words = " ".join(str(term).split())
    lines = textwrap.wrap(words, _AE_LABEL_WIDTH, break_long_words=False, break_on_hyphens=False)
    if len(lines) <= _AE_LABEL_LINES:
        return "\n".join(lines)
    kept = lines[:_AE_LABEL_LINES]
    # the last line loses whole words until the ellipsis fits
    words_left = kept[-1].split()
    while words_left and len(" ".join(words_left)) + 2 > _AE_LABEL_WIDTH:
        words_left.pop()
    kept[-1] = " ".join([*words_left, "…"])
    return "\n".join(kept)


def ae_timeline_figure(aes: pd.DataFrame, participants: pd.DataFrame) -> Figure:
    """Adverse events over days since transplant, one row per participant: a marker at onset
    (size by CTCAE grade, red when serious, a ring when related) and a line to resolution (to the
    participant's last event day when unresolved). Each marker carries its term
    (:func:`ae_label`); a label in the right half of the time axis ends at its marker, so that
    none runs off the figure, and each label is moved above or below its marker, further out
    if need be, until it overlaps no other label (:func:`_place_labels`)."""
    people = [str(p) for p in participants["participant"]]
    # two-line labels need about 0.45 inch above a marker; a few rows get more air
    height = (0.75 if len(people) <= 6 else 0.5) * max(len(people), 2) + 1.4
    fig = _figure(7.0, height)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.65 / height, top=1 - 0.4 / height)
    ax = fig.subplots()
    row = {p: i for i, p in enumerate(people)}
    events: list[tuple[int, float, float, dict[Any, Any]]] = []
    if len(aes):
        frame = aes[aes["participant"].astype(str).isin(row)]
        for rec in frame.to_dict(orient="records"):
            start = _num(rec.get("onset_day"))
            if math.isnan(start):
                continue
            end = start
            resolved = rec.get("resolution_date")
            if resolved is not None and not (isinstance(resolved, float)):
                onset = rec.get("onset_date")
                if onset is not None:
                    end = start + (resolved - onset).days
            events.append((row[str(rec["participant"])], start, max(end, start), rec))
    days = [d for _, s, e, _ in events for d in (s, e)] or [0.0, 1.0]
    lo_day, hi_day = min(min(days), 0.0), max(days)
    span = max(hi_day - lo_day, 1.0)
    ax.set_xlim(lo_day - 0.05 * span, hi_day + 0.05 * span)
    middle = lo_day + span / 2
    labels = []
    for yy, start, end, rec in sorted(events, key=lambda e: (e[0], e[1])):
        colour = _SERIOUS if rec.get("serious") else _OTHER
        ax.hlines(yy, start, end, color=colour, linewidth=2, alpha=0.6)
        size = 30 + 25 * int(rec.get("ctcae_grade", 1))
        ax.scatter([start], [yy], s=size, color=colour, zorder=3,
                   edgecolors="black" if rec.get("related") else colour,
                   linewidths=1.5)  # fmt: skip
        right_half = start > middle
        labels.append(ax.annotate(
            ae_label(str(rec.get("term", ""))), (start, yy),
            xytext=(-4 if right_half else 4, 7), textcoords="offset points", fontsize=7,
            linespacing=1.0, ha="right" if right_half else "left", va="bottom",
        ))  # fmt: skip
    ax.set_yticks(range(len(people)), people)
    ax.set_ylim(-0.7, len(people) - 0.3)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("days since transplant (marker size: CTCAE grade; red: serious; ring: related)")
    ax.set_title("Adverse events", fontsize=10)
    _place_labels(fig, labels)
    return fig


#: vertical offsets (points) tried in turn for an AE label: above, below, then further out
_LABEL_OFFSETS = (7, -7, 19, -19, 31, -31, 43, -43, 55, -55)


def _place_labels(fig: Figure, labels: list[Any]) -> None:
    """Move each label, in order, to the first offset of :data:`_LABEL_OFFSETS` at which it
    overlaps no label placed before it and stays inside the figure (measured on the drawn
    figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    frame = fig.bbox
    placed: list[Any] = []
    for label in labels:
        x = label.xyann[0]
        for dy in _LABEL_OFFSETS:
            label.xyann = (x, dy)
            label.set_va("bottom" if dy > 0 else "top")
            box = label.get_window_extent(renderer)
            inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                      and box.y1 <= frame.y1)  # fmt: skip
            if inside and not any(box.overlaps(other) for other in placed):
                break
        placed.append(box)


def ae_timeline_description(aes: pd.DataFrame) -> str:
    """The AE timeline in words (for screen readers and the page): the serious events listed
    under "N serious", the others under "N not serious"."""

    def item(r: dict[Any, Any]) -> str:
        day = _num(r.get("onset_day"))
        when = f"day {int(day)}" if not math.isnan(day) else "day not known"
        return f"{r['participant']} {when} {r['term']}"

    records = aes.to_dict(orient="records") if len(aes) else []
    serious = [item(r) for r in records if bool(r.get("serious"))]
    other = [item(r) for r in records if not bool(r.get("serious"))]
    text = (f"{len(records)} adverse event{'' if len(records) == 1 else 's'} over days since "
            "transplant, one row per participant")  # fmt: skip
    if serious:
        text += f"; {len(serious)} serious: " + ", ".join(serious)
    else:
        text += "; none serious"
    if other:
        text += f"; {len(other)} not serious: " + ", ".join(other)
    return text + "."


def kaplan_meier_figure(km: Any) -> Figure:
    """A Kaplan-Meier curve of event-free follow-up (:class:`~cordtrial.analysis.exposure.
    KaplanMeier`): the step function with its 95% pointwise band, censoring marks, and the
    numbers at risk written under the axis at each event or censoring day."""
    fig = _figure(6.0, 3.4)
    fig.subplots_adjust(left=0.12, right=0.96, bottom=0.3, top=0.88)
    ax = fig.subplots()
    table = km.table
    days = [0.0, *table["day"].astype(float)]
    surv = [1.0, *table["event-free"].astype(float)]
    low = [1.0, *table["low 95%"].astype(float)]
    high = [1.0, *table["high 95%"].astype(float)]
    ax.step(days, surv, where="post", color=_OTHER, linewidth=1.8)
    ax.fill_between(days, low, high, step="post", color=_OTHER, alpha=0.15, linewidth=0)
    censored = km.participants[~km.participants["event"].astype(bool)]
    for d in censored["days"].astype(float):
        at = max(i for i, x in enumerate(days) if x <= d)
        ax.plot([d], [surv[at]], marker="|", color="black", markersize=9)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlim(0, max(days) * 1.05 if max(days) > 0 else 1)
    ax.set_xlabel("days since treatment (|: censored at the data cut)")
    ax.set_ylabel(f"free of {km.label}")
    ax.set_title(f"Kaplan-Meier: time to first {km.label} (shaded: 95% interval)", fontsize=9)
    at_risk = "at risk: " + ", ".join(
        f"day {int(d)}: {int(n)}" for d, n in zip(table["day"], table["at risk"], strict=True)
    )
    fig.text(0.12, 0.04, at_risk, fontsize=6, wrap=True)
    return fig


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
