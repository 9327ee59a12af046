"""Bulk import of exams (one transaction per batch), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level, read_frame
from cordtrial.trial import InvalidValueError, verify_audit
from cordtrial.trial.models import AuditEntry, IsncsciExam, Participant, Trial
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.imports import import_exams

from ..conftest import PROTOCOL

C5 = lesion_flat(Level.C5)


def _row(study_id: str = "P001", visit: str | None = "week 2", day: int = 0, **cells: Any) -> dict:
    return {
        "participant": study_id,
        "visit": visit,
        "examined_on": (date(2026, 2, 9) + timedelta(days=day)).isoformat(),
        "examiner": "Dr Exam",
        **C5,
        **cells,
    }


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype=object)


def _exams(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(IsncsciExam)) or 0


def test_import_stores_cells_and_classification_and_audits_them(
    session: Session, participant: Participant
) -> None:
    report = import_exams(
        session, actor="importer", protocol_id=PROTOCOL, frame=_frame([_row(), _row(day=1)])
    )
    assert (report.inserted, report.rejected, report.already_present) == (2, 0, 0)
    exam = session.scalars(select(IsncsciExam).order_by(IsncsciExam.id)).first()
    assert exam is not None and exam.classification is not None
    assert exam.classification["nli"] == "C5" and exam.classification["ais"] == "A"
    assert exam.cells["r_c5_motor"] == C5["r_c5_motor"] and exam.cells["r_nkm"] is None
    actors = set(
        session.scalars(select(AuditEntry.actor).where(AuditEntry.entity == "isncsci_exam"))
    )
    assert actors == {"importer"}
    assert verify_audit(session).ok


def test_import_reports_bad_rows_and_keeps_the_good_ones_of_the_batch(
    session: Session, participant: Participant
) -> None:
    rows = [
        _row(day=0),
        _row(day=1, r_c5_motor="7", l_t1_lt="x"),
        _row(study_id="P999", day=2),
        _row(visit="week 99", day=3),
        _row(day=4) | {"examined_on": "09/02/2026"},
        _row(day=5) | {"examiner": ""},
        _row(day=6),
    ]
    report = import_exams(session, actor="importer", protocol_id=PROTOCOL, frame=_frame(rows),
                          batch_size=10)  # fmt: skip
    assert report.inserted == 2 and _exams(session) == 2
    assert report.rejected == 5
    errors = report.error_frame()
    assert list(errors.columns) == ["row", "participant", "field", "value", "reason", "severity"]
    assert set(errors["severity"]) == {"error"}
    by_row = {(r.row, r.field): r for r in report.errors}
    assert by_row[(2, "cells.r_c5_motor")].value == "7"
    assert "cells.l_t1_lt" in {f for (r, f) in by_row if r == 2}
    assert "does not exist" in by_row[(3, "participant")].reason
    assert "week 99" in by_row[(4, "visit")].reason and "week 2" in by_row[(4, "visit")].reason
    assert by_row[(5, "examined_on")].value == "09/02/2026"
    assert (6, "examiner") in by_row
    # the reason column is for people: labels and plain values (the field column keeps names)
    assert by_row[(2, "cells.r_c5_motor")].reason.startswith("Right C5 motor: 7 is not a motor")
    assert by_row[(5, "examined_on")].reason.startswith("Examination date: 09/02/2026 is not")
    assert not [e.reason for e in report.errors if "'" in e.reason or "_" in e.reason]


def test_import_rerun_inserts_nothing_twice(session: Session, participant: Participant) -> None:
    frame = _frame([_row(day=d) for d in range(7)])
    first = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=frame, batch_size=3)
    assert (first.inserted, first.batches) == (7, 3)
    again = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=frame, batch_size=3)
    assert (again.inserted, again.already_present, again.rejected) == (0, 7, 0)
    assert _exams(session) == 7


def test_import_refuses_to_overwrite_a_stored_exam_with_other_values(
    session: Session, participant: Participant
) -> None:
    record_exam(session, user=acting_as("c"), participant_id=participant.id,
                examined_on=date(2026, 2, 9),
                examiner="Dr Exam", cells=C5, visit_name="week 2")  # fmt: skip
    changed = _row(r_c5_motor="3")
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame([changed]))
    assert report.inserted == 0 and report.rejected == 1
    assert "already stored" in report.errors[0].reason
    stored = session.scalars(select(IsncsciExam)).one()
    assert stored.cells["r_c5_motor"] == C5["r_c5_motor"]


def test_duplicate_rows_in_one_file_are_stored_once(
    session: Session, participant: Participant
) -> None:
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame([_row()] * 3))
    assert (report.inserted, report.already_present) == (1, 2)
    assert _exams(session) == 1


def test_unrecorded_cells_are_stored_unclassified(
    session: Session, participant: Participant
) -> None:
    report = import_exams(
        session, actor="i", protocol_id=PROTOCOL, frame=_frame([_row(r_c5_motor=None)])
    )
    assert report.inserted == 1
    exam = session.scalars(select(IsncsciExam)).one()
    assert exam.classification is None and "r_c5_motor" in exam.classification_note


def test_progress_is_reported_per_batch(session: Session, participant: Participant) -> None:
    seen: list[tuple[int, int]] = []
    import_exams(session, actor="i", protocol_id=PROTOCOL, batch_size=2,
                 frame=_frame([_row(day=d) for d in range(5)]),
                 progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_import_needs_its_columns_and_a_positive_batch_size(session: Session, trial: Trial) -> None:
    with pytest.raises(InvalidValueError, match="examiner"):
        import_exams(session, actor="i", protocol_id=PROTOCOL,
                     frame=_frame([_row()]).drop(columns=["examiner"]))  # fmt: skip
    with pytest.raises(InvalidValueError, match="batch_size"):
        import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame([_row()]),
                     batch_size=0)  # fmt: skip


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_import_reads_parquet_and_json_through_read_frame(
    session: Session, participant: Participant, tmp_path: Path, suffix: str
) -> None:
    frame = pd.DataFrame([_row(day=0), _row(day=1)])
    frame["examined_on"] = pd.to_datetime(frame["examined_on"]).dt.date
    path = tmp_path / f"exams{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", date_format="iso")  # midnight timestamps
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=read_frame(path))
    assert (report.inserted, report.rejected) == (2, 0)
    dates = sorted(session.scalars(select(IsncsciExam.examined_on)))
    assert dates == [date(2026, 2, 9), date(2026, 2, 10)]


def test_a_timestamp_that_is_not_midnight_is_not_an_exam_date(
    session: Session, participant: Participant
) -> None:
    row = _row() | {"examined_on": "2026-02-09T10:30:00"}
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame([row]))
    assert report.rejected == 1 and report.errors[0].field == "examined_on"


def test_import_stores_comments_and_flag_reasons(
    session: Session, participant: Participant
) -> None:
    row = _row(r_c5_motor="3*") | {
        "comments": " cooperative ",
        "flag_reasons": '{"r_c5_motor": "humerus fracture"}',
    }
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame([row]))
    assert (report.inserted, report.errors, report.warnings) == (1, [], [])
    exam = session.scalars(select(IsncsciExam)).one()
    assert exam.notes == {
        "comments": "cooperative",
        "flag_reasons": {"r_c5_motor": "humerus fracture"},
    }
    again = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame([row]))
    assert (again.inserted, again.already_present) == (0, 1)


def test_import_keeps_a_flagged_value_without_a_reason_and_warns(
    session: Session, participant: Participant
) -> None:
    """A registry without a notes column: the finding is imported as recorded (the reason is
    not ours to invent) and the report says which flags lack a reason (docs/trial.md)."""
    rows = [_row(day=0, r_c5_motor="3*", l_t1_pp="NT**"), _row(day=1)]
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame(rows))
    assert (report.inserted, report.rejected) == (2, 0)
    assert [(w.row, w.field, w.value) for w in report.warnings] == [
        (1, "notes.flag_reasons.l_t1_pp", "NT**"),
        (1, "notes.flag_reasons.r_c5_motor", "3*"),
    ]
    assert "2 flagged value(s) imported without a reason" in str(report)
    frame = report.error_frame()
    assert list(frame["severity"]) == ["warning", "warning"]
    assert frame.loc[0, "reason"].startswith("Left T1 pin prick: NT** is flagged but has no reason")
    exam = session.scalars(select(IsncsciExam).order_by(IsncsciExam.id)).first()
    assert exam is not None and exam.cells["r_c5_motor"] == "3*" and exam.notes is None


def test_import_rejects_bad_notes_naming_the_field(
    session: Session, participant: Participant
) -> None:
    rows = [
        _row(day=0, r_c5_motor="3*") | {"flag_reasons": "fracture"},
        _row(day=1) | {"flag_reasons": '{"r_c5_motor": "fracture"}'},
        _row(day=2) | {"flag_reasons": '{"r_c4_motor": "x"}'},
        _row(day=3) | {"comments": "x" * 2001},
        _row(day=4, r_c5_motor="3*") | {"flag_reasons": "[]"},
    ]
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=_frame(rows))
    assert (report.inserted, report.rejected, report.warnings) == (0, 5, [])
    fields = {(e.row, e.field) for e in report.errors}
    assert fields == {
        (1, "flag_reasons"),
        (2, "notes.flag_reasons.r_c5_motor"),
        (3, "notes.flag_reasons"),
        (4, "notes.comments"),
        (5, "flag_reasons"),
    }
    by_row = {e.row: e for e in report.errors}
    assert "a JSON object" in by_row[1].reason and by_row[1].value == "fracture"
    assert "is not flagged" in by_row[2].reason


def test_import_as_a_site_user_finds_only_participants_of_its_sites(
    session: Session, participant: Participant
) -> None:
    """Issue 12: the command line imports as an account (``--user``); a coordinator of one site
    cannot write exams of another site's participant (refused like an unknown participant)."""
    from cordtrial.trial.errors import AccessDeniedError
    from cordtrial.trial.services.participants import enroll_participant
    from cordtrial.trial.services.trials import add_site
    from cordtrial.trial.services.users import add_user

    from ..conftest import INJURY

    other = add_site(session, user=acting_as(), protocol_id=PROTOCOL, code="S02", name="Other")
    enroll_participant(
        session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S02", study_id="P002",
        injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=40, sex="F",
    )  # fmt: skip
    coordinator = add_user(
        session, user=acting_as(), username="coord_s02", password="a long enough passphrase",
        role="coordinator", site_ids=[other.id],
    )  # fmt: skip
    report = import_exams(
        session, user=coordinator, protocol_id=PROTOCOL,
        frame=_frame([_row("P001", visit=None), _row("P002", visit=None)]),
    )  # fmt: skip
    assert (report.inserted, report.rejected) == (1, 1)
    (error,) = report.errors
    assert (error.participant, error.field) == ("P001", "participant")
    assert error.reason == f"Participant {PROTOCOL}/P001 does not exist"
    actors = set(
        session.scalars(select(AuditEntry.actor).where(AuditEntry.entity == "isncsci_exam"))
    )
    assert actors == {"coord_s02"}
    monitor = add_user(
        session, user=acting_as(), username="mon", password="a long enough passphrase",
        role="monitor", all_sites=True,
    )  # fmt: skip
    with pytest.raises(AccessDeniedError, match="mon may not enter data"):
        import_exams(session, user=monitor, protocol_id=PROTOCOL, frame=_frame([_row()]))
