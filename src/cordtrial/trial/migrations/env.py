"""Alembic environment: migrates the engine handed over by ``cordtrial.trial.database``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from cordtrial.trial.database import make_engine
from cordtrial.trial.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the revisions on the engine in ``config.attributes`` (or ``sqlalchemy.url``)."""
    engine = config.attributes.get("engine")
    owned = not isinstance(engine, Engine)
    if owned:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    assert isinstance(engine, Engine)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    raise SystemExit("cordtrial migrations run online only (cordtrial.trial.database.upgrade)")
run_migrations_online()
