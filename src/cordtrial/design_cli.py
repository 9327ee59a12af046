"""``cordtrial design``: trial designs with their exact operating characteristics.

Mounted into :mod:`cordtrial.cli` (``app.add_typer(design_app, name="design")``).

* ``simon`` -- Simon (1989) two-stage, optimal and minimax;
* ``fleming`` -- Fleming (1982) multi-stage;
* ``bayes-monitor`` -- Thall and Simon (1994) continuous Bayesian monitoring;
* ``predictive`` -- Lee and Liu (2008) predictive-probability monitoring;
* ``two-arm`` -- two arms, Fisher's or Boschloo's exact test, exact power and sample size;
* ``safety-rule`` -- the Bayesian safety stopping rule's boundary and operating characteristics.

Each prints the design and its operating characteristics (computed exactly) as tables, and writes
JSON with ``--json`` (standard output, tables left out) and/or ``-o FILE.json``. For ``simon``,
``--json`` prints exactly ``{"optimal": {r1, n1, r, n, en0, pet0}, "minimax": {...}}`` (the
contract of docs/cli.md); ``-o`` writes that and the operating characteristics. Exit codes: 0
success, 2 unusable options (a message names the option, the value and what is allowed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from cordtrial.cli_store import check_output_folder

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from cordtrial.analysis.designs.boundaries import StoppingBoundaries

# cordtrial.analysis (scipy, pandas) is imported inside the commands: `cordtrial --help` and
# every other command start without it.

__all__ = ["design_app"]

design_app = typer.Typer(
    help="Trial designs with exact operating characteristics (Simon, Fleming, Bayes, two-arm).",
    no_args_is_help=True,
)

#: Option names of the library's argument names, for error messages.
_OPTIONS = {
    "p0": "--p0", "p1": "--p1", "alpha": "--alpha", "power": "--power", "n_max": "--n-max",
    "stage_sizes": "--stages", "stages": "--n-stages", "true_rate": "--rates",
    "prior_e": "--prior-experimental", "prior_s": "--prior-standard", "prior": "--prior",
    "futility": "--futility", "superiority": "--superiority", "delta": "--delta",
    "n_min": "--n-min", "cohort": "--cohort", "theta_l": "--theta-l", "theta_t": "--theta-t",
    "theta_u": "--theta-u", "n_range": "--n-max", "rate_treated": "--treated",
    "rate_control": "--control", "test": "--test", "alternative": "--sided",
    "max_rate": "--max-rate", "posterior_threshold": "--threshold", "prior[0]": "--prior",
    "prior[1]": "--prior",
}  # fmt: skip

P0 = Annotated[float, typer.Option("--p0", help="Response rate of no interest (natural rate).")]
P1 = Annotated[float, typer.Option("--p1", help="Response rate worth pursuing.")]
Alpha = Annotated[
    float, typer.Option("--alpha", help="Largest one-sided type I error, P(active | p0).")
]
Power = Annotated[float, typer.Option("--power", help="Smallest power, P(active | p1).")]
Rates = Annotated[
    str | None,
    typer.Option(
        "--rates",
        help="True response rates for the operating characteristics, comma-separated "
        "(default: p0, p1 and every 0.05 around them).",
        show_default=False,
    ),
]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON to standard output instead of tables.")
]
Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Also write the design as JSON to this file (.json).",
                 show_default=False),
]  # fmt: skip


def _fail(message: str) -> NoReturn:
    typer.echo(f"cordtrial: error: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def _usable() -> Iterator[None]:
    """Bad values from the library (AnalysisInputError) become exit 2 with the option named."""
    from cordtrial.analysis.errors import AnalysisInputError

    try:
        yield
    except AnalysisInputError as exc:
        option = _OPTIONS.get(exc.field, exc.field)
        _fail(f"{option}: {exc.value!r} {exc.problem} ({exc.allowed})")


def _numbers(option: str, text: str, convert: Callable[[str], Any]) -> list[Any]:
    try:
        values = [convert(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        kind = "whole numbers" if convert is int else "numbers"
        _fail(f"{option}: {text!r} is not allowed ({kind} separated by commas, e.g. 15,10)")
    if not values:
        _fail(f"{option}: {text!r} is empty (numbers separated by commas)")
    return values


def _pair(option: str, text: str) -> tuple[float, float]:
    values = _numbers(option, text, float)
    if len(values) != 2:
        _fail(f"{option}: {text!r} is not allowed (two beta parameters a,b, e.g. 0.6,1.4)")
    return values[0], values[1]


def _check_output(output: Path | None) -> None:
    if output is not None and output.suffix.lower() != ".json":
        _fail(f"--output: {str(output)!r} is not allowed (a file name ending in .json)")
    if output is not None:
        check_output_folder(output)


def _emit(document: dict[str, Any], stdout_document: dict[str, Any] | None, as_json: bool,
          output: Path | None, tables: Callable[[], list[Table]]) -> None:  # fmt: skip
    from rich.console import Console

    if output is not None:
        try:
            output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            _fail(f"--output: {str(output)!r} cannot be written ({exc.strerror})")
    if as_json:
        typer.echo(json.dumps(document if stdout_document is None else stdout_document, indent=2))
        return
    console = Console()
    for i, table in enumerate(tables()):
        if i:
            console.print()
        console.print(table)
    if output is not None:
        console.print(f"written: {output}")


def _frame_table(frame: pd.DataFrame, title: str, labels: dict[str, str]) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    for column in frame.columns:
        table.add_column(labels.get(column, column), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: object) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if value != int(value) else f"{value:g}"
    return str(value)


def _oc(bounds: StoppingBoundaries, rates: list[float]) -> pd.DataFrame:
    from cordtrial.analysis.designs.boundaries import operating_characteristics

    return operating_characteristics(bounds, rates)


#: Short column names of the operating characteristics (a terminal is narrow); the caption
#: says what they mean.
_OC_SHORT = {
    "true_rate": "True rate",
    "p_active": "Active",
    "p_inactive": "Inactive",
    "p_inconclusive": "Neither",
    "p_early_stop": "Early stop",
    "p_early_active": "Early: active",
    "p_early_inactive": "Early: inactive",
    "expected_n": "Expected N",
}
_OC_CAPTION = (
    "Probabilities of declaring the treatment active / inactive (/ neither at the end), of "
    "stopping early (and why), and the expected number of participants; computed exactly."
)


def _oc_table(frame: pd.DataFrame, title: str) -> Table:
    shown = frame.copy()
    if shown["p_inconclusive"].abs().max() < 1e-12:
        shown = shown.drop(columns="p_inconclusive")
    table = _frame_table(shown, title, _OC_SHORT)
    table.caption = _OC_CAPTION
    return table


def _boundary_table(bounds: StoppingBoundaries, title: str) -> Table:
    labels = {
        "participants": "After participants",
        "inactive_if_at_most": "Stop, inactive, if responses <=",
        "active_if_at_least": "Stop, active, if responses >=",
    }
    frame = bounds.table
    frame = frame.astype(object).where(frame.notna(), None)
    return _frame_table(frame, title, labels)


def _oc_records(frame: pd.DataFrame) -> list[dict[str, float]]:
    return [{str(k): v for k, v in row.items()} for row in frame.round(6).to_dict("records")]


def _rates(text: str | None, p0: float, p1: float) -> list[float]:
    from cordtrial.analysis.designs.boundaries import rate_grid

    if text is None:
        return rate_grid(p0, p1)
    return _numbers("--rates", text, float)


@design_app.command("simon")
def simon_command(
    p0: P0,
    p1: P1,
    alpha: Alpha = 0.05,
    power: Power = 0.8,
    n_max: Annotated[int, typer.Option("--n-max", help="Largest total size searched.")] = 100,
    rates: Rates = None,
    as_json: JsonFlag = False,
    output: Output = None,
) -> None:
    """Simon (1989) two-stage design, optimal and minimax, by exact search.

    Stop after stage 1 (inactive) if responses <= r1 of n1; declare the treatment active if
    total responses > r of n.
    """
    _check_output(output)
    with _usable():
        from cordtrial.analysis.designs.simon import SIMON_CONVENTION, simon_two_stage

        result = simon_two_stage(p0, p1, alpha=alpha, power=power, n_max=n_max)
        grid = _rates(rates, p0, p1)
        ocs = {name: _oc(d.boundaries, grid) for name, d in
               (("optimal", result.optimal), ("minimax", result.minimax))}  # fmt: skip
    document = {
        **result.to_dict(),
        "convention": SIMON_CONVENTION,
        "p0": p0, "p1": p1, "alpha": alpha, "power": power, "n_max_searched": n_max,
        "exact": {name: {"alpha": round(d.alpha, 6), "power": round(d.power, 6)}
                  for name, d in (("optimal", result.optimal), ("minimax", result.minimax))},
        "operating_characteristics": {k: _oc_records(v) for k, v in ocs.items()},
    }  # fmt: skip

    def tables() -> list[Table]:
        summary = result.summary.rename(columns={"design": "Design"})
        labels = {"r1": "r1", "n1": "n1", "r": "r", "n": "n", "en0": "EN(p0)",
                  "pet0": "PET(p0)", "alpha": "Exact alpha", "power": "Exact power"}  # fmt: skip
        title = (f"Simon two-stage, p0 {p0:g}, p1 {p1:g}, alpha {alpha:g}, power {power:g}: "
                 f"{SIMON_CONVENTION}")  # fmt: skip
        out = [_frame_table(summary.round(4), title, labels)]
        out += [_oc_table(v, f"Operating characteristics, {k} design") for k, v in ocs.items()]
        return out

    _emit(document, result.to_dict(), as_json, output, tables)


@design_app.command("fleming")
def fleming_command(
    p0: P0,
    p1: P1,
    alpha: Alpha = 0.05,
    power: Power = 0.8,
    stages: Annotated[
        str | None,
        typer.Option("--stages", help="Participants added at each stage, e.g. 15,10 "
                     "(default: the smallest N meeting alpha and power, see --n-stages).",
                     show_default=False),
    ] = None,
    n_stages: Annotated[
        int, typer.Option("--n-stages", help="Stages of equal size when --stages is not given.")
    ] = 2,
    rates: Rates = None,
    as_json: JsonFlag = False,
    output: Output = None,
) -> None:  # fmt: skip
    """Fleming (1982) multi-stage design: stop early for futility or efficacy at each stage."""
    _check_output(output)
    with _usable():
        from cordtrial.analysis.designs.fleming import fleming_design, fleming_search

        if stages is not None:
            design = fleming_design(p0, p1, _numbers("--stages", stages, int), alpha=alpha,
                                    power=power)  # fmt: skip
        else:
            design = fleming_search(p0, p1, stages=n_stages, alpha=alpha, power=power)
        oc = _oc(design.boundaries, _rates(rates, p0, p1))
    document = {**design.to_dict(), "operating_characteristics": _oc_records(oc)}

    def tables() -> list[Table]:
        title = (f"Fleming multi-stage, p0 {p0:g}, p1 {p1:g}: exact alpha {design.alpha:.4f}, "
                 f"exact power {design.power:.4f} (nominal {alpha:g} / {power:g})")  # fmt: skip
        return [_boundary_table(design.boundaries, title),
                _oc_table(oc, "Operating characteristics")]  # fmt: skip

    _emit(document, None, as_json, output, tables)


@design_app.command("bayes-monitor")
def bayes_monitor_command(
    n_max: Annotated[int, typer.Option("--n-max", help="Largest number of participants.")],
    prior_experimental: Annotated[
        str, typer.Option("--prior-experimental", help="Beta prior a,b of the new treatment's "
                          "rate (vague, e.g. 0.6,1.4).")
    ],
    prior_standard: Annotated[
        str, typer.Option("--prior-standard", help="Beta prior a,b of the standard (natural) "
                          "rate, from historical data (e.g. 15,35).")
    ],
    futility: Annotated[float, typer.Option("--futility", help="Stop for futility when "
                        "P(new > standard + delta) <= this.")] = 0.05,
    superiority: Annotated[float, typer.Option("--superiority", help="Stop for superiority "
                           "when P(new > standard) >= this.")] = 0.95,
    no_superiority: Annotated[bool, typer.Option("--no-superiority",
                              help="Monitor for futility only.")] = False,
    delta: Annotated[float, typer.Option("--delta", help="Improvement the futility rule asks "
                     "for (a difference of rates).")] = 0.0,
    n_min: Annotated[int, typer.Option("--n-min", help="First analysis after this many.")] = 1,
    cohort: Annotated[int, typer.Option("--cohort", help="Then every this many.")] = 1,
    rates: Rates = None,
    as_json: JsonFlag = False,
    output: Output = None,
) -> None:  # fmt: skip
    """Thall and Simon (1994) continuous Bayesian monitoring against a standard rate."""
    _check_output(output)
    pe = _pair("--prior-experimental", prior_experimental)
    ps = _pair("--prior-standard", prior_standard)
    with _usable():
        from cordtrial.analysis.designs.bayesian import thall_simon_design

        design = thall_simon_design(
            pe, ps, n_max, futility=futility, superiority=None if no_superiority else superiority,
            delta=delta, n_min=n_min, cohort=cohort,
        )  # fmt: skip
        mean_s = ps[0] / (ps[0] + ps[1])
        grid = _rates(rates, mean_s, min(0.99, mean_s + 0.2))
        oc = _oc(design.boundaries, grid)
    document = {**design.to_dict(), "operating_characteristics": _oc_records(oc)}

    def tables() -> list[Table]:
        title = (f"Thall-Simon monitoring, new ~ Beta{pe}, standard ~ Beta{ps}, up to {n_max}: "
                 f"futility P <= {futility:g}"
                 + ("" if no_superiority else f", superiority P >= {superiority:g}"))  # fmt: skip
        return [_boundary_table(design.boundaries, title),
                _oc_table(oc, "Operating characteristics (exact)")]  # fmt: skip

    _emit(document, None, as_json, output, tables)


@design_app.command("predictive")
def predictive_command(
    p0: P0,
    p1: Annotated[float | None, typer.Option("--p1", help="Response rate worth pursuing "
                  "(needed for the search and for the power).", show_default=False)] = None,
    n_max: Annotated[int | None, typer.Option("--n-max", help="Largest number of participants; "
                     "without it, Lee and Liu's search finds the smallest.",
                     show_default=False)] = None,
    theta_l: Annotated[float, typer.Option("--theta-l", help="Stop for futility when the "
                       "predictive probability < this.")] = 0.05,
    theta_t: Annotated[float, typer.Option("--theta-t", help="Final analysis: active when "
                       "P(rate > p0) > this.")] = 0.9,
    theta_u: Annotated[float | None, typer.Option("--theta-u", help="Stop early, active, when "
                       "the predictive probability > this (default: never).",
                       show_default=False)] = None,
    prior: Annotated[str | None, typer.Option("--prior", help="Beta prior a,b of the response "
                     "rate (default p0,1-p0).", show_default=False)] = None,
    alpha: Alpha = 0.05,
    power: Power = 0.8,
    n_min: Annotated[int, typer.Option("--n-min", help="First analysis after this many.")] = 1,
    cohort: Annotated[int, typer.Option("--cohort", help="Then every this many.")] = 1,
    rates: Rates = None,
    as_json: JsonFlag = False,
    output: Output = None,
) -> None:  # fmt: skip
    """Lee and Liu (2008) predictive-probability monitoring (or, without --n-max, their search
    over n_max, theta_L and theta_T for the smallest n_max meeting alpha and power)."""
    _check_output(output)
    beta_prior = None if prior is None else _pair("--prior", prior)
    with _usable():
        from cordtrial.analysis.designs.bayesian import lee_liu_design, lee_liu_search

        if n_max is None:
            if p1 is None:
                _fail("--p1: (missing) is needed to search for n_max (or give --n-max)")
            design = lee_liu_search(p0, p1, alpha=alpha, power=power, prior=beta_prior)
        else:
            design = lee_liu_design(
                p0, n_max, prior=beta_prior, theta_l=theta_l, theta_t=theta_t, theta_u=theta_u,
                n_min=n_min, cohort=cohort, p1=p1,
            )  # fmt: skip
        oc = _oc(
            design.boundaries, _rates(rates, p0, p1 if p1 is not None else min(0.99, p0 + 0.2))
        )
    document = {**design.to_dict(), "operating_characteristics": _oc_records(oc)}

    def tables() -> list[Table]:
        power_text = "" if design.power is None else f", exact power {design.power:.4f}"
        title = (f"Lee-Liu predictive monitoring, p0 {p0:g}, n_max {design.n_max}, "
                 f"theta_L {design.theta_l:g}, theta_T {design.theta_t:g}: exact alpha "
                 f"{design.alpha:.4f}{power_text}")  # fmt: skip
        return [_boundary_table(design.boundaries, title),
                _oc_table(oc, "Operating characteristics (exact)")]  # fmt: skip

    _emit(document, None, as_json, output, tables)


@design_app.command("two-arm")
def two_arm_command(
    treated: Annotated[float, typer.Option("--treated", help="Response rate with treatment.")],
    control: Annotated[float, typer.Option("--control", help="Response rate of controls.")],
    test: Annotated[str, typer.Option("--test", help="Exact test: fisher or boschloo.")] = (
        "boschloo"
    ),
    sided: Annotated[str, typer.Option("--sided", help="one (treated better) or two.")] = "one",
    alpha: Annotated[float, typer.Option("--alpha", help="Type I error of the test.")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Smallest exact power.")] = 0.8,
    n_max: Annotated[int, typer.Option("--n-max", help="Largest n per arm searched.")] = 150,
    as_json: JsonFlag = False,
    output: Output = None,
) -> None:  # fmt: skip
    """Participants per arm for a two-arm comparison with an exact test; power computed
    exactly by enumerating every outcome."""
    _check_output(output)
    if sided not in {"one", "two"}:
        _fail(f"--sided: {sided!r} is not allowed (one or two)")
    with _usable():
        from cordtrial.analysis.designs.two_arm import two_arm_exact_sample_size

        design = two_arm_exact_sample_size(
            treated, control, test=test, alpha=alpha, power=power,  # type: ignore[arg-type]
            alternative="one-sided" if sided == "one" else "two-sided", n_max=n_max,
        )  # fmt: skip
    document = design.to_dict()

    def tables() -> list[Table]:
        title = (f"Two arms, {treated:g} vs {control:g}, {design.test.capitalize()} exact "
                 f"test, {design.alternative}, alpha {alpha:g}: {design.n_per_arm} per arm "
                 f"({2 * design.n_per_arm} in all), exact power {design.power:.4f}")  # fmt: skip
        labels = {"n_per_arm": "Per arm", "power": "Exact power",
                  "attained_alpha": "Attained size"}  # fmt: skip
        return [_frame_table(design.table.round(4), title, labels)]

    _emit(document, None, as_json, output, tables)


@design_app.command("safety-rule")
def safety_rule_command(
    n_max: Annotated[int, typer.Option("--n-max", help="Participants to be treated.")] = 12,
    max_rate: Annotated[float, typer.Option("--max-rate", help="Largest acceptable rate of "
                        "participants with a counting event.")] = 0.2,
    threshold: Annotated[float, typer.Option("--threshold", help="Stop when P(rate > "
                         "max-rate) exceeds this.")] = 0.8,
    prior: Annotated[str, typer.Option("--prior", help="Beta prior a,b of the event "
                     "rate.")] = "0.2,1.8",
    rates: Annotated[str, typer.Option("--rates", help="True event rates, comma-separated.")] = (
        "0.05,0.1,0.2,0.3,0.4"
    ),
    as_json: JsonFlag = False,
    output: Output = None,
) -> None:  # fmt: skip
    """The safety stopping rule's boundary by number treated and its exact operating
    characteristics (P(the rule stops the trial), expected number treated)."""
    _check_output(output)
    beta_prior = _pair("--prior", prior)
    grid = _numbers("--rates", rates, float)
    with _usable():
        from cordtrial.analysis.designs.safety_rule import (
            safety_rule_boundaries,
            safety_rule_operating_characteristics,
        )
        from cordtrial.analysis.safety import StoppingRule

        rule = StoppingRule(max_rate=max_rate, posterior_threshold=threshold, prior=beta_prior)
        bounds = safety_rule_boundaries(rule, n_max)
        oc = safety_rule_operating_characteristics(rule, n_max, grid)
    document = {
        "rule": rule.describe(), "n_max": n_max,
        "treated": list(bounds.looks), "stop_if_at_least": list(bounds.efficacy),
        "operating_characteristics": _oc_records(oc),
    }  # fmt: skip

    def tables() -> list[Table]:
        frame = bounds.table[["participants", "active_if_at_least"]]
        frame = frame.astype(object).where(frame.notna(), None)
        labels = {"participants": "Treated", "active_if_at_least": "Stop if participants "
                  "with a counting event >="}  # fmt: skip
        oc_labels = {"true_rate": "True event rate", "p_stop": "P(rule stops the trial)",
                     "p_stop_early": "P(stops before the last)",
                     "expected_treated": "Expected treated"}  # fmt: skip
        table = _frame_table(oc, "Operating characteristics (exact)", oc_labels)
        table.caption = (
            "Events known before the next participant is treated; a tumour finding, which "
            "stops by itself, is not modelled (it only adds stops)."
        )
        return [_frame_table(frame, f"Safety stopping rule: {rule.describe()}", labels), table]

    _emit(document, None, as_json, output, tables)
