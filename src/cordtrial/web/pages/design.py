"""The trial-design page (``/analysis/design``): the designs of ``cordtrial design`` -- Simon
two-stage, Fleming multi-stage, Thall-Simon and Lee-Liu monitoring, two arms with an exact test
-- as a form in clinical words and a results page with the stopping boundaries and the exact
operating characteristics; ``/analysis/design.json`` gives the same result as JSON.

Who: the analysis roles (:data:`cordtrial.web.pages.analysis.ANALYSIS_ROLES`); no trial data is
read. The form is a GET (the page only computes; nothing is stored), so a result can be linked.
Bad input is shown on the page beside the form (status 422), naming the field in words, the
value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from cordtrial.trial.errors import AccessDeniedError
from cordtrial.web.pages.analysis import Table, may_read_analysis
from cordtrial.web.pages.auth import PageUser
from cordtrial.web.pages.rendering import render

if TYPE_CHECKING:
    import pandas as pd

    from cordtrial.analysis.designs.boundaries import StoppingBoundaries

__all__ = ["FIELDS", "METHODS", "router"]

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Field:
    """A form field: name (query parameter), label in words, default, help text."""

    name: str
    label: str
    default: str
    help: str = ""


_P0 = Field("p0", "Response rate of no interest (p0)", "0.1",
            "e.g. the natural conversion rate, as a proportion")  # fmt: skip
_P1 = Field("p1", "Response rate worth pursuing (p1)", "0.3")
_ALPHA = Field("alpha", "Type I error (one-sided)", "0.05", "P(declare active | p0) at most")
_POWER = Field("power", "Power", "0.8", "P(declare active | p1) at least")
_RATES = Field("rates", "True response rates for the table", "",
               "comma-separated; empty: p0, p1 and every 0.05 around them")  # fmt: skip

#: The methods, in the order of the page: (key, title, reference).
METHODS: Final = {
    "simon": ("Simon two-stage (optimal and minimax)", "Simon R. Controlled Clinical Trials "
              "1989;10:1-10"),
    "fleming": ("Fleming multi-stage", "Fleming TR. Biometrics 1982;38:143-151"),
    "bayes": ("Thall-Simon Bayesian monitoring", "Thall PF, Simon R. Biometrics 1994;50:337-349"),
    "predictive": ("Lee-Liu predictive probability", "Lee JJ, Liu DD. Clin Trials 2008;5:93-106"),
    "two-arm": ("Two arms, exact test", "Fisher 1925; Boschloo, Statistica Neerlandica 1970"),
}  # fmt: skip

#: The fields of each method's form.
FIELDS: Final[dict[str, tuple[Field, ...]]] = {
    "simon": (_P0, _P1, _ALPHA, _POWER,
              Field("n_max", "Largest total size searched", "100"), _RATES),
    "fleming": (Field("p0", _P0.label, "0.2", _P0.help), Field("p1", _P1.label, "0.4"), _ALPHA,
                _POWER,
                Field("stages", "Participants added at each stage", "15,10",
                      "comma-separated; empty: the smallest total meeting alpha and power"),
                Field("n_stages", "Number of equal stages (when the sizes are empty)", "2"),
                _RATES),
    "bayes": (Field("prior_e", "Prior of the new treatment's response rate (Beta a,b)",
                    "0.6,1.4", "vague: a + b small"),
              Field("prior_s", "Prior of the standard (natural) rate, from historical data "
                    "(Beta a,b)", "15,35"),
              Field("n_max", "Largest number of participants", "40"),
              Field("futility", "Stop for futility when P(new > standard + delta) is at most",
                    "0.05"),
              Field("superiority", "Stop for superiority when P(new > standard) is at least",
                    "0.95", "empty: no superiority stop"),
              Field("delta", "Improvement the futility rule asks for (delta)", "0"),
              Field("n_min", "First analysis after participants", "1"),
              Field("cohort", "Then an analysis every", "1", "participants"), _RATES),
    "predictive": (Field("p0", _P0.label, "0.2", _P0.help), Field("p1", _P1.label, "0.4"),
                   Field("n_max", "Largest number of participants", "",
                         "empty: Lee and Liu's search for the smallest"),
                   Field("theta_l", "Stop for futility when the predictive probability is below",
                         "0.05"),
                   Field("theta_t", "Final analysis: active when P(rate > p0) exceeds", "0.9"),
                   Field("prior", "Prior of the response rate (Beta a,b)", "",
                         "empty: p0, 1 - p0"),
                   _ALPHA, _POWER, _RATES),
    "two-arm": (Field("treated", "Response rate with treatment", "0.6"),
                Field("control", "Response rate of controls", "0.2"),
                Field("test", "Exact test", "boschloo", "fisher or boschloo"),
                Field("sided", "Alternative", "one", "one (treatment better) or two"),
                Field("alpha", "Type I error", "0.05"), _POWER),
}  # fmt: skip

_OC_LABELS: Final = {
    "true_rate": "True response rate",
    "p_active": "P(declare active)",
    "p_inactive": "P(declare inactive)",
    "p_inconclusive": "P(neither at the end)",
    "p_early_stop": "P(stop early)",
    "p_early_active": "P(stop early: active)",
    "p_early_inactive": "P(stop early: inactive)",
    "expected_n": "Expected participants",
}


class _BadInput(ValueError):
    def __init__(self, label: str, value: str, allowed: str):
        super().__init__(f"{label}: {value!r} is not allowed ({allowed})")


@dataclass
class _Form:
    """The submitted values of one method's form, converted with errors in words."""

    method: str
    values: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def number(self, name: str, *, optional: bool = False) -> float | None:
        raw = self.text(name)
        if raw == "" and optional:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise _BadInput(self.labels[name], raw, "a number, e.g. 0.25") from None
        if not math.isfinite(value):
            raise _BadInput(self.labels[name], raw, "a finite number")
        return value

    def real(self, name: str) -> float:
        value = self.number(name)
        assert value is not None
        return value

    def whole(self, name: str, *, optional: bool = False) -> int | None:
        raw = self.text(name)
        if raw == "" and optional:
            return None
        try:
            return int(raw)
        except ValueError:
            raise _BadInput(self.labels[name], raw, "a whole number") from None

    def count(self, name: str) -> int:
        value = self.whole(name)
        assert value is not None
        return value

    def numbers(self, name: str, kind: Callable[[str], Any] = float) -> list[Any] | None:
        raw = self.text(name)
        if raw == "":
            return None
        try:
            return [kind(p.strip()) for p in raw.split(",") if p.strip()]
        except ValueError:
            what = "whole numbers" if kind is int else "numbers"
            raise _BadInput(self.labels[name], raw, f"{what} separated by commas") from None

    def pair(self, name: str) -> tuple[float, float] | None:
        values = self.numbers(name)
        if values is None:
            return None
        if len(values) != 2:
            raise _BadInput(self.labels[name], self.text(name), "two numbers a,b, e.g. 0.6,1.4")
        return values[0], values[1]


@dataclass
class DesignResult:
    """What the page shows: a heading, facts (label, value), tables, and the JSON document."""

    heading: str
    facts: list[tuple[str, str]]
    tables: list[Table]
    document: dict[str, Any]


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else f"{value:.4f}"
    return str(value)


def _frame(frame: pd.DataFrame, caption: str, labels: dict[str, str], id_: str) -> Table:
    columns = [labels.get(str(c), str(c)) for c in frame.columns]
    rows = [[_fmt(v) for v in row] for row in frame.astype(object).itertuples(index=False)]
    return Table(caption=caption, columns=columns, rows=rows, id=id_)


def _oc(bounds: StoppingBoundaries, rates: list[float], caption: str, id_: str
        ) -> tuple[Table, list[dict[str, Any]]]:  # fmt: skip
    from cordtrial.analysis.designs.boundaries import operating_characteristics

    oc = operating_characteristics(bounds, rates)
    shown = oc if oc["p_inconclusive"].abs().max() > 1e-12 else oc.drop(columns="p_inconclusive")
    records = [{str(k): v for k, v in r.items()} for r in oc.round(6).to_dict("records")]
    return _frame(shown, caption, _OC_LABELS, id_), records


def _boundaries(bounds: StoppingBoundaries, caption: str) -> Table:
    labels = {
        "participants": "After participants",
        "inactive_if_at_most": "Stop, inactive, if responses at most",
        "active_if_at_least": "Stop, active, if responses at least",
    }
    frame = bounds.table
    return _frame(frame.astype(object).where(frame.notna(), None), caption, labels, "boundaries")


def _rates(form: _Form, p0: float, p1: float) -> list[float]:
    from cordtrial.analysis.designs.boundaries import rate_grid

    given = form.numbers("rates")
    return rate_grid(p0, p1) if given is None else given


def _simon(form: _Form) -> DesignResult:
    from cordtrial.analysis.designs.simon import SIMON_CONVENTION, simon_two_stage

    p0, p1 = form.real("p0"), form.real("p1")
    result = simon_two_stage(p0, p1, alpha=form.real("alpha"), power=form.real("power"),
                             n_max=form.count("n_max"))  # fmt: skip
    rates = _rates(form, p0, p1)
    labels = {"design": "Design", "en0": "Expected participants under p0",
              "pet0": "P(stop after stage 1 | p0)", "alpha": "Exact type I error",
              "power": "Exact power"}  # fmt: skip
    tables = [_frame(result.summary, "Designs (r1/n1, r/n in Simon's convention)", labels,
                     "designs")]  # fmt: skip
    document: dict[str, Any] = {**result.to_dict(), "convention": SIMON_CONVENTION}
    ocs = {}
    for name, d in (("optimal", result.optimal), ("minimax", result.minimax)):
        table, ocs[name] = _oc(d.boundaries, rates, f"Operating characteristics, {name} design",
                               f"oc-{name}")  # fmt: skip
        tables.append(table)
    document["operating_characteristics"] = ocs
    o, m = result.optimal, result.minimax
    facts = [
        ("Rule", "stop after stage 1 (inactive) if responses ≤ r1 of n1; declare the "
                 "treatment active if total responses > r of n"),
        ("Optimal", f"{o.r1}/{o.n1}, {o.r}/{o.n}: at most {o.n} participants, "
                    f"{o.en0:.1f} expected under p0"),
        ("Minimax", f"{m.r1}/{m.n1}, {m.r}/{m.n}: at most {m.n} participants, "
                    f"{m.en0:.1f} expected under p0"),
    ]  # fmt: skip
    return DesignResult(METHODS["simon"][0], facts, tables, document)


def _fleming(form: _Form) -> DesignResult:
    from cordtrial.analysis.designs.fleming import fleming_design, fleming_search

    p0, p1 = form.real("p0"), form.real("p1")
    alpha, power = form.real("alpha"), form.real("power")
    sizes = form.numbers("stages", int)
    if sizes is None:
        design = fleming_search(p0, p1, stages=form.count("n_stages"), alpha=alpha, power=power)
    else:
        design = fleming_design(p0, p1, sizes, alpha=alpha, power=power)
    table, records = _oc(design.boundaries, _rates(form, p0, p1), "Operating characteristics",
                         "oc")  # fmt: skip
    facts = [
        ("Stages", " + ".join(str(s) for s in design.stage_sizes)
         + f" = {design.boundaries.n_max} participants"),
        ("Exact type I error", f"{design.alpha:.4f} (nominal {alpha:g})"),
        ("Exact power", f"{design.power:.4f} (nominal {power:g})"),
        ("Boundaries", "normal-approximation boundaries (Fleming 1982); the acceptance "
                       "boundary follows a secondary source -- read the exact error rates"),
    ]  # fmt: skip
    return DesignResult(
        METHODS["fleming"][0], facts,
        [_boundaries(design.boundaries, "Stopping boundaries"), table],
        {**design.to_dict(), "operating_characteristics": records},
    )  # fmt: skip


def _bayes(form: _Form) -> DesignResult:
    from cordtrial.analysis.designs.bayesian import thall_simon_design

    pe, ps = form.pair("prior_e"), form.pair("prior_s")
    if pe is None or ps is None:
        missing = "prior_e" if pe is None else "prior_s"
        raise _BadInput(form.labels[missing], "", "two numbers a,b")
    design = thall_simon_design(
        pe, ps, form.count("n_max"), futility=form.real("futility"),
        superiority=form.number("superiority", optional=True), delta=form.real("delta"),
        n_min=form.count("n_min"), cohort=form.count("cohort"),
    )  # fmt: skip
    mean_s = ps[0] / (ps[0] + ps[1])
    table, records = _oc(design.boundaries, _rates(form, mean_s, min(0.99, mean_s + 0.2)),
                         "Operating characteristics", "oc")  # fmt: skip
    facts = [
        ("Standard rate", f"prior mean {mean_s:.3f} (Beta {ps[0]:g}, {ps[1]:g})"),
        ("New treatment", f"prior Beta {pe[0]:g}, {pe[1]:g}, updated by the responses seen"),
        ("Note", "the rule fixes no type I error: read P(declare active) at the standard rate"),
    ]
    return DesignResult(
        METHODS["bayes"][0], facts,
        [_boundaries(design.boundaries, "Stopping boundaries"), table],
        {**design.to_dict(), "operating_characteristics": records},
    )  # fmt: skip


def _predictive(form: _Form) -> DesignResult:
    from cordtrial.analysis.designs.bayesian import lee_liu_design, lee_liu_search

    p0 = form.real("p0")
    p1 = form.number("p1", optional=True)
    n_max = form.whole("n_max", optional=True)
    prior = form.pair("prior")
    if n_max is None:
        if p1 is None:
            raise _BadInput(form.labels["p1"], "", "a rate, needed to search for the size")
        design = lee_liu_search(p0, p1, alpha=form.real("alpha"), power=form.real("power"),
                                prior=prior)  # fmt: skip
    else:
        design = lee_liu_design(p0, n_max, prior=prior, theta_l=form.real("theta_l"),
                                theta_t=form.real("theta_t"), p1=p1)  # fmt: skip
    table, records = _oc(design.boundaries,
                         _rates(form, p0, p1 if p1 is not None else min(0.99, p0 + 0.2)),
                         "Operating characteristics", "oc")  # fmt: skip
    facts = [
        ("Size", f"up to {design.n_max} participants, an analysis after each"),
        ("Thresholds", f"futility when the predictive probability < {design.theta_l:g}; "
                       f"active at the end when P(rate > p0) > {design.theta_t:g}"),
        ("Exact type I error", f"{design.alpha:.4f}"),
    ]  # fmt: skip
    if design.power is not None:
        facts.append(("Exact power", f"{design.power:.4f}"))
    return DesignResult(
        METHODS["predictive"][0], facts,
        [_boundaries(design.boundaries, "Stopping boundaries"), table],
        {**design.to_dict(), "operating_characteristics": records},
    )  # fmt: skip


def _two_arm(form: _Form) -> DesignResult:
    from cordtrial.analysis.designs.two_arm import two_arm_exact_sample_size

    sided = form.text("sided")
    if sided not in {"one", "two"}:
        raise _BadInput(form.labels["sided"], sided, "one or two")
    design = two_arm_exact_sample_size(
        form.real("treated"), form.real("control"), test=form.text("test"),  # type: ignore[arg-type]
        alpha=form.real("alpha"), power=form.real("power"),
        alternative="one-sided" if sided == "one" else "two-sided",
    )  # fmt: skip
    labels = {"n_per_arm": "Participants per arm", "power": "Exact power",
              "attained_alpha": "Largest type I error over the common rate"}  # fmt: skip
    facts = [
        ("Sample size", f"{design.n_per_arm} per arm, {2 * design.n_per_arm} in all"),
        ("Exact power", f"{design.power:.4f}"),
        ("Test", f"{design.test.capitalize()}, {design.alternative}"),
        ("Note", "exact power is not monotone in n: the table shows the sizes around the answer"),
    ]
    return DesignResult(METHODS["two-arm"][0], facts,
                        [_frame(design.table, "Exact power by size", labels, "power-by-n")],
                        design.to_dict())  # fmt: skip


_COMPUTE: Final[dict[str, Callable[[_Form], DesignResult]]] = {
    "simon": _simon, "fleming": _fleming, "bayes": _bayes, "predictive": _predictive,
    "two-arm": _two_arm,
}  # fmt: skip


def _error_text(exc: Exception, form: _Form) -> str:
    from cordtrial.analysis.errors import AnalysisInputError

    if isinstance(exc, AnalysisInputError):
        names = {"prior_e": "prior_e", "prior_s": "prior_s", "rate_treated": "treated",
                 "rate_control": "control", "true_rate": "rates", "stage_sizes": "stages",
                 "stages": "n_stages", "alternative": "sided", "n_range": "n_max"}  # fmt: skip
        label = form.labels.get(names.get(exc.field, exc.field), exc.field.replace("_", " "))
        shown = "" if exc.value is None else f" {exc.value}"
        return f"{label}:{shown} {exc.problem} ({exc.allowed})"
    return str(exc)


def _run(request: Request) -> tuple[str, _Form, DesignResult | None, str | None]:
    params = dict(request.query_params)
    method = params.get("method", "simon")
    if method not in METHODS:
        method = "simon"
    fields = FIELDS[method]
    values = {f.name: params.get(f.name, f.default) for f in fields}
    form = _Form(method, values, {f.name: f.label for f in fields})
    if "run" not in params:
        return method, form, None, None
    from cordtrial.analysis.errors import AnalysisInputError

    try:
        return method, form, _COMPUTE[method](form), None
    except (_BadInput, AnalysisInputError) as exc:
        return method, form, None, _error_text(exc, form)


def _require(user: Any) -> None:
    if not may_read_analysis(user):
        raise AccessDeniedError(user.username, "use the trial-design tools")


@router.get("/analysis/design", response_class=HTMLResponse)
def design_page(request: Request, user: PageUser) -> Response:
    """The form of one method (``?method=``) and, with ``run``, its result or the error."""
    _require(user)
    method, form, result, error = _run(request)
    return render(
        request, "design.html", user=user, methods=METHODS, method=method,
        fields=FIELDS[method], values=form.values, result=result, error=error,
        query=request.url.query, status_code=422 if error else 200,
    )  # fmt: skip


@router.get("/analysis/design.json")
def design_json(request: Request, user: PageUser) -> Response:
    """The same result as JSON (422 with ``{"error": ...}`` for bad input)."""
    _require(user)
    _, _, result, error = _run(request)
    if error is not None or result is None:
        return JSONResponse({"error": error or "add run=1 to compute"}, status_code=422)
    return JSONResponse(result.document)
