"""The demo's MRI surveillance: protocol MRIs for every participant up to five years (none
after the participant lost to follow-up could no longer be reached), two central readers, one
disagreement adjudicated, no tumour; the audit trail verifies (the engine fixture checks it)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cordtrial.trial.demo import seed_demo
from cordtrial.trial.models import (
    AdverseEvent,
    ContactAttempt,
    DispositionChange,
    MriExam,
    MriRead,
)
from cordtrial.trial.rules.imaging import DEFAULT_MRI_SCHEDULE
from cordtrial.trial.rules.vocabulary import DISPOSITIONS
from cordtrial.trial.services.disposition import current_dispositions
from cordtrial.trial.services.imaging import transplant_dates

TODAY = date(2026, 11, 25)


def test_demo_has_protocol_mris_two_readers_one_adjudication_and_no_tumour(
    session: Session,
) -> None:
    demo = seed_demo(session, today=TODAY)
    day0 = transplant_dates(session, list(demo.participant_ids.values()))
    lost = session.scalars(
        select(DispositionChange.participant_id).where(
            DispositionChange.status == "lost_to_follow_up"
        )
    ).all()
    assert len(lost) == 1
    last_tried = session.scalar(
        select(func.min(ContactAttempt.attempted_on)).where(
            ContactAttempt.participant_id == lost[0]
        )
    )
    assert last_tried is not None
    for study_id, pid in demo.participant_ids.items():
        dates = set(
            session.scalars(select(MriExam.acquired_on).where(MriExam.participant_id == pid))
        )
        closed = {
            day0[pid] + timedelta(days=p.target_day) for p in DEFAULT_MRI_SCHEDULE
            if day0[pid] + timedelta(days=p.target_day + p.window_plus) < TODAY
        }  # fmt: skip
        if pid == lost[0]:  # no MRI once the site could no longer reach them
            closed = {d for d in closed if d < last_tried}
            assert max(dates) < last_tried
        assert closed <= dates, study_id
    reads = session.scalars(select(MriRead)).all()
    adjudications = [r for r in reads if r.kind == "adjudication"]
    assert len(adjudications) == 1 and adjudications[0].status == "locked"
    assert {r.reader for r in reads if r.kind == "central"} == {"reader_1", "reader_2"}
    assert sum(r.status == "assigned" for r in reads) == 1  # work left for reader_2
    assert all(r.adverse_event_id is None for r in reads)
    tumours = session.scalars(
        select(AdverseEvent).where(AdverseEvent.category == "tumour_or_graft_overgrowth")
    ).all()
    assert tumours == []


def test_demo_dsmb_report_has_tumour_surveillance_after_aesi(session: Session) -> None:
    from cordtrial.analysis.dsmb import build_dsmb_report
    from cordtrial.analysis.store import load_trial

    demo = seed_demo(session, today=TODAY)
    report = build_dsmb_report(load_trial(session, demo.protocol_id))
    titles = [s.title for s in report.sections]
    assert (
        titles.index("Tumour surveillance")
        == titles.index("Adverse events of special interest") + 1
    )
    section = report.sections[titles.index("Tumour surveillance")]
    text = " ".join(section.paragraphs)
    assert "0 of 4 participants with a tumour finding" in text
    table = dict(section.tables)["MRI surveillance by participant"]
    assert set(table["tumour finding"]) == {"no"} and len(table) == 4
    # beside an overdue MRI, the participant's disposition (the store's latest record)
    current = current_dispositions(session, list(demo.participant_ids.values()))
    expected = {s: DISPOSITIONS[current[pid].status] for s, pid in demo.participant_ids.items()}
    assert dict(zip(table["participant"], table["disposition"], strict=True)) == expected
    overdue = table[table["surveillance"] == "overdue"]
    assert set(overdue["disposition"]) == {"lost to follow-up"}
