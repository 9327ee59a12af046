"""Typed results of the classification steps: a set of possible values with a flag mark.

Where ``NT`` leaves a result open, a step reports every possible value (in worksheet order). Each
possible value carries ``starred``: it was reached only by relying on a value flagged as not due
to SCI (``*``/``**``), written with a trailing ``*`` on the worksheet (``C5*``). Rendering to the
worksheet's comma/star notation happens only at the edges (:func:`render`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Literal, NamedTuple, TypeVar

from cordtrial.isncsci.exam import Level

__all__ = [
    "Candidate",
    "Grade",
    "LevelValue",
    "Possible",
    "Step",
    "ZppValue",
    "level_of",
    "render",
]

T = TypeVar("T", covariant=True)

#: A level result: a level, or ``INT`` (intact: normal down to S4_5).
LevelValue = Level | Literal["INT"]
#: A zone of partial preservation: a level, or ``NA`` (not applicable).
ZppValue = Level | Literal["NA"]
#: An AIS grade.
Grade = Literal["A", "B", "C", "D", "E"]


@dataclass(frozen=True, slots=True)
class Candidate(Generic[T]):
    """One possible value of a result, and whether a flagged value decided it."""

    value: T
    starred: bool = False

    def __str__(self) -> str:
        return f"{self.value}{'*' if self.starred else ''}"


Possible = tuple[Candidate[T], ...]


def render(possible: Iterable[Candidate[object]]) -> str:
    """Worksheet notation: every possible value, comma-joined, ``*`` where flagged."""
    return ",".join(str(c) for c in possible)


def level_of(value: LevelValue) -> Level:
    """The level a level result stands for; ``INT`` counts as S4_5."""
    return Level.S4_5 if value == "INT" else value


class Step(NamedTuple):
    """The verdict of one step down the levels.

    ``proceed``: normal function may continue below; ``here``: the current level is a possible
    result; ``starred``: that possibility rests on a flagged value; ``relied``: from here on every
    result rests on a flagged value considered normal (``**``) or not normal (``NT*``).
    """

    proceed: bool
    here: bool
    starred: bool
    relied: bool
