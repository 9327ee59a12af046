"""The trial-wide safety stopping rule on the dashboard: every role but a coordinator sees it; a
coordinator sees it only where the protocol says so (the trial's
``coordinators_see_stopping_rule`` setting, revision 0012), both ways, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from builders import acting_as
from cordtrial.trial.demo import DEMO_PROTOCOL_ID
from cordtrial.trial.models import Trial
from cordtrial.trial.services.trials import set_coordinators_see_stopping_rule
from web.conftest import Demo

HEADING = "Safety stopping rule:"


def _set(demo: Demo, visible: bool) -> None:
    with demo.factory() as session:
        set_coordinators_see_stopping_rule(
            session, user=acting_as(), protocol_id=DEMO_PROTOCOL_ID, visible=visible,
            reason="protocol amendment 3 (synthetic)",
        )  # fmt: skip


def test_coordinator_sees_the_stopping_rule_only_where_the_protocol_says_so(demo: Demo) -> None:
    with demo.factory() as session:
        trial = session.scalars(select(Trial).where(Trial.protocol_id == DEMO_PROTOCOL_ID)).one()
        assert trial.coordinators_see_stopping_rule is False  # the default
    assert HEADING not in demo.client("coordinator_a").get("/").text
    for role_user in ("investigator", "monitor", "statistician", "admin"):
        assert HEADING in demo.client(role_user).get("/").text, role_user
    _set(demo, True)
    try:
        assert HEADING in demo.client("coordinator_a").get("/").text
        assert HEADING in demo.client("coordinator_b").get("/").text
    finally:
        _set(demo, False)
    assert HEADING not in demo.client("coordinator_b").get("/").text
