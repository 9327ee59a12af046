"""ISNCSCI exams (classification computed, never typed) and their signatures."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from cordtrial.trial.models import IsncsciExam
from cordtrial.trial.rules.exam_cells import missing_flag_reasons
from cordtrial.trial.rules.signatures import DEFAULT_MEANING, signature_manifestation
from cordtrial.trial.services.exams import correct_exam, record_exam
from cordtrial.trial.services.lists import MAX_PAGE, trial_exams
from cordtrial.trial.services.reads import (
    list_exams,
    visible_participant_record,
)
from cordtrial.trial.services.signatures import (
    SignatureStatus,
    exam_signatures,
    sign_exam,
    signature_statuses,
)
from cordtrial.trial.services.visits import choose_exam_of_record
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import (
    ExamCreate,
    ExamOfRecordCreate,
    ExamPage,
    ExamRead,
    ExamUpdate,
    SignatureCreate,
    SignatureRead,
)

router = APIRouter(tags=["exams"])


def _signature(status: SignatureStatus) -> SignatureRead:
    s = status.signature
    return SignatureRead(
        id=s.id,
        signer=s.signer,
        signer_name=s.signer_name,
        signed_at=s.signed_at,
        meaning=s.meaning,
        manifestation=signature_manifestation(
            signer_name=s.signer_name, signer=s.signer, signed_at=s.signed_at, meaning=s.meaning
        ),
        exam_version=s.exam_version,
        content_sha256=s.content_sha256,
        void=status.void,
    )


def _exam(session: Session, exam: IsncsciExam) -> ExamRead:
    read = ExamRead.model_validate(exam)
    read.flags_without_reason = missing_flag_reasons(exam.cells, exam.notes)
    read.signatures = [_signature(s) for s in exam_signatures(session, exam.id)]
    return read


@router.get("/participants/{participant_id}/exams", response_model=list[ExamRead])
def get_exams(participant_id: PathId, user: CurrentUser, session: SessionDep) -> list[ExamRead]:
    """The participant's exams with their classifications and signatures."""
    return [_exam(session, e) for e in list_exams(session, user, participant_id)]


@router.get("/trials/{protocol_id}/exams", response_model=ExamPage)
def get_trial_exams(
    protocol_id: str,
    user: CurrentUser,
    session: SessionDep,
    site: Annotated[str | None, Query(max_length=32, description="A site code")] = None,
    participant: Annotated[
        str | None, Query(max_length=32, description="A participant's study id")
    ] = None,
    since: Annotated[date | None, Query(description="Examined on or after this date")] = None,
    cursor: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows a page")] = 100,
) -> ExamPage:
    """The trial's exams at the user's sites, by id, ``limit`` a page (cursor paging: pass the
    ``next_cursor`` of a page as ``cursor`` for the next; it stays right while exams are added):
    of one site (code), one participant (study id), examined on or after ``since``."""
    page, next_cursor = trial_exams(
        session, user, protocol_id, site=site, participant=participant, since=since,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    signatures = signature_statuses(session, page)
    items = []
    for exam in page:
        read = ExamRead.model_validate(exam)
        read.flags_without_reason = missing_flag_reasons(exam.cells, exam.notes)
        read.signatures = [_signature(s) for s in signatures[exam.id]]
        items.append(read)
    return ExamPage(items=items, next_cursor=next_cursor)


@router.post(
    "/participants/{participant_id}/exams",
    response_model=ExamRead,
    status_code=status.HTTP_201_CREATED,
)
def post_exam(
    participant_id: PathId, body: ExamCreate, user: CurrentUser, session: SessionDep
) -> ExamRead:
    """Record an exam; it is classified once every cell is recorded. Every value flagged
    ``*`` or ``**`` needs its reason in ``notes.flag_reasons`` (422 naming
    ``notes.flag_reasons.<column>`` otherwise). A second exam of the same visit needs
    ``repeat_reason`` and ``counts`` (which exam is the visit's exam of record); an exam that
    completes what the visit requires records the visit as done."""
    exam = record_exam(
        session,
        user=user,
        participant_id=participant_id,
        examined_on=body.examined_on,
        examiner=body.examiner,
        cells=body.cells,
        visit_name=body.visit_name,
        notes=body.notes.model_dump(exclude_none=True) if body.notes is not None else None,
        repeat_reason=body.repeat_reason,
        counts=body.counts,
    )
    return _exam(session, exam)


@router.get("/exams/{exam_id}", response_model=ExamRead)
def get_exam(exam_id: PathId, user: CurrentUser, session: SessionDep) -> ExamRead:
    """An exam with its classification and signatures (void ones marked)."""
    exam = visible_participant_record(session, user, IsncsciExam, exam_id)
    return _exam(session, exam)


@router.patch("/exams/{exam_id}", response_model=ExamRead)
def patch_exam(
    exam_id: PathId, body: ExamUpdate, user: CurrentUser, session: SessionDep
) -> ExamRead:
    """Correct cells, date, examiner or notes; the classification is recomputed and any
    signature of the earlier data becomes void. The corrected exam needs a reason for every
    flagged value."""
    exam = correct_exam(
        session,
        user=user,
        exam_id=exam_id,
        reason=body.reason,
        cells=body.cells,
        examined_on=body.examined_on,
        examiner=body.examiner,
        expected_version=body.version,
        notes=body.notes.model_dump(exclude_none=True) if body.notes is not None else None,
    )
    return _exam(session, exam)


@router.post("/exams/{exam_id}/of-record", response_model=ExamRead)
def post_exam_of_record(
    exam_id: PathId, body: ExamOfRecordCreate, user: CurrentUser, session: SessionDep
) -> ExamRead:
    """Make this exam its visit's exam of record (the one analyses use); the visit's other
    exams no longer count. The reason is required and audited."""
    exam = choose_exam_of_record(
        session,
        user=user,
        exam_id=exam_id,
        reason=body.reason,
        expected_version=body.version,
    )
    return _exam(session, exam)


@router.get("/exams/{exam_id}/signatures", response_model=list[SignatureRead])
def get_signatures(exam_id: PathId, user: CurrentUser, session: SessionDep) -> list[SignatureRead]:
    """The exam's signatures, each marked void when the exam changed after it."""
    visible_participant_record(session, user, IsncsciExam, exam_id)
    return [_signature(s) for s in exam_signatures(session, exam_id)]


@router.post(
    "/exams/{exam_id}/signatures",
    response_model=SignatureRead,
    status_code=status.HTTP_201_CREATED,
)
def post_signature(
    exam_id: PathId, body: SignatureCreate, user: CurrentUser, session: SessionDep, now: Clock
) -> SignatureRead:
    """Sign the exam version the signer reviewed, re-entering the password (a wrong password
    counts towards the lockout and is answered 401). A user signs a given version once (422)."""
    signature = sign_exam(
        session,
        user=user,
        password=body.password,
        exam_id=exam_id,
        now=now,
        meaning=body.meaning or DEFAULT_MEANING,
        expected_version=body.version,
    )
    return _signature(SignatureStatus(signature, void=False))
