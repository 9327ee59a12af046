"""The DSMB report at phase-3 scale (issue 17): 500 participants over ten sites, about three
adverse events each (:func:`scaled.scaled_trial`, grown from the synthetic demo). The figures
must read at that size -- aggregated views instead of a row or a legend entry per participant --
which is checked on the matplotlib figures themselves and on the PDF's pages, rendered."""

from __future__ import annotations

import warnings

import numpy as np
import pypdfium2 as pdfium
import pytest

from analysis.scaled import scaled_trial
from cordtrial.analysis.dsmb import build_dsmb_report
from cordtrial.analysis.plots import PER_PARTICIPANT_LIMIT
from cordtrial.analysis.report import _figure_size, render_pdf

pytestmark = pytest.mark.slow

#: The most entries a legend may have: kinds of line or categories, never participants.
_MAX_LEGEND = 10
_A4_LANDSCAPE_MM = (297.0, 210.0)


@pytest.fixture(scope="module")
def large(demo_data):
    return scaled_trial(demo_data, 500)


@pytest.fixture(scope="module")
def report(large):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report lists its caveats itself
        return build_dsmb_report(large)


@pytest.fixture(scope="module")
def pdf(report) -> bytes:
    return render_pdf(report)


def _figures(report):
    return [(s.title, f) for s in report.sections for f in s.figures]


def _legends(fig):
    return [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]


def test_scaled_trial_is_the_size_of_the_issue(large):
    assert len(large.participants) == 500
    assert large.participants["site"].nunique() == 10
    assert 1400 <= len(large.adverse_events) <= 1600


def test_no_figure_has_a_legend_entry_per_participant_at_500(report):
    figures = _figures(report)
    assert figures
    for _, f in figures:
        for legend in _legends(f.figure):
            texts = [t.get_text() for t in legend.get_texts()]
            assert len(texts) <= _MAX_LEGEND, (f.caption, texts)
            assert not any(t.startswith("P0") for t in texts), (f.caption, texts)


def test_ae_figures_are_aggregated_above_the_per_participant_limit(report):
    assert PER_PARTICIPANT_LIMIT < 500
    captions = [f.caption for _, f in _figures(report)]
    assert "Adverse-event timeline" not in captions
    assert "Adverse events by category and time of onset" in captions
    assert "Cumulative incidence of a first adverse event, by category" in captions


def test_motor_figure_shows_medians_and_a_few_participants_at_500(report):
    (motor,) = [f for _, f in _figures(report) if f.caption.startswith("Motor scores")]
    for ax in motor.figure.axes:
        gids = [line.get_gid() or "" for line in ax.get_lines()]
        assert "median" in gids
        assert 1 <= sum(g.startswith("participant ") for g in gids) <= 3


def test_every_figure_prints_at_a_readable_size_at_500(report):
    """The AE timeline was 251 inches tall at 500 participants: shrunk onto the page it was a
    1 cm strip. Every figure must now fit a page at nearly its own size."""
    width, height = _A4_LANDSCAPE_MM
    for _, f in _figures(report):
        w_in, h_in = f.figure.get_size_inches()
        assert h_in <= 7.0 and w_in <= 11.0, (f.caption, w_in, h_in)
        w, h = _figure_size(f, width - 20, height - 12 - 24)
        assert w >= 0.8 * w_in * 25.4 and h >= 60, (f.caption, w, h)


def test_dsmb_pdf_at_500_has_bounded_pages_and_drawn_figures(pdf, report):
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = [doc[i] for i in range(len(doc))]
        # at most a page per participant: the listings (an SAE's narrative, about two SAEs a
        # page) dominate; the AE timeline alone was 251 inches before it was aggregated
        assert 20 <= len(pages) <= 500
        texts = [p.get_textpage().get_text_range() for p in pages]
        # the listings are all there (the last participant's id is printed)
        assert any("P0500" in t for t in texts)
        for caption in ("Adverse events by category and time of onset",
                        "Cumulative incidence of a first adverse event"):  # fmt: skip
            (at,) = [i for i, t in enumerate(texts) if caption in t][:1]
            image = np.asarray(pages[at].render(scale=0.5).to_pil().convert("L"))
            inked = np.nonzero((image < 200).any(axis=1))[0]
            # the figure covers a good part of the page height, not a strip
            assert inked.max() - inked.min() > 0.3 * image.shape[0], caption
    finally:
        doc.close()
    assert len(pdf) < 20 * 2**20
