"""Eligibility: a trial's criteria evaluated for one participant, with a reason per criterion.

The defaults are those of a first-in-human trial of iPSC-derived neural cells in subacute complete
SCI: age at least 18, a traumatic injury with its neurological level between C3/4 and T10 (read as
NLI C4 to T10: the most rostral level below a C3/4 lesion is C4), AIS A, and the transplant 14 to
28 days after the injury. Every bound is configurable per trial (:class:`EligibilityCriteria`).

NLI and AIS come from a classified ISNCSCI exam, never from typed values. Where ``NT`` leaves a
result open (``C4,C5``; ``A,B``) the criterion is met only when every possible value meets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cordtrial.isncsci import Level
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_int
from cordtrial.trial.rules.vocabulary import INJURY_MECHANISMS, TRAUMATIC_MECHANISMS

__all__ = [
    "CriterionResult",
    "EligibilityCriteria",
    "EligibilityDecision",
    "EligibilityFacts",
    "evaluate_eligibility",
    "parse_level",
]

_GRADES = frozenset("ABCDE")


def parse_level(field: str, value: object) -> Level:
    """A neurological level by name (``C4``, ``t10``, ``S4_5``)."""
    if isinstance(value, Level):
        return value
    if isinstance(value, str):
        try:
            return Level[value.strip().upper()]
        except KeyError:
            pass
    raise InvalidValueError(field, value, "a level C1-S4_5, e.g. C4 or T10")


@dataclass(frozen=True, slots=True)
class EligibilityCriteria:
    """A trial's eligibility criteria (all bounds inclusive)."""

    min_age: int = 18
    max_age: int | None = None
    mechanisms: frozenset[str] = TRAUMATIC_MECHANISMS
    nli_from: Level = Level.C4
    nli_to: Level = Level.T10
    ais_grades: frozenset[str] = frozenset({"A"})
    min_days_to_transplant: int = 14
    max_days_to_transplant: int = 28

    def __post_init__(self) -> None:
        check_int("eligibility.min_age", self.min_age, 0, 120)
        if self.max_age is not None:
            check_int("eligibility.max_age", self.max_age, self.min_age, 120)
        if not self.mechanisms or not self.mechanisms <= INJURY_MECHANISMS:
            raise InvalidValueError(
                "eligibility.mechanisms",
                sorted(self.mechanisms),
                "a non-empty subset of " + ", ".join(sorted(INJURY_MECHANISMS)),
            )
        if self.nli_to < self.nli_from:
            raise InvalidValueError(
                "eligibility.nli_to", self.nli_to.name, f"{self.nli_from.name} or more caudal"
            )
        if not self.ais_grades or not self.ais_grades <= _GRADES:
            raise InvalidValueError(
                "eligibility.ais_grades", sorted(self.ais_grades), "a non-empty subset of A-E"
            )
        check_int("eligibility.min_days_to_transplant", self.min_days_to_transplant, 0, 3650)
        check_int(
            "eligibility.max_days_to_transplant",
            self.max_days_to_transplant,
            self.min_days_to_transplant,
            3650,
        )

    def to_json(self) -> dict[str, Any]:
        """The criteria as a JSON object (stored with the trial and each assessment)."""
        return {
            "min_age": self.min_age,
            "max_age": self.max_age,
            "mechanisms": sorted(self.mechanisms),
            "nli_from": self.nli_from.name,
            "nli_to": self.nli_to.name,
            "ais_grades": sorted(self.ais_grades),
            "min_days_to_transplant": self.min_days_to_transplant,
            "max_days_to_transplant": self.max_days_to_transplant,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EligibilityCriteria:
        """Criteria from :meth:`to_json`'s form; missing keys take the defaults."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidValueError(
                "eligibility",
                unknown[0],
                "one of " + ", ".join(sorted(known)),
                "is not a criterion",
            )
        args: dict[str, Any] = dict(data)
        for key in ("mechanisms", "ais_grades"):
            if key in args:
                args[key] = frozenset(args[key])
        for key in ("nli_from", "nli_to"):
            if key in args:
                args[key] = parse_level(f"eligibility.{key}", args[key])
        return cls(**args)


@dataclass(frozen=True, slots=True)
class EligibilityFacts:
    """What the criteria are evaluated on.

    ``nli`` and ``ais`` are the classified exam's results in worksheet notation (``C5``,
    ``C5,C6``, ``T10*``; ``A``, ``A,B``), or ``None`` when no classified exam is available.
    """

    age_at_injury: int
    injury_mechanism: str
    injury_date: date
    transplant_date: date | None
    nli: str | None
    ais: str | None


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion: whether it is met, and why, in words."""

    criterion: str
    met: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """As stored with the assessment."""
        return {"criterion": self.criterion, "met": self.met, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class EligibilityDecision:
    """Eligible when every criterion is met; ``reasons`` has one result per criterion."""

    eligible: bool
    reasons: tuple[CriterionResult, ...] = field(default=())

    @property
    def unmet(self) -> tuple[CriterionResult, ...]:
        """The criteria not met."""
        return tuple(r for r in self.reasons if not r.met)


def _possible(notation: str) -> list[str]:
    return [part.strip().rstrip("*") for part in notation.split(",") if part.strip()]


def _age(criteria: EligibilityCriteria, facts: EligibilityFacts) -> CriterionResult:
    age = facts.age_at_injury
    high = criteria.max_age
    met = age >= criteria.min_age and (high is None or age <= high)
    wanted = f">= {criteria.min_age}" if high is None else f"{criteria.min_age}-{high}"
    return CriterionResult("age", met, f"age at injury {age} (required {wanted})")


def _mechanism(criteria: EligibilityCriteria, facts: EligibilityFacts) -> CriterionResult:
    met = facts.injury_mechanism in criteria.mechanisms
    kind = "traumatic" if facts.injury_mechanism in TRAUMATIC_MECHANISMS else "non-traumatic"
    return CriterionResult(
        "mechanism",
        met,
        f"mechanism {facts.injury_mechanism} ({kind}); allowed: "
        + ", ".join(sorted(criteria.mechanisms)),
    )


def _nli(criteria: EligibilityCriteria, facts: EligibilityFacts) -> CriterionResult:
    wanted = f"{criteria.nli_from.name}-{criteria.nli_to.name}"
    if facts.nli is None:
        return CriterionResult("nli", False, f"no classified ISNCSCI exam (required NLI {wanted})")
    levels = _possible(facts.nli)
    inside = [
        name in Level.__members__ and criteria.nli_from <= Level[name] <= criteria.nli_to
        for name in levels
    ]
    met = bool(levels) and all(inside)
    detail = f"NLI {facts.nli} (required {wanted})"
    if not met and any(inside):
        detail += "; NT leaves levels outside the range possible"
    return CriterionResult("nli", met, detail)


def _ais(criteria: EligibilityCriteria, facts: EligibilityFacts) -> CriterionResult:
    wanted = ",".join(sorted(criteria.ais_grades))
    if facts.ais is None:
        return CriterionResult("ais", False, f"no classified ISNCSCI exam (required AIS {wanted})")
    grades = _possible(facts.ais)
    met = bool(grades) and all(g in criteria.ais_grades for g in grades)
    return CriterionResult("ais", met, f"AIS {facts.ais} (required {wanted})")


def _timing(criteria: EligibilityCriteria, facts: EligibilityFacts) -> CriterionResult:
    low, high = criteria.min_days_to_transplant, criteria.max_days_to_transplant
    if facts.transplant_date is None:
        return CriterionResult(
            "days_to_transplant", False, f"no transplant date (required day {low}-{high})"
        )
    days = (facts.transplant_date - facts.injury_date).days
    return CriterionResult(
        "days_to_transplant",
        low <= days <= high,
        f"transplant {days} days after injury (required {low}-{high})",
    )


def evaluate_eligibility(
    criteria: EligibilityCriteria, facts: EligibilityFacts
) -> EligibilityDecision:
    """Evaluate every criterion (age, mechanism, NLI, AIS, days to transplant).

    Every criterion is evaluated even after one fails, so the record says all that is wrong.
    """
    reasons = tuple(rule(criteria, facts) for rule in (_age, _mechanism, _nli, _ais, _timing))
    return EligibilityDecision(all(r.met for r in reasons), reasons)
