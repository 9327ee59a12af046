"""Use cases: record and correct ISNCSCI exams; the classification is computed, never typed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION
from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import IsncsciExam, User
from cordtrial.trial.rules.checks import check_date, check_text
from cordtrial.trial.rules.exam_cells import (
    check_exam_notes,
    check_flag_reasons,
    classify_cells,
    merge_cells,
    normalize_cells,
    prune_flag_reasons,
)
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_for, participant_record_for
from cordtrial.trial.services.users import require_permission
from cordtrial.trial.services.visits import complete_visit_if_ready, exam_of_record, find_visit

__all__ = ["REPEAT_CHOICES", "correct_exam", "reclassify_exams", "record_exam"]

#: Which exam counts when a visit is examined again: the new one or the previous one.
REPEAT_CHOICES = ("new", "previous")


def _classify_into(exam: IsncsciExam, cells: dict[str, str | None]) -> None:
    outcome = classify_cells(cells)
    exam.cells = cells
    exam.classification = outcome.record
    exam.classification_note = outcome.note
    exam.engine_version = outcome.engine_version
    exam.isncsci_revision = outcome.isncsci_revision


def record_exam(
    session: Session,
    *,
    user: User,
    participant_id: int,
    examined_on: date,
    examiner: str,
    cells: Mapping[str, Any],
    visit_name: str | None = None,
    notes: Mapping[str, Any] | None = None,
    repeat_reason: str | None = None,
    counts: Literal["new", "previous"] | None = None,
) -> IsncsciExam:
    """Record an ISNCSCI exam: the cells as entered (missing or blank: not recorded) and, once
    every cell is recorded, its classification with engine version and ISNCSCI revision;
    ``notes``: the examiner's comments and flag reasons (see ``check_exam_notes``).

    Every value flagged ``*`` or ``**`` needs its reason in ``notes["flag_reasons"]``, and only
    flagged values may have one (``check_flag_reasons``, ISNCSCI 2019).

    The first exam of a visit is its exam of record. Another exam of the same visit needs
    ``repeat_reason`` and ``counts``: whether the ``new`` exam or the ``previous`` one is the
    visit's exam of record from now on. Once every item the protocol requires at the visit is
    recorded, the visit is done (:func:`~cordtrial.trial.services.visits.complete_visit_if_ready`).

    Raises
    ------
    InvalidValueError
        For a bad date, examiner, cell or note; field ``notes.flag_reasons.<column>`` for a
        flagged value without a reason; ``repeat_reason`` / ``counts`` for a repeat exam without
        them.
    NotFoundError, AccessDeniedError
        When ``user`` may not see the participant, or may not enter data at their site.
    """
    participant = participant_for(session, user, "enter_data", participant_id)
    check_date("examined_on", examined_on)
    examiner = check_text("examiner", examiner, max_length=100)
    normalized = normalize_cells(cells)
    checked_notes = check_exam_notes(notes)
    check_flag_reasons(normalized, checked_notes)
    visit = find_visit(participant, visit_name) if visit_name is not None else None
    if visit is not None and visit.definition.long_term:
        # a visit of the long-term follow-up needs the participant's consent to it (issue 14)
        from cordtrial.trial.rules.consent import require_consent
        from cordtrial.trial.services.consent import consent_items

        require_consent(
            participant.study_id, consent_items(session, participant.id), "long_term_contact",
            f"an exam at the long-term visit {visit_name}",
        )  # fmt: skip
    earlier = (
        list(session.scalars(select(IsncsciExam).where(IsncsciExam.visit_id == visit.id)))
        if visit is not None
        else []
    )
    previous = exam_of_record(earlier)
    why: str | None = None
    if earlier:
        why = _check_repeat(visit_name or "", earlier, repeat_reason, counts)
    with unit_of_work(session, user.username, why):
        exam = IsncsciExam(
            participant_id=participant.id,
            visit_id=visit.id if visit is not None else None,
            examined_on=examined_on,
            examiner=examiner,
            notes=checked_notes,
            of_record=not earlier or counts == "new",
            repeat_reason=why,
        )
        _classify_into(exam, normalized)
        session.add(exam)
        if earlier and counts == "new":
            for other in earlier:
                if other.of_record is not False:
                    other.of_record = False
        elif previous is not None and previous.of_record is None:
            previous.of_record = True
    if visit is not None:
        complete_visit_if_ready(session, user=user, visit_id=visit.id)
    return exam


def _check_repeat(
    visit_name: str, earlier: list[IsncsciExam], reason: str | None, counts: str | None
) -> str:
    ids = ", ".join(str(e.id) for e in earlier)
    if reason is None or not str(reason).strip():
        raise InvalidValueError(
            "repeat_reason",
            reason,
            f"why the visit {visit_name} is examined again (it has exam {ids})",
            "is required for a repeat exam",
        )
    why = check_text("repeat_reason", reason, max_length=500)
    if counts not in REPEAT_CHOICES:
        raise InvalidValueError(
            "counts",
            counts,
            "which exam is the visit's exam of record: the new one or the previous one",
            "is required for a repeat exam",
        )
    return why


def correct_exam(
    session: Session,
    *,
    user: User,
    exam_id: int,
    reason: str,
    cells: Mapping[str, Any] | None = None,
    examined_on: date | None = None,
    examiner: str | None = None,
    expected_version: int | None = None,
    notes: Mapping[str, Any] | None = None,
) -> IsncsciExam:
    """Change cells (``None`` or ``""`` un-records one), the date or the examiner of an exam, and
    recompute its classification; ``notes`` (when given) replace the comments and flag reasons.
    The reason is required; each changed cell is audited.

    When ``notes`` are not given the stored ones stay, less the reasons of values no longer
    flagged. Either way the exam as corrected must have a reason for every flagged value
    (``check_flag_reasons``), also one imported without (see ``services.imports``): whoever
    corrects an exam documents its flags, as the worksheet page asks.

    Raises
    ------
    InvalidValueError
        As :func:`record_exam`.
    ReasonRequiredError
        Without a reason for the change.
    ConflictError
        When ``expected_version`` is not the stored version.
    NotFoundError, AccessDeniedError
        When ``user`` may not see the exam, or may not correct data at its participant's site.
    """
    participant_record_for(session, user, "correct_data", IsncsciExam, exam_id)
    checked_notes = check_exam_notes(notes) if notes is not None else None
    if examined_on is not None:
        check_date("examined_on", examined_on)
    if examiner is not None:
        examiner = check_text("examiner", examiner, max_length=100)
    exam = get_by_id(session, IsncsciExam, exam_id)
    check_version(exam, expected_version)
    merged = merge_cells(exam.cells, cells or {})
    new_notes = checked_notes if notes is not None else prune_flag_reasons(merged, exam.notes)
    check_flag_reasons(merged, new_notes)
    with unit_of_work(session, user.username, reason):
        if examined_on is not None:
            exam.examined_on = examined_on
        if examiner is not None:
            exam.examiner = examiner
        if new_notes != exam.notes:
            exam.notes = new_notes
        _classify_into(exam, merged)
    if exam.visit_id is not None:
        complete_visit_if_ready(session, user=user, visit_id=exam.visit_id)
    return exam


def reclassify_exams(session: Session, *, user: User) -> int:
    """Recompute the classification of every exam computed by another engine version or
    revision (after an engine update); returns how many changed. Every site's exams: an
    administrator's task (``manage_trial``)."""
    require_permission(user, "manage_trial")
    reason = f"reclassified by ISNCSCI engine {ENGINE_VERSION} (revision {ISNCSCI_REVISION})"
    with unit_of_work(session, user.username, reason):
        stale = session.scalars(
            select(IsncsciExam)
            .where(
                IsncsciExam.classification.is_not(None),
                (IsncsciExam.engine_version != ENGINE_VERSION)
                | (IsncsciExam.isncsci_revision != ISNCSCI_REVISION),
            )
            .execution_options(populate_existing=True)
        ).all()
        for exam in stale:
            _classify_into(exam, dict(exam.cells))
    return len(stale)
