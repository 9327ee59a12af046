"""Immunosuppression for the DSMB report (issue 15): exposure per participant and trough levels
against the protocol's target, for the section "Immunosuppression and laboratory safety".

:func:`load_immunosuppression` reads the courses, interruptions and troughs of a set of
participants in three queries (whatever their number); :func:`immunosuppression_tables` turns
the frames of :class:`~cordtrial.analysis.store.TrialData` into the report's tables. Days on drug
follow :func:`cordtrial.trial.rules.immunosuppression.exposure_days` (the stop day is the first
day without drug; interruptions taken off, overlaps once); a course still running is counted to
the report's data cut-off (``as_of``, by default the latest date in the data).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import (
    DoseInterruption,
    ImmunosuppressionCourse,
    ImmunosuppressionRegimen,
    Participant,
    TroughLevel,
)
from cordtrial.trial.rules.immunosuppression import (
    DRUGS,
    STOP_REASON_LABELS,
    exposure_days,
    interrupted_days,
)

if TYPE_CHECKING:
    from cordtrial.analysis.store import TrialData

__all__ = [
    "COURSE_COLUMNS",
    "INTERRUPTION_COLUMNS",
    "TROUGH_COLUMNS",
    "immunosuppression_tables",
    "load_immunosuppression",
]

COURSE_COLUMNS: Final = (
    "participant", "drug", "started_on", "start_dose", "dose_unit", "stopped_on", "stop_reason",
)  # fmt: skip
INTERRUPTION_COLUMNS: Final = ("participant", "drug", "from_date", "to_date")
TROUGH_COLUMNS: Final = (
    "participant", "drug", "sampled_on", "day", "value", "unit", "target_low", "target_high",
    "flag",
)  # fmt: skip


def load_immunosuppression(session: Session, study_ids: dict[int, str]) -> dict[str, pd.DataFrame]:
    """The courses, interruptions and troughs of the participants ``study_ids`` (id -> study
    id) as frames (:data:`COURSE_COLUMNS`, :data:`INTERRUPTION_COLUMNS`,
    :data:`TROUGH_COLUMNS`), in three queries."""
    ids = list(study_ids)
    courses: list[dict[str, object]] = []
    gaps: list[dict[str, object]] = []
    troughs: list[dict[str, object]] = []
    if ids:
        drug_of: dict[int, str] = {}
        for course, drug in session.execute(
            select(ImmunosuppressionCourse, ImmunosuppressionRegimen.drug)
            .join(ImmunosuppressionRegimen)
            .where(ImmunosuppressionCourse.participant_id.in_(ids))
            .order_by(ImmunosuppressionCourse.participant_id, ImmunosuppressionCourse.id)
        ):
            drug_of[course.id] = drug
            courses.append(
                {"participant": study_ids[course.participant_id], "drug": drug,
                 "started_on": course.started_on, "start_dose": course.start_dose,
                 "dose_unit": course.dose_unit, "stopped_on": course.stopped_on,
                 "stop_reason": course.stop_reason or ""}
            )  # fmt: skip
        for gap in session.scalars(
            select(DoseInterruption)
            .where(DoseInterruption.participant_id.in_(ids))
            .order_by(DoseInterruption.from_date, DoseInterruption.id)
        ):
            gaps.append(
                {"participant": study_ids[gap.participant_id], "drug": drug_of[gap.course_id],
                 "from_date": gap.from_date, "to_date": gap.to_date}
            )  # fmt: skip
        rows = session.execute(
            select(TroughLevel, Participant.transplant_date, ImmunosuppressionRegimen.target_unit)
            .join(Participant, Participant.id == TroughLevel.participant_id)
            .join(ImmunosuppressionCourse, ImmunosuppressionCourse.id == TroughLevel.course_id)
            .join(ImmunosuppressionRegimen)
            .where(TroughLevel.participant_id.in_(ids))
            .order_by(TroughLevel.sampled_at, TroughLevel.id)
        ).all()
        for trough, day0, unit in rows:
            on = trough.sampled_at.date()
            troughs.append(
                {"participant": study_ids[trough.participant_id], "drug": drug_of[trough.course_id],
                 "sampled_on": on, "day": (on - day0).days if day0 is not None else None,
                 "value": trough.value, "unit": unit, "target_low": trough.target_low,
                 "target_high": trough.target_high, "flag": trough.flag}
            )  # fmt: skip
    return {
        "immunosuppression_courses": pd.DataFrame(courses, columns=list(COURSE_COLUMNS)),
        "immunosuppression_interruptions": pd.DataFrame(gaps, columns=list(INTERRUPTION_COLUMNS)),
        "troughs": pd.DataFrame(troughs, columns=list(TROUGH_COLUMNS)),
    }


def _label(drug: str) -> str:
    return DRUGS[drug].label if drug in DRUGS else drug


def _as_of(data: TrialData) -> date:
    dates = [d for d in (data.last_data_date,) if d is not None]
    for frame, column in (
        (data.troughs, "sampled_on"), (data.immunosuppression_courses, "stopped_on"),
        (data.immunosuppression_courses, "started_on"),
    ):  # fmt: skip
        if column in frame.columns:
            dates.extend(d for d in frame[column] if isinstance(d, date))
    return max(dates) if dates else date.today()


def immunosuppression_tables(
    data: TrialData, *, as_of: date | None = None
) -> list[tuple[str, pd.DataFrame]]:
    """The report's immunosuppression tables, titled.

    1. "Exposure to immunosuppression": per participant and drug, the start, the stop (or
       "ongoing"), days on drug to the stop or ``as_of`` (default: the latest date in the
       data), the interruptions (number, days) and the stop reason in words.
    2. "Trough levels against the protocol's target": per participant and drug, the troughs
       measured and how many were in range, below and above the target in force on the day
       of the sample (and without a target), with a line for all participants.

    Empty tables (no course recorded) are returned with their columns.
    """
    cut = as_of or _as_of(data)
    gaps: list[dict[str, Any]] = [
        {str(k): v for k, v in g.items()}
        for g in data.immunosuppression_interruptions.to_dict("records")
    ]
    exposure: list[dict[str, Any]] = []
    for course in data.immunosuppression_courses.to_dict("records"):
        who, drug, start = course["participant"], course["drug"], course["started_on"]
        spans = [
            (g["from_date"], g["to_date"] if isinstance(g["to_date"], date) else None)
            for g in gaps
            if g["participant"] == who and g["drug"] == drug
        ]
        stopped = course["stopped_on"] if isinstance(course["stopped_on"], date) else None
        end = min(stopped, cut) if stopped is not None else cut
        reason = str(course["stop_reason"] or "")
        exposure.append({
            "Participant": who, "Drug": _label(str(drug)), "Start": start.isoformat(),
            "Stop": stopped.isoformat() if stopped is not None else f"ongoing at {cut}",
            "Days on drug": exposure_days(start, stopped, spans, as_of=cut),
            "Interruptions": len(spans),
            "Days interrupted": interrupted_days(spans, start=start, end=end)
            if end >= start else 0,
            "Stop reason": STOP_REASON_LABELS.get(reason, reason) or "—",
        })  # fmt: skip
    exposure_table = pd.DataFrame(
        exposure,
        columns=["Participant", "Drug", "Start", "Stop", "Days on drug", "Interruptions",
                 "Days interrupted", "Stop reason"],
    )  # fmt: skip
    levels = data.troughs
    flags = (("in_range", "In range"), ("below", "Below target"), ("above", "Above target"),
             ("no_target", "No target in force"))  # fmt: skip
    counts: list[dict[str, Any]] = []
    if not levels.empty:
        for (who, drug), frame in levels.groupby(["participant", "drug"], sort=True):
            line: dict[str, Any] = {"Participant": who, "Drug": _label(str(drug)),
                                    "Troughs": len(frame)}  # fmt: skip
            line.update({label: int((frame["flag"] == flag).sum()) for flag, label in flags})
            counts.append(line)
        total: dict[str, Any] = {"Participant": "All participants", "Drug": "",
                                 "Troughs": len(levels)}  # fmt: skip
        total.update({label: int((levels["flag"] == flag).sum()) for flag, label in flags})
        counts.append(total)
    trough_table = pd.DataFrame(
        counts, columns=["Participant", "Drug", "Troughs", *(label for _, label in flags)]
    )
    return [
        ("Exposure to immunosuppression", exposure_table),
        ("Trough levels against the protocol's target", trough_table),
    ]
