"""Differential tests: our engine against the reference implementation (npm ``isncsci`` 2.0.6).

The reference is run with Node.js by ``tests/oracle/run.js`` (see ``tests/oracle/README.md``).
Every field of the result record must be equal, exam by exam, except where a documented category
(tests/reference_differences.py, docs/isncsci-rules.md) leaves a field to us; on a difference the
failure message
counts the disagreeing exams per field and prints the first few exams (flat, canonical columns)
with both results, so they can be pasted into a unit test.

Run alone with ``pytest -m oracle``; skip with ``-m "not oracle"`` where Node.js is missing.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cordtrial.isncsci import RESULT_FIELDS, Exam, classify
from oracle.oracle import (
    ALL_COLUMNS,
    CELL_COLUMNS,
    MOTOR_LEVELS,
    ORACLE_DIR,
    PINNED_VERSION,
    RESULT_KEYS,
    SENSORY_LEVELS,
    classify_reference,
    ensure_installed,
    installed_version,
    run_reference,
    to_reference,
)
from reference_differences import disagreements, fields_judged_by_category
from strategies import (
    MOTOR_VALUES,
    NKM_CHOICES,
    SENSORY_VALUES,
    exams,
    generate_exams,
    random_exam,
)

pytestmark = pytest.mark.oracle

FIELDS: tuple[str, ...] = tuple(f for f in RESULT_FIELDS if f != "id")
SHOWN_EXAMS = 3

#: (name, seed, number of exams, generator rates): 20,000 exams in all.
MIXES: tuple[tuple[str, int, int, dict[str, float]], ...] = (
    ("clean", 101, 4000, {"nt_rate": 0, "star_rate": 0, "nkm_rate": 0, "random_rate": 0}),
    ("default", 202, 4000, {}),
    ("nt_5pct", 303, 4000, {"nt_rate": 0.05}),
    ("star_heavy", 404, 3000, {"star_rate": 0.08}),
    ("nkm_heavy", 505, 3000, {"nkm_rate": 0.8, "star_rate": 0.03, "nt_rate": 0.02}),
    ("uniform_random", 606, 2000, {"random_rate": 1.0}),
)


@pytest.fixture(scope="module", autouse=True)
def _oracle_installed() -> None:
    ensure_installed()


def _classify_ours(flat: dict[str, str]) -> dict[str, str]:
    try:
        return dict(classify(Exam.from_flat(flat)).to_record())
    except Exception as exc:  # a crash is a disagreement to report, not a test error
        return {"error": f"{type(exc).__name__}: {exc}"}


def _compare(
    exams_: list[dict[str, str]], ours: list[dict[str, str]], theirs: list[dict[str, str]]
) -> str:
    """Empty when every field agrees; else a report of the disagreements."""
    per_field: Counter[str] = Counter()
    pairs: dict[str, Counter[tuple[str, str]]] = {}
    shown: list[str] = []
    disagreeing = 0
    for flat, mine, ref in zip(exams_, ours, theirs, strict=True):
        fields = ("error",) if "error" in mine or "error" in ref else FIELDS
        diff = (
            [f for f in fields if mine.get(f) != ref.get(f)]
            if fields == ("error",)
            else disagreements(flat, mine, ref, fields)
        )
        if not diff:
            continue
        disagreeing += 1
        for f in diff:
            per_field[f] += 1
            pairs.setdefault(f, Counter())[(str(mine.get(f)), str(ref.get(f)))] += 1
        if len(shown) < SHOWN_EXAMS:
            shown.append(
                f"--- exam {len(shown) + 1} (disagrees on {', '.join(diff)})\n"
                f"exam = {json.dumps(flat, separators=(',', ':'))}\n"
                f"ours      = {json.dumps({f: mine.get(f) for f in diff})}\n"
                f"reference = {json.dumps({f: ref.get(f) for f in diff})}\n"
                f"ours (all)      = {json.dumps(mine, separators=(',', ':'))}\n"
                f"reference (all) = {json.dumps(ref, separators=(',', ':'))}"
            )
    if not disagreeing:
        return ""
    lines = [f"{disagreeing} of {len(exams_)} exams disagree with the reference."]
    lines.append("field: exams  (most common ours -> reference)")
    for f, n in per_field.most_common():
        common = ", ".join(f"{a!r}->{b!r} x{k}" for (a, b), k in pairs[f].most_common(3))
        lines.append(f"  {f}: {n}  ({common})")
    return "\n".join([*lines, *shown])


def _differential(exams_: list[dict[str, str]]) -> str:
    # Node classifies in its own process while Python runs our engine on the other core.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reference = pool.submit(classify_reference, exams_)
        ours = [_classify_ours(flat) for flat in exams_]
        theirs = reference.result()
    return _compare(exams_, ours, theirs)


@pytest.mark.parametrize(
    ("seed", "n", "rates"),
    [pytest.param(seed, n, rates, id=name) for name, seed, n, rates in MIXES],
)
def test_engine_matches_reference_on_generated_exams(
    seed: int, n: int, rates: dict[str, float]
) -> None:
    """Every result field equals the reference's, for every generated exam of the mix."""
    report = _differential(generate_exams(n, seed, **rates))
    if report:
        pytest.fail(report, pytrace=False)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(exams(), min_size=40, max_size=40))
def test_engine_matches_reference_on_hypothesis_exams(batch: list[dict[str, str]]) -> None:
    """Every result field equals the reference's on exams drawn by the shared strategy."""
    report = _differential(batch)
    assert not report, report


def test_oracle_is_the_pinned_version() -> None:
    """The installed reference, package.json and package-lock.json all say isncsci 2.0.6."""
    assert installed_version() == PINNED_VERSION
    manifest = json.loads((ORACLE_DIR / "package.json").read_text(encoding="utf-8"))
    assert manifest["dependencies"] == {"isncsci": PINNED_VERSION}
    lock = json.loads((ORACLE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/isncsci"]["version"] == PINNED_VERSION


def test_oracle_reports_an_exam_it_cannot_classify_and_goes_on() -> None:
    """run.js answers {"error": ...} for an exam that makes the reference throw."""
    good = generate_exams(1, 1, random_rate=0)[0]
    out = run_reference([{}, to_reference(good)])
    assert list(out[0]) == ["error"]
    assert tuple(out[1]) == RESULT_KEYS


def test_reference_record_has_the_engine_fields() -> None:
    """run.js writes exactly the result record fields (without id), in the same order."""
    assert RESULT_KEYS == FIELDS


def _from_reference(nested: dict[str, Any]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for prefix, side in (("r", "right"), ("l", "left")):
        s = nested[side]
        assert set(s) <= {"motor", "lightTouch", "pinPrick", "lowestNonKeyMuscleWithMotorFunction"}
        assert list(s["motor"]) == [lv.upper() for lv in MOTOR_LEVELS]
        assert list(s["lightTouch"]) == [lv.upper() for lv in SENSORY_LEVELS]
        assert list(s["pinPrick"]) == [lv.upper() for lv in SENSORY_LEVELS]
        for lv in MOTOR_LEVELS:
            flat[f"{prefix}_{lv}_motor"] = s["motor"][lv.upper()]
        for lv in SENSORY_LEVELS:
            flat[f"{prefix}_{lv}_lt"] = s["lightTouch"][lv.upper()]
            flat[f"{prefix}_{lv}_pp"] = s["pinPrick"][lv.upper()]
    flat["vac"] = nested["voluntaryAnalContraction"]
    flat["dap"] = nested["deepAnalPressure"]
    for prefix, side in (("r", "right"), ("l", "left")):
        nkm = nested[side].get("lowestNonKeyMuscleWithMotorFunction")
        assert nkm != "", "an empty non-key muscle must be omitted, not sent empty"
        flat[f"{prefix}_nkm"] = nkm or ""
    return flat


def test_to_reference_round_trips_every_column() -> None:
    """Each flat column lands in the nested exam once, under its own level and side."""
    rng = random.Random(11)
    # distinct values per column where possible, so a swapped pair of columns would show
    samples = [random_exam(rng) for _ in range(300)] + generate_exams(300, 12, nkm_rate=0.5)
    for flat in samples:
        assert set(flat) == set(ALL_COLUMNS)
        assert _from_reference(to_reference(flat)) == flat
    tagged = {col: col for col in ALL_COLUMNS}
    assert _from_reference(to_reference(tagged)) == {
        **tagged,
        "r_nkm": "R_NKM",  # upper-cased like a level name
        "l_nkm": "L_NKM",
    }


def test_generated_exams_hold_only_legal_values() -> None:
    """The generator only writes values the worksheet allows (no 5*, no 2**, nothing else)."""
    rng = random.Random(7)
    binary = ("Yes", "No", "NT")
    for flat in generate_exams(2000, 31, nt_rate=0.05, star_rate=0.05) + [
        random_exam(rng) for _ in range(200)
    ]:
        assert tuple(flat) == ALL_COLUMNS
        for col in CELL_COLUMNS:
            if col in ("vac", "dap"):
                assert flat[col] in binary, (col, flat[col])
            else:
                allowed = MOTOR_VALUES if col.endswith("_motor") else SENSORY_VALUES
                assert flat[col] in allowed, (col, flat[col])
        assert flat["r_nkm"] in NKM_CHOICES
        assert flat["l_nkm"] in NKM_CHOICES


_KEY_LEVELS = {lv.upper() for lv in MOTOR_LEVELS}


def _trunk_nkm(flat: dict[str, str]) -> bool:
    return any(flat[c] and flat[c] not in _KEY_LEVELS for c in ("r_nkm", "l_nkm"))


def test_mixes_hold_thoracic_and_l1_non_key_muscles() -> None:
    """The generated mixes record non-key muscles at T2-L1 too (ISNCSCI worksheets before 2019,
    expert cases), most of them far enough below the motor level to change AIS or motor ZPP."""
    flats = [f for _, seed, n, rates in MIXES for f in generate_exams(n, seed, **rates)]
    trunk = [f for f in flats if _trunk_nkm(f)]
    assert len(trunk) >= 1000
    judged = [f for f in trunk if fields_judged_by_category(f, _classify_ours(f))]
    assert 0 < len(judged) < len(trunk)


def test_reference_ignores_thoracic_and_l1_non_key_muscles_as_documented() -> None:
    """docs/isncsci-rules.md: the reference ignores a non-key muscle at T2-L1. Checked: on such
    exams every field of the reference equals our result for the exam without that muscle."""
    flats = [f for f in generate_exams(3000, 707, nkm_rate=0.8) if _trunk_nkm(f)][:400]
    without = [
        {**f, **{c: "" for c in ("r_nkm", "l_nkm") if f[c] and f[c] not in _KEY_LEVELS}}
        for f in flats
    ]
    report = _compare(without, [_classify_ours(f) for f in without], classify_reference(flats))
    assert not report, report


def test_reference_under_reports_motor_zpp_when_nt_decides_ais_c_as_documented() -> None:
    """docs/isncsci-rules.md (nt_motor_zpp): on the sweep's exam (AIS C,D, right non-key muscle
    L5), the reference reports the AIS C reading only; ours is wider and contains it, and only
    that field differs."""
    flat = generate_exams(39, 5, nt_rate=0.0, star_rate=0.0, nkm_rate=0.9, random_rate=0)[38]
    flat = {**flat, "l_c4_pp": "NT"}
    ours = _classify_ours(flat)
    theirs = classify_reference([flat])[0]
    assert (ours["zpp_motor_right"], theirs["zpp_motor_right"]) == ("T1,L5", "L5")
    assert [f for f in FIELDS if ours[f] != theirs[f]] == ["zpp_motor_right"]
    assert disagreements(flat, ours, theirs, FIELDS) == []
