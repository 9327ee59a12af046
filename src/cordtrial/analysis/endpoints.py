"""Trial endpoints per participant and visit: AIS shifts, conversion, motor and sensory scores,
levels, and the functional measures.

Inputs are tidy frames (see :mod:`cordtrial.analysis.store`, or build them by hand):

* ``exams`` -- one row per ISNCSCI exam: ``participant``, ``visit`` and the fields of the
  classification result record (``ais``, ``nli``, ``motor_right``, ``motor_left``, ``uems``,
  ``lems``, ``lt``, ``pp`` ...) as the engine writes them; optional ``arm``, ``examined_on``,
  ``day`` and the exam's cells (canonical columns such as ``r_l3_motor``).
* ``participants`` -- one row per participant expected at the visits: ``participant`` and
  optionally ``arm``. A participant without an exam at a visit is reported as ``missing``, never
  dropped.
* ``measures`` -- one row per functional measurement: ``participant``, ``visit``, ``measure``
  (``scim_total``, ``wisci_level``, ``ten_metre_walk_speed`` ...) and ``value``.

Not-testable (``NT``) cells leave results open: the engine reports every possible grade or
level (``A,C``; ``C5,C6``) and ``ND`` for a total it cannot determine. Every result here is then a
range, ``*_min`` to ``*_max`` (a total's range comes from the exam's cells, each ``NT`` taken at its
lowest and highest grade), and a yes/no outcome that the range leaves open is ``undetermined``.
Nothing is picked silently. Conventions: AIS grades A < B < C < D < E; a level change in
segments is positive when the level moved caudally (recovery), ``INT`` (intact) counting as one
segment below S4-5.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Final

import pandas as pd

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.frames import column_values
from cordtrial.analysis.frames import records as frame_records
from cordtrial.isncsci import KEY_MUSCLES, SENSORY_LEVELS, Level

__all__ = [
    "AIS_GRADES",
    "LAST",
    "LEVEL_FIELDS",
    "SCORE_FIELDS",
    "ais_shift_table",
    "conversion_summary",
    "endpoint_table",
    "format_range",
    "last_observed",
    "level_index",
    "measure_changes",
    "parse_grades",
    "parse_levels",
    "score_range",
]

AIS_GRADES: Final = ("A", "B", "C", "D", "E")
#: The visit name that means "each participant's last observed visit" in the summaries.
LAST: Final = "last"
#: Totals reported by the engine, and the cells they add up (side, level, kind, maximum).
SCORE_FIELDS: Final = ("uems", "lems", "total_motor", "lt", "pp")
#: Levels reported by the engine whose change is counted in segments.
LEVEL_FIELDS: Final = ("nli", "motor_right", "motor_left", "sensory_right", "sensory_left")
_UPPER = [lv for lv in KEY_MUSCLES if lv <= Level.T1]
_LOWER = [lv for lv in KEY_MUSCLES if lv >= Level.L2]
_CELLS: dict[str, tuple[list[str], int]] = {
    "uems": ([f"{s}_{lv.column}_motor" for s in "rl" for lv in _UPPER], 5),
    "lems": ([f"{s}_{lv.column}_motor" for s in "rl" for lv in _LOWER], 5),
    "lt": ([f"{s}_{lv.column}_lt" for s in "rl" for lv in SENSORY_LEVELS], 2),
    "pp": ([f"{s}_{lv.column}_pp" for s in "rl" for lv in SENSORY_LEVELS], 2),
}
_CELL_COLUMNS: Final = frozenset(c for columns, _ in _CELLS.values() for c in columns)
_INTACT = len(Level)  # one segment below S4_5
_REQUIRED_EXAM = ("participant", "visit", "ais")


def parse_grades(value: object) -> frozenset[str]:
    """The possible AIS grades of a result field (``"A"``, ``"A,C"``, ``"D*"``); empty when the
    exam was not classified."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return frozenset()
    grades = _grades(str(value).strip())
    if grades is None:
        raise AnalysisInputError("ais", value, "AIS grades A-E, comma-separated (e.g. 'A,C')")
    return grades


@lru_cache(maxsize=1024)
def _grades(text: str) -> frozenset[str] | None:
    """The grades a field's text names, ``None`` when one is not a grade (parsed once per text:
    a trial's exams repeat a few dozen texts thousands of times)."""
    if not text:
        return frozenset()
    grades = frozenset(part.strip().rstrip("*") for part in text.split(","))
    return None if grades - set(AIS_GRADES) else grades


def level_index(name: str) -> int:
    """Index of a level (C1 = 0 ... S4_5 = 28; ``INT`` = 29)."""
    name = name.strip().rstrip("*").upper()
    if name == "INT":
        return _INTACT
    try:
        return int(Level[name])
    except KeyError:
        raise AnalysisInputError(
            "level", name, "a level C1 ... S4_5 or INT (e.g. 'C5', 'T10*')"
        ) from None


def parse_levels(value: object) -> frozenset[int]:
    """The possible levels of a result field (``"C5"``, ``"C5,C6"``, ``"INT"``) as indices."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return frozenset()
    return _levels(str(value).strip())


@lru_cache(maxsize=4096)
def _levels(text: str) -> frozenset[int]:
    """:func:`parse_levels` of a field's text, parsed once per text."""
    if not text or text in {"NA", "ND"}:
        return frozenset()
    return frozenset(level_index(part) for part in text.split(","))


def _cell_range(value: object, maximum: int) -> tuple[float, float]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan, math.nan
    text = str(value).strip().rstrip("*")
    if text == "NT":
        return 0.0, float(maximum)
    try:
        grade = int(text)
    except ValueError:
        return math.nan, math.nan
    return float(grade), float(grade)


def score_range(row: dict[str, Any], score: str) -> tuple[float, float]:
    """The possible values of a total in one exam: ``(min, max)``.

    ``uems``, ``lems``, ``lt``, ``pp`` come from the result record; where it says ``ND`` (an
    ``NT`` cell), from the cells with each ``NT`` at 0 and at its maximum grade (5 motor, 2
    sensory). ``total_motor`` is UEMS + LEMS. ``(nan, nan)`` when neither is available.
    """
    if score == "total_motor":
        ulo, uhi = score_range(row, "uems")
        llo, lhi = score_range(row, "lems")
        return ulo + llo, uhi + lhi
    if score not in _CELLS:
        raise AnalysisInputError("score", score, "one of " + ", ".join(SCORE_FIELDS))
    recorded = row.get(score)
    if recorded is not None and not (isinstance(recorded, float) and math.isnan(recorded)):
        try:
            v = float(int(str(recorded).strip()))
            return v, v
        except ValueError:
            pass
    columns, maximum = _CELLS[score]
    low = high = 0.0
    for column in columns:
        lo, hi = _cell_range(row.get(column), maximum)
        low += lo
        high += hi
    return low, high


def format_range(low: float, high: float, digits: int = 0) -> str:
    """``"7"`` when low equals high, ``"5..9"`` for a range, ``""`` when unknown."""
    if math.isnan(low) or math.isnan(high):
        return ""
    if low == high:
        return f"{low:.{digits}f}"
    return f"{low:.{digits}f}..{high:.{digits}f}"


def _yes_no(low_true: bool, high_true: bool) -> str:
    if low_true:
        return "yes"
    return "undetermined" if high_true else "no"


def _check_columns(frame: pd.DataFrame, name: str, required: Iterable[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise AnalysisInputError(
            f"{name}.columns",
            sorted(frame.columns),
            "columns including " + ", ".join(required),
            f"lack {', '.join(missing)}",
        )


def _order_visits(exams: pd.DataFrame) -> list[str]:
    key = "day" if "day" in exams.columns else "examined_on" if "examined_on" in exams else None
    if key is None:
        return list(dict.fromkeys(exams["visit"].astype(str)))
    first = exams.groupby("visit", sort=False)[key].min()
    return [str(v) for v in first.sort_values(kind="stable").index]


def _latest(exams: pd.DataFrame, keys: tuple[str, ...] = ("participant", "visit")) -> pd.DataFrame:
    # One row per key (participant and visit; for measures also the measure): the latest (by
    # date, then by row order).
    frame = exams.reset_index(drop=True).assign(_row=lambda f: range(len(f)))
    order = ["examined_on", "_row"] if "examined_on" in frame.columns else ["_row"]
    frame = frame.sort_values(order, kind="stable")
    return frame.drop_duplicates(list(keys), keep="last").drop(columns="_row")


def _participants(exams: pd.DataFrame, participants: pd.DataFrame | None) -> pd.DataFrame:
    if participants is None:
        cols = ["participant", "arm"] if "arm" in exams.columns else ["participant"]
        out = exams[cols].drop_duplicates("participant").reset_index(drop=True)
    else:
        _check_columns(participants, "participants", ["participant"])
        out = participants.reset_index(drop=True)
    if "arm" not in out.columns:
        out = out.assign(arm="")
    return out[["participant", "arm"]].assign(arm=lambda f: f["arm"].fillna("").astype(str))


def endpoint_table(
    exams: pd.DataFrame,
    *,
    participants: pd.DataFrame | None = None,
    baseline_visit: str | None = None,
    visits: Sequence[str] | None = None,
    schedule: pd.DataFrame | None = None,
    data_cut: date | None = None,
) -> pd.DataFrame:
    """Endpoints of every participant at every visit, against baseline.

    Parameters
    ----------
    exams : DataFrame
        ISNCSCI exams with their classification (columns: see the module docstring).
    participants : DataFrame, optional
        Who is expected at each visit (``participant``, ``arm``); default: whoever has an exam.
    baseline_visit : str, optional
        The baseline visit's name; default: each participant's earliest exam.
    visits : sequence of str, optional
        Visits to report, in order; default: every visit but the baseline, in time order.
    schedule : DataFrame, optional
        The protocol's visits: ``visit``, ``target_day`` (days since treatment),
        ``window_minus``, ``window_plus``. With ``data_cut``, a visit without an exam whose
        window had not closed by the data cut (or of a participant not yet treated) is
        ``not_due``, not ``missing``; an exam's ``in_window`` says whether it was done inside
        its visit's window.
    data_cut : date, optional
        The date the data were cut (e.g. :attr:`TrialData.last_data_date`).

    Returns
    -------
    DataFrame
        One row per participant and visit. ``status`` is ``observed``, ``missing`` (no exam
        although the visit's window has closed), ``not_due`` (its window had not closed at the
        data cut), ``not_classified`` (exam without a classification) or ``no_baseline``.
        ``window_closes`` is the last day of the visit's window; ``in_window`` is ``yes`` /
        ``no`` for an exam (empty without a schedule). AIS:
        ``ais_baseline``, ``ais``, ``ais_shift`` (``A->C``), ``grade_change_min/max``,
        ``converted`` (better by >= 1 grade: yes / no / undetermined), ``motor_incomplete`` (C, D
        or E at the visit). For each of ``uems``, ``lems``, ``total_motor``, ``lt``, ``pp``:
        ``{score}_baseline_min/max``, ``{score}_min/max``, ``{score}_change_min/max``. For each of
        ``nli``, ``motor_right``, ``motor_left``, ``sensory_right``, ``sensory_left``:
        ``{level}_baseline``, ``{level}`` and ``{level}_change_min/max`` in segments (positive:
        caudal, i.e. recovery).
    """
    _check_columns(exams, "exams", _REQUIRED_EXAM)
    people = _participants(exams, participants)
    exams = exams.assign(visit=exams["visit"].fillna("").astype(str))
    latest = _latest(exams)
    order = _order_visits(exams)
    records = _exam_records(latest)
    if baseline_visit is None:
        key = "examined_on" if "examined_on" in latest.columns else None
        ordered = sorted(records, key=lambda r: r[key]) if key else records
        baseline: dict[Any, dict[str, Any]] = {}
        for r in ordered:
            baseline.setdefault(r["participant"], r)
    else:
        if baseline_visit not in set(exams["visit"]):
            raise AnalysisInputError(
                "baseline_visit", baseline_visit, "a visit with exams: " + ", ".join(order)
            )
        baseline = {r["participant"]: r for r in records if r["visit"] == baseline_visit}
    if visits is None:
        report_visits = [v for v in order if v != baseline_visit and v not in {""}]
    else:
        known = [*order, *(str(v) for v in schedule["visit"] if str(v) not in set(order))] if (
            schedule is not None and "visit" in schedule.columns) else order  # fmt: skip
        unknown = [v for v in visits if v not in set(known)]
        if unknown:
            raise AnalysisInputError(
                "visits", unknown[0], "visits with exams or in the schedule: " + ", ".join(known)
            )
        report_visits = list(visits)
    by_key = {(r["participant"], r["visit"]): r for r in records}
    windows = _windows(schedule)
    anchors = _anchors(participants)
    rows: list[dict[str, Any]] = []
    for pid, arm in zip(people["participant"], people["arm"], strict=True):
        base = baseline.get(pid)
        base_fields = None  # worked out at the participant's first row, once
        for visit in report_visits:
            if baseline_visit is None and base is not None and base["visit"] == visit:
                continue
            row: dict[str, Any] = {"participant": pid, "arm": arm, "visit": visit}
            row["baseline_visit"] = base["visit"] if base is not None else ""
            exam = by_key.get((pid, visit))
            if base is not None and base_fields is None:
                base_fields = _baseline(base)
            row = _endpoint_row(row, base_fields, exam)
            _schedule_fields(row, exam, windows.get(visit), anchors.get(pid), data_cut)
            rows.append(row)
    return pd.DataFrame(rows, columns=_endpoint_columns())


def _windows(schedule: pd.DataFrame | None) -> dict[str, tuple[int, int, int]]:
    if schedule is None:
        return {}
    _check_columns(schedule, "schedule", ("visit", "target_day", "window_minus", "window_plus"))
    return {
        str(v): (int(t), int(m), int(p))
        for v, t, m, p in zip(schedule["visit"], schedule["target_day"],
                              schedule["window_minus"], schedule["window_plus"], strict=True)
    }  # fmt: skip


def _anchors(participants: pd.DataFrame | None) -> dict[Any, date | None]:
    """Each participant's day 0: the first administration (``treated_on``), else the
    ``transplant_date``; ``None`` when neither is a date (not yet treated)."""
    if participants is None:
        return {}
    out: dict[Any, date | None] = {}
    for rec in frame_records(participants):
        day = None
        for column in ("treated_on", "transplant_date"):
            if column in rec and isinstance(rec[column], date):
                day = rec[column]
                break
        out[rec["participant"]] = day
    return out


def _schedule_fields(
    row: dict[str, Any],
    exam: dict[str, Any] | None,
    window: tuple[int, int, int] | None,
    anchor: date | None,
    data_cut: date | None,
) -> None:
    row["window_closes"] = None
    row["in_window"] = ""
    if window is None:
        return
    target, minus, plus = window
    if anchor is not None:
        row["window_closes"] = anchor + timedelta(days=target + plus)
    if exam is None:
        due = row["window_closes"]
        if data_cut is not None and (due is None or due > data_cut):
            row["status"] = "not_due"
        return
    on = exam.get("examined_on")
    if anchor is not None and isinstance(on, date):
        day = (on - anchor).days
        row["in_window"] = "yes" if target - minus <= day <= target + plus else "no"


def _endpoint_columns() -> list[str]:
    cols = ["participant", "arm", "visit", "baseline_visit", "status", "examined_on", "day"]
    cols += ["window_closes", "in_window"]
    cols += ["ais_baseline", "ais", "ais_shift", "grade_change_min", "grade_change_max"]
    cols += ["converted", "motor_incomplete", "uems_right_baseline", "uems_left_baseline"]
    for s in SCORE_FIELDS:
        cols += [f"{s}_baseline_min", f"{s}_baseline_max", f"{s}_min", f"{s}_max"]
        cols += [f"{s}_change_min", f"{s}_change_max"]
    for lv in LEVEL_FIELDS:
        cols += [f"{lv}_baseline", lv, f"{lv}_change_min", f"{lv}_change_max"]
    return cols


@dataclass(frozen=True, slots=True)
class _Baseline:
    """What every endpoint row of a participant reads of the baseline exam, worked out once."""

    fields: dict[str, Any]
    grades: frozenset[str]
    scores: dict[str, tuple[float, float]]
    levels: dict[str, frozenset[int]]


def _baseline(base: dict[str, Any]) -> _Baseline:
    nan = math.nan
    fields: dict[str, Any] = {"ais_baseline": _text(base.get("ais"))}
    for side in ("right", "left"):
        lo, hi = _cell_range(base.get(f"uems_{side}"), 10**6)
        fields[f"uems_{side}_baseline"] = lo if lo == hi else nan
    for lv in LEVEL_FIELDS:
        fields[f"{lv}_baseline"] = _text(base.get(lv))
    return _Baseline(
        fields,
        parse_grades(base.get("ais")),
        _score_ranges(base),
        {lv: parse_levels(base.get(lv)) for lv in LEVEL_FIELDS},
    )


def _score_ranges(rec: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """:func:`score_range` of every score of :data:`SCORE_FIELDS` (the total motor score from
    the UEMS and LEMS ranges worked out once, as :func:`score_range` adds them)."""
    out = {s: score_range(rec, s) for s in ("uems", "lems", "lt", "pp")}
    (ulo, uhi), (llo, lhi) = out["uems"], out["lems"]
    out["total_motor"] = (ulo + llo, uhi + lhi)
    return out


_NO_BASELINE: Final = _Baseline(
    {"ais_baseline": "", "uems_right_baseline": math.nan, "uems_left_baseline": math.nan,
     **{f"{lv}_baseline": "" for lv in LEVEL_FIELDS}},
    frozenset(), {s: (math.nan, math.nan) for s in SCORE_FIELDS},
    {lv: frozenset() for lv in LEVEL_FIELDS},
)  # fmt: skip
_AIS_ORDER: Final = {g: i for i, g in enumerate(AIS_GRADES)}
_MOTOR_INCOMPLETE: Final = frozenset({"C", "D", "E"})


def _endpoint_row(
    row: dict[str, Any], base: _Baseline | None, exam: dict[str, Any] | None
) -> dict[str, Any]:
    """One participant's endpoints at one visit: ``base`` (:func:`_baseline` of the baseline
    exam, once per participant) against ``exam``."""
    nan = math.nan
    known = base if base is not None else _NO_BASELINE
    row.update(known.fields)
    row.update({"examined_on": None, "day": nan, "ais": "", "ais_shift": ""})
    row.update({"grade_change_min": nan, "grade_change_max": nan})
    row.update({"converted": "", "motor_incomplete": ""})
    if exam is None:
        row["status"] = "missing"
    elif base is None:
        row["status"] = "no_baseline"
    elif not parse_grades(exam.get("ais")):
        row["status"] = "not_classified"
    else:
        row["status"] = "observed"
    if exam is not None:
        row["examined_on"] = exam.get("examined_on")
        row["day"] = exam.get("day", nan)
        row["ais"] = _text(exam.get("ais"))
    base_grades = known.grades
    grades = parse_grades(exam.get("ais")) if exam is not None else frozenset()
    if base_grades and grades:
        order = _AIS_ORDER
        lo = min(order[g] for g in grades) - max(order[g] for g in base_grades)
        hi = max(order[g] for g in grades) - min(order[g] for g in base_grades)
        row["grade_change_min"], row["grade_change_max"] = float(lo), float(hi)
        row["ais_shift"] = f"{row['ais_baseline']}->{row['ais']}"
        row["converted"] = _yes_no(lo >= 1, hi >= 1)
        mi = _MOTOR_INCOMPLETE
        row["motor_incomplete"] = _yes_no(grades <= mi, bool(grades & mi))
    scores = _score_ranges(exam) if exam is not None and grades else None
    for s in SCORE_FIELDS:
        blo, bhi = known.scores[s]
        vlo, vhi = scores[s] if scores is not None else (nan, nan)
        row[f"{s}_baseline_min"], row[f"{s}_baseline_max"] = blo, bhi
        row[f"{s}_min"], row[f"{s}_max"] = vlo, vhi
        row[f"{s}_change_min"], row[f"{s}_change_max"] = vlo - bhi, vhi - blo
    for lv in LEVEL_FIELDS:
        b = known.levels[lv]
        v = parse_levels(exam.get(lv)) if exam is not None and grades else frozenset()
        row[lv] = _text(exam.get(lv)) if exam is not None else ""
        if b and v:
            row[f"{lv}_change_min"] = float(min(v) - max(b))
            row[f"{lv}_change_max"] = float(max(v) - min(b))
        else:
            row[f"{lv}_change_min"] = row[f"{lv}_change_max"] = nan
    return row


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if all(type(c) is str for c in frame.columns):
        return frame_records(frame)
    return [{str(k): v for k, v in r.items()} for r in frame_records(frame)]


#: What an endpoint row reads of an exam, the cells aside (see :func:`_endpoint_row`).
_EXAM_FIELDS: Final = (
    "participant", "visit", "examined_on", "day", "ais", "uems_right", "uems_left",
    *SCORE_FIELDS, *LEVEL_FIELDS,
)  # fmt: skip


def _recorded_total(value: object) -> bool:
    """Whether :func:`score_range` takes a total as the result record gives it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    try:
        int(str(value).strip())
    except ValueError:
        return False
    return True


def _exam_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The exams as :func:`_endpoint_row` reads them: the result record's fields of every exam,
    and the cells only of the exams whose totals have to be made from them (``ND``: an NT cell),
    not the hundred and more cells of every exam."""
    fields = [c for c in frame.columns if str(c) in _EXAM_FIELDS]
    records = _records(frame[fields])
    cells = [c for c in frame.columns if str(c) in _CELL_COLUMNS]
    need = [i for i, r in enumerate(records)
            if not all(_recorded_total(r.get(s)) for s in _CELLS)]  # fmt: skip
    if need and cells:
        for i, extra in zip(need, _records(frame.iloc[need][cells]), strict=True):
            records[i].update(extra)
    return records


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def last_observed(endpoints: pd.DataFrame) -> pd.DataFrame:
    """Each participant's last observed visit (rows in visit order), with ``visit`` kept and
    ``status`` ``missing`` for a participant with no observed visit.

    This is a choice, shown wherever it is used: a participant whose later visits are not yet
    due (or were missed) is counted at an earlier visit, when recovery may not have happened yet.
    """
    if endpoints.empty:
        return endpoints.iloc[0:0]
    position = pd.Series(range(len(endpoints)))
    who = endpoints["participant"].reset_index(drop=True)
    observed = (endpoints["status"] == "observed").to_numpy()
    last_any = position.groupby(who, sort=False).max()
    last_seen = position[observed].groupby(who[observed], sort=False).max()
    chosen = last_seen.reindex(last_any.index).fillna(last_any).astype(int)
    return endpoints.iloc[list(chosen)].reset_index(drop=True)


def _at_visit(endpoints: pd.DataFrame, visit: str) -> pd.DataFrame:
    if visit == LAST:
        return last_observed(endpoints)
    return endpoints[endpoints["visit"] == visit]


def ais_shift_table(endpoints: pd.DataFrame, visit: str, *, arm: str | None = None) -> pd.DataFrame:
    """AIS grade shift table, baseline (rows) by grade at ``visit`` (columns).

    ``visit`` may be ``"last"`` (each participant's last observed visit). Columns are A-E, then
    any undetermined grade sets as reported (e.g. ``A,C``), then
    ``missing`` and ``not classified``; a final ``total`` column and row. Rows are baseline
    grades A-E (and any undetermined baseline set).
    """
    frame = _at_visit(endpoints, visit)
    if arm is not None:
        frame = frame[frame["arm"] == arm]
    if frame.empty:
        raise AnalysisInputError("visit", visit, "a visit present in the endpoint table")

    def column(status: Any, ais: Any) -> str:
        if status == "missing":
            return "missing"
        if status == "not_due":
            return "not yet due"
        if status in {"not_classified", "no_baseline"}:
            return "not classified"
        return str(ais).replace("*", "")

    cols = (
        pd.Series(
            [column(st, ais) for st, ais in zip(column_values(frame["status"]),
                                                 column_values(frame["ais"]), strict=True)],
            index=frame.index,
        )
        if len(frame)
        else pd.Series(dtype=str)
    )  # fmt: skip
    rows = frame["ais_baseline"].replace("", "unknown").str.replace("*", "", regex=False)
    table = pd.crosstab(rows, cols)
    known = {*AIS_GRADES, "missing", "not classified"}
    extra = sorted(c for c in table.columns if c not in {*known, "not yet due"})
    columns = [*AIS_GRADES, *extra, "missing", "not classified"]
    if "not yet due" in table.columns:
        columns.insert(-2, "not yet due")
    index = [*AIS_GRADES, *sorted(r for r in table.index if r not in AIS_GRADES)]
    table = table.reindex(index=index, columns=columns, fill_value=0)
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    table.index.name = "baseline"
    table.columns.name = visit
    return table.astype(int)


def conversion_summary(
    endpoints: pd.DataFrame,
    visit: str,
    *,
    outcome: str = "converted",
    baseline_grade: str | None = "A",
) -> pd.DataFrame:
    """Counts of an AIS outcome at a visit, per arm and overall.

    Parameters
    ----------
    endpoints : DataFrame
        From :func:`endpoint_table`.
    visit : str
        A visit name, or ``"last"`` for each participant's last observed visit.
    outcome : {"converted", "motor_incomplete"}
        ``converted``: better by at least one grade; ``motor_incomplete``: C, D or E.
    baseline_grade : str or None
        Only participants with this baseline grade (default A); ``None`` for all.

    Returns
    -------
    DataFrame
        Per arm (and ``all``): ``expected`` (participants), ``assessed``, ``yes``, ``no``,
        ``undetermined``, ``pending`` (visit not yet due at the data cut), ``missing`` (no exam
        although due, not classified or no baseline), ``yes_min`` and ``yes_max``
        (undetermined counted as no / as yes), and ``uncertain_baseline``: participants whose
        baseline the exam leaves open and that include ``baseline_grade`` (``A,C``), outside
        the counts but reported, never dropped silently.
    """
    if outcome not in {"converted", "motor_incomplete"}:
        raise AnalysisInputError("outcome", outcome, "converted or motor_incomplete")
    frame = _at_visit(endpoints, visit)
    if frame.empty:
        raise AnalysisInputError("visit", visit, "a visit present in the endpoint table")
    uncertain = frame.iloc[0:0]
    if baseline_grade is not None:
        grades = frame["ais_baseline"].map(parse_grades)
        uncertain = frame[grades.map(lambda g: baseline_grade in g and len(g) > 1)]
        frame = frame[grades == frozenset({baseline_grade})]
    rows = []
    groups: list[tuple[str, pd.DataFrame]] = [(str(a), g) for a, g in frame.groupby("arm")]
    if len(groups) != 1:
        groups.append(("all", frame))
    elif groups:
        groups = [("all" if groups[0][0] == "" else groups[0][0], groups[0][1])]
    for arm, g in groups:
        observed = g[g["status"] == "observed"]
        yes = int((observed[outcome] == "yes").sum())
        und = int((observed[outcome] == "undetermined").sum())
        rows.append(
            {
                "arm": arm,
                "visit": visit,
                "outcome": outcome,
                "expected": len(g),
                "assessed": len(observed),
                "yes": yes,
                "no": int((observed[outcome] == "no").sum()),
                "undetermined": und,
                "pending": int((g["status"] == "not_due").sum()),
                "missing": len(g) - len(observed) - int((g["status"] == "not_due").sum()),
                "yes_min": yes,
                "yes_max": yes + und,
                "uncertain_baseline": len(uncertain)
                if arm == "all"
                else int((uncertain["arm"].astype(str) == arm).sum()),
            }
        )
    return pd.DataFrame(rows)


def measure_changes(
    measures: pd.DataFrame,
    *,
    participants: pd.DataFrame | None = None,
    baseline_visit: str | None = None,
    visits: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Change of each functional measure (SCIM III, WISCI II, walk tests) from baseline.

    Returns one row per participant, measure and visit: ``baseline``, ``value``, ``change`` and
    ``status`` (``observed``, ``missing`` -- no measurement at the visit -- or ``no_baseline``).
    The baseline is the measure's value at ``baseline_visit``, or each participant's earliest
    measurement of it. By default the visits of a measure are those at which anyone had it.
    """
    _check_columns(measures, "measures", ["participant", "visit", "measure", "value"])
    people = _participants(measures, participants)
    frame = measures.assign(visit=measures["visit"].fillna("").astype(str))
    latest = _latest(frame.rename(columns={"assessed_on": "examined_on"}),
                     keys=("participant", "visit", "measure"))  # fmt: skip
    order = _order_visits(frame.rename(columns={"assessed_on": "examined_on"}))
    rows = []
    for name, g in latest.groupby("measure", sort=True):
        records = _records(g)
        own = set(g["visit"])
        wanted = visits if visits is not None else [v for v in order if v in own]
        base: dict[Any, dict[str, Any]] = {}
        for r in records:
            if baseline_visit is None or r["visit"] == baseline_visit:
                base.setdefault(r["participant"], r)
        values = {(r["participant"], r["visit"]): float(r["value"]) for r in records}
        for pid, arm in zip(people["participant"], people["arm"], strict=True):
            b = float(base[pid]["value"]) if pid in base else math.nan
            bvisit = str(base[pid]["visit"]) if pid in base else ""
            for visit in wanted:
                if visit == bvisit:
                    continue
                v = values.get((pid, visit), math.nan)
                status = (
                    "missing" if math.isnan(v) else "no_baseline" if math.isnan(b) else "observed"
                )
                rows.append(
                    {
                        "participant": pid,
                        "arm": arm,
                        "measure": name,
                        "visit": visit,
                        "baseline_visit": bvisit,
                        "baseline": b,
                        "value": v,
                        "change": v - b,
                        "status": status,
                    }
                )
    columns = ["participant", "arm", "measure", "visit", "baseline_visit", "baseline", "value"]
    return pd.DataFrame(rows, columns=[*columns, "change", "status"])
