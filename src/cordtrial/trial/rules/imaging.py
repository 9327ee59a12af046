"""MRI surveillance of the graft: examinations, structured reads, central reading, schedule.

Sources (see ``shared/reference/mri-surveillance.md``):

* **BASIC score** (Brain and Spinal Injury Center score; Talbott et al., *J Neurosurg Spine*
  2015;23(4):495-504): the axial T2 pattern at the injury epicentre, 0 normal, 1 grey matter
  only, 2 some white matter, 3 all white matter in-plane, 4 grade 3 with haemorrhage. Derived
  in acute cervical injury: recorded only "where applicable" (optional). The haemorrhage flag is
  kept apart, so the "0-2 with haemorrhage go up one grade" convention (Radiopaedia, not
  confirmed in the paper) can be derived later; the one rule enforced is that grade 4 has
  haemorrhage.
* **Syrinx**: raw measurements are stored (present, cranio-caudal length in mm, change since
  the previous MRI); no numeric threshold is imposed (the sheet found no consensus source).
* **Tumour-relevant items**: a new mass, contrast enhancement and mass effect (FDA 2013 draft
  guidance on early-phase cell therapy trials: imaging for ectopic tissue). Two central reads
  that disagree on the overall impression or on one of these go to a third reader.
* A read whose impression is "suspicious for tumour", or that reports a new mass, opens an
  adverse event of special interest (tumour finding): :func:`opens_tumour_event`.

The surveillance schedule (:data:`DEFAULT_MRI_SCHEDULE`) is a protocol choice, not a published
one: the sheet found no SCI cell trial's MRI days (SCiStar's are unknown). It is the demo
protocol's: weeks 4, 12, 26 and 52, then yearly to year 5.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal, get_args

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import (
    check_choice,
    check_date,
    check_int,
    check_number,
    check_text,
)

__all__ = [
    "AGREEMENT_ITEMS",
    "BASIC_GRADES",
    "DEFAULT_MRI_SCHEDULE",
    "FINDING_MAX",
    "IMPRESSIONS",
    "READ_KINDS",
    "SYRINX_CHANGES",
    "TUMOUR_ITEMS",
    "Impression",
    "MriFacts",
    "MriTimePoint",
    "ReadFacts",
    "ReadKind",
    "SurveillanceStatus",
    "check_mri",
    "check_read",
    "check_study_instance_uid",
    "discordant_items",
    "opens_tumour_event",
    "surveillance_status",
]

Impression = Literal["stable", "changed", "suspicious_for_tumour"]
IMPRESSIONS: Final = get_args(Impression)
SyrinxChange = Literal["new", "larger", "unchanged", "smaller", "resolved"]
SYRINX_CHANGES: Final = get_args(SyrinxChange)
#: Who made a read: the site's radiologist, one of two blinded central readers, or the third
#: (adjudicating) central reader.
ReadKind = Literal["site", "central", "adjudication"]
READ_KINDS: Final = get_args(ReadKind)
#: BASIC grades (Talbott 2015), 0-4, in words.
BASIC_GRADES: Final = {
    0: "normal",
    1: "grey matter only",
    2: "some white matter",
    3: "all white matter in-plane",
    4: "all white matter with haemorrhage",
}
#: Items whose disagreement between the two central readers sends the MRI to adjudication,
#: beside the overall impression.
TUMOUR_ITEMS: Final = ("new_mass", "contrast_enhancement", "mass_effect")
#: The items inter-reader agreement (Cohen's kappa) is reported for, in this order.
AGREEMENT_ITEMS: Final = (
    "impression",
    "new_mass",
    "contrast_enhancement",
    "mass_effect",
    "syrinx_present",
    "haemorrhage",
    "cord_compression",
    "oedema",
    "basic_score",
)
FINDING_MAX: Final = 4000
#: The most sequences listed for one examination.
MAX_SEQUENCES: Final = 64
#: Clinical MRI field strengths in tesla (0.2 T open scanners to 11.7 T research magnets).
FIELD_STRENGTH_RANGE: Final = (0.1, 11.7)


@dataclass(frozen=True, slots=True)
class MriTimePoint:
    """A protocol MRI: its target day after transplant and its window in days."""

    name: str
    target_day: int
    window_minus: int
    window_plus: int


#: The demo protocol's MRI schedule (a protocol choice, see the module docstring).
DEFAULT_MRI_SCHEDULE: Final = (
    MriTimePoint("week 4", 28, 7, 7),
    MriTimePoint("week 12", 84, 14, 14),
    MriTimePoint("week 26", 182, 28, 28),
    MriTimePoint("week 52", 364, 28, 28),
    MriTimePoint("year 2", 728, 56, 56),
    MriTimePoint("year 3", 1092, 56, 56),
    MriTimePoint("year 4", 1456, 56, 56),
    MriTimePoint("year 5", 1820, 56, 56),
)

# DICOM PS3.5 9.1: a UID is at most 64 characters of digits and dots; each component is a
# number without leading zeros (except the single digit 0).
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+")


def check_study_instance_uid(value: object) -> str:
    """A DICOM Study Instance UID (0020,000D): digits and dots, at most 64 characters, no
    component with a leading zero (DICOM PS3.5 section 9.1)."""
    allowed = "a DICOM UID: numbers separated by dots, at most 64 characters (e.g. 1.2.840.1)"
    text = check_text("study_instance_uid", value, max_length=64)
    if not _UID.fullmatch(text):
        raise InvalidValueError("study_instance_uid", value, allowed, "is not a DICOM UID")
    return text


@dataclass(frozen=True, slots=True)
class MriFacts:
    """An MRI examination as recorded (validated by :func:`check_mri`)."""

    acquired_on: date
    imaging_site: str
    field_strength_t: float
    sequences: tuple[str, ...]
    study_instance_uid: str | None = None


def check_mri(facts: MriFacts, *, transplant_date: date | None = None) -> MriFacts:
    """Check an examination: a date (not before the transplant, when there is one), the imaging
    site, a field strength in tesla, at least one sequence, an optional DICOM UID."""
    check_date("acquired_on", facts.acquired_on)
    if transplant_date is not None and facts.acquired_on < transplant_date:
        raise InvalidValueError(
            "acquired_on",
            facts.acquired_on,
            f"a date on or after the transplant ({transplant_date.isoformat()})",
            "is before the transplant",
        )
    site = check_text("imaging_site", facts.imaging_site)
    low, high = FIELD_STRENGTH_RANGE
    tesla = check_number("field_strength_t", facts.field_strength_t, low=low, high=high, unit="T")
    if isinstance(facts.sequences, str) or not facts.sequences:
        raise InvalidValueError(
            "sequences", facts.sequences, "a list of the sequences acquired (e.g. sagittal T2)"
        )
    if len(facts.sequences) > MAX_SEQUENCES:
        raise InvalidValueError(
            "sequences", len(facts.sequences), f"at most {MAX_SEQUENCES} sequences", "too many"
        )
    sequences = tuple(
        dict.fromkeys(check_text("sequences", s, max_length=64) for s in facts.sequences)
    )
    uid = (
        None
        if facts.study_instance_uid in (None, "")
        else check_study_instance_uid(facts.study_instance_uid)
    )
    return MriFacts(facts.acquired_on, site, tesla, sequences, uid)


@dataclass(frozen=True, slots=True)
class ReadFacts:
    """A structured read of one MRI (validated by :func:`check_read`). Lengths in mm, volumes
    in mm3; ``None`` where not measured."""

    impression: str
    new_mass: bool
    contrast_enhancement: bool
    mass_effect: bool
    haemorrhage: bool
    cord_compression: bool
    oedema: bool
    syrinx_present: bool
    syrinx_length_mm: float | None = None
    syrinx_change: str | None = None
    graft_length_mm: float | None = None
    graft_volume_mm3: float | None = None
    basic_score: int | None = None
    finding: str = ""


_YES_NO = (
    "new_mass",
    "contrast_enhancement",
    "mass_effect",
    "haemorrhage",
    "cord_compression",
    "oedema",
    "syrinx_present",
)


def check_read(facts: ReadFacts) -> ReadFacts:
    """Check a read field by field, then together:

    * each yes/no item is a yes or a no;
    * a syrinx present has its length; its change since the last MRI is new, larger, unchanged
      or smaller; no syrinx has no length, and a change only of ``resolved``;
    * the BASIC score is 0-4 when given, and 4 only with haemorrhage (Talbott 2015);
    * a new mass is not a ``stable`` impression, and an impression of ``suspicious for tumour``
      describes the finding in words.
    """
    impression = check_choice("impression", facts.impression, IMPRESSIONS)
    for name in _YES_NO:
        if not isinstance(getattr(facts, name), bool):
            raise InvalidValueError(name, getattr(facts, name), "yes or no")
    length = _measure("syrinx_length_mm", facts.syrinx_length_mm, 2000)
    change = facts.syrinx_change
    if facts.syrinx_present:
        if length is None:
            raise InvalidValueError(
                "syrinx_length_mm", None, "the syrinx's cranio-caudal length in mm", "is missing"
            )
        if change is None:
            raise InvalidValueError(
                "syrinx_change", None, "new, larger, unchanged or smaller", "is missing"
            )
        check_choice("syrinx_change", change, ("new", "larger", "unchanged", "smaller"))
    else:
        if length is not None:
            raise InvalidValueError(
                "syrinx_length_mm", length, "no length when no syrinx is present", "is given"
            )
        if change not in (None, "resolved"):
            raise InvalidValueError(
                "syrinx_change", change, "none, or resolved, when no syrinx is present"
            )
    basic = None if facts.basic_score is None else check_int("basic_score", facts.basic_score, 0, 4)
    if basic == 4 and not facts.haemorrhage:
        raise InvalidValueError(
            "basic_score", 4, "4 only with haemorrhage (Talbott 2015: grade 3 plus haemorrhage)",
            "contradicts haemorrhage: no",
        )  # fmt: skip
    finding = check_text("finding", facts.finding, max_length=FINDING_MAX, required=False)
    if facts.new_mass and impression == "stable":
        raise InvalidValueError(
            "impression", impression, "changed or suspicious for tumour when there is a new mass",
            "contradicts new mass: yes",
        )  # fmt: skip
    if impression == "suspicious_for_tumour" and not finding:
        raise InvalidValueError(
            "finding", "", "a description of what is suspicious", "is required for a read "
            "suspicious for tumour",
        )  # fmt: skip
    return ReadFacts(
        impression=impression,
        new_mass=facts.new_mass,
        contrast_enhancement=facts.contrast_enhancement,
        mass_effect=facts.mass_effect,
        haemorrhage=facts.haemorrhage,
        cord_compression=facts.cord_compression,
        oedema=facts.oedema,
        syrinx_present=facts.syrinx_present,
        syrinx_length_mm=length,
        syrinx_change=change,
        graft_length_mm=_measure("graft_length_mm", facts.graft_length_mm, 2000),
        graft_volume_mm3=_measure("graft_volume_mm3", facts.graft_volume_mm3, 1_000_000),
        basic_score=basic,
        finding=finding,
    )


def _measure(field: str, value: object, high: float) -> float | None:
    if value is None:
        return None
    unit = "mm3" if field.endswith("mm3") else "mm"
    return check_number(field, value, low=0, high=high, unit=unit)


def discordant_items(first: ReadFacts, second: ReadFacts) -> list[str]:
    """The items on which two central reads disagree and that call for adjudication: the
    overall impression and the tumour-relevant items (:data:`TUMOUR_ITEMS`)."""
    return [
        name
        for name in ("impression", *TUMOUR_ITEMS)
        if getattr(first, name) != getattr(second, name)
    ]


def opens_tumour_event(facts: ReadFacts) -> bool:
    """Whether a locked read opens an adverse event of special interest (tumour finding): an
    impression of suspicious for tumour, or a new mass."""
    return facts.impression == "suspicious_for_tumour" or facts.new_mass


SurveillanceState = Literal["no transplant", "due", "overdue", "up to date", "complete"]


@dataclass(frozen=True, slots=True)
class SurveillanceStatus:
    """Where a participant's MRI surveillance stands: the last MRI, the next protocol MRI (its
    name, target date and window), and the state in words."""

    last_mri: date | None
    next_name: str | None
    next_due: date | None
    window_closes: date | None
    state: SurveillanceState

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def surveillance_status(
    transplant_date: date | None,
    mri_dates: Sequence[date],
    today: date,
    schedule: Sequence[MriTimePoint] = DEFAULT_MRI_SCHEDULE,
) -> SurveillanceStatus:
    """The surveillance state on ``today``.

    A protocol MRI is done when an MRI falls in its window. The next one due is the first not
    done whose window closes after the last MRI (time points already passed when the last MRI
    was taken are not asked for again); it is ``overdue`` once its window has closed, ``due``
    while its window is open, and the participant is ``up to date`` before the window opens.
    ``complete`` when every protocol MRI is done or passed.
    """
    last = max(mri_dates) if mri_dates else None
    if transplant_date is None:
        return SurveillanceStatus(last, None, None, None, "no transplant")
    for point in schedule:
        target = transplant_date + timedelta(days=point.target_day)
        opens = target - timedelta(days=point.window_minus)
        closes = target + timedelta(days=point.window_plus)
        if any(opens <= d <= closes for d in mri_dates):
            continue
        if last is not None and closes <= last:
            continue
        if closes < today:
            state: SurveillanceState = "overdue"
        elif opens <= today:
            state = "due"
        else:
            state = "up to date"
        return SurveillanceStatus(last, point.name, target, closes, state)
    return SurveillanceStatus(last, None, None, None, "complete")
