"""Figures for reports and web pages: AIS shift diagram, motor-score trajectories with the
natural-history band, adverse-event timeline.

matplotlib is imported inside the functions (the analysis can be used without it), and figures
are built with :class:`matplotlib.figure.Figure` directly -- no pyplot, no global state -- so
they can be drawn in a web server's threads. :func:`figure_png` and :func:`figure_svg` render a
figure to bytes / text for embedding.
"""

from __future__ import annotations

import bisect
import io
import itertools
import math
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from cordtrial.analysis.endpoints import AIS_GRADES, LAST, last_observed, parse_grades
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.frames import records as frame_records
from cordtrial.analysis.natural_history import MotorChangeFigure, motor_change_figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "HIGHLIGHTED_PARTICIPANTS",
    "PER_PARTICIPANT_LIMIT",
    "ae_cumulative_incidence_figure",
    "ae_heatmap_figure",
    "ae_label",
    "ae_summary_description",
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
#: Participants up to which a figure draws one line or row each (:func:`ae_timeline_figure`,
#: :func:`motor_trajectories_figure`): at the timeline's 0.5 inch a row, 40 rows fill one A4
#: page; above it the figures draw aggregated views (:func:`ae_heatmap_figure`,
#: :func:`ae_cumulative_incidence_figure`, medians with interquartile bands).
PER_PARTICIPANT_LIMIT: Final = 40
#: Participants picked out by name in the aggregated motor figure.
HIGHLIGHTED_PARTICIPANTS: Final = 3
#: Vertical room of one study-id label at a line's end (points).
_END_LABEL_GAP_PT = 8.0
_HIGHLIGHT_COLOURS = ("#d95f02", "#7570b3", "#1b9e77")


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
    max_participants: int = PER_PARTICIPANT_LIMIT,
) -> Figure:
    """Change from baseline of motor scores with the published spontaneous one-year change
    where it applies: one line per participant up to ``max_participants`` (each labelled with
    its study id at its end, never in a legend), above it the median with the interquartile
    band per visit and the participants with the largest gain and the largest loss picked out
    (:data:`HIGHLIGHTED_PARTICIPANTS`).

    With ``participants`` (``participant``, ``injury_date``, ``injury_level``) the time axis is
    days since injury -- the axis of the published figures -- and a published change is drawn
    only for the participants in its population (:meth:`MotorChangeFigure.applies_to`: the
    default Kirshblum 2022 figures are cervical AIS A with UEMS <= 20 per side, UEMS +7.8 +/- 6.5
    and LEMS +2.3 +/- 7.4 at 377.5 +/- 93.4 days); participants outside it are drawn dashed.
    The mean is a line over the published timing (mean +/- SD days); the +/- 1 SD band is
    drawn only where mean - SD >= 0 (a larger SD means a skewed change, and a symmetric band
    below zero would misdescribe it). Without ``participants``, the axis is days since
    transplant and no published change is drawn (its population cannot be checked).
    Ranges left open by NT are vertical bars (per-participant view); the aggregated view takes
    each range's middle. One legend, of kinds of line only, serves every panel.
    """
    if bands is None:
        bands = {f.score: f for f in motor_change_figures()}
    observed = endpoints[endpoints["status"] == "observed"]
    people = sorted({str(p) for p in observed["participant"]})
    aggregated = len(people) > max_participants
    info: dict[str, dict[Any, Any]] = {}
    if participants is not None:
        info = {str(r["participant"]): r for r in frame_records(participants)}
    base_of = {str(r["participant"]): r
               for r in frame_records(observed.groupby("participant").head(1))}  # fmt: skip
    legend_width = 2.6
    # per participant, the figure grows so that every end label has its own line of text
    height = 3.6 if aggregated else max(3.6, 1.3 + len(people) * _END_LABEL_GAP_PT / 72)
    width = 4.2 * len(scores) + legend_width
    fig = _figure(width, height)
    fig.subplots_adjust(left=0.7 / width, right=1 - (legend_width + 0.15) / width,
                        bottom=0.6 / height, top=1 - 0.36 / height, wspace=0.3)  # fmt: skip
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

    days_all = _motor_days(observed, info)
    highlighted = _extremes(observed, scores) if aggregated else []
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
        lo = observed[f"{score}_change_min"].astype(float)
        hi = observed[f"{score}_change_max"].astype(float)
        mid = (lo + hi) / 2
        if aggregated:
            _median_band(ax, observed, days_all, mid, handles)
        ends: list[tuple[float, float, str, str]] = []
        # aggregated: only the highlighted participants' rows are grouped (not a frame for
        # each of hundreds of participants, each passed over)
        drawn = (observed[observed["participant"].astype(str).isin(highlighted)]
                 if aggregated else observed)  # fmt: skip
        for pid, g in drawn.groupby("participant", sort=True):
            days = days_all[g.index]
            c = colour[str(pid)]
            outside = band is not None and str(pid) not in inside
            kind = ("participant (dashed: outside the published population)"
                    if band is not None else "participant")  # fmt: skip
            if aggregated:
                c = _HIGHLIGHT_COLOURS[highlighted.index(str(pid)) % len(_HIGHLIGHT_COLOURS)]
                kind = "participants with the largest gain and loss"
            line = ax.plot(days, mid[g.index], marker="o", markersize=3, color=c,
                           linewidth=1.0 if aggregated else 1.5,
                           linestyle="--" if outside else "-",
                           gid=f"participant {pid}")[0]  # fmt: skip
            handles.setdefault(kind, line)
            open_ = (hi[g.index] - lo[g.index]) > 0
            if open_.any() and not aggregated:
                ax.vlines(days[open_], lo[g.index][open_], hi[g.index][open_], color=c, alpha=0.6)
            if days.notna().any():
                last = int(np.nanargmax(days.to_numpy()))
                ends.append((float(days.iloc[last]), float(mid[g.index].iloc[last]), str(pid), c))
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xlabel("days since injury" if participants is not None else
                      "days since transplant")  # fmt: skip
        ax.set_ylabel(f"change in {score.upper()} (points)")
        summary = f" (median and interquartile range, {len(people)} participants)"
        ax.set_title(score.upper() + (summary if aggregated else ""), fontsize=9)
        _label_ends(fig, ax, ends)
    if handles:
        fig.legend(list(handles.values()), list(handles.keys()), loc="center left",
                   bbox_to_anchor=(1 - legend_width / width, 0.5), fontsize=6,
                   frameon=False)  # fmt: skip
    return fig


def _motor_days(observed: pd.DataFrame, info: dict[str, dict[Any, Any]]) -> pd.Series:
    """Days since injury of each exam (``info`` gives the injury dates), else the ``day``
    column (days since transplant)."""
    if not info:
        return observed["day"].astype(float)
    out = []
    for pid, on, day in zip(observed["participant"], observed["examined_on"], observed["day"],
                            strict=True):  # fmt: skip
        injured = info.get(str(pid), {}).get("injury_date")
        out.append((on - injured).days if isinstance(injured, date) and isinstance(on, date)
                   else _num(day))  # fmt: skip
    return pd.Series(out, index=observed.index, dtype=float)


def _median_band(
    ax: Any, observed: pd.DataFrame, days: pd.Series, mid: pd.Series, handles: dict[str, Any]
) -> None:
    """The median change and its interquartile range at each visit (by day where the exams
    carry no visit), drawn at the visit's median day."""
    visit = observed["visit"] if "visit" in observed.columns else None
    key = visit if visit is not None and (visit.astype(str) != "").all() else days.round()
    frame = pd.DataFrame({"key": key, "day": days, "mid": mid}).dropna()
    stats = frame.groupby("key", sort=False).agg(
        day=("day", "median"), median=("mid", "median"),
        q1=("mid", lambda v: v.quantile(0.25)), q3=("mid", lambda v: v.quantile(0.75)),
    ).sort_values("day")  # fmt: skip
    handles["interquartile range"] = ax.fill_between(
        stats["day"], stats["q1"], stats["q3"], color=_OTHER, alpha=0.25, linewidth=0,
        gid="interquartile-band",
    )  # fmt: skip
    handles["median change"] = ax.plot(stats["day"], stats["median"], color=_OTHER, linewidth=2,
                                       marker="o", markersize=4, gid="median")[0]  # fmt: skip


def _extremes(observed: pd.DataFrame, scores: tuple[str, ...]) -> list[str]:
    """The participants picked out in the aggregated motor figure: the largest total gain and
    the largest total loss at the last exam (the sum of the scores' middle change)."""
    last = observed.sort_values("day", kind="stable").groupby("participant").tail(1)
    total = sum(
        (last[f"{s}_change_min"].astype(float) + last[f"{s}_change_max"].astype(float)) / 2
        for s in scores
    )
    ranked = [str(p) for p in last.assign(total=total).dropna(subset=["total"])
              .sort_values(["total", "participant"])["participant"]]  # fmt: skip
    picks = ranked[-HIGHLIGHTED_PARTICIPANTS + 1 :][::-1] + ranked[:1]
    return list(dict.fromkeys(picks))[:HIGHLIGHTED_PARTICIPANTS]


def _label_ends(fig: Figure, ax: Any, ends: list[tuple[float, float, str, str]]) -> None:
    """Each line's study id written just right of its last point, moved apart vertically so
    that no two overlap (the axis widens and heightens to hold them)."""
    if not ends:
        return
    y0, y1 = ax.get_ylim()
    x0, x1 = ax.get_xlim()
    height_pt = ax.get_position().height * fig.get_size_inches()[1] * 72
    gap = _END_LABEL_GAP_PT / height_pt * (y1 - y0)
    for _ in range(3):  # widening the axis for the labels changes the gap in data units
        ys = _spread([y for _, y, _, _ in ends], gap)
        lo, hi = min([y0, *ys]) - gap / 2, max([y1, *ys]) + gap / 2
        gap = _END_LABEL_GAP_PT / height_pt * (hi - lo)
    ys = _spread([y for _, y, _, _ in ends], gap)
    ax.set_ylim(min([y0, *ys]) - gap / 2, max([y1, *ys]) + gap / 2)
    ax.set_xlim(x0, x1 + 0.16 * (x1 - x0))
    for (x, _, pid, c), y_label in zip(ends, ys, strict=True):
        ax.text(x + 0.02 * (x1 - x0), y_label, pid, fontsize=6, color=c, va="center",
                ha="left", gid=f"label {pid}")  # fmt: skip


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
        for rec in frame_records(frame):
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

    records = frame_records(aes) if len(aes) else []
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


def _category_word(category: Any) -> str:
    from cordtrial.trial.rules.vocabulary import word

    return word(category) if isinstance(category, str) and category else "not recorded"


def ae_heatmap_figure(aes: pd.DataFrame, *, max_bins: int = 24) -> Figure:
    """Adverse events counted by category (rows, the trial's organ-class grouping of events) and
    by onset, in 30-day periods since transplant (columns; wider periods when more than
    ``max_bins`` would be needed), each cell's count written in it. Readable at any number of
    participants: the size depends on the categories and the follow-up, not on the cohort."""
    frame = aes[pd.to_numeric(aes["onset_day"], errors="coerce").notna()] if len(aes) else aes
    days = pd.to_numeric(frame["onset_day"], errors="coerce") if len(frame) else pd.Series([0.0])
    lo, hi = min(float(days.min()), 0.0), max(float(days.max()), 1.0)
    width_days = 30 * max(1, math.ceil((hi - lo) / 30 / max_bins))
    first = math.floor(lo / width_days)
    bins = max(1, math.floor(hi / width_days) - first + 1)
    categories = sorted({str(c) for c in frame["category"]}) if len(frame) else []
    counts = [[0] * bins for _ in categories]
    row = {c: i for i, c in enumerate(categories)}
    for category, day in zip(frame.get("category", []), days if len(frame) else [], strict=True):
        counts[row[str(category)]][math.floor(day / width_days) - first] += 1
    fig = _figure(9.0, 1.6 + 0.32 * max(len(categories), 1))
    height = fig.get_size_inches()[1]
    fig.subplots_adjust(left=0.24, right=0.9, bottom=0.95 / height, top=1 - 0.35 / height)
    ax = fig.subplots()
    most = max((max(r) for r in counts), default=0)
    image = ax.imshow(counts or [[0] * bins], aspect="auto", cmap="Reds", vmin=0,
                      vmax=max(most, 1), interpolation="nearest")  # fmt: skip
    for i, counts_row in enumerate(counts):
        for j, n in enumerate(counts_row):
            if n and bins <= max_bins:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=6,
                        color="white" if n > most * 0.6 else "black")  # fmt: skip
    ax.set_yticks(range(len(categories)), [_category_word(c) for c in categories], fontsize=7)
    starts = [(first + j) * width_days for j in range(bins)]
    step = max(1, math.ceil(bins / 12))
    ax.set_xticks(range(0, bins, step), [str(d) for d in starts[::step]], fontsize=7)
    ax.set_xlabel(f"onset, days since transplant (periods of {width_days} days, each labelled "
                  "by its first day)", fontsize=8)  # fmt: skip
    ax.set_title(f"Adverse events by category and time of onset ({len(frame)} events)",
                 fontsize=10)  # fmt: skip
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02).set_label("events", fontsize=7)
    return fig


def ae_cumulative_incidence_figure(
    aes: pd.DataFrame, participants: pd.DataFrame, data_cut: date | None
) -> Figure:
    """Cumulative incidence of a first adverse event of each category over days since
    treatment: 1 - the Kaplan-Meier estimate of event-free follow-up (Kaplan EL, Meier P. J Am
    Stat Assoc 1958;53:457-481), each treated participant (``treated_on``, else
    ``transplant_date``) censored at ``data_cut``. Death is not treated as a competing risk (an
    overestimate where deaths occur). One line per category, never per participant."""
    start_col = "treated_on" if "treated_on" in participants.columns else "transplant_date"
    start = {str(p): d for p, d in zip(participants["participant"], participants[start_col],
                                       strict=True) if isinstance(d, date)}  # fmt: skip
    followed = {p: (data_cut - d).days for p, d in start.items()} if data_cut else {}
    first: dict[str, dict[str, float]] = {}
    for pid, category, onset in zip(
        aes.get("participant", []), aes.get("category", []), aes.get("onset_date", []),
        strict=True,
    ):  # fmt: skip
        pid = str(pid)
        if pid in start and isinstance(onset, date):
            day = float((onset - start[pid]).days)
            if day >= 0:
                seen = first.setdefault(str(category), {})
                seen[pid] = min(day, seen.get(pid, day))
    fig = _figure(8.0, 3.8)
    fig.subplots_adjust(left=0.09, right=0.68, bottom=0.14, top=0.9)
    ax = fig.subplots()
    palette = _palette(len(first))
    for i, category in enumerate(sorted(first)):
        times, curve = _cumulative_incidence(first[category], followed)
        ax.step(times, curve, where="post", color=palette[i % len(palette)], linewidth=1.6,
                label=f"{_category_word(category)} ({len(first[category])})")  # fmt: skip
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel("days since treatment (censored at the data cut)")
    ax.set_ylabel("participants with a first event")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title(f"Cumulative incidence by category ({len(followed)} treated)", fontsize=10)
    if first:
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7, frameon=False,
                  title="category (participants)", title_fontsize=7)  # fmt: skip
    return fig


def _cumulative_incidence(
    events: dict[str, float], followed: dict[str, int]
) -> tuple[list[float], list[float]]:
    """Times and 1 - S(t) of the product-limit estimate: ``events`` the first event day by
    participant, ``followed`` the days each participant was followed (the censoring time of
    those without an event)."""
    times = {p: events.get(p, float(d)) for p, d in followed.items()}
    for p, d in events.items():
        times.setdefault(p, d)
    # (day, 1 if an event else 0), by day
    ordered = sorted((t, int(events.get(p) == t)) for p, t in times.items())
    at_risk = len(ordered)
    surviving = 1.0
    xs, ys = [0.0], [0.0]
    for day, group in itertools.groupby(ordered, key=lambda item: item[0]):
        flags = [flag for _, flag in group]
        if sum(flags) and at_risk:
            surviving *= 1 - sum(flags) / at_risk
            xs.append(day)
            ys.append(1 - surviving)
        at_risk -= len(flags)
    xs.append(max([*times.values(), 0.0]))
    ys.append(ys[-1])
    return xs, ys


def ae_summary_description(aes: pd.DataFrame) -> str:
    """The aggregated AE figures in words: events and participants by category, serious
    events by category (the page's text twin of :func:`ae_heatmap_figure`)."""
    if not len(aes):
        return "No adverse event recorded."
    parts = []
    for category, g in aes.groupby("category", sort=True):
        serious = int(g["serious"].astype(bool).sum())
        parts.append(f"{_category_word(category)}: {len(g)} in {g['participant'].nunique()} "
                     f"participants, {serious} serious")  # fmt: skip
    return (f"{len(aes)} adverse events in {aes['participant'].nunique()} participants, by "
            "category: " + "; ".join(parts) + ".")  # fmt: skip


def kaplan_meier_figure(km: Any) -> Figure:
    """A Kaplan-Meier curve of event-free follow-up (:class:`~cordtrial.analysis.exposure.
    KaplanMeier`): the step function with its 95% pointwise band, censoring marks, and a row of
    numbers at risk under the axis, one under each day marked on it (participants still
    followed and free of the event at that day), as a Kaplan-Meier figure is conventionally
    printed: a handful of numbers whatever the size of the trial (every event or censoring day
    is in the report's table, not in the figure)."""
    fig = _figure(6.0, 3.4)
    fig.subplots_adjust(left=0.14, right=0.96, bottom=0.27, top=0.88)
    ax = fig.subplots()
    table = km.table
    days = [0.0, *table["day"].astype(float)]
    surv = [1.0, *table["event-free"].astype(float)]
    low = [1.0, *table["low 95%"].astype(float)]
    high = [1.0, *table["high 95%"].astype(float)]
    ax.step(days, surv, where="post", color=_OTHER, linewidth=1.8)
    ax.fill_between(days, low, high, step="post", color=_OTHER, alpha=0.15, linewidth=0)
    censored = km.participants[~km.participants["event"].astype(bool)]
    marks = [float(d) for d in censored["days"].astype(float)]
    if marks:
        # each mark on the curve at its day: the last step at or before it (one line of marks,
        # not an artist per participant)
        at = [bisect.bisect_right(days, d) - 1 for d in marks]
        ax.plot(marks, [surv[i] for i in at], linestyle="none", marker="|", color="black",
                markersize=9)  # fmt: skip
    last = max(days)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlim(0, last * 1.05 if last > 0 else 1)
    ax.set_xlabel("days since treatment (|: censored at the data cut)", labelpad=2)
    ax.set_ylabel(f"free of {km.label}")
    ax.set_title(f"Kaplan-Meier: time to first {km.label} (shaded: 95% interval)", fontsize=9)
    ticks = [float(t) for t in ax.xaxis.get_major_locator().tick_values(0, last) if 0 <= t <= last]
    ax.set_xticks(ticks)
    followed = np.sort(km.participants["days"].astype(float).to_numpy())
    under = ax.get_xaxis_transform()  # x in days, y in axes fractions
    ax.text(-0.05, -0.27, "at risk", transform=ax.transAxes, ha="right", va="top", fontsize=7)
    for tick, n in zip(ticks, at_risk_on(followed, ticks), strict=True):
        ax.text(tick, -0.27, f"{n}", transform=under, ha="center", va="top", fontsize=7)
    return fig


def at_risk_on(followed: np.ndarray, days: Sequence[float]) -> list[int]:
    """The number at risk on each of ``days``: participants whose follow-up (to the event or to
    censoring; ``followed`` sorted) reaches that day, the product-limit table's convention
    (:func:`~cordtrial.analysis.exposure.time_to_first_event`)."""
    return [int(len(followed) - np.searchsorted(followed, day, side="left")) for day in days]


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
