"""Long-term follow-up: a participant's disposition, the transitions allowed between
dispositions, what a disposition leaves due, contact attempts, and yearly long-term visits.

Grafted cells may persist for life and tumour formation is the defining risk of
pluripotent-stem-cell products, so participants are followed for years after the main study
(FDA, *Considerations for the Design of Early-Phase Clinical Trials of Cellular and Gene Therapy
Products*, 2015; the GRNOPC1 thoracic trial followed its participants for 10 years: McKenna et
al., *J Neurosurg Spine* 2022;37(3):321-330). How long, and how often, is the protocol's choice
(the follow-up of cell products is product-specific: ``shared/reference/mri-surveillance.md``
section 5).

A disposition is one of :data:`~cordtrial.trial.rules.vocabulary.DISPOSITIONS`; every change is
a new, append-only record (the history) and must follow :data:`ALLOWED_TRANSITIONS`. What a
disposition leaves due (:func:`visit_not_expected`): nothing after a death or a withdrawal
without re-contact; only remote visits (phone, questionnaire) after a withdrawal that still
allows re-contact; no long-term visit once the main study is completed without entering the
long-term follow-up. A participant lost to follow-up still has every visit due: the site keeps
trying (contact attempts) and a participant found again returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.rules.checks import check_choice, check_date, check_int, check_text
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.rules.vocabulary import (
    CONTACT_METHODS,
    CONTACT_OUTCOMES,
    DISPOSITIONS,
    RELATEDNESS,
    REMOTE_CONTACT_MODES,
    word,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "MIN_CONTACT_ATTEMPTS",
    "ContactAttemptFacts",
    "DispositionFacts",
    "check_contact_attempt",
    "check_disposition",
    "check_transition",
    "visit_not_expected",
    "yearly_visits",
]

#: The dispositions a participant may move to from each (``None``: no disposition recorded yet,
#: which reads as ``active``). A participant lost to follow-up may be found again; a death may
#: be learned after a withdrawal (from records the participant still allowed); death is final.
ALLOWED_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "active": frozenset(
        {"completed_main_study", "long_term_follow_up", "withdrawn", "lost_to_follow_up", "died"}
    ),
    "completed_main_study": frozenset(
        {"long_term_follow_up", "withdrawn", "lost_to_follow_up", "died"}
    ),
    "long_term_follow_up": frozenset({"withdrawn", "lost_to_follow_up", "died"}),
    "lost_to_follow_up": frozenset({"active", "long_term_follow_up", "withdrawn", "died"}),
    "withdrawn": frozenset({"died"}),
    "died": frozenset(),
}

#: Unsuccessful contact attempts recorded before a participant may be declared lost to
#: follow-up. A common protocol convention (three documented attempts by more than one method
#: is usual; synthetic choice here, the protocol decides).
MIN_CONTACT_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class DispositionFacts:
    """A disposition as recorded: the status, from when, and what comes with it.

    ``withdrawn`` needs the reason and whether the data already collected may still be used and
    whether the participant may be contacted again; ``died`` needs the date and cause of death,
    whether an autopsy was asked for and done, and the relation of the death to the product.
    """

    status: str
    effective_on: date
    reason: str = ""
    data_use_allowed: bool | None = None
    recontact_allowed: bool | None = None
    death_date: date | None = None
    death_cause: str | None = None
    autopsy_asked: bool | None = None
    autopsy_done: bool | None = None
    death_related_to_product: str | None = None

    @property
    def label(self) -> str:
        """The disposition in words, e.g. ``withdrawn (re-contact allowed)``."""
        text = DISPOSITIONS.get(self.status, self.status)
        if self.status == "withdrawn":
            contact = "re-contact allowed" if self.recontact_allowed else "no re-contact"
            data = "data may be used" if self.data_use_allowed else "data may not be used"
            return f"{text} ({contact}; {data})"
        if self.status == "died" and self.death_date is not None:
            return f"{text} on {self.death_date.isoformat()}"
        return text


def _need(field: str, value: object, allowed: str) -> None:
    if value is None:
        raise InvalidValueError(field, value, allowed, "is required")


def check_disposition(facts: DispositionFacts) -> DispositionFacts:
    """The fields each disposition requires, checked (InvalidValueError naming the field)."""
    check_choice("status", facts.status, DISPOSITIONS)
    check_date("effective_on", facts.effective_on)
    reason = check_text("reason", facts.reason, max_length=1000, required=False)
    if facts.status == "withdrawn":
        reason = check_text("reason", facts.reason, max_length=1000)
        _need("data_use_allowed", facts.data_use_allowed, "yes or no")
        _need("recontact_allowed", facts.recontact_allowed, "yes or no")
    if facts.status == "died":
        _need("death_date", facts.death_date, "the date of death")
        check_date("death_date", facts.death_date)
        if facts.death_date is not None and facts.death_date > facts.effective_on:
            raise InvalidValueError(
                "death_date", facts.death_date,
                f"on or before the disposition date {facts.effective_on.isoformat()}",
                "is too late",
            )  # fmt: skip
        check_text("death_cause", facts.death_cause, max_length=500)
        _need("autopsy_asked", facts.autopsy_asked, "yes or no")
        _need("autopsy_done", facts.autopsy_done, "yes or no")
        if facts.autopsy_done and not facts.autopsy_asked:
            raise InvalidValueError(
                "autopsy_done", True, "no, unless an autopsy was asked for", "contradicts"
            )
        check_choice("death_related_to_product", facts.death_related_to_product, RELATEDNESS)
    else:
        for name in ("death_date", "death_cause", "autopsy_asked", "autopsy_done",
                     "death_related_to_product"):  # fmt: skip
            if getattr(facts, name) not in (None, ""):
                raise InvalidValueError(
                    name, getattr(facts, name), "empty unless the participant died",
                    f"does not go with {word(facts.status)}",
                )  # fmt: skip
    if facts.status != "withdrawn":
        for name in ("data_use_allowed", "recontact_allowed"):
            if getattr(facts, name) is not None:
                raise InvalidValueError(
                    name, getattr(facts, name), "empty unless the participant withdrew",
                    f"does not go with {word(facts.status)}",
                )  # fmt: skip
    return DispositionFacts(
        facts.status, facts.effective_on, reason, facts.data_use_allowed,
        facts.recontact_allowed, facts.death_date,
        facts.death_cause.strip() if facts.death_cause else None, facts.autopsy_asked,
        facts.autopsy_done, facts.death_related_to_product,
    )  # fmt: skip


def check_transition(
    current: DispositionFacts | None,
    new: DispositionFacts,
    *,
    unsuccessful_attempts: int = 0,
) -> None:
    """Refuse (RuleViolationError) a disposition change the rules do not allow: a transition
    not in :data:`ALLOWED_TRANSITIONS`, a date before the current disposition's, or lost to
    follow-up declared before :data:`MIN_CONTACT_ATTEMPTS` unsuccessful contact attempts."""
    reasons = []
    status = current.status if current is not None else "active"
    if new.status not in ALLOWED_TRANSITIONS[status]:
        allowed = sorted(ALLOWED_TRANSITIONS[status], key=list(DISPOSITIONS).index)
        then = ", ".join(word(s) for s in allowed) if allowed else "nothing (it is final)"
        reasons.append(f"a participant {word(status)} cannot become {word(new.status)} "
                       f"(allowed: {then})")  # fmt: skip
    if current is not None and new.effective_on < current.effective_on:
        reasons.append(
            f"the date {new.effective_on.isoformat()} is before the current disposition's "
            f"({current.effective_on.isoformat()})"
        )
    if new.status == "lost_to_follow_up" and unsuccessful_attempts < MIN_CONTACT_ATTEMPTS:
        reasons.append(
            f"lost to follow-up needs {MIN_CONTACT_ATTEMPTS} unsuccessful contact attempts "
            f"recorded first ({unsuccessful_attempts} so far)"
        )
    if reasons:
        raise RuleViolationError("disposition change", reasons)


def visit_not_expected(
    current: DispositionFacts | None, spec: VisitSpec, *, done: bool
) -> str | None:
    """Why a visit is no longer expected under the participant's disposition, or None when it
    still is. A visit already done keeps its state."""
    if done or current is None:
        return None
    on = current.effective_on.isoformat()
    if current.status == "died":
        day = current.death_date.isoformat() if current.death_date else on
        return f"participant died on {day}"
    if current.status == "withdrawn":
        if not current.recontact_allowed:
            return f"participant withdrew on {on} (no re-contact)"
        if spec.contact_mode not in REMOTE_CONTACT_MODES:
            return f"participant withdrew on {on} (remote contact only)"
        return None
    if current.status == "completed_main_study" and spec.long_term:
        return f"main study completed on {on}; not in long-term follow-up"
    return None


@dataclass(frozen=True, slots=True)
class ContactAttemptFacts:
    """One attempt to reach a participant: when, how and what came of it."""

    attempted_on: date
    method: str
    outcome: str
    note: str = ""

    @property
    def successful(self) -> bool:
        """Whether the participant was reached."""
        return self.outcome in ("reached", "declined")


def check_contact_attempt(facts: ContactAttemptFacts) -> ContactAttemptFacts:
    """A contact attempt's fields, checked."""
    check_date("attempted_on", facts.attempted_on)
    check_choice("method", facts.method, CONTACT_METHODS)
    check_choice("outcome", facts.outcome, CONTACT_OUTCOMES)
    note = check_text("note", facts.note, max_length=1000, required=False)
    return ContactAttemptFacts(facts.attempted_on, facts.method, facts.outcome, note)


def yearly_visits(
    first_year: int,
    last_year: int,
    *,
    contact_mode: str = "in_person",
    requires: Sequence[str] = (),
    window_days: int = 60,
) -> tuple[VisitSpec, ...]:
    """Long-term visits once a year, ``year N`` at day ``round(365.25 * N)`` after day 0, with a
    window of ``window_days`` either side."""
    check_int("first_year", first_year, 1, 30)
    check_int("last_year", last_year, first_year, 30)
    return tuple(
        VisitSpec(
            f"year {n}",
            round(365.25 * n),
            window_days,
            window_days,
            tuple(requires),
            contact_mode=contact_mode,
            long_term=True,
        )
        for n in range(first_year, last_year + 1)
    )
