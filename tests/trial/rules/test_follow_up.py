"""Long-term follow-up rules: disposition fields, allowed transitions, what a disposition leaves
due, contact attempts, yearly visits; consent items and re-consent (pure, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from cordtrial.trial.errors import ConsentRequiredError, InvalidValueError, RuleViolationError
from cordtrial.trial.rules.consent import (
    ConsentVersionFacts,
    SignedConsent,
    check_consent_items,
    check_consent_version,
    consent_items_given,
    reconsent_due,
    require_consent,
)
from cordtrial.trial.rules.follow_up import (
    ALLOWED_TRANSITIONS,
    MIN_CONTACT_ATTEMPTS,
    ContactAttemptFacts,
    DispositionFacts,
    check_contact_attempt,
    check_disposition,
    check_transition,
    visit_not_expected,
    yearly_visits,
)
from cordtrial.trial.rules.schedule import VisitSpec

D = date(2030, 3, 1)
WITHDRAWN_REMOTE = DispositionFacts("withdrawn", D, "moved abroad", True, True)
WITHDRAWN = DispositionFacts("withdrawn", D, "no longer wishes to take part", False, False)
DIED = DispositionFacts("died", D, "", death_date=date(2030, 2, 20), death_cause="pneumonia",
                        autopsy_asked=True, autopsy_done=False,
                        death_related_to_product="not_related")  # fmt: skip
PHONE = VisitSpec("year 6", 2192, 90, 90, (), contact_mode="phone", long_term=True)
CLINIC = VisitSpec("year 3", 1096, 60, 60, ("isncsci", "mri"), long_term=True)
MAIN = VisitSpec("week 52", 364, 28, 28)


def test_withdrawal_needs_reason_data_use_and_recontact() -> None:
    with pytest.raises(InvalidValueError, match="reason"):
        check_disposition(DispositionFacts("withdrawn", D, "", True, True))
    with pytest.raises(InvalidValueError, match="recontact_allowed"):
        check_disposition(DispositionFacts("withdrawn", D, "moved", True, None))
    assert check_disposition(WITHDRAWN_REMOTE).label == (
        "withdrawn (re-contact allowed; data may be used)"
    )


def test_death_needs_date_cause_autopsy_and_relation() -> None:
    with pytest.raises(InvalidValueError, match="death_date"):
        check_disposition(DispositionFacts("died", D, "", death_cause="x", autopsy_asked=False,
                                           autopsy_done=False,
                                           death_related_to_product="not_related"))  # fmt: skip
    with pytest.raises(InvalidValueError, match="death_related_to_product"):
        check_disposition(DispositionFacts("died", D, "", death_date=D, death_cause="x",
                                           autopsy_asked=False, autopsy_done=False,
                                           death_related_to_product="maybe"))  # fmt: skip
    assert check_disposition(DIED).label == "died on 2030-02-20"


def test_autopsy_done_without_being_asked_is_refused() -> None:
    facts = DispositionFacts("died", D, "", death_date=D, death_cause="x", autopsy_asked=False,
                             autopsy_done=True, death_related_to_product="unlikely")  # fmt: skip
    with pytest.raises(InvalidValueError, match="autopsy_done"):
        check_disposition(facts)


def test_death_fields_are_refused_for_another_status() -> None:
    with pytest.raises(InvalidValueError, match="death_date"):
        check_disposition(DispositionFacts("long_term_follow_up", D, death_date=D))


def test_death_is_final_and_withdrawal_only_leads_to_death() -> None:
    with pytest.raises(RuleViolationError, match="died cannot become active"):
        check_transition(DIED, DispositionFacts("active", D))
    with pytest.raises(RuleViolationError, match="allowed: died"):
        check_transition(WITHDRAWN, DispositionFacts("long_term_follow_up", D))
    check_transition(WITHDRAWN, DIED)
    assert ALLOWED_TRANSITIONS["died"] == frozenset()


def test_no_disposition_reads_as_active() -> None:
    check_transition(None, DispositionFacts("completed_main_study", D))
    with pytest.raises(RuleViolationError, match="active cannot become active"):
        check_transition(None, DispositionFacts("active", D))


def test_a_change_dated_before_the_current_one_is_refused() -> None:
    current = DispositionFacts("completed_main_study", D)
    with pytest.raises(RuleViolationError, match="before the current"):
        check_transition(current, DispositionFacts("long_term_follow_up", date(2030, 1, 1)))


def test_lost_to_follow_up_needs_the_contact_attempts_first() -> None:
    lost = DispositionFacts("lost_to_follow_up", D)
    with pytest.raises(RuleViolationError, match="3 unsuccessful contact attempts"):
        check_transition(None, lost, unsuccessful_attempts=MIN_CONTACT_ATTEMPTS - 1)
    check_transition(None, lost, unsuccessful_attempts=MIN_CONTACT_ATTEMPTS)


def test_lost_participant_found_again_returns_to_follow_up() -> None:
    check_transition(DispositionFacts("lost_to_follow_up", D),
                     DispositionFacts("long_term_follow_up", date(2030, 6, 1)))  # fmt: skip


def test_nothing_is_due_after_death_or_withdrawal_without_recontact() -> None:
    for spec in (PHONE, CLINIC, MAIN):
        assert visit_not_expected(DIED, spec, done=False) == "participant died on 2030-02-20"
        assert "no re-contact" in (visit_not_expected(WITHDRAWN, spec, done=False) or "")


def test_withdrawal_with_recontact_leaves_only_remote_visits_due() -> None:
    assert visit_not_expected(WITHDRAWN_REMOTE, PHONE, done=False) is None
    assert "remote contact only" in (visit_not_expected(WITHDRAWN_REMOTE, CLINIC, done=False) or "")


def test_a_visit_done_keeps_its_state_and_lost_participants_stay_due() -> None:
    assert visit_not_expected(DIED, CLINIC, done=True) is None
    assert visit_not_expected(DispositionFacts("lost_to_follow_up", D), CLINIC, done=False) is None
    assert visit_not_expected(None, CLINIC, done=False) is None


def test_completed_main_study_without_long_term_follow_up_drops_long_term_visits() -> None:
    completed = DispositionFacts("completed_main_study", D)
    assert "not in long-term follow-up" in (visit_not_expected(completed, PHONE, done=False) or "")
    assert visit_not_expected(completed, MAIN, done=False) is None


def test_contact_attempt_vocabularies_are_checked() -> None:
    with pytest.raises(InvalidValueError, match="method"):
        check_contact_attempt(ContactAttemptFacts(D, "pigeon", "no_answer"))
    with pytest.raises(InvalidValueError, match="outcome"):
        check_contact_attempt(ContactAttemptFacts(D, "phone", "maybe"))
    assert not ContactAttemptFacts(D, "phone", "no_answer").successful
    assert ContactAttemptFacts(D, "letter", "reached").successful


def test_yearly_visits_fall_a_year_apart_and_are_long_term() -> None:
    visits = yearly_visits(2, 5, requires=("isncsci", "mri"))
    assert [v.name for v in visits] == ["year 2", "year 3", "year 4", "year 5"]
    assert [v.target_day for v in visits] == [730, 1096, 1461, 1826]  # round(365.25 * n)
    assert all(v.long_term and v.requires == ("isncsci", "mri") for v in visits)
    with pytest.raises(InvalidValueError, match="contact_mode"):
        yearly_visits(6, 7, contact_mode="carrier pigeon")


V1 = ConsentVersionFacts("1.0", date(2026, 1, 1), ("long_term_contact", "autopsy"))
V2 = ConsentVersionFacts("2.0", date(2028, 1, 1), ("long_term_contact", "autopsy",
                                                    "future_sample_use"), True)  # fmt: skip
V3_LT = ConsentVersionFacts("3.0", date(2029, 1, 1), ("long_term_contact",), True, "long_term")


def test_consent_version_items_are_checked_and_ordered() -> None:
    facts = check_consent_version(ConsentVersionFacts("1", D, ("autopsy", "long_term_contact")))
    assert facts.items == ("long_term_contact", "autopsy")
    with pytest.raises(InvalidValueError, match="items"):
        check_consent_version(ConsentVersionFacts("1", D, ("organ donation",)))
    with pytest.raises(InvalidValueError, match="applies_to"):
        check_consent_version(ConsentVersionFacts("1", D, (), True, "some"))


def test_every_item_a_version_asks_is_answered_yes_or_no() -> None:
    with pytest.raises(InvalidValueError, match=r"items\.autopsy"):
        check_consent_items(V1, {"long_term_contact": True})
    with pytest.raises(InvalidValueError, match="future_sample_use"):
        check_consent_items(V1, {"long_term_contact": True, "autopsy": False,
                                 "future_sample_use": True})  # fmt: skip
    assert check_consent_items(V1, {"long_term_contact": True, "autopsy": False}) == {
        "long_term_contact": True, "autopsy": False}  # fmt: skip


def test_items_given_are_those_of_the_latest_version_signed() -> None:
    signed = [
        SignedConsent("1.0", V1.effective_on, date(2026, 2, 1), {"autopsy": True}),
        SignedConsent("2.0", V2.effective_on, date(2028, 3, 1), {"autopsy": False}),
    ]
    assert consent_items_given(signed) == {"autopsy": False}
    assert consent_items_given([]) == {}


def test_missing_consent_is_refused_naming_the_item() -> None:
    with pytest.raises(ConsentRequiredError, match="not consented to autopsy") as info:
        require_consent("A-001", {"autopsy": False}, "autopsy", "an autopsy")
    assert info.value.item == "autopsy"
    require_consent("A-001", {"autopsy": True}, "autopsy", "an autopsy")


def test_reconsent_is_due_for_a_new_version_that_asks_for_it() -> None:
    signed = [SignedConsent("1.0", V1.effective_on, date(2026, 2, 1), {})]
    assert reconsent_due([V1, V2], signed, date(2027, 12, 31), None) is None  # not yet effective
    assert reconsent_due([V1, V2], signed, date(2028, 1, 2), None) == V2
    resigned = [*signed, SignedConsent("2.0", V2.effective_on, date(2028, 2, 1), {})]
    assert reconsent_due([V1, V2], resigned, date(2028, 3, 1), None) is None


def test_reconsent_for_long_term_applies_only_in_long_term_follow_up() -> None:
    signed = [SignedConsent("2.0", V2.effective_on, date(2028, 2, 1), {})]
    today = date(2029, 6, 1)
    assert reconsent_due([V1, V2, V3_LT], signed, today, None) is None
    in_lt = DispositionFacts("long_term_follow_up", date(2029, 2, 1))
    assert reconsent_due([V1, V2, V3_LT], signed, today, in_lt) == V3_LT


def test_no_reconsent_is_asked_of_the_dead_lost_or_withdrawn_without_recontact() -> None:
    signed = [SignedConsent("1.0", V1.effective_on, date(2026, 2, 1), {})]
    assert reconsent_due([V1, V2], signed, date(2029, 1, 1), DIED) is None
    assert reconsent_due([V1, V2], signed, date(2029, 1, 1), WITHDRAWN) is None
    lost = DispositionFacts("lost_to_follow_up", date(2028, 6, 1))
    assert reconsent_due([V1, V2], signed, date(2029, 1, 1), lost) is None
    assert reconsent_due([V1, V2], signed, date(2029, 1, 1), WITHDRAWN_REMOTE) == V2
