"""DSMB and efficacy reports from the synthetic demo: every section present in the PDF (text
extracted and pages rendered to images with pypdfium2), figure pages not blank, HTML complete."""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium
import pytest

from cordtrial.analysis.endpoints import endpoint_table
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.plots import (
    ae_timeline_figure,
    ais_shift_figure,
    figure_png,
    figure_svg,
    motor_trajectories_figure,
)
from cordtrial.analysis.report import (
    DSMB_SECTIONS,
    EFFICACY_SECTIONS,
    build_dsmb_report,
    build_efficacy_report,
    render_html,
    render_pdf,
    write_report,
)


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
    for table in ("By CTCAE grade", "Serious adverse events", "Stopping boundary",
                  "AIS shift"):  # fmt: skip
        assert table in text


def test_dsmb_pdf_prints_snapshot_hash_and_engine_versions(dsmb_pdf: bytes, demo_data):
    text = "\n".join(t for t, _ in _pages(dsmb_pdf))
    assert demo_data.snapshot_hash in text.replace("\r", "").replace("\n", "")
    assert "isncsci_engine" in text and "scipy" in text


def _coloured(image: np.ndarray) -> float:
    """Share of clearly coloured pixels (text and table fills are grey; plotted data are not)."""
    rgb = image.astype(int)
    return float(((rgb.max(axis=2) - rgb.min(axis=2)) > 40).mean())


def test_dsmb_figure_pages_are_not_blank(dsmb_pdf: bytes):
    """Pages holding a figure show plotted (coloured) data; a text-only page shows none, so the
    measure tells a drawn figure from an empty frame."""
    doc = pdfium.PdfDocument(dsmb_pdf)
    captions = ("Adverse-event timeline", "Motor scores", "AIS shift")
    seen = []
    for i in range(len(doc)):
        text = doc[i].get_textpage().get_text_range()
        image = np.asarray(doc[i].render(scale=0.5).to_pil().convert("RGB"))
        found = [c for c in captions if c in text]
        if found:
            seen += found
            assert _coloured(image) > 3e-4, (i, found)
        elif DSMB_SECTIONS[6] in text:
            assert _coloured(image) == 0
    doc.close()
    assert set(seen) == set(captions)


def test_dsmb_reports_the_serious_event_and_the_rule_not_crossed(demo_data):
    report = build_dsmb_report(demo_data)
    rule = next(s for s in report.sections if s.title == DSMB_SECTIONS[4])
    assert any("not crossed" in p and "1 of 4" in p for p in rule.paragraphs)
    sae = next(s for s in report.sections if s.title == DSMB_SECTIONS[2])
    assert len(sae.tables[0][1]) == 1


def test_efficacy_report_sections_and_limits(efficacy):
    assert [s.title for s in efficacy.sections] == list(EFFICACY_SECTIONS)
    limits = next(s for s in efficacy.sections if s.title == EFFICACY_SECTIONS[6])
    text = " ".join(limits.paragraphs)
    assert "No control group" in text and "cannot show" in text
    assert any("n=4" in c for c in efficacy.caveats)


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
