"""Laboratory values: units and CTCAE v5.0 grades (issue 15).

Units are UCUM codes (Unified Code for Units of Measure, Regenstrief; https://ucum.org): the
codes a lab system sends (``10*9/L``, ``g/dL``, ``umol/L``, ``U/L``). :data:`UCUM_UNITS` reads
each code as a factor and a unit of the pint library, which converts; a value is converted to
the protocol's unit of its analyte, and a unit of another kind (``g/L`` for a cell count) is
refused with the units that are allowed. Between mass and amount of substance the analyte's
molar mass converts (:data:`ANALYTES`, each cited).

Grades follow the Common Terminology Criteria for Adverse Events v5.0 (NCI, 27 November 2017),
Investigations and Metabolism SOCs, as parsed from NCI's ``CTCAE_v5.0.xlsx`` in
``shared/reference/ctcae-v5-labs.md`` (each row there confirmed against the workbook and two
independent transcriptions). v6.0 differs; these grades are keyed to v5.0 (:data:`CTCAE_VERSION`).
Where CTCAE leaves a choice, the rule taken is stated in :data:`TERMS` and below:

* A boundary value belongs to the milder grade: a "decreased" term's grade n needs the value
  strictly below grade n's cut-point, an "increased" term's strictly above (the reading of
  pharmaverse ``admiral``'s v5.0 grading). Values and cut-points are compared at 10 significant
  digits, so a unit conversion's rounding never moves a grade.
* Creatinine increased grades 2 and 3 are met by either their ULN multiple or their baseline
  multiple; the worse grade is taken (admiral).
* ALT, AST, bilirubin, ALP and GGT use ULN multiples when the baseline is normal and baseline
  multiples when it is above the ULN (CTCAE v5.0's split). Grade 1 from an abnormal baseline
  starts at 1.5 x baseline (ALT, AST; inclusive), above 1.0 x baseline (bilirubin) and at
  2.0 x baseline (ALP, GGT; inclusive, as the text "2.0 - 2.5 x baseline" reads).
* Hypokalemia grades 1 and 2 share a range; grade 2 needs symptoms and an intervention. A value
  alone grades 1 and says so; with ``symptomatic=True`` it grades 2.
* INR: absolute limits; for a participant on anticoagulation with a baseline, multiples of the
  baseline instead, as the text's "if on anticoagulation" reads (admiral, which cannot know,
  assumes anticoagulation and applies both).
* Anemia grade 4 has no haemoglobin limit in v5.0: a value grades at most 3. Hyperglycemia and
  hypophosphatemia are graded by clinical management in v5.0, not by a value: they are not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Final, Literal

from cordtrial.trial.errors import InvalidValueError

if TYPE_CHECKING:
    import pint

__all__ = [
    "ANALYTES",
    "CTCAE_VERSION",
    "TERMS",
    "UCUM_UNITS",
    "Analyte",
    "LabGrade",
    "Term",
    "compatible_units",
    "convert",
    "grade",
]

CTCAE_VERSION: Final = "5.0"


@dataclass(frozen=True, slots=True)
class Analyte:
    """A measured quantity: its name, the protocol's unit (UCUM), and for mass <-> substance
    conversion its molar mass (g/mol) with the source of that figure."""

    code: str
    label: str
    unit: str
    molar_mass: float | None = None
    molar_mass_source: str = ""


#: The analytes cordtrial records, in the protocol's units.
ANALYTES: Final[dict[str, Analyte]] = {
    a.code: a
    for a in (
        Analyte("neutrophils", "Neutrophil count", "10*9/L"),
        Analyte("wbc", "White blood cell count", "10*9/L"),
        Analyte("lymphocytes", "Lymphocyte count", "10*9/L"),
        Analyte("platelets", "Platelet count", "10*9/L"),
        # CTCAE's own equivalence (10.0 g/dL = 6.2 mmol/L) is haemoglobin's monomer, 16,114.5 g/mol
        # (one haem per globin chain; Van Kampen & Zijlstra, Clin Chim Acta 1961).
        Analyte("haemoglobin", "Haemoglobin", "g/L", 16_114.5, "Hb monomer (Fe), 16,114.5 g/mol"),
        Analyte("creatinine", "Creatinine", "umol/L", 113.12, "C4H7N3O, 113.12 g/mol"),
        Analyte("alt", "Alanine aminotransferase (ALT)", "U/L"),
        Analyte("ast", "Aspartate aminotransferase (AST)", "U/L"),
        Analyte("bilirubin", "Total bilirubin", "umol/L", 584.66, "C33H36N4O6, 584.66 g/mol"),
        Analyte("alp", "Alkaline phosphatase (ALP)", "U/L"),
        Analyte("ggt", "Gamma-glutamyl transferase (GGT)", "U/L"),
        Analyte("potassium", "Potassium", "mmol/L", 39.098, "K, 39.098 g/mol (IUPAC 2021)"),
        Analyte("magnesium", "Magnesium", "mmol/L", 24.305, "Mg, 24.305 g/mol (IUPAC 2021)"),
        Analyte("inr", "INR", "{INR}"),
        Analyte("aptt", "Activated partial thromboplastin time", "s"),
    )
}

#: UCUM codes as a factor and a pint unit. ``{INR}`` is UCUM's annotation of a dimensionless
#: ratio; ``/mm3`` is the CTCAE's cells per cubic millimetre (= per microlitre).
UCUM_UNITS: Final[dict[str, tuple[float, str]]] = {
    "10*9/L": (1e9, "1/L"),
    "10*3/uL": (1e3, "1/uL"),
    "10*3/mm3": (1e3, "1/mm**3"),
    "/uL": (1.0, "1/uL"),
    "/mm3": (1.0, "1/mm**3"),
    "g/L": (1.0, "g/L"),
    "g/dL": (1.0, "g/dL"),
    "mg/dL": (1.0, "mg/dL"),
    "mg/L": (1.0, "mg/L"),
    "umol/L": (1.0, "umol/L"),
    "mmol/L": (1.0, "mmol/L"),
    "meq/L": (1.0, "mmol/L"),  # a monovalent ion (K+): 1 mEq = 1 mmol
    "U/L": (1.0, "U/L"),
    "ukat/L": (1.0, "ukat/L"),
    "s": (1.0, "s"),
    "{INR}": (1.0, "dimensionless"),
    "1": (1.0, "dimensionless"),
}
_MEQ_ANALYTES: Final = frozenset({"potassium"})


@cache
def _registry() -> pint.UnitRegistry[float]:
    import pint  # imported when a value is converted: the CLI's --help stays fast

    return pint.UnitRegistry()


def _signif(value: float, digits: int = 10) -> Decimal:
    return Decimal(f"{value:.{digits - 1}e}")


def convert(analyte: str, value: float, unit: str) -> float:
    """``value`` in ``unit`` (a UCUM code) expressed in the protocol's unit of ``analyte``.

    Raises
    ------
    InvalidValueError
        An unknown analyte or unit, or a unit of another kind than the analyte's (a mass
        concentration for a cell count); the message names the units allowed.
    """
    found = ANALYTES.get(analyte)
    if found is None:
        raise InvalidValueError("analyte", analyte, "one of " + ", ".join(sorted(ANALYTES)))
    allowed = ", ".join(_accepted(analyte))
    if unit not in UCUM_UNITS or (unit == "meq/L" and analyte not in _MEQ_ANALYTES):
        raise InvalidValueError("unit", unit, f"a UCUM unit of {found.label}: {allowed}")
    if unit == found.unit:
        return float(_signif(float(value)))
    registry = _registry()
    factor, expression = UCUM_UNITS[unit]
    to_factor, to_expression = UCUM_UNITS[found.unit]
    quantity = registry.Quantity(value * factor / to_factor, expression)
    target = registry.Unit(to_expression)
    try:
        if quantity.is_compatible_with(target):
            result = quantity.to(target).magnitude
        elif found.molar_mass is not None:
            molar_mass = registry.Quantity(found.molar_mass, "g/mol")
            moved = quantity / molar_mass if quantity.check("[mass]/[length]**3") else (
                quantity * molar_mass
            )  # fmt: skip
            result = moved.to(target).magnitude
        else:
            raise InvalidValueError(
                "unit", unit, f"a UCUM unit of {found.label}: {allowed}", "is another kind of unit"
            )
    except InvalidValueError:
        raise
    except Exception as exc:  # pint's DimensionalityError: a unit of another kind
        raise InvalidValueError(
            "unit", unit, f"a UCUM unit of {found.label}: {allowed}", "is another kind of unit"
        ) from exc
    return float(_signif(float(result)))


def compatible_units(analyte: str) -> list[str]:
    """The UCUM codes accepted for ``analyte`` (converted to its protocol unit)."""
    return list(_accepted(analyte))


@cache
def _accepted(analyte: str) -> tuple[str, ...]:
    """The units of :func:`compatible_units`, worked out once per analyte (pint parses slowly)."""
    return tuple(_compatible(ANALYTES[analyte]))


def _compatible(analyte: Analyte) -> list[str]:
    registry = _registry()
    _, target = UCUM_UNITS[analyte.unit]
    out = []
    for code, (_, expression) in UCUM_UNITS.items():
        unit = registry.Unit(expression)
        if code == "meq/L" and analyte.code not in _MEQ_ANALYTES:
            continue
        same = unit.is_compatible_with(target)
        molar = analyte.molar_mass is not None and (
            (unit / registry.Unit("g/mol")).is_compatible_with(target)
            or (unit * registry.Unit("g/mol")).is_compatible_with(target)
        )
        if same or molar:
            out.append(code)
    return out


Direction = Literal["decreased", "increased"]


@dataclass(frozen=True, slots=True)
class Term:
    """A CTCAE v5.0 term graded from a value: cut-points per grade (1 to 4), as absolute values
    in the analyte's protocol unit, as multiples of the ULN, or of the baseline."""

    key: str
    label: str
    meddra: int
    analyte: str
    direction: Direction
    #: grade -> absolute cut-point; ``"LLN"``/``"ULN"`` for the reference limit.
    absolute: tuple[tuple[int, float | str], ...] = ()
    #: grade -> multiple of the ULN (increased terms).
    uln: tuple[tuple[int, float], ...] = ()
    #: grade -> multiple of the baseline, used when the baseline is above the ULN (or, for
    #: creatinine and INR, beside the ULN/absolute limits).
    baseline: tuple[tuple[int, float], ...] = ()
    #: Grade 1 from an abnormal baseline is inclusive (>=) rather than strict.
    baseline_g1_inclusive: bool = False
    #: Baseline multiples apply only when the baseline is above the ULN (ALT, AST, ...); else
    #: they apply beside the other limits, the worse grade taken (creatinine, INR).
    baseline_replaces: bool = False
    note: str = ""

    @property
    def source(self) -> str:
        return f"CTCAE v{CTCAE_VERSION}: {self.label} (MedDRA {self.meddra})"


def _liver(key: str, label: str, meddra: int, analyte: str, g1: float, inclusive: bool,
           multiples: tuple[float, float, float, float]) -> Term:  # fmt: skip
    _, two, three, four = multiples
    return Term(
        key, label, meddra, analyte, "increased",
        uln=((1, 1.0), (2, two), (3, three), (4, four)),
        baseline=((1, g1), (2, two), (3, three), (4, four)),
        baseline_g1_inclusive=inclusive, baseline_replaces=True,
        note=f"baseline above the ULN: multiples of the baseline, grade 1 from {g1} x baseline",
    )  # fmt: skip


#: The CTCAE v5.0 terms graded from a value (shared/reference/ctcae-v5-labs.md).
TERMS: Final[dict[str, Term]] = {
    t.key: t
    for t in (
        Term("neutrophil_count_decreased", "Neutrophil count decreased", 10029366,
             "neutrophils", "decreased", absolute=((1, "LLN"), (2, 1.5), (3, 1.0), (4, 0.5))),
        Term("white_blood_cell_decreased", "White blood cell decreased", 10049182,
             "wbc", "decreased", absolute=((1, "LLN"), (2, 3.0), (3, 2.0), (4, 1.0))),
        Term("lymphocyte_count_decreased", "Lymphocyte count decreased", 10025256,
             "lymphocytes", "decreased", absolute=((1, "LLN"), (2, 0.8), (3, 0.5), (4, 0.2))),
        Term("platelet_count_decreased", "Platelet count decreased", 10035528,
             "platelets", "decreased", absolute=((1, "LLN"), (2, 75.0), (3, 50.0), (4, 25.0))),
        Term("anemia", "Anemia", 10002272, "haemoglobin", "decreased",
             absolute=((1, "LLN"), (2, 100.0), (3, 80.0)),
             note="grade 4 has no haemoglobin limit (life-threatening consequences)"),
        Term("creatinine_increased", "Creatinine increased", 10011368, "creatinine",
             "increased", uln=((1, 1.0), (2, 1.5), (3, 3.0), (4, 6.0)),
             baseline=((2, 1.5), (3, 3.0)),
             note="grades 2-3 by the ULN or the baseline multiple, the worse taken"),
        _liver("alanine_aminotransferase_increased", "Alanine aminotransferase increased",
               10001551, "alt", 1.5, True, (1.0, 3.0, 5.0, 20.0)),
        _liver("aspartate_aminotransferase_increased", "Aspartate aminotransferase increased",
               10003481, "ast", 1.5, True, (1.0, 3.0, 5.0, 20.0)),
        _liver("blood_bilirubin_increased", "Blood bilirubin increased", 10005364,
               "bilirubin", 1.0, False, (1.0, 1.5, 3.0, 10.0)),
        _liver("alkaline_phosphatase_increased", "Alkaline phosphatase increased", 10001675,
               "alp", 2.0, True, (1.0, 2.5, 5.0, 20.0)),
        _liver("ggt_increased", "GGT increased", 10056910, "ggt", 2.0, True,
               (1.0, 2.5, 5.0, 20.0)),
        Term("hyperkalemia", "Hyperkalemia", 10020647, "potassium", "increased",
             absolute=((1, "ULN"), (2, 5.5), (3, 6.0), (4, 7.0))),
        Term("hypokalemia", "Hypokalemia", 10021018, "potassium", "decreased",
             absolute=((1, "LLN"), (3, 3.0), (4, 2.5)),
             note="grade 2 (same range as grade 1) needs symptoms and an intervention"),
        Term("hypomagnesemia", "Hypomagnesemia", 10021028, "magnesium", "decreased",
             absolute=((1, "LLN"), (2, 0.5), (3, 0.4), (4, 0.3))),
        Term("inr_increased", "INR increased", 10022402, "inr", "increased",
             absolute=((1, 1.2), (2, 1.5), (3, 2.5)), baseline=((1, 1.0), (2, 1.5), (3, 2.5)),
             note="on anticoagulation: multiples of the baseline instead"),
        Term("aptt_prolonged", "Activated partial thromboplastin time prolonged", 10000636,
             "aptt", "increased", uln=((1, 1.0), (2, 1.5), (3, 2.5))),
    )
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabGrade:
    """A value's CTCAE grade (0: within the limits, or not graded by this term) and why."""

    term: Term | None
    grade: int
    basis: str

    @property
    def label(self) -> str:
        if self.term is None or self.grade == 0:
            return "not graded (within the CTCAE limits)"
        return f"{self.term.label}, grade {self.grade}"


def _beyond(value: Decimal, limit: Decimal, direction: Direction, inclusive: bool = False) -> bool:
    if direction == "decreased":
        return value < limit or (inclusive and value == limit)
    return value > limit or (inclusive and value == limit)


def _number(x: float) -> str:
    return f"{x:g}"


def _grade_term(
    term: Term,
    value: float,
    *,
    lln: float | None,
    uln: float | None,
    baseline: float | None,
    on_anticoagulation: bool,
    symptomatic: bool | None,
) -> tuple[int, str]:
    v = _signif(value)
    unit = ANALYTES[term.analyte].unit
    found, why = 0, ""
    anticoagulated = term.analyte == "inr" and on_anticoagulation and baseline is not None
    for g, cut in () if anticoagulated else term.absolute:
        limit_value = {"LLN": lln, "ULN": uln}.get(cut, cut) if isinstance(cut, str) else cut
        if limit_value is None:
            continue  # no reference limit given: that grade cannot be decided from the value
        if _beyond(v, _signif(float(limit_value)), term.direction) and g > found:
            sign = "<" if term.direction == "decreased" else ">"
            name = f"{cut} {_number(float(limit_value))}" if isinstance(cut, str) else ""
            found, why = g, f"{_number(value)} {unit} {sign} {name or _number(float(cut))}"
    uses_baseline = baseline is not None and term.baseline and (
        (term.baseline_replaces and uln is not None and baseline > uln)
        or (not term.baseline_replaces and term.analyte != "inr")
        or (term.analyte == "inr" and on_anticoagulation)
    )  # fmt: skip
    if term.uln and uln is not None and not (uses_baseline and term.baseline_replaces):
        for g, multiple in term.uln:
            if _beyond(v, _signif(multiple * uln), "increased") and g > found:
                why = f"{_number(value)} {unit} > {_number(multiple)} x ULN ({_number(uln)})"
                found = g
    if uses_baseline and baseline is not None:
        for g, multiple in term.baseline:
            inclusive = g == 1 and term.baseline_g1_inclusive
            if _beyond(v, _signif(multiple * baseline), "increased", inclusive) and g > found:
                sign = ">=" if inclusive else ">"
                found, why = (
                    g,
                    (
                        f"{_number(value)} {unit} {sign} {_number(multiple)} x baseline "
                        f"({_number(baseline)})"
                    ),
                )
    if term.key == "hypokalemia" and found == 1:
        if symptomatic:
            return 2, why + "; symptomatic, intervention indicated"
        return 1, why + "; grade 2 if symptomatic with intervention indicated"
    return found, why


def grade(
    analyte: str,
    value: float,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    on_anticoagulation: bool = False,
    symptomatic: bool | None = None,
) -> LabGrade:
    """The CTCAE v5.0 grade of ``value`` (in the protocol's unit of ``analyte``) with the site's
    reference limits ``lln``/``uln`` and the participant's ``baseline``: the worst of the
    analyte's terms (potassium: hyperkalemia or hypokalemia), with the limit it crossed."""
    if analyte not in ANALYTES:
        raise InvalidValueError("analyte", analyte, "one of " + ", ".join(sorted(ANALYTES)))
    best = LabGrade(None, 0, "")
    for term in TERMS.values():
        if term.analyte != analyte:
            continue
        g, why = _grade_term(
            term, value, lln=lln, uln=uln, baseline=baseline,
            on_anticoagulation=on_anticoagulation, symptomatic=symptomatic,
        )  # fmt: skip
        if g > best.grade:
            best = LabGrade(term, g, f"{why} ({term.source})")
    return best
