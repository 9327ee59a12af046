"""CSV import and export of the long-term follow-up: dispositions, contact attempts and consent
signatures (issue 14).

The export is the matching tables of the trial export (:func:`.exports.build_export`: the
user's sites, pseudonymized for a statistician). The import reads the same columns (others are
ignored) and records each row through its use case (:func:`.disposition.record_disposition`,
:func:`.disposition.record_contact_attempt`, :func:`.consent.record_consent`), so every rule,
permission and audit entry applies; a row refused is reported with its number and the reason in
words, and the others are still imported. A row already stored (same participant, and the same
status and date / date, method and outcome / version and date) is skipped, so that importing a
file twice stores it once.

Columns:

- ``dispositions``: ``study_id, status, effective_on, reason, data_use_allowed,
  recontact_allowed, death_date, death_cause, autopsy_asked, autopsy_done,
  death_related_to_product``
- ``contact_attempts``: ``study_id, attempted_on, method, outcome, note``
- ``consent_signatures``: ``study_id, version, signed_on, item_long_term_contact, item_autopsy,
  item_future_sample_use`` (yes/no, true/false, or empty for an item the version does not ask)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, TrialError
from cordtrial.trial.models import (
    ConsentSignature,
    ConsentVersion,
    ContactAttempt,
    DispositionChange,
    User,
)
from cordtrial.trial.rules.follow_up import ContactAttemptFacts, DispositionFacts
from cordtrial.trial.rules.vocabulary import CONSENT_ITEMS
from cordtrial.trial.services.common import RowImportReport, get_participant, get_trial
from cordtrial.trial.services.consent import record_consent
from cordtrial.trial.services.disposition import record_contact_attempt, record_disposition
from cordtrial.trial.services.exports import build_export

__all__ = ["FOLLOW_UP_TABLES", "FollowUpImportReport", "export_follow_up", "import_follow_up"]

#: The tables of the follow-up's CSV import and export.
FOLLOW_UP_TABLES: Final = ("dispositions", "contact_attempts", "consent_signatures")


#: What a follow-up import did (one report class for every record import).
FollowUpImportReport = RowImportReport


def export_follow_up(
    session: Session, *, user: User | None, protocol_id: str, pseudonymize: bool = False
) -> dict[str, pd.DataFrame]:
    """The follow-up's tables of the trial export (see :func:`.exports.build_export`)."""
    export = build_export(session, protocol_id=protocol_id, user=user, pseudonymize=pseudonymize)
    return {name: export.tables[name] for name in FOLLOW_UP_TABLES}


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _date(row: dict[str, Any], name: str, *, required: bool = True) -> date | None:
    text = _text(row, name).strip()
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(
            name, text or None, "a date (YYYY-MM-DD)", "is not a date"
        ) from None


def _bool(row: dict[str, Any], name: str) -> bool | None:
    text = _text(row, name).strip().casefold()
    if not text:
        return None
    if text in ("yes", "true", "1", "y"):
        return True
    if text in ("no", "false", "0", "n"):
        return False
    raise InvalidValueError(name, text, "yes or no")


def _disposition(session: Session, user: User, pid: int, row: dict[str, Any]) -> bool:
    facts = DispositionFacts(
        status=_text(row, "status").strip(),
        effective_on=_date(row, "effective_on"),  # type: ignore[arg-type]
        reason=_text(row, "reason"),
        data_use_allowed=_bool(row, "data_use_allowed"),
        recontact_allowed=_bool(row, "recontact_allowed"),
        death_date=_date(row, "death_date", required=False),
        death_cause=_text(row, "death_cause").strip() or None,
        autopsy_asked=_bool(row, "autopsy_asked"),
        autopsy_done=_bool(row, "autopsy_done"),
        death_related_to_product=_text(row, "death_related_to_product").strip() or None,
    )
    stored = session.scalars(
        select(DispositionChange.id).where(
            DispositionChange.participant_id == pid,
            DispositionChange.status == facts.status,
            DispositionChange.effective_on == facts.effective_on,
        )
    ).first()
    if stored is not None:
        return False
    record_disposition(session, user=user, participant_id=pid, facts=facts)
    return True


def _attempt(session: Session, user: User, pid: int, row: dict[str, Any]) -> bool:
    facts = ContactAttemptFacts(
        _date(row, "attempted_on"),  # type: ignore[arg-type]
        _text(row, "method").strip(),
        _text(row, "outcome").strip(),
        _text(row, "note"),
    )
    stored = session.scalars(
        select(ContactAttempt.id).where(
            ContactAttempt.participant_id == pid,
            ContactAttempt.attempted_on == facts.attempted_on,
            ContactAttempt.method == facts.method,
            ContactAttempt.outcome == facts.outcome,
        )
    ).first()
    if stored is not None:
        return False
    record_contact_attempt(session, user=user, participant_id=pid, facts=facts)
    return True


def _consent(session: Session, user: User, pid: int, row: dict[str, Any]) -> bool:
    version = _text(row, "version").strip()
    signed_on = _date(row, "signed_on")
    items = {i: v for i in CONSENT_ITEMS if (v := _bool(row, f"item_{i}")) is not None}
    stored = session.scalars(
        select(ConsentSignature.id)
        .join(ConsentVersion, ConsentSignature.consent_version_id == ConsentVersion.id)
        .where(
            ConsentSignature.participant_id == pid,
            ConsentVersion.form_version == version,
            ConsentSignature.signed_on == signed_on,
        )
    ).first()
    if stored is not None:
        return False
    record_consent(
        session, user=user, participant_id=pid, version=version,
        signed_on=signed_on, items=items,  # type: ignore[arg-type]
    )  # fmt: skip
    return True


_IMPORTERS: dict[str, Callable[[Session, User, int, dict[str, Any]], bool]] = {
    "dispositions": _disposition,
    "contact_attempts": _attempt,
    "consent_signatures": _consent,
}


def import_follow_up(
    session: Session, *, user: User, protocol_id: str, table: str, frame: pd.DataFrame
) -> FollowUpImportReport:
    """Import the rows of one follow-up table (see the module docstring), each through its use
    case; refused rows are reported, the others imported."""
    if table not in _IMPORTERS:
        raise InvalidValueError("table", table, "one of " + ", ".join(FOLLOW_UP_TABLES))
    get_trial(session, protocol_id)  # an unknown trial is an error, not every row refused
    if "study_id" not in frame.columns:
        raise InvalidValueError("study_id", None, "a study_id column in the file", "is missing")
    report = FollowUpImportReport(table)
    for number, record in enumerate(frame.to_dict("records"), start=1):
        row = {str(k): v for k, v in record.items()}
        study_id = _text(row, "study_id").strip()
        try:
            participant = get_participant(session, protocol_id, study_id)
            stored = _IMPORTERS[table](session, user, participant.id, row)
        except TrialError as exc:
            session.rollback()
            report.errors.append((number, study_id, exc.human))
            continue
        if stored:
            report.imported += 1
        else:
            report.skipped += 1
    return report
