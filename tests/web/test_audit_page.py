"""The audit log page through TestClient over the synthetic demo trial (SQLite and PostgreSQL):
newest first; filters by user, participant, record type and date range; paging back and forth,
with "Newest" reaching today's end of the trail in one click."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from builders import acting_as
from cordtrial.trial.models import AuditEntry, IsncsciExam
from cordtrial.trial.services.safety import report_adverse_event
from web.conftest import DEMO_NOW, Demo

ROW = re.compile(
    r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]*)</td><td>[^<]*</td>\s*"
    r'<td><a href="[^"]*">([^<]+)</a></td>'
)


def _rows(html: str) -> list[tuple[int, str, str, str]]:
    return [(int(s), at, who, record) for s, at, who, record in ROW.findall(html)]


def _link(html: str, label: str) -> str:
    found = re.search(rf'<a class="button" href="([^"]+)"[^>]*>[^<]*{label}', html)
    assert found is not None, f"no {label} link"
    return found.group(1).replace("&amp;", "&")


def test_audit_log_is_newest_first_and_pages_back_to_today_in_one_click(demo: Demo) -> None:
    client = demo.client("admin")
    with demo.factory() as session:
        last = session.scalar(select(func.max(AuditEntry.seq)))
        total = session.scalar(select(func.count()).select_from(AuditEntry))
    assert total is not None and total > 200, "the demo trail should span several pages"
    first = client.get("/audit").text
    rows = _rows(first)
    assert len(rows) == 100
    assert rows[0][0] == last
    seqs = [r[0] for r in rows]
    assert seqs == sorted(seqs, reverse=True)
    assert "Newer" not in first and "Newest" not in first
    second = client.get(_link(first, "Older")).text
    assert _rows(second)[0][0] < seqs[-1]
    third = client.get(_link(second, "Older")).text
    assert max(r[0] for r in _rows(third)) < min(r[0] for r in _rows(second))
    back = client.get(_link(third, "Newer")).text
    assert [r[0] for r in _rows(back)] == [r[0] for r in _rows(second)]
    newest = client.get(_link(third, "Newest")).text
    assert _rows(newest) == rows


def test_audit_log_filters_by_user(demo: Demo) -> None:
    with demo.factory() as session:
        report_adverse_event(
            session, user=acting_as("coordinator_a"),
            participant_id=demo.participant_ids["A-002"],
            term="Headache (synthetic)", category="other", onset_date=DEMO_NOW.date(),
            awareness_date=DEMO_NOW.date(), ctcae_grade=1, serious_criteria=[],
            related_to_cells="not_related", related_to_procedure="possible",
            related_to_immunosuppression="not_related", expectedness="expected",
            outcome="recovering",
        )  # fmt: skip
        theirs = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "coordinator_a")
        )
    assert theirs
    page = demo.client("admin").get("/audit?actor=coordinator_a").text
    rows = _rows(page)
    assert len(rows) == theirs
    assert {who for _, _, who, _ in rows} == {"coordinator_a"}
    assert '<option value="coordinator_a" selected>' in page
    everyone = _rows(demo.client("admin").get("/audit").text)
    assert {who for _, _, who, _ in everyone} > {"coordinator_a"}


def test_audit_log_filters_by_participant_across_their_records(demo: Demo) -> None:
    pid = demo.participant_ids["A-001"]
    other = demo.participant_ids["B-001"]
    with demo.factory() as session:
        exams = {
            str(i)
            for i in session.scalars(
                select(IsncsciExam.id).where(IsncsciExam.participant_id == pid)
            )
        }
    client = demo.client("monitor")
    page = client.get(f"/audit?participant={pid}").text
    records = {record for _, _, _, record in _rows(page)}
    # their records of several types, on the first pages (five years of follow-up fill a page
    # with the latest few records)
    for _ in range(5):
        if len({r.rsplit(" ", 1)[0] for r in records}) > 3 or "Older" not in page:
            break
        page = client.get(_link(page, "Older")).text
        records |= {record for _, _, _, record in _rows(page)}
    assert len({r.rsplit(" ", 1)[0] for r in records}) > 3
    assert f"participant {other}" not in records
    exam_page = demo.client("monitor").get(f"/audit?participant={pid}&entity=isncsci_exam").text
    exam_rows = {record.rsplit(" ", 1)[1] for _, _, _, record in _rows(exam_page)}
    assert exam_rows and exam_rows <= exams  # no other participant's exam
    own = demo.client("monitor").get(f"/audit?participant={pid}&entity=participant").text
    assert {record for _, _, _, record in _rows(own)} == {f"participant {pid}"}


def test_audit_log_filters_by_record_type_and_dates(demo: Demo) -> None:
    with demo.factory() as session:
        at = session.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.entity == "lot"))
        assert at is not None
        day = at.astimezone(UTC).date()
        expected = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.entity == "lot",
                AuditEntry.at >= datetime(day.year, day.month, day.day, tzinfo=UTC),
                AuditEntry.at
                < datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1),
            )
        )
    page = demo.client("admin").get(f"/audit?entity=lot&from={day}&to={day}").text
    rows = _rows(page)
    assert len(rows) == expected
    assert all(record.startswith("lot ") for _, _, _, record in rows)
    assert all(when.startswith(day.isoformat()) for _, when, _, _ in rows)
    before = demo.client("admin").get(f"/audit?entity=lot&to={day - timedelta(days=3650)}").text
    assert _rows(before) == []


def test_audit_log_says_which_filter_is_wrong(demo: Demo) -> None:
    response = demo.client("admin").get("/audit?from=2026-13-01")
    assert response.status_code == 422
    assert "From: 2026-13-01 is not a date (write it as YYYY-MM-DD)" in response.text
    response = demo.client("admin").get("/audit?from=2026-11-02&to=2026-11-01")
    assert response.status_code == 422
    assert "To: 2026-11-01 is before From (2026-11-02)" in response.text
    hidden = demo.participant_ids["B-001"]
    response = demo.client("coordinator_a").get(f"/audit?participant={hidden}")
    assert response.status_code == 403


def test_audit_log_names_fields_in_words_with_the_column_kept_as_a_title(demo: Demo) -> None:
    """Issue 16: the Field column showed column names (ctcae_grade, expedited_reference); it
    shows words, the stored column name kept as the cell's title for the monitor."""
    page = demo.client("admin").get("/audit?entity=adverse_event").text
    fields = dict(re.findall(r'<td title="([^"]*)">([^<]*)</td>', page))
    assert fields["ctcae_grade"] == "CTCAE grade"
    assert fields["awareness_date"] == "Sponsor aware on"
    assert fields["serious_criteria"] == "Seriousness criteria"
    assert all("_" not in words for words in fields.values()), fields
