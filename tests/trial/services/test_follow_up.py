"""Long-term follow-up use cases: long-term visits, disposition history, contact attempts,
consent and re-consent, the product look-back and the timeline (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import (
    AccessDeniedError,
    AuditError,
    ConsentRequiredError,
    InvalidValueError,
    NotFoundError,
    RuleViolationError,
)
from cordtrial.trial.models import AuditEntry, Participant, Trial, User
from cordtrial.trial.rules.consent import ConsentVersionFacts
from cordtrial.trial.rules.follow_up import ContactAttemptFacts, DispositionFacts, yearly_visits
from cordtrial.trial.services.consent import (
    add_consent_version,
    consent_items,
    consent_statuses,
    record_consent,
)
from cordtrial.trial.services.disposition import (
    current_disposition,
    list_disposition_changes,
    record_contact_attempt,
    record_disposition,
    record_long_term_contact,
)
from cordtrial.trial.services.look_back import look_back, product_chain
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.product import (
    add_ipsc_line,
    add_specification,
    administer_cells,
    record_release_test,
    register_lot,
    release_lot,
)
from cordtrial.trial.services.timeline import (
    TIMELINE_PROVIDERS,
    TimelineEntry,
    participant_timeline,
    register_timeline_provider,
)
from cordtrial.trial.services.trials import add_long_term_visits, add_site
from cordtrial.trial.services.users import add_user
from cordtrial.trial.services.visits import visit_schedule

from ..conftest import INJURY, PROTOCOL, TRANSPLANT

PASSWORD = "a long enough passphrase"
NOW = datetime(2031, 2, 1, 9, 0, tzinfo=UTC)
LONG_TERM = (
    *yearly_visits(2, 5, requires=("isncsci", "mri")),
    *yearly_visits(6, 7, contact_mode="phone", window_days=90),
)


@pytest.fixture
def admin(session: Session, trial: Trial) -> User:
    return add_user(
        session, user=acting_as("admin"), username="admin", password=PASSWORD, role="admin"
    )


@pytest.fixture
def coordinator(session: Session, participant: Participant) -> User:
    return add_user(session, user=acting_as("admin"), username="cora", password=PASSWORD,
                    role="coordinator", site_ids=[participant.site_id])  # fmt: skip


@pytest.fixture
def long_term(session: Session, admin: User, participant: Participant) -> Participant:
    add_long_term_visits(session, user=admin, protocol_id=PROTOCOL, visits=LONG_TERM,
                         reason="amendment 3: long-term follow-up")  # fmt: skip
    add_consent_version(session, user=admin, protocol_id=PROTOCOL, facts=ConsentVersionFacts(
        "1.0", date(2025, 12, 1), ("long_term_contact", "autopsy")))  # fmt: skip
    return participant


def _sign(session: Session, user: User, p: Participant, contact: bool, autopsy: bool) -> None:
    record_consent(session, user=user, participant_id=p.id, version="1.0",
                   signed_on=date(2026, 1, 10),
                   items={"long_term_contact": contact, "autopsy": autopsy})  # fmt: skip


def test_long_term_visits_are_added_to_enrolled_participants(
    session: Session, long_term: Participant
) -> None:
    rows = {r.name: r for r in visit_schedule(session, long_term.id, date(2028, 1, 1))}
    assert rows["year 2"].long_term and rows["year 2"].status == "due"
    assert rows["year 2"].target == date(2028, 1, 26)  # day 0 2026-01-26 + 730 days
    assert rows["year 2"].requires == ("ISNCSCI exam", "MRI")
    assert rows["year 6"].contact_mode == "phone" and rows["year 6"].status == "scheduled"
    assert not rows["week 52"].long_term


def test_long_term_schedule_needs_manage_trial(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    with pytest.raises(AccessDeniedError):
        add_long_term_visits(session, user=coordinator, protocol_id=PROTOCOL,
                             visits=yearly_visits(8, 8), reason="r")  # fmt: skip


def test_phone_contact_without_long_term_consent_is_refused_naming_the_item(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    _sign(session, coordinator, long_term, contact=False, autopsy=False)
    with pytest.raises(ConsentRequiredError, match="long-term contact") as info:
        record_long_term_contact(session, user=coordinator, participant_id=long_term.id,
                                 visit_name="year 6", done_on=date(2032, 1, 20))  # fmt: skip
    assert info.value.item == "long_term_contact"
    assert "phone contact (year 6)" in str(info.value)


def test_phone_contact_with_consent_marks_the_visit_done(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    _sign(session, coordinator, long_term, contact=True, autopsy=False)
    record_long_term_contact(session, user=coordinator, participant_id=long_term.id,
                             visit_name="year 6", done_on=date(2032, 1, 20))  # fmt: skip
    rows = {r.name: r for r in visit_schedule(session, long_term.id, date(2032, 2, 1))}
    assert rows["year 6"].status == "done"
    with pytest.raises(InvalidValueError, match="main study"):
        record_long_term_contact(session, user=coordinator, participant_id=long_term.id,
                                 visit_name="week 52", done_on=date(2027, 1, 20))  # fmt: skip


def test_withdrawal_stops_visits_and_audits_the_change(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    _sign(session, coordinator, long_term, contact=True, autopsy=False)
    record_disposition(session, user=coordinator, participant_id=long_term.id, now=NOW,
                       facts=DispositionFacts("withdrawn", date(2027, 6, 1), "moved abroad",
                                              True, True))  # fmt: skip
    rows = {r.name: r for r in visit_schedule(session, long_term.id, date(2028, 3, 1))}
    assert rows["year 2"].status == "missed"
    assert (
        rows["year 2"].label == "missed: participant withdrew on 2027-06-01 (remote contact only)"
    )
    assert rows["year 6"].status == "scheduled"  # a phone visit is still expected
    with pytest.raises(RuleViolationError, match="remote contact only"):
        record_long_term_contact(session, user=coordinator, participant_id=long_term.id,
                                 visit_name="year 3", done_on=date(2029, 1, 26))  # fmt: skip
    trail = session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "disposition_change", AuditEntry.field == "status")).all()  # fmt: skip
    assert [(e.new_value, e.actor) for e in trail] == [('"withdrawn"', "cora")]
    assert trail[0].reason.startswith("disposition: withdrawn")


def test_disposition_history_is_append_only(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    change = record_disposition(
        session,
        user=coordinator,
        participant_id=long_term.id,
        now=NOW,
        facts=DispositionFacts("completed_main_study", date(2027, 1, 30)),
    )
    record_disposition(
        session,
        user=coordinator,
        participant_id=long_term.id,
        now=NOW,
        facts=DispositionFacts("long_term_follow_up", date(2027, 2, 1)),
    )
    history = list_disposition_changes(session, coordinator, long_term.id)
    assert [c.status for c in history] == ["completed_main_study", "long_term_follow_up"]
    assert current_disposition(session, long_term.id).status == "long_term_follow_up"
    change.reason = "edited"
    with pytest.raises(AuditError):
        session.commit()
    session.rollback()


def test_lost_to_follow_up_after_the_contact_attempts(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    lost = DispositionFacts("lost_to_follow_up", date(2029, 6, 1))
    for day, method in ((date(2029, 3, 1), "phone"), (date(2029, 4, 1), "letter")):
        record_contact_attempt(session, user=coordinator, participant_id=long_term.id,
                               facts=ContactAttemptFacts(day, method, "no_answer"))  # fmt: skip
    with pytest.raises(RuleViolationError, match=r"\(2 so far\)"):
        record_disposition(session, user=coordinator, participant_id=long_term.id, facts=lost)
    record_contact_attempt(session, user=coordinator, participant_id=long_term.id,
                           facts=ContactAttemptFacts(date(2029, 5, 1), "general_practitioner",
                                                     "returned_undelivered", "moved"))  # fmt: skip
    record_disposition(session, user=coordinator, participant_id=long_term.id, facts=lost, now=NOW)
    rows = {r.name: r for r in visit_schedule(session, long_term.id, date(2030, 1, 1))}
    assert rows["year 4"].status == "due"  # the site keeps trying


def test_autopsy_without_autopsy_consent_is_refused(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    _sign(session, coordinator, long_term, contact=True, autopsy=False)
    died = DispositionFacts("died", date(2030, 2, 3), "", death_date=date(2030, 2, 1),
                            death_cause="pneumonia", autopsy_asked=True, autopsy_done=True,
                            death_related_to_product="not_related")  # fmt: skip
    with pytest.raises(ConsentRequiredError, match="not consented to autopsy"):
        record_disposition(session, user=coordinator, participant_id=long_term.id, facts=died)
    assert current_disposition(session, long_term.id) is None
    _sign(session, coordinator, long_term, contact=True, autopsy=True)
    record_disposition(session, user=coordinator, participant_id=long_term.id, facts=died, now=NOW)
    rows = visit_schedule(session, long_term.id, date(2031, 1, 1))
    assert {r.label for r in rows if r.long_term} == {"missed: participant died on 2030-02-01"}
    with pytest.raises(RuleViolationError, match="no contact"):
        record_contact_attempt(
            session,
            user=coordinator,
            participant_id=long_term.id,
            facts=ContactAttemptFacts(date(2030, 3, 1), "phone", "no_answer"),
        )


def test_reconsent_due_when_a_new_version_asks_for_it(
    session: Session, long_term: Participant, coordinator: User, admin: User
) -> None:
    _sign(session, coordinator, long_term, contact=True, autopsy=False)
    add_consent_version(session, user=admin, protocol_id=PROTOCOL, facts=ConsentVersionFacts(
        "2.0", date(2028, 1, 1), ("long_term_contact", "autopsy", "future_sample_use"), True,
        summary="tumour surveillance by MRI to year 5"))  # fmt: skip
    status = consent_statuses(session, [long_term], date(2028, 2, 1))[long_term.id]
    assert status.reconsent_due is not None and status.reconsent_due.version == "2.0"
    with pytest.raises(InvalidValueError, match="signed_on"):
        record_consent(session, user=coordinator, participant_id=long_term.id, version="2.0",
                       signed_on=date(2027, 12, 1), items={})  # fmt: skip
    record_consent(session, user=coordinator, participant_id=long_term.id, version="2.0",
                   signed_on=date(2028, 2, 3), items={"long_term_contact": True,
                   "autopsy": True, "future_sample_use": False})  # fmt: skip
    status = consent_statuses(session, [long_term], date(2028, 3, 1))[long_term.id]
    assert status.reconsent_due is None
    assert consent_items(session, long_term.id) == {
        "long_term_contact": True, "autopsy": True, "future_sample_use": False}  # fmt: skip
    with pytest.raises(NotFoundError):
        record_consent(session, user=coordinator, participant_id=long_term.id, version="9",
                       signed_on=date(2028, 2, 3), items={})  # fmt: skip


def _second_site_recipient(session: Session, admin: User) -> Participant:
    add_site(
        session, user=acting_as("admin"), protocol_id=PROTOCOL, code="S02", name="Other Hospital"
    )
    return enroll_participant(
        session, user=acting_as("admin"), protocol_id=PROTOCOL, site_code="S02", study_id="Q001",
        injury_date=INJURY, injury_level="T4", injury_mechanism="fall", age_at_injury=40,
        sex="F", transplant_date=TRANSPLANT,
    )  # fmt: skip


def _give(session: Session, p: Participant, lot: str, day: int) -> None:
    administer_cells(
        session, user=acting_as("admin"), participant_id=p.id, lot_number=lot, dose_cells=2_000_000,
        volume_ml=0.02, injection_site="epicentre",
        administered_at=datetime(2026, 1, day, 10, tzinfo=UTC), operator="Dr S",
        identity_checked_by="RN", participant_identity_confirmed=True,
        product_identity_confirmed=True,
    )  # fmt: skip


def test_look_back_from_lot_line_and_donor_is_site_scoped(
    session: Session, long_term: Participant, coordinator: User, admin: User
) -> None:
    other = _second_site_recipient(session, admin)
    add_ipsc_line(
        session, user=acting_as("admin"), name="LINE-1", description="d", donor_id="DONOR-7"
    )
    add_ipsc_line(session, user=acting_as("admin"), name="LINE-2", description="d")
    add_specification(session, user=acting_as("admin"), spec_version="v1",
                      limits={"viability": {"min": 70}})  # fmt: skip
    for lot, line in (("LOT-A", "LINE-1"), ("LOT-B", "LINE-1"), ("LOT-C", "LINE-2")):
        register_lot(
            session,
            user=acting_as("admin"),
            lot_number=lot,
            ipsc_line=line,
            spec_version="v1",
            manufactured_on=date(2025, 12, 1),
            expiry_date=date(2026, 12, 1),
        )
        record_release_test(
            session,
            user=acting_as("admin"),
            lot_number=lot,
            test="viability",
            tested_on=date(2025, 12, 2),
            tested_by="QC",
            value=90.0,
        )
        release_lot(session, user=acting_as("admin"), lot_number=lot, today=date(2025, 12, 3))
    _give(session, long_term, "LOT-A", 26)
    _give(session, other, "LOT-B", 27)
    everyone = look_back(session, admin, donor_id="DONOR-7")
    assert [(e.study_id, e.lot_number, e.ipsc_line) for e in everyone] == [
        ("P001", "LOT-A", "LINE-1"), ("Q001", "LOT-B", "LINE-1")]  # fmt: skip
    assert [e.study_id for e in look_back(session, admin, ipsc_line="LINE-1")] == ["P001", "Q001"]
    assert [e.study_id for e in look_back(session, admin, lot_number="LOT-B")] == ["Q001"]
    assert look_back(session, admin, lot_number="LOT-C") == []
    # a coordinator of site S01 sees only S01's recipient
    assert [e.study_id for e in look_back(session, coordinator, donor_id="DONOR-7")] == ["P001"]
    chain = product_chain(session, admin, other.id)
    assert [(c.lot_number, c.ipsc_line, c.donor_id) for c in chain] == [
        ("LOT-B", "LINE-1", "DONOR-7")]  # fmt: skip
    with pytest.raises(NotFoundError):
        product_chain(session, coordinator, other.id)
    with pytest.raises(NotFoundError):
        look_back(session, admin, donor_id="NOBODY")
    with pytest.raises(InvalidValueError, match="exactly one"):
        look_back(session, admin, lot_number="LOT-A", donor_id="DONOR-7")


def test_timeline_gathers_every_provider_in_date_order(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    _sign(session, coordinator, long_term, contact=True, autopsy=False)
    record_contact_attempt(
        session,
        user=coordinator,
        participant_id=long_term.id,
        facts=ContactAttemptFacts(date(2029, 3, 1), "phone", "reached"),
    )
    record_disposition(
        session,
        user=coordinator,
        participant_id=long_term.id,
        now=NOW,
        facts=DispositionFacts("completed_main_study", date(2027, 1, 30)),
    )

    def mri(session: Session, user: User, p: Participant, today: date) -> list[TimelineEntry]:
        return [TimelineEntry(date(2027, 1, 20), "mri", "MRI: stable", "", "stable")]

    register_timeline_provider(mri)
    try:
        entries = participant_timeline(session, coordinator, long_term.id, date(2029, 6, 1))
    finally:
        TIMELINE_PROVIDERS.remove(mri)
    kinds = [e.kind for e in entries]
    assert {"visit", "long-term visit", "consent", "contact attempt", "disposition", "mri"} <= set(
        kinds
    )
    dated = [e.on for e in entries if e.on is not None]
    assert dated == sorted(dated)
    titles = [e.title for e in entries]
    assert titles.index("MRI: stable") < titles.index("completed main study")


def test_participant_history_holds_dispositions_contacts_and_consents(
    session: Session, long_term: Participant, coordinator: User
) -> None:
    from cordtrial.trial.services.reads import participant_audit_scope

    _sign(session, coordinator, long_term, contact=True, autopsy=False)
    attempt = record_contact_attempt(
        session, user=coordinator, participant_id=long_term.id,
        facts=ContactAttemptFacts(date(2029, 3, 1), "phone", "no_answer"),
    )  # fmt: skip
    change = record_disposition(
        session, user=coordinator, participant_id=long_term.id, now=NOW,
        facts=DispositionFacts("completed_main_study", date(2027, 1, 30)),
    )  # fmt: skip
    scope = participant_audit_scope(session, long_term.id)
    assert scope["contact_attempt"] == [attempt.id]
    assert scope["disposition_change"] == [change.id]
    assert len(scope["consent_signature"]) == 1


def _treated(session: Session, p: Participant) -> None:
    add_ipsc_line(session, user=acting_as("admin"), name="LINE-M", description="d")
    add_specification(session, user=acting_as("admin"), spec_version="vM",
                      limits={"viability": {"min": 70}})  # fmt: skip
    register_lot(
        session, user=acting_as("admin"), lot_number="LOT-M", ipsc_line="LINE-M",
        spec_version="vM", manufactured_on=date(2025, 12, 1), expiry_date=date(2026, 12, 1),
    )  # fmt: skip
    record_release_test(
        session, user=acting_as("admin"), lot_number="LOT-M", test="viability",
        tested_on=date(2025, 12, 2), tested_by="QC", value=90.0,
    )  # fmt: skip
    release_lot(session, user=acting_as("admin"), lot_number="LOT-M", today=date(2025, 12, 3))
    _give(session, p, "LOT-M", 26)


def test_an_mri_in_the_window_completes_the_visit_and_shows_on_the_timeline(
    session: Session, long_term: Participant, admin: User
) -> None:
    """Issue 14: a long-term visit that requires an MRI is done once the participant's MRI
    falls in its window; the timeline lists the MRI with where its reading stands."""
    from cordtrial.trial.services.exams import record_exam
    from cordtrial.trial.services.imaging import record_mri

    from ..conftest import complete_c5_cells

    _sign(session, admin, long_term, contact=True, autopsy=False)
    _treated(session, long_term)
    on = date(2028, 1, 26)  # year 2's target (day 0 2026-01-26 + 730)
    record_exam(session, user=admin, participant_id=long_term.id, examined_on=on,
                examiner="Dr E", cells=complete_c5_cells(), visit_name="year 2")  # fmt: skip
    row = {r.name: r for r in visit_schedule(session, long_term.id, on)}["year 2"]
    assert row.status == "partly done" and row.missing == ("MRI",)
    record_mri(
        session, admin, participant_id=long_term.id, acquired_on=on + timedelta(days=3),
        imaging_site="S01 radiology", field_strength_t=3.0, sequences=["sagittal T2"],
        study_instance_uid="1.2.826.0.1.3680043.8.498.77",
    )  # fmt: skip
    row = {r.name: r for r in visit_schedule(session, long_term.id, on)}["year 2"]
    assert row.status == "done", row
    mris = [e for e in participant_timeline(session, admin, long_term.id, on) if e.kind == "mri"]
    assert [(e.on, e.title) for e in mris] == [(on + timedelta(days=3), "MRI 3 T, day 733")]
    assert mris[0].state == "not assigned"


def test_an_exam_at_a_long_term_visit_needs_consent_to_long_term_contact(
    session: Session, long_term: Participant, admin: User
) -> None:
    from cordtrial.trial.services.exams import record_exam

    from ..conftest import complete_c5_cells

    _sign(session, admin, long_term, contact=False, autopsy=False)
    with pytest.raises(ConsentRequiredError, match=r"long.term contact"):
        record_exam(session, user=admin, participant_id=long_term.id,
                    examined_on=date(2028, 1, 26), examiner="Dr E", cells=complete_c5_cells(),
                    visit_name="year 2")  # fmt: skip
