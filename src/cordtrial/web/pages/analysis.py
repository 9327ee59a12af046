"""The analysis page: AIS shift, motor trajectories against natural history, adverse-event
timeline, the comparison with natural recovery, the safety stopping rule and the DSMB / efficacy
reports, for one trial (issue 6: "figures are also on the web pages").

Who: :data:`ANALYSIS_ROLES` (admin, investigator, monitor, statistician -- the roles of
:mod:`cordtrial.trial.rules.access` that read and oversee or analyse the whole trial); a
coordinator, who enters data at a site, is refused (403).

Site scoping: the cohort analysis is a trial-wide aggregate, like the dashboard's stopping rule
-- a conversion rate of one site's participants is not the trial's result -- so the shift tables,
the AIS shift diagram, the comparison with natural recovery and the stopping rule are computed
over every site. What names participants (the motor-score trajectories and the adverse-event
timeline) is drawn from the participants at the user's sites only, and the reports (which list
participants and their events) can be downloaded only by users who see every site of the trial.

The analysis is computed from the store and kept in the process's memory under the version of
the data (:func:`data_version`: the head of the audit trail, one indexed read per request, which
every change of trial data advances) and the sites the user sees, so any change gives a new key
and a fresh computation -- nothing stale is shown, whichever worker process answers.
Above :data:`~cordtrial.analysis.plots.PER_PARTICIPANT_LIMIT` participants the participant-level
figures are aggregated (medians with interquartile bands; AEs by category and time, cumulative
incidence), so the page stays small and readable at any trial size.
Figures are matplotlib ``Figure`` objects (no pyplot) rendered to inline SVG, on the non-GUI
Agg backend.
"""

from __future__ import annotations

import gc
import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from cordtrial.trial.errors import AccessDeniedError
from cordtrial.trial.models import User
from cordtrial.trial.rules.access import can
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.reads import list_trials
from cordtrial.web.deps import SessionDep, SettingsDep
from cordtrial.web.pages.auth import PageUser
from cordtrial.web.pages.rendering import render, templates

if TYPE_CHECKING:
    import pandas as pd

    from cordtrial.analysis.cohort import CohortComparison
    from cordtrial.analysis.safety import StoppingRuleStatus
    from cordtrial.analysis.store import TrialData

__all__ = ["ANALYSIS_ROLES", "AnalysisView", "data_version", "may_read_analysis", "router"]

router = APIRouter()

#: Roles that may open the analysis page and download the reports.
ANALYSIS_ROLES: Final = frozenset({"admin", "investigator", "monitor", "statistician"})
_CACHE_SIZE: Final = 8
#: Computed views by (trial, :func:`data_version`, the sites seen), in this process.
_CACHE: OrderedDict[tuple[str, ...], AnalysisView] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_MEDIA: Final = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def may_read_analysis(user: User | None) -> bool:
    """True when ``user`` may open the analysis page (a role in :data:`ANALYSIS_ROLES` that may
    read trial data)."""
    return user is not None and user.role in ANALYSIS_ROLES and can(user.role, "read")


# the navigation bar (base.html) shows the link to the roles that may open the page
templates.env.globals["may_read_analysis"] = may_read_analysis


@dataclass(frozen=True, slots=True)
class Table:
    """A table ready for the template: caption, column names, rows of strings."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    id: str = ""


@dataclass(frozen=True, slots=True)
class PageFigure:
    """An inline SVG figure with its caption and a text description for screen readers."""

    id: str
    caption: str
    svg: Markup
    description: str


@dataclass
class AnalysisView:
    """Everything the analysis page shows, computed from one snapshot of the data."""

    protocol_id: str
    title: str
    data_cut: date | None
    snapshot_hash: str
    scoped: bool
    assessed: int = 0
    expected_participants: int = 0
    converted_min: int = 0
    converted_max: int = 0
    missing: int = 0
    comparisons: list[CohortComparison] = field(default_factory=list)
    prior: tuple[float, float] = (1.0, 1.0)
    sensitivity: Table | None = None
    shift_tables: list[Table] = field(default_factory=list)
    figures: list[PageFigure] = field(default_factory=list)
    stopping: StoppingRuleStatus | None = None
    limitations: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    not_analysable: str = ""
    endpoint_line: str = ""
    endpoint_visit: str = ""
    pending: list[str] = field(default_factory=list)
    last_assessed: int = 0
    last_converted: int = 0


def _require(user: User) -> None:
    if not may_read_analysis(user):
        raise AccessDeniedError(user.username, "read the trial analysis")


def _sees_every_site(session: Session, user: User, protocol_id: str) -> bool:
    if user.role == "admin" or user.all_sites:
        return True
    return {s.id for s in get_trial(session, protocol_id).sites} <= user.site_ids


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    return str(value)


def _table(caption: str, frame: pd.DataFrame, *, id: str = "", index: bool = False) -> Table:
    shown = frame.reset_index() if index else frame
    return Table(
        caption,
        [str(c) for c in shown.columns],
        [[_cell(v) for v in row] for row in shown.itertuples(index=False)],
        id,
    )


def _svg(fig: Any) -> Markup:
    from cordtrial.analysis.plots import figure_svg

    text = figure_svg(fig)
    start = text.find("<svg")
    # the SVG is matplotlib's own output (no user text but study ids and AE terms, which
    # matplotlib escapes), inlined so the page needs no second request
    return Markup(text[start:] if start >= 0 else text)


def _limitations(assessed: int) -> list[str]:
    from cordtrial.analysis.report import limitations

    return limitations(assessed)


def _efficacy(view: AnalysisView, data: TrialData, mine: TrialData) -> None:
    from cordtrial.analysis.cohort import (
        DEFAULT_PRIOR,
        cohort_levels,
        compare_with_natural_history,
        schedule_window_since_injury,
        sensitivity,
    )
    from cordtrial.analysis.endpoints import (
        LAST,
        ais_shift_table,
        conversion_summary,
        endpoint_table,
        last_observed,
    )
    from cordtrial.analysis.frames import records as frame_records
    from cordtrial.analysis.plots import (
        PER_PARTICIPANT_LIMIT,
        ais_shift_figure,
        motor_trajectories_figure,
    )

    visits = set(data.exams["visit"]) if "visit" in data.exams.columns else set()
    baseline = "screening" if "screening" in visits else None
    schedule = data.schedule if len(data.schedule) else None
    ep = endpoint_table(data.exams, participants=data.participants, baseline_visit=baseline,
                        schedule=schedule, data_cut=data.last_data_date)  # fmt: skip
    row = conversion_summary(ep, LAST).iloc[-1]
    view.last_assessed, view.last_converted = int(row["assessed"]), int(row["yes"])
    view.assessed, view.expected_participants = int(row["assessed"]), int(row["expected"])
    view.converted_min, view.converted_max = int(row["yes_min"]), int(row["yes_max"])
    view.missing = int(row["missing"])
    view.prior = DEFAULT_PRIOR
    compared = list(last_observed(ep).query("status == 'observed'")["participant"])
    if schedule is not None:
        from cordtrial.analysis.timepoint import time_point_endpoint

        final = str(schedule.sort_values("target_day", kind="stable").iloc[-1]["visit"])
        if (ep["visit"] == final).any():
            # the comparison is made at the protocol time point, not at the last observation
            end = time_point_endpoint(ep, final)
            view.endpoint_visit = final
            view.assessed, view.expected_participants = end.assessed, len(end.participants)
            view.converted_min, view.converted_max = end.yes, end.yes + end.undetermined
            view.missing, view.pending = len(end.missing), end.pending
            compared = list(end.participants.query("status == 'assessed'")["participant"])
            view.endpoint_line = (
                f"Primary endpoint at {final} (inside its window): {end.yes} of {end.assessed} "
                f"assessed converted; pending (not yet at {final}): "
                f"{', '.join(end.pending) or 'none'}; missing: {', '.join(end.missing) or 'none'}."
            )
    view.limitations = _limitations(view.assessed)
    shift = ais_shift_table(ep, LAST)
    view.shift_tables.append(
        _table("Baseline (rows) -> each participant's last observed exam (columns)", shift,
               id="shift-last", index=True)
    )  # fmt: skip
    follow_ups = [v for v in dict.fromkeys(ep["visit"]) if v]
    if follow_ups:
        final = follow_ups[-1]
        view.shift_tables.append(
            _table(f"Baseline (rows) -> {final} (columns), strictly by visit",
                   ais_shift_table(ep, final), id="shift-final", index=True)
        )  # fmt: skip
    if view.assessed:
        for k in sorted({view.converted_min, view.converted_max}):
            view.comparisons.append(compare_with_natural_history(k, view.assessed))
        window = schedule_window_since_injury(data.participants, data.schedule)
        levels = cohort_levels(data.participants, compared)
        sens = sensitivity(view.converted_min, view.assessed, outcome_window=window,
                           levels=levels or None)  # fmt: skip
        if len(sens):
            sens = sens.assign(
                natural_rate=[f"{r:.1%}" for r in sens["natural_rate"]],
                source_n=[_cell(v) or "not reported" for v in sens["source_n"]],
            )
            view.sensitivity = _table(
                "The comparison above repeated against every confirmed published source whose "
                "outcome time matches the protocol's final visit and whose levels cover the "
                "participants', by natural rate.",
                sens[["source", "levels", "timing", "source_n", "natural_rate", "expected",
                      "p_value", "prob_exceeds"]],
                id="sensitivity",
            )  # fmt: skip
    last = last_observed(ep)
    counts: dict[tuple[str, str], int] = {}
    for base, ais, status in zip(last["ais_baseline"], last["ais"], last["status"], strict=True):
        pair = (str(base), str(ais) if status == "observed" else str(status))
        counts[pair] = counts.get(pair, 0) + 1
    pairs = [f"{n} {b} to {v}" for (b, v), n in sorted(counts.items())]
    view.figures.append(
        PageFigure(
            "fig-ais-shift", "AIS shift diagram: baseline to last observed exam",
            _svg(ais_shift_figure(ep, LAST)),
            "AIS grade at baseline joined to the grade at each participant's last observed "
            "exam, line width = participants: " + "; ".join(pairs) + ".",
        )
    )  # fmt: skip
    # participant-level: only the user's sites (the same table when they see every site)
    mine_ep = ep
    if view.scoped:
        mine_ep = endpoint_table(
            mine.exams, participants=mine.participants, baseline_visit=baseline,
            schedule=schedule, data_cut=data.last_data_date,
        ) if len(mine.exams) and len(mine.participants) else ep.iloc[0:0]  # fmt: skip
    if len(mine_ep):
        latest = last_observed(mine_ep) if view.scoped else last
        changes = [
            f"{r['participant']} at {r['visit']}: UEMS {_change(r, 'uems')}, "
            f"LEMS {_change(r, 'lems')}"
            for r in frame_records(latest)
            if r["status"] == "observed"
        ]
        if len(changes) > PER_PARTICIPANT_LIMIT:
            changes = [f"{len(changes)} participants; the median and interquartile range of "
                       "the change at each visit are drawn, with the participants of the "
                       "largest gains and the largest loss"]  # fmt: skip
        view.figures.append(
            PageFigure(
                "fig-motor",
                "Motor scores: change from baseline with the natural-history band",
                _svg(motor_trajectories_figure(mine_ep, participants=mine.participants)),
                "Change of UEMS and LEMS from baseline over days since injury, one line per "
                "participant; grey line: published mean spontaneous one-year change of cervical "
                "AIS A with UEMS <= 20 per side (Kirshblum 2022), drawn only where a participant "
                "is in that population (others dashed); its SD is shaded only where mean - SD "
                "stays above 0. Latest: " + "; ".join(changes) + ".",
            )
        )


def _change(rec: dict[Any, Any], score: str) -> str:
    from cordtrial.analysis.endpoints import format_range

    text = format_range(rec[f"{score}_change_min"], rec[f"{score}_change_max"])
    return text if text.startswith("-") or not text else "+" + text


def _compute(data: TrialData, scoped: TrialData | None, snapshot: str) -> AnalysisView:
    from cordtrial.analysis.errors import AnalysisInputError
    from cordtrial.analysis.plots import (
        PER_PARTICIPANT_LIMIT,
        ae_cumulative_incidence_figure,
        ae_heatmap_figure,
        ae_summary_description,
        ae_timeline_description,
        ae_timeline_figure,
    )
    from cordtrial.analysis.safety import evaluate_stopping_rule

    mine = scoped if scoped is not None else data
    view = AnalysisView(
        protocol_id=data.protocol_id, title=data.title, data_cut=data.last_data_date,
        snapshot_hash=snapshot, scoped=scoped is not None,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        view.stopping = evaluate_stopping_rule(data.adverse_events, data.participants,
                                               as_of=data.last_data_date)  # fmt: skip
        try:
            if len(data.exams) and len(data.participants):
                _efficacy(view, data, mine)
            else:
                view.not_analysable = "No ISNCSCI exam recorded yet."
        except AnalysisInputError as exc:
            view.not_analysable = str(exc)
        aes = mine.adverse_events
        if 0 < len(mine.participants) <= PER_PARTICIPANT_LIMIT:
            view.figures.append(
                PageFigure(
                    "fig-ae-timeline", "Adverse-event timeline",
                    _svg(ae_timeline_figure(aes, mine.participants)),
                    ae_timeline_description(aes),
                )
            )  # fmt: skip
        elif len(mine.participants):
            summary = ae_summary_description(aes)
            view.figures.append(
                PageFigure("fig-ae-heatmap", "Adverse events by category and time of onset",
                           _svg(ae_heatmap_figure(aes)), summary)
            )  # fmt: skip
            view.figures.append(
                PageFigure(
                    "fig-ae-incidence", "Cumulative incidence of a first adverse event",
                    _svg(ae_cumulative_incidence_figure(aes, mine.participants,
                                                        data.last_data_date)),
                    "One minus the Kaplan-Meier estimate of event-free follow-up since "
                    "treatment, by category, censored at the data cut. " + summary,
                )
            )  # fmt: skip
    view.caveats = list(dict.fromkeys(str(w.message) for w in caught))
    return view


def data_version(session: Session) -> str:
    """A cheap version of the store's data, read from the database: the head of the audit
    trail (its last sequence number and hash), which every change of trial data advances. Any
    worker process reads the same version, so a cache keyed by it is never stale."""
    from cordtrial.trial.audit import audit_head

    seq, head = audit_head(session)
    return f"{seq}:{head[:16]}"


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a view is computed: the computation makes
    millions of short-lived objects (freed by reference counting), and the collections they
    trigger walk every object of the process (pandas, matplotlib, SQLAlchemy): about 0.3 s of
    the 1.9 s of CPU of a view at 500 participants. Resumed afterwards, unless it was off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analysis_view(session: Session, user: User, protocol_id: str) -> AnalysisView:
    """The analysis of a trial as ``user`` may see it (trial-wide aggregates; participant-level
    figures at the user's sites), computed afresh unless the same data were just analysed."""
    import matplotlib

    from cordtrial.analysis.store import load_trial

    matplotlib.use("Agg")  # never a GUI backend in a server
    every_site = _sees_every_site(session, user, protocol_id)
    key = (protocol_id, data_version(session),
           "all" if every_site else ",".join(map(str, sorted(user.site_ids))))  # fmt: skip
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    with _no_cycle_collection():
        data = load_trial(session, protocol_id)
        scoped = None if every_site else load_trial(session, protocol_id, user=user)
        view = _compute(data, scoped, data.snapshot_hash)
    with _CACHE_LOCK:
        _CACHE[key] = view
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return view


@router.get("/analysis", response_class=HTMLResponse, include_in_schema=False)
def analysis_home(
    request: Request, user: PageUser, session: SessionDep, trial: str | None = None
) -> Response:
    """The analysis of the trial the dashboard shows (``?trial=`` or the first trial)."""
    _require(user)
    trials = list_trials(session, user)
    chosen = next((t for t in trials if t.protocol_id == trial), trials[0] if trials else None)
    if chosen is None:
        return render(request, "analysis.html", user=user, view=None, trials=[])
    return RedirectResponse(f"/trials/{chosen.protocol_id}/analysis", status_code=303)


@router.get("/trials/{protocol_id}/analysis", response_class=HTMLResponse, include_in_schema=False)
def analysis_page(
    request: Request, protocol_id: str, user: PageUser, session: SessionDep
) -> Response:
    """The analysis page of one trial (403 for roles outside :data:`ANALYSIS_ROLES`, 404 for a
    trial that does not exist)."""
    _require(user)
    view = analysis_view(session, user, protocol_id)
    return render(
        request,
        "analysis.html",
        user=user,
        view=view,
        trials=list_trials(session, user),
        reports=not view.scoped,
    )


@router.get("/trials/{protocol_id}/reports/{kind}.{fmt}", include_in_schema=False)
def report_download(
    protocol_id: str,
    kind: Literal["dsmb", "efficacy"],
    fmt: Literal["pdf", "html"],
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The DSMB or efficacy report (:mod:`cordtrial.analysis.report`) of the whole trial, as a
    PDF or HTML file; for users who see every site of the trial (the reports list participants
    and their events). Rendered in the report process (:mod:`cordtrial.web.report_jobs`), not
    in the server's."""
    from cordtrial.web.report_jobs import render_report

    _require(user)
    if not _sees_every_site(session, user, protocol_id):
        raise AccessDeniedError(
            user.username, "download reports", "a trial with sites outside theirs"
        )
    get_trial(session, protocol_id)  # 404 before starting a process
    body, protocol, snapshot = render_report(settings.database_url, protocol_id, kind, fmt)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in protocol)
    name = f"{safe}-{kind}-{snapshot[:12]}.{fmt}"
    return Response(
        content=body,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
