"""Cell product: release of a lot against its specification, and the checks before administration.

A lot is released only when the latest result of every test in its specification version meets
the limit and the lot has not expired. Cells are administered only from a released, unexpired
lot, with the participant's and the product's identity confirmed by a second person -- the
two-person check of cell-therapy practice (FACT-JACIE standards; EU GMP Annex 2A for ATMPs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_number, check_text
from cordtrial.trial.rules.vocabulary import RELEASE_TESTS

__all__ = [
    "FINDINGS",
    "UNITS",
    "AdministrationFacts",
    "ReleaseDecision",
    "ReleaseLimit",
    "ReleaseOutcome",
    "ReleaseResult",
    "check_administration",
    "check_specification",
    "decide_release",
    "format_quantity",
]

#: Units of the numeric release tests.
UNITS: dict[str, str] = {
    "viability": "%",
    "cell_count": "cells",
    "endotoxin": "EU/mL",
    "residual_undifferentiated": "%",
}
#: Possible findings of the qualitative tests.
FINDINGS: dict[str, frozenset[str]] = {
    "sterility": frozenset({"no growth", "growth"}),
    "mycoplasma": frozenset({"negative", "positive"}),
    "karyotype": frozenset({"normal", "abnormal"}),
}


@dataclass(frozen=True, slots=True)
class ReleaseLimit:
    """The limit of one test: numeric bounds (inclusive) or the expected finding."""

    min: float | None = None
    max: float | None = None
    expected: str | None = None

    def describe(self, test: str) -> str:
        """The limit in words (``>= 70 %``, ``negative``)."""
        if self.expected is not None:
            return str(self.expected)
        unit = f" {UNITS.get(test, '')}".rstrip()
        if self.min is not None and self.max is not None:
            return f"{format_quantity(self.min)}-{format_quantity(self.max)}{unit}"
        if self.min is not None:
            return f">= {format_quantity(self.min)}{unit}"
        assert self.max is not None
        return f"<= {format_quantity(self.max)}{unit}"


def check_specification(limits: Mapping[str, Any]) -> dict[str, ReleaseLimit]:
    """Parse a specification's limits (``{test: {"min"|"max"|"expected": ...}}``).

    Raises
    ------
    InvalidValueError
        For an unknown test, a numeric limit on a qualitative test or the reverse, or an empty
        limit.
    """
    if not limits:
        raise InvalidValueError("limits", {}, "a limit for at least one release test", "is empty")
    parsed: dict[str, ReleaseLimit] = {}
    for test, raw in limits.items():
        if test not in RELEASE_TESTS:
            raise InvalidValueError(
                "limits", test, "one of " + ", ".join(sorted(RELEASE_TESTS)), "is not a test"
            )
        if not isinstance(raw, Mapping) or not raw or set(raw) - {"min", "max", "expected"}:
            raise InvalidValueError(f"limits.{test}", raw, '{"min": x, "max": y} or {"expected"}')
        if test in FINDINGS:
            expected = raw.get("expected")
            if set(raw) != {"expected"} or expected not in FINDINGS[test]:
                raise InvalidValueError(
                    f"limits.{test}",
                    raw,
                    '{"expected": one of ' + ", ".join(sorted(FINDINGS[test])) + "}",
                )
            parsed[test] = ReleaseLimit(expected=expected)
            continue
        if "expected" in raw:
            raise InvalidValueError(f"limits.{test}", raw, f"numeric bounds in {UNITS[test]}")
        low = raw.get("min")
        high = raw.get("max")
        low = None if low is None else check_number(f"limits.{test}.min", low, low=0)
        high = None if high is None else check_number(f"limits.{test}.max", high, low=0)
        if low is not None and high is not None and high < low:
            raise InvalidValueError(f"limits.{test}.max", high, f">= the minimum {low:g}")
        parsed[test] = ReleaseLimit(min=low, max=high)
    return parsed


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """A release test result: a number or a finding."""

    test: str
    value: float | None = None
    finding: str | None = None


def format_quantity(value: float) -> str:
    """A number as people read it on a certificate: ``70``, ``0.5``, and large counts in
    scientific notation, ``2.4 x 10^7`` (never ``2.4e+07``)."""
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        exponent = math.floor(math.log10(abs(value)))
        mantissa = f"{value / 10**exponent:.3g}"
        if mantissa in {"10", "-10"}:  # 9.999e6 rounds up to the next power of ten
            mantissa, exponent = mantissa[:-1], exponent + 1
        return f"{mantissa} x 10^{exponent}"
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class ReleaseOutcome:
    """One test judged against its limit; ``pending`` when it has no result yet (it blocks
    release, but it has not failed)."""

    test: str
    passed: bool
    detail: str
    pending: bool = False

    @property
    def state(self) -> str:
        """``pass``, ``fail`` or ``pending`` (no result yet)."""
        return "pass" if self.passed else "pending" if self.pending else "fail"

    def to_json(self) -> dict[str, Any]:
        """As stored with the lot."""
        return {
            "test": self.test,
            "passed": self.passed,
            "pending": self.pending,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class ReleaseDecision:
    """Releasable when every test passed and the lot has not expired."""

    releasable: bool
    outcomes: tuple[ReleaseOutcome, ...]

    @property
    def failures(self) -> tuple[ReleaseOutcome, ...]:
        """The outcomes that stand in the way of release."""
        return tuple(o for o in self.outcomes if not o.passed)


def _judge(test: str, limit: ReleaseLimit, result: ReleaseResult | None) -> ReleaseOutcome:
    wanted = limit.describe(test)
    name = test.replace("_", " ")
    if result is None:
        return ReleaseOutcome(
            test, False, f"{name}: pending, no result yet (required {wanted})", pending=True
        )
    if limit.expected is not None:
        passed = result.finding == limit.expected
        return ReleaseOutcome(test, passed, f"{name}: {result.finding} (required {wanted})")
    if result.value is None:
        return ReleaseOutcome(
            test, False, f"{name}: pending, no numeric result yet (required {wanted})", pending=True
        )
    passed = (limit.min is None or result.value >= limit.min) and (
        limit.max is None or result.value <= limit.max
    )
    unit = f" {UNITS[test]}"
    shown = format_quantity(result.value)
    return ReleaseOutcome(test, passed, f"{name}: {shown}{unit} (required {wanted})")


def decide_release(
    limits: Mapping[str, ReleaseLimit],
    results: Sequence[ReleaseResult],
    expiry_date: date,
    today: date,
) -> ReleaseDecision:
    """Judge a lot's results (the last result of each test counts: a valid retest replaces it)
    against its specification, and its expiry date against ``today``."""
    latest: dict[str, ReleaseResult] = {r.test: r for r in results}
    outcomes = [_judge(test, limit, latest.get(test)) for test, limit in sorted(limits.items())]
    not_expired = today <= expiry_date
    outcomes.append(
        ReleaseOutcome(
            "expiry",
            not_expired,
            f"expiry {expiry_date.isoformat()} ({'not ' if not_expired else ''}"
            f"expired on {today.isoformat()})",
        )
    )
    return ReleaseDecision(all(o.passed for o in outcomes), tuple(outcomes))


@dataclass(frozen=True, slots=True)
class AdministrationFacts:
    """What is checked before cells are given."""

    lot_number: str
    lot_status: str
    lot_expiry: date
    administered_on: date
    operator: str
    identity_checked_by: str
    participant_identity_confirmed: bool
    product_identity_confirmed: bool


def check_administration(facts: AdministrationFacts) -> tuple[str, ...]:
    """Every reason the administration must not go ahead (empty: it may).

    Refused when the lot is not released, has expired on the day of administration, or the
    second-person identity check is missing, done by the operator, or not confirmed for the
    participant or the product.
    """
    reasons: list[str] = []
    if facts.lot_status != "released":
        reasons.append(f"lot {facts.lot_number} is {facts.lot_status}, not released")
    if facts.administered_on > facts.lot_expiry:
        reasons.append(f"lot {facts.lot_number} expired on {facts.lot_expiry.isoformat()}")
    operator = check_text("operator", facts.operator, max_length=100, required=False)
    checker = check_text(
        "identity_checked_by", facts.identity_checked_by, max_length=100, required=False
    )
    if not operator:
        reasons.append("no operator named")
    if not checker:
        reasons.append("no second person named for the identity check")
    elif checker.casefold() == operator.casefold():
        reasons.append("the identity check must be done by a second person, not the operator")
    if not facts.participant_identity_confirmed:
        reasons.append("participant identity not confirmed")
    if not facts.product_identity_confirmed:
        reasons.append(f"product label not confirmed against lot {facts.lot_number}")
    return tuple(reasons)
