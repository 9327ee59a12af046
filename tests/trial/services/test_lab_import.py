"""Laboratory results imported from a lab system's CSV: names and LOINC codes mapped, units
converted, panels grouped by participant and sample time, each bad row reported with its
number and reason while the rest is imported, nothing stored twice."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import LabResult, Participant, User
from cordtrial.trial.rules.lab_codes import analyte_code, ucum_code
from cordtrial.trial.services.lab_import import import_lab_results, read_lab_csv
from cordtrial.trial.services.labs import set_reference_range
from cordtrial.trial.services.users import add_user

EXAMPLE = Path(__file__).parents[3] / "examples" / "labs.csv"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def admin(session: Session) -> User:
    return add_user(
        session, user=acting_as("admin"), username="admin", password=PASSWORD, role="admin"
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [("PLT", "platelets"), ("777-3", "platelets"), ("platelet count", "platelets"),
     ("751-8", "neutrophils"), ("SGPT", "alt"), ("2160-0", "creatinine"), ("INR", "inr")],
)  # fmt: skip
def test_lab_system_names_and_loinc_codes_map_to_analytes(name: str, code: str) -> None:
    assert analyte_code(name) == code


def test_lab_system_units_map_to_ucum() -> None:
    assert ucum_code("platelets", "x10^9/L") == "10*9/L"
    assert ucum_code("creatinine", "µmol/L") == "umol/L"
    assert ucum_code("creatinine", "MG/DL") == "mg/dL"
    assert ucum_code("inr", "") == "{INR}"


def test_an_unknown_analyte_is_refused_naming_what_is_allowed() -> None:
    with pytest.raises(InvalidValueError, match=r"sodium.*LOINC code"):
        analyte_code("sodium")


def test_the_example_file_imports_its_good_rows_and_reports_each_bad_one(
    session: Session, admin: User, participant: Participant
) -> None:
    set_reference_range(
        session, admin, site_id=participant.site_id, analyte="creatinine", lln=62, uln=106
    )
    frame = read_lab_csv(EXAMPLE.read_bytes())
    report = import_lab_results(
        session, admin, protocol_id=participant.trial.protocol_id, frame=frame
    )
    errors = {e.row: e for e in report.errors}
    assert sorted(errors) == [6, 7, 8, 9]
    assert errors[6].field == "unit" and "10*9/L" in errors[6].reason
    assert errors[7].field == "analyte" and "sodium" in errors[7].reason
    assert errors[8].field == "study_id" and "P002" in errors[8].reason
    assert errors[9].field == "collected_at" and "23/02/2026" in errors[9].reason
    assert (report.rows, report.inserted, report.panels) == (9, 5, 2)
    # the lab's creatinine range 0.7-1.2 mg/dL = 62-106 umol/L: the same as the site's
    warned = {w.row: w for w in report.warnings}
    assert 3 not in warned and 1 in warned  # platelets: the site has no range
    assert "the lab's range up to 41 U/L is not used" in warned[4].reason
    stored = session.scalars(select(LabResult).order_by(LabResult.id)).all()
    assert [r.analyte for r in stored] == [
        "platelets", "neutrophils", "creatinine", "alt", "creatinine"
    ]  # fmt: skip
    raised = stored[-1]
    # 168 umol/L > 1.5 x baseline (0.9 mg/dL = 79.6 umol/L): CTCAE v5.0 grade 2
    assert (raised.ctcae_term, raised.ctcae_grade) == ("creatinine_increased", 2)
    assert verify_audit(session).ok


def test_a_file_imported_twice_is_stored_once(
    session: Session, admin: User, participant: Participant
) -> None:
    frame = read_lab_csv(EXAMPLE.read_text(encoding="utf-8"))
    protocol = participant.trial.protocol_id
    import_lab_results(session, admin, protocol_id=protocol, frame=frame)
    again = import_lab_results(session, admin, protocol_id=protocol, frame=frame)
    assert (again.inserted, again.already_present, again.rejected) == (0, 5, 4)
    assert len(session.scalars(select(LabResult)).all()) == 5


def test_a_repeated_analyte_in_one_sample_is_reported_and_the_rest_imported(
    session: Session, admin: User, participant: Participant
) -> None:
    text = (
        "Participant,Sample Time,Test,Result,Units\n"
        "P001,2026-01-24 08:10,PLT,182,x10^9/L\n"
        "P001,2026-01-24 08:10,777-3,190,x10^9/L\n"
        "P001,2026-01-24 08:10,HGB,13.5,g/dL\n"
    )
    report = import_lab_results(
        session, admin, protocol_id=participant.trial.protocol_id, frame=read_lab_csv(text)
    )
    assert [(e.row, e.field) for e in report.errors] == [(2, "analyte")]
    assert "row 1 has it" in report.errors[0].reason
    assert report.inserted == 2


def test_a_file_without_a_required_column_is_refused_naming_it() -> None:
    with pytest.raises(InvalidValueError, match="unit"):
        read_lab_csv("study_id,collected_at,analyte,value\nP001,2026-01-24,PLT,180\n")


def test_rows_of_a_site_the_user_cannot_see_are_refused(
    session: Session, participant: Participant
) -> None:
    other = add_user(
        session, user=acting_as("admin"), username="coord", password=PASSWORD,
        role="coordinator", site_ids=[],
    )  # fmt: skip
    report = import_lab_results(
        session, other, protocol_id=participant.trial.protocol_id,
        frame=read_lab_csv(EXAMPLE.read_bytes()),
    )  # fmt: skip
    assert report.inserted == 0
    assert {e.field for e in report.errors if e.row <= 5} == {"study_id"}


def test_a_large_file_is_imported_whole(session: Session, participant: Participant) -> None:
    """1,250 rows (more keys than one statement looks up): every row stored, then every row
    found already present."""
    admin = acting_as("admin")
    panel = {"PLT": (210, "10*9/L"), "WBC": (6.1, "10*9/L"), "HGB": (140, "g/L"),
             "ALT": (30, "U/L"), "K": (4.2, "mmol/L")}  # fmt: skip
    lines = ["study_id,collected_at,analyte,value,unit"]
    for day in range(250):
        on = (date(2026, 1, 6) + timedelta(days=day)).isoformat()
        lines += [f"P001,{on}T08:00,{code},{v},{u}" for code, (v, u) in panel.items()]
    text = "\n".join(lines)
    protocol = participant.trial.protocol_id
    first = import_lab_results(session, admin, protocol_id=protocol, frame=text)
    assert (first.rows, first.inserted, first.rejected, first.panels) == (1250, 1250, 0, 250)
    again = import_lab_results(session, admin, protocol_id=protocol, frame=text)
    assert (again.inserted, again.already_present) == (0, 1250)
