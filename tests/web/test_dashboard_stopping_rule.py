"""The trial-wide safety stopping rule on the dashboard: every role but a coordinator sees it; a
coordinator sees it only where the protocol says so (the trial's
``coordinators_see_stopping_rule`` setting, revision 0012), both ways, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from builders import acting_as
from cordtrial.trial.demo import DEMO_PROTOCOL_ID
from cordtrial.trial.models import Participant, Trial
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.trials import set_coordinators_see_stopping_rule
from web.conftest import DEMO_NOW, Demo

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


def _counting(html: str) -> tuple[int, int]:
    found = re.search(r"(\d+) of (\d+) participants treated and followed", html)
    assert found is not None, html[:2000]
    return int(found[1]), int(found[2])


def test_stopping_rule_follows_a_new_event_at_once(demo: Demo) -> None:
    """The rule's evaluation is kept per version of the data (the audit trail's head): a
    serious event related to the cells, reported by another session (as another worker
    process would), counts on the very next dashboard, and equals the rule evaluated afresh."""
    from cordtrial.analysis.safety import evaluate_stopping_rule
    from cordtrial.analysis.store import load_safety

    monitor = demo.client("monitor")
    before = _counting(monitor.get("/").text)
    assert _counting(monitor.get("/").text) == before  # the repeat: the kept evaluation
    with demo.factory() as session:
        data = load_safety(session, DEMO_PROTOCOL_ID)
        status = evaluate_stopping_rule(
            data.adverse_events, data.participants, as_of=data.last_data_date
        )
        assert (status.counting, status.treated) == before
        counted = set(status.counted["participant"]) if len(status.counted) else set()
        candidates = session.scalars(
            select(Participant)
            .where(Participant.transplant_date.is_not(None))
            .where(Participant.transplant_date <= DEMO_NOW.date() - timedelta(days=60))
            .order_by(Participant.id)
        ).all()
        target = next(p for p in candidates if p.study_id not in counted)
        onset = target.transplant_date + timedelta(days=30)
        report_adverse_event(
            session, user=acting_as(), participant_id=target.id, term="Syrinx enlargement",
            category="syrinx", onset_date=onset, awareness_date=onset, ctcae_grade=3,
            serious_criteria=["hospitalisation"], related_to_cells="definite",
            related_to_procedure="not_related", related_to_immunosuppression="not_related",
            expectedness="unexpected", outcome="recovering",
            narrative="Synthetic event for the dashboard's cached stopping rule.",
        )  # fmt: skip
    after = _counting(monitor.get("/").text)
    assert after[0] == before[0] + 1
    with demo.factory() as session:
        data = load_safety(session, DEMO_PROTOCOL_ID)
        fresh = evaluate_stopping_rule(
            data.adverse_events, data.participants, as_of=data.last_data_date
        )
    assert (fresh.counting, fresh.treated) == after
