"""Visits, ISNCSCI exams and functional measures on each database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import InvalidValueError, NotFoundError, ReasonRequiredError
from cordtrial.trial.models import IsncsciExam, Participant, ScimAssessment
from cordtrial.trial.services.exams import correct_exam, reclassify_exams, record_exam
from cordtrial.trial.services.measures import (
    correct_measure,
    record_scim,
    record_six_minute_walk,
    record_ten_metre_walk,
    record_wisci,
)
from cordtrial.trial.services.visits import record_visit_done, visit_schedule

from ..conftest import TRANSPLANT, complete_c5_cells


def test_schedule_has_due_dates_and_status(session: Session, participant: Participant) -> None:
    record_visit_done(
        session, actor="c", participant_id=participant.id, visit_name="day 0", done_on=TRANSPLANT
    )
    rows = {r.name: r for r in visit_schedule(session, participant.id, today=date(2026, 2, 12))}
    assert rows["day 0"].status == "done"
    assert rows["screening"].status == "overdue"
    assert (rows["week 2"].target, rows["week 2"].status) == (date(2026, 2, 9), "due")
    assert rows["week 4"].status == "upcoming"


def test_visit_date_change_needs_a_reason(session: Session, participant: Participant) -> None:
    kwargs = {"actor": "c", "participant_id": participant.id, "visit_name": "week 2"}
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
    rows = {r.name: r for r in visit_schedule(session, participant.id, today=date(2026, 3, 1))}
    assert rows["week 2"].status == "done out of window"


def test_unknown_visit_is_named(session: Session, participant: Participant) -> None:
    with pytest.raises(NotFoundError, match="visit 'P001/week 3'"):
        record_visit_done(
            session, actor="c", participant_id=participant.id, visit_name="week 3",
            done_on=date(2026, 2, 9),
        )  # fmt: skip


def _exam(session: Session, participant: Participant, **cells: str | None) -> IsncsciExam:
    return record_exam(
        session, actor="examiner", participant_id=participant.id, examined_on=date(2026, 1, 19),
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
        session, actor="examiner", exam_id=exam.id, reason="S4-5 pin prick found on worksheet",
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
    assert reclassify_exams(session, actor="system") == 1
    session.expire_all()
    assert session.get(IsncsciExam, exam.id).engine_version == ENGINE_VERSION  # type: ignore[union-attr]


def test_functional_measures_are_stored(session: Session, participant: Participant) -> None:
    base = {"actor": "physio", "participant_id": participant.id, "assessed_on": date(2026, 4, 20),
            "assessor": "PT B", "visit_name": "week 12"}  # fmt: skip
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
            session, actor="p", participant_id=participant.id, assessed_on=date(2026, 4, 20),
            assessor="PT", self_care=5, respiration_sphincter=15, mobility=41,
        )  # fmt: skip
    assert session.scalars(select(ScimAssessment)).first() is None


def test_corrected_measure_is_revalidated_and_total_recomputed(
    session: Session, participant: Participant
) -> None:
    scim = record_scim(
        session, actor="p", participant_id=participant.id, assessed_on=date(2026, 4, 20),
        assessor="PT", self_care=5, respiration_sphincter=15, mobility=3,
    )  # fmt: skip
    corrected = correct_measure(
        session, ScimAssessment, actor="p", measure_id=scim.id, reason="sum error", mobility=10
    )
    assert (corrected.mobility, corrected.total) == (10, 30)
    with pytest.raises(InvalidValueError, match=r"scim.self_care: 25"):
        correct_measure(
            session, ScimAssessment, actor="p", measure_id=scim.id, reason="x", self_care=25
        )
