"""Small checks shared by the rules: each raises InvalidValueError naming field, value, allowed."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date, datetime

from cordtrial.trial.errors import InvalidValueError

__all__ = [
    "MAX_REASON_LENGTH",
    "check_choice",
    "check_date",
    "check_int",
    "check_moment",
    "check_number",
    "check_text",
]


#: The longest reason for a change (audit trail) accepted: a paragraph.
MAX_REASON_LENGTH = 1000


def check_text(field: str, value: object, *, max_length: int = 200, required: bool = True) -> str:
    """A non-blank string of at most ``max_length`` characters (surrounding spaces removed).
    A text too long is shown in the error by its start and length, not whole."""
    allowed = f"text of 1-{max_length} characters"
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidValueError(field, value, allowed, "is not text")
    text = value.strip()
    if not text and required:
        raise InvalidValueError(field, value, allowed, "is empty")
    if len(text) > max_length:
        shown = f"{text[:20]}... ({len(text)} characters)"
        raise InvalidValueError(field, shown, allowed, "is too long")
    return text


def check_choice(field: str, value: object, choices: Collection[str]) -> str:
    """One of a fixed vocabulary."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidValueError(field, value, "one of " + ", ".join(sorted(choices)))
    return value


def check_int(field: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool) within ``[low, high]`` (either bound may be open)."""
    allowed = _range_text("an integer", low, high)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(field, value, allowed, "is not an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidValueError(field, value, allowed, "is out of range")
    return value


def check_number(
    field: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    unit: str = "",
) -> float:
    """A finite real number ``>= low`` (``> low`` when ``low_open``) and ``<= high``."""
    suffix = f" {unit}" if unit else ""
    if low is not None and low_open:
        allowed = f"a number > {low:g}{suffix}"
    else:
        allowed = _range_text("a number", low, high) + suffix
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValueError(field, value, allowed, "is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidValueError(field, value, allowed, "is not finite")
    too_low = low is not None and (number <= low if low_open else number < low)
    if too_low or (high is not None and number > high):
        raise InvalidValueError(field, value, allowed, "is out of range")
    return number


def check_date(field: str, value: object, *, not_before: date | None = None) -> date:
    """A calendar date (not a datetime), optionally not before another date."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValueError(field, value, "a date (YYYY-MM-DD)", "is not a date")
    if not_before is not None and value < not_before:
        raise InvalidValueError(
            field, value, f"a date on or after {not_before.isoformat()}", "is too early"
        )
    return value


def check_moment(field: str, value: object) -> datetime:
    """A timezone-aware datetime."""
    allowed = "a date and time with a time zone"
    if not isinstance(value, datetime):
        raise InvalidValueError(field, value, allowed, "is not a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValueError(field, value, allowed, "has no time zone")
    return value


def _range_text(kind: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{kind} {low:g}-{high:g}"
    if low is not None:
        return f"{kind} >= {low:g}"
    if high is not None:
        return f"{kind} <= {high:g}"
    return kind
