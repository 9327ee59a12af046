"""Immunosuppression: the protocol's regimen, a participant's course and drug levels (issue 15).

Allogeneic iPSC-derived grafts are given under immunosuppression, in the neural-cell SCI trials
tacrolimus for weeks to months (Pathway: 6 months, Levi 2019; SCiStar: until day 60, Fessler
2022; see ``shared/reference/tacrolimus.md``). Everything numeric here is a *protocol parameter*:
the reference sheet found no published trough target for any SCI trial, and the label's ranges
differ by organ, co-therapy and month since transplant. The rules are pure:

* :func:`target_in_force` -- the protocol's target range on a day since the transplant. A range
  applies from its ``from_day`` (inclusive) until its ``until_day`` (exclusive; none: open), so
  contiguous periods ("month 1-3", "month 4-12") never overlap and never leave a day uncovered.
* :func:`flag_trough` -- below / in range / above the range in force (the limits themselves are
  in range), compared at 10 significant digits so that a unit conversion's rounding never moves
  a flag.
* :func:`convert_trough` -- a level in a UCUM unit (``ng/mL``, ``ug/L``, ``nmol/L``...) in the
  protocol's unit, through pint; between mass and amount of substance the drug's molar mass
  (:data:`DRUGS`, cited). A unit of another kind is refused naming the units allowed.
* :func:`taper_schedule` / :func:`planned_dose` -- the protocol's planned dose day by day.
* :func:`exposure_days` -- days on drug: start to stop (or the day asked) inclusive, less the
  days of interruptions (overlaps counted once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final, Literal

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_int, check_number

if TYPE_CHECKING:
    import pint

__all__ = [
    "DOSE_UNITS",
    "DRUGS",
    "FLAG_LABELS",
    "ROUTES",
    "STOP_REASONS",
    "STOP_REASON_LABELS",
    "TROUGH_UNITS",
    "Drug",
    "Flag",
    "TaperStep",
    "TargetRange",
    "check_taper",
    "check_targets",
    "convert_trough",
    "dose_on",
    "exposure_days",
    "flag_trough",
    "interrupted_days",
    "planned_dose",
    "taper_schedule",
    "target_in_force",
    "trough_units",
]


@dataclass(frozen=True, slots=True)
class Drug:
    """An immunosuppressant whose levels are measured: its usual unit (UCUM) and molar mass."""

    code: str
    label: str
    unit: str
    molar_mass: float
    molar_mass_source: str


#: The drugs recorded. Tacrolimus is measured in whole blood (tacrolimus.md section 2). Molar
#: masses computed from the formula with IUPAC 2021 abridged standard atomic weights (C 12.011,
#: H 1.008, N 14.007, O 15.999); PubChem lists tacrolimus (CID 445643) at 804.0 g/mol.
DRUGS: Final[dict[str, Drug]] = {
    d.code: d
    for d in (
        Drug("tacrolimus", "Tacrolimus", "ng/mL", 804.03, "C44H69NO12 (anhydrous), 804.03 g/mol"),
        Drug("ciclosporin", "Ciclosporin", "ng/mL", 1202.64, "C62H111N11O12, 1202.64 g/mol"),
        Drug("sirolimus", "Sirolimus", "ng/mL", 914.19, "C51H79NO13, 914.19 g/mol"),
    )
}

#: UCUM codes of a drug level as a factor and a pint unit; ``U/L`` (an enzyme activity) is here
#: so that a level typed in a laboratory unit of another kind is refused as such, not as unknown.
TROUGH_UNITS: Final[dict[str, tuple[float, str]]] = {
    "ng/mL": (1.0, "ng/mL"),
    "ug/L": (1.0, "ug/L"),
    "ng/dL": (1.0, "ng/dL"),
    "mg/L": (1.0, "mg/L"),
    "nmol/L": (1.0, "nmol/L"),
    "pmol/L": (1.0, "pmol/L"),
    "U/L": (1.0, "U/L"),
}

ROUTES: Final = ("oral", "sublingual", "intravenous")
#: A participant's dose: per day, or per kilogram of body weight per day (the label's unit).
DOSE_UNITS: Final = ("mg/d", "mg/kg/d")
StopReason = Literal["planned", "toxicity", "infection", "rejection_suspicion", "other"]
STOP_REASONS: Final = ("planned", "toxicity", "infection", "rejection_suspicion", "other")
STOP_REASON_LABELS: Final[dict[str, str]] = {
    "planned": "planned (end of the protocol's course)",
    "toxicity": "toxicity",
    "infection": "infection",
    "rejection_suspicion": "suspected rejection",
    "other": "other",
}
Flag = Literal["below", "in_range", "above", "no_target"]
FLAG_LABELS: Final[dict[str, str]] = {
    "below": "below target",
    "in_range": "in range",
    "above": "above target",
    "no_target": "no target in force",
}


@dataclass(frozen=True, slots=True)
class TargetRange:
    """A trough target ``low``-``high`` (protocol unit) from ``from_day`` (inclusive) until
    ``until_day`` (exclusive; None: to the end of the course), days since the transplant."""

    from_day: int
    until_day: int | None
    low: float
    high: float

    def to_json(self) -> dict[str, Any]:
        return {"from_day": self.from_day, "until_day": self.until_day, "low": self.low,
                "high": self.high}  # fmt: skip

    def describe(self, unit: str) -> str:
        days = f"day {self.from_day}" + (
            f" to {self.until_day - 1}" if self.until_day is not None else " on"
        )
        return f"{self.low:g}-{self.high:g} {unit} ({days})"


@dataclass(frozen=True, slots=True)
class TaperStep:
    """From ``day`` since the transplant the planned dose is ``dose``."""

    day: int
    dose: float

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "dose": self.dose}


def _item(field: str, raw: object, keys: Sequence[str]) -> dict[str, Any]:
    if isinstance(raw, TargetRange | TaperStep):
        return raw.to_json()
    if not isinstance(raw, dict) or not set(raw) <= set(keys):
        raise InvalidValueError(field, raw, "an entry with " + ", ".join(keys))
    return raw


def check_targets(raw: Iterable[object]) -> list[TargetRange]:
    """The protocol's target ranges, by ``from_day``; each low below high, periods not
    overlapping (``targets[1].from_day`` names the entry refused)."""
    ranges: list[TargetRange] = []
    for i, entry in enumerate(raw):
        item = _item(f"targets[{i}]", entry, ("from_day", "until_day", "low", "high"))
        until = item.get("until_day")
        start = check_int(f"targets[{i}].from_day", item.get("from_day"), low=-365, high=3650)
        if until is not None:
            until = check_int(f"targets[{i}].until_day", until, low=start + 1, high=3651)
        low = check_number(f"targets[{i}].low", item.get("low"), low=0)
        high = check_number(f"targets[{i}].high", item.get("high"), low=low, low_open=True)
        ranges.append(TargetRange(start, until, low, high))
    ranges.sort(key=lambda r: r.from_day)
    for i, (a, b) in enumerate(pairwise(ranges)):
        if a.until_day is None or a.until_day > b.from_day:
            raise InvalidValueError(
                f"targets[{i + 1}].from_day", b.from_day,
                f"a day on or after {a.until_day if a.until_day is not None else 'the end'}"
                " (the periods of the target ranges must not overlap)",
            )  # fmt: skip
    return ranges


def check_taper(
    raw: Iterable[object], *, start_day: int, planned_stop_day: int | None
) -> list[TaperStep]:
    """Taper steps after the start and before the planned stop, one per day, by day."""
    steps: list[TaperStep] = []
    for i, entry in enumerate(raw):
        item = _item(f"taper[{i}]", entry, ("day", "dose"))
        high = None if planned_stop_day is None else planned_stop_day - 1
        day = check_int(f"taper[{i}].day", item.get("day"), low=start_day + 1, high=high)
        if any(s.day == day for s in steps):
            raise InvalidValueError(f"taper[{i}].day", day, "one taper step per day")
        steps.append(TaperStep(day, check_number(f"taper[{i}].dose", item.get("dose"), low=0)))
    return sorted(steps, key=lambda s: s.day)


def target_in_force(targets: Sequence[TargetRange], day: int) -> TargetRange | None:
    """The target range that applies ``day`` days after the transplant (none outside every
    period)."""
    for target in targets:
        if target.from_day <= day and (target.until_day is None or day < target.until_day):
            return target
    return None


def _signif(value: float, digits: int = 10) -> Decimal:
    return Decimal(f"{value:.{digits - 1}e}")


def flag_trough(value: float, target: TargetRange | None) -> Flag:
    """Below, in or above ``target`` (limits included in the range); ``no_target`` when none
    is in force."""
    if target is None:
        return "no_target"
    if _signif(value) < _signif(target.low):
        return "below"
    if _signif(value) > _signif(target.high):
        return "above"
    return "in_range"


@cache
def _registry() -> pint.UnitRegistry[float]:
    import pint  # imported when a level is converted: the CLI's --help stays fast

    return pint.UnitRegistry()


def trough_units(drug: str, unit: str) -> list[str]:
    """The UCUM codes a level of ``drug`` may be entered in, for a protocol unit ``unit``."""
    registry = _registry()
    target = registry.Unit(TROUGH_UNITS[unit][1])
    molar = registry.Unit("g/mol")
    out = []
    for code, (_, expression) in TROUGH_UNITS.items():
        u = registry.Unit(expression)
        if u.is_compatible_with(target) or (drug in DRUGS and (
            (u * molar).is_compatible_with(target) or (u / molar).is_compatible_with(target)
        )):  # fmt: skip
            out.append(code)
    return out


def convert_trough(drug: str, value: float, unit: str, to_unit: str) -> float:
    """``value`` (a level of ``drug`` in the UCUM unit ``unit``) in ``to_unit``.

    Raises
    ------
    InvalidValueError
        ``unit`` unknown or of another kind (``U/L``, ``mmol/L`` of a mass-only drug); the
        message names the units allowed.
    """
    if to_unit not in TROUGH_UNITS:
        raise InvalidValueError("target_unit", to_unit, "one of " + ", ".join(TROUGH_UNITS))
    found = DRUGS.get(drug)
    allowed = "a UCUM unit of a drug level: " + ", ".join(trough_units(drug, to_unit))
    if unit not in TROUGH_UNITS:
        raise InvalidValueError("unit", unit, allowed)
    registry = _registry()
    factor, expression = TROUGH_UNITS[unit]
    quantity = registry.Quantity(value * factor, expression)
    target = registry.Unit(TROUGH_UNITS[to_unit][1])
    if quantity.is_compatible_with(target):
        result = quantity.to(target).magnitude
    else:
        molar_mass = registry.Quantity(found.molar_mass if found else 0.0, "g/mol")
        moved = [quantity * molar_mass, quantity / molar_mass] if found else []
        fits = [m for m in moved if m.is_compatible_with(target)]
        if not fits:
            raise InvalidValueError("unit", unit, allowed, "is another kind of unit")
        result = fits[0].to(target).magnitude
    return float(_signif(float(result)))


def taper_schedule(
    *, dose: float, start_day: int, taper: Sequence[TaperStep], planned_stop_day: int | None
) -> list[tuple[int, int | None, float]]:
    """The planned dose by period: ``(from_day, until_day exclusive or None, dose)``, from the
    start through each taper step to the planned stop."""
    bounds = [(start_day, dose), *((s.day, s.dose) for s in taper)]
    periods: list[tuple[int, int | None, float]] = []
    for (day, amount), following in zip(bounds, [*bounds[1:], None], strict=True):
        until = following[0] if following is not None else planned_stop_day
        periods.append((day, until, amount))
    return periods


def planned_dose(
    day: int,
    *,
    dose: float,
    start_day: int,
    taper: Sequence[TaperStep],
    planned_stop_day: int | None,
) -> float:
    """The protocol's dose ``day`` days after the transplant (0 before the start and from the
    planned stop on)."""
    for start, until, amount in taper_schedule(
        dose=dose, start_day=start_day, taper=taper, planned_stop_day=planned_stop_day
    ):
        if start <= day and (until is None or day < until):
            return amount
    return 0.0


def _merged(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if out and start.toordinal() <= out[-1][1].toordinal() + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def interrupted_days(
    interruptions: Iterable[tuple[date, date | None]], *, start: date, end: date
) -> int:
    """Days from ``start`` to ``end`` (inclusive) inside an interruption (``from``-``to``
    inclusive; an open one runs to ``end``), overlaps counted once."""
    clipped = [
        (max(a, start), min(b or end, end))
        for a, b in interruptions
        if a <= end and (b or end) >= start
    ]
    return sum((b - a).days + 1 for a, b in _merged(clipped) if b >= a)


def exposure_days(
    started_on: date,
    stopped_on: date | None,
    interruptions: Iterable[tuple[date, date | None]],
    *,
    as_of: date,
) -> int:
    """Days on drug: from the start to the day before the stop (the stop day is the first day
    without drug; ``as_of`` inclusive for a course still running), less the interrupted days;
    0 for a course that starts after ``as_of``."""
    end = min(stopped_on - timedelta(days=1), as_of) if stopped_on is not None else as_of
    if end < started_on:
        return 0
    total = (end - started_on).days + 1
    return total - interrupted_days(interruptions, start=started_on, end=end)


def dose_on(
    day: date,
    *,
    started_on: date,
    start_dose: float,
    changes: Iterable[tuple[date, float]],
    interruptions: Iterable[tuple[date, date | None]],
    stopped_on: date | None,
) -> float:
    """The dose a participant took on ``day``: the start dose, then the latest change on or
    before ``day``; 0 before the start, during an interruption and from the stop on (the
    stop day is the first day without drug)."""
    if day < started_on or (stopped_on is not None and day >= stopped_on):
        return 0.0
    if any(a <= day <= (b or day) for a, b in interruptions):
        return 0.0
    dose = start_dose
    for on, amount in sorted(changes):
        if on <= day:
            dose = amount
    return dose
