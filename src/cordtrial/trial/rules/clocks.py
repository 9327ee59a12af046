"""The regulators' clocks: expedited safety reports and periodic reports, per jurisdiction.

A trial names the jurisdictions it runs under (:data:`JURISDICTIONS`); each brings its own rule
set, and a trial under both gets both clocks. Every rule cites its source; the figures are those
of ``shared/reference/regulatory-clocks.md`` (with its confidence tags). Days are calendar days
counted from day 0, the day the sponsor (or, in Japan, the provider's manager) first knew of the
event (the adverse event's ``awareness_date``), so a 7-day report is due on day 0 + 7.

United States, IND safety reports (21 CFR 312.32, final rule 75 FR 59935, in force 2011-03-28),
for suspected adverse reactions that are serious and unexpected:

* ``us_ind_7_day``: fatal or life-threatening: no later than 7 calendar days after the sponsor's
  initial receipt of the information (312.32(c)(2)).
* ``us_ind_15_day``: other serious: no later than 15 calendar days after the sponsor determines
  that the information qualifies (312.32(c)(1)). cordtrial counts from the awareness date, the
  earliest day 0 possible, so the deadline shown is never later than the regulation's.

Japan, Act on the Safety of Regenerative Medicine (Act No. 85 of 2013; Enforcement Ordinance,
MHLW Ordinance No. 110 of 2014, Art. 35), reports of diseases etc. (疾病等) suspected to be caused
by the regenerative medicine to the certified committee (認定再生医療等委員会). Expectedness plays
no part. The provision plan covers the cell product, its administration and the protocol's
immunosuppression, so relatedness to any of the three counts (as for the US clocks):

* ``jp_asrm_7_day``: death, or a case that may lead to death: within 7 days (Art. 35 (1)).
* ``jp_asrm_15_day``: hospitalisation or its prolongation, disability or a case that may lead to
  it, other serious cases, congenital disease or anomaly: within 15 days (Art. 35 (2)).
* ``jp_asrm_60_day`` (periodic): other suspected events (not serious): every 60 days counted
  from the date the provision plan was submitted, within 10 days after each period ends.
* ``jp_asrm_annual`` (periodic): the provision-status report (再生医療等提供状況定期報告), every
  year from the plan's submission, within 90 days after each year ends; due even with no case.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal, TypeVar, get_args

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.safety import AdverseEventFacts, is_related, is_serious

__all__ = [
    "DEFAULT_JURISDICTIONS",
    "EXPEDITED_RULES",
    "JURISDICTIONS",
    "JURISDICTION_NAMES",
    "PERIODIC_RULES",
    "Clock",
    "ExpeditedRule",
    "Jurisdiction",
    "PeriodicReport",
    "PeriodicRule",
    "check_jurisdictions",
    "expedited_clocks",
    "periodic_events",
    "periodic_reports",
    "rule_by_id",
]

Jurisdiction = Literal["us_ind", "jp_asrm"]
JURISDICTIONS: Final = frozenset(get_args(Jurisdiction))
#: The jurisdictions in words.
JURISDICTION_NAMES: Final[dict[str, str]] = {
    "us_ind": "United States: IND safety reporting (21 CFR 312.32)",
    "jp_asrm": "Japan: Act on the Safety of Regenerative Medicine",
}
#: What a trial stored before per-trial rule sets follows: the one rule set cordtrial had then
#: (21 CFR 312.32 with ICH E2A's identical 7/15-day timelines).
DEFAULT_JURISDICTIONS: Final = ("us_ind",)

_GRAVE: Final = frozenset({"death", "life_threatening"})
_T = TypeVar("_T")


def _suspected(facts: AdverseEventFacts) -> bool:
    return is_related(facts)


def _unexpected(facts: AdverseEventFacts) -> bool:
    return facts.expectedness == "unexpected"


def _grave(facts: AdverseEventFacts) -> bool:
    return bool(_GRAVE & facts.serious_criteria)


@dataclass(frozen=True, slots=True)
class ExpeditedRule:
    """One expedited-report rule: to whom, which events, within how many days, and its source."""

    id: str
    jurisdiction: str
    authority: str
    report: str
    days: int
    #: The events it applies to, in words.
    applies_to: str
    source: str
    applies: Callable[[AdverseEventFacts], bool]


@dataclass(frozen=True, slots=True)
class PeriodicRule:
    """A report due every ``period_days`` (or every year) from ``start``, ``grace_days`` after
    each period ends."""

    id: str
    jurisdiction: str
    authority: str
    report: str
    #: Days per period; ``None`` for a calendar year from the start date.
    period_days: int | None
    grace_days: int
    #: What it must include, in words.
    includes: str
    source: str
    includes_event: Callable[[AdverseEventFacts], bool]


_US_AUTHORITY = "FDA (IND safety report)"
#: The certified committee for regenerative medicine (認定再生医療等委員会).
_JP_AUTHORITY = "Certified committee for regenerative medicine"

EXPEDITED_RULES: Final[tuple[ExpeditedRule, ...]] = (
    ExpeditedRule(
        id="us_ind_7_day",
        jurisdiction="us_ind",
        authority=_US_AUTHORITY,
        report="7-day IND safety report",
        days=7,
        applies_to="unexpected fatal or life-threatening suspected adverse reaction",
        source="21 CFR 312.32(c)(2)",
        applies=lambda f: _suspected(f) and _unexpected(f) and _grave(f),
    ),
    ExpeditedRule(
        id="us_ind_15_day",
        jurisdiction="us_ind",
        authority=_US_AUTHORITY,
        report="15-day IND safety report",
        days=15,
        applies_to="serious and unexpected suspected adverse reaction (not fatal or "
        "life-threatening)",
        source="21 CFR 312.32(c)(1)(i)",
        applies=lambda f: (
            _suspected(f) and _unexpected(f) and is_serious(f.serious_criteria) and not _grave(f)
        ),
    ),
    ExpeditedRule(
        id="jp_asrm_7_day",
        jurisdiction="jp_asrm",
        authority=_JP_AUTHORITY,
        report="Disease report: death or possibly fatal",
        days=7,
        applies_to="suspected death, or a case that may lead to death",
        source="Act on the Safety of Regenerative Medicine Art. 17, Enforcement Ordinance "
        "Art. 35 (1)",
        applies=lambda f: _suspected(f) and _grave(f),
    ),
    ExpeditedRule(
        id="jp_asrm_15_day",
        jurisdiction="jp_asrm",
        authority=_JP_AUTHORITY,
        report="Disease report: serious",
        days=15,
        applies_to="suspected hospitalisation, disability, congenital anomaly or other "
        "serious case",
        source="Act on the Safety of Regenerative Medicine Art. 17, Enforcement Ordinance "
        "Art. 35 (2)",
        applies=lambda f: _suspected(f) and is_serious(f.serious_criteria) and not _grave(f),
    ),
)

PERIODIC_RULES: Final[tuple[PeriodicRule, ...]] = (
    PeriodicRule(
        id="jp_asrm_60_day",
        jurisdiction="jp_asrm",
        authority=_JP_AUTHORITY,
        report="Periodic disease report (60 days)",
        period_days=60,
        grace_days=10,
        includes="suspected adverse events that are not serious, known in the period",
        source="Act on the Safety of Regenerative Medicine Art. 17, Enforcement Ordinance "
        "Art. 35 (3)",
        includes_event=lambda f: _suspected(f) and not is_serious(f.serious_criteria),
    ),
    PeriodicRule(
        id="jp_asrm_annual",
        jurisdiction="jp_asrm",
        authority=_JP_AUTHORITY,
        report="Annual provision-status report",
        period_days=None,
        grace_days=90,
        includes="every suspected adverse event known in the year (the report is due even "
        "with none)",
        source="Act on the Safety of Regenerative Medicine Arts. 20-21",
        includes_event=_suspected,
    ),
)


def rule_by_id(rule_id: str) -> ExpeditedRule | PeriodicRule:
    """The expedited or periodic rule ``rule_id``."""
    rules: list[ExpeditedRule | PeriodicRule] = [*EXPEDITED_RULES, *PERIODIC_RULES]
    for rule in rules:
        if rule.id == rule_id:
            return rule
    allowed = ", ".join(r.id for r in rules)
    raise InvalidValueError("rule", rule_id, f"one of {allowed}", "is no reporting rule")


def check_jurisdictions(value: object) -> tuple[str, ...]:
    """The trial's jurisdictions: at least one of :data:`JURISDICTIONS`, each once, sorted."""
    if isinstance(value, str):
        items: list[object] = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        items = [value]
    allowed = "one or more of " + ", ".join(
        f"{k} ({JURISDICTION_NAMES[k]})" for k in sorted(JURISDICTIONS)
    )
    if not items:
        raise InvalidValueError("jurisdictions", "", allowed, "names none")
    for item in items:
        if item not in JURISDICTIONS:
            raise InvalidValueError("jurisdictions", item, allowed, "is no jurisdiction")
    return tuple(sorted({str(i) for i in items}))


@dataclass(frozen=True, slots=True)
class Clock:
    """An expedited report an event needs under one rule, and its deadline."""

    rule: ExpeditedRule
    due: date


def expedited_clocks(facts: AdverseEventFacts, jurisdictions: Collection[str]) -> list[Clock]:
    """The expedited reports ``facts`` needs under the trial's ``jurisdictions``, each due
    ``rule.days`` calendar days after the awareness date; in order of deadline."""
    clocks = [
        Clock(rule, facts.awareness_date + timedelta(days=rule.days))
        for rule in EXPEDITED_RULES
        if rule.jurisdiction in jurisdictions and rule.applies(facts)
    ]
    return sorted(clocks, key=lambda c: (c.due, c.rule.id))


@dataclass(frozen=True, slots=True)
class PeriodicReport:
    """One period of a periodic report: the days it covers (both ends included) and its due
    date."""

    rule: PeriodicRule
    number: int
    start: date
    end: date
    due: date

    @property
    def label(self) -> str:
        return f"{self.rule.report}, period {self.number} ({self.start} to {self.end})"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        # 29 February in a year that has none: a period of years ends on the last day of the
        # month (Japanese Civil Code Art. 143(2)), so the next one starts on 1 March.
        return date(day.year + years, 3, 1)


def _period(rule: PeriodicRule, start: date, number: int) -> tuple[date, date]:
    if rule.period_days is None:
        return _add_years(start, number - 1), _add_years(start, number) - timedelta(days=1)
    first = start + timedelta(days=rule.period_days * (number - 1))
    return first, first + timedelta(days=rule.period_days - 1)


def periodic_reports(
    jurisdictions: Collection[str], plan_submitted_on: date | None, today: date
) -> list[PeriodicReport]:
    """Every period of the trial's periodic reports that has begun by ``today`` (the current
    one included), in order of due date. Periods count from the day the provision plan was
    submitted (day 1 of period 1); none without that date."""
    if plan_submitted_on is None:
        return []
    reports: list[PeriodicReport] = []
    for rule in PERIODIC_RULES:
        if rule.jurisdiction not in jurisdictions:
            continue
        number = 1
        while True:
            start, end = _period(rule, plan_submitted_on, number)
            if start > today:
                break
            due = end + timedelta(days=rule.grace_days)
            reports.append(PeriodicReport(rule, number, start, end, due))
            number += 1
    return sorted(reports, key=lambda r: (r.due, r.rule.id))


def periodic_events(
    report: PeriodicReport, events: Sequence[tuple[_T, AdverseEventFacts]]
) -> list[_T]:
    """The events ``report`` must include: those its rule covers whose awareness date falls in
    its period."""
    return [
        key
        for key, facts in events
        if report.start <= facts.awareness_date <= report.end and report.rule.includes_event(facts)
    ]
