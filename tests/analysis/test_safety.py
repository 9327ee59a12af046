"""Safety tables, listings and the stopping rule; expected counts worked by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.safety import (
    StoppingRule,
    ae_incidence,
    evaluate_stopping_rule,
    serious_listing,
    special_interest_listing,
    stopping_rule_crossed,
)

PEOPLE = pd.DataFrame(
    {
        "participant": ["P1", "P2", "P3", "P4"],
        "arm": ["cells"] * 4,
        "transplant_date": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), None],
    }
)


def _ae(pid, term, category, onset, grade, serious=False, related=False):
    return {
        "participant": pid, "term": term, "category": category, "onset_date": onset,
        "ctcae_grade": grade, "serious": serious, "related": related,
        "special_interest": category != "other",
    }  # fmt: skip


AES = pd.DataFrame(
    [
        _ae("P1", "UTI", "infection", date(2026, 1, 10), 2),
        _ae("P1", "Fever", "other", date(2026, 1, 12), 1),
        _ae("P1", "Sepsis", "infection", date(2026, 1, 20), 4, serious=True, related=True),
        _ae("P2", "Pain", "neuropathic_pain", date(2026, 2, 10), 2, related=True),
    ]
)


def test_incidence_by_category_counts_participants_once_and_every_event():
    table = ae_incidence(AES, PEOPLE).set_index("value")
    assert (table.loc["infection", "participants"], table.loc["infection", "events"]) == (1, 2)
    assert table.loc["any", "participants"] == 2
    assert table.loc["any", "percent"] == pytest.approx(50.0)
    assert table.loc["any", "events"] == 4


def test_incidence_by_grade_counts_each_participant_at_the_worst_grade():
    """P1 has grades 2, 1, 4 -> counted at 4 only; P2 at 2."""
    table = ae_incidence(AES, PEOPLE, by="ctcae_grade").set_index("value")
    assert table.loc[4, "participants"] == 1
    assert table.loc[2, "participants"] == 1  # P2 only; P1's grade-2 event counts as an event
    assert table.loc[2, "events"] == 2
    assert table.loc[1, "participants"] == 0


def test_listings_hold_the_serious_and_the_special_interest_events():
    assert list(serious_listing(AES)["term"]) == ["Sepsis"]
    assert list(special_interest_listing(AES)["term"]) == ["UTI", "Sepsis", "Pain"]


def test_stopping_boundary_equals_direct_beta_computation():
    """Source: scipy.stats.beta -- the fewest k with P(p > 0.2 | Beta(0.2 + k, 1.8 + n - k))
    > 0.8, for each n."""
    rule = StoppingRule()
    boundary = rule.boundary(20)
    for n in range(1, 21):
        ks = [k for k in range(n + 1) if stats.beta.sf(0.2, 0.2 + k, 1.8 + n - k) > 0.8]
        assert boundary[n] == (ks[0] if ks else n + 1)


@given(st.integers(1, 40), st.floats(0.05, 0.5), st.floats(0.5, 0.99))
@settings(max_examples=40, deadline=None)
def test_stopping_boundary_never_falls_as_participants_accrue(n_max, limit, threshold):
    """Invariant: more participants treated never need fewer events to stop."""
    boundary = StoppingRule(max_rate=limit, posterior_threshold=threshold).boundary(n_max)
    assert all(boundary[i] <= boundary[i + 1] for i in range(n_max))


def test_one_serious_related_event_in_three_treated_does_not_cross():
    status = evaluate_stopping_rule(AES, PEOPLE)
    assert (status.treated, status.counting, status.crossed) == (3, 1, False)
    assert status.posterior == pytest.approx(stats.beta.sf(0.2, 1.2, 3.8))
    assert not stopping_rule_crossed(AES, PEOPLE)


def test_two_serious_related_events_in_two_treated_cross_on_the_second_onset():
    """Boundary at n = 2 is 2 (see test above): crossed on P2's serious related onset."""
    aes = pd.concat([AES, pd.DataFrame([_ae("P2", "Myelitis", "neurological_worsening",
                                            date(2026, 2, 15), 3, True, True)])])  # fmt: skip
    status = evaluate_stopping_rule(aes, PEOPLE, as_of=date(2026, 2, 20))
    assert status.crossed and status.crossed_on == date(2026, 2, 15)
    assert "CROSSED" in status.message
    assert list(status.history["crossed"]) == [False, False, False, True]


def test_any_tumour_finding_crosses_the_rule():
    tumour = _ae("P3", "Graft overgrowth on MRI", "tumour_or_graft_overgrowth",
                 date(2026, 4, 1), 1)  # fmt: skip
    no_sepsis = AES[AES["term"] != "Sepsis"]
    aes = pd.concat([no_sepsis, pd.DataFrame([tumour])])
    assert stopping_rule_crossed(aes, PEOPLE)
    # without the hard stop, 1 counting participant of 3 stays under the boundary (2)
    assert not stopping_rule_crossed(aes, PEOPLE, StoppingRule(tumour_stops=False))


def test_untreated_participant_is_not_at_risk():
    status = evaluate_stopping_rule(AES.iloc[0:0], PEOPLE)
    assert status.treated == 3


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: ae_incidence(AES, PEOPLE, by="colour"), "by"),
        (lambda: ae_incidence(AES.drop(columns="serious"), PEOPLE), "adverse_events.columns"),
        (lambda: ae_incidence(AES, PEOPLE.iloc[1:]), "adverse_events.participant"),
        (lambda: StoppingRule(max_rate=1.5), "max_rate"),
        (lambda: evaluate_stopping_rule(AES, PEOPLE.drop(columns="transplant_date")),
         "participants.columns"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(call, field: str):
    with pytest.raises(AnalysisInputError) as info:
        call()
    assert info.value.field == field


def test_treated_on_is_preferred_to_the_planned_transplant_date():
    """A planned transplant date does not put a participant at risk; the administration does."""
    people = PEOPLE.assign(treated_on=[date(2026, 1, 1), None, None, None])
    assert evaluate_stopping_rule(AES, people).treated == 1
