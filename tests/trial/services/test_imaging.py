"""MRI surveillance use cases on each database: recording and DICOM import (no patient identity
stored), blinded central reading, adjudication, and the tumour adverse event a locked read
opens (counted by the stopping rule, with its expedited-report clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import (
    AccessDeniedError,
    InvalidValueError,
    NotFoundError,
    RuleViolationError,
)
from cordtrial.trial.models import AdverseEvent, MriExam, MriRead, Participant, Trial, User
from cordtrial.trial.rules.imaging import ReadFacts
from cordtrial.trial.services.imaging import (
    assign_adjudicator,
    assign_readers,
    import_dicom,
    list_mris,
    record_mri,
    record_site_read,
    submit_read,
    surveillance,
    visible_reads,
    worklist,
)
from cordtrial.trial.services.product import administer_cells, release_lot
from cordtrial.trial.services.users import add_user

from ..dicom_files import PATIENT_ID, PATIENT_NAME, STUDY_UID, write_study
from .test_product import _test_all, lot  # noqa: F401 (fixture)

PASSWORD = "a long enough passphrase"
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
STABLE = ReadFacts(
    impression="stable", new_mass=False, contrast_enhancement=False, mass_effect=False,
    haemorrhage=False, cord_compression=False, oedema=False, syrinx_present=False,
)  # fmt: skip
SUSPICIOUS = replace(
    STABLE, impression="suspicious_for_tumour", new_mass=True, contrast_enhancement=True,
    finding="New enhancing intramedullary nodule at the graft site",
)  # fmt: skip


@pytest.fixture
def users(session: Session, trial: Trial, participant: Participant) -> dict[str, User]:
    made = {}
    for name, role in (("inv", "investigator"), ("reader1", "reader"), ("reader2", "reader"),
                       ("reader3", "reader"), ("stat", "statistician")):  # fmt: skip
        made[name] = add_user(
            session, user=acting_as("admin"), username=name, password=PASSWORD, role=role,
            site_ids=[participant.site_id],
        )  # fmt: skip
    return made


@pytest.fixture
def mri(session: Session, users: dict[str, User], participant: Participant) -> MriExam:
    return record_mri(
        session, users["inv"], participant_id=participant.id, acquired_on=date(2026, 3, 1),
        imaging_site="University Hospital MRI", field_strength_t=3.0,
        sequences=["sagittal T2", "axial T2"], study_instance_uid="1.2.3.4",
    )  # fmt: skip


def _treat(session: Session, participant: Participant) -> None:
    _test_all(session)
    release_lot(session, user=acting_as("qp"), lot_number="L001", today=date(2026, 1, 20))
    administer_cells(
        session, user=acting_as("surgeon"), participant_id=participant.id, lot_number="L001",
        dose_cells=2_000_000, volume_ml=0.1, injection_site="C5",
        administered_at=datetime(2026, 1, 27, 9, 0, tzinfo=UTC), operator="Dr S",
        identity_checked_by="RN", participant_identity_confirmed=True,
        product_identity_confirmed=True,
    )  # fmt: skip


def _assigned(session: Session, users: dict[str, User], mri: MriExam) -> list[MriRead]:
    return assign_readers(session, users["inv"], mri_id=mri.id, readers=["reader1", "reader2"])


@pytest.mark.usefixtures("lot")
def test_days_since_transplant_come_from_the_administration(
    session: Session, users: dict[str, User], participant: Participant
) -> None:
    _test_all(session)
    release_lot(session, user=acting_as("qp"), lot_number="L001", today=date(2026, 1, 20))
    administer_cells(
        session, user=acting_as("surgeon"), participant_id=participant.id, lot_number="L001",
        dose_cells=2_000_000, volume_ml=0.1, injection_site="C5",
        administered_at=datetime(2026, 1, 27, 9, 0, tzinfo=UTC), operator="Dr S",
        identity_checked_by="RN", participant_identity_confirmed=True,
        product_identity_confirmed=True,
    )  # fmt: skip
    record_mri(
        session, users["inv"], participant_id=participant.id, acquired_on=date(2026, 2, 24),
        imaging_site="X", field_strength_t=1.5, sequences=["T2"],
    )  # fmt: skip
    [view] = list_mris(session, users["inv"], participant.id)
    assert view.days_since_transplant == 28  # 27 Jan -> 24 Feb, not the planned 26 Jan
    with pytest.raises(InvalidValueError, match="before the transplant"):
        record_mri(
            session, users["inv"], participant_id=participant.id, acquired_on=date(2026, 1, 26),
            imaging_site="X", field_strength_t=1.5, sequences=["T2"],
        )  # fmt: skip


def test_dicom_import_keeps_headers_and_never_the_patient_identity(
    session: Session, users: dict[str, User], participant: Participant, tmp_path: Path
) -> None:
    folder = write_study(tmp_path / "study")
    [mri] = import_dicom(session, users["inv"], participant_id=participant.id, path=folder)
    assert (mri.study_instance_uid, mri.acquired_on, mri.field_strength_t) == (
        STUDY_UID, date(2026, 3, 1), 3.0,
    )  # fmt: skip
    assert mri.sequences == ["SAG T2 TSE", "AX T2", "SAG T1 POST GAD"]
    assert (mri.imaging_site, mri.source) == ("Synthetic Imaging Centre", "dicom")
    dump = "\n".join(
        str(row)
        for table in ("mri_exam", "audit_entry")
        for row in session.execute(text(f"SELECT * FROM {table}"))
    )
    for secret in (PATIENT_NAME, "Janet", "Quintessa", PATIENT_ID, "99887766", "19800101"):
        assert secret not in dump
    with pytest.raises(InvalidValueError, match="already recorded"):
        import_dicom(session, users["inv"], participant_id=participant.id, path=folder)


def test_dicom_import_refuses_a_folder_without_mr_images(
    session: Session, users: dict[str, User], participant: Participant, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("no images")
    with pytest.raises(InvalidValueError, match="DICOM MR images"):
        import_dicom(session, users["inv"], participant_id=participant.id, path=tmp_path)


def test_readers_are_blinded_until_both_central_reads_are_locked(
    session: Session, users: dict[str, User], mri: MriExam
) -> None:
    first, second = _assigned(session, users, mri)
    record_site_read(session, users["inv"], mri_id=mri.id, facts=STABLE, now=NOW)
    submit_read(session, users["reader1"], read_id=first.id, facts=STABLE, now=NOW)
    # r1 sees only their own read; r2 sees only their (empty) assignment
    assert [r.reader for r in visible_reads(session, users["reader1"], mri.id)] == ["reader1"]
    assert [r.reader for r in visible_reads(session, users["reader2"], mri.id)] == ["reader2"]
    # a reader not assigned does not see the MRI at all
    with pytest.raises(NotFoundError):
        visible_reads(session, users["reader3"], mri.id)
    submit_read(session, users["reader2"], read_id=second.id, facts=STABLE, now=NOW)
    seen = sorted(r.reader for r in visible_reads(session, users["reader1"], mri.id))
    assert seen == ["inv", "reader1", "reader2"]


def test_only_the_assigned_reader_submits_once(
    session: Session, users: dict[str, User], mri: MriExam
) -> None:
    first, _ = _assigned(session, users, mri)
    with pytest.raises(NotFoundError):
        submit_read(session, users["reader2"], read_id=first.id, facts=STABLE, now=NOW)
    submit_read(session, users["reader1"], read_id=first.id, facts=STABLE, now=NOW)
    with pytest.raises(RuleViolationError, match="locked"):
        submit_read(session, users["reader1"], read_id=first.id, facts=SUSPICIOUS, now=NOW)
    assert session.get(MriRead, first.id).impression == "stable"  # type: ignore[union-attr]


def test_readers_must_be_two_readers_and_statisticians_cannot_assign(
    session: Session, users: dict[str, User], mri: MriExam
) -> None:
    with pytest.raises(InvalidValueError, match="reader"):
        assign_readers(session, users["inv"], mri_id=mri.id, readers=["reader1", "stat"])
    with pytest.raises(InvalidValueError, match="two different"):
        assign_readers(session, users["inv"], mri_id=mri.id, readers=["reader1", "reader1"])
    with pytest.raises(AccessDeniedError):
        assign_readers(session, users["stat"], mri_id=mri.id, readers=["reader1", "reader2"])
    with pytest.raises(AccessDeniedError):
        worklist(session, users["stat"])


def test_disagreement_goes_to_a_third_reader(
    session: Session, users: dict[str, User], mri: MriExam
) -> None:
    first, second = _assigned(session, users, mri)
    with pytest.raises(RuleViolationError, match="reading"):
        assign_adjudicator(session, users["inv"], mri_id=mri.id, reader="reader3")
    submit_read(session, users["reader1"], read_id=first.id, facts=STABLE, now=NOW)
    changed = replace(STABLE, impression="changed", mass_effect=True, finding="cord swelling")
    submit_read(session, users["reader2"], read_id=second.id, facts=changed, now=NOW)
    [view] = list_mris(session, users["inv"], mri.participant_id)
    assert view.state.state == "adjudication needed"
    assert view.state.discordant == ("impression", "mass_effect")
    with pytest.raises(InvalidValueError, match="third reader"):
        assign_adjudicator(session, users["inv"], mri_id=mri.id, reader="reader1")
    adjudication = assign_adjudicator(session, users["inv"], mri_id=mri.id, reader="reader3")
    [item] = worklist(session, users["reader3"])
    assert [r.reader for r in item.central_reads] == ["reader1", "reader2"]
    submit_read(session, users["reader3"], read_id=adjudication.id, facts=STABLE, now=NOW)
    [view] = list_mris(session, users["inv"], mri.participant_id)
    assert (view.state.state, view.state.impression) == ("final", "stable")
    assert worklist(session, users["reader3"]) == []


def test_suspicious_read_opens_one_tumour_event_with_its_clock(
    session: Session, users: dict[str, User], mri: MriExam
) -> None:
    first, second = _assigned(session, users, mri)
    submit_read(session, users["reader1"], read_id=first.id, facts=SUSPICIOUS, now=NOW)
    submit_read(session, users["reader2"], read_id=second.id, facts=SUSPICIOUS, now=NOW)
    events = session.scalars(select(AdverseEvent)).all()
    assert len(events) == 1  # the second read joins the first one's event
    event = events[0]
    assert event.category == "tumour_or_graft_overgrowth"
    assert event.expedited_report_required
    assert event.expedited_report_due == date(2026, 3, 20)  # 15 days from the read (ICH E2A)
    reads = session.scalars(select(MriRead).order_by(MriRead.id)).all()
    assert [r.adverse_event_id for r in reads] == [event.id, event.id]


@pytest.mark.usefixtures("lot")
def test_tumour_event_counts_in_the_stopping_rule(
    session: Session, users: dict[str, User], mri: MriExam, trial: Trial
) -> None:
    from cordtrial.analysis.safety import evaluate_stopping_rule
    from cordtrial.analysis.store import load_trial

    _treat(session, session.get(Participant, mri.participant_id))  # type: ignore[arg-type]
    first, _ = _assigned(session, users, mri)
    submit_read(session, users["reader1"], read_id=first.id, facts=SUSPICIOUS, now=NOW)
    data = load_trial(session, trial.protocol_id)
    status = evaluate_stopping_rule(data.adverse_events, data.participants, as_of=date(2026, 3, 5))
    assert status.tumour


def test_surveillance_uses_a_constant_number_of_statements(
    session: Session, users: dict[str, User], participant: Participant, mri: MriExam
) -> None:
    from sqlalchemy import event

    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):
            statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        status = surveillance(session, users["inv"], [participant], date(2026, 3, 5))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert status[participant.id].state == "no transplant"  # no administration recorded
    assert status[participant.id].last_mri == date(2026, 3, 1)
    assert len(statements) == 2  # first administrations, MRI dates
