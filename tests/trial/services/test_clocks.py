"""The regulators' clocks of a trial: jurisdictions set per trial, one clock per rule per event,
each submitted on its own; periodic reports filed per period; who may do it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import (
    AccessDeniedError,
    InvalidValueError,
    ReasonRequiredError,
    RuleViolationError,
)
from cordtrial.trial.models import AdverseEvent, Participant, Site, Trial, User
from cordtrial.trial.services.clocks import (
    clock_states,
    overall_status,
    periodic_report_states,
    record_clock_submission,
    record_periodic_submission,
    set_jurisdictions,
)
from cordtrial.trial.services.safety import report_adverse_event, update_adverse_event
from cordtrial.trial.services.users import add_user

AWARE = date(2026, 3, 10)
PLAN = date(2026, 1, 1)
PASSWORD = "correct horse battery staple 42"


def _user(session: Session, name: str, role: str, site: Site | None = None) -> User:
    return add_user(
        session, user=acting_as("admin"), username=name, password=PASSWORD, role=role,
        site_ids=() if site is None else (site.id,), all_sites=site is None and role != "admin",
        full_name=f"{name.title()} Example",
    )  # fmt: skip


def _event(session: Session, participant: Participant, **change: object) -> AdverseEvent:
    kwargs: dict[str, object] = {
        "user": acting_as("investigator"), "participant_id": participant.id,
        "term": "Syrinx enlargement", "category": "syrinx", "onset_date": date(2026, 3, 9),
        "awareness_date": AWARE, "ctcae_grade": 3, "serious_criteria": ["hospitalisation"],
        "related_to_cells": "possible", "related_to_procedure": "not_related",
        "related_to_immunosuppression": "not_related", "expectedness": "unexpected",
        "outcome": "not_recovered", "narrative": "Admitted for observation.", **change,
    }  # fmt: skip
    return report_adverse_event(session, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def admin(session: Session) -> User:
    return _user(session, "admin", "admin")


def _both(session: Session, admin: User, trial: Trial) -> None:
    set_jurisdictions(
        session, admin, trial_id=trial.id, jurisdictions=["us_ind", "jp_asrm"],
        provision_plan_submitted_on=PLAN,
    )  # fmt: skip


def test_a_trial_in_both_jurisdictions_gives_an_event_both_clocks(
    session: Session, admin: User, trial: Trial, participant: Participant
) -> None:
    event = _event(session, participant)
    assert [s.rule.id for s in clock_states(session, [event.id], AWARE)[event.id]] == [
        "us_ind_15_day"
    ]  # a trial stored without jurisdictions follows 21 CFR 312.32
    _both(session, admin, trial)
    states = clock_states(session, [event.id], date(2026, 3, 20))[event.id]
    assert [(s.rule.id, s.clock.due, s.status.state) for s in states] == [
        ("jp_asrm_15_day", date(2026, 3, 25), "due"),
        ("us_ind_15_day", date(2026, 3, 25), "due"),
    ]
    assert verify_audit(session).ok


def test_each_clock_is_met_on_its_own(
    session: Session, admin: User, trial: Trial, participant: Participant
) -> None:
    _both(session, admin, trial)
    event = _event(session, participant, serious_criteria=["life_threatening"], ctcae_grade=4)
    record_clock_submission(
        session, admin, event_id=event.id, rule="us_ind_7_day", submitted_on=date(2026, 3, 16),
        authority="FDA CBER", reference="IND-SR-1",
    )  # fmt: skip
    states = {s.rule.id: s for s in clock_states(session, [event.id], date(2026, 3, 19))[event.id]}
    assert states["us_ind_7_day"].status.state == "submitted"
    assert (states["jp_asrm_7_day"].status.state, states["jp_asrm_7_day"].status.days) == (
        "overdue",
        2,
    )
    badge = overall_status(list(states.values()))
    assert badge.state == "overdue"
    assert "7-day IND safety report: submitted" in badge.label
    session.refresh(event)
    assert event.expedited_report_due == date(2026, 3, 17)  # the open clock's deadline
    with pytest.raises(ReasonRequiredError):
        record_clock_submission(
            session, admin, event_id=event.id, rule="us_ind_7_day",
            submitted_on=date(2026, 3, 17), authority="FDA CBER", reference="IND-SR-2",
        )  # fmt: skip
    with pytest.raises(InvalidValueError, match=r"rule: 'us_ind_15_day'.*jp_asrm_7_day"):
        record_clock_submission(
            session, admin, event_id=event.id, rule="us_ind_15_day",
            submitted_on=date(2026, 3, 17), authority="FDA", reference="X",
        )  # fmt: skip


def test_a_clock_whose_rule_no_longer_applies_keeps_its_submission(
    session: Session, admin: User, trial: Trial, participant: Participant
) -> None:
    event = _event(session, participant)
    record_clock_submission(
        session, admin, event_id=event.id, rule="us_ind_15_day", submitted_on=date(2026, 3, 20),
        authority="FDA", reference="IND-SR-9",
    )  # fmt: skip
    update_adverse_event(
        session, user=acting_as("investigator"), event_id=event.id, reason="the IB lists syrinx",
        expectedness="expected",
    )  # fmt: skip
    (state,) = clock_states(session, [event.id], date(2026, 4, 1))[event.id]
    assert (state.clock.applies, state.clock.reference) == (False, "IND-SR-9")
    session.refresh(event)
    assert not event.expedited_report_required


def test_periodic_reports_list_their_events_and_are_filed_per_period(
    session: Session, admin: User, trial: Trial, participant: Participant
) -> None:
    _both(session, admin, trial)
    mild = _event(
        session, participant, serious_criteria=[], ctcae_grade=1, narrative="",
        awareness_date=date(2026, 1, 20), onset_date=date(2026, 1, 19),
    )  # fmt: skip
    states = periodic_report_states(session, admin, trial_id=trial.id, today=date(2026, 3, 15))
    first = next(s for s in states if s.report.rule.id == "jp_asrm_60_day")
    assert (first.report.number, first.report.due, first.status.state) == (
        1,
        date(2026, 3, 11),
        "overdue",
    )
    assert [e.id for e in first.events] == [mild.id] and first.hidden == 0
    with pytest.raises(RuleViolationError, match="only after its period ends on 2026-03-01"):
        record_periodic_submission(
            session, admin, trial_id=trial.id, rule="jp_asrm_60_day", period_number=1,
            submitted_on=date(2026, 3, 1), reference="P-1",
        )  # fmt: skip
    record_periodic_submission(
        session, admin, trial_id=trial.id, rule="jp_asrm_60_day", period_number=1,
        submitted_on=date(2026, 3, 9), reference="P-1",
    )  # fmt: skip
    states = periodic_report_states(session, admin, trial_id=trial.id, today=date(2026, 3, 15))
    first = next(s for s in states if s.report.rule.id == "jp_asrm_60_day")
    assert first.status.state == "submitted"
    assert verify_audit(session).ok


def test_site_users_see_only_their_events_and_a_count_of_the_others(
    session: Session, admin: User, trial: Trial, participant: Participant
) -> None:
    _both(session, admin, trial)
    _event(
        session, participant, serious_criteria=[], ctcae_grade=1, narrative="",
        awareness_date=date(2026, 1, 20), onset_date=date(2026, 1, 19),
    )  # fmt: skip
    from cordtrial.trial.services.trials import add_site

    elsewhere = add_site(
        session,
        user=acting_as("admin"),
        protocol_id=trial.protocol_id,
        code="S02",
        name="Elsewhere",
    )
    coordinator = _user(session, "coord", "coordinator", elsewhere)
    states = periodic_report_states(session, coordinator, trial_id=trial.id, today=date(2026, 3, 1))
    first = next(s for s in states if s.report.rule.id == "jp_asrm_60_day")
    assert (first.events, first.hidden) == ([], 1)


def test_who_may_set_jurisdictions_and_submit(
    session: Session, admin: User, trial: Trial, participant: Participant
) -> None:
    event = _event(session, participant)
    from cordtrial.trial.services.trials import add_site

    elsewhere = add_site(
        session,
        user=acting_as("admin"),
        protocol_id=trial.protocol_id,
        code="S02",
        name="Elsewhere",
    )
    coordinator = _user(session, "coord", "coordinator", elsewhere)
    with pytest.raises(AccessDeniedError):
        set_jurisdictions(session, coordinator, trial_id=trial.id, jurisdictions=["us_ind"])
    with pytest.raises(AccessDeniedError):
        record_clock_submission(
            session, coordinator, event_id=event.id, rule="us_ind_15_day",
            submitted_on=date(2026, 3, 20), authority="FDA", reference="R",
        )  # fmt: skip


def test_japan_needs_the_plan_date_and_a_change_needs_a_reason(
    session: Session, admin: User, trial: Trial
) -> None:
    with pytest.raises(InvalidValueError, match="provision_plan_submitted_on"):
        set_jurisdictions(session, admin, trial_id=trial.id, jurisdictions=["jp_asrm"])
    set_jurisdictions(session, admin, trial_id=trial.id, jurisdictions="us_ind")
    with pytest.raises(ReasonRequiredError):
        _both(session, admin, trial)
    set_jurisdictions(
        session, admin, trial_id=trial.id, jurisdictions=["us_ind", "jp_asrm"],
        provision_plan_submitted_on=PLAN, reason="the study opened a Japanese site",
    )  # fmt: skip
    session.refresh(trial)
    assert (trial.jurisdictions, trial.provision_plan_submitted_on) == (
        ["jp_asrm", "us_ind"],
        PLAN,
    )
