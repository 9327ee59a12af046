"""``cordtrial report dsmb|efficacy|example`` on a SQLite store seeded with the synthetic demo."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from typer.testing import CliRunner

from cordtrial.cli import app
from cordtrial.trial.database import make_engine, make_session_factory, upgrade
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'cordtrial.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed_demo(make_session_factory(engine), today=date(2026, 11, 25))
    engine.dispose()
    return url


def test_example_prints_the_worked_example_matching_scipy():
    """Source of the expected numbers: scipy.stats.binomtest, statsmodels' Clopper-Pearson and
    scipy.stats.beta for 2 of 4 against 26.1% (van Middendorp 2009)."""
    result = CliRunner().invoke(app, ["report", "example", "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "converted (>= 1 AIS grade): 2 of 4" in out
    p = stats.binomtest(2, 4, 0.261, alternative="greater").pvalue
    assert f"p = {p:.4f}" in out
    low, high = proportion_confint(2, 4, method="beta")
    assert f"{low:.4f} to {high:.4f}" in out
    assert f"{stats.beta.sf(0.261, 3, 3):.4f}" in out
    assert "A-001: A->D" in out and "A-002: A->C" in out
    assert "cannot show that the cells caused" in out


def test_dsmb_report_pdf_from_the_store(demo_url: str, tmp_path: Path):
    output = tmp_path / "dsmb.pdf"
    result = CliRunner().invoke(
        app, ["report", "dsmb", "--trial", DEMO_PROTOCOL_ID, "-o", str(output),
              "--database", demo_url]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = pdfium.PdfDocument(output)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    doc.close()
    assert "5. Safety stopping rule" in text


def test_efficacy_report_html_from_settings(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", demo_url)
    output = tmp_path / "efficacy.html"
    result = CliRunner().invoke(
        app, ["report", "efficacy", "--trial", DEMO_PROTOCOL_ID, "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "3. Comparison with natural recovery" in output.read_text(encoding="utf-8")


def test_unknown_trial_exits_2(demo_url: str, tmp_path: Path):
    """An unknown trial is unusable input (status 2), as for import and export."""
    result = CliRunner().invoke(
        app, ["report", "dsmb", "--trial", "NOPE", "-o", str(tmp_path / "r.pdf"),
              "--database", demo_url]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "NOPE" in result.output


def test_other_extension_exits_2(tmp_path: Path):
    result = CliRunner().invoke(
        app, ["report", "dsmb", "--trial", "X", "-o", str(tmp_path / "r.docx")]
    )
    assert result.exit_code == 2
    assert "--output" in result.output and ".pdf or .html" in result.output
