"""Pages of MRI surveillance (issue 14): the reader's worklist (only their assigned, blinded
reads), the read form (for an adjudication with the two central reads beside it), an MRI's page
(its reads as the user may see them, reader and adjudicator assignment, the site's read).

Blinding and permissions are the use cases' (:mod:`cordtrial.trial.services.imaging`); a
refused value is shown beside its field, and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, NotFoundError, RuleViolationError
from cordtrial.trial.models import MriRead, Participant, User
from cordtrial.trial.rules.access import can, can_see_site
from cordtrial.trial.rules.imaging import (
    BASIC_GRADES,
    IMPRESSIONS,
    SYRINX_CHANGES,
    TUMOUR_ITEMS,
    ReadFacts,
)
from cordtrial.trial.services.imaging import (
    assign_adjudicator,
    assign_readers,
    list_mris,
    record_site_read,
    submit_read,
    visible_mri,
    visible_reads,
    worklist,
)
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render, templates

__all__ = ["READ_FORM_YES_NO", "READ_LABELS", "router"]

router = APIRouter()

#: The yes/no items of a read, in form order.
READ_FORM_YES_NO = (
    "new_mass", "contrast_enhancement", "mass_effect", "haemorrhage", "cord_compression",
    "oedema", "syrinx_present",
)  # fmt: skip
#: What people read for each field of a read (forms, tables, errors).
READ_LABELS = {
    "impression": "Overall impression", "new_mass": "New mass",
    "contrast_enhancement": "Contrast enhancement", "mass_effect": "Mass effect",
    "haemorrhage": "Haemorrhage", "cord_compression": "Cord compression", "oedema": "Oedema",
    "syrinx_present": "Syrinx / cyst present", "syrinx_length_mm": "Syrinx length (mm)",
    "syrinx_change": "Syrinx change since last MRI",
    "graft_length_mm": "Graft / lesion length (mm)",
    "graft_volume_mm3": "Graft / lesion volume (mm³)", "basic_score": "BASIC score",
    "finding": "Finding",
}  # fmt: skip
_NUMBERS = ("syrinx_length_mm", "graft_length_mm", "graft_volume_mm3")


def _facts(form: dict[str, str]) -> ReadFacts:
    numbers: dict[str, Any] = {}
    for name in _NUMBERS:
        text = form.get(name, "").strip()
        if not text:
            numbers[name] = None
            continue
        try:
            numbers[name] = float(text)
        except ValueError:
            unit = "mm³" if name.endswith("mm3") else "mm"
            raise InvalidValueError(name, text, f"a number of {unit}", "is not a number") from None
    basic = form.get("basic_score", "").strip()
    if basic and not basic.isdigit():
        raise InvalidValueError("basic_score", basic, "0-4 (Talbott 2015), or not scored")
    return ReadFacts(
        impression=form.get("impression", ""),
        **{name: form.get(name) == "yes" for name in READ_FORM_YES_NO},
        syrinx_change=form.get("syrinx_change") or None,
        basic_score=int(basic) if basic else None,
        finding=form.get("finding", ""),
        **numbers,
    )


def _form_context(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values, "errors": errors, "labels": READ_LABELS, "yes_no": READ_FORM_YES_NO,
        "impressions": IMPRESSIONS, "syrinx_changes": SYRINX_CHANGES, "basic": BASIC_GRADES,
        "tumour_items": TUMOUR_ITEMS,
    }  # fmt: skip


def _error(exc: InvalidValueError | RuleViolationError) -> dict[str, str]:
    if isinstance(exc, InvalidValueError):
        label = READ_LABELS.get(exc.field, exc.field.replace("_", " ").capitalize())
        return {exc.field: f"{label}: {exc.human.split(': ', 1)[-1]}"}
    return {"form": "; ".join(exc.reasons)}


@router.get("/imaging", response_class=HTMLResponse, include_in_schema=False)
def worklist_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The reader's worklist: the reads assigned to them and not locked (blinded: no other
    read is shown, except the two central reads of an adjudication), then those done."""
    items = worklist(session, user, include_locked=True)
    return render(
        request, "imaging_worklist.html", user=user,
        open_items=[i for i in items if i.read.status != "locked"],
        done_items=[i for i in items if i.read.status == "locked"],
    )  # fmt: skip


def _read_view(
    request: Request,
    session: Session,
    user: User,
    read_id: int,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    item = next((i for i in worklist(session, user, include_locked=True) if i.read.id == read_id),
                None)  # fmt: skip
    if item is None:
        raise NotFoundError("mri_read", read_id)
    return render(
        request, "imaging_read.html", user=user, item=item, status_code=status_code,
        **_form_context(values or {}, errors or {}),
    )  # fmt: skip


@router.get("/imaging/reads/{read_id}", response_class=HTMLResponse, include_in_schema=False)
def read_form(request: Request, read_id: int, user: PageUser, session: SessionDep) -> Response:
    """The read form of a read assigned to the user (for an adjudication, with both central
    reads beside it); a locked read is shown, not editable."""
    return _read_view(request, session, user, read_id)


@router.post("/imaging/reads/{read_id}", response_class=HTMLResponse, include_in_schema=False)
async def read_submit(
    request: Request, read_id: int, user: PageUser, session: SessionDep, now: Clock,
    _: CsrfChecked,
) -> Response:  # fmt: skip
    """Submit and lock the read; a refused value is shown beside its field (422)."""
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        read = submit_read(session, user, read_id=read_id, facts=_facts(form), now=now)
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        return _read_view(request, session, user, read_id, form, _error(exc),
                          status.HTTP_422_UNPROCESSABLE_CONTENT)  # fmt: skip
    return RedirectResponse(f"/imaging?locked={read.id}", status.HTTP_303_SEE_OTHER)


def _readers(session: Session, site_id: int) -> list[str]:
    users = session.scalars(
        select(User).where(User.role == "reader", User.active.is_(True)).order_by(User.username)
    ).all()
    return [u.username for u in users if can_see_site(u.role, u.all_sites, u.site_ids, site_id)]


def _mri_view(
    request: Request, session: Session, user: User, mri_id: int,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    mri = visible_mri(session, user, mri_id)
    if not can(user.role, "read"):
        # a reader works from the worklist; the MRI page shows other reads and the site read
        raise NotFoundError("mri_exam", mri_id)
    participant = session.get(Participant, mri.participant_id)
    assert participant is not None
    view = next(v for v in list_mris(session, user, participant.id) if v.mri.id == mri_id)
    return render(
        request, "imaging_mri.html", user=user, participant=participant, view=view,
        reads=visible_reads(session, user, mri_id), readers=_readers(session, participant.site_id),
        status_code=status_code, **_form_context(values or {}, errors or {}),
    )  # fmt: skip


@router.get("/mris/{mri_id}", response_class=HTMLResponse, include_in_schema=False)
def mri_page(request: Request, mri_id: int, user: PageUser, session: SessionDep) -> Response:
    """An MRI: acquisition, reading state, the reads, reader and adjudicator assignment and the
    site's read (404 for a participant at a site the user may not see)."""
    return _mri_view(request, session, user, mri_id)


@router.post("/mris/{mri_id}/readers", response_class=HTMLResponse, include_in_schema=False)
async def mri_readers(
    request: Request, mri_id: int, user: PageUser, session: SessionDep, _: CsrfChecked
) -> Response:
    """Assign the two central readers."""
    form = await request.form()
    names = [str(form.get("reader_1", "")), str(form.get("reader_2", ""))]
    try:
        assign_readers(session, user, mri_id=mri_id, readers=names)
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        return _mri_view(request, session, user, mri_id, {"assign": _error(exc).popitem()[1]},
                         status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)  # fmt: skip
    return RedirectResponse(f"/mris/{mri_id}", status.HTTP_303_SEE_OTHER)


@router.post("/mris/{mri_id}/adjudicator", response_class=HTMLResponse, include_in_schema=False)
async def mri_adjudicator(
    request: Request, mri_id: int, user: PageUser, session: SessionDep, _: CsrfChecked
) -> Response:
    """Assign the third reader who adjudicates."""
    form = await request.form()
    try:
        assign_adjudicator(session, user, mri_id=mri_id, reader=str(form.get("reader", "")))
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        return _mri_view(request, session, user, mri_id, {"adjudicate": _error(exc).popitem()[1]},
                         status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)  # fmt: skip
    return RedirectResponse(f"/mris/{mri_id}", status.HTTP_303_SEE_OTHER)


@router.post("/mris/{mri_id}/site-read", response_class=HTMLResponse, include_in_schema=False)
async def mri_site_read(
    request: Request, mri_id: int, user: PageUser, session: SessionDep, now: Clock,
    _: CsrfChecked,
) -> Response:  # fmt: skip
    """Record the site's read."""
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        record_site_read(session, user, mri_id=mri_id, facts=_facts(form), now=now)
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        return _mri_view(request, session, user, mri_id, _error(exc), form,
                         status.HTTP_422_UNPROCESSABLE_CONTENT)  # fmt: skip
    return RedirectResponse(f"/mris/{mri_id}", status.HTTP_303_SEE_OTHER)


def read_summary(read: MriRead) -> str:
    """A locked read in one line of words (impression and what was found)."""
    if read.status != "locked":
        return "not yet read"
    found = [READ_LABELS[n].lower() for n in READ_FORM_YES_NO if getattr(read, n)]
    impression = (read.impression or "").replace("_", " ")
    return impression + (": " + ", ".join(found) if found else "")


templates.env.globals["read_summary"] = read_summary
