"""Exports include MRIs and their reads; the pseudonymized export drops the DICOM Study
Instance UIDs, the imaging site, the readers' names and free-text findings (demo store)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.models import MriExam, MriRead
from cordtrial.trial.services.exports import build_export

TODAY = date(2026, 11, 25)
KEY = b"k" * 32


def test_exports_include_mris_and_reads_and_pseudonymized_drops_uids(session: Session) -> None:
    seed_demo(session, today=TODAY)
    uids = set(session.scalars(select(MriExam.study_instance_uid)))
    n_reads = len(session.scalars(select(MriRead)).all())
    session.rollback()
    identified = build_export(session, protocol_id=DEMO_PROTOCOL_ID)
    assert set(identified.tables["mris"]["study_instance_uid"]) == uids
    assert len(identified.tables["mri_reads"]) == n_reads
    assert "reader_3" in set(identified.tables["mri_reads"]["reader"])
    pseudo = build_export(session, protocol_id=DEMO_PROTOCOL_ID, pseudonymize=True, key=KEY)
    mris, reads = pseudo.tables["mris"], pseudo.tables["mri_reads"]
    assert "study_instance_uid" not in mris.columns and "imaging_site" not in mris.columns
    assert "acquired_day" in mris.columns and "acquired_on" not in mris.columns
    assert {"reader", "assigned_by", "finding", "locked_at"}.isdisjoint(reads.columns)
    text = " ".join(f.to_csv() for f in pseudo.tables.values())
    assert not [u for u in uids if u in text]
    assert "reader_1" not in text
