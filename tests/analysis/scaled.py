"""A large trial for the tests of figures and reports at phase-3 scale, made from the synthetic
demo trial's frames: the demo's participants copied (new study ids, spread over ten sites)
until there are ``participants``, each with the demo participant's exams, measures and
administrations, and each adverse event repeated at later onsets, so that the events per
participant (about three) are those of the 500-participant trial of issue 17."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pandas as pd

#: Each demo adverse event is repeated with its onset moved by these days.
_AE_REPEATS = (0, 9, 23, 41, 60, 88, 120, 150, 200, 260)


def _copies(frame: pd.DataFrame, names: dict[str, list[str]]) -> pd.DataFrame:
    parts = []
    for original, copies in names.items():
        rows = frame[frame["participant"] == original]
        for new in copies:
            parts.append(rows.assign(participant=new))
    return pd.concat(parts, ignore_index=True) if parts else frame.iloc[0:0]


def scaled_trial(data: Any, participants: int, sites: int = 10) -> Any:
    """``data`` (a :class:`~cordtrial.analysis.store.TrialData`) grown to ``participants``."""
    originals = list(data.participants["participant"])
    names: dict[str, list[str]] = {p: [] for p in originals}
    for i in range(participants):
        names[originals[i % len(originals)]].append(f"P{i + 1:04d}")
    people = _copies(data.participants, names)
    people["site"] = [f"S{i % sites + 1:02d}" for i in range(len(people))]
    aes = _copies(data.adverse_events, names)
    repeated = []
    for k, shift in enumerate(_AE_REPEATS[: max(1, round(3 * participants / max(len(aes), 1)))]):
        moved = aes.copy()
        moved["onset_date"] = [d + timedelta(days=shift) for d in moved["onset_date"]]
        moved["onset_day"] = moved["onset_day"] + shift
        moved["term"] = moved["term"] + ("" if k == 0 else f" (episode {k + 1})")
        repeated.append(moved)
    return dataclasses.replace(
        data,
        participants=people.reset_index(drop=True),
        exams=_copies(data.exams, names),
        measures=_copies(data.measures, names),
        adverse_events=pd.concat(repeated, ignore_index=True),
        administrations=_copies(data.administrations, names),
        screened=participants,
    )
