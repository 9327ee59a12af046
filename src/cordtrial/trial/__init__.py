"""Trial store: the records of a clinical trial, its rules, and the audit trail of every change.

* :mod:`~cordtrial.trial.models` -- the ORM model (SQLAlchemy 2); migrations in ``migrations/``.
* :mod:`~cordtrial.trial.rules` -- trial rules as pure functions: eligibility, randomization,
  visit windows, exam cells, functional measures, lot release and administration, safety.
* :mod:`~cordtrial.trial.services` -- use cases: functions that take a session, own its
  transaction and write every change with its audit rows.
* :mod:`~cordtrial.trial.audit` -- the hash-chained audit trail and :func:`verify_audit`.
* Users, roles and site scope: :mod:`~cordtrial.trial.rules.access` (pure) and
  :mod:`~cordtrial.trial.services.users` (Argon2id passwords, lockout, permission checks).
* :mod:`~cordtrial.trial.database` / :mod:`~cordtrial.trial.settings` -- engines, migrations,
  settings from the environment.
* :mod:`~cordtrial.trial.backup` -- consistent backups and verified restores.
* Bulk import and export: :mod:`~cordtrial.trial.services.imports`,
  :mod:`~cordtrial.trial.services.exports`.

The names below are the stable surface; rules and use cases are imported from their modules.
"""

from __future__ import annotations

from cordtrial.trial.audit import AuditReport, audit_head, unit_of_work, verify_audit
from cordtrial.trial.backup import backup, restore
from cordtrial.trial.database import (
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from cordtrial.trial.errors import (
    AccessDeniedError,
    AdministrationRefusedError,
    AuditError,
    AuthenticationError,
    BackupError,
    ConflictError,
    InvalidValueError,
    NotFoundError,
    RandomizationError,
    ReasonRequiredError,
    RuleViolationError,
    TrialError,
)
from cordtrial.trial.settings import Settings, load_settings

__all__ = [
    "AccessDeniedError",
    "AdministrationRefusedError",
    "AuditError",
    "AuditReport",
    "AuthenticationError",
    "BackupError",
    "ConflictError",
    "InvalidValueError",
    "NotFoundError",
    "RandomizationError",
    "ReasonRequiredError",
    "RuleViolationError",
    "Settings",
    "TrialError",
    "audit_head",
    "backup",
    "current_revision",
    "downgrade",
    "head_revision",
    "load_settings",
    "make_engine",
    "make_session_factory",
    "restore",
    "unit_of_work",
    "upgrade",
    "verify_audit",
]
