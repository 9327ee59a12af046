"""Exam entry as the ISNCSCI worksheet: a new exam of a participant, an exam to view, correct
and sign, its audit history, its PDF; and ``POST /worksheet/classify``, the live classification
(an HTML fragment) that the worksheet and the calculator ask for as values are typed.

Permissions and site scope as in the API: reading needs ``read``, a new exam ``enter_data``, a
correction ``correct_data`` (with a reason), a signature ``sign`` (the password re-entered); an
exam or participant at a site the user may not see is 404. The classification fragment needs no
login: it stores nothing and only runs the engine on the values posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, field_label
from cordtrial.trial.errors import (
    AuthenticationError,
    ConflictError,
    InvalidValueError,
    TrialError,
    human_value,
)
from cordtrial.trial.models import IsncsciExam, Participant, User
from cordtrial.trial.rules.access import Action, can, can_see_site
from cordtrial.trial.rules.signatures import DEFAULT_MEANING, signature_manifestation
from cordtrial.trial.services.exams import correct_exam, record_exam
from cordtrial.trial.services.reads import (
    list_audit,
    participant_for,
    participant_record_for,
    visible_participant,
)
from cordtrial.trial.services.signatures import exam_signatures, sign_exam
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render, templates
from cordtrial.web.pages.worksheet_model import (
    ALL_COLUMNS,
    GRID_COLUMNS,
    KEY_MUSCLE_NAMES,
    NKM_GROUPS,
    RESULT_LABELS,
    WorksheetCheck,
    cell_label,
    check_worksheet,
    flag_reason_field,
    read_worksheet,
)
from cordtrial.web.pages.worksheet_pdf import worksheet_pdf

__all__ = [
    "KEYS",
    "entry_errors",
    "exam_notes",
    "flag_reasons_from",
    "router",
    "worksheet_context",
]

router = APIRouter(include_in_schema=False)

#: Keys of the worksheet, shown on the page and in docs/worksheet.md.
KEYS: tuple[tuple[str, str], ...] = (
    ("0-5, 0-2", "a grade; a complete value moves to the next cell"),
    ("N T", "NT (not testable); moves on after the T"),
    ("#", "NT too, for a tablet's number pad (which has 0-9, * and # but no letters)"),
    ("* right after a value", "adds * (then **) to the cell just filled"),
    ("Ctrl+D", "fill down: copies this cell (or, if empty, the one above) to every cell below"),
    ("Enter / down arrow", "next cell"),
    ("up arrow", "previous cell"),
    ("Tab / Shift+Tab", "next / previous field, in worksheet order"),
)


def worksheet_context(
    cells: Mapping[str, str] | None = None,
    *,
    readonly: bool = False,
    comments: str = "",
    flag_reasons: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What the worksheet component (``worksheet_grid.html``) needs to render."""
    check = check_worksheet(dict(cells or {}))
    return {
        "ws": check,
        "ws_columns": GRID_COLUMNS,
        "ws_nkm_groups": NKM_GROUPS,
        "ws_levels": [(cell_level, KEY_MUSCLE_NAMES.get(cell_level)) for cell_level in _LEVELS],
        "ws_readonly": readonly,
        "ws_comments": comments,
        "ws_reasons": dict(flag_reasons or {}),
        "ws_keys": KEYS,
        "ws_labels": RESULT_LABELS,
        "cell_label": cell_label,
        "field_label": field_label,
        "reason_field": flag_reason_field,
        "engine_version": ENGINE_VERSION,
        "isncsci_revision": ISNCSCI_REVISION,
    }


_LEVELS = GRID_COLUMNS[1].levels


def flag_reasons_from(form: Mapping[str, object]) -> dict[str, str]:
    """The reason typed for each flagged value, by cell column."""
    reasons: dict[str, str] = {}
    for name in ALL_COLUMNS:
        value = form.get(flag_reason_field(name))
        if isinstance(value, str) and value.strip():
            reasons[name] = value.strip()
    return reasons


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def exam_notes(check: WorksheetCheck, form: Mapping[str, object]) -> dict[str, Any]:
    """The notes to store with an exam: the comments, and the reasons of the values flagged
    now (a reason typed for a value since unflagged is dropped)."""
    reasons = flag_reasons_from(form)
    return {
        "comments": _text(form, "comments"),
        "flag_reasons": {name: reasons[name] for name in check.flagged if name in reasons},
    }


def _stored_notes(exam: IsncsciExam) -> tuple[str, dict[str, str]]:
    notes = exam.notes or {}
    return str(notes.get("comments", "")), dict(notes.get("flag_reasons", {}))


def entry_errors(check: WorksheetCheck, reasons: Mapping[str, str]) -> list[str]:
    """Why a worksheet may not be saved: its invalid values, and flagged values with no reason
    (ISNCSCI 2019: a ``*`` value must be explained in the comments)."""
    errors = list(check.errors.values())
    for name in check.flagged:
        if not reasons.get(name):
            errors.append(
                f"Reason for the flag on {field_label(name)}: a reason is required for the "
                f"flagged value {check.cells[name]} (say which impairment, not due to the spinal "
                "cord injury, it marks)"
            )
    return errors


# --- live classification -------------------------------------------------------------------------


@router.post("/worksheet/classify", response_class=HTMLResponse)
async def classify_fragment(request: Request) -> Response:
    """The classification of the posted worksheet values as an HTML fragment: the results and
    their explanation, or every invalid value (the engine's message) and what is missing."""
    form = await request.form()
    check = check_worksheet(read_worksheet(form))
    return templates.TemplateResponse(
        request,
        "worksheet_classification.html",
        {"ws": check, "ws_labels": RESULT_LABELS, "field_label": field_label},
    )


# --- a new exam ----------------------------------------------------------------------------------


def _visits(participant: Participant) -> list[tuple[str, str]]:
    rows = []
    for visit in participant.visits:
        name = visit.definition.name
        done = f" (done {visit.done_on.isoformat()})" if visit.done_on else ""
        rows.append((name, f"{name}, day {visit.definition.target_day}{done}"))
    return rows


def _new_page(
    request: Request,
    user: User,
    participant: Participant,
    *,
    form: Mapping[str, object] | None,
    today: date,
    errors: list[str] | None = None,
    status_code: int = 200,
    incomplete: list[str] | None = None,
) -> Response:
    form = form or {}
    cells = read_worksheet(form)
    return render(
        request,
        "worksheet_new.html",
        user=user,
        status_code=status_code,
        participant=participant,
        visits=_visits(participant),
        visit_name=_text(form, "visit_name"),
        examined_on=_text(form, "examined_on") or today.isoformat(),
        examiner=_text(form, "examiner") or user.username,
        repeat_reason=_text(form, "repeat_reason"),
        counts=_text(form, "counts"),
        ask_incomplete=bool(incomplete),
        incomplete=incomplete or [],
        errors=errors or [],
        **worksheet_context(
            cells, comments=_text(form, "comments"), flag_reasons=flag_reasons_from(form)
        ),
    )


@router.get("/participants/{participant_id}/exams/new", response_class=HTMLResponse)
def new_exam_page(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """An empty worksheet for a new exam of the participant."""
    participant = participant_for(session, user, "enter_data", participant_id)
    return _new_page(request, user, participant, form=None, today=now.date())


def _bad_date(form: Mapping[str, object]) -> str:
    shown = human_value(_text(form, "examined_on"))
    return f"Examination date: {shown} is not a date (YYYY-MM-DD)"


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@router.post("/participants/{participant_id}/exams", response_class=HTMLResponse)
async def create_exam(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Save a new exam; on any error nothing is saved and the worksheet comes back with the
    errors and the values as typed."""
    participant = participant_for(session, user, "enter_data", participant_id)
    form = await request.form()
    cells = read_worksheet(form)
    check = check_worksheet(cells)
    errors = entry_errors(check, flag_reasons_from(form))
    examined_on = _parse_date(_text(form, "examined_on"))
    if examined_on is None:
        errors.append(_bad_date(form))
    incomplete: list[str] = []
    if not errors and check.missing and _text(form, "confirm_incomplete") != "yes":
        # Saving an incomplete exam is a choice: say what is missing and ask.
        incomplete = check.missing_summary()
        errors.append(
            "This exam is incomplete (not recorded: " + "; ".join(incomplete) + "). "
            "Record the missing cells, or confirm that it is saved as it is."
        )
    counts = _text(form, "counts")
    if not errors and examined_on is not None:
        try:
            exam = record_exam(
                session,
                user=user,
                participant_id=participant.id,
                examined_on=examined_on,
                examiner=_text(form, "examiner"),
                cells={k: v for k, v in cells.items() if v},
                visit_name=_text(form, "visit_name") or None,
                notes=exam_notes(check, form),
                repeat_reason=_text(form, "repeat_reason") or None,
                counts="new" if counts == "new" else "previous" if counts == "previous" else None,
            )
        except InvalidValueError as exc:
            session.rollback()
            if exc.field in ("repeat_reason", "counts"):
                errors.append(
                    f"The visit {_text(form, 'visit_name')} already has an exam: say why it is "
                    "examined again, and which exam counts for the visit."
                )
            else:
                errors.append(exc.human)
        except TrialError as exc:
            errors.append(exc.human)
        else:
            return RedirectResponse(f"/exams/{exam.id}?saved=1", status.HTTP_303_SEE_OTHER)
    return _new_page(
        request,
        user,
        participant,
        form=form,
        today=now.date(),
        errors=errors,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        incomplete=incomplete,
    )


# --- an existing exam ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One audited change of the exam, for the history table."""

    seq: int
    at: str
    actor: str
    action: str
    field: str
    old: str
    new: str
    reason: str


def _plain(text: str | None) -> str:
    if text is None:
        return ""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return "(not recorded)" if text == "null" else text


def _history(session: Session, exam: IsncsciExam) -> list[HistoryRow]:
    rows = list(list_audit(session, entity="isncsci_exam", entity_id=str(exam.id), limit=5000))
    for status_ in exam_signatures(session, exam.id):
        rows += list_audit(
            session, entity="exam_signature", entity_id=str(status_.signature.id), limit=100
        )
    rows.sort(key=lambda r: r.seq)
    out: list[HistoryRow] = []
    created: set[tuple[str, str]] = set()
    for r in rows:
        if r.action == "create":
            # A record's creation is one entry per field: shown as one row.
            if (r.entity, r.entity_id) in created:
                continue
            created.add((r.entity, r.entity_id))
            count = sum(1 for x in rows if (x.entity, x.entity_id, x.action) ==
                        (r.entity, r.entity_id, "create"))  # fmt: skip
            what = "exam" if r.entity == "isncsci_exam" else f"signature {r.entity_id}"
            out.append(HistoryRow(r.seq, r.at.strftime("%Y-%m-%d %H:%M UTC"), r.actor, "create",
                                  f"{what} ({count} fields)", "", "", r.reason or ""))  # fmt: skip
            continue
        name = "record version" if r.field == "version" else r.field
        if r.entity == "exam_signature":
            name = f"signature {r.entity_id}: {name}"
        out.append(
            HistoryRow(
                seq=r.seq,
                at=r.at.strftime("%Y-%m-%d %H:%M UTC"),
                actor=r.actor,
                action=r.action,
                field=name,
                old=_plain(r.old_value),
                new=_plain(r.new_value),
                reason=r.reason or "",
            )
        )
    return out


def _exam_cells(exam: IsncsciExam) -> dict[str, str]:
    return {name: (exam.cells.get(name) or "") for name in ALL_COLUMNS}


def _visible_exam(
    session: Session, user: User, exam_id: int, action: Action = "read"
) -> tuple[IsncsciExam, Participant]:
    exam = participant_record_for(session, user, action, IsncsciExam, exam_id)
    return exam, visible_participant(session, user, exam.participant_id)


def _visit_name(participant: Participant, exam: IsncsciExam) -> str:
    for visit in participant.visits:
        if visit.id == exam.visit_id:
            return visit.definition.name
    return ""


def _may(user: User, action: str, participant: Participant) -> bool:
    return can(user.role, action) and can_see_site(
        user.role, user.all_sites, user.site_ids, participant.site_id
    )


def _exam_page(
    request: Request,
    session: Session,
    user: User,
    exam: IsncsciExam,
    participant: Participant,
    *,
    form: Mapping[str, object] | None = None,
    errors: list[str] | None = None,
    sign_error: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Response:
    may_correct = _may(user, "correct_data", participant)
    if form is not None:
        cells = read_worksheet(form)
        reasons = flag_reasons_from(form)
        comments = _text(form, "comments")
    else:
        cells = _exam_cells(exam)
        comments, reasons = _stored_notes(exam)
    signatures = exam_signatures(session, exam.id)
    # the user's own signature of this version: signing it again would be refused
    mine = [
        s.signature
        for s in signatures
        if s.signature.user_id == user.id and s.signature.exam_version == exam.version
    ]
    signed_by_you = mine[0] if mine else None
    return render(
        request,
        "worksheet_exam.html",
        user=user,
        status_code=status_code,
        exam=exam,
        participant=participant,
        visit_name=_visit_name(participant, exam),
        may_correct=may_correct,
        may_sign=_may(user, "sign", participant),
        signatures=signatures,
        signed_by_you=signed_by_you,
        history=_history(session, exam),
        meaning=DEFAULT_MEANING,
        errors=errors or [],
        sign_error=sign_error,
        notice=notice,
        reason=_text(form or {}, "reason"),
        examined_on=_text(form or {}, "examined_on") or exam.examined_on.isoformat(),
        examiner=_text(form or {}, "examiner") or exam.examiner,
        **worksheet_context(
            cells, readonly=not may_correct, comments=comments, flag_reasons=reasons
        ),
    )


@router.get("/exams/{exam_id}", response_class=HTMLResponse)
def exam_page(
    request: Request, exam_id: int, user: PageUser, session: SessionDep, saved: int = 0
) -> Response:
    """The exam on the worksheet, its classification, signatures and audit history."""
    exam, participant = _visible_exam(session, user, exam_id)
    notice = "Exam saved." if saved == 1 else "Correction saved." if saved == 2 else ""
    if saved == 3:
        notice = "Exam signed."
    return _exam_page(request, session, user, exam, participant, notice=notice)


@router.post("/exams/{exam_id}", response_class=HTMLResponse)
async def correct_exam_page(
    request: Request, exam_id: int, user: PageUser, session: SessionDep, _: CsrfChecked
) -> Response:
    """Save a correction: the reason is required; the version guards against overwriting
    someone else's change (optimistic locking); nothing is saved on any error."""
    exam, participant = _visible_exam(session, user, exam_id, "correct_data")
    form = await request.form()
    cells = read_worksheet(form)
    check = check_worksheet(cells)
    errors = entry_errors(check, flag_reasons_from(form))
    examined_on = _parse_date(_text(form, "examined_on"))
    if examined_on is None:
        errors.append(_bad_date(form))
    reason = _text(form, "reason")
    if not reason:
        errors.append("Reason: a reason is required to correct an exam after its first entry")
    version_text = _text(form, "version")
    version = int(version_text) if version_text.isdigit() else None
    if version is None:
        # without it the optimistic lock would be skipped and a newer version overwritten
        shown = human_value(version_text)
        errors.append(f"Version: {shown} is not an exam version (reload the exam)")
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if not errors:
        try:
            correct_exam(
                session,
                user=user,
                exam_id=exam.id,
                reason=reason,
                cells={k: (v or None) for k, v in cells.items()},
                examined_on=examined_on,
                examiner=_text(form, "examiner"),
                expected_version=version,
                notes=exam_notes(check, form),
            )
        except ConflictError as exc:
            errors.append(f"{exc.human} -- reload the exam to see the current values")
            status_code = status.HTTP_409_CONFLICT
        except TrialError as exc:
            errors.append(exc.human)
        else:
            return RedirectResponse(f"/exams/{exam.id}?saved=2", status.HTTP_303_SEE_OTHER)
    session.rollback()
    exam, participant = _visible_exam(session, user, exam_id)
    return _exam_page(
        request, session, user, exam, participant, form=form, errors=errors,
        status_code=status_code,
    )  # fmt: skip


@router.post("/exams/{exam_id}/sign", response_class=HTMLResponse)
async def sign_exam_page(
    request: Request,
    exam_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Sign the exam version shown, re-entering the password."""
    exam, participant = _visible_exam(session, user, exam_id, "sign")
    form = await request.form()
    version_text = _text(form, "version")
    password = form.get("password")
    try:
        if not version_text.isdigit():
            # a signature must name the version the signer reviewed
            raise InvalidValueError("version", version_text, "the exam version shown (reload)")
        sign_exam(
            session,
            user=user,
            password=password if isinstance(password, str) else "",
            exam_id=exam.id,
            now=now,
            expected_version=int(version_text),
        )
    except AuthenticationError:
        message = "Password wrong (five failures in a row lock the account for 15 minutes)."
        code = status.HTTP_401_UNAUTHORIZED
    except ConflictError as exc:
        message = f"{exc.human} -- review the current version, then sign"
        code = status.HTTP_409_CONFLICT
    except TrialError as exc:
        message, code = exc.human, status.HTTP_422_UNPROCESSABLE_CONTENT
    else:
        return RedirectResponse(f"/exams/{exam.id}?saved=3", status.HTTP_303_SEE_OTHER)
    session.rollback()
    exam, participant = _visible_exam(session, user, exam_id)
    return _exam_page(
        request, session, user, exam, participant, sign_error=message, status_code=code
    )


@router.get("/exams/{exam_id}/worksheet.pdf")
def exam_pdf(exam_id: int, user: PageUser, session: SessionDep) -> Response:
    """The exam as a printable worksheet (PDF)."""
    exam, participant = _visible_exam(session, user, exam_id)
    signed = [
        signature_manifestation(
            signer_name=s.signature.signer_name,
            signer=s.signature.signer,
            signed_at=s.signature.signed_at,
            meaning=s.signature.meaning,
        )
        + f" (version {s.signature.exam_version})"
        + (" -- VOID: the exam changed after this signature" if s.void else "")
        for s in exam_signatures(session, exam.id)
    ]
    stored = (
        f"Stored classification: engine {exam.engine_version}, ISNCSCI {exam.isncsci_revision}"
        if exam.classification
        else f"Not classified: {exam.classification_note}"
    )
    comments, reasons = _stored_notes(exam)
    content = worksheet_pdf(
        _exam_cells(exam),
        comments=comments,
        flag_reasons=reasons,
        title=f"ISNCSCI exam {exam.id} -- participant {participant.study_id}",
        details=[
            ("Visit", _visit_name(participant, exam) or "-"),
            ("Examined on", exam.examined_on.isoformat()),
            ("Examiner", exam.examiner),
            ("Record version", str(exam.version)),
        ],
        footer=[stored, *signed],
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="exam-{exam.id}-worksheet.pdf"'},
    )
