"""Data queries: what a monitor may query, and the life of a query.

Source data verification (ICH E6(R3) 3.11.4, monitoring) raises *queries*: a monitor asks about
a value of a participant's record, the site answers (and corrects the data if needed, through
the usual change with a reason), the monitor closes the query. A query is ``open`` until
answered, ``answered`` until closed, ``closed`` for good; a monitor may also close an open query
(withdrawn). A closed query is never reopened: a new question is a new query.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from cordtrial.trial.errors import RuleViolationError

__all__ = [
    "QUERY_ENTITIES",
    "QUERY_STATUSES",
    "QueryStatus",
    "check_can_answer",
    "check_can_close",
]

QueryStatus = Literal["open", "answered", "closed"]
QUERY_STATUSES: Final = frozenset(get_args(QueryStatus))
#: The records of a participant a query may be about (table names).
QUERY_ENTITIES: Final = frozenset(
    {"participant", "visit", "eligibility_assessment", "isncsci_exam", "scim_assessment",
     "wisci_assessment", "ten_metre_walk", "six_minute_walk", "administration", "adverse_event"}
)  # fmt: skip


def check_can_answer(status: str) -> None:
    """Only an open query can be answered."""
    if status != "open":
        raise RuleViolationError("query_answer", [f"the query is {status}, not open"])


def check_can_close(status: str) -> None:
    """An open (withdrawn) or answered query can be closed; a closed one cannot."""
    if status == "closed":
        raise RuleViolationError("query_close", ["the query is already closed"])
