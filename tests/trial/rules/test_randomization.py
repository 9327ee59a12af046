"""Stratified permuted blocks from a seed."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.randomization import (
    generate_allocation_list,
    seed_sha256,
    stratum_key,
)

ARMS = {"cells": 1, "control": 1}
STRATA = ["site=S01", "site=S02"]


def _arms(seed: str, **kwargs: object) -> list[str]:
    args: dict[str, object] = {
        "arms": ARMS, "strata": STRATA, "block_sizes": [2, 4], "per_stratum": 20, **kwargs,
    }  # fmt: skip
    return [a.arm for a in generate_allocation_list(seed, **args)]  # type: ignore[arg-type]


def test_same_seed_gives_the_same_list() -> None:
    assert _arms("secret-seed-1") == _arms("secret-seed-1")


def test_another_seed_gives_another_list() -> None:
    assert _arms("secret-seed-1") != _arms("secret-seed-2")


def test_known_list_is_stable_across_versions() -> None:
    """Pinned output: a change to the generator must not silently change what a seed means."""
    assert _arms("pinned-seed", strata=["all"], block_sizes=[4], per_stratum=8) == [
        "cells", "control", "control", "cells", "cells", "cells", "control", "control",
    ]  # fmt: skip


def test_every_block_is_balanced_by_ratio() -> None:
    allocations = generate_allocation_list("secret-seed", {"a": 2, "b": 1}, STRATA, [3, 6], 30)
    for _, block in groupby(allocations, key=lambda a: (a.stratum, a.block)):
        counts = Counter(a.arm for a in block)
        assert counts["a"] == 2 * counts["b"]


def test_each_stratum_has_its_own_numbered_sequence() -> None:
    allocations = generate_allocation_list("secret-seed", ARMS, STRATA, [2, 4], 10)
    for stratum in STRATA:
        positions = [a.position for a in allocations if a.stratum == stratum]
        assert positions == list(range(1, len(positions) + 1))
        assert len(positions) >= 10


def test_block_size_must_be_a_multiple_of_the_ratio_sum() -> None:
    with pytest.raises(InvalidValueError, match=r"block_sizes: 3 is not allowed \(a multiple of 2"):
        generate_allocation_list("secret-seed", ARMS, STRATA, [3], 10)


def test_short_seed_is_refused_without_showing_it() -> None:
    with pytest.raises(InvalidValueError, match=r"seed: '\(hidden\)'"):
        generate_allocation_list("short", ARMS, STRATA, [2], 10)


def test_seed_is_stored_only_as_its_hash() -> None:
    assert seed_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_stratum_key_joins_factors_in_order() -> None:
    values = {"site": "S01", "sex": "F", "injury_region": "cervical"}
    assert stratum_key(values, ["site", "injury_region"]) == "site=S01|injury_region=cervical"
    assert stratum_key(values, []) == "all"
    with pytest.raises(InvalidValueError, match="strata_factors: 'age'"):
        stratum_key(values, ["age"])
