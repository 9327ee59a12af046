"""The van Middendorp 2011 walking rule (Lancet 2011;377:1004-1010): points worked by hand."""

from __future__ import annotations

import pytest

from builders import lesion_flat, normal_flat
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.walking import DISCRIMINATION, walking_score
from cordtrial.isncsci import Level


def test_normal_exam_scores_40_and_minus_10_with_age():
    """Motor 5 -> 2 x 5 = 10 each at L3 and S1; light touch 2 -> 5 x 2 = 10 each: 40."""
    assert walking_score(normal_flat(), 40) == walking_score(normal_flat(), 64)
    assert (walking_score(normal_flat(), 40).low, walking_score(normal_flat(), 65).low) == (40, 30)


def test_complete_thoracic_injury_scores_zero_or_minus_ten():
    exam = lesion_flat(Level.T6)
    assert walking_score(exam, 30).high == 0
    assert walking_score(exam, 70).high == -10


def test_better_side_counts():
    """L3 motor 4 right / 1 left -> 8; S1 motor 0 -> 0; L3 LT 1 left -> 5; S1 LT 0: 13."""
    exam = lesion_flat(Level.T6)
    exam.update(r_l3_motor="4", l_l3_motor="1", l_l3_lt="1")
    assert walking_score(exam, 30).low == 13


def test_nt_cell_gives_a_range():
    exam = lesion_flat(Level.T6)
    exam.update(r_s1_lt="NT")
    score = walking_score(exam, 30)
    assert (score.low, score.high, score.determined) == (0, 10, False)


def test_published_discrimination():
    """Source: van Middendorp 2011 -- AUC 0.956 (0.936-0.976); validation 0.967 (0.939-0.995)."""
    assert DISCRIMINATION["derivation"]["auc"] == 0.956
    assert DISCRIMINATION["temporal_validation"]["ci"] == (0.939, 0.995)


@pytest.mark.parametrize(
    ("cells", "age", "field"),
    [({"r_l3_motor": "6"}, 30, "r_l3_motor"), ({}, 30, "r_l3_motor"), ({}, -1, "age")],
)
def test_bad_input_names_the_field(cells: dict[str, str], age: int, field: str):
    exam = {**normal_flat(), **cells} if cells else ({} if field != "age" else normal_flat())
    with pytest.raises(AnalysisInputError) as info:
        walking_score(exam, age)
    assert info.value.field == field


def test_no_probability_from_a_model_the_cited_paper_does_not_publish():
    """Issue 13: 0.125 * score - 1.763 is the Hicks 2017 recalibration (RHSCIR, FIM outcome),
    not van Middendorp 2011; the Lancet model could not be checked (walking-rule.md), so the
    probability is not offered at all."""
    import cordtrial.analysis.walking as walking

    assert not hasattr(walking, "walking_probability")


@pytest.mark.parametrize(("days", "applies"), [(0, True), (15, True), (16, False), (40, False)])
def test_rule_applies_only_to_exams_within_15_days_of_injury(days: int, applies: bool):
    """van Middendorp 2011 derived the rule on exams "within the first 15 days after injury"."""
    from cordtrial.analysis.walking import walking_rule_applies

    assert walking_rule_applies(days).applies is applies
    if not applies:
        assert "15 days" in walking_rule_applies(days).reason
