"""The trial store's test databases, shared by the trial, web and analysis tests (their fixtures
are in tests/conftest.py): SQLite files, and throwaway PostgreSQL databases on the server that
``CORDTRIAL_TEST_POSTGRES_URL`` names (``scripts/test`` starts one)."""

from __future__ import annotations

import itertools
import os

from sqlalchemy import text
from sqlalchemy.engine import make_url

from cordtrial.trial.database import make_engine

#: the backends every storage test runs on (the ``params`` of the database fixtures)
BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


def _admin(url: str, sql: str) -> None:
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


class PostgresDatabases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.prefix = f"cordtrial_t{os.getpid()}"
        self.template: str | None = None

    def url(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        suffix = f" TEMPLATE {template}" if template else ""
        _admin(self.server_url, f"CREATE DATABASE {name}{suffix}")
        return name

    def drop(self, name: str) -> None:
        _admin(self.server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
