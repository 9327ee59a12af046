"""The examiner's notes on an exam (comments, a reason per flagged value) and what a signature
binds to: rules.exam_cells.check_exam_notes, check_flag_reasons and
rules.signatures.exam_content_hash."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.exam_cells import (
    check_exam_notes,
    check_flag_reasons,
    flagged_cells,
    missing_flag_reasons,
    normalize_cells,
    prune_flag_reasons,
)
from cordtrial.trial.rules.signatures import exam_content_hash


def test_blank_notes_are_none() -> None:
    assert check_exam_notes(None) is None
    assert check_exam_notes({"comments": "  ", "flag_reasons": {"r_c5_motor": ""}}) is None


def test_notes_are_trimmed_and_kept() -> None:
    notes = {"comments": " cast ", "flag_reasons": {"r_c5_motor": " plexus injury "}}
    assert check_exam_notes(notes) == {
        "comments": "cast",
        "flag_reasons": {"r_c5_motor": "plexus injury"},
    }


def test_a_reason_for_a_column_that_is_not_a_cell_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"r_c4_motor.*is not a cell"):
        check_exam_notes({"flag_reasons": {"r_c4_motor": "no key muscle at C4"}})


def test_an_unknown_note_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="notes: 'remarks' is not a note"):
        check_exam_notes({"remarks": "x"})


def test_too_long_comments_are_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"notes\.comments"):
        check_exam_notes({"comments": "x" * 2001})


def _hash(notes: dict[str, object] | None = None) -> str:
    return exam_content_hash(
        exam_id=1,
        participant_id=2,
        visit_id=None,
        examined_on=date(2026, 1, 2),
        examiner="Dr A",
        cells={"r_c5_motor": "3*"},
        notes=notes,
    )


def test_an_exam_without_notes_hashes_as_before_notes_existed() -> None:
    """Signatures made before notes existed stay valid: the hash of an exam without notes is
    the SHA-256 of the canonical JSON of its other entered data, as it always was."""
    content = {
        "exam_id": 1,
        "participant_id": 2,
        "visit_id": None,
        "examined_on": "2026-01-02",
        "examiner": "Dr A",
        "cells": {"r_c5_motor": "3*"},
    }
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert _hash() == hashlib.sha256(payload.encode()).hexdigest()
    assert _hash({}) == _hash()


def test_a_signature_covers_the_notes() -> None:
    noted = _hash({"flag_reasons": {"r_c5_motor": "fracture"}})
    other = _hash({"flag_reasons": {"r_c5_motor": "cast"}})
    assert len({_hash(), noted, other}) == 3


FLAGGED = normalize_cells({"r_c5_motor": "3*", "l_t1_lt": "NT**", "r_c6_motor": "4"})


def test_flagged_cells_are_those_with_a_star_in_worksheet_order() -> None:
    assert flagged_cells(FLAGGED) == ["r_c5_motor", "l_t1_lt"]
    assert flagged_cells(normalize_cells({"r_c5_motor": "NT"})) == []


def test_every_flagged_value_needs_a_reason_naming_the_cell() -> None:
    notes = check_exam_notes({"flag_reasons": {"r_c5_motor": "humerus fracture"}})
    assert missing_flag_reasons(FLAGGED, notes) == ["l_t1_lt"]
    with pytest.raises(
        InvalidValueError, match=r"notes\.flag_reasons\.l_t1_lt: \(missing\)"
    ) as err:
        check_flag_reasons(FLAGGED, notes)
    assert err.value.field == "notes.flag_reasons.l_t1_lt"
    assert "'NT**'" in err.value.allowed and "ISNCSCI 2019" in err.value.allowed
    with pytest.raises(InvalidValueError, match=r"notes\.flag_reasons\.r_c5_motor"):
        check_flag_reasons(FLAGGED, None)


def test_flag_reasons_complete_pass() -> None:
    notes = {"flag_reasons": {"r_c5_motor": "fracture", "l_t1_lt": "burn dressing"}}
    check_flag_reasons(FLAGGED, check_exam_notes(notes))
    check_flag_reasons(normalize_cells({"r_c5_motor": "4"}), None)


def test_a_reason_for_a_value_not_flagged_is_refused() -> None:
    notes = {"flag_reasons": {"r_c5_motor": "x", "l_t1_lt": "y", "r_c6_motor": "why?"}}
    with pytest.raises(InvalidValueError, match=r"r_c6_motor: 'why\?' is given for '4'") as err:
        check_flag_reasons(FLAGGED, check_exam_notes(notes))
    assert err.value.field == "notes.flag_reasons.r_c6_motor"


def test_prune_drops_the_reasons_of_values_no_longer_flagged() -> None:
    notes = {"comments": "c", "flag_reasons": {"r_c5_motor": "x", "l_t1_lt": "y"}}
    unflagged = normalize_cells({"r_c5_motor": "3", "l_t1_lt": "NT**"})
    assert prune_flag_reasons(unflagged, notes) == {
        "comments": "c",
        "flag_reasons": {"l_t1_lt": "y"},
    }
    assert prune_flag_reasons(normalize_cells({}), {"flag_reasons": {"r_c5_motor": "x"}}) is None
    assert prune_flag_reasons(FLAGGED, None) is None
