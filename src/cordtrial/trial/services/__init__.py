"""Use cases: functions that take a session, own its transaction and audit every change."""

# MRI surveillance's hooks into the visit schedule and the long-term timeline (issue 14)
from cordtrial.trial.services import imaging_links as _imaging_links  # noqa: F401
