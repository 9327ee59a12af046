"""The Bayesian design's cache of quadrature nodes is bounded (issue 17, server memory): its key
is the standard prior, which people type on the design page, so an unbounded cache would keep
16 KiB for every distinct prior submitted for as long as the server runs."""

from __future__ import annotations

from cordtrial.analysis.designs import bayesian
from cordtrial.analysis.designs.bayesian import posterior_exceeds_standard


def test_quadrature_cache_keeps_a_bounded_number_of_priors() -> None:
    posterior_exceeds_standard([1], 4, (1.0, 1.0), (2.0, 3.0))
    info = bayesian._standard_quantiles.cache_info()
    assert info.maxsize is not None  # functools.cache: None, unbounded
    assert 1 <= info.currsize <= info.maxsize <= 64
