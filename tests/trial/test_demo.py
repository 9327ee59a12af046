"""The synthetic demo trial: built through the use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cordtrial.isncsci import Exam, classify
from cordtrial.trial.demo import (
    DEMO_PROTOCOL_ID,
    DEMO_TRAJECTORIES,
    DEMO_USERS,
    seed_demo,
)
from cordtrial.trial.demo_signatures import AWAITING_DAYS
from cordtrial.trial.models import (
    Administration,
    AdverseEvent,
    ConsentSignature,
    ContactAttempt,
    ExpeditedClock,
    IsncsciExam,
    Lot,
    Participant,
    TenMetreWalk,
    User,
)
from cordtrial.trial.services.acting import acting_user
from cordtrial.trial.services.clocks import periodic_report_states
from cordtrial.trial.services.disposition import current_dispositions
from cordtrial.trial.services.lists import exams_to_do
from cordtrial.trial.services.signatures import signature_statuses
from cordtrial.trial.services.users import authenticate
from cordtrial.trial.services.visits import visit_schedule

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _grades(session: Session, participant_id: int) -> tuple[str, ...]:
    exams = session.scalars(
        select(IsncsciExam)
        .where(IsncsciExam.participant_id == participant_id)
        .order_by(IsncsciExam.examined_on)
    ).all()
    return tuple(str(e.classification["ais"]) for e in exams if e.classification)


def test_demo_exams_classify_to_the_intended_ais_trajectories(session: Session) -> None:
    """Expected grades: the demo's design (DEMO_TRAJECTORIES), recomputed by the engine."""
    demo = seed_demo(session, today=TODAY)
    assert demo.created
    got = {study_id: _grades(session, pid) for study_id, pid in demo.participant_ids.items()}
    assert got == DEMO_TRAJECTORIES
    # and the engine itself (not just the stored record) agrees on the cells
    for exam in session.scalars(select(IsncsciExam)):
        cells = {k: v for k, v in exam.cells.items() if v is not None}
        assert classify(Exam.from_flat(cells)).to_record()["ais"] == exam.classification["ais"]
    # the improver's LEMS rises and walking tests appear
    pid = demo.participant_ids["A-001"]
    lems = [
        int(e.classification["lems"])
        for e in session.scalars(
            select(IsncsciExam)
            .where(IsncsciExam.participant_id == pid)
            .order_by(IsncsciExam.examined_on)
        )
    ]
    assert lems == sorted(lems) and lems[-1] > lems[0]
    walks = session.scalars(select(TenMetreWalk).where(TenMetreWalk.participant_id == pid)).all()
    assert len(walks) == 2


def test_demo_has_lots_administrations_a_susar_and_visits_due(session: Session) -> None:
    seed_demo(session, today=TODAY)
    statuses = {n: st for n, st in session.execute(select(Lot.lot_number, Lot.status))}
    assert statuses == {"DEMO-LOT-001": "released", "DEMO-LOT-002": "quarantine"}
    administrations = session.scalars(select(Administration)).all()
    assert len(administrations) == 4
    assert all(a.identity_checked_by != a.operator for a in administrations)
    expedited = session.scalars(
        select(AdverseEvent).where(AdverseEvent.expedited_report_required.is_(True))
    ).all()
    assert len(expedited) == 1
    due = expedited[0].expedited_report_due
    assert due is not None and due > TODAY
    demo = seed_demo(session, today=TODAY)  # already there: returns the ids
    for pid in demo.participant_ids.values():
        p = session.get(Participant, pid)
        assert p is not None and p.transplant_date is not None
        assert 14 <= (p.transplant_date - p.injury_date).days <= 28
    visit_statuses = {
        row.status
        for pid in demo.participant_ids.values()
        for row in visit_schedule(session, pid, TODAY)
    }
    assert {"due", "overdue", "done", "scheduled", "missed"} <= {s for s in visit_statuses}
    # Under both jurisdictions the SUSAR has a US and a Japanese clock, each submitted.
    clocks = session.scalars(
        select(ExpeditedClock).where(ExpeditedClock.adverse_event_id == expedited[0].id)
    ).all()
    assert sorted(c.rule for c in clocks) == ["jp_asrm_15_day", "us_ind_15_day"]
    assert all(c.submitted_on is not None and c.submitted_on <= c.due for c in clocks)
    states = periodic_report_states(
        session, acting_user(session, "admin", "read"),
        trial_id=session.scalars(select(Participant.trial_id)).first() or 0, today=TODAY,
    )  # fmt: skip
    assert states and states[-1].status.state == "due"  # the period still running
    assert all(s.submission is not None for s in states if s.report.due < TODAY)
    assert expedited[0].narrative


def test_seeding_again_writes_nothing_and_users_log_in(session: Session) -> None:
    first = seed_demo(session, today=TODAY)
    for username, (role, _sites, password) in DEMO_USERS.items():
        user = authenticate(session, username=username, password=password, now=NOW)
        assert user.role == role
    second = seed_demo(session, today=date(2027, 1, 1))
    assert not second.created
    assert second.participant_ids == first.participant_ids
    assert second.protocol_id == DEMO_PROTOCOL_ID
    assert session.scalar(select(func.count()).select_from(Participant)) == 4
    assert session.scalar(select(func.count()).select_from(User)) == len(DEMO_USERS)


def test_demo_follows_everyone_five_years_one_lost_in_year_4_one_reconsented(
    session: Session,
) -> None:
    """Issue 14's demo: five years of follow-up for the four participants, one lost to
    follow-up in year 4 (the attempts fall around the year 4 visit, which was never done), one
    re-consented to a later version; everyone else is in long-term follow-up."""
    demo = seed_demo(session, today=TODAY)
    current = current_dispositions(session, list(demo.participant_ids.values()))
    five_years = timedelta(days=round(365.25 * 5))
    for study_id, pid in demo.participant_ids.items():
        participant = session.get(Participant, pid)
        assert participant is not None and participant.transplant_date is not None
        assert participant.transplant_date + five_years <= TODAY, study_id
    lost = [pid for pid, facts in current.items() if facts.status == "lost_to_follow_up"]
    assert len(lost) == 1
    others = {s for pid, s in current.items() if pid != lost[0]}
    assert {s.status for s in others} == {"long_term_follow_up"} and len(others) == 3
    year4 = next(v for v in visit_schedule(session, lost[0], TODAY) if v.name == "year 4")
    assert year4.done_on is None
    attempts = session.scalars(
        select(ContactAttempt.attempted_on).where(ContactAttempt.participant_id == lost[0])
    ).all()
    assert len(attempts) >= 3
    assert year4.opens is not None and year4.closes is not None
    assert all(year4.opens <= a <= year4.closes for a in attempts)
    signed = session.execute(
        select(ConsentSignature.participant_id, func.count()).group_by(
            ConsentSignature.participant_id
        )
    ).all()
    assert sorted(n for _, n in signed) == [1, 1, 1, 2]


def test_the_investigator_signed_every_exam_but_the_latest(session: Session) -> None:
    """The demo's dashboard "to sign" list holds only the exams of the last AWAITING_DAYS days
    (A-001's year 5 exam); every older exam carries the investigator's valid signature, dated
    after the exam and over the exam's current version."""
    demo = seed_demo(session, today=TODAY)
    exams = session.scalars(select(IsncsciExam).order_by(IsncsciExam.id)).all()
    statuses = signature_statuses(session, exams)
    recent = {e.id for e in exams if e.examined_on > TODAY - timedelta(days=AWAITING_DAYS)}
    assert recent, "the demo should keep an exam waiting for its signature"
    for exam in exams:
        signed = statuses[exam.id]
        if exam.id in recent:
            assert signed == [], exam.examined_on
            continue
        assert [s.signature.signer for s in signed] == ["investigator"], exam.examined_on
        assert not signed[0].void
        assert signed[0].signature.exam_version == exam.version
        assert signed[0].signature.signed_at.date() > exam.examined_on
    participants = session.scalars(select(Participant)).all()
    to_sign = {
        exam_id for todo in exams_to_do(session, participants) for exam_id, _, _ in todo.unsigned
    }
    assert to_sign == recent
    a001 = demo.participant_ids["A-001"]
    assert {e.participant_id for e in exams if e.id in recent} == {a001}
