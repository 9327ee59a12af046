"""Visit windows: status as a pure function of schedule, day 0, today and the done date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.schedule import (
    VisitSpec,
    check_schedule,
    visit_state,
    visit_status,
    visit_window,
)

DAY0 = date(2026, 2, 1)
WEEK2 = VisitSpec("week 2", 14, 3, 3)  # target 2026-02-15, window 02-12 .. 02-18


def test_window_is_target_day_plus_minus_window() -> None:
    window = visit_window(WEEK2, DAY0)
    assert (window.target, window.opens, window.closes) == (
        date(2026, 2, 15), date(2026, 2, 12), date(2026, 2, 18),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 2, 11), "scheduled"),
        (date(2026, 2, 12), "due"),
        (date(2026, 2, 18), "due"),
        (date(2026, 2, 19), "overdue"),
    ],
)
def test_status_before_the_visit_follows_the_window(today: date, expected: str) -> None:
    assert visit_status(WEEK2, DAY0, today, None) == expected


@pytest.mark.parametrize(
    ("done_on", "expected"),
    [
        (date(2026, 2, 12), "done"),
        (date(2026, 2, 18), "done"),
        (date(2026, 2, 11), "out of window"),
        (date(2026, 2, 25), "out of window"),
    ],
)
def test_status_of_a_done_visit_depends_on_its_date_not_today(done_on: date, expected: str) -> None:
    assert visit_status(WEEK2, DAY0, date(2027, 1, 1), done_on) == expected


def test_negative_target_day_schedules_before_day0() -> None:
    screening = VisitSpec("screening", -7, 7, 0)
    window = visit_window(screening, DAY0)
    assert (window.opens, window.closes) == (DAY0 - timedelta(days=14), DAY0 - timedelta(days=7))


def test_zero_width_window_is_due_only_on_the_day() -> None:
    day0 = VisitSpec("day 0", 0)
    assert visit_status(day0, DAY0, DAY0, None) == "due"
    assert visit_status(day0, DAY0, DAY0 + timedelta(days=1), None) == "overdue"


def test_negative_window_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidValueError, match=r"visit.window_plus: -1 is out of range"):
        VisitSpec("week 2", 14, 3, -1)


def test_schedule_is_sorted_and_names_are_unique() -> None:
    assert [v.name for v in check_schedule([WEEK2, VisitSpec("day 0", 0)])] == ["day 0", "week 2"]
    with pytest.raises(InvalidValueError, match="is repeated"):
        check_schedule([WEEK2, VisitSpec("week 2", 15)])


# --- a visit's state from what the protocol requires at it -------------------------------------

WEEK12 = VisitSpec("week 12", 84, 7, 7, ("isncsci", "scim"))  # window 2026-04-19 .. 05-03


def test_visit_with_every_required_item_is_done_on_the_last_item_date() -> None:
    state = visit_state(
        WEEK12, DAY0, date(2026, 4, 25), done_on=None,
        recorded={"isncsci": date(2026, 4, 24), "scim": date(2026, 4, 26)},
    )  # fmt: skip
    assert (state.status, state.done_on, state.missing) == ("done", date(2026, 4, 26), ())


def test_visit_with_some_required_items_is_partly_done_and_lists_what_is_missing() -> None:
    state = visit_state(
        WEEK12, DAY0, date(2026, 4, 25), done_on=None, recorded={"isncsci": date(2026, 4, 24)}
    )
    assert (state.status, state.missing) == ("partly done", ("SCIM III",))


def test_an_item_not_required_does_not_make_a_visit_partly_done() -> None:
    state = visit_state(
        WEEK12, DAY0, date(2026, 4, 25), done_on=None, recorded={"wisci": date(2026, 4, 24)}
    )
    assert (state.status, state.missing) == ("due", ("ISNCSCI exam", "SCIM III"))


def test_visit_done_after_its_window_is_out_of_window_by_days_late() -> None:
    state = visit_state(
        WEEK12, DAY0, date(2026, 6, 1), done_on=None,
        recorded={"isncsci": date(2026, 5, 6), "scim": date(2026, 5, 6)},
    )  # fmt: skip
    assert (state.status, state.days_outside) == ("out of window", 3)
    assert state.label == "out of window (3 days late)"


def test_visit_done_before_its_window_is_out_of_window_by_days_early() -> None:
    state = visit_state(
        WEEK2, DAY0, date(2026, 3, 1), done_on=date(2026, 2, 11), recorded={}, requires=()
    )
    assert (state.status, state.days_outside, state.label) == (
        "out of window", -1, "out of window (1 day early)",
    )  # fmt: skip


def test_missed_visit_shows_its_reason_and_what_was_not_done() -> None:
    state = visit_state(
        WEEK12, DAY0, date(2026, 6, 1), done_on=None, recorded={}, missed_reason="in hospital"
    )
    assert (state.status, state.label, state.missing) == (
        "missed", "missed: in hospital", ("ISNCSCI exam", "SCIM III"),
    )  # fmt: skip


def test_unknown_required_item_is_refused_naming_it() -> None:
    with pytest.raises(InvalidValueError, match=r"visit.requires: 'gait' is not allowed"):
        VisitSpec("week 2", 14, requires=("gait",))
