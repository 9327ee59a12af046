"""Issue 12, leaks: a pseudonymized export carries no study id, site name or calendar date in
any file, and a site-scoped export names no participant of another site (custody notes, free
text). Run on the demo store, whose custody notes name each lot's recipients."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.models import CustodyEvent, IsncsciExam, Participant, Site, User
from cordtrial.trial.rules.disclosure import Scrubber
from cordtrial.trial.services.exams import correct_exam
from cordtrial.trial.services.exports import build_export, write_export
from cordtrial.trial.services.queries import raise_query
from cordtrial.trial.services.users import add_user

KEY = b"k" * 32
TODAY = date(2026, 11, 25)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _seed(session: Session) -> tuple[list[str], list[Site]]:
    seed_demo(session, today=TODAY)
    study_ids = list(session.scalars(select(Participant.study_id)))
    sites = list(session.scalars(select(Site)))
    first, other = sorted(study_ids)[0], sorted(study_ids)[-1]
    exam = session.scalars(
        select(IsncsciExam)
        .join(Participant, IsncsciExam.participant_id == Participant.id)
        .where(Participant.study_id == first)
    ).first()
    assert exam is not None
    # free text written by people that names participants and a site
    correct_exam(
        session, user=acting_as(), exam_id=exam.id, reason="comment added",
        notes={"comments": f"compare with {other}, seen at {sites[-1].name}"},
    )  # fmt: skip
    raise_query(
        session, user=acting_as("monitor"), participant_id=exam.participant_id,
        entity="isncsci_exam",
        entity_id=exam.id, field="cells.r_c5_motor", text=f"same value as {other}?",
        now=pd.Timestamp("2026-11-20T10:00:00Z").to_pydatetime(),
    )  # fmt: skip
    session.rollback()
    return study_ids, sites


def _files(directory: Path) -> dict[Path, str]:
    """Every file's text (a Parquet table as CSV)."""
    return {
        p: pd.read_parquet(p).to_csv(index=False) if p.suffix == ".parquet" else p.read_text()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_pseudonymized_export_has_no_study_id_site_or_date_in_any_file(
    session: Session, tmp_path: Path
) -> None:
    """Before issue 12 the custody notes carried ``administered to participant A-001`` and the
    lot tables their calendar dates and times."""
    study_ids, sites = _seed(session)
    assert session.scalars(
        select(CustodyEvent).where(CustodyEvent.note.like("%participant%"))
    ).first(), "the demo's custody notes name recipients: the test needs them"
    statistician = session.scalars(select(User).where(User.username == "statistician")).one()
    export = build_export(session, protocol_id=DEMO_PROTOCOL_ID, user=statistician, key=KEY)
    assert export.pseudonymized
    write_export(export, tmp_path / "out", fmt="csv")
    files = _files(tmp_path / "out")
    assert len(files) == 2 * len(export.tables) + 1
    for path, content in files.items():
        for study_id in study_ids:
            assert study_id not in content, f"{study_id} in {path.name}"
        for site in sites:
            assert site.name not in content, f"{site.name} in {path.name}"
        if path.suffix == ".csv":
            assert not _DATE.search(content), f"a calendar date in {path.name}"
            cells = pd.read_csv(path, dtype=str, keep_default_na=False)
            for column in ("code", "site_code"):
                if column in cells.columns:
                    assert not set(cells[column]) & {s.code for s in sites}, path.name
        elif path.parent.name == "dataset-json":
            rows = json.loads(content)["rows"]
            assert not _DATE.search(json.dumps(rows)), f"a calendar date in {path.name}"
    custody = export.tables["custody_events"]
    assert "note" not in custody.columns and "holder" not in custody.columns
    assert "day" in custody.columns and "at" not in custody.columns
    assert set(export.tables["lots"].columns) >= {"expiry_day"}


def test_site_scoped_statistician_export_names_no_participant_anywhere(
    session: Session, tmp_path: Path
) -> None:
    """A statistician of site A: the lots also went to site B's participants (custody notes)."""
    study_ids, sites = _seed(session)
    site_a = next(s.id for s in sites if s.code == "A")
    statistician = add_user(
        session, user=acting_as(), username="statistician_a", password="a long enough passphrase",
        role="statistician", site_ids=[site_a],
    )  # fmt: skip
    export = build_export(session, protocol_id=DEMO_PROTOCOL_ID, user=statistician, key=KEY)
    assert len(export.tables["participants"]) < len(study_ids)
    write_export(export, tmp_path / "out", fmt="parquet")
    for path, content in _files(tmp_path / "out").items():
        for study_id in study_ids:
            assert study_id not in content, f"{study_id} in {path.name}"
        for site in sites:
            assert site.name not in content, f"{site.name} in {path.name}"


def test_scrubber_replaces_whole_study_ids_only() -> None:
    scrub = Scrubber({"A-001": "PS-1", "A-0012": "PS-2", "Site A": "SITE-x"})
    assert scrub("A-001, A-0012 and A-00123 at Site A.") == "PS-1, PS-2 and A-00123 at SITE-x."
    assert not Scrubber({}) and Scrubber({})("A-001") == "A-001"


def test_a_date_inside_a_participants_text_is_told_as_days_after_injury() -> None:
    """An eligibility reason quotes its lab sample's date; the pseudonymized export keeps the
    reason's meaning with the day count its date columns use, and withholds a non-date."""
    from cordtrial.trial.services.exports import _dates_in_text

    injury = date(2021, 8, 5)
    assert (
        _dates_in_text("Platelet count 82 x10^9/L (sample 2021-09-05)", injury)
        == "Platelet count 82 x10^9/L (sample day 31 after injury)"
    )
    assert _dates_in_text("form 2021-13-45", injury) == "form (a date withheld)"
    assert _dates_in_text("no date here: C5-C6", injury) == "no date here: C5-C6"
