"""The examiner's notes on an exam (comments, a reason per flagged value) and what a signature
binds to: rules.exam_cells.check_exam_notes and rules.signatures.exam_content_hash."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.exam_cells import check_exam_notes
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
