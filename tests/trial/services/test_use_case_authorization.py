"""Authorization is decided by the use cases (issue 12): every service that changes data (or
reads the audit trail, or the accounts) refuses, by itself and without the web layer, a user
whose role lacks the action and a user of another site, and writes nothing when it refuses.

The roles are derived from the permission table (``PERMISSIONS``): for each service the test
takes a role that lacks its action, and a role that has it but is scoped to another site. A
third case checks that the same call by an administrator gets past the permission check, so
that each refusal is owed to the permission and not to the call's arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import AccessDeniedError, NotFoundError, TrialError
from cordtrial.trial.models import AuditEntry, Participant, Trial, User, WisciAssessment
from cordtrial.trial.rules.access import PERMISSIONS, ROLES, Action
from cordtrial.trial.rules.eligibility import EligibilityCriteria
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.exams import correct_exam, reclassify_exams, record_exam
from cordtrial.trial.services.measures import (
    correct_measure,
    record_scim,
    record_six_minute_walk,
    record_ten_metre_walk,
    record_wisci,
)
from cordtrial.trial.services.participants import (
    assess_eligibility,
    enroll_participant,
    update_participant,
)
from cordtrial.trial.services.product import (
    add_ipsc_line,
    add_specification,
    administer_cells,
    expire_lots,
    record_custody_event,
    record_release_test,
    register_lot,
    reject_lot,
    release_lot,
)
from cordtrial.trial.services.queries import answer_query, close_query, raise_query
from cordtrial.trial.services.randomization import create_allocation_list, randomize
from cordtrial.trial.services.reads import (
    audit_scope,
    audit_verification,
    list_participants,
    visible_participant,
)
from cordtrial.trial.services.records import delete_record
from cordtrial.trial.services.safety import (
    add_follow_up,
    record_expedited_submission,
    report_adverse_event,
    update_adverse_event,
)
from cordtrial.trial.services.signatures import sign_exam
from cordtrial.trial.services.trials import (
    ArmSpec,
    add_site,
    amend_eligibility,
    create_trial,
    set_coordinators_see_stopping_rule,
)
from cordtrial.trial.services.users import (
    add_user,
    assign_sites,
    change_role,
    list_accounts,
    reset_password,
    set_active,
    unlock_user,
    update_user,
)
from cordtrial.trial.services.visits import (
    choose_exam_of_record,
    mark_visit_missed,
    record_visit_done,
)

from ..conftest import INJURY, PROTOCOL, TRANSPLANT, complete_c5_cells

SRC = Path(__file__).resolve().parents[3] / "src" / "cordtrial"
NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
DAY = date(2026, 2, 10)
PASSWORD = "a long enough passphrase"
LIMITS = {"viability": {"min": 70}, "sterility": {"expected": "no growth"}}


@dataclass
class World:
    """Records of a participant at site S01 (the trial also has S02), a lot and an account."""

    site: int
    other_site: int
    participant: int
    exam: int
    wisci: int
    event: int
    query: int
    account: int


@pytest.fixture
def world(session: Session, trial: Trial, participant: Participant) -> World:
    admin = acting_as()
    other = add_site(session, user=admin, protocol_id=PROTOCOL, code="S02", name="Two")
    exam = record_exam(
        session, user=admin, participant_id=participant.id, examined_on=date(2026, 1, 20),
        examiner="Dr A", cells=complete_c5_cells(), visit_name="screening",
    )  # fmt: skip
    wisci = record_wisci(
        session, user=admin, participant_id=participant.id, assessed_on=DAY, assessor="PT",
        level=1,
    )  # fmt: skip
    event = report_adverse_event(session, user=admin, participant_id=participant.id, **_AE)
    query = raise_query(
        session, user=admin, participant_id=participant.id, entity="participant",
        entity_id=participant.id, text="Age?", now=NOW,
    )  # fmt: skip
    add_ipsc_line(session, user=admin, name="iPSC-01", description="line")
    add_specification(session, user=admin, spec_version="v1", limits=LIMITS)
    register_lot(
        session, user=admin, lot_number="L001", ipsc_line="iPSC-01", spec_version="v1",
        manufactured_on=date(2026, 1, 2), expiry_date=date(2026, 6, 30),
    )  # fmt: skip
    account = add_user(session, user=admin, username="cora", password=PASSWORD, role="monitor")
    return World(
        participant.site_id, other.id, participant.id, exam.id, wisci.id, event.id, query.id,
        account.id,
    )  # fmt: skip


_AE: dict[str, Any] = {
    "term": "Headache", "category": "other", "onset_date": date(2026, 2, 3),
    "awareness_date": date(2026, 2, 3), "ctcae_grade": 1, "serious_criteria": [],
    "related_to_cells": "not_related", "related_to_procedure": "possible",
    "related_to_immunosuppression": "not_related", "expectedness": "expected",
    "outcome": "recovering",
}  # fmt: skip
_ENROL: dict[str, Any] = {
    "protocol_id": PROTOCOL, "site_code": "S01", "study_id": "P099", "injury_date": INJURY,
    "injury_level": "C5", "injury_mechanism": "fall", "age_at_injury": 30, "sex": "F",
}  # fmt: skip
_ADMINISTER: dict[str, Any] = {
    "lot_number": "L001", "dose_cells": 2_000_000, "volume_ml": 0.1,
    "injection_site": "intraspinal", "administered_at": NOW, "operator": "Dr S",
    "identity_checked_by": "Nurse C", "participant_identity_confirmed": True,
    "product_identity_confirmed": True,
}  # fmt: skip

Call = Callable[[Session, User, World], object]

#: Every use case that changes data, and the reads that need more than ``read``: (name, the
#: action it needs, whether the action is taken at the participant's site, the call).
USE_CASES: list[tuple[str, Action, bool, Call]] = [
    ("create_trial", "manage_trial", False, lambda s, u, w: create_trial(
        s, user=u, protocol_id="T2", title="t", phase="1", arms=[ArmSpec("a", "A")],
        visits=[VisitSpec("day 0", 0, 0, 0)])),
    ("add_site", "manage_trial", False, lambda s, u, w: add_site(
        s, user=u, protocol_id=PROTOCOL, code="S09", name="Nine")),
    ("amend_eligibility", "manage_trial", False, lambda s, u, w: amend_eligibility(
        s, user=u, protocol_id=PROTOCOL, criteria=EligibilityCriteria(), reason="amendment")),
    ("set_coordinators_see_stopping_rule", "manage_trial", False,
     lambda s, u, w: set_coordinators_see_stopping_rule(
        s, user=u, protocol_id=PROTOCOL, visible=True, reason="charter")),
    ("create_allocation_list", "manage_trial", False, lambda s, u, w: create_allocation_list(
        s, user=u, protocol_id=PROTOCOL, seed="seed", strata=["site=S01"], block_sizes=[2],
        per_stratum=2)),
    ("reclassify_exams", "manage_trial", False, lambda s, u, w: reclassify_exams(s, user=u)),
    ("enroll_participant", "enrol", True, lambda s, u, w: enroll_participant(
        s, user=u, **_ENROL)),
    ("update_participant", "correct_data", True, lambda s, u, w: update_participant(
        s, user=u, participant_id=w.participant, reason="typo", age_at_injury=35)),
    ("assess_eligibility", "assess_eligibility", True, lambda s, u, w: assess_eligibility(
        s, user=u, participant_id=w.participant, assessed_on=date(2026, 1, 21))),
    ("randomize", "randomize", True, lambda s, u, w: randomize(
        s, user=u, participant_id=w.participant)),
    ("record_visit_done", "enter_data", True, lambda s, u, w: record_visit_done(
        s, user=u, participant_id=w.participant, visit_name="day 0", done_on=TRANSPLANT)),
    ("mark_visit_missed", "enter_data", True, lambda s, u, w: mark_visit_missed(
        s, user=u, participant_id=w.participant, visit_name="week 52", reason="moved",
        today=DAY)),
    ("record_exam", "enter_data", True, lambda s, u, w: record_exam(
        s, user=u, participant_id=w.participant, examined_on=DAY, examiner="Dr B",
        cells=complete_c5_cells())),
    ("correct_exam", "correct_data", True, lambda s, u, w: correct_exam(
        s, user=u, exam_id=w.exam, reason="typo", examiner="Dr C")),
    ("choose_exam_of_record", "enter_data", True, lambda s, u, w: choose_exam_of_record(
        s, user=u, exam_id=w.exam, reason="the better exam")),
    ("sign_exam", "sign", True, lambda s, u, w: sign_exam(
        s, user=u, password=PASSWORD, exam_id=w.exam, now=NOW)),
    ("record_scim", "enter_data", True, lambda s, u, w: record_scim(
        s, user=u, participant_id=w.participant, assessed_on=DAY, assessor="PT",
        self_care=5, respiration_sphincter=10, mobility=3)),
    ("record_wisci", "enter_data", True, lambda s, u, w: record_wisci(
        s, user=u, participant_id=w.participant, assessed_on=DAY, assessor="PT", level=2)),
    ("record_ten_metre_walk", "enter_data", True, lambda s, u, w: record_ten_metre_walk(
        s, user=u, participant_id=w.participant, assessed_on=DAY, assessor="PT",
        seconds=20.5, start_mode="standing")),
    ("record_six_minute_walk", "enter_data", True, lambda s, u, w: record_six_minute_walk(
        s, user=u, participant_id=w.participant, assessed_on=DAY, assessor="PT", metres=120,
        track_length_m=30)),
    ("correct_measure", "correct_data", True, lambda s, u, w: correct_measure(
        s, WisciAssessment, user=u, measure_id=w.wisci, reason="typo", level=3)),
    ("delete_record", "correct_data", True, lambda s, u, w: delete_record(
        s, WisciAssessment, user=u, record_id=w.wisci, reason="entered in error")),
    ("report_adverse_event", "report_adverse_event", True, lambda s, u, w: report_adverse_event(
        s, user=u, participant_id=w.participant, **_AE)),
    ("update_adverse_event", "report_adverse_event", True, lambda s, u, w: update_adverse_event(
        s, user=u, event_id=w.event, reason="follow-up", outcome="recovered",
        resolution_date=DAY)),
    ("record_expedited_submission", "report_adverse_event", True,
     lambda s, u, w: record_expedited_submission(
        s, user=u, event_id=w.event, submitted_on=DAY, authority="PMDA", reference="R1")),
    ("add_follow_up", "report_adverse_event", True, lambda s, u, w: add_follow_up(
        s, user=u, event_id=w.event, reported_on=DAY, text="better")),
    ("raise_query", "raise_query", True, lambda s, u, w: raise_query(
        s, user=u, participant_id=w.participant, entity="participant", entity_id=w.participant,
        text="Sex?", now=NOW)),
    ("answer_query", "answer_query", True, lambda s, u, w: answer_query(
        s, user=u, query_id=w.query, answer="34", now=NOW)),
    ("close_query", "close_query", True, lambda s, u, w: close_query(
        s, user=u, query_id=w.query, now=NOW)),
    ("administer_cells", "administer", True, lambda s, u, w: administer_cells(
        s, user=u, participant_id=w.participant, **_ADMINISTER)),
    ("add_ipsc_line", "manage_product", False, lambda s, u, w: add_ipsc_line(
        s, user=u, name="iPSC-02", description="another line")),
    ("add_specification", "manage_product", False, lambda s, u, w: add_specification(
        s, user=u, spec_version="v2", limits=LIMITS)),
    ("register_lot", "manage_product", False, lambda s, u, w: register_lot(
        s, user=u, lot_number="L002", ipsc_line="iPSC-01", spec_version="v1",
        manufactured_on=date(2026, 1, 2), expiry_date=date(2026, 6, 30))),
    ("record_release_test", "manage_product", False, lambda s, u, w: record_release_test(
        s, user=u, lot_number="L001", test="viability", tested_on=DAY, tested_by="QC",
        value=90)),
    ("release_lot", "manage_product", False, lambda s, u, w: release_lot(
        s, user=u, lot_number="L001", today=DAY)),
    ("reject_lot", "manage_product", False, lambda s, u, w: reject_lot(
        s, user=u, lot_number="L001", reason="failed sterility")),
    ("record_custody_event", "manage_product", False, lambda s, u, w: record_custody_event(
        s, user=u, lot_number="L001", event="received", holder="Pharmacy", location="LN2",
        at=NOW)),
    ("expire_lots", "manage_product", False, lambda s, u, w: expire_lots(
        s, user=u, today=date(2026, 7, 1))),
    ("add_user", "manage_users", False, lambda s, u, w: add_user(
        s, user=u, username="newbie", password=PASSWORD, role="monitor")),
    ("reset_password", "manage_users", False, lambda s, u, w: reset_password(
        s, user=u, user_id=w.account, password="another long passphrase", reason="forgot",
        now=NOW)),
    ("unlock_user", "manage_users", False, lambda s, u, w: unlock_user(
        s, user=u, user_id=w.account, reason="help desk", now=NOW)),
    ("change_role", "manage_users", False, lambda s, u, w: change_role(
        s, user=u, user_id=w.account, role="coordinator", reason="new job")),
    ("assign_sites", "manage_users", False, lambda s, u, w: assign_sites(
        s, user=u, user_id=w.account, site_ids=[w.site], reason="moved")),
    ("set_active", "manage_users", False, lambda s, u, w: set_active(
        s, user=u, user_id=w.account, active=False, reason="left", now=NOW)),
    ("update_user", "manage_users", False, lambda s, u, w: update_user(
        s, user=u, user_id=w.account, full_name="Cora L.", reason="name", now=NOW)),
    ("list_accounts", "manage_users", False, lambda s, u, w: list_accounts(s, u)),
    ("audit_scope", "read_audit", False, lambda s, u, w: audit_scope(s, u)),
    ("audit_verification", "read_audit", False, lambda s, u, w: audit_verification(s, u)),
]  # fmt: skip

_IDS = [name for name, *_ in USE_CASES]


def _lacking(action: Action) -> str:
    """A role the permission table does not allow ``action``."""
    return next(r for r in sorted(ROLES) if action not in PERMISSIONS[r])  # type: ignore[index]


def _allowed_elsewhere(action: Action) -> str:
    """A role scoped to sites that the table allows ``action``."""
    return next(r for r in sorted(ROLES) if r != "admin" and action in PERMISSIONS[r])  # type: ignore[index]


def _audit_rows(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    session.rollback()
    return count


@pytest.mark.parametrize(("name", "action", "at_site", "call"), USE_CASES, ids=_IDS)
def test_use_case_refuses_a_role_without_the_action(
    session: Session, world: World, name: str, action: Action, at_site: bool, call: Call
) -> None:
    """The role lacks the action (its own site, even): refused, nothing written."""
    role = _lacking(action)
    user = acting_as(f"{role}_user", role, site_ids=[world.site])  # type: ignore[arg-type]
    before = _audit_rows(session)
    with pytest.raises(AccessDeniedError, match=f"{role}_user may not"):
        call(session, user, world)
    session.rollback()
    assert _audit_rows(session) == before


_SITE_CASES = [case for case in USE_CASES if case[2]]


@pytest.mark.parametrize(
    ("name", "action", "at_site", "call"), _SITE_CASES, ids=[c[0] for c in _SITE_CASES]
)
def test_use_case_refuses_a_user_of_another_site(
    session: Session, world: World, name: str, action: Action, at_site: bool, call: Call
) -> None:
    """The role allows the action, but only at site S02: the participant's record at S01 is
    not found (as if it did not exist) or the action refused there; nothing written."""
    role = _allowed_elsewhere(action)
    user = acting_as("elsewhere", role, site_ids=[world.other_site])  # type: ignore[arg-type]
    before = _audit_rows(session)
    with pytest.raises((NotFoundError, AccessDeniedError)):
        call(session, user, world)
    session.rollback()
    assert _audit_rows(session) == before


@pytest.mark.parametrize(("name", "action", "at_site", "call"), USE_CASES, ids=_IDS)
def test_use_case_lets_an_allowed_user_past_the_permission_check(
    session: Session, world: World, name: str, action: Action, at_site: bool, call: Call
) -> None:
    """The same call by an administrator is not refused for want of a permission (it may
    still be refused by a trial rule: no password of this made-up user, nothing to randomize
    against, no expedited report needed)."""
    try:
        call(session, acting_as(), world)
    except (AccessDeniedError, NotFoundError):
        raise
    except TrialError:
        session.rollback()


def test_reads_return_only_the_users_sites(session: Session, world: World) -> None:
    """A user of S02 does not see S01's participant, in the list or by id."""
    here = acting_as("here", "coordinator", site_ids=[world.site])
    elsewhere = acting_as("elsewhere", "coordinator", site_ids=[world.other_site])
    assert [p.id for p in list_participants(session, here, PROTOCOL)] == [world.participant]
    assert list_participants(session, elsewhere, PROTOCOL) == []
    with pytest.raises(NotFoundError):
        visible_participant(session, elsewhere, world.participant)


def test_inactive_user_is_refused_by_the_use_case(session: Session, world: World) -> None:
    """An inactive account may do nothing, whatever its role."""
    user = acting_as("gone")
    user.active = False
    with pytest.raises(AccessDeniedError):
        record_wisci(
            session, user=user, participant_id=world.participant, assessed_on=DAY,
            assessor="PT", level=2,
        )  # fmt: skip


#: Where the web layer still refuses by itself, and why: no use case of the trial store to ask.
#: ``deps.py``: a user who must change a password an administrator reset (a state of the login,
#: not a permission); ``pages/analysis.py``: the analysis page's roles and its every-site rule
#: for reports (the analysis layer reads the store without a user); ``pages/design.py``: the
#: trial-design calculators (no trial data).
WEB_REFUSALS = {"web/deps.py": 1, "web/pages/analysis.py": 2, "web/pages/design.py": 1}


def _count(pattern: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for path in sorted([*(SRC / "web").rglob("*.py"), *SRC.glob("*.py")]):
        count = path.read_text(encoding="utf-8").count(pattern)
        if count:
            found[path.relative_to(SRC).as_posix()] = count
    return found


def test_web_and_cli_leave_permission_checks_to_the_use_cases() -> None:
    """No route, page or command calls ``require_permission``: the use cases decide; the
    shells pass the user on and translate the answer. The few refusals the web makes itself
    are the known ones (``WEB_REFUSALS``)."""
    assert _count("require_permission(") == {}
    assert _count("AccessDeniedError(") == WEB_REFUSALS
