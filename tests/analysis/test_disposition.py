"""The DSMB report's Disposition section reads the store's disposition records (issue 14):
counts per disposition, the withdrawals, losses to follow-up and deaths listed with their facts
in words, and follow-up ended by them. Expected answers come from the store's own records."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, select

from analysis.conftest import DEMO_TODAY
from builders import acting_as
from cordtrial.analysis.disposition import disposition_counts, disposition_listing
from cordtrial.analysis.dsmb import build_dsmb_report
from cordtrial.analysis.exposure import follow_up_table
from cordtrial.analysis.store import load_trial
from cordtrial.trial.database import make_session_factory
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.models import ContactAttempt, DispositionChange, Participant
from cordtrial.trial.rules.follow_up import DispositionFacts
from cordtrial.trial.rules.vocabulary import DISPOSITIONS
from cordtrial.trial.services.disposition import record_disposition


def _section(report, title):
    return next(s for s in report.sections if s.title == title)


def test_demo_disposition_counts_and_listing_come_from_the_records(engine: Engine) -> None:
    """Counts: the latest disposition change of each participant in the store (none: active);
    the listing: the lost participant with their unsuccessful contact attempts."""
    factory = make_session_factory(engine)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as session:
        data = load_trial(session, DEMO_PROTOCOL_ID)
        people = {p.id: p.study_id for p in session.scalars(select(Participant))}
        latest: dict[str, str] = {}
        for change in session.scalars(select(DispositionChange).order_by(DispositionChange.id)):
            latest[people[change.participant_id]] = change.status
        attempts = session.scalars(select(ContactAttempt)).all()
    statuses = [latest.get(s, "active") for s in people.values()]
    disposition = _section(build_dsmb_report(data), "Disposition")
    counts = dict(disposition.tables)["Current disposition"]
    assert list(counts["disposition"]) == list(DISPOSITIONS.values())
    assert dict(zip(counts["disposition"], counts["participants"], strict=True)) == {
        words: statuses.count(status) for status, words in DISPOSITIONS.items()
    }
    listing = dict(disposition.tables)["Withdrawals, losses to follow-up and deaths"]
    listed = sorted(
        s for s, st in latest.items() if st in ("withdrawn", "lost_to_follow_up", "died")
    )
    assert sorted(listing["participant"]) == listed and listed
    lost = listing[listing["disposition"] == "lost to follow-up"].iloc[0]
    own = [a for a in attempts if people[a.participant_id] == lost["participant"]]
    assert lost["details"].startswith(f"{len(own)} unsuccessful contact attempts: ")
    for attempt in own:
        assert attempt.attempted_on.isoformat() in lost["details"]
    assert "_" not in lost["details"]  # words, not codes
    summary = " ".join(build_dsmb_report(data).sections[0].paragraphs)
    assert f"{statuses.count('lost_to_follow_up')} lost to follow-up" in summary


def test_death_and_withdrawal_are_listed_in_words_and_end_follow_up(engine: Engine) -> None:
    """A withdrawal (no re-contact, data may be used) and a death (cause, autopsy, relation to
    the product) recorded through the use case appear in the listing in words, count in their
    disposition, and end the participant's follow-up on their dates."""
    factory = make_session_factory(engine)
    seeded = seed_demo(factory, today=DEMO_TODAY)
    died_on = date(2026, 10, 1)
    with factory() as session:
        admin = acting_as("admin", role="admin")
        record_disposition(
            session, user=admin, participant_id=seeded.participant_ids["B-001"],
            facts=DispositionFacts(
                "died", date(2026, 10, 3), "reported by the family", death_date=died_on,
                death_cause="pulmonary embolism", autopsy_asked=True, autopsy_done=False,
                death_related_to_product="unlikely",
            ),
        )  # fmt: skip
        record_disposition(
            session, user=admin, participant_id=seeded.participant_ids["B-002"],
            facts=DispositionFacts(
                "withdrawn", date(2026, 9, 1), "moved abroad", data_use_allowed=True,
                recontact_allowed=False,
            ),
        )  # fmt: skip
        data = load_trial(session, DEMO_PROTOCOL_ID)
    report = build_dsmb_report(data)
    listing = dict(_section(report, "Disposition").tables)[
        "Withdrawals, losses to follow-up and deaths"
    ].set_index("participant")
    death = listing.loc["B-001", "details"]
    assert listing.loc["B-001", "disposition"] == "died"
    assert "died on 2026-10-01" in death and "pulmonary embolism" in death
    assert "autopsy asked: yes, done: no" in death
    assert "relation to the cell product: unlikely" in death
    withdrawal = listing.loc["B-002", "details"]
    assert "moved abroad" in withdrawal
    assert "data already collected may be used: yes" in withdrawal
    assert "re-contact allowed: no" in withdrawal
    fu = dict(_section(report, "Follow-up").tables)["Follow-up by participant"]
    fu = fu.set_index("participant")
    assert fu.loc["B-001", "follow-up ends"] == died_on
    assert fu.loc["B-001", "end reason"] == "death"
    assert fu.loc["B-002", "follow-up ends"] == date(2026, 9, 1)
    assert fu.loc["B-002", "end reason"] == "withdrawn"
    assert "deaths: 1" in " ".join(report.sections[0].paragraphs)


def test_participants_without_records_count_as_active() -> None:
    people = pd.DataFrame({"participant": ["P1", "P2", "P3"]})
    records = pd.DataFrame(
        {"participant": ["P2"], "status": ["withdrawn"], "effective_on": [date(2026, 1, 2)],
         "reason": [""], "data_use_allowed": [False], "recontact_allowed": [True]}
    )  # fmt: skip
    counts = disposition_counts(people, records).set_index("disposition")["participants"]
    assert counts["active"] == 2 and counts["withdrawn"] == 1 and counts.sum() == 3
    listing = disposition_listing(records, pd.DataFrame(columns=["participant"]))
    assert "reason: not recorded" in listing.iloc[0]["details"]
    assert "re-contact allowed: yes" in listing.iloc[0]["details"]


def test_follow_up_without_dispositions_runs_to_the_data_cut() -> None:
    people = pd.DataFrame({"participant": ["P1"], "treated_on": [date(2025, 1, 1)]})
    fu = follow_up_table(people, date(2026, 1, 1), None, None)
    assert list(fu["end reason"]) == ["data cut"] and list(fu["days"]) == [365]
