"""Trial designs with their exact operating characteristics.

* :mod:`~cordtrial.analysis.designs.boundaries` -- stopping boundaries of a single-arm
  multi-stage design and their exact operating characteristics (every design below reduces to
  them);
* :mod:`~cordtrial.analysis.designs.simon` -- Simon (1989) two-stage, optimal and minimax;
* :mod:`~cordtrial.analysis.designs.fleming` -- Fleming (1982) multi-stage;
* :mod:`~cordtrial.analysis.designs.bayesian` -- Thall and Simon (1994) posterior monitoring and
  Lee and Liu (2008) predictive-probability monitoring;
* :mod:`~cordtrial.analysis.designs.safety_rule` -- the safety stopping rule's operating
  characteristics;
* :mod:`~cordtrial.analysis.designs.two_arm` -- two arms, Fisher's or Boschloo's exact test,
  exact power and sample size.

The single-stage exact design and the approximate two-arm sample sizes are in
:mod:`cordtrial.analysis.design`; the Monte Carlo cross-check in
:func:`cordtrial.analysis.simulation.simulate_boundaries`.
"""

from __future__ import annotations

from cordtrial.analysis.designs.bayesian import (
    LeeLiuDesign,
    ThallSimonDesign,
    lee_liu_design,
    lee_liu_search,
    posterior_exceeds_standard,
    predictive_probability,
    thall_simon_design,
)
from cordtrial.analysis.designs.boundaries import (
    StoppingBoundaries,
    operating_characteristics,
    rate_grid,
)
from cordtrial.analysis.designs.fleming import FlemingDesign, fleming_design, fleming_search
from cordtrial.analysis.designs.safety_rule import (
    safety_rule_boundaries,
    safety_rule_operating_characteristics,
)
from cordtrial.analysis.designs.simon import (
    SIMON_CONVENTION,
    SimonDesign,
    SimonDesigns,
    simon_design,
    simon_two_stage,
)
from cordtrial.analysis.designs.two_arm import (
    TwoArmDesign,
    exact_power,
    rejection_region,
    two_arm_exact_sample_size,
)

__all__ = [
    "SIMON_CONVENTION",
    "FlemingDesign",
    "LeeLiuDesign",
    "SimonDesign",
    "SimonDesigns",
    "StoppingBoundaries",
    "ThallSimonDesign",
    "TwoArmDesign",
    "exact_power",
    "fleming_design",
    "fleming_search",
    "lee_liu_design",
    "lee_liu_search",
    "operating_characteristics",
    "posterior_exceeds_standard",
    "predictive_probability",
    "rate_grid",
    "rejection_region",
    "safety_rule_boundaries",
    "safety_rule_operating_characteristics",
    "simon_design",
    "simon_two_stage",
    "thall_simon_design",
    "two_arm_exact_sample_size",
]
