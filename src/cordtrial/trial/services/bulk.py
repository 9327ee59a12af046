"""Conditions on many ids at once, as cheap as each database allows.

A trial-wide page reads the records of hundreds of participants in one statement each
(``participant_id IN (...)``). Written as ``column.in_(ids)``, SQLAlchemy expands the list into
one bound parameter per id and the driver converts each: at 500 participants on PostgreSQL that
is a visible share of a page's time, and the server plans a 500-term list per statement. On
PostgreSQL :func:`among` binds the ids as ONE integer array (``column = ANY(:ids)``), which the
server reads as the same condition (index scans included), passed as the array's text
(``{1,2,3}``, cast to ``INTEGER[]`` by the server) because the driver dumps a text in one step
and a list element by element; elsewhere (SQLite) it is the plain ``IN`` list.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, Integer, String, any_, bindparam, cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

__all__ = ["among"]


def among(
    session: Session,
    column: InstrumentedAttribute[int] | ColumnElement[int],
    ids: Collection[int],
) -> ColumnElement[bool]:
    """``column IN ids``: one array parameter on PostgreSQL, an ``IN`` list elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        text = "{" + ",".join(str(int(i)) for i in ids) + "}"
        return column == any_(cast(bindparam(None, text, type_=String()), ARRAY(Integer())))
    return column.in_(list(ids))
