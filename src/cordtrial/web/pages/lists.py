"""List pages of the workspace: participants and adverse events, paged (50 a page), filtered
and sorted; every page link keeps the filters. Reads go through
:mod:`cordtrial.trial.services.lists` (a fixed number of queries whatever the trial's size),
scoped to the user's sites.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from cordtrial.trial.models import Trial, User
from cordtrial.trial.rules.vocabulary import RELATEDNESS_CAUSES, SERIOUSNESS_ORDER
from cordtrial.trial.services.clocks import expedited_badges
from cordtrial.trial.services.lists import (
    PARTICIPANT_STATUSES,
    ParticipantSummary,
    adverse_event_page,
    participant_summaries,
)
from cordtrial.trial.services.reads import list_sites, list_trials
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import PageUser
from cordtrial.web.pages.rendering import render

__all__ = ["PAGE_SIZE", "router"]

router = APIRouter()

#: Rows a list page shows.
PAGE_SIZE = 50
_AIS = ("A", "B", "C", "D", "E")
_PARTICIPANT_SORTS = {
    "study_id": "Study id", "site": "Site", "injury_date": "Injury date", "day0": "Day 0",
    "ais": "AIS grade",
}  # fmt: skip
_AE_SORTS = {"onset": "Onset", "grade": "Grade", "participant": "Participant", "term": "Event"}


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a page stands in its list, with links that keep the filters."""

    page: int
    pages: int
    total: int
    first_row: int
    last_row: int
    previous: str | None
    next: str | None


def _pager(path: str, filters: dict[str, str], page: int, total: int) -> Pager:
    pages = max(1, -(-total // PAGE_SIZE))
    query = {k: v for k, v in filters.items() if v}

    def link(n: int) -> str:
        return f"{path}?{urlencode({**query, 'page': n})}"

    first = (page - 1) * PAGE_SIZE + 1 if total else 0
    return Pager(
        page, pages, total, first, min(page * PAGE_SIZE, total),
        link(page - 1) if page > 1 else None, link(page + 1) if page < pages else None,
    )  # fmt: skip


def _page_number(text: str, errors: list[str]) -> int:
    if not text.strip():
        return 1
    if not text.strip().isdigit() or int(text) < 1:
        errors.append(f"Page: {text.strip()} is not a page number (1, 2, 3 ...)")
        return 1
    return int(text)


def _choice(label: str, text: str, allowed: Sequence[str], errors: list[str]) -> str:
    if text and text not in allowed:
        errors.append(f"{label}: {text} is not one of {', '.join(allowed)}")
        return ""
    return text


def _chosen_trial(trials: Sequence[Trial], protocol_id: str) -> Trial | None:
    for trial in trials:
        if trial.protocol_id == protocol_id:
            return trial
    return trials[0] if trials else None


def _ais_key(row: ParticipantSummary) -> str:
    # a range left open by NT ("A,C") sorts and filters by its first grade
    return row.ais.split(",")[0].rstrip("*")


@router.get("/participants", response_class=HTMLResponse, include_in_schema=False)
def participants_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    trial: str = "",
    site: str = "",
    ais: str = "",
    status_text: str = Query("", alias="status"),
    q: str = "",
    sort: str = "study_id",
    order: str = "asc",
    page: str = "",
) -> Response:
    """The participants at the user's sites, 50 a page: filtered by site, AIS grade (of the
    latest classified exam), status (no day 0, day 0 planned, treated) and a part of the study
    id; sorted by study id, site, injury date, day 0 or AIS grade."""
    errors: list[str] = []
    trials = list_trials(session, user)
    current = _chosen_trial(trials, trial)
    sites = [s.code for s in list_sites(session, user, current.protocol_id)] if current else []
    site = _choice("Site", site, sites, errors)
    ais = _choice("AIS grade", ais, _AIS, errors)
    status_text = _choice("Status", status_text, PARTICIPANT_STATUSES, errors)
    sort = _choice("Sort by", sort, list(_PARTICIPANT_SORTS), errors) or "study_id"
    order = _choice("Order", order, ("asc", "desc"), errors) or "asc"
    number = _page_number(page, errors)
    rows = participant_summaries(session, user, current.protocol_id, now.date()) if current else []
    search = q.strip().casefold()
    rows = [
        r for r in rows
        if (not site or r.participant.site.code == site)
        and (not ais or _ais_key(r) == ais)
        and (not status_text or r.status == status_text)
        and (not search or search in r.participant.study_id.casefold())
    ]  # fmt: skip
    keys = {
        "study_id": lambda r: (r.participant.study_id,),
        "site": lambda r: (r.participant.site.code, r.participant.study_id),
        "injury_date": lambda r: (r.participant.injury_date, r.participant.study_id),
        "day0": lambda r: (r.participant.transplant_date or date.max, r.participant.study_id),
        "ais": lambda r: (_ais_key(r) or "~", r.participant.study_id),
    }
    rows.sort(key=keys[sort], reverse=order == "desc")
    filters = {"trial": trial, "site": site, "ais": ais, "status": status_text, "q": q.strip(),
               "sort": "" if sort == "study_id" else sort,
               "order": "" if order == "asc" else order}  # fmt: skip
    pager = _pager("/participants", filters, number, len(rows))
    shown = rows[(pager.page - 1) * PAGE_SIZE : pager.page * PAGE_SIZE]
    return render(
        request,
        "participants.html",
        user=user,
        trial=current,
        trials=trials,
        rows=shown,
        pager=pager,
        filters=filters,
        sort=sort,
        order=order,
        sites=sites,
        grades=_AIS,
        statuses=PARTICIPANT_STATUSES,
        sorts=_PARTICIPANT_SORTS,
        errors=errors,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK,
    )


def _sites_of(session: SessionDep, user: User, trials: Sequence[Trial]) -> list[str]:
    return sorted({s.code for t in trials for s in list_sites(session, user, t.protocol_id)})


@router.get("/adverse-events", response_class=HTMLResponse, include_in_schema=False)
def adverse_events_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    trial: str = "",
    site: str = "",
    serious: str = "",
    grade: str = "",
    participant: str = "",
    sort: str = "onset",
    order: str = "desc",
    page: str = "",
) -> Response:
    """The adverse events at the user's sites, 50 a page, newest onset first: filtered by
    trial, site, seriousness, CTCAE grade and participant (a part of the study id), sorted by
    onset, grade, participant or event; relatedness per cause and where each expedited report
    stands."""
    errors: list[str] = []
    trials = list_trials(session, user)
    trial = _choice("Trial", trial, [t.protocol_id for t in trials], errors)
    site = _choice("Site", site, _sites_of(session, user, trials), errors)
    serious = _choice("Serious", serious, ("yes", "no"), errors)
    grade = _choice("CTCAE grade", grade, ("1", "2", "3", "4", "5"), errors)
    sort = _choice("Sort by", sort, list(_AE_SORTS), errors) or "onset"
    order = _choice("Order", order, ("asc", "desc"), errors) or "desc"
    number = _page_number(page, errors)
    rows, total = adverse_event_page(
        session, user, protocol_id=trial or None, site=site or None,
        serious=None if not serious else serious == "yes",
        grade=int(grade) if grade else None, participant=participant.strip() or None,
        sort=sort, descending=order == "desc", offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE,
    )  # fmt: skip
    filters = {"trial": trial, "site": site, "serious": serious, "grade": grade,
               "participant": participant.strip(), "sort": "" if sort == "onset" else sort,
               "order": "" if order == "desc" else order}  # fmt: skip
    today = now.date()
    return render(
        request,
        "adverse_events.html",
        user=user,
        rows=rows,
        pager=_pager("/adverse-events", filters, number, total),
        filters=filters,
        sort=sort,
        order=order,
        trials=trials,
        sites=_sites_of(session, user, trials),
        sorts=_AE_SORTS,
        errors=errors,
        today=today,
        causes=RELATEDNESS_CAUSES,
        criteria=SERIOUSNESS_ORDER,
        expedited=expedited_badges(session, (e for _, e in rows), today),
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK,
    )
