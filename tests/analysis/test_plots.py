"""Figures: the natural-history band drawn only where it applies and on its own time axis,
AE timeline labels that never overlap, the timeline's text description (issue 13)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from cordtrial.analysis.endpoints import endpoint_table
from cordtrial.analysis.plots import (
    ae_timeline_description,
    ae_timeline_figure,
    motor_trajectories_figure,
)
from figures import assert_text_inside


def _ep(demo_data, who: list[str]) -> pd.DataFrame:
    ep = endpoint_table(demo_data.exams, participants=demo_data.participants,
                        baseline_visit="screening")  # fmt: skip
    return ep[ep["participant"].isin(who)]


def _band_artists(fig) -> list:
    return [a for ax in fig.axes for a in ax.get_children()
            if (a.get_gid() or "").startswith("natural-history")]  # fmt: skip


def test_kirshblum_band_is_not_drawn_for_thoracic_participants(demo_data):
    """Kirshblum 2022 studied cervical AIS A/B with UEMS <= 20 per side: no band for A-001 (T6)
    and B-002 (T10)."""
    fig = motor_trajectories_figure(_ep(demo_data, ["A-001", "B-002"]),
                                    participants=demo_data.participants)  # fmt: skip
    assert _band_artists(fig) == []


def test_band_and_curves_share_the_days_since_injury_axis(demo_data):
    """The band's timing (377.5 +/- 93.4 days) is since injury: the curves are drawn since
    injury too (A-002's last exam, week 52, counted from her injury date in the store)."""
    fig = motor_trajectories_figure(_ep(demo_data, ["A-002"]),
                                    participants=demo_data.participants)  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_xlabel() == "days since injury"
    days = [x for line in ax.get_lines() if (line.get_gid() or "") == "participant A-002"
            for x in line.get_xdata()]  # fmt: skip
    people = demo_data.participants.set_index("participant")
    exams = demo_data.exams[demo_data.exams["participant"] == "A-002"]
    assert max(days) == (max(exams["examined_on"]) - people.loc["A-002", "injury_date"]).days
    assert _band_artists(fig)


def test_band_never_goes_below_zero(demo_data):
    """LEMS 2.3 +/- 7.4 (Kirshblum 2022): mean - SD is -5.1, so the SD is not drawn as a band."""
    fig = motor_trajectories_figure(_ep(demo_data, ["A-002", "B-001"]),
                                    participants=demo_data.participants)  # fmt: skip
    FigureCanvasAgg(fig).draw()
    for artist in _band_artists(fig):
        for path in artist.get_paths() if hasattr(artist, "get_paths") else []:
            assert path.vertices[:, 1].min() >= 0
        if hasattr(artist, "get_ydata"):
            assert min(artist.get_ydata()) >= 0


def _crowded() -> tuple[pd.DataFrame, pd.DataFrame]:
    start = date(2026, 1, 1)
    rows = []
    for i, day in enumerate((10, 12, 14, 15, 17, 60, 61, 200, 201, 203)):
        rows.append({"participant": f"X-00{i % 2}", "term": f"Event number {i} (synthetic)",
                     "onset_day": day, "onset_date": start + timedelta(days=day),
                     "resolution_date": None, "serious": i == 3, "related": False,
                     "ctcae_grade": 2})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame({"participant": ["X-000", "X-001"]})


def test_ae_timeline_labels_never_overlap_when_events_crowd():
    aes, people = _crowded()
    fig = ae_timeline_figure(aes, people)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == len(aes)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1
            assert not overlap, (a, b)


def test_timeline_description_lists_only_serious_events_as_serious(demo_data):
    """Issue 13: the page said "1 serious:" and then listed all four events."""
    text = ae_timeline_description(demo_data.adverse_events)
    serious_part = text.split("1 serious:")[1].split(";")[0]
    assert "Syrinx" in serious_part
    assert "Urinary" not in text.split("not serious:")[0]
    assert "3 not serious:" in text and "Urinary tract infection" in text


def test_motor_figure_with_the_band_keeps_its_text_inside(demo_data):
    fig = motor_trajectories_figure(_ep(demo_data, ["A-001", "A-002", "B-001", "B-002"]),
                                    participants=demo_data.participants)  # fmt: skip
    assert _band_artists(fig)
    assert_text_inside(fig)


def test_kaplan_meier_numbers_at_risk_stay_a_few_readable_numbers_at_500_participants():
    """Issue 17: at 500 participants the figure's at-risk text listed every event or censoring
    day (hundreds of "day N: M", cut off at the top of the figure and over the curve). Now a
    row of numbers under the axis, one under each day marked on it, each the participants whose
    follow-up reaches that day, all inside the figure."""
    import numpy as np

    from cordtrial.analysis.exposure import time_to_first_event
    from cordtrial.analysis.plots import at_risk_on, kaplan_meier_figure

    rng = np.random.default_rng(17)
    start = date(2025, 1, 6)
    ends = [start + timedelta(days=int(d)) for d in rng.integers(30, 720, 500)]
    follow_up = pd.DataFrame({"participant": [f"P{i:03d}" for i in range(500)],
                              "treated on": [start] * 500, "follow-up ends": ends,
                              "days": [(end - start).days for end in ends]})  # fmt: skip
    events = pd.DataFrame({
        "participant": [f"P{i:03d}" for i in range(0, 500, 3)],
        "onset_date": [start + timedelta(days=int(d)) for d in rng.integers(1, 30, 167)],
        "serious": [True] * 167, "category": ["other"] * 167,
    })  # fmt: skip
    km = time_to_first_event(events, follow_up, label="serious adverse event", serious_only=True)
    assert len(km.table) > 200  # the old text had one entry per row of this table
    fig = kaplan_meier_figure(km)
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text() != "at risk"]
    ticks = list(ax.get_xticks())
    assert 3 <= len(texts) <= 10
    assert [t.get_position()[0] for t in texts] == ticks
    followed = km.participants["days"].astype(float).to_numpy()
    expected = [int((followed >= day).sum()) for day in ticks]
    assert [int(t.get_text()) for t in texts] == expected
    assert expected[0] == 500 and expected == sorted(expected, reverse=True)
    assert at_risk_on(np.sort(followed), ticks) == expected
    assert not [t for t in fig.texts if "day " in t.get_text()]  # no list of days any more
    assert_text_inside(fig)
    # the row of numbers lies below the axis's label, not on the curve
    renderer = FigureCanvasAgg(fig).get_renderer()
    label_box = ax.xaxis.label.get_window_extent(renderer)
    for text in texts:
        assert text.get_window_extent(renderer).y1 <= label_box.y0
