"""Use cases: the regulators' clocks of a trial (rules.clocks).

An adverse event's expedited clocks follow from its facts and its trial's jurisdictions; they are
kept in step whenever either changes (:func:`sync_event_clocks`), each with its own deadline and
submission. Periodic reports follow from the trial's jurisdictions and the day its provision
plan was submitted; their filing is recorded per period. Every write names the acting user and
is checked here (issue 12: the use cases decide who may do what).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, NotFoundError, RuleViolationError
from cordtrial.trial.models import (
    AdverseEvent,
    ExpeditedClock,
    Participant,
    PeriodicReportSubmission,
    Trial,
    User,
)
from cordtrial.trial.rules.access import can_see_site
from cordtrial.trial.rules.checks import check_date, check_text
from cordtrial.trial.rules.clocks import (
    DEFAULT_JURISDICTIONS,
    EXPEDITED_RULES,
    ExpeditedRule,
    PeriodicReport,
    PeriodicRule,
    check_jurisdictions,
    expedited_clocks,
    periodic_events,
    periodic_reports,
    rule_by_id,
)
from cordtrial.trial.rules.safety import (
    AdverseEventFacts,
    ExpeditedStatus,
    check_submission,
    expedited_status,
)
from cordtrial.trial.services.bulk import among
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.users import require_permission

__all__ = [
    "ClockState",
    "PeriodicState",
    "clock_states",
    "expedited_badges",
    "facts_of",
    "overall_status",
    "periodic_report_states",
    "record_clock_submission",
    "record_periodic_submission",
    "set_jurisdictions",
    "submit_clock",
    "sync_event_clocks",
    "trial_jurisdictions",
]

_RULES: dict[str, ExpeditedRule] = {r.id: r for r in EXPEDITED_RULES}
#: The order of badness of a clock's state (the worst one speaks for the event).
_WORST = ("overdue", "due", "submitted late", "submitted", "not required")


def facts_of(event: AdverseEvent) -> AdverseEventFacts:
    """An adverse event's stored facts."""
    return AdverseEventFacts(
        term=event.term,
        category=event.category,
        onset_date=event.onset_date,
        resolution_date=event.resolution_date,
        awareness_date=event.awareness_date,
        ctcae_grade=event.ctcae_grade,
        serious_criteria=frozenset(event.serious_criteria),
        related_to_cells=event.related_to_cells,
        related_to_procedure=event.related_to_procedure,
        related_to_immunosuppression=event.related_to_immunosuppression,
        expectedness=event.expectedness,
        outcome=event.outcome,
        narrative=event.narrative or "",
    )


def trial_jurisdictions(trial: Trial) -> tuple[str, ...]:
    """The jurisdictions a trial follows (``us_ind`` for a trial stored before they were kept)."""
    return tuple(trial.jurisdictions or DEFAULT_JURISDICTIONS)


def _summarize(event: AdverseEvent, clocks: Iterable[ExpeditedClock]) -> None:
    live = [c for c in clocks if c.applies]
    event.expedited_report_required = bool(live)
    open_ = [c.due for c in live if c.submitted_on is None]
    event.expedited_report_due = min(open_ or [c.due for c in live], default=None)


def sync_event_clocks(
    session: Session, event: AdverseEvent, facts: AdverseEventFacts, jurisdictions: Sequence[str]
) -> list[ExpeditedClock]:
    """Bring the event's clocks in step with its facts (inside the caller's unit of work): new
    clocks for rules that now apply, deadlines moved with the awareness date, clocks whose rule
    no longer applies kept with ``applies`` false (a submission is never lost). Sets the
    event's summary: whether any report is required and the earliest open deadline."""
    wanted = {c.rule.id: c for c in expedited_clocks(facts, jurisdictions)}
    if event.id is None:  # a new event: its summary is known before it is stored
        event.expedited_report_required = bool(wanted)
        event.expedited_report_due = min((c.due for c in wanted.values()), default=None)
        session.flush()
    with session.no_autoflush:
        stored = {
            c.rule: c
            for c in session.scalars(
                select(ExpeditedClock).where(ExpeditedClock.adverse_event_id == event.id)
            )
        }
    for rule_id, clock in wanted.items():
        row = stored.get(rule_id)
        if row is None:
            row = ExpeditedClock(
                adverse_event_id=event.id, rule=rule_id, applies=True, due=clock.due
            )
            session.add(row)
            stored[rule_id] = row
        else:
            row.applies, row.due = True, clock.due
    for rule_id, row in stored.items():
        if rule_id not in wanted:
            row.applies = False
    _summarize(event, stored.values())
    return sorted(stored.values(), key=lambda c: (c.due, c.rule))


@dataclass(frozen=True, slots=True)
class ClockState:
    """One clock of an event: its rule, the stored clock (deadline, submission) and where it
    stands on the day asked."""

    rule: ExpeditedRule
    clock: ExpeditedClock
    status: ExpeditedStatus


def clock_states(
    session: Session, event_ids: Collection[int], today: date
) -> dict[int, list[ClockState]]:
    """The clocks of these events (one query), each with its state on ``today``, by event id;
    clocks whose rule no longer applies are left out unless a report was submitted."""
    states: dict[int, list[ClockState]] = defaultdict(list)
    # One query even for no event: a page's statement count does not depend on its rows.
    rows = session.scalars(
        select(ExpeditedClock)
        .where(among(session, ExpeditedClock.adverse_event_id, sorted(set(event_ids))))
        .order_by(ExpeditedClock.due, ExpeditedClock.rule)
    )
    for row in rows:
        if not row.applies and row.submitted_on is None:
            continue
        status = expedited_status(row.applies, row.due, row.submitted_on, today)
        states[row.adverse_event_id].append(ClockState(_RULES[row.rule], row, status))
    return states


def overall_status(states: Sequence[ClockState]) -> ExpeditedStatus:
    """An event's expedited reporting in one badge: the worst of its clocks' states, and each
    clock's state in words."""
    live = [s for s in states if s.status.state != "not required"]
    if not live:
        return expedited_status(False, None, None, date.min)
    worst = min(live, key=lambda s: (_WORST.index(s.status.state), s.clock.due))
    if len(live) == 1:
        return worst.status
    label = "; ".join(f"{s.rule.report}: {s.status.label}" for s in live)
    return ExpeditedStatus(worst.status.state, worst.status.days, label)


def expedited_badges(
    session: Session, events: Iterable[AdverseEvent], today: date
) -> dict[int, ExpeditedStatus]:
    """Each event's expedited reporting in one badge (:func:`overall_status`), by event id, in
    one query."""
    ids = [e.id for e in events]
    states = clock_states(session, ids, today)
    return {i: overall_status(states.get(i, [])) for i in ids}


def _event_and_site(session: Session, event_id: int) -> tuple[AdverseEvent, Participant]:
    event = get_by_id(session, AdverseEvent, event_id)
    return event, get_by_id(session, Participant, event.participant_id)


def record_clock_submission(
    session: Session,
    user: User,
    *,
    event_id: int,
    rule: str,
    submitted_on: date,
    authority: str,
    reference: str,
    expected_version: int | None = None,
    reason: str | None = None,
) -> ExpeditedClock:
    """Record that the report one clock asks for was submitted (date not before awareness, the
    authority, its reference): that deadline is then met or missed by so many days. A
    correction of a recorded submission needs a reason."""
    event, participant = _event_and_site(session, event_id)
    require_permission(user, "report_adverse_event", participant.site_id)
    return submit_clock(
        session, user.username, event=event, rule=rule, submitted_on=submitted_on,
        authority=authority, reference=reference, expected_version=expected_version,
        reason=reason,
    )  # fmt: skip


def submit_clock(
    session: Session,
    actor: str,
    *,
    event: AdverseEvent,
    rule: str,
    submitted_on: date,
    authority: str,
    reference: str,
    expected_version: int | None = None,
    reason: str | None = None,
) -> ExpeditedClock:
    """:func:`record_clock_submission` once the caller has checked the actor's permission."""
    on, authority, reference = check_submission(
        submitted_on, authority, reference, awareness_date=event.awareness_date
    )
    clock = session.scalars(
        select(ExpeditedClock).where(
            ExpeditedClock.adverse_event_id == event.id, ExpeditedClock.rule == rule
        )
    ).first()
    if clock is None or not (clock.applies or clock.submitted_on is not None):
        live = session.scalars(
            select(ExpeditedClock.rule).where(
                ExpeditedClock.adverse_event_id == event.id, ExpeditedClock.applies
            )
        ).all()
        allowed = ", ".join(f"{r} ({_RULES[r].report})" for r in live) or "none: it needs no report"
        raise InvalidValueError("rule", rule, f"one of this event's clocks: {allowed}")
    check_version(clock, expected_version)
    # A first submission gives its own reason; correcting one needs the user's.
    why = reason if clock.submitted_on is not None else reason or f"{_RULES[rule].report} submitted"
    with unit_of_work(session, actor, why):
        clock.submitted_on, clock.authority, clock.reference = on, authority, reference
        _summarize(event, session.scalars(
            select(ExpeditedClock).where(ExpeditedClock.adverse_event_id == event.id)
        ))  # fmt: skip
    return clock


def set_jurisdictions(
    session: Session,
    user: User,
    *,
    trial_id: int,
    jurisdictions: object,
    provision_plan_submitted_on: date | None = None,
    reason: str | None = None,
) -> Trial:
    """Set the jurisdictions whose reporting rules the trial follows (and, for Japan, the day
    its provision plan was submitted, which the periodic reports count from); every adverse
    event's clocks are brought in step. A change to a trial already set needs a reason."""
    require_permission(user, "manage_trial")
    trial = get_by_id(session, Trial, trial_id)
    chosen = check_jurisdictions(jurisdictions)
    plan = provision_plan_submitted_on
    if plan is not None:
        plan = check_date("provision_plan_submitted_on", plan)
    if "jp_asrm" in chosen and plan is None:
        raise InvalidValueError(
            "provision_plan_submitted_on",
            "",
            "the date the provision plan was submitted (periodic reports count from it)",
            "is required under the Act on the Safety of Regenerative Medicine",
        )
    events = session.scalars(
        select(AdverseEvent)
        .join(Participant, Participant.id == AdverseEvent.participant_id)
        .where(Participant.trial_id == trial.id)
        .order_by(AdverseEvent.id)
    ).all()
    first = trial.jurisdictions is None and trial.provision_plan_submitted_on is None
    why = reason or ("reporting jurisdictions set" if first else None)
    with unit_of_work(session, user.username, why):
        trial.jurisdictions = list(chosen)
        trial.provision_plan_submitted_on = plan if "jp_asrm" in chosen else None
        for event in events:
            sync_event_clocks(session, event, facts_of(event), chosen)
    return trial


@dataclass(frozen=True, slots=True)
class PeriodicState:
    """One period of a periodic report: when it is due, whether it was filed, and the events it
    must include (those the user may see; ``hidden`` counts the others)."""

    report: PeriodicReport
    submission: PeriodicReportSubmission | None
    status: ExpeditedStatus
    events: list[AdverseEvent]
    hidden: int


def periodic_report_states(
    session: Session, user: User, *, trial_id: int, today: date
) -> list[PeriodicState]:
    """The trial's periodic reports that have begun by ``today``, oldest due first, each with
    its state and the events it must include."""
    require_permission(user, "read")
    trial = get_by_id(session, Trial, trial_id)
    reports = periodic_reports(trial_jurisdictions(trial), trial.provision_plan_submitted_on, today)
    if not reports:
        return []
    filed = {
        (s.rule, s.period_number): s
        for s in session.scalars(
            select(PeriodicReportSubmission).where(PeriodicReportSubmission.trial_id == trial.id)
        )
    }
    rows = session.execute(
        select(AdverseEvent, Participant.site_id)
        .join(Participant, Participant.id == AdverseEvent.participant_id)
        .where(Participant.trial_id == trial.id)
        .order_by(AdverseEvent.awareness_date, AdverseEvent.id)
    ).all()
    keyed = [((event, site_id), facts_of(event)) for event, site_id in rows]
    states: list[PeriodicState] = []
    for report in reports:
        submission = filed.get((report.rule.id, report.number))
        # A period still running is "due" at its deadline like any other.
        status = expedited_status(
            True, report.due, None if submission is None else submission.submitted_on, today
        )
        included = periodic_events(report, keyed)
        seen = [
            e
            for e, site_id in included
            if can_see_site(user.role, user.all_sites, user.site_ids, site_id)
        ]
        states.append(PeriodicState(report, submission, status, seen, len(included) - len(seen)))
    return states


def record_periodic_submission(
    session: Session,
    user: User,
    *,
    trial_id: int,
    rule: str,
    period_number: int,
    submitted_on: date,
    reference: str,
    reason: str | None = None,
) -> PeriodicReportSubmission:
    """Record the filing of one period of a periodic report (date, reference). The period must
    have ended; a correction needs a reason."""
    require_permission(user, "manage_trial")
    trial = get_by_id(session, Trial, trial_id)
    periodic = rule_by_id(rule)
    if not isinstance(periodic, PeriodicRule):
        raise InvalidValueError(
            "rule", rule, "a periodic report: jp_asrm_60_day or jp_asrm_annual", "is no such report"
        )
    on = check_date("submitted_on", submitted_on)
    reports = {
        (r.rule.id, r.number): r
        for r in periodic_reports(trial_jurisdictions(trial), trial.provision_plan_submitted_on, on)
    }
    report = reports.get((periodic.id, period_number))
    if report is None:
        raise NotFoundError(f"period of {periodic.report}", period_number)
    if on <= report.end:
        raise RuleViolationError(
            "submitted_on",
            [f"{report.label} can be filed only after its period ends on {report.end}"],
        )
    reference = check_text("reference", reference, max_length=100)
    stored = session.scalars(
        select(PeriodicReportSubmission).where(
            PeriodicReportSubmission.trial_id == trial.id,
            PeriodicReportSubmission.rule == periodic.id,
            PeriodicReportSubmission.period_number == period_number,
        )
    ).first()
    why = reason if stored is not None else reason or f"{report.label} filed"
    with unit_of_work(session, user.username, why):
        if stored is None:
            stored = PeriodicReportSubmission(
                trial_id=trial.id, rule=periodic.id, period_number=period_number,
                submitted_on=on, reference=reference,
            )  # fmt: skip
            session.add(stored)
        else:
            stored.submitted_on, stored.reference = on, reference
    return stored
