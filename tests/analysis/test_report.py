"""DSMB and efficacy reports from the synthetic demo: every section present in the PDF (text
extracted and pages rendered to images with pypdfium2), figure pages not blank, HTML complete."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pypdfium2 as pdfium
import pytest

from cordtrial.analysis.endpoints import LAST, endpoint_table
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.plots import (
    ae_label,
    ae_timeline_figure,
    ais_shift_figure,
    figure_png,
    figure_svg,
    motor_trajectories_figure,
)
from cordtrial.analysis.report import (
    DSMB_SECTIONS,
    EFFICACY_SECTIONS,
    Report,
    ReportSection,
    build_dsmb_report,
    build_efficacy_report,
    render_html,
    render_pdf,
    write_report,
)
from cordtrial.trial.demo import DEMO_EXAM_VISITS
from figures import assert_text_inside, drawn, overlap


@pytest.fixture(scope="module")
def dsmb_pdf(demo_data) -> bytes:
    return render_pdf(build_dsmb_report(demo_data))


@pytest.fixture(scope="module")
def efficacy(demo_data):
    return build_efficacy_report(demo_data)


def _pages(pdf: bytes) -> list[tuple[str, np.ndarray]]:
    doc = pdfium.PdfDocument(pdf)
    out = []
    for i in range(len(doc)):
        page = doc[i]
        text = page.get_textpage().get_text_range()
        image = np.asarray(page.render(scale=0.5).to_pil().convert("L"))
        out.append((text, image))
    doc.close()
    return out


def test_dsmb_pdf_has_every_section_with_its_heading(dsmb_pdf: bytes):
    text = "\n".join(t for t, _ in _pages(dsmb_pdf))
    for heading in DSMB_SECTIONS:
        assert heading in text, heading
    for table in ("by CTCAE grade", "Serious adverse events", "Stopping boundary",
                  "AIS shift", "Operating characteristics", "Participant flow",
                  "Cell administrations", "Follow-up by participant"):  # fmt: skip
        assert table in text


def test_dsmb_pdf_sections_start_pages_in_the_issues_order(dsmb_pdf: bytes):
    """Issue 13: the headings, exactly and in this order, each opening its page (rendered with
    pypdfium2): Executive summary, Disposition, Exposure, Follow-up, Serious adverse events,
    Adverse events of special interest, Stopping rule, Efficacy."""
    expected = ["Executive summary", "Disposition", "Exposure", "Follow-up",
                "Serious adverse events", "Adverse events of special interest", "Stopping rule",
                "Efficacy"]  # fmt: skip
    assert list(DSMB_SECTIONS) == expected
    pages = _pages(dsmb_pdf)
    starts = []
    for heading in expected:
        first = next(i for i, (t, _) in enumerate(pages) if i > 0
                     and t.replace("\r", "").split("\n")[0].strip() == heading)  # fmt: skip
        starts.append(first)
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_dsmb_html_headings_in_order_and_clinical_words_only(demo_data):
    """HTML: the h2 headings are exactly the sections; no table heading or cell shows a column or
    enum name (snake_case)."""
    html = render_html(build_dsmb_report(demo_data))
    # the demo has MRIs: "Tumour surveillance" goes right after the AESI section (issue 14),
    # then, with events related to immunosuppression, its laboratory safety section (issue 15)
    expected = [*DSMB_SECTIONS[:6], "Tumour surveillance",
                "Immunosuppression and laboratory safety", *DSMB_SECTIONS[6:]]  # fmt: skip
    assert re.findall(r"<h2>([^<]*)</h2>", html) == expected
    headings = re.findall(r"<th>([^<]*)</th>", html)
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert not [h for h in headings if "_" in h]
    assert not [c for c in cells if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", c)]
    for raw in ("neuropathic_pain", "not_related", "not_recovered", "tumour_or_graft"):
        assert raw not in html


def test_dsmb_stopping_rule_lists_the_counted_event_and_its_operating_characteristics(demo_data):
    from cordtrial.analysis.safety import DEFAULT_STOPPING_RULE

    report = build_dsmb_report(demo_data)
    stop = next(s for s in report.sections if s.title == "Stopping rule")
    tables = dict(stop.tables)
    counted = tables["Events the rule counted"]
    assert list(counted["participant"]) == ["B-001"] and "Syrinx" in counted.iloc[0]["term"]
    oc = tables["Operating characteristics (exact)"]
    pd.testing.assert_frame_equal(oc, DEFAULT_STOPPING_RULE.operating_characteristics(4))


def test_dsmb_executive_summary_names_pending_and_the_tumour_bound(demo_data):
    """Pending: treated participants whose week 52 window (day 364 + 28) had not closed at the
    data cut (from the store's dates). Tumour bound: Clopper-Pearson one-sided 95% upper limit
    with 0 of n, which is 1 - 0.05^(1/n) in closed form."""
    summary = build_dsmb_report(demo_data).sections[0]
    text = " ".join(summary.paragraphs)
    treated = demo_data.participants.dropna(subset=["treated_on"])
    pending = sum(d + timedelta(days=392) > demo_data.last_data_date for d in treated["treated_on"])
    bound = 1 - 0.05 ** (1 / len(treated))
    assert f"; {pending} pending" in text and f"{bound:.1%}" in text
    assert "cannot show causation" in text


def test_optional_safety_sections_go_after_aesi(demo_data):
    """After AESI: Tumour surveillance (issue 14), then the other optional sections in
    OPTIONAL_SAFETY_SECTIONS order, whatever order builders are added (issue 15's builder moved
    to the front here)."""
    from cordtrial.analysis.dsmb import SAFETY_SECTION_BUILDERS
    from cordtrial.analysis.lab_safety import lab_safety_section

    SAFETY_SECTION_BUILDERS.remove(lab_safety_section)
    SAFETY_SECTION_BUILDERS.insert(0, lab_safety_section)
    try:
        titles = [s.title for s in build_dsmb_report(demo_data).sections]
    finally:
        SAFETY_SECTION_BUILDERS.remove(lab_safety_section)
        SAFETY_SECTION_BUILDERS.append(lab_safety_section)
    i = titles.index("Adverse events of special interest")
    assert titles[i + 1 : i + 4] == [
        "Tumour surveillance", "Immunosuppression and laboratory safety", "Stopping rule"
    ]  # fmt: skip


def test_dsmb_pdf_prints_snapshot_hash_and_engine_versions(dsmb_pdf: bytes, demo_data):
    text = "\n".join(t for t, _ in _pages(dsmb_pdf))
    assert demo_data.snapshot_hash in text.replace("\r", "").replace("\n", "")
    assert "ISNCSCI engine" in text and "scipy" in text


def _coloured(image: np.ndarray) -> float:
    """Share of clearly coloured pixels (text and table fills are grey; plotted data are not)."""
    rgb = image.astype(int)
    return float(((rgb.max(axis=2) - rgb.min(axis=2)) > 40).mean())


def test_dsmb_figure_pages_are_not_blank(dsmb_pdf: bytes):
    """Pages holding a figure show plotted (coloured) data; a text-only page shows none, so the
    measure tells a drawn figure from an empty frame."""
    doc = pdfium.PdfDocument(dsmb_pdf)
    captions = ("Adverse-event timeline", "Motor scores (published", "last observed exam")
    seen = []
    for i in range(1, len(doc)):  # page 1 holds the contents and caveats
        text = doc[i].get_textpage().get_text_range()
        image = np.asarray(doc[i].render(scale=0.5).to_pil().convert("RGB"))
        found = [c for c in captions if c in text]
        if found:
            seen += found
            assert _coloured(image) > 3e-4, (i, found)
        elif text.startswith(DSMB_SECTIONS[6]):
            assert _coloured(image) == 0
    doc.close()
    assert set(seen) == set(captions)


def test_dsmb_reports_the_serious_event_and_the_rule_not_crossed(demo_data):
    report = build_dsmb_report(demo_data)
    rule = next(s for s in report.sections if s.title == "Stopping rule")
    assert any("not crossed" in p and "1 of 4" in p for p in rule.paragraphs)
    sae = next(s for s in report.sections if s.title == "Serious adverse events")
    listing = sae.tables[0][1]
    assert len(listing) == 1
    assert "hospitalisation" in listing.iloc[0]["narrative"]
    # the investigator's recorded case description (demo: B-001's syrinx), after the facts
    assert "Narrative: Five years after transplant" in listing.iloc[0]["narrative"]
    # the demo runs under the US and Japanese rules: each clock of its SUSAR was submitted on
    # time, each named with its rule, deadline and authority (issue 15)
    status = listing.iloc[0]["expedited report"]
    clauses = status.split("; ")
    assert len(clauses) == 2 and all(c.endswith(", on time") for c in clauses), status
    assert "15-day IND safety report (21 CFR 312.32(c)(1)(i))" in clauses[1]
    assert "to FDA (synthetic)" in clauses[1] and "to Certified committee" in clauses[0]


def test_efficacy_report_sections_and_limits(efficacy):
    assert [s.title for s in efficacy.sections] == list(EFFICACY_SECTIONS)
    limits = next(s for s in efficacy.sections if s.title == EFFICACY_SECTIONS[6])
    text = " ".join(limits.paragraphs)
    assert "No control group" in text and "cannot show" in text
    assessed = sum("week 52" in visits for visits in DEMO_EXAM_VISITS.values())
    assert any(f"n={assessed}" in c for c in efficacy.caveats)  # assessed at week 52


def test_efficacy_html_is_complete_and_self_contained(efficacy):
    html = render_html(efficacy)
    for heading in EFFICACY_SECTIONS:
        assert f"<h2>{heading}</h2>" in html
    assert html.count("<svg") >= 2
    assert efficacy.snapshot_hash in html


def test_efficacy_pdf_has_every_section(efficacy):
    text = "\n".join(t for t, _ in _pages(render_pdf(efficacy)))
    for heading in EFFICACY_SECTIONS:
        assert heading in text, heading


def test_write_report_refuses_other_extensions(efficacy, tmp_path):
    with pytest.raises(AnalysisInputError) as info:
        write_report(efficacy, tmp_path / "report.docx")
    assert info.value.field == "output"


def test_figures_render_to_png_and_svg(demo_data):
    ep = endpoint_table(demo_data.exams, participants=demo_data.participants,
                        baseline_visit="screening")  # fmt: skip
    for fig in (ais_shift_figure(ep, "week 52"), motor_trajectories_figure(ep),
                ae_timeline_figure(demo_data.adverse_events, demo_data.participants)):  # fmt: skip
        assert figure_png(fig, dpi=40).startswith(b"\x89PNG")
        assert "<svg" in figure_svg(fig)


def test_limitations_weigh_one_participant_in_the_cohort_at_hand() -> None:
    """One of n participants moves a rate by 100/n percentage points (arithmetic)."""
    from cordtrial.analysis.report import LIMITATIONS, limitations

    for n in (1, 4, 7, 40):
        text = limitations(n)
        assert f"with {n} participant" in text[0]
        assert f"by {100 / n:.0f} percentage points" in text[0]
        assert text[1:] == list(LIMITATIONS)
    assert limitations(0)[0] == "No participant has a follow-up exam yet."


# --- layout: what a reader sees (no text cut off, nothing over the data) ---------------------


def _shift_frame(pairs: list[tuple[str, str, str]]) -> pd.DataFrame:
    """An endpoint table at one visit from (baseline grade, grade, status) triples."""
    return pd.DataFrame(
        [{"participant": f"P{i:02d}", "visit": "week 52", "ais_baseline": b, "ais": v,
          "status": s} for i, (b, v, s) in enumerate(pairs)]
    )  # fmt: skip


@pytest.mark.parametrize("visit", [LAST, "week 52"])
def test_ais_shift_labels_inside_the_figure_on_the_demo(demo_data, visit):
    """The right-hand 'missing' label was cut off at the figure's edge."""
    ep = endpoint_table(demo_data.exams, participants=demo_data.participants,
                        baseline_visit="screening")  # fmt: skip
    assert_text_inside(ais_shift_figure(ep, visit))


def test_ais_shift_count_labels_do_not_overlap_when_lines_share_a_baseline():
    """Five lines from A (to A, B, C, D and missing) and two from B: seven counts, none on
    another (the counts sat on top of each other near the common start)."""
    fig = ais_shift_figure(_shift_frame(
        [("A", "A", "observed"), ("A", "B", "observed"), ("A", "B", "observed"),
         ("A", "C", "observed"), ("A", "D", "observed"), ("A", "", "missing"),
         ("B", "B", "observed"), ("B", "C", "observed"), ("A", "A,B", "observed")]
    ), "week 52")  # fmt: skip
    renderer = drawn(fig)
    counts = [t for t in fig.axes[0].texts if t.get_text().isdigit()]
    assert len(counts) == 8
    boxes = [t.get_window_extent(renderer) for t in counts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not overlap(a, b), (a, b)
    assert_text_inside(fig)


def _trajectories(n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        for day, gain in ((0, 0), (90, i % 7), (180, 2 * (i % 7)), (365, 3 * (i % 7))):
            rows.append({"participant": f"S-{i:03d}", "status": "observed", "day": day,
                         "uems_change_min": gain, "uems_change_max": gain + (i % 2),
                         "lems_change_min": gain, "lems_change_max": gain})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("participants", [4, 25])
def test_motor_legend_is_off_the_data_and_inside_the_figure(participants):
    """The legends sat inside the panels, over the lines and the natural-history band; now one
    legend sits beside the panels, overlapping none of them, and is not cut off."""
    fig = motor_trajectories_figure(_trajectories(participants))
    renderer = drawn(fig)
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not overlap(box, ax.get_window_extent(renderer))
    labels = [t.get_text() for t in legend.get_texts()]
    # without the participants' levels the published band's population cannot be checked:
    # no band (issue 13); the legend names kinds of line, never a participant (issue 17):
    # each line carries its study id at its end, no two ids overlapping
    assert labels == ["participant"]
    ids = [f"S-{i:03d}" for i in range(participants)]
    for ax in fig.axes:
        ends = [t for t in ax.texts if t.get_text() in ids]
        assert sorted(t.get_text() for t in ends) == ids
        boxes = [t.get_window_extent(renderer) for t in ends]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not overlap(a, b), (a, b)
    assert_text_inside(fig)


def test_motor_participant_has_one_colour_in_every_panel():
    fig = motor_trajectories_figure(_trajectories(12))
    colours = [[line.get_color() for line in ax.get_lines() if line.get_marker() == "o"]
               for ax in fig.axes]  # fmt: skip
    assert colours[0] == colours[1] and len(set(colours[0])) == 12


_LONG_TERMS = (
    "Neuropathic pain below the level of injury requiring gabapentinoid titration (synthetic)",
    "Raised serum creatinine on tacrolimus (synthetic)",
    "Syrinx enlargement at the graft site with new sensory loss (synthetic)",
    "Headache",
)


def _aes(terms: tuple[str, ...], days: tuple[int, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    from datetime import date, timedelta

    start = date(2026, 1, 1)
    aes = pd.DataFrame(
        [{"participant": "X-001" if i % 2 else "X-002", "term": t, "onset_day": d,
          "onset_date": start + timedelta(days=d), "resolution_date": None,
          "serious": i == 2, "related": True, "ctcae_grade": 1 + i % 3}
         for i, (t, d) in enumerate(zip(terms, days, strict=True))]
    )  # fmt: skip
    return aes, pd.DataFrame({"participant": ["X-001", "X-002"]})


def test_ae_label_breaks_only_between_words():
    """A label is the term's first words, whole, wrapped on at most two lines; a term that does
    not fit ends in an ellipsis (it was cut at 40 characters, mid-word)."""
    for term in (*_LONG_TERMS, "Urinary tract infection (synthetic)", "a" * 45 + " b"):
        label = ae_label(term)
        assert label.count("\n") <= 1
        shortened = label.endswith("…")
        words = label.removesuffix("…").split()
        assert words == term.split()[: len(words)], (term, label)
        assert shortened == (len(words) < len(term.split())), (term, label)


def test_ae_timeline_labels_whole_words_inside_the_figure():
    """Events near the end of the time axis with long terms, two in one row close together:
    every label is the term's :func:`ae_label`, inside the figure, and the two labels of one row
    do not overlap."""
    aes, people = _aes(_LONG_TERMS, (200, 5, 190, 196))
    fig = ae_timeline_figure(aes, people)
    renderer = drawn(fig)
    texts = fig.axes[0].texts
    assert sorted(t.get_text() for t in texts) == sorted(ae_label(t) for t in _LONG_TERMS)
    assert_text_inside(fig)
    by_row: dict[float, list] = {}
    for t in texts:
        by_row.setdefault(round(t.xy[1]), []).append(t.get_window_extent(renderer))
    for boxes in by_row.values():
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not overlap(a, b), (a, b)


def test_demo_figures_keep_their_text_inside(demo_data):
    ep = endpoint_table(demo_data.exams, participants=demo_data.participants,
                        baseline_visit="screening")  # fmt: skip
    assert_text_inside(motor_trajectories_figure(ep))
    assert_text_inside(ae_timeline_figure(demo_data.adverse_events, demo_data.participants))


def test_dsmb_report_gives_shortened_terms_in_full_under_the_timeline(demo_data):
    """The demo's terms fit the labels (no note); a longer term is printed in full under the
    timeline, in the PDF too."""
    report = build_dsmb_report(demo_data)
    sae = next(s for s in report.sections if s.title == "Serious adverse events")
    timeline = next(f for f in sae.figures if f.caption == "Adverse-event timeline")
    assert timeline.note == ""
    aes = demo_data.adverse_events.copy()
    aes.loc[aes.index[0], "term"] = _LONG_TERMS[0]
    longer = build_dsmb_report(dataclasses.replace(demo_data, adverse_events=aes))
    sae = next(s for s in longer.sections if s.title == "Serious adverse events")
    note = next(f for f in sae.figures if f.caption == "Adverse-event timeline").note
    assert _LONG_TERMS[0] in note and aes.iloc[1]["term"] not in note
    pdf_text = " ".join(t for t, _ in _pages(render_pdf(longer))).replace("\r\n", " ")
    assert "Terms shortened in the figure" in pdf_text


def test_pdf_prints_unicode_signs():
    """≥, → and ± come out of the PDF as themselves (core fonts are Latin-1: they became
    '>=', '->' and '?')."""
    report = Report(kind="dsmb", title="Signs → ≥ ±", protocol_id="P", trial_title="T",
                    data_cut=None, snapshot_hash="0" * 64, versions={},
                    sections=[ReportSection("1. Signs", ["age ≥ 65; A → C; 7.8 ± 6.5 …"])],
                    )  # fmt: skip
    text = "\n".join(t for t, _ in _pages(render_pdf(report)))
    assert "age ≥ 65; A → C; 7.8 ± 6.5 …" in text


def test_pdf_prints_free_text_in_every_script_as_typed():
    """Trial titles, AE terms and site names are free text: Latin Extended, Greek and CJK print
    as typed (DejaVu Sans with the CJK fallback font), never as '?'."""
    name = "Łukasz 山田 Müller Ñúñez Ωμέγα"
    frame = pd.DataFrame({"site": [name], "term": ["頭痛 (headache), 김민준"]})
    report = Report(kind="dsmb", title=f"DSMB {name}", protocol_id="P", trial_title=name,
                    data_cut=None, snapshot_hash="0" * 64, versions={},
                    sections=[ReportSection("1. Names", [f"Investigator {name}"],
                                            tables=[("Listing", frame)])])  # fmt: skip
    text = "\n".join(t for t, _ in _pages(render_pdf(report)))
    assert f"Investigator {name}" in text and f"DSMB {name}" in text
    assert "頭痛 (headache), 김민준" in text
    assert "?" not in text and "<U+" not in text


def test_pdf_table_leaves_out_empty_columns_and_says_so():
    frame = pd.DataFrame({"participant": ["A-001"], "arm": [None], "term": ["Headache"]})
    report = Report(kind="dsmb", title="T", protocol_id="P", trial_title="T", data_cut=None,
                    snapshot_hash="0" * 64, versions={},
                    sections=[ReportSection("1. Table", tables=[("Listing", frame)])])  # fmt: skip
    text = "\n".join(t for t, _ in _pages(render_pdf(report)))
    assert "Headache" in text and "left out: arm" in text


def test_html_tables_scroll_inside_the_page_and_figures_shrink_to_it(efficacy):
    """A wide listing scrolls in its own box instead of pushing the page wider, and inline SVG
    figures are no wider than the text column."""
    html = render_html(efficacy)
    assert html.count("<table") == html.count('<div class="table-wrap"><table')
    assert "figure svg{max-width:100%;height:auto}" in html


def test_table_headings_are_words_with_clinical_abbreviations(dsmb_pdf: bytes):
    """``at_risk`` and ``serious_criteria`` appear only as column names: the PDF shows them as
    words; ``ctcae_grade`` as a heading becomes ``CTCAE grade``."""
    text = "\n".join(t for t, _ in _pages(dsmb_pdf))
    assert "at risk" in text and "at_risk" not in text
    assert "seriousness criteria" in text and "serious_criteria" not in text
    assert "CTCAE grade" in text


def test_pdf_figures_print_at_their_own_size_unless_the_page_is_smaller():
    """A figure prints at its own size (so 7-pt labels print at 7 pt); a timeline of 30
    participants is shrunk to one landscape page (it was squeezed to 95 mm whatever its size)."""
    from cordtrial.analysis.report import ReportFigure, _figure_size

    people = pd.DataFrame({"participant": [f"P-{i:03d}" for i in range(30)]})
    small = ReportFigure("AIS shift", ais_shift_figure(_shift_frame([("A", "C", "observed")]),
                                                       "week 52"))  # fmt: skip
    tall = ReportFigure("timeline", ae_timeline_figure(pd.DataFrame(), people))
    page_width, page_height = 277.0, 178.0  # A4 landscape less margins and a caption, mm
    assert _figure_size(small, page_width, page_height) == pytest.approx((5.5 * 25.4, 4 * 25.4))
    width, height = _figure_size(tall, page_width, page_height)
    inches = tall.figure.get_size_inches()
    assert height == pytest.approx(page_height)
    assert width / height == pytest.approx(inches[0] / inches[1])


@pytest.mark.parametrize("rows", [3, 60], ids=["short table", "long table"])
def test_pdf_table_columns_never_cut_a_word(rows: int):
    """A narrow column beside long free text printed its heading as "participan t" (the DSMB's
    laboratory listing: 8 columns, so 8 pt): every column is now at least as wide as its
    longest word, the rest of the width shared by the text's length; both table paths (fpdf2's
    and the long one)."""
    long_text = "an unscheduled sample taken because of a rising creatinine " * 3
    frame = pd.DataFrame(
        {
            "participant": [f"B-{i:03d}" for i in range(rows)],
            "collected": ["day 100 after transplant (2022-02-28)"] * rows,
            "analyte": ["Creatinine"] * rows,
            "value": ["131 µmol/L"] * rows,
            "reference range": ["62-110 µmol/L"] * rows,
            "CTCAE grade": ["Creatinine increased, grade 2 (moderate)"] * rows,
            "graded by": [long_text] * rows,
            "reported as adverse event": [long_text] * rows,
        }
    )
    report = Report(kind="dsmb", title="Widths", protocol_id="P", trial_title="T",
                    data_cut=None, snapshot_hash="0" * 64, versions={},
                    sections=[ReportSection("1. Listing", [], tables=[("Listing", frame)])],
                    )  # fmt: skip
    words = re.findall(r"\S+", "\n".join(t for t, _ in _pages(render_pdf(report))))
    for word in ("participant", "collected", "Creatinine", "transplant", "(2022-02-28)"):
        assert word in words, word
    assert "participan" not in words and "Creatinin" not in words
