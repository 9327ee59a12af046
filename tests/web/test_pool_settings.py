"""The PostgreSQL connection pool of one server process comes from ``CORDTRIAL_DB_POOL_SIZE``
and ``CORDTRIAL_DB_MAX_OVERFLOW`` (docs/scaling.md: sized per worker)."""

from __future__ import annotations

import pytest
from sqlalchemy.pool import QueuePool

from cordtrial.web import create_app, load_web_settings

URL = "postgresql+psycopg://nobody@127.0.0.1:1/cordtrial"  # never connected to here


def test_pool_size_and_overflow_come_from_the_environment() -> None:
    settings = load_web_settings(
        {
            "CORDTRIAL_DATABASE_URL": URL,
            "CORDTRIAL_DB_POOL_SIZE": "3",
            "CORDTRIAL_DB_MAX_OVERFLOW": "2",
        }
    )
    pool = create_app(settings).state.session_factory.kw["bind"].pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow) == (3, 2)


def test_pool_defaults_are_five_and_ten() -> None:
    pool = create_app(load_web_settings({"CORDTRIAL_DATABASE_URL": URL})).state.session_factory
    assert (pool.kw["bind"].pool.size(), pool.kw["bind"].pool._max_overflow) == (5, 10)


@pytest.mark.parametrize("value", ["0", "many"])
def test_an_unusable_pool_size_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match=f"CORDTRIAL_DB_POOL_SIZE='{value}'"):
        load_web_settings({"CORDTRIAL_DATABASE_URL": URL, "CORDTRIAL_DB_POOL_SIZE": value})
