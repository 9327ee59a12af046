"""Randomization: stratified permuted blocks from a seed (Rosenberger & Lachin, *Randomization in
Clinical Trials*, 2nd ed., 2016, ch. 3 and 7).

Each stratum gets its own sequence of blocks; each block holds every arm in proportion to its
ratio, in a random order, and the size of each block is drawn from ``block_sizes`` (varying block
sizes make the end of a block harder to guess). The same seed always gives the same list
(Python's ``random.Random`` seeded with a string is stable across versions and platforms), so the
holder of the seed can regenerate and prove the list; the database stores the list, not the seed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_int, check_text

__all__ = [
    "Allocation",
    "generate_allocation_list",
    "seed_sha256",
    "stratum_key",
]


@dataclass(frozen=True, slots=True)
class Allocation:
    """One entry of an allocation list: stratum, position within it (from 1), block, arm."""

    stratum: str
    position: int
    block: int
    arm: str


def seed_sha256(seed: str) -> str:
    """The SHA-256 (hex) of a seed: stored in place of the seed itself."""
    return hashlib.sha256(seed.encode()).hexdigest()


def stratum_key(values: Mapping[str, str], factors: Sequence[str]) -> str:
    """The stratum of a participant: ``factor=value`` joined by ``|`` in the order of ``factors``
    (``"all"`` when the trial is not stratified)."""
    if not factors:
        return "all"
    missing = [f for f in factors if f not in values]
    if missing:
        raise InvalidValueError(
            "strata_factors", missing[0], "one of " + ", ".join(sorted(values)), "is unknown"
        )
    return "|".join(f"{f}={values[f]}" for f in factors)


def generate_allocation_list(
    seed: str,
    arms: Mapping[str, int],
    strata: Sequence[str],
    block_sizes: Sequence[int],
    per_stratum: int,
) -> list[Allocation]:
    """A stratified permuted-block allocation list.

    Parameters
    ----------
    seed : str
        The secret seed (at least 8 characters).
    arms : mapping of arm code to ratio
        E.g. ``{"cells": 1, "control": 1}``.
    strata : sequence of str
        Stratum keys (see :func:`stratum_key`).
    block_sizes : sequence of int
        Allowed block sizes, each a multiple of the sum of the ratios.
    per_stratum : int
        At least this many allocations per stratum (whole blocks, so possibly more).
    """
    check_text("seed", seed, max_length=200)
    if len(seed) < 8:
        raise InvalidValueError("seed", "(hidden)", "a secret of at least 8 characters", "is short")
    if not arms:
        raise InvalidValueError("arms", {}, "at least one arm with its ratio", "is empty")
    for code, ratio in arms.items():
        check_int(f"arms.{code}", ratio, 1, 20)
    unit = sum(arms.values())
    if not block_sizes:
        raise InvalidValueError("block_sizes", [], f"multiples of {unit}", "is empty")
    for size in block_sizes:
        if check_int("block_sizes", size, unit, 1000) % unit:
            raise InvalidValueError("block_sizes", size, f"a multiple of {unit} (sum of ratios)")
    if not strata or len(set(strata)) != len(strata):
        raise InvalidValueError("strata", list(strata), "distinct stratum keys", "is not usable")
    check_int("per_stratum", per_stratum, 1, 100_000)

    rng = random.Random(seed)
    allocations: list[Allocation] = []
    for stratum in strata:
        position = block = 0
        while position < per_stratum:
            block += 1
            size = rng.choice(sorted(block_sizes))
            content = [code for code, ratio in arms.items() for _ in range(ratio * size // unit)]
            rng.shuffle(content)
            for arm in content:
                position += 1
                allocations.append(Allocation(stratum, position, block, arm))
    return allocations
