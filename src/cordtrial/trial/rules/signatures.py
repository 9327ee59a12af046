"""Electronic signatures of exams: what a signature binds to, and when it is void.

A signature binds to the exam's *entered* data (participant, visit, date, examiner and every cell,
``None`` for not recorded) through a SHA-256 of their canonical JSON. The classification is not
part of it: it is computed from the cells, and recomputing it with a newer engine does not change
what the investigator attested. When any entered value changes after signing, the hash of the
exam no longer matches the signature's and the signature is void (21 CFR 11.70: a signature is
linked to its record so that it cannot be carried over to other data).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime

__all__ = ["DEFAULT_MEANING", "exam_content_hash", "is_signature_void", "signature_manifestation"]

#: What an exam signature means unless the signer is shown another statement.
DEFAULT_MEANING = "I have reviewed this ISNCSCI exam and confirm the values as entered."


def exam_content_hash(
    *,
    exam_id: int,
    participant_id: int,
    visit_id: int | None,
    examined_on: date,
    examiner: str,
    cells: Mapping[str, str | None],
    notes: Mapping[str, object] | None = None,
) -> str:
    """SHA-256 (hex) of an exam's entered data, in canonical JSON (keys sorted). The examiner's
    notes (comments, flag reasons) count when there are any; an exam without notes hashes as
    before they existed, so earlier signatures stay valid."""
    content: dict[str, object] = {
        "exam_id": exam_id,
        "participant_id": participant_id,
        "visit_id": visit_id,
        "examined_on": examined_on.isoformat(),
        "examiner": examiner,
        "cells": dict(cells),
    }
    if notes:
        content["notes"] = dict(notes)
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def is_signature_void(signed_hash: str, current_hash: str) -> bool:
    """True when the exam's data changed since it was signed."""
    return signed_hash != current_hash


def signature_manifestation(
    *, signer_name: str, signer: str, signed_at: datetime, meaning: str
) -> str:
    """How a signature reads wherever it is shown (21 CFR 11.50(a)): the signer's printed name,
    the date and time of signing, and its meaning, e.g. ``Signed by Ivan Petrov (ivan) on
    2026-02-12 at 10:00 UTC: “I have reviewed ...”`` (the meaning in quotation marks, as
    the exam page shows it)."""
    moment = signed_at.astimezone(UTC)
    return (
        f"Signed by {signer_name} ({signer}) on {moment:%Y-%m-%d} at {moment:%H:%M} UTC: "
        f"“{meaning}”"
    )
