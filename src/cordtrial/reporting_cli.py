"""``cordtrial reporting show|set|file``: the regulators' clocks from the command line.

``show`` lists the trial's jurisdictions, their rules with sources, and every periodic report
begun (period, deadline, where it stands, how many adverse events it must include); ``set``
chooses the jurisdictions (``us_ind``, ``jp_asrm``) and, for Japan, the day the provision plan was
submitted; ``file`` records the filing of one period. ``set`` and ``file`` act as the account
named by ``--user`` (it must be allowed to manage the trial); every change is audited by the
use cases. Exit codes: 0 done, 1 refused (bad value, not allowed, unknown user), 2 unusable
settings (no store, unknown trial).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cordtrial.cli_store import DataDirOption, DemoOption, existing_store

# SQLAlchemy and the trial store are imported when a command runs (`cordtrial --help` stays fast)
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["reporting_app"]

reporting_app = typer.Typer(
    help="The regulators' clocks: jurisdictions, expedited and periodic safety reports.",
    no_args_is_help=True,
)

TrialOption = Annotated[str, typer.Option("--trial", help="The trial's protocol id")]
UserOption = Annotated[
    str, typer.Option("--user", help="The account that makes the change (allowed to manage it)")
]


def _run(action: str, url: str, work: Callable[[Session], str]) -> None:
    from cordtrial.trial import TrialError, make_engine, make_session_factory
    from cordtrial.trial.errors import NotFoundError

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            typer.echo(work(session))
    except NotFoundError as exc:
        # an unknown trial is a bad option (2), like every command's --trial
        typer.echo(f"cordtrial: error: {action} refused: {exc.human}", err=True)
        raise typer.Exit(2 if exc.entity == "trial" else 1) from exc
    except TrialError as exc:
        typer.echo(f"cordtrial: error: {action} refused: {exc.human}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _date(field: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"cordtrial: error: {field}: {text!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(1) from None


@reporting_app.command("show")
def show_command(
    trial: TrialOption,
    user: Annotated[str, typer.Option("--user", help="The account that reads (its sites)")],
    on: Annotated[
        str | None, typer.Option("--on", help="The day to evaluate on (default: today)")
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """The trial's jurisdictions and rules, and its periodic reports with where each stands."""
    url = existing_store(data_dir, demo=demo).url
    today = _date("--on", on) or datetime.now(UTC).date()

    def work(session: Session) -> str:
        from cordtrial.trial.rules.clocks import EXPEDITED_RULES, JURISDICTION_NAMES
        from cordtrial.trial.services.acting import acting_user
        from cordtrial.trial.services.clocks import periodic_report_states, trial_jurisdictions
        from cordtrial.trial.services.common import get_trial

        found = get_trial(session, trial)
        chosen = trial_jurisdictions(found)
        lines = [f"{found.protocol_id}: reports under " + "; ".join(
            JURISDICTION_NAMES[j] for j in chosen
        )]  # fmt: skip
        if found.provision_plan_submitted_on:
            lines.append(f"provision plan submitted {found.provision_plan_submitted_on}")
        lines += [
            f"  expedited: {r.report} to {r.authority}, {r.days} days ({r.source})"
            for r in EXPEDITED_RULES
            if r.jurisdiction in chosen
        ]
        reader = acting_user(session, user, "read")
        states = periodic_report_states(session, reader, trial_id=found.id, today=today)
        for s in states:
            filed = f"; filed as {s.submission.reference}" if s.submission else ""
            count = len(s.events) + s.hidden
            lines.append(
                f"  periodic: {s.report.label}: {s.status.label}; {count} adverse "
                f"event{'' if count == 1 else 's'} to include{filed}"
            )
        if not states:
            lines.append("  no periodic report under these jurisdictions")
        return "\n".join(lines)

    _run("reporting show", url, work)


@reporting_app.command("set")
def set_command(
    trial: TrialOption,
    jurisdictions: Annotated[
        str, typer.Option("--jurisdictions", help="us_ind and/or jp_asrm, comma-separated")
    ],
    user: UserOption,
    plan_submitted: Annotated[
        str | None,
        typer.Option("--plan-submitted", help="Japan: the day the provision plan was submitted"),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, when the jurisdictions change")
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Choose the trial's jurisdictions; every adverse event's clocks follow."""
    url = existing_store(data_dir, demo=demo).url
    plan = _date("--plan-submitted", plan_submitted)

    def work(session: Session) -> str:
        from cordtrial.trial.services.acting import acting_user
        from cordtrial.trial.services.clocks import set_jurisdictions
        from cordtrial.trial.services.common import get_trial

        trial_id = get_trial(session, trial).id
        actor = acting_user(session, user, "manage_trial")
        found = set_jurisdictions(
            session, actor, trial_id=trial_id, jurisdictions=jurisdictions,
            provision_plan_submitted_on=plan, reason=reason,
        )  # fmt: skip
        return f"{found.protocol_id}: jurisdictions {', '.join(found.jurisdictions or [])}"

    _run("reporting set", url, work)


@reporting_app.command("file")
def file_command(
    trial: TrialOption,
    rule: Annotated[str, typer.Option("--rule", help="jp_asrm_60_day or jp_asrm_annual")],
    period: Annotated[int, typer.Option("--period", help="The period's number (1, 2 ...)")],
    reference: Annotated[str, typer.Option("--reference", help="The filing's reference")],
    user: UserOption,
    on: Annotated[str | None, typer.Option("--on", help="Filed on (default: today)")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, when correcting a recorded filing")
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Record the filing of one period of a periodic report."""
    url = existing_store(data_dir, demo=demo).url
    filed_on = _date("--on", on) or datetime.now(UTC).date()

    def work(session: Session) -> str:
        from cordtrial.trial.services.acting import acting_user
        from cordtrial.trial.services.clocks import record_periodic_submission
        from cordtrial.trial.services.common import get_trial

        trial_id = get_trial(session, trial).id
        actor = acting_user(session, user, "manage_trial")
        record_periodic_submission(
            session, actor, trial_id=trial_id, rule=rule,
            period_number=period, submitted_on=filed_on, reference=reference, reason=reason,
        )  # fmt: skip
        return f"{rule} period {period} filed on {filed_on} as {reference}"

    _run("reporting file", url, work)
