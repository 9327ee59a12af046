"""Laboratory units (UCUM, converted by pint) and CTCAE v5.0 grades from values, each case cited
to its CTCAE v5.0 row (shared/reference/ctcae-v5-labs.md)."""

from __future__ import annotations

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.labs import ANALYTES, TERMS, convert, grade


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        ("neutrophils", 1500, "/mm3", 1.5),  # CTCAE: 1500/mm3 = 1.5 x 10e9/L
        ("neutrophils", 1500, "/uL", 1.5),
        ("platelets", 75, "10*3/uL", 75.0),  # 75,000/mm3 = 75.0 x 10e9/L
        ("haemoglobin", 10.0, "g/dL", 100.0),  # 10.0 g/dL = 100 g/L
        ("creatinine", 1.0, "mg/dL", 88.4),  # the clinical factor 88.4 umol/L per mg/dL
        ("bilirubin", 1.0, "mg/dL", 17.1),  # 17.1 umol/L per mg/dL
        ("magnesium", 1.2, "mg/dL", 0.494),  # CTCAE: <1.2 mg/dL ~ <0.5 mmol/L
        ("potassium", 4.2, "meq/L", 4.2),
        ("alt", 1.0, "ukat/L", 60.0),  # 1 ukat/L = 60 U/L
    ],
)
def test_ucum_units_convert_to_the_protocols_unit(
    analyte: str, value: float, unit: str, expected: float
) -> None:
    assert convert(analyte, value, unit) == pytest.approx(expected, rel=2e-3)


def test_haemoglobin_in_substance_matches_ctcaes_own_equivalence() -> None:
    """CTCAE v5.0 Anemia: 10.0 g/dL = 6.2 mmol/L; 8.0 g/dL = 4.9 mmol/L."""
    assert convert("haemoglobin", 6.2, "mmol/L") == pytest.approx(100.0, rel=0.01)
    assert convert("haemoglobin", 4.9, "mmol/L") == pytest.approx(80.0, rel=0.02)


@pytest.mark.parametrize(
    ("analyte", "unit", "message"),
    [
        ("neutrophils", "g/L", "unit: 'g/L' is another kind of unit"),
        ("creatinine", "meq/L", "unit: 'meq/L' is not allowed"),
        ("alt", "furlongs", "unit: 'furlongs' is not allowed"),
    ],
)
def test_a_unit_of_another_kind_is_refused_naming_the_allowed(
    analyte: str, unit: str, message: str
) -> None:
    with pytest.raises(InvalidValueError, match=message) as caught:
        convert(analyte, 1.0, unit)
    assert ANALYTES[analyte].unit in str(caught.value)


def test_an_unknown_analyte_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="analyte: 'sodium'"):
        grade("sodium", 140)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2.0, 0), (1.7, 1), (1.5, 1), (1.49, 2), (1.0, 2), (0.99, 3), (0.5, 3), (0.49, 4)],
)
def test_neutrophil_count_decreased(value: float, expected: int) -> None:
    """<LLN-1.5 (1); <1.5-1.0 (2); <1.0-0.5 (3); <0.5 x 10e9/L (4); a boundary value takes
    the milder grade."""
    assert grade("neutrophils", value, lln=1.8, uln=7.5).grade == expected


@pytest.mark.parametrize(
    ("analyte", "cuts"),
    [("wbc", (3.0, 2.0, 1.0)), ("lymphocytes", (0.8, 0.5, 0.2)), ("platelets", (75, 50, 25))],
)
def test_other_counts_decreased(analyte: str, cuts: tuple[float, float, float]) -> None:
    lln = cuts[0] * 1.3
    assert grade(analyte, lln, lln=lln).grade == 0
    assert grade(analyte, cuts[0], lln=lln).grade == 1
    for expected, cut in zip((2, 3, 4), cuts, strict=True):
        assert grade(analyte, cut * 0.999, lln=lln).grade == expected


def test_anemia_reaches_grade_3_at_most_from_a_value() -> None:
    """Hgb <LLN-100 g/L (1); <100-80 (2); <80 (3); grade 4 has no value in v5.0."""
    assert [grade("haemoglobin", v, lln=130).grade for v in (135, 120, 99, 79, 40)] == [
        0, 1, 2, 3, 3
    ]  # fmt: skip


def test_creatinine_takes_the_worse_of_uln_and_baseline_multiples() -> None:
    """>ULN-1.5 x ULN (1); >1.5-3.0 x baseline or x ULN (2); >3.0 x baseline or 3.0-6.0 x ULN
    (3); >6.0 x ULN (4)."""
    g = grade("creatinine", 95, uln=100, baseline=60)  # below the ULN, 1.58 x baseline
    assert (g.grade, g.term and g.term.key) == (2, "creatinine_increased")
    assert "x baseline (60)" in g.basis and "CTCAE v5.0" in g.basis
    assert grade("creatinine", 120, uln=100, baseline=100).grade == 1
    assert grade("creatinine", 190, uln=100).grade == 2
    assert grade("creatinine", 200, uln=100, baseline=60).grade == 3
    assert grade("creatinine", 320, uln=100).grade == 3
    assert grade("creatinine", 650, uln=100).grade == 4
    assert grade("creatinine", 150, uln=100).grade == 1  # 1.5 x ULN exactly: the milder


def test_alt_uses_uln_with_a_normal_baseline_and_the_baseline_with_an_abnormal_one() -> None:
    """ALT v5.0: >ULN-3.0 x ULN if baseline normal; 1.5-3.0 x baseline if abnormal; ..."""
    assert grade("alt", 120, uln=40, baseline=20).grade == 1
    assert grade("alt", 121, uln=40, baseline=20).grade == 2
    assert grade("alt", 799, uln=40, baseline=20).grade == 3
    assert grade("alt", 801, uln=40).grade == 4  # no baseline: ULN multiples, > 20 x ULN
    # baseline 60 > ULN 40: multiples of 60
    assert grade("alt", 89, uln=40, baseline=60).grade == 0
    assert grade("alt", 90, uln=40, baseline=60).grade == 1  # 1.5 x baseline, inclusive
    assert grade("alt", 181, uln=40, baseline=60).grade == 2
    assert grade("alt", 1201, uln=40, baseline=60).grade == 4


def test_bilirubin_alp_and_ggt_grade_1_from_an_abnormal_baseline() -> None:
    """Bilirubin >1.0-1.5 x baseline; ALP and GGT 2.0-2.5 x baseline (abnormal baseline)."""
    assert grade("bilirubin", 30, uln=21, baseline=30).grade == 0
    assert grade("bilirubin", 30.5, uln=21, baseline=30).grade == 1
    assert grade("alp", 259, uln=120, baseline=130).grade == 0
    assert grade("alp", 260, uln=120, baseline=130).grade == 1
    assert grade("ggt", 260, uln=60, baseline=130).grade == 1
    assert grade("ggt", 1300 * 2.01, uln=60, baseline=130).grade == 4  # > 20 x baseline


def test_potassium_is_graded_up_or_down() -> None:
    """Hyperkalemia >ULN-5.5 (1), >5.5-6.0 (2), >6.0-7.0 (3), >7.0 (4); hypokalemia <LLN-3.0
    (1; 2 if symptomatic with intervention), <3.0-2.5 (3), <2.5 (4) mmol/L."""
    assert [grade("potassium", v, lln=3.5, uln=5.1).grade for v in (4.0, 5.5, 5.6, 6.1, 7.1)] \
        == [0, 1, 2, 3, 4]  # fmt: skip
    low = grade("potassium", 3.2, lln=3.5, uln=5.1)
    assert (low.grade, low.term and low.term.key) == (1, "hypokalemia")
    assert "grade 2 if symptomatic" in low.basis
    assert grade("potassium", 3.2, lln=3.5, uln=5.1, symptomatic=True).grade == 2
    assert grade("potassium", 2.9, lln=3.5, uln=5.1).grade == 3
    assert grade("potassium", 2.4, lln=3.5, uln=5.1).grade == 4


def test_magnesium_inr_and_aptt() -> None:
    assert [grade("magnesium", v, lln=0.7).grade for v in (0.8, 0.6, 0.45, 0.35, 0.25)] == [
        0, 1, 2, 3, 4
    ]  # fmt: skip
    assert [grade("inr", v).grade for v in (1.2, 1.3, 1.6, 2.6)] == [0, 1, 2, 3]
    # on anticoagulation from a baseline of 2.0: multiples of it instead of the absolute limits
    assert grade("inr", 2.0, baseline=2.0, on_anticoagulation=True).grade == 0
    assert grade("inr", 2.2, baseline=2.0, on_anticoagulation=True).grade == 1
    assert grade("inr", 3.1, baseline=2.0, on_anticoagulation=True).grade == 2
    assert grade("inr", 5.1, baseline=2.0, on_anticoagulation=True).grade == 3
    assert grade("inr", 2.2, baseline=2.0).grade == 2  # not anticoagulated: absolute limits
    assert grade("aptt", 88, uln=35).grade == 3  # > 2.5 x ULN (87.5)


def test_every_term_cites_ctcae_v5_and_its_meddra_code() -> None:
    for term in TERMS.values():
        assert term.source.startswith("CTCAE v5.0: ") and str(term.meddra) in term.source
        assert term.analyte in ANALYTES


def test_a_value_converted_at_a_cut_point_keeps_its_grade() -> None:
    """1500/mm3 converts to 1.5 x 10e9/L (float 1.5000000000000002 unrounded): grade 1, not 2."""
    assert grade("neutrophils", convert("neutrophils", 1500, "/mm3"), lln=1.8).grade == 1
