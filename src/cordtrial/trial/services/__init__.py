"""Use cases: functions that take a session, own its transaction and audit every change."""
