"""Use-case tests on SQLite and PostgreSQL."""
