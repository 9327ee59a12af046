"""Eligibility criteria that are laboratory limits (issue 15).

A trial's protocol may require, at screening, e.g. neutrophils >= 1.5 x10^9/L, platelets
>= 100 x10^9/L, creatinine <= 1.5 x ULN, ALT/AST <= 2.5 x ULN. A :class:`LabLimit` is one such
bound: an analyte of :data:`~cordtrial.trial.rules.labs.ANALYTES`, ``>=`` or ``<=``, and a limit
either absolute (in the analyte's protocol unit) or a multiple of the site's upper limit of
normal (``ULN``, the range the value was graded against). The limits are the trial's choice
(synthetic examples in the demo); none are assumed by default.

The value checked is the participant's latest result of the analyte in the screening window
(:attr:`LabWindow`: the ``days`` up to the assessment, and never after the transplant). A limit
with no such value, or a ULN multiple with no site reference range, is *not yet assessable*:
it is not met, and the reason says that the value is missing rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_number
from cordtrial.trial.rules.labs import ANALYTES

__all__ = [
    "LabLimit",
    "LabValue",
    "check_lab_limit",
    "unit_label",
]

Comparison = Literal[">=", "<="]
RelativeTo = Literal["absolute", "ULN"]

_COMPARISONS: Final = (">=", "<=")
_RELATIVE: Final = ("absolute", "ULN")

#: UCUM codes as people read them on a lab report.
_UNIT_LABELS: Final = {"10*9/L": "x10^9/L", "umol/L": "µmol/L", "{INR}": "", "1": ""}


def unit_label(ucum: str) -> str:
    """A UCUM code as printed on a lab report (``10*9/L`` -> ``x10^9/L``; INR has none)."""
    return _UNIT_LABELS.get(ucum, ucum)


def _with_unit(value: float, ucum: str) -> str:
    unit = unit_label(ucum)
    return f"{value:g} {unit}" if unit else f"{value:g}"


@dataclass(frozen=True, slots=True)
class LabLimit:
    """``analyte`` must be ``comparison`` (``>=``/``<=``) ``limit``, in the analyte's protocol
    unit (``relative_to="absolute"``) or as a multiple of the site's ULN (``"ULN"``)."""

    analyte: str
    comparison: Comparison
    limit: float
    relative_to: RelativeTo = "absolute"

    def __post_init__(self) -> None:
        if self.analyte not in ANALYTES:
            raise InvalidValueError(
                "eligibility.lab_limits.analyte", self.analyte, "one of " + ", ".join(ANALYTES)
            )
        if self.comparison not in _COMPARISONS:
            raise InvalidValueError(
                "eligibility.lab_limits.comparison", self.comparison, ">= or <="
            )
        if self.relative_to not in _RELATIVE:
            raise InvalidValueError(
                "eligibility.lab_limits.relative_to", self.relative_to, "absolute or ULN"
            )
        check_number("eligibility.lab_limits.limit", self.limit, low=0)
        if self.relative_to == "ULN" and self.limit == 0:
            raise InvalidValueError(
                "eligibility.lab_limits.limit", self.limit, "a multiple of the ULN above 0"
            )

    @property
    def criterion(self) -> str:
        """The criterion's name in an assessment's reasons (``lab_platelets``)."""
        return f"lab_{self.analyte}"

    @property
    def wanted(self) -> str:
        """The limit in words: ``>= 100 x10^9/L``, ``<= 1.5 x ULN``."""
        if self.relative_to == "ULN":
            return f"{self.comparison} {self.limit:g} x ULN"
        return f"{self.comparison} {_with_unit(self.limit, ANALYTES[self.analyte].unit)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "analyte": self.analyte,
            "comparison": self.comparison,
            "limit": self.limit,
            "relative_to": self.relative_to,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabLimit:
        if not isinstance(data, Mapping):
            raise InvalidValueError(
                "eligibility.lab_limits", data, "objects with analyte, comparison, limit"
            )
        known = {"analyte", "comparison", "limit", "relative_to"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidValueError(
                "eligibility.lab_limits", unknown[0], "one of " + ", ".join(sorted(known)),
                "is not a field of a laboratory limit",
            )  # fmt: skip
        return cls(
            analyte=str(data.get("analyte", "")),
            comparison=data.get("comparison", ""),
            limit=data.get("limit"),  # type: ignore[arg-type]  # checked in __post_init__
            relative_to=data.get("relative_to", "absolute"),
        )


@dataclass(frozen=True, slots=True)
class LabValue:
    """A participant's result used for a limit: the value in the protocol's unit, the site's
    ULN it was graded against (if any) and the sample's date."""

    value: float
    uln: float | None
    collected_on: date


def check_lab_limit(limit: LabLimit, found: LabValue | None, window: str) -> tuple[bool, bool, str]:
    """``(met, assessable, detail)`` of ``limit`` for the value ``found`` in the screening
    ``window`` (its description in words, for the message of a missing value).

    >>> from datetime import date
    >>> check_lab_limit(LabLimit("platelets", ">=", 100), LabValue(82, None, date(2026, 3, 2)),
    ...                 "")[2]
    'Platelet count 82 x10^9/L is below the limit 100 x10^9/L (sample 2026-03-02)'
    """
    analyte = ANALYTES[limit.analyte]
    if found is None:
        return False, False, (
            f"no {analyte.label} result in the screening window ({window}): not yet "
            f"assessable (required {limit.wanted})"
        )  # fmt: skip
    shown = f"{analyte.label} {_with_unit(found.value, analyte.unit)}"
    sample = f"sample {found.collected_on.isoformat()}"
    if limit.relative_to == "ULN":
        if found.uln is None:
            return False, False, (
                f"{shown} ({sample}) has no site upper limit of normal: not yet assessable "
                f"(required {limit.wanted})"
            )  # fmt: skip
        bound = limit.limit * found.uln
        described = f"{limit.limit:g} x ULN = {_with_unit(bound, analyte.unit)} (ULN {found.uln:g})"
    else:
        bound = limit.limit
        described = _with_unit(bound, analyte.unit)
    # compared at 10 significant digits, as the grades are: a conversion's rounding moves nothing
    value, cut = float(f"{found.value:.9e}"), float(f"{bound:.9e}")
    met = value >= cut if limit.comparison == ">=" else value <= cut
    if met:
        return True, True, f"{shown} (required {limit.comparison} {described}; {sample})"
    side = "below" if limit.comparison == ">=" else "above"
    return False, True, f"{shown} is {side} the limit {described} ({sample})"
