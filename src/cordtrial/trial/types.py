"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["IntegerId", "JsonValue", "UtcDateTime"]


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time: timezone-aware in Python, UTC in the database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the UTC wall time is stored and
    read back as UTC. Naive datetimes are refused: a moment without a zone is ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone; pass an aware datetime (e.g. UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class IntegerId(TypeDecorator[int]):
    """A record id: an ``int`` in Python whatever the driver hands back.

    SQLite before 3.41 gives a ``RETURNING`` column the type affinity of the table's *first*
    column: on a table whose first column is FLOAT (``ten_metre_walk``, ``six_minute_walk``)
    ``INSERT ... RETURNING id`` answered ``1.0``, and the audit trail recorded
    ``entity_id="1.0"`` (issue 12). A non-integral id is refused rather than rounded.
    """

    impl = Integer
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"record id {value!r} is not an integer")


def _json_type() -> TypeEngine[Any]:
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


#: JSON documents (JSONB on PostgreSQL); Python ``None`` is SQL NULL, not JSON ``null``.
JsonValue = _json_type()
