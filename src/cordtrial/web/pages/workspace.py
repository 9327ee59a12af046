"""The trial workspace: dashboard and participant page (adverse events, lots and the audit log
are in :mod:`.records`; this router includes theirs).

Every read goes through :mod:`cordtrial.trial.services.reads`, scoped to the user's sites: a
participant at another site is "not found" (404), exactly like the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.models import (
    AdverseEvent,
    IsncsciExam,
    Participant,
    ScimAssessment,
    Trial,
    User,
    WisciAssessment,
)
from cordtrial.trial.rules.access import can
from cordtrial.trial.rules.consent import ConsentVersionFacts
from cordtrial.trial.rules.follow_up import DispositionFacts
from cordtrial.trial.rules.lab_limits import unit_label
from cordtrial.trial.rules.labs import ANALYTES, TERMS
from cordtrial.trial.rules.safety import ExpeditedStatus
from cordtrial.trial.rules.schedule import VisitStatus
from cordtrial.trial.rules.vocabulary import RELATEDNESS_CAUSES, SERIOUSNESS_ORDER
from cordtrial.trial.services.clocks import expedited_badges
from cordtrial.trial.services.consent import consent_statuses
from cordtrial.trial.services.disposition import current_disposition, current_dispositions
from cordtrial.trial.services.imaging import list_mris, surveillance
from cordtrial.trial.services.labs import lab_eligibility, list_lab_results
from cordtrial.trial.services.lists import exams_to_do, open_serious_events
from cordtrial.trial.services.reads import (
    list_administrations,
    list_adverse_events,
    list_eligibility,
    list_exams,
    list_lots,
    list_measures,
    list_participants,
    list_trials,
    visible_participant,
)
from cordtrial.trial.services.visits import (
    VisitRow,
    mark_visit_missed,
    visit_schedule,
    visit_schedules,
)
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages import records
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.charts import Series, line_chart
from cordtrial.web.pages.immunosuppression import (
    dashboard_out_of_range,
    immunosuppression_section,
)
from cordtrial.web.pages.labs import cumulative_labs, range_flag, range_text
from cordtrial.web.pages.medications import dashboard_to_review, medication_rows
from cordtrial.web.pages.rendering import render
from cordtrial.web.pages.reporting import reports_due
from cordtrial.web.pages.snapshot_cache import SnapshotCache, snapshot_key

if TYPE_CHECKING:
    from cordtrial.analysis.safety import StoppingRuleStatus

__all__ = ["router"]

router = APIRouter()
router.include_router(records.router)

_AIS_Y = {"A": 0, "B": 1, "C": 2, "D": 3, "E": 4}


#: The most rows a dashboard table shows (the lists behind it are paged: participants, AEs).
DASHBOARD_ROWS = 50


@dataclass(frozen=True, slots=True)
class DueVisit:
    """A visit in or past its window and not done (or partly done), for the dashboard."""

    participant: Participant
    visit: VisitRow


@dataclass(frozen=True, slots=True)
class OpenSerious:
    """An open serious adverse event with where its expedited report stands."""

    event: AdverseEvent
    participant: Participant
    expedited: ExpeditedStatus


def _trial(session: Session, user: User, protocol_id: str | None) -> Trial | None:
    trials = list_trials(session, user)
    for trial in trials:
        if trial.protocol_id == protocol_id:
            return trial
    return trials[0] if trials else None


def _due_visits(
    participants: Sequence[Participant], schedules: dict[int, list[VisitRow]], today: date
) -> list[DueVisit]:
    due: list[DueVisit] = []
    wanted: tuple[VisitStatus, ...] = ("due", "overdue", "partly done")
    for p in participants:
        for row in schedules.get(p.id, []):
            if row.status in wanted:
                due.append(DueVisit(p, row))
    return sorted(due, key=lambda d: (d.visit.status != "overdue", d.visit.closes or today))


def _open_serious(session: Session, user: User, protocol_id: str, today: date) -> list[OpenSerious]:
    rows: list[OpenSerious] = []
    pairs = open_serious_events(session, user, protocol_id)
    badges = expedited_badges(session, [event for _, event in pairs], today)
    for p, event in pairs:
        rows.append(OpenSerious(event, p, badges[event.id]))
    order = {"overdue": 0, "due": 1, "submitted late": 2, "submitted": 3, "not required": 4}
    return sorted(rows, key=lambda r: (order[r.expedited.state], r.expedited.days or 0))


#: The stopping rule's status by database, data version and trial (:mod:`.snapshot_cache`).
_STOPPING: SnapshotCache[StoppingRuleStatus] = SnapshotCache(size=8)


def _stopping_rule(session: Session, protocol_id: str) -> StoppingRuleStatus:
    # Trial-wide: the rule concerns every treated participant, whatever the viewer's sites
    # (only the aggregate is shown). Imported here: pandas and scipy load on first use.
    # Evaluated once per version of the data (one indexed read of the audit trail's head).
    from cordtrial.analysis.safety import evaluate_stopping_rule
    from cordtrial.analysis.store import load_safety

    def evaluate() -> StoppingRuleStatus:
        data = load_safety(session, protocol_id)
        return evaluate_stopping_rule(
            data.adverse_events, data.participants, as_of=data.last_data_date
        )

    return _STOPPING.get((*snapshot_key(session), protocol_id), evaluate)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    trial: str | None = None,
) -> Response:
    """The trial dashboard: the safety stopping rule (:mod:`cordtrial.analysis.safety`; for a
    coordinator only where the protocol says so, see :func:`sees_stopping_rule`),
    enrolment, visits due, overdue and partly done (with what is missing), open serious adverse
    events with their expedited reports (due, overdue, submitted), exams incomplete or unsigned
    (work to do; data queries for a monitor), lots and their status."""
    if not can(user.role, "read") and can(user.role, "read_images"):
        return RedirectResponse("/imaging", status.HTTP_303_SEE_OTHER)  # a reader's home
    today = now.date()
    current = _trial(session, user, trial)
    participants = list_participants(session, user, current.protocol_id) if current else []
    by_site: dict[str, int] = {}
    for p in participants:
        by_site[p.site.code] = by_site.get(p.site.code, 0) + 1
    dispositions = current_dispositions(session, [p.id for p in participants])
    # only the visits that may be due, overdue or partly done (the database leaves out the rest)
    schedules = visit_schedules(
        session, participants, today, open_only=True, dispositions=dispositions
    )
    due_visits = _due_visits(participants, schedules, today)
    return render(
        request,
        "dashboard.html",
        user=user,
        trial=current,
        trials=list_trials(session, user),
        participants=participants,
        by_site=by_site,
        transplanted=sum(1 for p in participants if p.transplant_date is not None),
        due_visits=due_visits,
        overdue=sum(1 for d in due_visits if d.visit.status == "overdue"),
        open_serious=_open_serious(session, user, current.protocol_id, today) if current else [],
        exams_to_do=exams_to_do(session, participants),
        shown=DASHBOARD_ROWS,
        reconsent_due=_reconsent_due(session, participants, today, dispositions),
        causes=RELATEDNESS_CAUSES,
        criteria=SERIOUSNESS_ORDER,
        lots=list_lots(session),
        surveillance=surveillance(session, user, participants, today) if participants else {},
        today=today,
        reports_due=reports_due(session, user, current, today) if current else [],
        out_of_range_troughs=dashboard_out_of_range(session, user, current.protocol_id)
        if current
        else [],
        medications_to_review=dashboard_to_review(session, user, current.protocol_id)
        if current
        else ([], 0),
        stopping=_stopping_rule(session, current.protocol_id)
        if current and sees_stopping_rule(user, current)
        else None,
    )


def _reconsent_due(
    session: Session,
    participants: Sequence[Participant],
    today: date,
    dispositions: Mapping[int, DispositionFacts],
) -> list[tuple[Participant, ConsentVersionFacts]]:
    """The participants due to re-consent to a newer consent form (issue 14), in bulk."""
    statuses = consent_statuses(session, participants, today, dispositions)
    return [(p, due) for p in participants if (due := statuses[p.id].reconsent_due) is not None]


def sees_stopping_rule(user: User, trial: Trial) -> bool:
    """Whether ``user`` sees the trial-wide safety stopping rule on the dashboard: every role
    but a coordinator, and a coordinator when the protocol says so (the trial's setting)."""
    return user.role != "coordinator" or trial.coordinators_see_stopping_rule


def _day(participant: Participant, on: date) -> int:
    day0 = participant.transplant_date or participant.injury_date
    return (on - day0).days


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None  # ND, or a range left open by NT


def _chart(
    title: str,
    series: list[Series],
    *,
    y_range: tuple[float, float],
    y_ticks: Sequence[tuple[float, str]],
) -> tuple[str, Markup]:
    return title, line_chart(title, series, y_range=y_range, y_ticks=y_ticks)


def _charts(
    session: Session, user: User, participant: Participant, exams: Sequence[IsncsciExam]
) -> list[tuple[str, Markup]]:
    classified = [(e.examined_on, e.classification) for e in exams if e.classification]

    def points(field: str) -> list[tuple[int, float]]:
        out = []
        for on, record in classified:
            value = _number(record[field])
            if value is not None:
                out.append((_day(participant, on), value))
        return out

    ais_points = []
    for on, record in classified:
        # a range left open by NT ("A,C") is drawn at its first grade
        first = str(record["ais"]).split(",")[0].rstrip("*")
        if first in _AIS_Y:
            ais_points.append((_day(participant, on), float(_AIS_Y[first])))
    scim = [
        (_day(participant, m.assessed_on), float(m.total))
        for m in list_measures(session, user, participant.id, "scim")
        if isinstance(m, ScimAssessment)
    ]
    wisci = [
        (_day(participant, m.assessed_on), float(m.level))
        for m in list_measures(session, user, participant.id, "wisci")
        if isinstance(m, WisciAssessment)
    ]
    ticks50 = [(v, str(v)) for v in (0, 10, 20, 30, 40, 50)]
    charts = [
        _chart(
            "AIS grade",
            [Series("AIS", ais_points)],
            y_range=(0, 4),
            y_ticks=[(float(v), k) for k, v in _AIS_Y.items()],
        ),
        _chart(
            "Motor scores: UEMS and LEMS (0-50)",
            [Series("UEMS", points("uems")), Series("LEMS", points("lems"))],
            y_range=(0, 50),
            y_ticks=ticks50,
        ),
        _chart(
            "Sensory scores: light touch and pin prick (0-112)",
            [Series("LT", points("lt")), Series("PP", points("pp"))],
            y_range=(0, 112),
            y_ticks=[(v, str(v)) for v in (0, 28, 56, 84, 112)],
        ),
        _chart(
            "SCIM III total (0-100)",
            [Series("SCIM III", scim)],
            y_range=(0, 100),
            y_ticks=[(v, str(v)) for v in (0, 25, 50, 75, 100)],
        ),
        _chart(
            "WISCI II level (0-20)",
            [Series("WISCI II", wisci)],
            y_range=(0, 20),
            y_ticks=[(v, str(v)) for v in (0, 5, 10, 15, 20)],
        ),
    ]
    return charts


@router.get("/participants/{participant_id}", response_class=HTMLResponse, include_in_schema=False)
def participant_page(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """A participant: facts, visits with their state and what is outstanding, charts of the
    course, cell administration, adverse events and exams (404 for a participant at a site the
    user may not see)."""
    return _participant_view(request, participant_id, user, session, now)


def _participant_view(
    request: Request,
    participant_id: int,
    user: User,
    session: Session,
    now: datetime,
    missed_error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    participant = visible_participant(session, user, participant_id)
    exams = sorted(list_exams(session, user, participant_id), key=lambda e: (e.examined_on, e.id))
    visit_names = {v.id: v.definition.name for v in participant.visits}
    walks = list_measures(session, user, participant_id, "ten_metre_walk")
    schedule = visit_schedule(session, participant_id, now.date())
    disposition = current_disposition(session, participant_id)
    labs = list_lab_results(session, user, participant_id)
    return render(
        request,
        "participant.html",
        disposition_label=disposition.label if disposition is not None else "active",
        reconsent_due=consent_statuses(session, [participant], now.date())[
            participant.id
        ].reconsent_due,
        user=user,
        participant=participant,
        schedule=schedule,
        exams=exams,
        visit_names=visit_names,
        charts=_charts(session, user, participant, exams),
        administrations=list_administrations(session, user, participant_id),
        adverse_events=list_adverse_events(session, user, participant_id),
        labs=labs,
        lab_table=cumulative_labs(labs),
        range_flag=range_flag,
        range_text=range_text,
        medications=medication_rows(session, user, participant_id),
        eligibility=max(
            list_eligibility(session, user, participant_id),
            key=lambda a: (a.assessed_on, a.id),
            default=None,
        ),
        lab_limits=lab_eligibility(session, user, participant_id, now.date()),
        analytes=ANALYTES,
        unit_label=unit_label,
        terms=TERMS,
        expedited=expedited_badges(
            session, list_adverse_events(session, user, participant_id), now.date()
        ),
        causes=RELATEDNESS_CAUSES,
        criteria=SERIOUSNESS_ORDER,
        of_record={r.exam_of_record_id for r in schedule if r.exam_of_record_id is not None},
        walks=walks,
        lot_numbers={lot.id: lot.lot_number for lot in list_lots(session)},
        missed_error=missed_error,
        mris=list_mris(session, user, participant_id),
        immunosuppression=immunosuppression_section(session, user, participant, now.date()),
        status_code=status_code,
    )


@router.post(
    "/participants/{participant_id}/visits/{visit_name}/missed",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def visit_missed(
    request: Request,
    participant_id: int,
    visit_name: str,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Mark a visit missed with the reason typed (needs ``enter_data``); a refusal is shown on
    the participant page (422) and nothing is saved."""
    participant = visible_participant(session, user, participant_id)
    form = await request.form()
    try:
        mark_visit_missed(
            session,
            user=user,
            participant_id=participant.id,
            visit_name=visit_name,
            reason=str(form.get("reason", "")),
            today=now.date(),
        )
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        message = (
            "; ".join(exc.reasons)
            if isinstance(exc, RuleViolationError)
            else "Reason: " + exc.problem + " (say why the visit did not take place)"
        )
        return _participant_view(
            request, participant_id, user, session, now,
            missed_error=(visit_name, message),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )  # fmt: skip
    return RedirectResponse(
        f"/participants/{participant.id}?missed={visit_name}#visits", status.HTTP_303_SEE_OTHER
    )
