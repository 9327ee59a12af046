"""The demo trial's regulators' clocks (issue 15): it runs under both the US IND rules and
Japan's Act on the Safety of Regenerative Medicine, so its SUSAR has two clocks, each submitted
on its own, and its periodic reports are filed up to the one still running (synthetic)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import AdverseEvent, ExpeditedClock, Trial
from cordtrial.trial.services.acting import acting_user
from cordtrial.trial.services.clocks import (
    periodic_report_states,
    record_clock_submission,
    record_periodic_submission,
    set_jurisdictions,
)

__all__ = ["file_demo_reports", "set_demo_jurisdictions"]


def set_demo_jurisdictions(session: Session, actor: str, protocol_id: str, plan: date) -> None:
    """Both jurisdictions; the provision plan submitted on ``plan`` (before the first
    transplant)."""
    user = acting_user(session, actor, "manage_trial")
    trial = session.scalars(select(Trial).where(Trial.protocol_id == protocol_id)).one()
    set_jurisdictions(
        session, user, trial_id=trial.id, jurisdictions=["us_ind", "jp_asrm"],
        provision_plan_submitted_on=plan,
    )  # fmt: skip


def file_demo_reports(session: Session, actor: str, protocol_id: str, today: date) -> None:
    """Submit each open expedited clock two days after awareness, and file every periodic
    report whose deadline has passed three days before it; the period still running stays due
    on the dashboard."""
    user = acting_user(session, actor, "manage_trial")
    open_clocks = session.execute(
        select(ExpeditedClock, AdverseEvent)
        .join(AdverseEvent, AdverseEvent.id == ExpeditedClock.adverse_event_id)
        .where(ExpeditedClock.applies, ExpeditedClock.submitted_on.is_(None))
        .order_by(ExpeditedClock.id)
    ).all()
    for clock, event in open_clocks:
        authority = "FDA" if clock.rule.startswith("us_") else "Certified committee"
        record_clock_submission(
            session, user, event_id=event.id, rule=clock.rule,
            submitted_on=min(today, event.awareness_date + timedelta(days=2)),
            authority=f"{authority} (synthetic)", reference=f"DEMO-{clock.rule.upper()}-{event.id}",
        )  # fmt: skip
    trial = session.scalars(select(Trial).where(Trial.protocol_id == protocol_id)).one()
    for state in periodic_report_states(session, user, trial_id=trial.id, today=today):
        report = state.report
        if report.due < today:
            record_periodic_submission(
                session, user, trial_id=trial.id, rule=report.rule.id, period_number=report.number,
                submitted_on=report.due - timedelta(days=3),
                reference=f"DEMO-{report.rule.id.upper()}-{report.number}",
            )  # fmt: skip
