"""The demo trial's MRI surveillance (synthetic): protocol MRIs of every participant up to
today (weeks 4, 12, 26, 52, then yearly to year 5: :data:`DEFAULT_MRI_SCHEDULE`), read by two
blinded central readers, one disagreement adjudicated by a third, no tumour.

**Every datum here is synthetic.** A-002, lost to follow-up in year 4 (:mod:`.demo_follow_up`),
has no MRI from year 4 on (surveillance overdue); B-002's year 5 MRI is due now. B-001 has a
syrinx since year 4, unchanged at year 5, larger on an unscheduled MRI six days ago (its adverse
event in :mod:`.demo`). A-002's week 12 MRI is the disagreement (faint contrast enhancement seen
by one reader, not confirmed on adjudication); A-001's latest MRI waits for its second reader,
so that the worklist has work in it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.demo_follow_up import LOST_IN_YEAR_4
from cordtrial.trial.models import MriExam, Participant, User
from cordtrial.trial.rules.imaging import DEFAULT_MRI_SCHEDULE, ReadFacts, discordant_items
from cordtrial.trial.services.imaging import (
    assign_adjudicator,
    assign_readers,
    record_mri,
    record_site_read,
    submit_read,
    transplant_dates,
)

__all__ = ["DEMO_READERS", "seed_demo_imaging"]

#: The demo's central imaging readers (accounts made with the demo's users, role ``reader``).
DEMO_READERS: Final = ("reader_1", "reader_2", "reader_3")
_SEQUENCES: Final = ("sagittal T1", "sagittal T2", "axial T2", "sagittal STIR", "T1 post-contrast")
_STABLE: Final = ReadFacts(
    impression="stable", new_mass=False, contrast_enhancement=False, mass_effect=False,
    haemorrhage=False, cord_compression=False, oedema=False, syrinx_present=False,
    graft_length_mm=14.0, graft_volume_mm3=310.0,
)  # fmt: skip
#: Protocol MRIs not (yet) taken: from year 4 on for the participant lost in year 4; year 5 of
#: B-002, due now.
_NOT_TAKEN: Final = {
    LOST_IN_YEAR_4: frozenset({"year 4", "year 5"}),
    "B-002": frozenset({"year 5"}),
}
#: B-001's syrinx: first seen at year 4, unchanged at year 5, larger on the unscheduled MRI.
_SYRINX: Final = {"year 4": ("new", 11.0), "year 5": ("unchanged", 11.0),
                  "unscheduled": ("larger", 18.0)}  # fmt: skip


def _uid(study_id: str, on: date) -> str:
    # a 2.25 UID (DICOM PS3.5 B.2: a UUID as an integer), derived from the demo's own names
    digest = hashlib.sha256(f"demo-mri:{study_id}:{on.isoformat()}".encode()).digest()[:16]
    return f"2.25.{int.from_bytes(digest, 'big')}"


def _at(day: date, today: date) -> datetime:
    return datetime.combine(min(day + timedelta(days=3), today), time(10), tzinfo=UTC)


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one()
    session.rollback()
    return user


def seed_demo_imaging(session: Session, ids: dict[str, int], today: date) -> None:
    """Add the MRIs and reads of the demo participants (``ids``: study id ->
    participant id), through the use cases, as the demo's admin and investigator."""
    admin, investigator = _user(session, "admin"), _user(session, "investigator")
    readers = {name: _user(session, name) for name in DEMO_READERS}
    day0 = transplant_dates(session, list(ids.values()))
    sites = {
        p.id: p.site.code
        for p in session.scalars(select(Participant).where(Participant.id.in_(ids.values())))
    }
    session.rollback()
    for study_id, pid in sorted(ids.items()):
        start = day0.get(pid)
        if start is None:
            continue
        skipped = _NOT_TAKEN.get(study_id, frozenset())
        planned = [
            (p.name, start + timedelta(days=p.target_day)) for p in DEFAULT_MRI_SCHEDULE
            if start + timedelta(p.target_day) < today and p.name not in skipped
        ]  # fmt: skip
        if study_id == "B-001" and (today - timedelta(days=6)) > start:
            planned.append(("unscheduled", today - timedelta(days=6)))
        for n, (name, on) in enumerate(planned):
            mri = record_mri(
                session, admin, participant_id=pid, acquired_on=on,
                imaging_site=f"Site {sites[pid]} radiology (synthetic)", field_strength_t=3.0,
                sequences=list(_SEQUENCES), study_instance_uid=_uid(study_id, on),
            )  # fmt: skip
            first, second = _facts(study_id, n, name)
            last = n == len(planned) - 1
            _read(session, mri, first, second, n, study_id == "A-001" and last, admin,
                  investigator, readers, today)  # fmt: skip


def _facts(study_id: str, n: int, name: str) -> tuple[ReadFacts, ReadFacts]:
    graft = _STABLE.graft_length_mm or 0
    base = replace(_STABLE, graft_length_mm=graft + 0.5 * n, oedema=n == 0)
    if study_id == "B-001" and name in _SYRINX:
        change, length = _SYRINX[name]
        base = replace(
            base, impression="stable" if change == "unchanged" else "changed",
            syrinx_present=True, syrinx_length_mm=length, syrinx_change=change,
            finding=f"Syrinx rostral to the graft, {length:g} mm, {change} (synthetic).",
        )  # fmt: skip
    second = replace(base, graft_length_mm=(base.graft_length_mm or 0) + 0.5)
    if study_id == "A-002" and name == "week 12":
        # the disagreement: faint enhancement seen by one reader only
        second = replace(
            second, impression="changed", contrast_enhancement=True,
            finding="Faint enhancement at the caudal graft margin (synthetic).",
        )  # fmt: skip
    return base, second


def _read(
    session: Session, mri: MriExam, first: ReadFacts, second: ReadFacts, n: int,
    second_pending: bool, admin: User, investigator: User, readers: dict[str, User],
    today: date,
) -> None:  # fmt: skip
    at = _at(mri.acquired_on, today)
    if n == 0:
        record_site_read(session, investigator, mri_id=mri.id, facts=first, now=at)
    one, two = assign_readers(session, admin, mri_id=mri.id, readers=["reader_1", "reader_2"])
    submit_read(session, readers["reader_1"], read_id=one.id, facts=first, now=at)
    if second_pending:
        return  # the second reader has this one still to do
    submit_read(session, readers["reader_2"], read_id=two.id, facts=second, now=at)
    if discordant_items(first, second):
        third = assign_adjudicator(session, admin, mri_id=mri.id, reader="reader_3")
        submit_read(session, readers["reader_3"], read_id=third.id, facts=first, now=at)
