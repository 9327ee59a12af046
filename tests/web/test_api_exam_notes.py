"""The REST API carries an exam's notes (comments, a reason per * / ** value) and enforces the
store's rule: a flagged value without its reason is a 422 naming the cell (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select

from cordtrial.trial.models import IsncsciExam
from cordtrial.trial.services.imports import import_exams

from .conftest import PROTOCOL, World, complete_c5_cells

REASON = "humerus fracture, right arm in a cast"


def _post(world: World, **body: Any) -> Any:
    payload = {"examined_on": "2026-02-09", "examiner": "Dr X", "cells": complete_c5_cells()}
    return world.client.post(
        f"/api/participants/{world.participant_id}/exams",
        headers=world.headers("coordinator"),
        json=payload | body,
    )


def _count(world: World) -> int:
    world.session.rollback()
    return int(world.session.scalar(select(func.count()).select_from(IsncsciExam)) or 0)


def test_openapi_documents_the_notes(world: World) -> None:
    components = world.client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("ExamCreate", "ExamUpdate"):
        assert "notes" in components[name]["properties"], name
    notes = components["ExamNotes"]["properties"]
    assert "required for every flagged value" in notes["flag_reasons"]["description"].lower()
    comments = next(s for s in notes["comments"]["anyOf"] if s.get("type") == "string")
    assert comments["maxLength"] == 2000
    read = components["ExamRead"]["properties"]
    assert {"notes", "flags_without_reason"} <= set(read)


def test_exam_with_notes_is_stored_and_read_back(world: World) -> None:
    notes = {"comments": "seen in bed", "flag_reasons": {"r_c6_motor": REASON}}
    cells = complete_c5_cells() | {"r_c6_motor": "0*"}
    created = _post(world, cells=cells, notes=notes)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["notes"] == notes and body["flags_without_reason"] == []
    read = world.client.get(f"/api/exams/{body['id']}", headers=world.headers("monitor")).json()
    assert read["notes"] == notes and read["cells"]["r_c6_motor"] == "0*"
    plain = world.client.get(f"/api/exams/{world.exam_id}", headers=world.headers("monitor"))
    assert plain.json()["notes"] == {"comments": None, "flag_reasons": {}}


def test_flagged_value_without_a_reason_is_422_naming_the_cell(world: World) -> None:
    before = _count(world)
    response = _post(world, cells=complete_c5_cells() | {"r_c6_motor": "0*"})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "notes", "flag_reasons", "r_c6_motor"]
    assert "'0*'" in item["allowed"] and "is missing" in item["msg"]
    assert _count(world) == before


def test_bad_notes_are_422_naming_the_field(world: World) -> None:
    c6 = ["body", "notes", "flag_reasons", "r_c6_motor"]
    cases = [
        ({"comments": "x" * 2001}, ["body", "notes", "comments"]),
        ({"remarks": "x"}, ["body", "notes", "remarks"]),
        ({"flag_reasons": {"r_c6_motor": "x" * 501}}, c6),
        ({"flag_reasons": {"r_c6_motor": "not flagged"}}, c6),
        ({"flag_reasons": {"r_c4_motor": "no key muscle"}}, ["body", "notes", "flag_reasons"]),
    ]
    for notes, loc in cases:
        response = _post(world, notes=notes)
        assert response.status_code == 422, notes
        locs = [item["loc"] for item in response.json()["detail"]]
        assert loc in locs, (notes, locs)


def test_correction_needs_the_reason_of_a_newly_flagged_value(world: World) -> None:
    path = f"/api/exams/{world.exam_id}"
    headers = world.headers("coordinator")
    change = {"version": 1, "reason": "worksheet", "cells": {"l_c7_motor": "1*"}}
    refused = world.client.patch(path, headers=headers, json=change)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "notes", "flag_reasons", "l_c7_motor"]
    notes = {"flag_reasons": {"l_c7_motor": REASON}}
    done = world.client.patch(path, headers=headers, json=change | {"notes": notes})
    assert done.status_code == 200, done.text
    assert done.json()["notes"]["flag_reasons"] == {"l_c7_motor": REASON}
    unflag = {"version": 2, "reason": "typo", "cells": {"l_c7_motor": "1"}}
    cleared = world.client.patch(path, headers=headers, json=unflag)
    assert cleared.status_code == 200 and cleared.json()["notes"]["flag_reasons"] == {}


def test_an_exam_imported_without_a_reason_shows_it_and_cannot_be_corrected_without(
    world: World,
) -> None:
    row = {"participant": "P001", "visit": None, "examined_on": "2026-02-10",
           "examiner": "Registry", **complete_c5_cells(), "r_c6_motor": "0*"}  # fmt: skip
    report = import_exams(world.session, actor="import", protocol_id=PROTOCOL,
                          frame=pd.DataFrame([row], dtype=object))  # fmt: skip
    assert report.inserted == 1 and len(report.warnings) == 1
    exam_id = world.session.scalar(select(func.max(IsncsciExam.id)))
    path = f"/api/exams/{exam_id}"
    read = world.client.get(path, headers=world.headers("monitor")).json()
    assert read["flags_without_reason"] == ["r_c6_motor"]
    headers = world.headers("coordinator")
    change = {"version": 1, "reason": "examiner's full name", "examiner": "Dr Registry"}
    refused = world.client.patch(path, headers=headers, json=change)
    assert refused.status_code == 422
    notes = {"flag_reasons": {"r_c6_motor": REASON}}
    done = world.client.patch(path, headers=headers, json=change | {"notes": notes})
    assert done.status_code == 200 and done.json()["flags_without_reason"] == []
