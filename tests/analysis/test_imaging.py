"""Tumour surveillance statistics: reader agreement (Cohen's kappa with CI) and the exact upper
bound on the tumour rate."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cordtrial.analysis.exposure import poisson_exact_ci
from cordtrial.analysis.imaging import (
    READ_COLUMNS,
    reader_agreement,
    reference_reads,
    tumour_rate_upper_bound,
)


def _reads(pairs: list[tuple[bool, bool]]) -> pd.DataFrame:
    rows = []
    for mri, (a, b) in enumerate(pairs):
        for reader, value in (("reader1", a), ("reader2", b)):
            rows.append({c: None for c in READ_COLUMNS} | {
                "participant": "P", "mri": mri, "kind": "central", "reader": reader,
                "status": "locked", "new_mass": value, "impression": "stable",
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(READ_COLUMNS))


def test_kappa_and_its_ci_match_the_reference_sheet_oracle() -> None:
    """shared/reference/mri-surveillance.md section 6: statpsych ci.kappa(.05, 31, 12, 4, 58)
    gives kappa 0.6756757, SE 0.07344761, 95% CI 0.5317210-0.8196303 (Fleiss-Cohen-Everitt)."""
    pairs = ([(False, False)] * 31 + [(False, True)] * 12 + [(True, False)] * 4
             + [(True, True)] * 58)  # fmt: skip
    table = reader_agreement(_reads(pairs), items=["new_mass"]).iloc[0]
    assert table["MRIs"] == 105
    assert table["kappa"] == pytest.approx(0.6756757, abs=1e-7)
    assert table["SE"] == pytest.approx(0.07344761, abs=1e-8)
    assert table["95% CI low"] == pytest.approx(0.5317210, abs=1e-7)
    assert table["95% CI high"] == pytest.approx(0.8196303, abs=1e-7)
    assert table["agreement"] == pytest.approx(89 / 105)


def test_kappa_is_not_defined_when_every_answer_is_the_same() -> None:
    row = reader_agreement(_reads([(False, False)] * 5), items=["new_mass"]).iloc[0]
    assert row["agreement"] == 1.0 and "not defined" in row["note"]
    assert math.isnan(row["kappa"])


def test_kappa_interval_never_leaves_minus_one_to_one() -> None:
    """The demo's impressions (28 agreeing, 1 'changed' by both, 1 disagreement) gave a Wald
    interval reaching 1.19: kappa cannot exceed 1 (Cohen 1960), so the interval is cut there
    and the note says so. Expected: statsmodels' uncut upper limit is above 1 for this table."""
    pairs = [(False, False)] * 26 + [(True, True)] * 2 + [(False, True)]
    row = reader_agreement(_reads(pairs), items=["new_mass"]).iloc[0]
    assert 0 < row["kappa"] < 1 and row["kappa"] + 1.96 * row["SE"] > 1
    assert row["95% CI high"] == 1.0 and row["95% CI low"] >= -1.0
    assert "cut at 1" in row["note"]


def test_kappa_of_a_reader_with_one_answer_throughout_has_no_interval() -> None:
    """One reader said 'no' to every MRI, the other 'yes' once: kappa is 0 by construction
    (observed agreement equals chance agreement) and its SE 0, so the Wald interval would be
    the point 0; it is left empty and the note says why."""
    pairs = [(False, False)] * 20 + [(False, True)]
    row = reader_agreement(_reads(pairs), items=["new_mass"]).iloc[0]
    assert row["kappa"] == pytest.approx(0.0)
    assert math.isnan(row["95% CI low"]) and math.isnan(row["95% CI high"])
    assert "one reader gave the same answer" in row["note"]


def test_reads_locked_by_one_reader_only_are_not_paired() -> None:
    reads = _reads([(False, True)])
    reads.loc[1, "status"] = "assigned"
    assert reader_agreement(reads, items=["new_mass"]).iloc[0]["MRIs"] == 0


def test_upper_bound_with_no_tumour_is_the_rule_of_three() -> None:
    """Garwood 1936 one-sided 95%: chi2(0.95; 2)/2 = -ln(0.05) = 2.996 events; per 10 years."""
    bound = tumour_rate_upper_bound(0, 4, 10.0)
    assert bound.rate_upper == pytest.approx(-math.log(0.05) / 10)
    # the one-sided 95% bound is the upper end of the two-sided 90% exact interval
    assert bound.rate_upper == pytest.approx(poisson_exact_ci(0, 10.0, 0.90)[1])
    assert bound.proportion_upper == pytest.approx(1 - 0.05 ** (1 / 4))  # 0.527 for 0 of 4
    assert "0 of 4 participants" in bound.summary


def test_upper_bound_with_one_tumour_matches_garwood() -> None:
    """designs.md section 8: the two-sided 95% upper limit of 1 event is 5.5716; the one-sided
    97.5% bound is the same number."""
    bound = tumour_rate_upper_bound(1, 4, 2.0, confidence=0.975)
    assert bound.rate_upper == pytest.approx(5.5716 / 2, abs=1e-4)
    assert tumour_rate_upper_bound(0, 4, 0.0).rate_upper is None


def test_reference_read_prefers_the_adjudication() -> None:
    reads = _reads([(False, True)])
    adjudication = reads.iloc[[0]].assign(kind="adjudication", reader="reader3", new_mass=True)
    chosen = reference_reads(pd.concat([reads, adjudication]))
    assert list(chosen["reader"]) == ["reader3"]
