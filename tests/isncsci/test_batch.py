"""``classify_frame`` is defined as "equal to the one-exam engine": it is tested that way.

Every field of every row must equal ``classify(Exam.from_flat(row)).to_record()``: on exams drawn
by the shared hypothesis strategy (NT, ``*``, ``**``, non-key muscles), on 12,000 seeded exams at
four rate mixes, and on the frames a caller may hand in (integers, object or Arrow strings,
categoricals, no non-key-muscle columns, no id, a custom index, invalid rows, no rows). On the
batch path, 20,000 seeded exams (the mixes in full) are also compared with the npm reference
(``-m oracle``); the one-exam engine checks the first 3,000 of each mix, which keeps this file
under a minute.

Exams with NT or flags take the general path, which exists twice: compiled with Numba
(``batch.jit``, used from ``JIT_MIN_ROWS`` such exams on) and in numpy (smaller frames, or no
Numba). The drawn exams run through both (``general_path``); the seeded mixes are large enough for
the compiled path, and the numpy path must give every one of their 20,000 results too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cordtrial.isncsci import RESULT_FIELDS, Exam, InvalidExamError, classify
from cordtrial.isncsci.batch import (
    BATCH_FIELDS,
    classify_frame,
    closed_form,
    codes,
    compiled,
    encode,
    notation,
)
from cordtrial.isncsci.batch import jit as batch_jit
from oracle.oracle import ALL_COLUMNS, CELL_COLUMNS, NKM_COLUMNS, classify_reference
from reference_differences import disagreements
from strategies import exams, generate_exams

FIELDS: tuple[str, ...] = tuple(f for f in RESULT_FIELDS if f != "id")
SHOWN_ROWS = 3
#: Exams per mix that the (slower) one-exam engine classifies too.
SCALAR_ROWS = 3000
#: (name, seed, number of exams, generator rates): 20,000 exams in all.
MIXES: tuple[tuple[str, int, int, dict[str, float]], ...] = (
    ("default", 1101, 6000, {}),
    ("nt_5pct", 1202, 5000, {"nt_rate": 0.05}),
    ("flags_and_nkm", 1303, 5000, {"star_rate": 0.08, "nkm_rate": 0.8, "nt_rate": 0.02}),
    ("uniform_random", 1404, 4000, {"random_rate": 1.0}),
)
#: Dtypes a caller's frame may have: what read_frame gives, what Arrow/Parquet/Dask give, and
#: pandas' categoricals.
INPUT_DTYPES = ("object", "string[pyarrow]", "category")


def _records(results: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(r) for r in results.astype(object).to_dict("records")]


def _scalar(flat: dict[str, Any]) -> dict[str, str]:
    """The one-exam engine's record, or the rejection as classify_frame reports it."""
    try:
        record = dict(classify(Exam.from_flat(flat)).to_record())
    except InvalidExamError as err:
        return {**dict.fromkeys(FIELDS, ""), "error_field": err.field, "error": str(err)}
    return {**record, "error_field": "", "error": ""}


def _disagreements(
    flats: Sequence[dict[str, Any]],
    ours: Sequence[dict[str, Any]],
    theirs: Sequence[dict[str, Any]],
    fields: Sequence[str],
    what: str,
    reference: bool = False,
) -> str:
    """Empty when every field of every row agrees; else counts per field and the first rows.
    Against the ``reference``, fields a documented category leaves to us are not compared."""
    per_field: Counter[str] = Counter()
    shown: list[str] = []
    for row, (flat, mine, other) in enumerate(zip(flats, ours, theirs, strict=True)):
        if reference:
            diff = disagreements(flat, mine, other, fields)
        else:
            diff = [f for f in fields if mine.get(f) != other.get(f)]
        per_field.update(diff)
        if diff and len(shown) < SHOWN_ROWS:
            shown.append(
                f"--- row {row} (disagrees on {', '.join(diff)})\n"
                f"exam = {json.dumps(flat, separators=(',', ':'), default=str)}\n"
                f"classify_frame = {json.dumps({f: mine.get(f) for f in diff})}\n"
                f"{what} = {json.dumps({f: other.get(f) for f in diff})}"
            )
    if not per_field:
        return ""
    counts = ", ".join(f"{f}: {n}" for f, n in per_field.most_common())
    return "\n".join([f"classify_frame disagrees with {what} ({counts})", *shown])


@contextmanager
def general_path(path: str) -> Iterator[None]:
    """Classify exams with NT or flags by the ``compiled`` walk whatever their number, or by
    ``numpy`` (as without Numba)."""
    saved_rows, saved = compiled.JIT_MIN_ROWS, dict(compiled._JIT)
    if path == "compiled":
        compiled.JIT_MIN_ROWS = 0
        assert compiled.compiled("general_keys") is not None, "Numba is a dependency"
    else:
        compiled._JIT["module"] = None
    try:
        yield
    finally:
        compiled.JIT_MIN_ROWS = saved_rows
        compiled._JIT.clear()
        compiled._JIT.update(saved)


GENERAL_PATHS = ("compiled", "numpy")


# --- equal to the one-exam engine ----------------------------------------------------------------


@pytest.mark.parametrize("path", GENERAL_PATHS)
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(exams(), min_size=1, max_size=20), st.sampled_from(INPUT_DTYPES))
def test_classify_frame_equals_classify_on_drawn_exams(
    path: str, drawn: list[dict[str, str]], dtype: str
) -> None:
    """Every field of every drawn exam equals the one-exam engine's, whatever the input dtype,
    by either general path."""
    frame = pd.DataFrame(drawn, columns=list(ALL_COLUMNS)).astype(dtype)
    with general_path(path):
        ours = _records(classify_frame(frame))
    report = _disagreements(drawn, ours, [_scalar(f) for f in drawn], BATCH_FIELDS[1:], "classify")
    assert not report, report
    assert [r["id"] for r in ours] == [str(i) for i in range(1, len(drawn) + 1)]


@pytest.fixture(scope="module")
def seeded() -> dict[str, list[dict[str, str]]]:
    """The 20,000 seeded exams of MIXES, by mix name."""
    return {name: generate_exams(n, seed, **rates) for name, seed, n, rates in MIXES}


@pytest.fixture(scope="module")
def seeded_results(seeded: dict[str, list[dict[str, str]]]) -> dict[str, list[dict[str, Any]]]:
    """classify_frame's records of each mix, classified as one frame per mix."""
    return {name: _records(classify_frame(pd.DataFrame(flats))) for name, flats in seeded.items()}


def test_seeded_mixes_take_the_compiled_path_and_numpy_agrees(
    seeded: dict[str, list[dict[str, str]]],
    seeded_results: dict[str, list[dict[str, Any]]],
) -> None:
    """Each mix holds more exams with NT or flags than JIT_MIN_ROWS, so its results above came
    from the compiled walk; the numpy steps give every field of all 20,000 exactly the same."""
    for name, flats in seeded.items():
        frame = pd.DataFrame(flats)
        right, _ = encode.side_arrays(frame, "r")
        left, _ = encode.side_arrays(frame, "l")
        clean = closed_form.is_clean(right) & closed_form.is_clean(left)
        assert (~clean).sum() >= compiled.JIT_MIN_ROWS
        with general_path("numpy"):
            by_numpy = _records(classify_frame(frame))
        assert by_numpy == seeded_results[name], name


@pytest.mark.parametrize("mix", [name for name, *_ in MIXES])
def test_classify_frame_equals_classify_on_seeded_exams(
    mix: str,
    seeded: dict[str, list[dict[str, str]]],
    seeded_results: dict[str, list[dict[str, Any]]],
) -> None:
    """Thousands of generated exams per mix, classified as one frame of the whole mix: every
    field equals the one-exam engine's."""
    flats = seeded[mix][:SCALAR_ROWS]
    ours = seeded_results[mix][:SCALAR_ROWS]
    report = _disagreements(flats, ours, [_scalar(f) for f in flats], BATCH_FIELDS[1:], "classify")
    assert not report, report


@pytest.mark.oracle
def test_classify_frame_equals_reference_on_seeded_exams(
    seeded: dict[str, list[dict[str, str]]],
    seeded_results: dict[str, list[dict[str, Any]]],
) -> None:
    """The differential test on the batch path: 20,000 exams, every field equal to the npm
    reference's (isncsci 2.0.6, run by tests/oracle/run.js), outside the documented categories
    (tests/reference_differences.py)."""
    flats = [f for name, *_ in MIXES for f in seeded[name]]
    ours = [r for name, *_ in MIXES for r in seeded_results[name]]
    assert len(flats) >= 20_000
    theirs = classify_reference(flats)
    report = _disagreements(flats, ours, theirs, FIELDS, "the reference", reference=True)
    assert not report, report


# --- the frames a caller may hand in -------------------------------------------------------------

#: (row, column, value): cells that make a row invalid, one reason each.
INVALID_CELLS: tuple[tuple[int, str, object], ...] = (
    (0, "r_c5_motor", "6"),
    (3, "l_t3_lt", None),
    (4, "r_c2_pp", ""),
    (7, "vac", "maybe"),
    (8, "dap", None),
    (11, "r_nkm", "S2"),
    (12, "l_s1_motor", "5*"),
    (13, "r_l2_motor", "NT***"),
    (19, "l_s4_5_pp", "2**"),
)


def _with_invalid_rows() -> pd.DataFrame:
    frame = pd.DataFrame(generate_exams(20, 808, nt_rate=0.05, star_rate=0.05), dtype=object)
    for row, column, value in INVALID_CELLS:
        frame.loc[row, column] = value
    frame.loc[13, "l_c5_motor"] = "9"  # a second bad cell: the parser's first reason is given
    frame.insert(0, "id", [f"E{i}" for i in range(len(frame))])
    frame.index = pd.Index([97, 3, 55, 1, 2, 80, 81, 4, 9, 10, 0, 11, 70, 12, 13, 14, 15, 5, 6, 8])
    return frame


def test_invalid_rows_are_flagged_with_the_parsers_reason_never_dropped() -> None:
    frame = _with_invalid_rows()
    result = classify_frame(frame)
    assert list(result.columns) == list(BATCH_FIELDS)
    assert result.index.equals(frame.index)
    assert list(result["id"]) == list(frame["id"])
    flats = [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
    report = _disagreements(
        flats, _records(result), [_scalar(f) for f in flats], BATCH_FIELDS[1:], "classify"
    )
    assert not report, report
    rejected = result.index[result["error"] != ""]
    assert list(rejected) == [frame.index[row] for row, _, _ in INVALID_CELLS]
    assert list(result.loc[rejected, "error_field"]) == [c for _, c, _ in INVALID_CELLS]


def test_missing_cell_reason_is_the_parsers_with_arrow_strings() -> None:
    """A missing cell in Arrow-backed strings (Parquet, Dask) reads 'is missing', as in text."""
    frame = _with_invalid_rows()
    expected = classify_frame(frame)
    arrow = classify_frame(frame.astype("string[pyarrow]"))
    assert list(arrow["error"]) == list(expected["error"])
    assert any("is missing" in e for e in arrow["error"])


def test_cells_with_surrounding_spaces_read_as_the_parser_reads_them() -> None:
    """Exam.from_flat trims spaces around a value; the batch coder must agree."""
    flats = generate_exams(50, 911, nt_rate=0, star_rate=0, random_rate=0)
    padded = [
        dict(f, r_c5_motor=f" {f['r_c5_motor']} ", l_t4_pp=f"{f['l_t4_pp']}  ") for f in flats
    ]
    result = classify_frame(pd.DataFrame(padded))
    assert (result["error"] == "").all()
    assert list(result["ais"]) == [_scalar(f)["ais"] for f in padded]


def test_integer_columns_classify_as_their_text() -> None:
    """Grades stored as integers (a database export, Parquet int columns) are the grades."""
    flats = generate_exams(300, 909, nt_rate=0, star_rate=0, random_rate=0)
    text = pd.DataFrame(flats)
    numbers = text.copy()
    grades = [c for c in CELL_COLUMNS if c not in ("vac", "dap")]
    numbers[grades] = numbers[grades].astype(np.int64)
    assert all(numbers[c].dtype == np.int64 for c in grades)
    pd.testing.assert_frame_equal(
        classify_frame(numbers).astype(object), classify_frame(text).astype(object)
    )


def test_object_columns_mixing_integers_and_text_classify_as_text() -> None:
    flats = generate_exams(200, 910, nt_rate=0.05, star_rate=0.05)
    text = pd.DataFrame(flats, dtype=object)
    mixed = text.map(lambda v: int(v) if isinstance(v, str) and v.isdigit() else v)
    assert isinstance(mixed.loc[0, "r_c2_lt"], int)
    pd.testing.assert_frame_equal(
        classify_frame(mixed).astype(object), classify_frame(text).astype(object)
    )


def test_frame_without_nkm_columns_classifies_as_no_nkm_recorded() -> None:
    flats = generate_exams(400, 911, nkm_rate=0.0)
    frame = pd.DataFrame(flats).drop(columns=list(NKM_COLUMNS))
    without = [{k: v for k, v in f.items() if k not in NKM_COLUMNS} for f in flats]
    report = _disagreements(
        without,
        _records(classify_frame(frame)),
        [_scalar(f) for f in without],
        BATCH_FIELDS[1:],
        "classify",
    )
    assert not report, report


def test_ids_pass_through_or_number_rows_from_one() -> None:
    flats = generate_exams(5, 912)
    numbered = classify_frame(pd.DataFrame(flats))
    assert list(numbered["id"]) == ["1", "2", "3", "4", "5"]
    named = classify_frame(pd.DataFrame(flats).assign(id=["a", "b", "c", "d", "e"]))
    assert list(named["id"]) == ["a", "b", "c", "d", "e"]


def test_result_columns_are_categorical() -> None:
    """DESIGN.md: a registry's results repeat a few hundred values; they come back categorical."""
    result = classify_frame(pd.DataFrame(generate_exams(50, 913)))
    assert all(isinstance(result[f].dtype, pd.CategoricalDtype) for f in FIELDS)


def test_empty_frame_gives_empty_results_with_every_column() -> None:
    for frame in (pd.DataFrame(columns=list(ALL_COLUMNS)), pd.DataFrame()):
        result = classify_frame(frame)
        assert list(result.columns) == list(BATCH_FIELDS)
        assert len(result) == 0


def test_threaded_chunks_equal_one_chunk_rows_numbered_in_order() -> None:
    """Threads split a frame into equal chunks; results, row numbers and rejections as one chunk."""
    base = pd.DataFrame(generate_exams(2_000, 914), dtype=object)
    frame = pd.concat([base] * 20, ignore_index=True)  # 40,000 rows: two thread chunks
    frame.loc[[5, 20_001, 39_999], "r_c5_motor"] = "9"
    one = classify_frame(frame, workers=1)
    two = classify_frame(frame, workers=2)
    assert len(two) == len(frame)
    assert two.index.equals(frame.index)
    assert list(two["id"])[:2] == ["1", "2"] and list(two["id"])[-1] == "40000"
    for field in BATCH_FIELDS:
        assert list(two[field]) == list(one[field]), field
    assert list(two.index[two["error"] != ""]) == [5, 20_001, 39_999]


def test_workers_below_one_is_refused_naming_the_value() -> None:
    with pytest.raises(ValueError, match="workers: 0"):
        classify_frame(pd.DataFrame(generate_exams(3, 915)), workers=0)


# --- the compiled path ---------------------------------------------------------------------------


@pytest.mark.parametrize("large", [False, True])
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="012345NT* x\u00e9", max_size=6)), max_size=40),
    st.integers(min_value=0, max_value=3),
)
def test_compiled_cell_coder_codes_as_the_numpy_coder(
    large: bool, cells: list[str | None], offset: int
) -> None:
    """Cell codes straight from Arrow buffers (also of a slice, whose offsets start later): the
    compiled coder gives the numpy coder's code for every cell, junk and missing ones too."""
    arrow = pa.array(cells, type=pa.large_string() if large else pa.string()).slice(offset)
    for lut in (codes.MOTOR_LUT, codes.SENSORY_LUT):
        with general_path("numpy"):
            expected = encode.encode_arrow(arrow, lut)
        with general_path("compiled"):
            by_kernel = encode.encode_arrow(arrow, lut)
        assert by_kernel.tolist() == expected.tolist()
        assert len(by_kernel) == len(arrow)


def test_cordtrial_jit_0_turns_the_compiled_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "_JIT", {})
    monkeypatch.setenv("CORDTRIAL_JIT", "0")
    assert compiled.compiled("general_keys") is None
    compiled._JIT.clear()
    monkeypatch.setenv("CORDTRIAL_JIT", "1")
    assert compiled.compiled("general_keys") is not None


def test_compiled_kernel_reads_rule_tables_from_its_argument_not_from_globals() -> None:
    """Numba freezes the globals a function reads into its on-disk cache, which it keys on
    batch/jit.py alone: a rule table read from a global would outlive a rule changed in codes.py,
    steps.py or outcome.py. Only the level structure (which key muscle sits at which level) may
    be global."""
    module = vars(batch_jit)
    kernels = {name: f for name, f in module.items() if hasattr(f, "py_func")}
    assert {"_general_keys", "_motor_level", "_ais", "_motor_zpp"} <= set(kernels)
    for name, kernel in kernels.items():
        arrays = {
            n for n in kernel.py_func.__code__.co_names if isinstance(module.get(n), np.ndarray)
        }
        assert arrays <= {"_KEY_AT", "_KEY_LEVEL"}, (name, arrays)
    assert batch_jit._TABLES[batch_jit._ZERO, : codes.N_CODES].tolist() == codes.ZERO.tolist()


def test_object_text_columns_take_the_arrow_coder() -> None:
    """read_frame and pd.read_csv(dtype=str) give object columns of text: they are coded from
    Arrow buffers (converted once), not by hashing Python strings; mixed types fall back."""
    assert encode.arrow_strings(pd.Series(["5", "NT*", None], dtype=object)) is not None
    assert encode.arrow_strings(pd.Series(["5", 4], dtype=object)) is None
    assert encode.arrow_strings(pd.Series(["5", "4"], dtype="category")) is None
    frame = pd.DataFrame(generate_exams(300, 31, nt_rate=0.05, star_rate=0.05), dtype=object)
    frame.loc[3, "r_c5_motor"] = " 4 "  # the parser trims; so does the fallback
    expected = _records(classify_frame(frame.astype("string[pyarrow]")))
    assert _records(classify_frame(frame)) == expected


def _entry_paths(tmp_path: Any, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The same exams as each way a user's frame may arrive (the frame: ``object`` of ``str``
    and ``None``)."""
    from cordtrial.isncsci.io.formats import read_frame, write_frame

    csv = tmp_path / "exams.csv"
    frame.to_csv(csv, index=False)
    parquet = tmp_path / "exams.parquet"
    write_frame(frame, parquet)
    return {
        "records, object str": frame,
        "Arrow strings": frame.astype("string[pyarrow]"),
        "categoricals": frame.astype("category"),
        "pd.read_csv(dtype=str)": pd.read_csv(csv, dtype=str, keep_default_na=False),
        "pd.read_csv(dtype=object)": pd.read_csv(csv, dtype=object),
        "read_frame(csv)": read_frame(csv),
        "read_frame(csv, arrow=False)": read_frame(csv, arrow=False),
        "read_frame(parquet)": read_frame(parquet),
        "read_frame(parquet, arrow=False)": read_frame(parquet, arrow=False),
    }


@pytest.mark.parametrize("rows", [300, 5000])  # the numpy coder and walk; the compiled ones
def test_every_entry_path_gives_the_same_results(tmp_path: Any, rows: int) -> None:
    """Object strings, Arrow strings, categoricals, pd.read_csv and read_frame in either form
    classify to the same frame, value for value -- also for cells the byte coder does not know
    (spaces, non-ASCII digits, the separator the object coder joins with, missing cells)."""
    frame = pd.DataFrame(generate_exams(rows, 77, nt_rate=0.05, star_rate=0.05), dtype=object)
    odd = {
        (3, "r_c5_motor"): " 4 ",
        (5, "l_t3_pp"): "NT**",
        (7, "r_s1_motor"): "\uff15",  # a full-width 5
        (9, "l_c6_lt"): "1\x1f",  # holds the object coder's separator: converted cell by cell
        (11, "r_l2_motor"): "",
        (13, "vac"): None,
        (15, "r_t4_lt"): "x",
    }
    for (row, column), value in odd.items():
        frame.loc[row, column] = value
    paths = _entry_paths(tmp_path, frame)
    expected = _records(classify_frame(paths["records, object str"]))
    assert expected[3]["error"] == "" and expected[15]["error_field"] == "r_t4_lt"
    for name, entry in paths.items():
        assert len(entry) == rows, name
        assert _records(classify_frame(entry)) == expected, name


def test_object_columns_are_joined_into_arrow_strings_when_every_cell_is_text() -> None:
    """The object coder's conversion: the same Arrow strings as ``pa.array``; ``None`` (then
    ``pa.array`` converts) for a missing cell, a number or a cell holding the separator."""
    cells = ["5", "NT*", "", " 4 ", "\u00e91", "0**", "\uff15"]
    joined = encode._joined_strings(np.array(cells, dtype=object))
    assert joined.to_pylist() == cells
    joined.validate(full=True)
    assert encode._joined_strings(np.array([], dtype=object)).to_pylist() == []
    for refused in (["5", None], ["5", 4], ["5", "1\x1f"], ["5", "\ud800"]):
        assert encode._joined_strings(np.array(refused, dtype=object)) is None, refused


@pytest.mark.parametrize("rows", [300, 5000])
def test_frames_of_python_records_are_converted_row_by_row_to_the_same_results(rows: int) -> None:
    """A frame of Python records (each cell its own ``str``) is converted to Arrow strings in one
    row-major pass: the same cells, the same results; frames with a missing cell or shared
    ``str`` objects are left to the column-by-column conversion."""
    records = generate_exams(rows, 91, nt_rate=0.05, star_rate=0.05)
    for row, record in enumerate(records):
        # cells as separate objects, as a program building records makes them
        records[row] = {k: "".join(list(v)) if k.endswith("_lt") else v for k, v in record.items()}
    records[4]["r_c6_lt"] = " 1 "
    records[6]["l_t2_pp"] = "3"
    frame = pd.DataFrame(records, dtype=object)
    converted = encode.with_arrow_strings(frame)
    assert converted is not frame
    assert all(isinstance(converted[c].array, pd.arrays.ArrowStringArray) for c in frame.columns)
    assert converted.astype(object).equals(frame)
    expected = _records(classify_frame(frame.astype("string[pyarrow]")))
    assert expected[6]["error_field"] == "l_t2_pp"
    assert _records(classify_frame(frame)) == expected
    with_missing = frame.copy()
    with_missing.loc[2, "r_nkm"] = None
    assert encode.with_arrow_strings(with_missing) is with_missing
    shared = frame.copy()
    shared[frame.columns[len(frame.columns) // 2]] = "2"  # one object in every row
    assert encode.with_arrow_strings(shared) is shared


def test_one_compiled_pass_codes_every_column_as_the_column_coder() -> None:
    """``encode.cell_codes`` (all cell columns in one compiled call) gives ``side_arrays``' codes
    for every cell -- Arrow strings with 32- and 64-bit offsets, several chunks, a slice,
    categoricals, object columns, junk and spaced spellings -- and flags exactly the exams
    holding a cell that is not a plain grade (bit 1) or not known to the byte look-up (bit 2)."""
    rows = 3000
    frame = pd.DataFrame(generate_exams(rows, 41, nt_rate=0.03, star_rate=0.03), dtype=object)
    junk = {(3, "r_c5_motor"): " 4 ", (5, "l_t3_pp"): "NT**", (9, "l_c6_lt"): "x"}
    for (row, column), value in junk.items():
        frame.loc[row, column] = value
    for i, column in enumerate(c for c in CELL_COLUMNS if c in frame.columns):
        if i % 4 == 0:
            frame[column] = pd.array(frame[column], dtype="string[pyarrow]")  # large_string
        elif i % 4 == 1:
            values = frame[column].tolist()
            two = pa.chunked_array([pa.array(values[:1000]), pa.array(values[1000:])])
            frame[column] = pd.arrays.ArrowStringArray(two)  # 32-bit offsets, two chunks
        elif i % 4 == 2:
            frame[column] = frame[column].astype("category")
    frame["r_c5_motor"] = pd.array(frame["r_c5_motor"], dtype="string[pyarrow]")
    frame = frame.iloc[1:]  # a slice: Arrow arrays with an offset
    with general_path("compiled"):
        coded = encode.cell_codes(frame)
    assert coded is not None
    right, left, odd = coded
    for side, prefix in ((right, "r"), (left, "l")):
        expected, bad = encode.side_arrays(frame, prefix)
        for name in ("motor", "lt", "pp"):
            ours, theirs = getattr(side, name), getattr(expected, name)
            assert ours.shape == theirs.shape
            assert (ours[:, ~bad] == theirs[:, ~bad]).all(), (prefix, name)
        negative = (side.motor < 0).any(0) | (side.lt < 0).any(0) | (side.pp < 0).any(0)
        assert negative.tolist() == (bad & (side.nkm >= -1)).tolist()  # not yet blanked
    assert right.motor[0, 2] == codes.MOTOR_CODES["4"]  # " 4 ": re-coded by the parser's rule
    cells = np.concatenate([a for s in (right, left) for a in (s.motor, s.lt, s.pp)])
    plain = np.isin(cells, [g * 3 for g in range(6)]).all(axis=0)
    assert ((odd & 1) == 0).tolist() == plain.tolist()
    unknown = (cells < 0).any(axis=0)
    assert unknown[8] and not unknown[2]  # "x"; " 4 " (Arrow): unknown to the byte look-up only
    assert (odd & 2 > 0).tolist() == (unknown | (np.arange(len(frame)) == 2)).tolist()
    with general_path("compiled"):
        coded = encode.cell_codes(frame.drop(columns=["l_s1_motor"]))
    assert coded is not None and (coded[2] & 2 > 0).all()  # a missing column: empty cells


def test_result_categoricals_share_their_notations_texts_and_fall_back_past_the_limit() -> None:
    """A keyed result column is a Categorical over every text its notation has written: values
    as before, categories a superset shared by later columns; past ``LIMIT`` remembered texts a
    column gets its own categories, values still right."""
    levels = notation.Notation(notation.LEVEL_NAMES, notation.LEVEL_ORDER)
    c5, c6_star, t1 = 1 << 4, (1 << 5) | (1 << 37), 1 << 8
    first = notation.render_keys(np.array([c5, c6_star, c5], dtype=np.uint64), levels)
    assert list(first) == ["C5", "C6*", "C5"]
    second = notation.render_keys(np.array([t1, c5], dtype=np.uint64), levels)
    assert list(second) == ["T1", "C5"]
    assert list(second.categories) == ["C5", "C6*", "T1"]  # C6* unused here: a category still
    again = notation.render_keys(np.array([c6_star], dtype=np.uint64), levels)
    assert again.dtype == second.dtype and list(again) == ["C6*"]
    levels.LIMIT = 3
    past = notation.render_keys(np.array([c5, 1 << 9, c6_star], dtype=np.uint64), levels)
    assert list(past) == ["C5", "T2", "C6*"] and "T2" not in levels._known[1]


def test_remembered_results_take_the_compiled_look_up_and_new_ones_the_factorization() -> None:
    """``Notation.places`` (a compiled hash look-up of the remembered keys) gives the categorical
    the factorization gives, on the same shared categories; a column holding a key not yet
    remembered is left to the factorization, which remembers it."""
    levels = notation.Notation(notation.LEVEL_NAMES, notation.LEVEL_ORDER)
    c5, c6_star, t1 = 1 << 4, (1 << 5) | (1 << 37), 1 << 8
    rng = np.random.default_rng(5)
    with general_path("compiled"):
        assert levels.places(np.array([c5], dtype=np.uint64)) is None  # nothing remembered yet
        first = notation.render_keys(np.array([c5, c6_star], dtype=np.uint64), levels)
        keys = rng.choice(np.array([c5, c6_star], dtype=np.uint64), size=5000)
        by_look_up = levels.places(keys)
        assert by_look_up is not None
        assert by_look_up.dtype == first.dtype
        assert list(by_look_up) == [levels.text(int(k)) for k in keys]
        with_new = np.append(keys, np.uint64(t1))
        assert levels.places(with_new) is None
        rendered = notation.render_keys(with_new, levels)
        assert list(rendered) == [levels.text(int(k)) for k in with_new]
        again = levels.places(with_new)  # the look-up is rebuilt with T1
        assert again is not None and list(again) == list(rendered)
        assert list(again.categories) == ["C5", "C6*", "T1"]
