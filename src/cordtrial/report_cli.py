"""``cordtrial report``: DSMB and efficacy reports from the trial store, and the worked example.

Mounted into :mod:`cordtrial.cli` (``app.add_typer(report_app, name="report")``).

* ``cordtrial report dsmb --trial ID -o report.pdf`` -- the DSMB report (``.pdf`` or ``.html``);
* ``cordtrial report efficacy --trial ID -o report.html`` -- the efficacy report;
* ``cordtrial report example`` -- the four-participant worked example, run on the synthetic demo
  trial seeded into a fresh SQLite store: the primary endpoint at the protocol's final visit
  (pending participants named), the exact test, the Clopper-Pearson interval, the posterior
  probability, the sensitivity across the published sources that match the endpoint's time and
  the participants' levels, and the last observation, labelled as not the endpoint.

The store is ``CORDTRIAL_DATABASE_URL`` (or the SQLite file in ``CORDTRIAL_DATA_DIR``), or the one
named by ``--data-dir DIR`` / ``--demo`` (as for every command: :mod:`cordtrial.cli_store`), or
``--database URL``; it must exist. Exit codes: 0 success, 1 the data cannot be analysed, 2 unusable
settings or arguments (a missing store, an unknown trial, an output that cannot be written).
"""

from __future__ import annotations

import tempfile
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cordtrial.cli_store import DataDirOption, DemoOption, check_output_folder, existing_store

if TYPE_CHECKING:
    from cordtrial.analysis.store import TrialData

# cordtrial.analysis (scipy, matplotlib) is imported inside the commands: every other `cordtrial`
# command starts without it.

__all__ = ["report_app", "worked_example"]

report_app = typer.Typer(
    help="DSMB and efficacy reports (PDF or HTML), and the worked example.",
    no_args_is_help=True,
)

TrialOption = Annotated[str, typer.Option("--trial", help="Protocol id of the trial")]
OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="Report file: .pdf or .html (by extension)")
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Database URL (default: CORDTRIAL_DATABASE_URL / data dir)"),
]
FigureOption = Annotated[
    str | None,
    typer.Option(
        "--figure",
        help="Natural-history figure id of the primary comparison "
        "(default vanmiddendorp2009_above_t11)",
    ),
]
UnconfirmedOption = Annotated[
    bool,
    typer.Option(
        "--include-unconfirmed",
        help="Also use natural-history figures from secondary sources (tagged C/S or S)",
    ),
]


def _url(database: str | None, data_dir: Path | None = None, demo: bool = False) -> str:
    return existing_store(data_dir, demo=demo, url=database or None).url


def _check_output(output: Path) -> None:
    if output.suffix.lower() not in {".pdf", ".html", ".htm"}:
        typer.echo(
            f"error: --output: {str(output)!r} is not allowed (a file name ending in .pdf or "
            ".html)",
            err=True,
        )
        raise typer.Exit(2)
    check_output_folder(output)


def _load(url: str, protocol_id: str) -> TrialData:
    from cordtrial.analysis.store import load_trial
    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return load_trial(session, protocol_id)
    except TrialError as exc:
        typer.echo(f"cordtrial: error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, NotFoundError) else 1) from exc
    finally:
        engine.dispose()


@report_app.command("dsmb")
def dsmb(
    trial: TrialOption,
    output: OutputOption,
    database: DatabaseOption = None,
    figure: FigureOption = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Write the DSMB report: executive summary, disposition, exposure, follow-up, serious
    adverse events, adverse events of special interest, tumour surveillance (when the trial has
    MRIs), immunosuppression and laboratory safety (when it has lab results or events related to
    immunosuppression), stopping rule, efficacy."""
    from cordtrial.analysis.errors import AnalysisInputError
    from cordtrial.analysis.natural_history import DEFAULT_PRIMARY_FIGURE
    from cordtrial.analysis.report import build_dsmb_report, write_report

    _check_output(output)
    data = _load(_url(database, data_dir, demo), trial)
    try:
        report = build_dsmb_report(data, figure_id=figure or DEFAULT_PRIMARY_FIGURE)
        write_report(report, output)
    except AnalysisInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"DSMB report: {output} (data snapshot {report.snapshot_hash})")


@report_app.command("efficacy")
def efficacy(
    trial: TrialOption,
    output: OutputOption,
    database: DatabaseOption = None,
    figure: FigureOption = None,
    include_unconfirmed: UnconfirmedOption = False,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Write the efficacy report: endpoints against natural recovery, with its limits."""
    from cordtrial.analysis.errors import AnalysisInputError
    from cordtrial.analysis.natural_history import DEFAULT_PRIMARY_FIGURE
    from cordtrial.analysis.report import build_efficacy_report, write_report

    _check_output(output)
    data = _load(_url(database, data_dir, demo), trial)
    try:
        report = build_efficacy_report(
            data,
            figure_id=figure or DEFAULT_PRIMARY_FIGURE,
            include_unconfirmed=include_unconfirmed,
        )
        write_report(report, output)
    except AnalysisInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"efficacy report: {output} (data snapshot {report.snapshot_hash})")


def worked_example(data: TrialData) -> list[str]:
    """The worked example's lines: the primary endpoint (conversion at the protocol's final
    visit, inside its window, with the participants who have not reached it named as pending),
    its comparison with natural recovery (primary source, then every confirmed source whose
    outcome time matches), and the last-observation view, labelled as such."""
    from cordtrial.analysis.cohort import (
        DEFAULT_PRIOR,
        cohort_levels,
        compare_with_natural_history,
        schedule_window_since_injury,
        sensitivity,
    )
    from cordtrial.analysis.endpoints import LAST, conversion_summary, endpoint_table
    from cordtrial.analysis.natural_history import DEFAULT_PRIMARY_FIGURE
    from cordtrial.analysis.timepoint import time_point_endpoint

    lines = []
    baseline = "screening" if "screening" in set(data.exams["visit"]) else None
    schedule = data.schedule.sort_values("target_day", kind="stable")
    final = schedule.iloc[-1]
    visit = str(final["visit"])
    ep = endpoint_table(data.exams, participants=data.participants, baseline_visit=baseline,
                        schedule=data.schedule, data_cut=data.last_data_date)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        end = time_point_endpoint(ep, visit)
        k, n = end.yes, end.assessed
        lines.append(f"{data.protocol_id}: {data.title}")
        lines.append(
            f"primary endpoint: AIS at {visit} ({int(final['target_day'])} days after treatment, "
            f"window -{int(final['window_minus'])}/+{int(final['window_plus'])} days), baseline "
            f"= screening, data cut {data.last_data_date}:"
        )
        for rec in end.participants.to_dict(orient="records"):
            if rec["status"] == "assessed":
                lines.append(
                    f"  {rec['participant']}: {rec['ais_shift']} (converted: {rec['outcome']})"
                )
            else:
                when = rec["window_closes"]
                closes = f", window closes {when}" if when else ""
                lines.append(f"  {rec['participant']}: {rec['status']}{closes}")
        lines.append(
            f"converted (>= 1 AIS grade) at {visit}: {k} of {n} assessed; "
            f"{len(end.pending)} pending ({', '.join(end.pending) or 'none'}), "
            f"{len(end.missing)} missing"
        )
        window = schedule_window_since_injury(data.participants, data.schedule)
        assessed = end.participants.loc[end.participants["status"] == "assessed", "participant"]
        levels = cohort_levels(data.participants, list(assessed))
        c = compare_with_natural_history(k, n, figure=DEFAULT_PRIMARY_FIGURE, prior=DEFAULT_PRIOR)
        f = c.figure
        lines += [
            f"natural rate: {f.proportion:.1%} ({f.source}; {f.levels}; {f.timing}; n={f.n})",
            f"expected without treatment: {c.expected:.2f}",
            f"exact binomial test, one-sided: p = {c.test.p_value:.4f}",
            f"observed rate {c.test.estimate:.2f}, Clopper-Pearson 95% CI "
            f"{c.test.ci_low:.4f} to {c.test.ci_high:.4f}",
            f"posterior P(treated rate > natural rate), prior Beta(1, 1): "
            f"{c.posterior.prob_exceeds:.4f}",
            f"sensitivity across the confirmed sources whose outcome time matches {visit} and "
            f"whose levels cover the assessed ({', '.join(levels)}) (natural rate -> p, "
            "P(exceeds)):",
        ]
        sens = sensitivity(k, n, outcome_window=window, levels=levels or None)
        for r in sens.itertuples(index=False):
            lines.append(
                f"  {r.natural_rate:6.1%}  p = {r.p_value:.3f}  P = {r.prob_exceeds:.3f}  "
                f"{r.source} ({r.levels}, {r.timing})"
            )
        last = conversion_summary(ep, LAST).iloc[-1]
        why = (
            f"not the endpoint: it counts the {len(end.pending)} pending participants at an "
            "earlier visit, before recovery may come"
            if len(end.pending)
            else "each participant's latest exam of the main study; none is pending"
        )
        lines.append(
            f"last observation ({why}): {int(last['yes'])} of {int(last['assessed'])} converted"
        )
    lines.append(
        f"{n} participants assessed, no control group, spontaneous recovery common: these "
        "numbers cannot show that the cells caused the recovery (see docs/analysis.md)."
    )
    lines += [f"caveat: {m}" for m in dict.fromkeys(str(w.message) for w in caught)]
    lines.append(f"data snapshot: {data.snapshot_hash} (synthetic demo data)")
    return lines


@report_app.command("example")
def example(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the efficacy report (.pdf or .html)"),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(help="The day the demo is seen from (YYYY-MM-DD; default today)"),
    ] = None,
) -> None:
    """The four-participant worked example on the synthetic demo trial (a fresh SQLite store)."""
    from cordtrial.analysis.report import build_efficacy_report, write_report
    from cordtrial.trial import make_engine, make_session_factory, upgrade
    from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo

    if output is not None:
        _check_output(output)
    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError as exc:
        typer.echo(f"error: --today: {today!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from exc
    with tempfile.TemporaryDirectory(prefix="cordtrial-example-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            seed_demo(make_session_factory(engine), today=day)
        finally:
            engine.dispose()
        data = _load(url, DEMO_PROTOCOL_ID)
    for line in worked_example(data):
        typer.echo(line)
    if output is not None:
        write_report(build_efficacy_report(data), output)
        typer.echo(f"efficacy report: {output}")
