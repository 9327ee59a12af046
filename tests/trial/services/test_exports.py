"""Trial export: tidy tables, pseudonymization for statisticians, Dataset-JSON (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial import AccessDeniedError
from cordtrial.trial.models import Participant, Trial, User
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.exports import build_export, pseudonym, write_export
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.trials import add_site
from cordtrial.trial.services.users import add_user

from ..conftest import INJURY, PROTOCOL, complete_c5_cells

PASSWORD = "a long enough passphrase"
KEY = b"trial statistician key"
REQUIRED_DATASET_JSON = {"datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID",
                         "records", "name", "label", "columns", "rows"}  # fmt: skip


@pytest.fixture
def records(session: Session, trial: Trial, participant: Participant) -> dict[str, int]:
    s2 = add_site(session, user=acting_as("a"), protocol_id=PROTOCOL, code="S02", name="Two")
    other = enroll_participant(session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S02",
                               study_id="P002", injury_date=INJURY, injury_level="T4",
                               injury_mechanism="fall", age_at_injury=50, sex="F")  # fmt: skip
    record_exam(session, user=acting_as("c"), participant_id=participant.id,
                examined_on=date(2026, 1, 20),
                examiner="Dr Exam", cells=complete_c5_cells(), visit_name="screening")  # fmt: skip
    report_adverse_event(
        session, user=acting_as("c"), participant_id=participant.id, term="Neuropathic pain",
        category="neuropathic_pain", onset_date=date(2026, 2, 1), awareness_date=date(2026, 2, 2),
        ctcae_grade=2, serious_criteria=["hospitalisation"], related_to_cells="possible",
        related_to_procedure="not_related", related_to_immunosuppression="not_related",
        expectedness="expected", outcome="not_recovered", narrative="Admitted for pain control.",
    )  # fmt: skip
    site1 = next(s.id for s in trial.sites if s.code == "S01")
    for role in ("statistician", "monitor"):
        add_user(session, user=acting_as("a"), username=role, password=PASSWORD, role=role,
                 site_ids=[site1])  # fmt: skip
    return {"s2": s2.id, "other": other.id}


def test_identified_export_has_one_tidy_table_per_entity(
    session: Session, records: dict[str, int]
) -> None:
    export = build_export(session, protocol_id=PROTOCOL)
    assert not export.pseudonymized
    assert list(export.tables["participants"]["study_id"]) == ["P001", "P002"]
    exams = export.tables["exams"]
    assert len(exams) == 1 and exams.loc[0, "study_id"] == "P001"
    assert exams.loc[0, "r_c5_motor"] == complete_c5_cells()["r_c5_motor"]
    assert (exams.loc[0, "nli"], exams.loc[0, "ais"]) == ("C5", "A")
    assert exams.loc[0, "visit"] == "screening" and exams.loc[0, "examiner"] == "Dr Exam"
    events = export.tables["adverse_events"]
    assert events.loc[0, "serious_criteria"] == "hospitalisation"
    assert str(events["ctcae_grade"].dtype) == "Int64"
    assert set(export.tables["visits"]["visit"]) >= {"screening", "week 52"}


def test_statistician_export_is_pseudonymized_and_scoped_to_their_sites(
    session: Session, records: dict[str, int]
) -> None:
    statistician = session.scalars(select(User).where(User.username == "statistician")).one()
    export = build_export(session, protocol_id=PROTOCOL, user=statistician, key=KEY)
    assert export.pseudonymized
    people = export.tables["participants"]
    assert list(people["study_id"]) == [pseudonym(KEY, "P001")]  # P002 is at S02
    assert "injury_date" not in people and people.loc[0, "transplant_day"] == 21
    exams = export.tables["exams"]
    assert "examiner" not in exams and "examined_on" not in exams
    assert exams.loc[0, "examined_day"] == (date(2026, 1, 20) - INJURY).days
    assert exams.loc[0, "ais"] == "A"
    text = pd.concat(export.tables.values(), axis=0).astype(str).to_csv()
    assert "P001" not in text and "Dr Exam" not in text and "2026-01-05" not in text


def test_roles_without_an_export_permission_are_refused(
    session: Session, records: dict[str, int]
) -> None:
    monitor = session.scalars(select(User).where(User.username == "monitor")).one()
    with pytest.raises(AccessDeniedError, match="export"):
        build_export(session, protocol_id=PROTOCOL, user=monitor)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_export_has_tables_dataset_json_and_a_manifest(
    session: Session, records: dict[str, int], tmp_path: Path, fmt: str
) -> None:
    export = build_export(session, protocol_id=PROTOCOL, pseudonymize=True, key=KEY)
    write_export(export, tmp_path, fmt=fmt)
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    exams = read(tmp_path / f"exams.{fmt}")
    assert list(exams["study_id"]) == [pseudonym(KEY, "P001")]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["pseudonymized"] is True and manifest["tables"]["participants"] == 2
    document = json.loads((tmp_path / "dataset-json" / "exams.json").read_text())
    assert document.keys() >= REQUIRED_DATASET_JSON
    assert document["datasetJSONVersion"] == "1.1" and document["records"] == 1
    names = [c["name"] for c in document["columns"]]
    assert names == list(exams.columns)
    assert all(len(row) == len(names) for row in document["rows"])
    types = {c["name"]: c["dataType"] for c in document["columns"]}
    assert (types["examined_day"], types["ais"], types["id"]) == ("integer", "string", "integer")


NOTES = {
    "comments": "Seen in bed; Mrs Jones present",
    "flag_reasons": {"r_c6_motor": "cast, R arm"},
}


@pytest.fixture
def noted_exam(session: Session, records: dict[str, int], participant: Participant) -> int:
    cells = complete_c5_cells() | {"r_c6_motor": "0*"}
    exam = record_exam(session, user=acting_as("c"), participant_id=participant.id, notes=NOTES,
                       examined_on=date(2026, 2, 3), examiner="Dr Exam", cells=cells,
                       visit_name="week 2")  # fmt: skip
    return exam.id


def test_identified_export_carries_the_examiners_notes(
    session: Session, noted_exam: int, tmp_path: Path
) -> None:
    exams = build_export(session, protocol_id=PROTOCOL).tables["exams"].set_index("id")
    assert exams.loc[noted_exam, "comments"] == NOTES["comments"]
    assert json.loads(exams.loc[noted_exam, "flag_reasons"]) == NOTES["flag_reasons"]
    assert exams.loc[noted_exam, "r_c6_motor"] == "0*"
    other = exams.index[exams.index != noted_exam][0]
    assert exams.loc[other, "comments"] is None and exams.loc[other, "flag_reasons"] is None
    write_export(build_export(session, protocol_id=PROTOCOL), tmp_path)
    written = pd.read_csv(tmp_path / "exams.csv").set_index("id")
    assert written.loc[noted_exam, "comments"] == NOTES["comments"]
    document = json.loads((tmp_path / "dataset-json" / "exams.json").read_text())
    assert {"comments", "flag_reasons"} <= {c["name"] for c in document["columns"]}


def test_pseudonymized_export_leaves_the_notes_out_but_keeps_the_flags(
    session: Session, noted_exam: int, tmp_path: Path
) -> None:
    export = build_export(session, protocol_id=PROTOCOL, pseudonymize=True, key=KEY)
    exams = export.tables["exams"]
    assert "comments" not in exams and "flag_reasons" not in exams
    assert "0*" in set(exams["r_c6_motor"])  # the coded flag stays; its free-text reason goes
    write_export(export, tmp_path)
    written = "".join(p.read_text() for p in tmp_path.rglob("*.*") if p.suffix in {".csv", ".json"})
    assert "Mrs Jones" not in written and "cast, R arm" not in written
