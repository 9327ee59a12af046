"""Lot release against the specification; checks before administration."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.product import (
    AdministrationFacts,
    ReleaseResult,
    check_administration,
    check_specification,
    decide_release,
    format_quantity,
)

SPEC = check_specification(
    {
        "viability": {"min": 70},
        "cell_count": {"min": 1e6, "max": 2e7},
        "sterility": {"expected": "no growth"},
        "mycoplasma": {"expected": "negative"},
        "endotoxin": {"max": 0.5},
        "residual_undifferentiated": {"max": 0.01},
        "karyotype": {"expected": "normal"},
    }
)
PASSING = [
    ReleaseResult("viability", 85.0),
    ReleaseResult("cell_count", 5e6),
    ReleaseResult("sterility", finding="no growth"),
    ReleaseResult("mycoplasma", finding="negative"),
    ReleaseResult("endotoxin", 0.1),
    ReleaseResult("residual_undifferentiated", 0.001),
    ReleaseResult("karyotype", finding="normal"),
]
EXPIRY = date(2026, 6, 30)
TODAY = date(2026, 3, 1)


def test_lot_meeting_every_limit_is_releasable() -> None:
    decision = decide_release(SPEC, PASSING, EXPIRY, TODAY)
    assert decision.releasable
    assert len(decision.outcomes) == 8  # seven tests and the expiry date


def test_each_failure_is_named_with_value_and_limit() -> None:
    results = [
        *PASSING,
        ReleaseResult("viability", 65.0),
        ReleaseResult("mycoplasma", finding="positive"),
    ]
    decision = decide_release(SPEC, results, EXPIRY, TODAY)
    assert not decision.releasable
    assert [o.detail for o in decision.failures] == [
        "mycoplasma: positive (required negative)",
        "viability: 65 % (required >= 70 %)",
    ]


def test_missing_test_blocks_release() -> None:
    decision = decide_release(SPEC, PASSING[1:], EXPIRY, TODAY)
    assert [o.detail for o in decision.failures] == [
        "viability: pending, no result yet (required >= 70 %)"
    ]
    assert [o.state for o in decision.failures] == ["pending"]


def test_latest_result_of_a_test_counts() -> None:
    results = [ReleaseResult("viability", 60.0), *PASSING]
    assert decide_release(SPEC, results, EXPIRY, TODAY).releasable


def test_expired_lot_is_not_releasable() -> None:
    decision = decide_release(SPEC, PASSING, EXPIRY, date(2026, 7, 1))
    assert [o.test for o in decision.failures] == ["expiry"]
    assert decide_release(SPEC, PASSING, EXPIRY, EXPIRY).releasable


def test_specification_refuses_unknown_tests_and_wrong_limit_kinds() -> None:
    with pytest.raises(InvalidValueError, match="limits: 'potency' is not a test"):
        check_specification({"potency": {"min": 1}})
    with pytest.raises(InvalidValueError, match=r"limits.sterility"):
        check_specification({"sterility": {"max": 1}})
    with pytest.raises(InvalidValueError, match=r"limits.viability"):
        check_specification({"viability": {"expected": "high"}})
    with pytest.raises(
        InvalidValueError, match=r"limits.cell_count.max: 1.0 is not allowed \(>= the minimum 10\)"
    ):
        check_specification({"cell_count": {"min": 10, "max": 1}})


OK_ADMIN = AdministrationFacts(
    lot_number="L001",
    lot_status="released",
    lot_expiry=EXPIRY,
    administered_on=TODAY,
    operator="Dr Surgeon",
    identity_checked_by="Nurse Check",
    participant_identity_confirmed=True,
    product_identity_confirmed=True,
)


def test_administration_with_released_lot_and_two_person_check_may_go_ahead() -> None:
    assert check_administration(OK_ADMIN) == ()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lot_status": "quarantine"}, "lot L001 is quarantine, not released"),
        ({"lot_status": "rejected"}, "lot L001 is rejected, not released"),
        ({"administered_on": date(2026, 7, 1)}, "lot L001 expired on 2026-06-30"),
        ({"identity_checked_by": ""}, "no second person named for the identity check"),
        ({"identity_checked_by": "dr surgeon"},
         "the identity check must be done by a second person, not the operator"),
        ({"participant_identity_confirmed": False}, "participant identity not confirmed"),
        ({"product_identity_confirmed": False}, "product label not confirmed against lot L001"),
    ],
)  # fmt: skip
def test_administration_is_refused_with_the_reason(change: dict[str, object], reason: str) -> None:
    assert check_administration(replace(OK_ADMIN, **change)) == (reason,)  # type: ignore[arg-type]


def test_every_refusal_reason_is_given() -> None:
    facts = replace(OK_ADMIN, lot_status="quarantine", product_identity_confirmed=False)
    assert len(check_administration(facts)) == 2


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.4e7, "2.4 x 10^7"), (1e7, "1 x 10^7"), (9.9996e6, "1 x 10^7"), (123456, "1.23 x 10^5"),
     (70, "70"), (0.5, "0.5"), (99999, "99999"), (1.5e-4, "1.5 x 10^-4"), (0, "0")],
)  # fmt: skip
def test_quantities_read_as_on_a_certificate(value: float, shown: str) -> None:
    assert format_quantity(value) == shown
