"""Laboratory results in the workspace (issue 15): a panel entered as the lab reports it (each
value in its UCUM unit, converted and graded by CTCAE v5.0), the participant's results with their
grades, and the step that reports a graded value as an adverse event (the AE form, prefilled).

On the participant's page the results read as a cumulative table, the way a laboratory's
cumulative report does (:func:`cumulative_labs`): an analyte per row, the latest
:data:`CUMULATIVE_DATES` collection dates as columns, each value in the analyte's standard unit
marked above or below its reference range and with its CTCAE grade; every result as reported
follows in a list that opens on demand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import LabResult, Participant, User
from cordtrial.trial.rules.labs import ANALYTES, UCUM_UNITS
from cordtrial.trial.services.labs import LabEntry, record_lab_panel
from cordtrial.trial.services.reads import participant_for
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render

__all__ = [
    "CUMULATIVE_DATES",
    "LabCumulative",
    "LabRow",
    "cumulative_labs",
    "range_flag",
    "range_text",
    "router",
]

router = APIRouter()

#: Rows on the panel form.
ROWS = 8
#: Collection dates (columns) of the cumulative table: the latest ones; earlier results stay in
#: the list of every result.
CUMULATIVE_DATES = 8


def range_text(lln: float | None, uln: float | None) -> str:
    """A reference range in words: ``130-170`` (en dash), ``≤ 45`` (upper limit only), ``≥ 1``."""
    if lln is not None and uln is not None:
        return f"{lln:g}\u2013{uln:g}"  # en dash
    if uln is not None:
        return f"≤ {uln:g}"
    if lln is not None:
        return f"≥ {lln:g}"
    return "—"


def range_flag(result: LabResult) -> Literal["high", "low", ""]:
    """Whether a result lies above (``high``) or below (``low``) its reference range."""
    if result.uln is not None and result.value > result.uln:
        return "high"
    if result.lln is not None and result.value < result.lln:
        return "low"
    return ""


@dataclass(frozen=True, slots=True)
class LabRow:
    """An analyte's row: its results by collection date (several on a day: each, in order) and
    the reference range of its latest result."""

    analyte: str
    lln: float | None
    uln: float | None
    cells: dict[date, list[LabResult]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LabCumulative:
    """The cumulative table: ``dates`` oldest first, ``rows`` in the catalogue's order of
    analytes, and how many earlier dates were left out (``earlier``)."""

    dates: tuple[date, ...]
    rows: tuple[LabRow, ...]
    earlier: int


def cumulative_labs(results: Sequence[LabResult], shown: int = CUMULATIVE_DATES) -> LabCumulative:
    """The latest ``shown`` collection dates of ``results`` as a table of analytes by date."""
    every = sorted({r.collected_on for r in results})
    dates = tuple(every[-shown:]) if shown > 0 else ()
    kept = set(dates)
    rows: dict[str, LabRow] = {}
    for r in sorted(results, key=lambda r: (r.collected_on, r.id)):
        if r.collected_on not in kept:
            continue
        row = rows.get(r.analyte)
        if row is None or (r.lln, r.uln) != (row.lln, row.uln):  # the latest result's range
            row = LabRow(r.analyte, r.lln, r.uln, row.cells if row else {})
            rows[r.analyte] = row
        row.cells.setdefault(r.collected_on, []).append(r)
    order = {name: i for i, name in enumerate(ANALYTES)}
    return LabCumulative(
        dates,
        tuple(
            sorted(rows.values(), key=lambda row: (order.get(row.analyte, len(order)), row.analyte))
        ),
        len(every) - len(dates),
    )


def _form(
    request: Request,
    user: User,
    participant: Participant,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "lab_panel_form.html",
        user=user,
        status_code=status_code,
        participant=participant,
        analytes=list(ANALYTES.values()),
        units=list(UCUM_UNITS),
        rows=range(ROWS),
        values=values,
        errors=errors,
    )


@router.get(
    "/participants/{participant_id}/labs/new", response_class=HTMLResponse, include_in_schema=False
)
def new_lab_panel(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """The form of a laboratory panel (needs ``enter_data`` at the participant's site)."""
    participant = participant_for(session, user, "enter_data", participant_id)
    return _form(request, user, participant, {"collected_on": now.date().isoformat()}, {})


def _row_error(exc: InvalidValueError) -> tuple[str, str]:
    # "results[2].unit" -> the form's "unit-2"
    head, _, name = exc.field.partition(".")
    index = head.removeprefix("results[").removesuffix("]")
    label = {"unit": "Unit", "value": "Value", "analyte": "Analyte"}.get(name, name)
    return f"{name}-{index}", f"{label}: {exc.human.split(': ', 1)[-1]}"


@router.post(
    "/participants/{participant_id}/labs", response_class=HTMLResponse, include_in_schema=False
)
async def save_lab_panel(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    _: CsrfChecked,
) -> Response:
    """Save a panel; a refused value shows the form again with the error beside its row (422),
    nothing saved."""
    participant = participant_for(session, user, "enter_data", participant_id)
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    entries: list[LabEntry] = []
    errors: dict[str, str] = {}
    rows: list[int] = []
    for i in range(ROWS):
        analyte = values.get(f"analyte-{i}", "").strip()
        raw = values.get(f"value-{i}", "").strip()
        if not analyte and not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            errors[f"value-{i}"] = f"Value: {raw or '(empty)'} is not a number"
            continue
        entries.append(LabEntry(analyte, number, values.get(f"unit-{i}", "").strip()))
        rows.append(i)
    try:
        collected_on = date.fromisoformat(values.get("collected_on", "").strip())
    except ValueError:
        errors["collected_on"] = "Collected on: is not a date (YYYY-MM-DD)"
        collected_on = date.min
    if not entries and not errors:
        errors["analyte-0"] = "Analyte: enter at least one value"
    if not errors:
        try:
            record_lab_panel(
                session, user, participant_id=participant.id, collected_on=collected_on,
                entries=entries,
            )  # fmt: skip
        except InvalidValueError as exc:
            session.rollback()
            if exc.field.startswith("results["):
                key, text = _row_error(exc)
                index = int(key.rsplit("-", 1)[1])
                errors[key.rsplit("-", 1)[0] + f"-{rows[index]}"] = text
            else:
                errors[exc.field.split(".")[0]] = exc.human
    if errors:
        return _form(
            request, user, participant, values, errors, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    return RedirectResponse(
        f"/participants/{participant.id}?saved=labs#labs", status.HTTP_303_SEE_OTHER
    )
