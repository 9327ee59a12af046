"""Functional outcome measures and their valid ranges.

* SCIM III -- Spinal Cord Independence Measure, version III (Catz et al., *Spinal Cord* 2007;
  45:275-291; Itzkovich et al., *Disabil Rehabil* 2007;29:1926-1933): self-care 0-20,
  respiration and sphincter management 0-40, mobility 0-40; total 0-100, their sum.
* WISCI II -- Walking Index for Spinal Cord Injury II (Ditunno et al., *Spinal Cord* 2001;
  39:654-656): levels 0 (unable to walk) to 20.
* 10-metre walk test -- time in seconds (> 0) over the middle 10 m, from a standing or a flying
  start (van Hedel et al., *Arch Phys Med Rehabil* 2005;86:190-196).
* 6-minute walk test -- distance in metres (>= 0), with the length of the track it was walked on
  (ATS statement, *Am J Respir Crit Care Med* 2002;166:111-117: a 30 m corridor).
"""

from __future__ import annotations

from dataclasses import dataclass

from cordtrial.trial.rules.checks import check_choice, check_int, check_number
from cordtrial.trial.rules.vocabulary import TEN_METRE_WALK_STARTS

__all__ = [
    "SCIM_RANGES",
    "WISCI_MAX",
    "Scim",
    "SixMinuteWalkResult",
    "TenMetreWalkResult",
    "check_wisci",
]

#: SCIM III subscale ranges (inclusive).
SCIM_RANGES: dict[str, tuple[int, int]] = {
    "self_care": (0, 20),
    "respiration_sphincter": (0, 40),
    "mobility": (0, 40),
}
WISCI_MAX = 20


@dataclass(frozen=True, slots=True)
class Scim:
    """A SCIM III assessment; ``total`` is the sum of the three subscales."""

    self_care: int
    respiration_sphincter: int
    mobility: int

    def __post_init__(self) -> None:
        for name, (low, high) in SCIM_RANGES.items():
            check_int(f"scim.{name}", getattr(self, name), low, high)

    @property
    def total(self) -> int:
        """SCIM III total, 0-100."""
        return self.self_care + self.respiration_sphincter + self.mobility


def check_wisci(level: object) -> int:
    """A WISCI II level, 0-20."""
    return check_int("wisci.level", level, 0, WISCI_MAX)


@dataclass(frozen=True, slots=True)
class TenMetreWalkResult:
    """A 10-metre walk: seconds (> 0) and start mode (standing or flying)."""

    seconds: float
    start_mode: str

    def __post_init__(self) -> None:
        check_number("ten_metre_walk.seconds", self.seconds, low=0, low_open=True, unit="s")
        check_choice("ten_metre_walk.start_mode", self.start_mode, TEN_METRE_WALK_STARTS)

    @property
    def speed_m_per_s(self) -> float:
        """Walking speed, metres per second."""
        return 10.0 / self.seconds


@dataclass(frozen=True, slots=True)
class SixMinuteWalkResult:
    """A 6-minute walk: metres (>= 0) on a track of ``track_length_m`` (> 0) metres."""

    metres: float
    track_length_m: float

    def __post_init__(self) -> None:
        check_number("six_minute_walk.metres", self.metres, low=0, unit="m")
        check_number(
            "six_minute_walk.track_length_m", self.track_length_m, low=0, low_open=True, unit="m"
        )
