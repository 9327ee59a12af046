"""The ISNCSCI worksheet pages through FastAPI's TestClient: the live classification fragment
(equal to :func:`cordtrial.isncsci.classify`), the calculator and its exports, exam entry,
correction and signature on SQLite and PostgreSQL, site scope, and the PDF worksheet."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from builders import lesion_flat, normal_flat
from cordtrial.isncsci import EXAM_COLUMNS, RESULT_FIELDS, Exam, Level, classify
from cordtrial.trial.models import IsncsciExam
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.security import SESSION_COOKIE
from strategies import generate_exams
from web.conftest import PASSWORD, World

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def anonymous(tmp_path: Path) -> Iterator[TestClient]:
    """The app with no one logged in (the calculator and the fragment touch no database)."""
    app = create_app(WebSettings(database_url=f"sqlite:///{tmp_path / 'unused.db'}"))
    with TestClient(app) as client:
        yield client


def _results(fragment: str) -> dict[str, str]:
    found = re.findall(r'data-result="(\w+)">([^<]*)<', fragment)
    return {field: html.unescape(value) for field, value in found}


def _error_fields(fragment: str) -> list[str]:
    return re.findall(r'data-error-field="(\w+)"', fragment)


def _sample_exams() -> list[dict[str, str]]:
    with (EXAMPLES / "exams.csv").open() as f:
        rows = [dict(r) for r in csv.DictReader(f)]
    return rows + generate_exams(40, seed=20261125, nt_rate=0.05, star_rate=0.05)


def _login(world: World, username: str) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens[username])


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


def _exam_count(world: World) -> int:
    world.session.rollback()
    return int(world.session.scalar(select(func.count()).select_from(IsncsciExam)) or 0)


def _dark_share(pdf_bytes: bytes) -> float:
    """Share of dark pixels on the first page rendered at 72 dpi."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        image = document[0].render(scale=1).to_pil().convert("L")
    finally:
        document.close()
    histogram = image.histogram()
    return sum(histogram[:128]) / sum(histogram)


# --- the live classification fragment ----------------------------------------------------------


def test_fragment_equals_the_engine_on_sample_exams(anonymous: TestClient) -> None:
    """Every result the fragment shows equals ``classify(...).to_record()`` (the examples file
    and 40 generated exams with NT and flagged values)."""
    for flat in _sample_exams():
        response = anonymous.post("/worksheet/classify", data=flat)
        assert response.status_code == 200
        expected = classify(Exam.from_flat(flat)).to_record()
        shown = _results(response.text)
        assert shown == {k: v for k, v in expected.items() if k in shown}
        assert set(shown) == set(RESULT_FIELDS) - {"id"}


def test_fragment_explains_the_results(anonymous: TestClient) -> None:
    """The explanation of :mod:`cordtrial.isncsci.explain` is shown with the results."""
    flat = lesion_flat(Level.C5)
    response = anonymous.post("/worksheet/classify", data=flat)
    reasons = classify(Exam.from_flat(flat)).explain().reasons
    for reason in reasons:
        assert html.escape(reason.text, quote=True) in response.text


def test_fragment_names_the_invalid_field_value_and_allowed(anonymous: TestClient) -> None:
    response = anonymous.post("/worksheet/classify", data={**normal_flat(), "r_c5_motor": "6"})
    assert _error_fields(response.text) == ["r_c5_motor"]
    text = re.sub(r"<[^>]+>", "", html.unescape(response.text))
    assert "Right C5 motor: 6 is not a motor grade (0-5 or NT" in text
    assert 'data-result="ais"' not in response.text


def test_fragment_shows_the_field_label_beside_each_invalid_value(anonymous: TestClient) -> None:
    """People read words: the label 'Right C6 motor' (once), then the value and what is allowed."""
    data = {**lesion_flat(Level.C5), "r_c6_motor": "6", "l_nkm": "S2"}
    fragment = html.unescape(anonymous.post("/worksheet/classify", data=data).text)
    assert "<strong>Right C6 motor</strong>: 6 is not a motor grade" in fragment
    assert "<strong>Left lowest non-key muscle with motor function</strong>: S2 " in fragment
    assert "r_c6_motor:" not in fragment and "'6'" not in fragment


def test_fragment_lists_every_invalid_value_not_only_the_first(anonymous: TestClient) -> None:
    data = {**normal_flat(), "r_c5_motor": "6", "l_t4_pp": "3", "vac": "maybe"}
    response = anonymous.post("/worksheet/classify", data=data)
    assert _error_fields(response.text) == ["r_c5_motor", "l_t4_pp", "vac"]


def test_fragment_says_what_is_missing_when_cells_are_not_recorded(anonymous: TestClient) -> None:
    data = {**normal_flat(), "l_s1_motor": "", "vac": ""}
    response = anonymous.post("/worksheet/classify", data=data)
    assert response.status_code == 200
    assert "Not classified yet" in response.text
    assert "Left motor: S1" in response.text
    assert "<li>VAC</li>" in response.text
    assert 'data-missing="2"' in response.text
    assert _results(response.text) == {}


def test_fragment_of_an_empty_worksheet_lists_every_cell(anonymous: TestClient) -> None:
    response = anonymous.post("/worksheet/classify", data={})
    assert f'data-missing="{len(EXAM_COLUMNS)}"' in response.text


def test_nt_is_a_finding_not_a_missing_cell(anonymous: TestClient) -> None:
    """NT leaves the result open (every possible AIS), an empty cell leaves it unclassified."""
    data = {**lesion_flat(Level.T4), "r_s4_5_pp": "NT"}
    shown = _results(anonymous.post("/worksheet/classify", data=data).text)
    assert shown["ais"] == classify(Exam.from_flat(data)).to_record()["ais"]
    assert "," in shown["ais"]


# --- the calculator ------------------------------------------------------------------------------


def test_calculator_needs_no_login_and_shows_the_whole_worksheet(anonymous: TestClient) -> None:
    response = anonymous.get("/calculator")
    assert response.status_code == 200
    for column in (*EXAM_COLUMNS, "r_nkm", "l_nkm"):
        assert f'name="{column}"' in response.text
    assert "Ctrl+D" in response.text
    assert "nothing is stored" in response.text


def _nkm_select(page: str, name: str) -> str:
    match = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert match, name
    return match.group(0)


def test_nkm_selector_groups_2019_muscle_functions_by_root_level(anonymous: TestClient) -> None:
    """The 2019 worksheet's non-key muscle functions (page 2), each under its root level, from
    shoulder flexion (C5) to hallux adduction (S1), and the thoracic levels and L1 besides."""
    select = _nkm_select(anonymous.get("/calculator").text, "r_nkm")
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert groups[0] == "C5" and groups[-1] == "S1"
    assert "T7 (trunk)" in groups and "L1 (trunk)" in groups
    assert len(groups) == 22  # C5 to S1
    options = re.findall(r'<option value="(\w+)"[^>]*>([^<]+)</option>', select)
    assert ("C5", "C5: Shoulder flexion") in options
    assert ("C6", "C6: Wrist flexion") in options
    assert ("S1", "S1: Hallux adduction") in options
    assert ("T7", "T7: motor function at T7") in options


def test_nkm_selector_keeps_a_thoracic_choice_and_classifies_with_it(
    anonymous: TestClient,
) -> None:
    """A non-key muscle at T5 (more than three levels below a C5 motor level) is accepted and
    makes AIS B into C, as the engine says (ISNCSCI 2019: motor function more than three levels
    below the motor level)."""
    data = {**lesion_flat(Level.C5, dap="Yes"), "r_nkm": "T5"}
    fragment = anonymous.post("/worksheet/classify", data=data).text
    assert _error_fields(fragment) == []
    assert _results(fragment)["ais"] == "C" == classify(Exam.from_flat(data)).to_record()["ais"]


def test_saved_thoracic_nkm_is_stored_and_shown_selected(world: World) -> None:
    """The store accepts a thoracic non-key muscle; the exam page selects it again."""
    _login(world, "coordinator")
    flat = {**lesion_flat(Level.C5, dap="Yes"), "l_nkm": "T9"}
    response = world.client.post(
        f"/participants/{world.participant_id}/exams",
        data=_new_exam_form(world, flat),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    exam_id = int(response.headers["location"].split("/")[2].split("?")[0])
    exam = world.session.get(IsncsciExam, exam_id)
    assert exam is not None and exam.cells["l_nkm"] == "T9"
    assert exam.classification is not None and exam.classification["ais"] == "C"
    select = _nkm_select(world.client.get(response.headers["location"]).text, "l_nkm")
    assert re.search(r'<option value="T9" selected>T9: motor function at T9</option>', select)


def test_calculator_tab_order_follows_the_worksheet(anonymous: TestClient) -> None:
    """Inputs come in worksheet order (right motor, LT, PP, then left LT, PP, motor): the DOM
    order is the Tab order, no tabindex."""
    page = anonymous.get("/calculator").text
    names = re.findall(r'class="ws-cell[^"]*" type="text" name="(\w+)"', page)
    assert names[:2] == ["r_c5_motor", "r_c6_motor"]
    assert names.index("r_s1_motor") + 1 == names.index("r_c2_lt")
    assert names.index("r_s4_5_pp") + 1 == names.index("l_c2_lt")
    assert names[-1] == "l_s1_motor"
    assert "tabindex" not in page


def test_calculator_exports_csv_with_the_result_record(anonymous: TestClient) -> None:
    flat = lesion_flat(Level.C6, sacral="1")
    response = anonymous.post("/calculator/export.csv", data=flat)
    assert response.headers["content-type"].startswith("text/csv")
    row = next(csv.DictReader(io.StringIO(response.text)))
    expected = classify(Exam.from_flat(flat)).to_record()
    assert {k: row[k] for k in expected} == expected
    assert row["r_c5_motor"] == flat["r_c5_motor"]


def test_calculator_exports_json_with_errors_and_missing(anonymous: TestClient) -> None:
    data = {**normal_flat(), "r_c5_motor": "9", "dap": "", "comments": "cast on left arm"}
    body = json.loads(anonymous.post("/calculator/export.json", data=data).text)
    assert body["classification"] is None
    assert list(body["errors"]) == ["r_c5_motor"]
    assert body["missing"] == ["dap"]
    assert body["comments"] == "cast on left arm"


def test_calculator_pdf_renders(anonymous: TestClient) -> None:
    response = anonymous.post("/calculator/worksheet.pdf", data=lesion_flat(Level.T6))
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert _dark_share(response.content) > 0.01


# --- exam entry ---------------------------------------------------------------------------------


def _new_exam_form(world: World, cells: dict[str, str], **extra: str) -> dict[str, str]:
    page = world.client.get(f"/participants/{world.participant_id}/exams/new").text
    return {
        "csrf_token": _csrf(page),
        "visit_name": "week 2",
        "examined_on": "2026-02-09",
        "examiner": "Dr Entry",
        **cells,
        **extra,
    }


def test_new_exam_page_offers_the_participants_visits(world: World) -> None:
    _login(world, "coordinator")
    response = world.client.get(f"/participants/{world.participant_id}/exams/new")
    assert response.status_code == 200
    assert '<option value="week 2"' in response.text
    assert 'name="r_c5_motor"' in response.text


def test_new_exam_page_needs_login(world: World) -> None:
    response = world.client.get(
        f"/participants/{world.participant_id}/exams/new", follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_new_exam_page_of_another_sites_participant_is_not_found(world: World) -> None:
    _login(world, "coordinator")
    response = world.client.get(f"/participants/{world.other_participant_id}/exams/new")
    assert response.status_code == 404


def test_monitor_may_not_enter_an_exam(world: World) -> None:
    _login(world, "monitor")
    response = world.client.get(f"/participants/{world.participant_id}/exams/new")
    assert response.status_code == 403


def test_saving_a_complete_exam_stores_it_classified(world: World) -> None:
    _login(world, "coordinator")
    before = _exam_count(world)
    flat = lesion_flat(Level.T4, sacral="1")
    response = world.client.post(
        f"/participants/{world.participant_id}/exams",
        data=_new_exam_form(world, flat),
        follow_redirects=False,
    )
    assert response.status_code == 303
    exam_id = int(response.headers["location"].split("/")[2].split("?")[0])
    assert _exam_count(world) == before + 1
    exam = world.session.get(IsncsciExam, exam_id)
    assert exam is not None
    assert exam.classification == classify(Exam.from_flat(flat)).to_record()
    assert exam.examiner == "Dr Entry"
    page = world.client.get(response.headers["location"]).text
    assert "Exam saved." in page
    assert f'data-stored="ais">{exam.classification["ais"]}<' in page


def test_saving_with_invalid_values_saves_nothing(world: World) -> None:
    _login(world, "coordinator")
    before = _exam_count(world)
    form = _new_exam_form(world, {**lesion_flat(Level.C5), "l_c6_lt": "3", "r_c5_motor": "x"})
    response = world.client.post(f"/participants/{world.participant_id}/exams", data=form)
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Nothing was saved" in text
    assert "Left C6 light touch: 3 is not a sensory grade" in text
    assert "Right C5 motor: x is not a motor grade" in text
    assert 'value="3"' in response.text  # the values as typed come back
    assert _exam_count(world) == before


def test_saving_a_flagged_value_without_reason_saves_nothing(world: World) -> None:
    _login(world, "coordinator")
    before = _exam_count(world)
    form = _new_exam_form(world, {**lesion_flat(Level.C5), "r_c5_motor": "3*"})
    response = world.client.post(f"/participants/{world.participant_id}/exams", data=form)
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Reason for the flag on Right C5 motor: a reason is required" in text
    assert _exam_count(world) == before
    form["reason_r_c5_motor"] = "plexus injury"
    form["comments"] = "right arm in a sling"
    ok = world.client.post(
        f"/participants/{world.participant_id}/exams", data=form, follow_redirects=False
    )
    assert ok.status_code == 303
    assert _exam_count(world) == before + 1
    exam_id = int(ok.headers["location"].split("/")[2].split("?")[0])
    exam = world.session.get(IsncsciExam, exam_id)
    assert exam is not None
    assert exam.notes == {
        "comments": "right arm in a sling",
        "flag_reasons": {"r_c5_motor": "plexus injury"},
    }
    page = world.client.get(f"/exams/{exam_id}").text
    assert 'value="plexus injury"' in page
    assert "right arm in a sling</textarea>" in page


def test_saving_without_csrf_token_is_refused(world: World) -> None:
    _login(world, "coordinator")
    before = _exam_count(world)
    form = _new_exam_form(world, lesion_flat(Level.C5))
    del form["csrf_token"]
    response = world.client.post(f"/participants/{world.participant_id}/exams", data=form)
    assert response.status_code == 403
    assert _exam_count(world) == before


def test_an_incomplete_exam_is_saved_unclassified_once_confirmed(world: World) -> None:
    """Issue 16: saving an incomplete exam asks for confirmation and lists what is missing."""
    _login(world, "coordinator")
    cells = {**lesion_flat(Level.C5), "vac": ""}
    before = _exam_count(world)
    asked = world.client.post(
        f"/participants/{world.participant_id}/exams", data=_new_exam_form(world, cells)
    )
    assert asked.status_code == 422
    assert "This exam is incomplete (not recorded: VAC)" in html.unescape(asked.text)
    assert 'name="confirm_incomplete"' in asked.text
    assert _exam_count(world) == before
    response = world.client.post(
        f"/participants/{world.participant_id}/exams",
        data=_new_exam_form(world, cells, confirm_incomplete="yes"),
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = world.client.get(response.headers["location"]).text
    assert "not classified: not recorded: vac" in page


def test_a_repeat_exam_of_a_visit_asks_why_and_which_counts(world: World) -> None:
    """Issue 16: a second exam of a visit was accepted silently."""
    _login(world, "coordinator")
    url = f"/participants/{world.participant_id}/exams"
    first = world.client.post(
        url, data=_new_exam_form(world, lesion_flat(Level.C5)), follow_redirects=False
    )
    assert first.status_code == 303
    before = _exam_count(world)
    refused = world.client.post(url, data=_new_exam_form(world, lesion_flat(Level.C6)))
    assert refused.status_code == 422
    assert "already has an exam: say why it is examined again" in refused.text
    assert _exam_count(world) == before
    saved = world.client.post(
        url,
        data=_new_exam_form(
            world, lesion_flat(Level.C6), repeat_reason="first examiner not certified",
            counts="new",
        ),
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    page = world.client.get(f"/participants/{world.participant_id}").text
    assert "not the visit&#39;s exam of record" in page or "not the visit's exam of record" in page


# --- an existing exam ---------------------------------------------------------------------------


def _exam_form(world: World, exam_id: int, **changes: str) -> dict[str, str]:
    page = world.client.get(f"/exams/{exam_id}").text
    form = {
        "csrf_token": _csrf(page),
        "version": re.findall(r'name="version" value="(\d+)"', page)[0],
        "examined_on": "2026-01-20",
        "examiner": "Dr Exam",
        **lesion_flat(Level.C5),
    }
    form.update(changes)
    return form


def test_exam_page_shows_the_worksheet_classification_and_history(world: World) -> None:
    _login(world, "monitor")
    response = world.client.get(f"/exams/{world.exam_id}")
    assert response.status_code == 200
    assert 'data-result="ais">A<' in response.text
    assert "Audit history" in response.text
    assert "exam (" in response.text  # the creation, one row
    assert "readonly" in response.text  # a monitor may not correct
    assert "Save correction" not in response.text


def test_exam_at_another_site_is_not_found(world: World) -> None:
    _login(world, "other_site")
    assert world.client.get(f"/exams/{world.exam_id}").status_code == 404
    assert world.client.get(f"/exams/{world.exam_id}/worksheet.pdf").status_code == 404


def test_correction_needs_a_reason_and_saves_nothing_without(world: World) -> None:
    _login(world, "coordinator")
    form = _exam_form(world, world.exam_id, r_c6_motor="2")
    response = world.client.post(f"/exams/{world.exam_id}", data=form)
    assert response.status_code == 422
    assert "Reason: a reason is required" in response.text
    world.session.rollback()
    exam = world.session.get(IsncsciExam, world.exam_id)
    assert exam is not None and exam.cells["r_c6_motor"] == "0"


def test_correction_is_saved_reclassified_and_audited(world: World) -> None:
    _login(world, "coordinator")
    form = _exam_form(world, world.exam_id, r_c6_motor="4", reason="transcription error")
    response = world.client.post(f"/exams/{world.exam_id}", data=form, follow_redirects=False)
    assert response.status_code == 303
    world.session.rollback()
    exam = world.session.get(IsncsciExam, world.exam_id)
    assert exam is not None and exam.cells["r_c6_motor"] == "4"
    expected = classify(Exam.from_flat({**lesion_flat(Level.C5), "r_c6_motor": "4"}))
    assert exam.classification == expected.to_record()
    page = world.client.get(f"/exams/{world.exam_id}").text
    assert "cells.r_c6_motor" in page
    assert "transcription error" in page


def test_correction_of_a_stale_version_is_refused(world: World) -> None:
    _login(world, "coordinator")
    stale = _exam_form(world, world.exam_id, r_c6_motor="1", reason="first")
    first = _exam_form(world, world.exam_id, r_c6_motor="4", reason="second")
    assert world.client.post(f"/exams/{world.exam_id}", data=first).status_code == 200
    response = world.client.post(f"/exams/{world.exam_id}", data=stale)
    assert response.status_code == 409
    assert "was changed by someone else" in response.text
    world.session.rollback()
    exam = world.session.get(IsncsciExam, world.exam_id)
    assert exam is not None and exam.cells["r_c6_motor"] == "4"


def test_signature_needs_the_password_and_becomes_void_after_a_correction(world: World) -> None:
    _login(world, "investigator")
    form = _exam_form(world, world.exam_id)
    wrong = world.client.post(
        f"/exams/{world.exam_id}/sign",
        data={"csrf_token": form["csrf_token"], "version": form["version"], "password": "nope"},
    )
    assert wrong.status_code == 401
    assert "Not signed." in wrong.text
    signed = world.client.post(
        f"/exams/{world.exam_id}/sign",
        data={"csrf_token": form["csrf_token"], "version": form["version"], "password": PASSWORD},
    )
    assert signed.status_code == 200
    assert "Exam signed." in signed.text
    assert "valid</strong>" in signed.text
    # signed: no second form for the same version, but what the signer did
    assert "Sign version 1" not in signed.text
    assert 'id="signed-by-you">You signed version 1 on ' in signed.text
    correction = _exam_form(world, world.exam_id, r_c6_motor="2", reason="re-examined")
    world.client.post(f"/exams/{world.exam_id}", data=correction)
    page = world.client.get(f"/exams/{world.exam_id}").text
    assert "void — the exam changed after signing" in page
    assert "Sign version 2" in page and 'id="signed-by-you"' not in page  # the new version


def test_an_incomplete_exam_offers_no_signature_form(world: World) -> None:
    """The use case refuses to sign an exam with a cell not recorded: the page says so instead
    of offering a form that can only fail."""
    _login(world, "investigator")
    world.session.rollback()
    exam = world.session.get(IsncsciExam, world.exam_id)
    assert exam is not None
    update = _exam_form(world, world.exam_id, r_c6_motor="", reason="cell not yet recorded")
    assert world.client.post(f"/exams/{world.exam_id}", data=update).status_code == 200
    page = world.client.get(f"/exams/{world.exam_id}").text
    assert 'id="sign-incomplete">Not ready to sign: the exam is incomplete' in page
    assert "Sign version" not in page


def test_coordinator_may_not_sign(world: World) -> None:
    _login(world, "coordinator")
    form = _exam_form(world, world.exam_id)
    assert "Sign version" not in world.client.get(f"/exams/{world.exam_id}").text
    response = world.client.post(
        f"/exams/{world.exam_id}/sign",
        data={"csrf_token": form["csrf_token"], "version": form["version"], "password": PASSWORD},
    )
    assert response.status_code == 403


def test_exam_pdf_renders_the_worksheet(world: World) -> None:
    _login(world, "statistician")
    response = world.client.get(f"/exams/{world.exam_id}/worksheet.pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert _dark_share(response.content) > 0.01


def test_calculator_csv_neutralizes_formula_cells(anonymous: TestClient) -> None:
    """Issue 12 (OWASP CSV injection): a typed value that a spreadsheet would run as a formula
    is written with a leading quote; valid values are written as they are."""
    flat = {**lesion_flat(Level.C6), "r_c5_motor": '=HYPERLINK("http://x","5")',
            "l_c5_motor": "@SUM(1)"}  # fmt: skip
    response = anonymous.post("/calculator/export.csv", data=flat)
    row = next(csv.DictReader(io.StringIO(response.text)))
    assert row["r_c5_motor"] == '\'=HYPERLINK("http://x","5")'
    assert row["l_c5_motor"] == "'@SUM(1)"
    assert row["r_c6_motor"] == flat["r_c6_motor"]
