"""The DSMB section "Immunosuppression and laboratory safety" (issue 15), built from a trial
store (SQLite and PostgreSQL) with lab panels entered through the labs service: worst CTCAE
grades per participant checked against grades worked out here from the raw values, the listing
of grade 2 or higher, adverse events by relatedness, the empty states, the section's place in
the report, the immunosuppression tables' hook, and the PDF read back with pypdfium2."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.analysis import lab_safety
from cordtrial.analysis.dsmb import DSMB_SECTIONS, build_dsmb_report
from cordtrial.analysis.lab_safety import (
    IMMUNOSUPPRESSION_TABLE_PROVIDERS,
    SECTION_TITLE,
    lab_safety_section,
)
from cordtrial.analysis.report import ReportSection, render_html, render_pdf
from cordtrial.analysis.store import TrialData, load_trial
from cordtrial.trial.database import make_session_factory
from cordtrial.trial.models import LabResult
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.labs import (
    LabEntry,
    record_lab_panel,
    report_lab_as_adverse_event,
    set_reference_range,
)
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial

PROTOCOL = "LAB-SAFETY-01"
INJURY = date(2026, 1, 5)
TRANSPLANT = date(2026, 1, 26)
#: The site's reference ranges (protocol units: umol/L, 10*9/L, U/L).
RANGES = {"creatinine": (60.0, 110.0), "neutrophils": (2.0, 7.5), "alt": (5.0, 40.0)}
UNITS = {"creatinine": "umol/L", "neutrophils": "10*9/L", "alt": "U/L"}
#: participant -> day after transplant -> analyte -> value (day <= 0: baseline). Values sit well
#: away from every cut-point. P002's ALT baseline (100 U/L) is above the ULN: its later values
#: grade by multiples of the baseline (130 U/L would be grade 2 by the ULN, is 0 by the baseline).
VALUES: dict[str, dict[int, dict[str, float]]] = {
    "P001": {-3: {"creatinine": 80, "neutrophils": 4.0, "alt": 30},
             14: {"creatinine": 130, "neutrophils": 1.2, "alt": 50},
             60: {"creatinine": 400, "neutrophils": 3.0, "alt": 35}},
    "P002": {-3: {"creatinine": 90, "neutrophils": 2.5, "alt": 100},
             30: {"alt": 130, "creatinine": 100},
             90: {"alt": 160, "neutrophils": 0.4}},
    "P003": {10: {"creatinine": 700, "neutrophils": 1.8, "alt": 250}},
}  # fmt: skip
#: The adverse events reported directly: participant, day, term, category, serious criteria,
#: relatedness to cells, procedure, immunosuppression. P001's day-14 creatinine is reported
#: from the lab value as well (not related to cells or procedure, probably to the drug).
EVENTS = [
    ("P002", 40, "Pneumonia", "infection", ["hospitalisation"], "unlikely", "not_related",
     "possible"),
    ("P003", 12, "Wound pain", "other", [], "possible", "definite", "not_related"),
]  # fmt: skip
LAB_EVENT = ("P001", 14, "creatinine", ("not_related", "not_related", "probable"))


def expected_grade(analyte: str, value: float, baseline: float | None) -> int:
    """CTCAE v5.0 (NCI 2017; shared/reference/ctcae-v5-labs.md), written out here apart from
    rules.labs: creatinine increased >ULN-1.5, >1.5-3.0, >3.0-6.0, >6.0 x ULN, grades 2-3 also
    >1.5 and >3.0 x baseline; neutrophil count decreased <LLN, <1.5, <1.0, <0.5 x 10^9/L; ALT
    increased >ULN, >3, >5, >20 x ULN when the baseline is normal, else >=1.5, >3, >5,
    >20 x baseline."""
    lln, uln = RANGES[analyte]
    if analyte == "creatinine":
        by_uln = [g for g, m in ((1, 1.0), (2, 1.5), (3, 3.0), (4, 6.0)) if value > m * uln]
        by_base = [g for g, m in ((2, 1.5), (3, 3.0)) if baseline and value > m * baseline]
        return max(by_uln + by_base, default=0)
    if analyte == "neutrophils":
        return max((g for g, cut in ((1, lln), (2, 1.5), (3, 1.0), (4, 0.5)) if value < cut),
                   default=0)  # fmt: skip
    if baseline is not None and baseline > uln:
        cuts = ((1, 1.5 * baseline), (2, 3 * baseline), (3, 5 * baseline), (4, 20 * baseline))
        return max((g for g, c in cuts if value >= c if g == 1 or value > c), default=0)
    return max((g for g, m in ((1, 1.0), (2, 3.0), (3, 5.0), (4, 20.0)) if value > m * uln),
               default=0)  # fmt: skip


def expected_graded_values() -> list[tuple[str, int, str, float, int]]:
    """(participant, day, analyte, value, grade) of every value after transplant."""
    out = []
    for pid, days in VALUES.items():
        baselines = {a: v for d, panel in sorted(days.items()) if d <= 0 for a, v in panel.items()}
        for day, panel in days.items():
            if day > 0:
                for analyte, value in panel.items():
                    grade = expected_grade(analyte, value, baselines.get(analyte))
                    out.append((pid, day, analyte, value, grade))
    return out


def seed(session: Session, *, values: dict[str, dict[int, dict[str, float]]] = VALUES,
         events: bool = True) -> None:  # fmt: skip
    """The trial, its site's reference ranges, three participants' panels and events."""
    admin = acting_as("admin")
    create_trial(
        session, user=admin, protocol_id=PROTOCOL, title="Lab safety test trial", phase="1",
        arms=[ArmSpec("cells", "iPSC-NS/PC transplantation")],
        visits=[VisitSpec("day 0", 0, 0, 0), VisitSpec("week 12", 84, 7, 7)],
    )  # fmt: skip
    site = add_site(session, user=admin, protocol_id=PROTOCOL, code="S01", name="Hospital")
    for analyte, (lln, uln) in RANGES.items():
        set_reference_range(session, admin, site_id=site.id, analyte=analyte, lln=lln, uln=uln)
    ids = {}
    for pid in ("P001", "P002", "P003"):
        ids[pid] = enroll_participant(
            session, user=admin, protocol_id=PROTOCOL, site_code="S01", study_id=pid,
            injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=30,
            sex="M", transplant_date=TRANSPLANT,
        ).id  # fmt: skip
    for pid, days in values.items():
        for day, panel in sorted(days.items()):
            record_lab_panel(
                session, admin, participant_id=ids[pid],
                collected_on=TRANSPLANT + timedelta(days=day),
                entries=[LabEntry(a, v, UNITS[a]) for a, v in panel.items()],
            )  # fmt: skip
    if not events:
        return
    pid, day, analyte, (cells, procedure, immuno) = LAB_EVENT
    result = session.query(LabResult).filter_by(
        participant_id=ids[pid], analyte=analyte, collected_on=TRANSPLANT + timedelta(days=day)
    ).one()  # fmt: skip
    report_lab_as_adverse_event(
        session, admin, lab_result_id=result.id, awareness_date=result.collected_on,
        related_to_cells=cells, related_to_procedure=procedure,
        related_to_immunosuppression=immuno, expectedness="expected", outcome="recovering",
        category="immunosuppression_effect",
    )  # fmt: skip
    for pid, day, term, category, serious, cells, procedure, immuno in EVENTS:
        onset = TRANSPLANT + timedelta(days=day)
        report_adverse_event(
            session, user=admin, participant_id=ids[pid], term=term, category=category,
            onset_date=onset, awareness_date=onset, ctcae_grade=3 if serious else 1,
            serious_criteria=serious, related_to_cells=cells, related_to_procedure=procedure,
            related_to_immunosuppression=immuno, expectedness="expected", outcome="recovered",
            resolution_date=onset + timedelta(days=5),
            narrative="Admitted for intravenous antibiotics (test)." if serious else "",
        )  # fmt: skip


@pytest.fixture
def trial_data(engine: Engine) -> TrialData:
    factory = make_session_factory(engine)
    with factory() as session:
        seed(session)
        return load_trial(session, PROTOCOL)


def _section(data: TrialData) -> ReportSection:
    section = lab_safety_section(data)
    assert section is not None
    return section


def test_worst_grade_counts_match_the_grades_worked_out_from_the_raw_values(trial_data):
    graded = expected_graded_values()
    worst: dict[str, dict[str, int]] = {}
    for pid, _, analyte, _, grade in graded:
        worst.setdefault(analyte, {})[pid] = max(grade, worst.get(analyte, {}).get(pid, 0))
    table = dict(_section(trial_data).tables)[
        "Graded laboratory abnormalities after transplant: participants by worst grade (CTCAE v5.0)"
    ].set_index("CTCAE v5.0 term")
    labels = {"creatinine": "Creatinine increased", "neutrophils": "Neutrophil count decreased",
              "alt": "Alanine aminotransferase increased"}  # fmt: skip
    assert set(table.index) == set(labels.values())
    for analyte, label in labels.items():
        row, per = table.loc[label], worst[analyte]
        assert row["participants tested after transplant"] == len(per)
        for g in (1, 2, 3, 4):
            assert row[f"worst grade {g}"] == sum(v == g for v in per.values()), (label, g)
        assert row["grade 3 or higher"] == sum(v >= 3 for v in per.values())
    # P002's ALT baseline of 100 U/L is above the ULN (grade 1 at baseline)
    assert table.loc["Alanine aminotransferase increased", "abnormal at baseline"] == 1
    assert table.loc["Creatinine increased", "abnormal at baseline"] == 0
    # the baseline rule decided P002's ALT: grade 1 by the baseline, not 2 by the ULN
    assert worst["alt"]["P002"] == 1


def test_the_listing_holds_each_value_of_grade_2_or_higher_in_clinical_words(trial_data):
    expected = sorted((p, d, a) for p, d, a, _, g in expected_graded_values() if g >= 2)
    listing = dict(_section(trial_data).tables)[
        "Laboratory values of grade 2 or higher after transplant"
    ]
    days = [int(re.match(r"day (\d+) after transplant", c).group(1))  # type: ignore[union-attr]
            for c in listing["collected"]]  # fmt: skip
    assert len(listing) == len(expected)
    assert sorted(zip(listing["participant"], days, strict=True)) == sorted(
        (p, d) for p, d, _ in expected
    )
    first = listing[(listing["participant"] == "P001") & (listing["analyte"] == "Creatinine")]
    row = first.iloc[0]
    assert row["collected"] == "day 14 after transplant (2026-02-09)"
    assert row["value"] == "130 µmol/L" and row["reference range"] == "60-110 µmol/L"
    assert row["CTCAE grade"] == "Creatinine increased, grade 2 (moderate)"
    assert row["reported as adverse event"] == "Creatinine increased (onset 2026-02-09)"
    assert "x baseline" in row["graded by"]
    neut = listing[listing["analyte"] == "Neutrophil count"]
    assert "0.4 \u00d710⁹/L" in set(neut["value"])
    assert set(listing.loc[listing["participant"] == "P002", "reported as adverse event"]) == {"no"}


def test_adverse_events_are_counted_by_relatedness_to_each_cause(trial_data):
    rows = [(p, s, c, pr, i) for p, _, _, _, s, c, pr, i in EVENTS]
    rows.append((LAB_EVENT[0], [], *LAB_EVENT[3]))
    section = _section(trial_data)
    detail = dict(section.tables)["Adverse events by relatedness to each cause"]
    related = dict(section.tables)["Related adverse events, by cause"].set_index("cause")
    for k, cause in enumerate(("cell product", "procedure", "immunosuppression")):
        for category in ("not_related", "unlikely", "possible", "probable", "definite"):
            mine = [r for r in rows if r[2 + k] == category]
            words = category.replace("_", " ")
            row = detail[(detail["cause"] == cause) & (detail["relatedness"] == words)].iloc[0]
            assert row["events"] == len(mine)
            assert row["participants"] == len({r[0] for r in mine})
            assert row["serious: events"] == sum(bool(r[1]) for r in mine)
            assert row["non-serious: events"] == sum(not r[1] for r in mine)
        causal = [r for r in rows if r[2 + k] in {"possible", "probable", "definite"}]
        assert related.loc[cause, "related events"] == len(causal)
        assert related.loc[cause, "serious: events"] == sum(bool(r[1]) for r in causal)
    # the drug, not the cells: two events related to immunosuppression, one of them serious
    assert tuple(related.loc["immunosuppression", ["related events", "serious: events"]]) == (2, 1)


def test_the_section_goes_after_aesi_without_mri_and_adds_a_summary_line(trial_data):
    report = build_dsmb_report(trial_data)
    titles = [s.title for s in report.sections]
    assert titles == [*DSMB_SECTIONS[:6], SECTION_TITLE, *DSMB_SECTIONS[6:]]
    summary = " ".join(report.sections[0].paragraphs)
    # P001 (worst 3), P002 (neutrophils 4), P003 (creatinine 4): all three grade >= 3
    assert (
        "Immunosuppression and laboratory safety: 3 of 3 participants tested after transplant "
        "with a grade 2 or higher laboratory abnormality, 3 grade 3 or higher; 2 adverse events "
        "related to immunosuppression in 2 participants (1 serious)."
    ) in summary
    assert summary.index("Adverse events of special interest") < summary.index(SECTION_TITLE)


def test_the_section_goes_after_tumour_surveillance_when_the_trial_has_mris(demo_data):
    """The demo has MRIs and adverse events related to immunosuppression (issue 14 and 15)."""
    titles = [s.title for s in build_dsmb_report(demo_data).sections]
    i = titles.index("Adverse events of special interest")
    assert titles[i + 1 : i + 4] == ["Tumour surveillance", SECTION_TITLE, "Stopping rule"]


def test_without_grade_2_values_the_section_says_so(engine: Engine):
    mild = {"P001": {-3: {"creatinine": 80}, 20: {"creatinine": 115, "neutrophils": 1.9}}}
    factory = make_session_factory(engine)
    with factory() as session:
        seed(session, values=mild, events=False)
        data = load_trial(session, PROTOCOL)
    section = _section(data)
    assert "No grade 2 or higher laboratory abnormality after transplant." in section.paragraphs
    captions = [c for c, _ in section.tables]
    assert "Laboratory values of grade 2 or higher after transplant" not in captions
    assert any("4 participants" not in p and "3 participants" in p for p in section.paragraphs)
    assert "0 of 1 participants tested" in section.summary_line


def test_no_section_without_labs_nor_immunosuppression_events(engine: Engine):
    factory = make_session_factory(engine)
    with factory() as session:
        seed(session, values={}, events=False)
        data = load_trial(session, PROTOCOL)
    assert len(data.lab_results) == 0 and "lab_results" not in data.frames
    assert lab_safety_section(data) is None
    assert SECTION_TITLE not in [s.title for s in build_dsmb_report(data).sections]


def test_immunosuppression_events_alone_give_the_section_with_no_lab_result(trial_data):
    data = dataclasses.replace(trial_data, lab_results=trial_data.lab_results.iloc[0:0])
    section = _section(data)
    assert section.paragraphs[0] == "No laboratory result recorded."
    assert "no laboratory result recorded" in section.summary_line


@pytest.fixture
def provider() -> Iterator[Any]:
    def exposure(data: TrialData) -> list[tuple[str, pd.DataFrame]]:
        people = list(data.participants["participant"])
        return [
            ("Exposure to tacrolimus",
             pd.DataFrame({"participant": people, "days": [90] * len(people)})),
            ("Trough levels in and out of range", pd.DataFrame({"in range": [5], "out": [1]})),
        ]  # fmt: skip

    IMMUNOSUPPRESSION_TABLE_PROVIDERS.append(exposure)
    yield exposure
    IMMUNOSUPPRESSION_TABLE_PROVIDERS.remove(exposure)


def test_the_providers_tables_come_first_in_the_section(trial_data, provider):
    captions = [c for c, _ in _section(trial_data).tables]
    assert captions[:2] == ["Exposure to tacrolimus", "Trough levels in and out of range"]
    assert len(captions) == 2 + 4  # then the two lab tables and the two relatedness tables
    exposure = dict(_section(trial_data).tables)["Exposure to tacrolimus"]
    assert list(exposure["participant"]) == ["P001", "P002", "P003"]


def test_a_providers_table_alone_makes_the_section_appear(engine: Engine, provider):
    factory = make_session_factory(engine)
    with factory() as session:
        seed(session, values={}, events=False)
        data = load_trial(session, PROTOCOL)
    section = _section(data)
    assert next(c for c, _ in section.tables) == "Exposure to tacrolimus"
    assert "No laboratory result recorded." in section.paragraphs


def test_lab_results_load_in_one_statement_whatever_the_participants(engine: Engine):
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "lab_result" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    factory = make_session_factory(engine)
    with factory() as session:
        seed(session)
        event.listen(engine, "before_cursor_execute", count)
        try:
            data = load_trial(session, PROTOCOL)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert len(data.lab_results) == sum(len(p) for d in VALUES.values() for p in d.values())
    assert "lab_results" in data.frames


def test_the_dsmb_pdf_and_html_show_the_section_in_words(trial_data):
    report = build_dsmb_report(trial_data)
    doc = pdfium.PdfDocument(render_pdf(report))
    pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    doc.close()
    start = next(i for i, t in enumerate(pages) if i > 0
                 and t.replace("\r", "").split("\n")[0].strip() == SECTION_TITLE)  # fmt: skip
    end = next(i for i, t in enumerate(pages) if i > start
               and t.replace("\r", "").split("\n")[0].strip() == "Stopping rule")  # fmt: skip
    text = " ".join(pages[start:end]).replace("\r\n", " ").replace("\n", " ")
    for words in ("Graded laboratory abnormalities after transplant", "day 14 after transplant",
                  "130 µmol/L", "grade 2 (moderate)", "Creatinine increased (onset 2026-02-09)",
                  "Related adverse events, by cause", "immunosuppression", "cannot estimate",
                  "Baseline is the participant's last value"):  # fmt: skip
        assert words in text, words
    html = render_html(report)
    part = html[html.index(f"<h2>{SECTION_TITLE}</h2>") : html.index("<h2>Stopping rule</h2>")]
    assert "130 µmol/L" in part and "not related" in part
    assert not re.findall(r"<t[dh]>[a-z]+(?:_[a-z0-9]+)+</t[dh]>", part)
    assert "creatinine_increased" not in part and "10*9/L" not in part


def test_unit_words_read_ucum_codes_as_people_write_them():
    assert lab_safety.unit_words("10*9/L") == "\u00d710⁹/L"
    assert lab_safety.unit_words("umol/L") == "µmol/L"
    assert lab_safety.unit_words("{INR}") == ""
    assert lab_safety.unit_words("U/L") == "U/L"


def test_events_without_an_assessment_of_a_cause_count_as_not_assessed():
    """A hand-made frame without the immunosuppression column (stores before relatedness was
    split by cause): its events are 'not assessed' for that cause, never 'not related'."""
    aes = pd.DataFrame(
        {"participant": ["A", "B", "B"], "serious": [True, False, False],
         "related_to_cells": ["possible", "not_related", "probable"]}
    )  # fmt: skip
    table = lab_safety.relatedness_table(aes)
    immuno = table[table["cause"] == "immunosuppression"].set_index("relatedness")
    assert immuno.loc["not assessed", "events"] == 3
    assert immuno.loc["not assessed", "participants"] == 2
    assert immuno.loc["not related", "events"] == 0
    cells = lab_safety.related_by_cause(aes).set_index("cause").loc["cell product"]
    assert (cells["related events"], cells["participants"], cells["serious: events"]) == (2, 2, 1)


def test_the_data_cut_reaches_the_latest_laboratory_sample(engine: Engine):
    """The report's data cut is the latest data of any kind: here P002's day-90 panel, after
    every event; the stopping rule's light read (load_safety) gives the same cut."""
    from cordtrial.analysis.store import load_safety

    factory = make_session_factory(engine)
    with factory() as session:
        seed(session)
        data = load_trial(session, PROTOCOL)
        light = load_safety(session, PROTOCOL)
    latest = TRANSPLANT + timedelta(days=max(d for days in VALUES.values() for d in days))
    assert latest > max(data.adverse_events["onset_date"])
    assert data.last_data_date == latest == light.last_data_date
    assert f"Data cut {latest.isoformat()}" in build_dsmb_report(data).sections[0].paragraphs[0]


def test_the_demo_section_opens_with_exposure_and_troughs_of_its_tacrolimus_course(demo_data):
    """The immunosuppression records' tables are wired in as the first provider (issue 15)."""
    (section,) = [s for s in build_dsmb_report(demo_data).sections if s.title == SECTION_TITLE]
    captions = [caption for caption, _ in section.tables]
    assert captions[:2] == [
        "Exposure to immunosuppression",
        "Trough levels against the protocol's target",
    ]
    exposure = section.tables[0][1]
    assert set(demo_data.immunosuppression_courses["participant"]) <= set(
        exposure.iloc[:, 0].astype(str)
    )
