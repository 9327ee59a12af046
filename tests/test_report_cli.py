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
from cordtrial.trial.demo import (
    DEMO_EXAM_VISITS,
    DEMO_PROTOCOL_ID,
    DEMO_TRAJECTORIES,
    seed_demo,
)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'cordtrial.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed_demo(make_session_factory(engine), today=date(2026, 11, 25))
    engine.dispose()
    return url


def _week_52_design() -> tuple[int, int, list[str]]:
    """(assessed, converted, grade changes) at week 52 from the demo's design
    (DEMO_TRAJECTORIES at DEMO_EXAM_VISITS), not from the analysis."""
    changes, converted = [], 0
    for study_id, visits in sorted(DEMO_EXAM_VISITS.items()):
        grades = DEMO_TRAJECTORIES[study_id]
        if "week 52" in visits:
            base, end = grades[visits.index("screening")], grades[visits.index("week 52")]
            changes.append(f"{study_id}: {base}->{end}")
            converted += end > base  # AIS letters sort from A (complete) to E
    return len(changes), converted, changes


def test_example_prints_the_worked_example_matching_scipy():
    """Primary endpoint at week 52: every demo participant assessed after five years, the
    converted counted from the demo's design. Source of the expected numbers:
    scipy.stats.binomtest, statsmodels' Clopper-Pearson and scipy.stats.beta against 26.1%
    (van Middendorp 2009)."""
    result = CliRunner().invoke(app, ["report", "example", "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    out = result.output
    n, yes, changes = _week_52_design()
    assert f"at week 52: {yes} of {n} assessed; 0 pending (none)" in out
    p = stats.binomtest(yes, n, 0.261, alternative="greater").pvalue
    assert f"p = {p:.4f}" in out
    low, high = proportion_confint(yes, n, method="beta")
    assert f"{low:.4f} to {high:.4f}" in out
    assert f"{stats.beta.sf(0.261, 1 + yes, 1 + n - yes):.4f}" in out
    assert all(change in out for change in changes) and "pending" not in out.split("\n")[2]
    # none pending: the last observation is each participant's latest main-study exam
    assert (
        "last observation (each participant's latest exam of the main study; none is pending)"
        in out
    )
    assert f"{yes} of {n} converted" in out
    assert "cannot show that the cells caused" in out
    # 3- and 6-month sources are not compared with a week-52 endpoint
    assert "Ariji" not in out and "Aimetti" not in out
    # nor level-specific sources that do not cover both assessed participants (C5 and T6)
    assert "(T1-T9," not in out and "(tetraplegia," not in out


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
    assert "Stopping rule" in text and "Executive summary" in text


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


def test_docs_worked_example_shows_the_current_snapshot_hash():
    """docs/analysis.md prints the worked example's output; its data snapshot line is the hash
    the example gives today (issue 13: it was stale)."""
    result = CliRunner().invoke(app, ["report", "example", "--today", "2026-11-25"])
    line = next(x for x in result.output.splitlines() if x.startswith("data snapshot:"))
    docs = (Path(__file__).resolve().parents[1] / "docs" / "analysis.md").read_text("utf-8")
    assert line in docs
