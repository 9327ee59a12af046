"""The JSON API: one router module per resource, gathered in :data:`api_router`."""

from fastapi import APIRouter

from cordtrial.web.api import (
    adverse_events,
    audit,
    auth,
    clocks,
    exams,
    follow_up,
    imaging,
    immunosuppression,
    labs,
    measures,
    medications,
    participants,
    product,
    queries,
    reports,
    trials,
    users,
    visits,
)
from cordtrial.web.errors import ERROR_RESPONSES

__all__ = ["api_router"]

api_router = APIRouter()
for _module in (
    auth, users, trials, participants, visits, exams, measures, product, adverse_events, clocks,
    queries, audit, imaging, labs, immunosuppression, follow_up, reports,
    medications,  # concomitant medication (issue 15)
):  # fmt: skip
    api_router.include_router(_module.router, responses=ERROR_RESPONSES)
