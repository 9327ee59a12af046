"""Participant disposition for the reports: where each participant stands (active, completed
the main study, in long-term follow-up, withdrawn, lost to follow-up, died), read from the
store's disposition records (:mod:`cordtrial.trial.rules.follow_up`), with the facts a data
monitoring committee asks of each withdrawal, loss and death.

A participant with no disposition record is ``active``. The frames are the store's records as
they are (the current disposition is the latest change recorded); this module only counts them
and puts them in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import ContactAttempt, DispositionChange
from cordtrial.trial.rules.vocabulary import (
    CONTACT_METHODS,
    CONTACT_OUTCOMES,
    DISPOSITIONS,
)

__all__ = [
    "CONTACT_ATTEMPT_COLUMNS",
    "DISPOSITION_COLUMNS",
    "ENDS_FOLLOW_UP",
    "current_disposition_words",
    "disposition_counts",
    "disposition_listing",
    "follow_up_ends",
    "load_dispositions",
]

#: Columns of the current-disposition frame (one row per participant with a record).
DISPOSITION_COLUMNS: Final = (
    "participant", "status", "effective_on", "reason", "data_use_allowed", "recontact_allowed",
    "death_date", "death_cause", "autopsy_asked", "autopsy_done", "death_related_to_product",
)  # fmt: skip
#: Columns of the contact-attempt frame (every attempt, in date order).
CONTACT_ATTEMPT_COLUMNS: Final = ("participant", "attempted_on", "method", "outcome")
#: The dispositions that end a participant's follow-up, with the end reason in words: a death on
#: its date, a withdrawal or a loss to follow-up on the date it was recorded as effective.
ENDS_FOLLOW_UP: Final = {
    "died": "death",
    "withdrawn": "withdrawn",
    "lost_to_follow_up": "lost to follow-up",
}
#: The dispositions listed one by one for the committee.
_LISTED: Final = ("withdrawn", "lost_to_follow_up", "died")


def load_dispositions(session: Session, study_ids: Mapping[int, str]) -> dict[str, pd.DataFrame]:
    """The current disposition of each participant (``study_ids``: participant id -> study id)
    that has one, and every contact attempt; two queries however many participants.

    Returns
    -------
    dict
        ``dispositions`` (:data:`DISPOSITION_COLUMNS`) and ``contact_attempts``
        (:data:`CONTACT_ATTEMPT_COLUMNS`).
    """
    ids = list(study_ids)
    latest: dict[int, DispositionChange] = {}
    attempts: list[dict[str, Any]] = []
    if ids:
        for change in session.scalars(
            select(DispositionChange)
            .where(DispositionChange.participant_id.in_(ids))
            .order_by(DispositionChange.participant_id, DispositionChange.id)
        ):
            latest[change.participant_id] = change
        for attempt in session.scalars(
            select(ContactAttempt)
            .where(ContactAttempt.participant_id.in_(ids))
            .order_by(ContactAttempt.participant_id, ContactAttempt.attempted_on, ContactAttempt.id)
        ):
            attempts.append(
                {"participant": study_ids[attempt.participant_id],
                 "attempted_on": attempt.attempted_on, "method": attempt.method,
                 "outcome": attempt.outcome}
            )  # fmt: skip
    rows = [
        {"participant": study_ids[pid], **{c: getattr(change, c) for c in DISPOSITION_COLUMNS[1:]}}
        for pid, change in sorted(latest.items(), key=lambda t: study_ids[t[0]])
    ]
    return {
        "dispositions": pd.DataFrame(rows, columns=list(DISPOSITION_COLUMNS)),
        "contact_attempts": pd.DataFrame(attempts, columns=list(CONTACT_ATTEMPT_COLUMNS)),
    }


def _current(participants: pd.DataFrame, dispositions: pd.DataFrame) -> dict[str, str]:
    recorded = (
        dict(zip(dispositions["participant"], dispositions["status"], strict=True))
        if len(dispositions)
        else {}
    )
    return {str(p): str(recorded.get(p, "active")) for p in participants["participant"]}


def current_disposition_words(participants: pd.DataFrame, dispositions: pd.DataFrame) -> list[str]:
    """Each participant's current disposition in words, in the participants' order."""
    current = _current(participants, dispositions)
    return [DISPOSITIONS.get(current[str(p)], current[str(p)]) for p in participants["participant"]]


def disposition_counts(participants: pd.DataFrame, dispositions: pd.DataFrame) -> pd.DataFrame:
    """Participants per current disposition, every disposition listed (zeros included), in the
    vocabulary's order; a participant without a record counts as active."""
    current = _current(participants, dispositions)
    return pd.DataFrame(
        [(words, sum(s == status for s in current.values()))
         for status, words in DISPOSITIONS.items()],
        columns=["disposition", "participants"],
    )  # fmt: skip


def _yes_no(value: object) -> str:
    return "not recorded" if value is None or value != value else ("yes" if value else "no")


def _words(value: object) -> str:
    return str(value).replace("_", " ") if value not in (None, "") else "not recorded"


def _details(rec: Mapping[Any, Any], attempts: pd.DataFrame) -> str:
    status = rec["status"]
    reason = str(rec.get("reason") or "").strip()
    if status == "withdrawn":
        text = (
            f"reason: {reason or 'not recorded'}; data already collected may be used: "
            f"{_yes_no(rec.get('data_use_allowed'))}; re-contact allowed: "
            f"{_yes_no(rec.get('recontact_allowed'))}"
        )
    elif status == "lost_to_follow_up":
        own = attempts[attempts["participant"] == rec["participant"]] if len(attempts) else attempts
        failed = [a for a in own.to_dict(orient="records") if a["outcome"] != "reached"]
        listed = "; ".join(
            f"{a['attempted_on']} {CONTACT_METHODS.get(a['method'], _words(a['method']))} "
            f"({CONTACT_OUTCOMES.get(a['outcome'], _words(a['outcome']))})"
            for a in failed
        )
        text = f"{len(failed)} unsuccessful contact attempts" + (f": {listed}" if listed else "")
        if reason:
            text += f"; {reason}"
    else:  # died
        death = rec.get("death_date")
        text = (
            f"died on {death if isinstance(death, date) else 'date not recorded'}; cause: "
            f"{rec.get('death_cause') or 'not recorded'}; autopsy asked: "
            f"{_yes_no(rec.get('autopsy_asked'))}, done: {_yes_no(rec.get('autopsy_done'))}; "
            f"relation to the cell product: {_words(rec.get('death_related_to_product'))}"
        )
    return text


def disposition_listing(dispositions: pd.DataFrame, contact_attempts: pd.DataFrame) -> pd.DataFrame:
    """Each participant withdrawn, lost to follow-up or dead, with the facts in words: the
    withdrawal's reason and whether data use and re-contact are still allowed; the unsuccessful
    contact attempts (date, how, what came of it); the date and cause of death, autopsy asked
    and done, and the death's relation to the cell product."""
    rows = [
        {
            "participant": rec["participant"],
            "disposition": DISPOSITIONS[rec["status"]],
            "since": rec["effective_on"],
            "details": _details(rec, contact_attempts),
        }
        for rec in dispositions.to_dict(orient="records")
        if rec["status"] in _LISTED
    ]
    return pd.DataFrame(rows, columns=["participant", "disposition", "since", "details"])


def follow_up_ends(dispositions: pd.DataFrame | None) -> dict[str, tuple[date, str]]:
    """Where a disposition ends a participant's follow-up: participant -> (date, reason in
    words) (:data:`ENDS_FOLLOW_UP`)."""
    ends: dict[str, tuple[date, str]] = {}
    if dispositions is None or not len(dispositions):
        return ends
    for rec in dispositions.to_dict(orient="records"):
        reason = ENDS_FOLLOW_UP.get(str(rec["status"]))
        if reason is None:
            continue
        on = rec.get("death_date") if rec["status"] == "died" else None
        on = on if isinstance(on, date) else rec.get("effective_on")
        if isinstance(on, date):
            ends[str(rec["participant"])] = (on, reason)
    return ends
