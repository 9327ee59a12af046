"""Visits, ISNCSCI exams and functional measures on each database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import (
    InvalidValueError,
    NotFoundError,
    ReasonRequiredError,
    RuleViolationError,
)
from cordtrial.trial.models import AuditEntry, IsncsciExam, Participant, ScimAssessment
from cordtrial.trial.services.exams import correct_exam, reclassify_exams, record_exam
from cordtrial.trial.services.measures import (
    correct_measure,
    record_scim,
    record_six_minute_walk,
    record_ten_metre_walk,
    record_wisci,
)
from cordtrial.trial.services.visits import (
    VisitRow,
    choose_exam_of_record,
    mark_visit_missed,
    record_visit_done,
    visit_schedule,
)

from ..conftest import TRANSPLANT, complete_c5_cells


def test_schedule_has_due_dates_and_status(session: Session, participant: Participant) -> None:
    record_visit_done(
        session,
        user=acting_as("c"),
        participant_id=participant.id,
        visit_name="day 0",
        done_on=TRANSPLANT,
    )
    rows = {r.name: r for r in visit_schedule(session, participant.id, today=date(2026, 2, 12))}
    # a date alone does not complete a visit whose protocol requires an exam
    assert (rows["day 0"].status, rows["day 0"].missing) == ("partly done", ("ISNCSCI exam",))
    assert rows["screening"].status == "overdue"
    assert (rows["week 2"].target, rows["week 2"].status) == (date(2026, 2, 9), "due")
    assert rows["week 4"].status == "scheduled"


def test_visit_date_change_needs_a_reason(session: Session, participant: Participant) -> None:
    kwargs = {"user": acting_as("c"), "participant_id": participant.id, "visit_name": "week 2"}
    record_visit_done(session, done_on=date(2026, 2, 9), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ReasonRequiredError):
        record_visit_done(session, done_on=date(2026, 2, 20), **kwargs)  # type: ignore[arg-type]
    visit = record_visit_done(
        session,
        done_on=date(2026, 2, 20),
        reason="wrong date entered",
        **kwargs,  # type: ignore[arg-type]
    )
    assert visit.done_on == date(2026, 2, 20)
    record_exam(
        session, user=acting_as("c"), participant_id=participant.id, examined_on=date(2026, 2, 20),
        examiner="Dr E", cells=complete_c5_cells(), visit_name="week 2",
    )  # fmt: skip
    rows = {r.name: r for r in visit_schedule(session, participant.id, today=date(2026, 3, 1))}
    assert (rows["week 2"].status, rows["week 2"].days_outside) == ("out of window", 8)


def test_unknown_visit_is_named(session: Session, participant: Participant) -> None:
    with pytest.raises(NotFoundError, match="visit 'P001/week 3'"):
        record_visit_done(
            session, user=acting_as("c"), participant_id=participant.id, visit_name="week 3",
            done_on=date(2026, 2, 9),
        )  # fmt: skip


def _exam(session: Session, participant: Participant, **cells: str | None) -> IsncsciExam:
    return record_exam(
        session, user=acting_as("examiner"), participant_id=participant.id,
        examined_on=date(2026, 1, 19),
        examiner="Dr A", cells={**complete_c5_cells(), **cells}, visit_name="screening",
    )  # fmt: skip


def test_complete_exam_is_stored_with_classification_and_versions(
    session: Session, participant: Participant
) -> None:
    exam = _exam(session, participant)
    session.expire_all()
    stored = session.get(IsncsciExam, exam.id)
    assert stored is not None and stored.classification is not None
    assert (stored.classification["nli"], stored.classification["ais"]) == ("C5", "A")
    assert (stored.engine_version, stored.isncsci_revision) == (ENGINE_VERSION, ISNCSCI_REVISION)


def test_not_recorded_and_nt_are_stored_distinctly(
    session: Session, participant: Participant
) -> None:
    exam = _exam(session, participant, r_c6_lt="NT", l_c6_lt=None)
    session.expire_all()
    stored = session.get(IsncsciExam, exam.id)
    assert stored is not None
    assert stored.cells["r_c6_lt"] == "NT"
    assert stored.cells["l_c6_lt"] is None
    assert stored.classification is None
    assert stored.classification_note == "not classified: not recorded: l_c6_lt"
    assert stored.engine_version is None


def test_correcting_cells_recomputes_the_classification(
    session: Session, participant: Participant
) -> None:
    exam = _exam(session, participant, l_s4_5_pp=None)
    assert exam.classification is None
    corrected = correct_exam(
        session, user=acting_as("examiner"), exam_id=exam.id,
        reason="S4-5 pin prick found on worksheet",
        cells={"l_s4_5_pp": "1"}, expected_version=1,
    )  # fmt: skip
    assert corrected.classification is not None
    assert corrected.classification["ais"] == "B"
    assert corrected.version == 2
    assert verify_audit(session).ok


def test_invalid_cell_is_refused_and_nothing_is_stored(
    session: Session, participant: Participant
) -> None:
    with pytest.raises(InvalidValueError, match=r"cells.r_c5_motor: '7'"):
        _exam(session, participant, r_c5_motor="7")
    assert session.scalars(select(IsncsciExam)).first() is None


def test_reclassify_updates_exams_from_older_engines(
    session: Session, participant: Participant
) -> None:
    exam = _exam(session, participant)
    # Stands in for an exam classified by an older engine.
    with session.bind.begin() as connection:  # type: ignore[union-attr]
        connection.execute(
            text("UPDATE isncsci_exam SET engine_version = '0.9' WHERE id = :id"), {"id": exam.id}
        )
    assert reclassify_exams(session, user=acting_as("system")) == 1
    session.expire_all()
    assert session.get(IsncsciExam, exam.id).engine_version == ENGINE_VERSION  # type: ignore[union-attr]


def test_functional_measures_are_stored(session: Session, participant: Participant) -> None:
    base = {"user": acting_as("physio"), "participant_id": participant.id,
            "assessed_on": date(2026, 4, 20), "assessor": "PT B",
            "visit_name": "week 12"}  # fmt: skip
    scim = record_scim(session, self_care=5, respiration_sphincter=15, mobility=3, **base)  # type: ignore[arg-type]
    wisci = record_wisci(session, level=0, **base)  # type: ignore[arg-type]
    ten = record_ten_metre_walk(session, seconds=14.2, start_mode="flying", **base)  # type: ignore[arg-type]
    six = record_six_minute_walk(session, metres=0, track_length_m=30, **base)  # type: ignore[arg-type]
    session.expire_all()
    assert session.get(ScimAssessment, scim.id).total == 23  # type: ignore[union-attr]
    assert (wisci.level, ten.seconds, six.metres) == (0, 14.2, 0.0)


def test_out_of_range_measure_is_refused(session: Session, participant: Participant) -> None:
    with pytest.raises(
        InvalidValueError, match=r"scim.mobility: 41 is out of range \(an integer 0-40\)"
    ):
        record_scim(
            session, user=acting_as("p"), participant_id=participant.id, assessed_on=date(2026, 4,
            20),
            assessor="PT", self_care=5, respiration_sphincter=15, mobility=41,
        )  # fmt: skip
    assert session.scalars(select(ScimAssessment)).first() is None


def test_corrected_measure_is_revalidated_and_total_recomputed(
    session: Session, participant: Participant
) -> None:
    scim = record_scim(
        session, user=acting_as("p"), participant_id=participant.id, assessed_on=date(2026, 4, 20),
        assessor="PT", self_care=5, respiration_sphincter=15, mobility=3,
    )  # fmt: skip
    corrected = correct_measure(
        session,
        ScimAssessment,
        user=acting_as("p"),
        measure_id=scim.id,
        reason="sum error",
        mobility=10,
    )
    assert (corrected.mobility, corrected.total) == (10, 30)
    with pytest.raises(InvalidValueError, match=r"scim.self_care: 25"):
        correct_measure(
            session,
            ScimAssessment,
            user=acting_as("p"),
            measure_id=scim.id,
            reason="x",
            self_care=25,
        )


# --- visit completion, missed visits and the exam of record (issue 16) -------------------------


def _visit_exam(session: Session, participant: Participant, **change: object) -> IsncsciExam:
    kwargs: dict[str, object] = {
        "user": acting_as("c"), "participant_id": participant.id, "examined_on": date(2026, 4, 20),
        "examiner": "Dr E", "cells": complete_c5_cells(), "visit_name": "week 12", **change,
    }  # fmt: skip
    return record_exam(session, **kwargs)  # type: ignore[arg-type]


def _row(session: Session, participant: Participant, name: str, today: date) -> VisitRow:
    return {r.name: r for r in visit_schedule(session, participant.id, today)}[name]


def test_saving_the_required_exam_completes_its_visit(
    session: Session, participant: Participant
) -> None:
    """Issue 16: after the exam the dashboard still said "week 12 ... due"."""
    _visit_exam(session, participant)
    row = _row(session, participant, "week 12", date(2026, 4, 21))
    assert (row.status, row.done_on, row.missing) == ("done", date(2026, 4, 20), ())
    visit = next(v for v in participant.visits if v.definition.name == "week 12")
    assert visit.done_on == date(2026, 4, 20)
    assert verify_audit(session).ok


def test_an_incomplete_exam_leaves_its_visit_partly_done(
    session: Session, participant: Participant
) -> None:
    cells = complete_c5_cells()
    cells["r_c6_motor"] = ""
    _visit_exam(session, participant, cells=cells)
    row = _row(session, participant, "week 12", date(2026, 4, 21))
    assert (row.status, row.missing) == ("partly done", ("ISNCSCI exam (incomplete)",))


def test_completing_an_incomplete_exam_completes_its_visit(
    session: Session, participant: Participant
) -> None:
    cells = complete_c5_cells()
    cells["r_c6_motor"] = ""
    exam = _visit_exam(session, participant, cells=cells)
    correct_exam(session, user=acting_as("c"), exam_id=exam.id, reason="cell recorded late",
                 cells={"r_c6_motor": "5"})  # fmt: skip
    row = _row(session, participant, "week 12", date(2026, 4, 21))
    assert (row.status, row.done_on) == ("done", date(2026, 4, 20))


def test_a_repeat_exam_needs_a_reason_and_a_choice_of_which_counts(
    session: Session, participant: Participant
) -> None:
    """Issue 16: a second exam replaced the visit's result silently."""
    first = _visit_exam(session, participant)
    with pytest.raises(InvalidValueError, match=r"repeat_reason: \(missing\) is required"):
        _visit_exam(session, participant)
    with pytest.raises(InvalidValueError, match="counts"):
        _visit_exam(session, participant, repeat_reason="first exam interrupted")
    assert len(list(session.scalars(select(IsncsciExam)))) == 1
    second = _visit_exam(
        session, participant, repeat_reason="examiner not trained", counts="previous"
    )
    assert (first.of_record, second.of_record) == (True, False)
    assert _row(session, participant, "week 12", date(2026, 5, 1)).exam_of_record_id == first.id
    choose_exam_of_record(
        session, user=acting_as("c"), exam_id=second.id, reason="monitor: use the repeat"
    )
    session.expire_all()
    chosen = {e.id: e.of_record for e in session.scalars(select(IsncsciExam))}
    assert chosen == {first.id: False, second.id: True}
    assert verify_audit(session).ok


def test_the_analysis_reads_only_the_exam_of_record(
    session: Session, participant: Participant, trial: object
) -> None:
    from cordtrial.analysis.store import load_trial

    first = _visit_exam(session, participant)
    cells = complete_c5_cells()
    cells["r_c6_motor"] = ""
    _visit_exam(session, participant, cells=cells, repeat_reason="re-test", counts="previous")
    exams = load_trial(session, participant.trial.protocol_id).exams
    assert list(exams.loc[exams["visit"] == "week 12", "exam_id"]) == [first.id]


def test_a_visit_can_be_marked_missed_with_a_reason(
    session: Session, participant: Participant
) -> None:
    mark_visit_missed(
        session, user=acting_as("c"), participant_id=participant.id, visit_name="week 4",
        reason="participant in hospital elsewhere", today=date(2026, 3, 1),
    )  # fmt: skip
    row = _row(session, participant, "week 4", date(2026, 3, 1))
    assert row.label == "missed: participant in hospital elsewhere"
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "visit"))
    reasons = {r.reason for r in entries}
    assert "visit missed: participant in hospital elsewhere" in reasons


def test_a_done_visit_cannot_be_marked_missed(session: Session, participant: Participant) -> None:
    _visit_exam(session, participant)
    with pytest.raises(RuleViolationError, match="cannot be missed"):
        mark_visit_missed(
            session, user=acting_as("c"), participant_id=participant.id, visit_name="week 12",
            reason="x", today=date(2026, 5, 1),
        )  # fmt: skip
