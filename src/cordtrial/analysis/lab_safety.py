"""Laboratory safety and immunosuppression: the DSMB section "Immunosuppression and laboratory
safety" (issue 15).

An allogeneic graft is given under immunosuppression (tacrolimus), and much of what goes wrong
after the transplant -- infection, a rising creatinine -- comes from the drug, not from the
cells. The section puts side by side what a committee needs to tell them apart:

* **Exposure to immunosuppression and trough levels**: the tables of
  :data:`IMMUNOSUPPRESSION_TABLE_PROVIDERS` (each ``provider(data) -> [(caption, frame)]``), put
  first in the section.
* **Graded laboratory abnormalities** (:func:`worst_grade_table`, :func:`lab_abnormality_listing`):
  per CTCAE v5.0 term, the worst grade of each participant after the transplant, and every value
  of grade 2 or higher with the adverse event it was reported as. Grades are those recorded
  with each value (:func:`cordtrial.trial.rules.labs.grade`: the site's reference range and the
  participant's baseline, the last value on or before the day of transplant); values on or
  before that day are the baseline and are not counted as abnormalities after transplant.
* **Adverse events by relatedness** (:func:`relatedness_table`, :func:`related_by_cause`): for
  each cause -- the cell product, the procedure, the immunosuppression -- events and
  participants by the investigator's causality category, serious apart from non-serious. Each
  cause is assessed on its own (ICH E2A II.A.2), so an event counts under every cause it may
  come from: rows do not add up across causes.

Counts only: with a handful of participants and no control group they describe what happened,
they do not estimate how often it happens (the section says so).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from cordtrial.analysis.immunosuppression import immunosuppression_tables
from cordtrial.analysis.report import ReportSection
from cordtrial.trial.rules.labs import ANALYTES, CTCAE_VERSION, TERMS, Term
from cordtrial.trial.rules.vocabulary import RELATED, RELATEDNESS_CAUSES, RELATEDNESS_ORDER, word

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cordtrial.analysis.store import TrialData

__all__ = [
    "CTCAE_GRADE_WORDS",
    "IMMUNOSUPPRESSION_TABLE_PROVIDERS",
    "LAB_COLUMNS",
    "SECTION_TITLE",
    "lab_abnormality_listing",
    "lab_safety_section",
    "load_lab_results",
    "related_by_cause",
    "relatedness_table",
    "unit_words",
    "worst_grade_table",
]

SECTION_TITLE: Final = "Immunosuppression and laboratory safety"
#: The lab results frame (:attr:`TrialData.lab_results`): ``day`` counts days after the
#: participant's transplant date (none without one); ``value``, ``lln``, ``uln`` and
#: ``baseline`` are in the protocol's unit ``unit`` (UCUM); ``adverse_event`` names the event the
#: value was reported as (term and onset), empty if none.
LAB_COLUMNS: Final = (
    "participant", "collected_on", "day", "analyte", "value", "unit", "lln", "uln", "baseline",
    "ctcae_grade", "ctcae_term", "grade_basis", "adverse_event",
)  # fmt: skip
#: CTCAE v5.0's general meaning of each grade (NCI, CTCAE v5.0, 27 November 2017, "Grades";
#: shared/reference/ctcae-v5-labs.md).
CTCAE_GRADE_WORDS: Final = {
    1: "mild", 2: "moderate", 3: "severe", 4: "life-threatening", 5: "death",
}  # fmt: skip

Provider = Callable[["TrialData"], list[tuple[str, pd.DataFrame]]]
#: Tables of exposure to immunosuppression and trough levels, put first in the section: each
#: provider takes the trial's data and returns ``(caption, frame)`` pairs. A provider's table
#: with rows makes the section appear even without labs or related adverse events; tables
#: without rows are left out. The immunosuppression records' own tables (exposure, troughs
#: against the target: :func:`cordtrial.analysis.immunosuppression.immunosuppression_tables`)
#: are the first provider.
IMMUNOSUPPRESSION_TABLE_PROVIDERS: list[Provider] = [lambda data: immunosuppression_tables(data)]

#: UCUM codes as people read them (``10*9/L`` -> times ten to the ninth per litre, ``umol/L`` ->
#: micro sign); a code not listed prints as is.
_UNIT_WORDS: Final = {
    "10*9/L": "\u00d710⁹/L", "10*3/uL": "\u00d710³/µL", "10*3/mm3": "\u00d710³/mm³", "/uL": "/µL",
    "/mm3": "/mm³", "umol/L": "µmol/L", "ukat/L": "µkat/L", "meq/L": "mEq/L", "{INR}": "",
    "1": "",
}  # fmt: skip


def unit_words(unit: str) -> str:
    """A UCUM unit code as printed in a report (``umol/L`` -> ``µmol/L``; INR has none)."""
    return _UNIT_WORDS.get(unit, unit)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _quantity(value: float, unit: str) -> str:
    shown = unit_words(unit)
    return f"{_number(value)} {shown}".strip()


def _unit_in_words(text: str, unit: str) -> str:
    """The grading basis rules.labs wrote (``168 umol/L > 1.5 x ULN``) with its unit in words."""
    shown = unit_words(unit)
    return text.replace(f" {unit}", f" {shown}" if shown else "") if unit else text


def _basis(text: object, term: Term | None) -> str:
    """The limit a value crossed, without the term's source (the grade column names it)."""
    basis = str(text or "")
    return basis.removesuffix(f" ({term.source})") if term is not None else basis


def _grade_words(grade: int) -> str:
    return f"grade {grade} ({CTCAE_GRADE_WORDS.get(grade, 'not defined')})"


def _after(labs: pd.DataFrame) -> pd.DataFrame:
    """The values collected after the day of transplant (a known day above 0)."""
    if not len(labs):
        return labs
    days = pd.to_numeric(labs["day"], errors="coerce")
    return labs[days > 0]


def _top_grade(term: Term) -> int:
    return max(g for g, _ in (*term.absolute, *term.uln, *term.baseline))


def worst_grade_table(labs: pd.DataFrame) -> pd.DataFrame:
    """Per CTCAE v5.0 term with a value after the transplant: the participants tested, the
    participants by their worst grade after the transplant (1 to 4; ``n/a`` where v5.0 defines
    no such grade by value), those at grade 3 or higher, and those abnormal at baseline (their
    last value on or before the day of transplant graded 1 or higher by the term).

    Parameters
    ----------
    labs : DataFrame
        Columns of :data:`LAB_COLUMNS`.
    """
    after = _after(labs)
    before = labs[pd.to_numeric(labs["day"], errors="coerce") <= 0] if len(labs) else labs
    rows = []
    for term in TERMS.values():
        tested = after[after["analyte"] == term.analyte] if len(after) else after
        if not len(tested):
            continue
        graded = tested[(tested["ctcae_term"] == term.key) & (tested["ctcae_grade"] > 0)]
        worst = graded.groupby("participant")["ctcae_grade"].max()
        base = before[before["analyte"] == term.analyte] if len(before) else before
        last = (
            base.sort_values(["collected_on"], kind="stable").groupby("participant").tail(1)
            if len(base)
            else base
        )
        abnormal = (
            int(((last["ctcae_term"] == term.key) & (last["ctcae_grade"] > 0)).sum())
            if len(last)
            else 0
        )
        top = _top_grade(term)
        row: dict[str, Any] = {
            f"CTCAE v{CTCAE_VERSION} term": term.label,
            "participants tested after transplant": int(tested["participant"].nunique()),
        }
        for g in (1, 2, 3, 4):
            row[f"worst grade {g}"] = int((worst == g).sum()) if g <= top else "n/a"
        row["grade 3 or higher"] = int((worst >= 3).sum())
        row["abnormal at baseline"] = abnormal
        rows.append(row)
    columns = [
        f"CTCAE v{CTCAE_VERSION} term", "participants tested after transplant",
        "worst grade 1", "worst grade 2", "worst grade 3", "worst grade 4", "grade 3 or higher",
        "abnormal at baseline",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def lab_abnormality_listing(labs: pd.DataFrame, min_grade: int = 2) -> pd.DataFrame:
    """Every value after the transplant graded ``min_grade`` or higher, by participant and day:
    when it was collected (day after transplant and date), the analyte, the value with its unit
    and the site's reference range, the CTCAE term and grade, how it was graded, and the adverse
    event it was reported as."""
    after = _after(labs)
    hits = after[after["ctcae_grade"] >= min_grade] if len(after) else after
    rows = []
    for r in hits.sort_values(["participant", "collected_on"], kind="stable").to_dict("records"):
        unit = str(r["unit"])
        lln, uln = r.get("lln"), r.get("uln")
        low = float(lln) if isinstance(lln, int | float) and lln == lln else None
        high = float(uln) if isinstance(uln, int | float) and uln == uln else None
        if low is not None and high is not None:
            reference = f"{_number(low)}-{_quantity(high, unit)}"
        elif low is not None or high is not None:
            reference = f"≥ {_quantity(low, unit)}" if low is not None else (
                f"≤ {_quantity(high or 0.0, unit)}"
            )  # fmt: skip
        else:
            reference = "not recorded"
        term = TERMS.get(str(r.get("ctcae_term") or ""))
        collected = r["collected_on"]
        rows.append(
            {
                "participant": r["participant"],
                "collected": f"day {int(r['day'])} after transplant"
                + (f" ({collected.isoformat()})" if isinstance(collected, date) else ""),
                "analyte": ANALYTES[r["analyte"]].label
                if r["analyte"] in ANALYTES
                else str(r["analyte"]),
                "value": _quantity(float(r["value"]), unit),
                "reference range": reference,
                "CTCAE grade": (f"{term.label}, " if term else "")
                + _grade_words(int(r["ctcae_grade"])),
                "graded by": _unit_in_words(_basis(r.get("grade_basis"), term), unit),
                "reported as adverse event": str(r.get("adverse_event") or "") or "no",
            }
        )
    columns = ["participant", "collected", "analyte", "value", "reference range", "CTCAE grade",
               "graded by", "reported as adverse event"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _count(events: pd.DataFrame) -> tuple[int, int]:
    return len(events), int(events["participant"].nunique()) if len(events) else 0


def _cause(aes: pd.DataFrame, column: str) -> pd.Series:
    """The relatedness to one cause (not assessed -- empty -- in frames made without it)."""
    if column in aes.columns:
        return aes[column]
    return pd.Series([None] * len(aes), index=aes.index, dtype=object)


def relatedness_table(aes: pd.DataFrame) -> pd.DataFrame:
    """For each cause (cell product, procedure, immunosuppression) and each causality category
    (not related to definite; "not assessed" where none was recorded): adverse events and
    participants, all, serious (ICH E2A) and non-serious."""
    rows = []
    serious = aes["serious"].astype(bool) if len(aes) else pd.Series(dtype=bool)
    for column, cause in RELATEDNESS_CAUSES:
        values = _cause(aes, column).fillna("").astype(str)
        categories = list(RELATEDNESS_ORDER) + (
            ["not assessed"] if (~values.isin(RELATEDNESS_ORDER)).any() else []
        )
        for category in categories:
            mask = values == category if category in RELATEDNESS_ORDER else (
                ~values.isin(RELATEDNESS_ORDER)
            )  # fmt: skip
            n, p = _count(aes[mask])
            sn, sp = _count(aes[mask & serious])
            nn, np_ = _count(aes[mask & ~serious])
            rows.append([cause, word(category), n, p, sn, sp, nn, np_])
    columns = ["cause", "relatedness", "events", "participants", "serious: events",
               "serious: participants", "non-serious: events",
               "non-serious: participants"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def related_by_cause(aes: pd.DataFrame) -> pd.DataFrame:
    """Per cause: the adverse events with a reasonable possibility of being caused by it
    (possible, probable or definite; ICH E2A II.A.2) and their participants, serious and
    non-serious."""
    rows = []
    serious = aes["serious"].astype(bool) if len(aes) else pd.Series(dtype=bool)
    for column, cause in RELATEDNESS_CAUSES:
        mask = _cause(aes, column).isin(RELATED)
        n, p = _count(aes[mask])
        sn, sp = _count(aes[mask & serious])
        nn, np_ = _count(aes[mask & ~serious])
        rows.append([cause, n, p, sn, sp, nn, np_])
    columns = ["cause", "related events", "participants", "serious: events",
               "serious: participants", "non-serious: events",
               "non-serious: participants"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _baseline_rule() -> str:
    """The baseline rule as rules.labs applies it, in words, from its own term table."""
    replaced = [t.label for t in TERMS.values() if t.baseline and t.baseline_replaces]
    beside = [f"{t.label} ({t.note})" for t in TERMS.values()
              if t.baseline and not t.baseline_replaces and t.note]  # fmt: skip
    return (
        "Baseline is the participant's last value on or before the day of transplant; values "
        "on or before that day are baseline, not abnormalities after transplant. When the "
        "baseline is above the upper limit of normal, "
        + ", ".join(replaced)
        + " are graded by multiples of the baseline instead of the upper limit (CTCAE v5.0); "
        + "; ".join(beside)
        + ". 'Abnormal at baseline' counts participants whose baseline value was already graded "
        "1 or higher by the term."
    )


def lab_safety_section(data: TrialData) -> ReportSection | None:
    """The DSMB section "Immunosuppression and laboratory safety" (None when the trial has no
    laboratory result, no adverse event related to immunosuppression and no table from
    :data:`IMMUNOSUPPRESSION_TABLE_PROVIDERS`): see the module docstring."""
    labs: pd.DataFrame = getattr(data, "lab_results", pd.DataFrame(columns=list(LAB_COLUMNS)))
    aes = data.adverse_events
    provided = [
        (caption, frame)
        for provider in IMMUNOSUPPRESSION_TABLE_PROVIDERS
        for caption, frame in provider(data)
        if len(frame)
    ]
    immuno = aes[_cause(aes, "related_to_immunosuppression").isin(RELATED)]
    if not len(labs) and not len(immuno) and not any(len(f) for _, f in provided):
        return None
    section = ReportSection(SECTION_TITLE)
    section.tables += provided

    after = _after(labs)
    tested = int(after["participant"].nunique()) if len(after) else 0
    severe: set[str] = set()
    moderate: set[str] = set()
    if not len(labs):
        section.paragraphs.append("No laboratory result recorded.")
    else:
        section.paragraphs.append(
            f"Laboratory results: {len(labs)} values of {labs['participant'].nunique()} "
            f"participants, {len(after)} of them after transplant ({tested} participants). "
            f"Each value is graded by CTCAE v{CTCAE_VERSION} when it is entered, against the "
            "site's reference range and the participant's baseline; the tables count each "
            "participant once per term, at the worst grade after transplant. " + _baseline_rule()
        )
        grades = after["ctcae_grade"] if len(after) else pd.Series(dtype=int)
        moderate = set(after.loc[grades >= 2, "participant"]) if len(after) else set()
        severe = set(after.loc[grades >= 3, "participant"]) if len(after) else set()
        section.tables.append(
            ("Graded laboratory abnormalities after transplant: participants by worst grade "
             f"(CTCAE v{CTCAE_VERSION})", worst_grade_table(labs))
        )  # fmt: skip
        listing = lab_abnormality_listing(labs)
        if len(listing):
            section.tables.append(
                ("Laboratory values of grade 2 or higher after transplant", listing)
            )
        else:
            section.paragraphs.append(
                "No grade 2 or higher laboratory abnormality after transplant."
            )
    section.paragraphs.append(
        "Adverse events by relatedness: the investigator assesses each event against each cause "
        "on its own -- the cell product, the procedure, the immunosuppression -- so an event "
        "possibly due to two causes counts under both and the rows do not add up across "
        "causes. Related means possible, probable or definite (a reasonable possibility, "
        "ICH E2A II.A.2)."
    )
    section.tables.append(("Related adverse events, by cause", related_by_cause(aes)))
    section.tables.append(("Adverse events by relatedness to each cause", relatedness_table(aes)))
    people = len(data.participants)
    section.paragraphs.append(
        f"These are counts in {people} participant{'s' if people != 1 else ''}: with so few, "
        "they describe what happened and cannot estimate how often it happens; without a "
        "control group they cannot tell the drug's effect from the injury's or the cells'."
    )
    n_immuno, p_immuno = _count(immuno)
    serious_immuno = int(immuno["serious"].astype(bool).sum()) if len(immuno) else 0
    section.summary_line = (
        "Immunosuppression and laboratory safety: "
        + (
            f"{len(moderate)} of {tested} participants tested after transplant with a grade 2 "
            f"or higher laboratory abnormality, {len(severe)} grade 3 or higher"
            if tested
            else "no laboratory value after transplant"
            if len(labs)
            else "no laboratory result recorded"
        )
        + f"; {n_immuno} adverse event{'s' if n_immuno != 1 else ''} related to "
        f"immunosuppression in {p_immuno} participant{'s' if p_immuno != 1 else ''} "
        f"({serious_immuno} serious)."
    )
    return section


def load_lab_results(session: Session, participants: dict[int, tuple[str, date | None]]) -> (
    pd.DataFrame
):  # fmt: skip
    """The laboratory results of the given participants (id -> study id and transplant date)
    with the adverse event each was reported as, in one statement (:data:`LAB_COLUMNS`)."""
    from sqlalchemy import select

    from cordtrial.trial.models import AdverseEvent, LabResult

    if not participants:
        return pd.DataFrame(columns=list(LAB_COLUMNS))
    rows = []
    for lab, term, onset in session.execute(
        select(LabResult, AdverseEvent.term, AdverseEvent.onset_date)
        .outerjoin(AdverseEvent, AdverseEvent.id == LabResult.adverse_event_id)
        .where(LabResult.participant_id.in_(list(participants)))
        .order_by(LabResult.participant_id, LabResult.collected_on, LabResult.analyte,
                  LabResult.id)
    ):  # fmt: skip
        study_id, transplant = participants[lab.participant_id]
        rows.append(
            {"participant": study_id, "collected_on": lab.collected_on,
             "day": (lab.collected_on - transplant).days if transplant else None,
             "analyte": lab.analyte, "value": lab.value,
             "unit": ANALYTES[lab.analyte].unit if lab.analyte in ANALYTES else "",
             "lln": lab.lln, "uln": lab.uln, "baseline": lab.baseline,
             "ctcae_grade": lab.ctcae_grade, "ctcae_term": lab.ctcae_term,
             "grade_basis": lab.grade_basis,
             "adverse_event": f"{term} (onset {onset.isoformat()})" if term else ""}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(LAB_COLUMNS))
