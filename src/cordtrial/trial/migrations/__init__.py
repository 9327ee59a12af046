"""Alembic migrations of the trial store (run them with ``cordtrial.trial.database.upgrade``)."""
