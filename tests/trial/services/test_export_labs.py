"""The trial export holds the laboratory results and the sites' reference ranges; the
pseudonymized export turns sample dates into study days and site codes into pseudonyms."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.models import Participant
from cordtrial.trial.services.exports import build_export
from cordtrial.trial.services.labs import LabEntry, record_lab_panel, set_reference_range

KEY = b"k" * 32


def test_lab_results_and_ranges_are_exported_and_pseudonymized_without_dates(
    session: Session, participant: Participant
) -> None:
    admin = acting_as("admin")
    set_reference_range(
        session, admin, site_id=participant.site_id, analyte="creatinine", lln=62, uln=106
    )
    assert participant.transplant_date is not None
    on = participant.transplant_date - timedelta(days=2)
    record_lab_panel(
        session, admin, participant_id=participant.id, collected_on=on,
        entries=[LabEntry("creatinine", 1.0, "mg/dL"), LabEntry("platelets", 210, "10*9/L")],
    )  # fmt: skip
    protocol = participant.trial.protocol_id
    identified = build_export(session, protocol_id=protocol)
    labs = identified.tables["lab_results"]
    assert list(labs["analyte"]) == ["creatinine", "platelets"]
    assert list(labs["unit"]) == ["umol/L", "10*9/L"]
    assert list(labs["collected_on"]) == [on, on]
    ranges = identified.tables["lab_reference_ranges"]
    assert ranges.iloc[0].to_dict() == {
        "site_code": "S01", "analyte": "creatinine", "sex": "any", "lln": 62.0, "uln": 106.0,
        "unit": "umol/L",
    }  # fmt: skip
    pseudo = build_export(session, protocol_id=protocol, pseudonymize=True, key=KEY)
    labs = pseudo.tables["lab_results"]
    assert "collected_on" not in labs.columns
    assert list(labs["collected_day"]) == [(on - participant.injury_date).days] * 2
    assert "S01" not in set(pseudo.tables["lab_reference_ranges"]["site_code"])
    text = " ".join(f.to_csv() for f in pseudo.tables.values())
    assert on.isoformat() not in text and participant.study_id not in text
