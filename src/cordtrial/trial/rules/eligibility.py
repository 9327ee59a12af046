"""Eligibility: a trial's criteria evaluated for one participant, with a reason per criterion.

The defaults are those of a first-in-human trial of iPSC-derived neural cells in subacute complete
SCI: age at least 18, a traumatic injury with its neurological level between C3/4 and T10 (read as
NLI C4 to T10: the most rostral level below a C3/4 lesion is C4), AIS A, and the transplant 14 to
28 days after the injury. Every bound is configurable per trial (:class:`EligibilityCriteria`).

NLI and AIS come from a classified ISNCSCI exam, never from typed values. Where ``NT`` leaves a
result open (``C4,C5``; ``A,B``) the criterion is met only when every possible value meets it.

Laboratory limits (``lab_limits``, none by default; :mod:`.lab_limits`) are checked from the
participant's results in the screening window (``lab_window_days`` up to the assessment or the
transplant, whichever is first); a
limit without a value there is not met and *not yet assessable* (``assessable`` false).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cordtrial.isncsci import Level
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_int
from cordtrial.trial.rules.lab_limits import LabLimit, LabValue, check_lab_limit
from cordtrial.trial.rules.vocabulary import INJURY_MECHANISMS, TRAUMATIC_MECHANISMS, word

__all__ = [
    "CriterionResult",
    "EligibilityCriteria",
    "EligibilityDecision",
    "EligibilityFacts",
    "evaluate_eligibility",
    "evaluate_lab_limits",
    "lab_window_text",
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
    lab_limits: tuple[LabLimit, ...] = ()
    #: The screening window of the laboratory limits: results collected this many days before
    #: the assessment or the transplant, whichever is first, and up to it, count.
    lab_window_days: int = 28

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
        check_int("eligibility.lab_window_days", self.lab_window_days, 0, 365)

    def to_json(self) -> dict[str, Any]:
        """The criteria as a JSON object (stored with the trial and each assessment)."""
        labs: dict[str, Any] = (
            {
                "lab_limits": [limit.to_json() for limit in self.lab_limits],
                "lab_window_days": self.lab_window_days,
            }
            if self.lab_limits
            else {}
        )  # criteria without laboratory limits keep the form stored before issue 15
        return {
            "min_age": self.min_age,
            "max_age": self.max_age,
            "mechanisms": sorted(self.mechanisms),
            "nli_from": self.nli_from.name,
            "nli_to": self.nli_to.name,
            "ais_grades": sorted(self.ais_grades),
            "min_days_to_transplant": self.min_days_to_transplant,
            "max_days_to_transplant": self.max_days_to_transplant,
        } | labs

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
        if "lab_limits" in args:
            limits = args["lab_limits"]
            if not isinstance(limits, list | tuple):
                raise InvalidValueError(
                    "eligibility.lab_limits", limits, "a list of laboratory limits"
                )
            args["lab_limits"] = tuple(LabLimit.from_json(item) for item in limits)
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
    #: analyte -> the latest result in the screening window (absent: none there).
    labs: Mapping[str, LabValue] = field(default_factory=dict)
    #: The last day of the screening window: the assessment or the transplant, the earlier.
    lab_window_end: date | None = None


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion: whether it is met, and why, in words; ``assessable`` false when a value
    it needs is missing (a laboratory limit without a result in the screening window)."""

    criterion: str
    met: bool
    detail: str
    assessable: bool = True

    def to_json(self) -> dict[str, Any]:
        """As stored with the assessment (``assessable`` only when false)."""
        out: dict[str, Any] = {"criterion": self.criterion, "met": self.met, "detail": self.detail}
        if not self.assessable:
            out["assessable"] = False
        return out


@dataclass(frozen=True, slots=True)
class EligibilityDecision:
    """Eligible when every criterion is met; ``reasons`` has one result per criterion."""

    eligible: bool
    reasons: tuple[CriterionResult, ...] = field(default=())

    @property
    def unmet(self) -> tuple[CriterionResult, ...]:
        """The criteria not met."""
        return tuple(r for r in self.reasons if not r.met)

    @property
    def not_assessable(self) -> tuple[CriterionResult, ...]:
        """The criteria that cannot be assessed yet (a laboratory value missing)."""
        return tuple(r for r in self.reasons if not r.assessable)


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
        f"mechanism {word(facts.injury_mechanism)} ({kind}); allowed: "
        + ", ".join(word(m) for m in sorted(criteria.mechanisms)),
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


def lab_window_text(criteria: EligibilityCriteria, end: date | None) -> str:
    """The screening window of the laboratory limits in words."""
    days = criteria.lab_window_days
    if end is None:
        return f"{days} days up to the assessment or the transplant"
    return f"{days} days up to {end.isoformat()}"


def evaluate_lab_limits(
    criteria: EligibilityCriteria, facts: EligibilityFacts
) -> tuple[CriterionResult, ...]:
    """The trial's laboratory limits, each checked against the participant's latest result in
    the screening window (rules.lab_limits)."""
    window = lab_window_text(criteria, facts.lab_window_end)
    out = []
    for limit in criteria.lab_limits:
        met, assessable, detail = check_lab_limit(limit, facts.labs.get(limit.analyte), window)
        out.append(CriterionResult(limit.criterion, met, detail, assessable))
    return tuple(out)


def evaluate_eligibility(
    criteria: EligibilityCriteria, facts: EligibilityFacts
) -> EligibilityDecision:
    """Evaluate every criterion (age, mechanism, NLI, AIS, days to transplant, then the
    laboratory limits in the protocol's order).

    Every criterion is evaluated even after one fails, so the record says all that is wrong.
    """
    reasons = tuple(rule(criteria, facts) for rule in (_age, _mechanism, _nli, _ais, _timing))
    reasons += evaluate_lab_limits(criteria, facts)
    return EligibilityDecision(all(r.met for r in reasons), reasons)
