"""Errors of the trial store.

Error tree (the builtin each error also is, in brackets)::

    Exception
     └── TrialError                    anything the trial store refuses
          ├── InvalidValueError        a field's value is not allowed (field, value, allowed)
          │                            [ValueError]
          ├── NotFoundError            a record named by a caller does not exist [LookupError]
          ├── RuleViolationError       valid values that a trial rule refuses (rule, reasons)
          │    │                       [ValueError]
          │    ├── AdministrationRefusedError   cells may not be given from this lot now
          │    ├── RandomizationError           no allocation for this participant
          │    └── ConsentRequiredError         the participant has not given a consent item
          ├── ConflictError            someone else changed the record first (optimistic locking)
          ├── AuthenticationError      login refused (wrong name or password, locked, inactive)
          ├── AccessDeniedError        role or sites do not allow it
          ├── BackupError              a backup not written or not readable; a restore refused
          └── AuditError               a change that cannot be audited (no actor, append-only rows)
               └── ReasonRequiredError a change after first entry without a reason

Only bad input is a ``ValueError`` and only a missing record a ``LookupError``: a caller's
``except ValueError`` never hides a conflict, a refused login or an access denial. Access denial
is deliberately *not* ``PermissionError``: that is an ``OSError``, and the ``except OSError`` of
file-handling code (backup, export, import error reports) would swallow it as an I/O failure.

Each error carries the context a caller needs; the message names it, e.g.
``ctcae_grade: 6 is not allowed (an integer 1-5)``. That message is for programs and logs (the
API's JSON keeps the field's name in ``loc``); people read :attr:`TrialError.human`, the same in
clinical words: ``CTCAE grade: 6 is not allowed (an integer 1-5)``, ``Right C6 motor: 74 is not
a motor grade (0-5 or NT)``, ``Resolution date: 2026-11-25 is too early (...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

__all__ = [
    "AccessDeniedError",
    "AdministrationRefusedError",
    "AuditError",
    "AuthenticationError",
    "BackupError",
    "ConflictError",
    "ConsentRequiredError",
    "InvalidValueError",
    "NotFoundError",
    "RandomizationError",
    "ReasonRequiredError",
    "RuleViolationError",
    "TrialError",
    "human_field",
    "human_value",
]

#: Field names whose words are not the name's words (the rest: ``onset_date`` -> Onset date).
_FIELD_WORDS = {
    "ctcae_grade": "CTCAE grade",
    "serious_criteria": "Seriousness criteria",
    "awareness_date": "Sponsor aware on",
    "study_id": "Study ID",
    "protocol_id": "Protocol",
    "scim_self_care": "SCIM self-care",
    "scim_respiration_sphincter": "SCIM respiration and sphincter management",
    "scim_mobility": "SCIM mobility",
    "ais": "AIS grade",
    "nli": "Neurological level of injury",
    "atc_code": "ATC code",
}


def human_field(field: str) -> str:
    """A field's name in words: ``cells.r_c6_motor`` -> Right C6 motor (the engine's label),
    ``notes.flag_reasons.r_c5_motor`` -> Reason for the flag on Right C5 motor,
    ``resolution_date`` -> Resolution date."""
    from cordtrial.isncsci.fields import field_label
    from cordtrial.trial.rules.vocabulary import word

    parts = field.split(".")
    if len(parts) >= 2 and parts[-2] == "flag_reasons":
        return f"Reason for the flag on {field_label(parts[-1])}"
    name = parts[-1]
    label = field_label(name)
    if label != name:
        return label
    if name in _FIELD_WORDS:
        return _FIELD_WORDS[name]
    text = word(name)
    return text[:1].upper() + text[1:]


def human_value(value: object) -> str:
    """A value as people read it: no value as (missing), dates as ISO dates, yes/no, vocabulary
    values as words (``not_recovered`` -> not recovered), column names as labels; never a
    Python repr."""
    from cordtrial.isncsci.fields import field_label
    from cordtrial.trial.rules.vocabulary import word

    if value is None or value == "":
        return "(missing)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(human_value(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{human_value(k)}: {human_value(v)}" for k, v in value.items())
    text = str(value)
    label = field_label(text)
    return label if label != text else word(text)


class TrialError(Exception):
    """Base class of the trial store's errors."""

    @property
    def human(self) -> str:
        """The message in the words people read (labels, dates, words; no reprs): what pages,
        PDFs and the import report show. ``str()`` keeps the message for programs and logs."""
        return str(self)


class InvalidValueError(TrialError, ValueError):
    """A value is missing, of the wrong kind or out of range.

    Attributes
    ----------
    field : str
        The field, as named in the use case or model (``scim_self_care``, ``cells.r_c5_motor``).
    value : object
        The value given.
    allowed : str
        What would have been accepted.
    """

    def __init__(self, field: str, value: object, allowed: str, problem: str = "is not allowed"):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.problem = problem
        shown = "(missing)" if value is None else repr(value)
        super().__init__(f"{field}: {shown} {problem} ({allowed})")

    @property
    def human(self) -> str:
        """``Right C6 motor: 74 is not a motor grade (0-5 or NT)``."""
        shown = human_value(self.value)
        return f"{human_field(self.field)}: {shown} {self.problem} ({self.allowed})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.value, self.allowed, self.problem))


class NotFoundError(TrialError, LookupError):
    """A record looked up by a key does not exist."""

    def __init__(self, entity: str, key: object):
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} does not exist")

    @property
    def human(self) -> str:
        """``Participant DEMO/X-9 does not exist``."""
        return f"{human_field(self.entity)} {human_value(self.key)} does not exist"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.entity, self.key))


class RuleViolationError(TrialError, ValueError):
    """Values that are each valid, but which a trial rule refuses together.

    Attributes
    ----------
    rule : str
        The rule, in a few words (``cell administration``).
    reasons : tuple of str
        Every reason the rule gives, in the order it checked them.
    """

    def __init__(self, rule: str, reasons: Sequence[str]):
        self.rule = rule
        self.reasons = tuple(reasons)
        super().__init__(f"{rule} refused: " + "; ".join(self.reasons))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.rule, self.reasons))


class AdministrationRefusedError(RuleViolationError):
    """Cells may not be administered: lot not released or expired, or identity checks failed."""

    def __init__(self, rule: str, reasons: Sequence[str]):
        super().__init__(rule, reasons)


class ConsentRequiredError(RuleViolationError):
    """Something needs a consent item the participant has not given (issue 14): e.g. a
    long-term phone contact without consent to long-term contact.

    Attributes
    ----------
    study_id : str
        The participant.
    item : str
        The consent item missing (``long_term_contact``, ``autopsy``, ``future_sample_use``).
    what : str
        What was refused, in words.
    """

    def __init__(self, study_id: str, item: str, what: str):
        from cordtrial.trial.rules.vocabulary import word

        self.study_id = study_id
        self.item = item
        self.what = what
        super().__init__(
            "consent",
            [f"{study_id} has not consented to {word(item)}: {what} cannot be recorded"],
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.study_id, self.item, self.what))


class RandomizationError(RuleViolationError):
    """A participant cannot be randomized (not eligible, already assigned, list exhausted)."""

    def __init__(self, rule: str, reasons: Sequence[str]):
        super().__init__(rule, reasons)


class ConflictError(TrialError):
    """The record changed since it was read (its version is not the one the caller saw)."""

    def __init__(
        self, entity: str, key: object, expected: int | None = None, current: int | None = None
    ):
        self.entity = entity
        self.key = key
        self.expected = expected
        self.current = current
        if expected is None:
            detail = "read it again and redo the change"
        else:
            detail = f"you edited version {expected}, the current version is {current}"
        super().__init__(f"{entity} {key!r} was changed by someone else ({detail})")
        self._detail = detail

    @property
    def human(self) -> str:
        """``Adverse events 3 was changed by someone else (...)`` without reprs."""
        what = human_field(self.entity)
        return f"{what} {human_value(self.key)} was changed by someone else ({self._detail})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.entity, self.key, self.expected, self.current))


class AuthenticationError(TrialError):
    """A login refused. The message does not say whether the user exists (``reason`` does, for
    the server's log only)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__("user name or password is wrong, or the account is locked or inactive")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason,))


class AccessDeniedError(TrialError):
    """An action the user's role or sites do not allow."""

    def __init__(self, username: str, action: str, where: str = "", *, because: str = ""):
        self.username = username
        self.action = action
        self.where = where
        self.because = because
        suffix = f" at {where}" if where else ""
        why = f" ({because})" if because else ""
        super().__init__(f"{username} may not {action.replace('_', ' ')}{suffix}{why}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_access_denied, (self.username, self.action, self.where, self.because))


def _access_denied(username: str, action: str, where: str, because: str) -> AccessDeniedError:
    return AccessDeniedError(username, action, where, because=because)


class BackupError(TrialError):
    """A backup that cannot be written or read, or a restore refused (a target with data)."""


class AuditError(TrialError):
    """A change that cannot be written with its audit row."""


class ReasonRequiredError(AuditError):
    """A change to a record after its first entry, with no reason given."""

    def __init__(self, entity: str, key: object, action: str):
        self.entity = entity
        self.key = key
        self.action = action
        super().__init__(
            f"{entity} {key!r}: a reason is required to {action} a record after its first entry"
        )

    @property
    def human(self) -> str:
        """The same without reprs: ``Exams 4: a reason is required to ...``."""
        return (
            f"{human_field(self.entity)} {human_value(self.key)}: a reason is required to "
            f"{self.action} a record after its first entry"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.entity, self.key, self.action))
