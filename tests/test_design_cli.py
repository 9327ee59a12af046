"""``cordtrial design ...``: tables, JSON (the Simon contract of docs/cli.md), files, and bad
options refused with exit 2 and a message naming the option."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cordtrial.analysis.designs.simon import simon_two_stage
from cordtrial.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["design", *args])


def test_simon_json_is_exactly_the_contract():
    """Source of the design: Simon 1989 (the table row 0.3/0.5, alpha 0.05, beta 0.2 optimal
    5/15, 18/46, quoted in shared/reference/designs.md)."""
    result = _run("simon", "--p0", "0.3", "--p1", "0.5", "--alpha", "0.05", "--power", "0.8",
                  "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"optimal", "minimax"}
    assert {k: data["optimal"][k] for k in ("r1", "n1", "r", "n")} == {
        "r1": 5, "n1": 15, "r": 18, "n": 46}  # fmt: skip
    for design in data.values():
        assert set(design) == {"r1", "n1", "r", "n", "en0", "pet0"}


def test_simon_table_shows_both_designs_and_the_operating_characteristics():
    result = _run("simon", "--p0", "0.1", "--p1", "0.3", "--rates", "0.1,0.3")
    assert result.exit_code == 0, result.output
    expected = simon_two_stage(0.1, 0.3)
    assert "optimal" in result.stdout and "minimax" in result.stdout
    assert f"{expected.optimal.en0:.4f}" in result.stdout
    assert f"{expected.minimax.power:.4f}" in result.stdout
    assert result.stdout.count("Operating characteristics") == 2


def test_simon_output_file_holds_the_contract_and_the_operating_characteristics(tmp_path: Path):
    out = tmp_path / "simon.json"
    result = _run("simon", "--p0", "0.1", "--p1", "0.3", "--rates", "0.1,0.2,0.3", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["optimal"] == simon_two_stage(0.1, 0.3).to_dict()["optimal"]
    oc = data["operating_characteristics"]["optimal"]
    assert [row["true_rate"] for row in oc] == [0.1, 0.2, 0.3]
    assert oc[0]["p_early_inactive"] == pytest.approx(data["optimal"]["pet0"], abs=1e-4)
    assert "responses <= r1" in data["convention"]


def test_fleming_reproduces_the_calculator_example_in_json():
    """Source: static.medsci.cn Fleming calculator example (designs.md section 2)."""
    result = _run("fleming", "--p0", "0.2", "--p1", "0.4", "--stages", "15,10", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inactive_if_at_most"] == [3, 8]
    assert data["active_if_at_least"] == [7, 9]
    assert 0.05 < data["alpha"] < 0.051  # the exact type I error, above the nominal one


def test_bayes_monitor_prints_the_boundary_table():
    """Source: designs.md section 3 (ph2bayes example, computed): at n = 40 stop if y <= 6."""
    result = _run("bayes-monitor", "--n-max", "40", "--prior-experimental", "0.6,1.4",
                  "--prior-standard", "15,35", "--no-superiority", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inactive_if_at_most"][-1] == 6
    assert data["inactive_if_at_most"][5] == 0  # n = 6
    assert data["operating_characteristics"]


def test_predictive_with_n_max_gives_ph2bayes_boundary():
    """Source: ph2bayes stopbound_pred example (designs.md section 4): n = 29 stops at <= 9."""
    result = _run("predictive", "--p0", "0.3", "--n-max", "40", "--prior", "0.6,1.4",
                  "--theta-t", "0.85", "--theta-l", "0.05", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inactive_if_at_most"][28] == 9
    assert data["power"] is None


def test_two_arm_json_gives_n_per_arm_and_exact_power():
    result = _run("two-arm", "--treated", "0.6", "--control", "0.2", "--test", "fisher", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["test"] == "fisher" and data["power"] >= 0.8
    assert data["total"] == 2 * data["n_per_arm"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["simon", "--p0", "0.5", "--p1", "0.3"], ["--p1", "0.3", "above p0"]),
        (["simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "2"], ["--alpha", "between 0 and 1"]),
        (["fleming", "--p0", "0.2", "--p1", "0.4", "--stages", "15,x"], ["--stages", "15,x"]),
        (["bayes-monitor", "--n-max", "40", "--prior-experimental", "0.6",
          "--prior-standard", "15,35"], ["--prior-experimental", "two beta parameters"]),
        (["predictive", "--p0", "0.3"], ["--p1", "--n-max"]),
        (["two-arm", "--treated", "0.6", "--control", "0.2", "--test", "chi2"],
         ["--test", "chi2", "fisher"]),
        (["two-arm", "--treated", "0.6", "--control", "0.2", "--sided", "both"], ["--sided"]),
        (["simon", "--p0", "0.1", "--p1", "0.3", "-o", "out.txt"], ["--output", ".json"]),
    ],
)  # fmt: skip
def test_bad_options_exit_2_with_a_clear_message(args, words):
    result = _run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr


def test_cordtrial_help_lists_design_and_does_not_import_the_analysis_package():
    """`cordtrial --help` stays fast: scipy-backed analysis modules are imported by commands."""
    code = (
        "import sys; from cordtrial.cli import app; "
        "print('cordtrial.analysis' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    result = runner.invoke(app, ["--help"])
    assert "design" in result.stdout


def test_safety_rule_boundary_and_operating_characteristics():
    """Source: StoppingRule.boundary and safety_rule_operating_characteristics called directly
    (the latter checked by enumeration in tests/analysis)."""
    from cordtrial.analysis.designs.safety_rule import safety_rule_operating_characteristics
    from cordtrial.analysis.safety import DEFAULT_STOPPING_RULE

    result = _run("safety-rule", "--n-max", "12", "--rates", "0.1,0.3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stop_if_at_least"] == [int(b) for b in DEFAULT_STOPPING_RULE.boundary(12)[1:]]
    oc = safety_rule_operating_characteristics(DEFAULT_STOPPING_RULE, 12, [0.1, 0.3])
    assert [r["p_stop"] for r in data["operating_characteristics"]] == pytest.approx(
        list(oc["p_stop"]), abs=1e-6
    )
    bad = _run("safety-rule", "--max-rate", "2")
    assert bad.exit_code == 2 and "--max-rate" in bad.stderr
