"""Safety tables, listings and the stopping rule; expected counts worked by hand."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.safety import (
    DEFAULT_STOPPING_RULE,
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
        "related_to_cells": "possible" if related else "not_related",
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
    """At 2026-06-01 all three treated participants have been followed over 28 days."""
    status = evaluate_stopping_rule(AES, PEOPLE, as_of=date(2026, 6, 1))
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
    # P1 enters at its event (2026-01-20: 1 of 1), P2 at its event (2026-02-15: 2 of 2)
    assert list(status.history["treated and followed"]) == [1, 2]
    assert list(status.history["crossed"]) == [False, True]


def test_any_tumour_finding_crosses_the_rule():
    tumour = _ae("P3", "Graft overgrowth on MRI", "tumour_or_graft_overgrowth",
                 date(2026, 4, 1), 1)  # fmt: skip
    no_sepsis = AES[AES["term"] != "Sepsis"]
    aes = pd.concat([no_sepsis, pd.DataFrame([tumour])])
    assert stopping_rule_crossed(aes, PEOPLE)
    # without the hard stop, 1 counting participant of 3 stays under the boundary (2)
    assert not stopping_rule_crossed(aes, PEOPLE, StoppingRule(tumour_stops=False))


def test_untreated_participant_is_not_at_risk():
    status = evaluate_stopping_rule(AES.iloc[0:0], PEOPLE, as_of=date(2026, 6, 1))
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


# --- issue 13: the rule counts events of the cell product, among treated and followed ----------


def _cause_ae(pid, term, onset, *, cells="not_related", procedure="not_related",
              immuno="not_related", serious=True, category="infection"):  # fmt: skip
    related = any(r in {"possible", "probable", "definite"} for r in (cells, procedure, immuno))
    return {
        "participant": pid, "term": term, "category": category, "onset_date": onset,
        "ctcae_grade": 3, "serious": serious, "related": related,
        "related_to_cells": cells, "related_to_procedure": procedure,
        "related_to_immunosuppression": immuno, "special_interest": category != "other",
    }  # fmt: skip


TREATED = pd.DataFrame(
    {
        "participant": ["P1", "P2", "P3"],
        "treated_on": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
    }
)


def test_immunosuppression_related_event_does_not_count_toward_the_cell_rule():
    """A serious pneumonia related to tacrolimus only is not an event of the cell product."""
    aes = pd.DataFrame([_cause_ae("P1", "Pneumonia", date(2026, 1, 20), immuno="probable")])
    status = evaluate_stopping_rule(aes, TREATED, as_of=date(2026, 6, 1))
    assert status.counting == 0
    assert list(status.counted["term"]) == []
    assert "not related to the cells" in status.not_counted.iloc[0]["reason"]


def test_the_rule_lists_the_events_it_counted():
    aes = pd.DataFrame(
        [
            _cause_ae("P1", "Syrinx enlargement", date(2026, 1, 20), cells="possible",
                      category="syrinx"),
            _cause_ae("P2", "Pneumonia", date(2026, 2, 20), immuno="probable"),
        ]
    )  # fmt: skip
    status = evaluate_stopping_rule(aes, TREATED, as_of=date(2026, 6, 1))
    assert list(status.counted["participant"]) == ["P1"]
    assert list(status.counted["term"]) == ["Syrinx enlargement"]


def test_denominator_is_treated_and_followed_not_enrolled():
    """P3 treated 10 days before the data cut has not been followed for the rule's 28 days;
    P4 is enrolled but not treated: 2 treated and followed."""
    people = pd.concat(
        [TREATED, pd.DataFrame({"participant": ["P4"], "treated_on": [None]})],
        ignore_index=True,
    )
    status = evaluate_stopping_rule(pd.DataFrame([_cause_ae("P1", "x", date(2026, 1, 2),
                                                            serious=False)]),
                                    people, as_of=date(2026, 3, 11))  # fmt: skip
    assert status.treated == 2


def test_event_dated_before_treatment_is_not_counted_and_does_not_crash():
    """Issue 13: an onset before the first administration gave k > n and an error."""
    aes = pd.DataFrame([_cause_ae("P2", "Wound infection", date(2026, 1, 15), cells="possible")])
    status = evaluate_stopping_rule(aes, TREATED, as_of=date(2026, 6, 1))
    assert status.counting == 0
    assert "before treatment" in status.not_counted.iloc[0]["reason"]


def test_boundary_table_omits_rows_that_cannot_be_crossed():
    """With one participant treated the default rule needs 2 counting participants: no row."""
    table = DEFAULT_STOPPING_RULE.boundary_table(6)
    assert all(table["counting participants that stop"] <= table["treated and followed"])
    assert 1 not in set(table["treated and followed"])


def test_message_never_rounds_a_probability_onto_its_threshold():
    """0.797 beside "threshold 80%" and "not crossed" must not read "0.80"."""
    from cordtrial.analysis.safety import StoppingRuleStatus

    status = StoppingRuleStatus(
        crossed=False, treated=3, counting=1, tumour=False, posterior=0.797, crossed_on=None,
        history=pd.DataFrame(), rule=DEFAULT_STOPPING_RULE,
    )  # fmt: skip
    assert "0.80 " not in status.message and "0.797" in status.message


def _oc_by_enumeration(rule: StoppingRule, n_max: int, rate: float) -> tuple[float, float]:
    """First principles: every one of the 2^n_max sequences of counting / not counting
    participants, the rule checked after each; P(stop) and the expected number treated."""
    import itertools

    bound = rule.boundary(n_max)
    stop = expected = 0.0
    for seq in itertools.product((0, 1), repeat=n_max):
        prob = math.prod(rate if x else 1 - rate for x in seq)
        k = 0
        for n, x in enumerate(seq, start=1):
            k += x
            if k >= bound[n]:
                stop += prob
                expected += prob * n
                break
        else:
            expected += prob * n_max
    return stop, expected


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_operating_characteristics_equal_brute_force_enumeration(rate: float):
    rule = StoppingRule()
    oc = rule.operating_characteristics(10, [rate]).iloc[0]
    stop, expected = _oc_by_enumeration(rule, 10, rate)
    assert oc["P(stop)"] == pytest.approx(stop, abs=1e-12)
    assert oc["expected number treated"] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_operating_characteristics_agree_with_the_simulator(rate: float):
    """The Monte Carlo simulator (cordtrial.analysis.simulation, 200,000 trials, the rule
    checked after every participant) agrees with the exact P(stop) within 4 standard errors."""
    import warnings as _w

    from cordtrial.analysis.simulation import SimulationDesign, simulate

    design = SimulationDesign(n_max=12, null_rate=0.2, treated_rate=0.3, safety_rate=rate,
                              futility_threshold=0.0)  # fmt: skip
    with _w.catch_warnings():
        _w.simplefilter("ignore")
        result = simulate(design, trials=200_000, seed=7)
    exact = DEFAULT_STOPPING_RULE.operating_characteristics(12, [rate]).iloc[0]["P(stop)"]
    se = math.sqrt(exact * (1 - exact) / 200_000)
    assert abs(result.alternative.stop_safety - exact) < 4 * se
