"""Operating characteristics of the Bayesian safety stopping rule
(:class:`cordtrial.analysis.safety.StoppingRule`), computed exactly.

The rule is checked after every treated participant: it stops the trial when the count of
participants with a counting event reaches the rule's boundary at that number treated
(``StoppingRule.boundary``). As :class:`~cordtrial.analysis.designs.boundaries.StoppingBoundaries`
with an analysis after each participant, no futility bound and the boundary as the "stop" bound,
:func:`~cordtrial.analysis.designs.boundaries.operating_characteristics` gives, for each true
event rate, the probability that the rule stops the trial by ``n_max`` and the expected number
treated. Assumes each participant's events are known before the next is treated and the rate is
the same for all; the rule's "any tumour stops by itself" clause is not modelled (it only adds
stops).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from cordtrial.analysis.designs.boundaries import StoppingBoundaries, operating_characteristics
from cordtrial.analysis.safety import StoppingRule
from cordtrial.analysis.stats import check_count

__all__ = ["safety_rule_boundaries", "safety_rule_operating_characteristics"]


def safety_rule_boundaries(rule: StoppingRule, n_max: int) -> StoppingBoundaries:
    """The rule's boundary for 1 .. ``n_max`` treated, as stopping boundaries (the "active"
    bound is the stop)."""
    n_max = check_count("n_max", n_max, 1, 1000)
    bound = rule.boundary(n_max)
    looks = tuple(range(1, n_max + 1))
    return StoppingBoundaries(
        looks=looks,
        futility=tuple(-1 for _ in looks),
        efficacy=tuple(int(bound[n]) for n in looks),
    )


def safety_rule_operating_characteristics(
    rule: StoppingRule, n_max: int, rates: Iterable[float]
) -> pd.DataFrame:
    """For each true rate of counting events: P(the rule stops the trial by ``n_max``
    treated), P(it stops before the last participant) and the expected number treated."""
    oc = operating_characteristics(safety_rule_boundaries(rule, n_max), rates)
    return pd.DataFrame(
        {
            "true_rate": oc["true_rate"],
            "p_stop": oc["p_active"],
            "p_stop_early": oc["p_early_active"],
            "expected_treated": oc["expected_n"],
        }
    )
