"""The PDF worksheet prints names and free text in every script as typed: DejaVu Sans for Latin
with its extensions, Greek and Cyrillic, and the CJK fallback font (fonts-wqy-zenhei, installed by
scripts/fonts) glyph by glyph for 山田 (it printed as ``?ukasz ??``). Text read back with pdfium;
a missing glyph would warn (MissingGlyphWarning), and warnings fail the tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient

from builders import lesion_flat
from cordtrial.isncsci import Level
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.security import SESSION_COOKIE
from web.conftest import World

NAME = "Łukasz 山田 Müller Ñúñez Ωμέγα"


@pytest.fixture
def anonymous(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(WebSettings(database_url=f"sqlite:///{tmp_path / 'unused.db'}"))
    with TestClient(app) as client:
        yield client


def _text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return text.replace("\r", "").replace("\n", " ")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_pdf_worksheet_prints_every_script_of_the_comments_as_typed(
    anonymous: TestClient,
) -> None:
    comments = f"{NAME}, Dvořák, Ørsted, Юлия, 张伟, 김민준, やまだ"
    response = anonymous.post(
        "/calculator/worksheet.pdf", data={**lesion_flat(Level.T6), "comments": comments}
    )
    assert response.status_code == 200
    text = _text(response.content)
    assert comments in text
    assert "?" not in text and "<U+" not in text


def test_pdf_worksheet_names_a_flagged_value_by_its_label(anonymous: TestClient) -> None:
    """People read the field label (Right C6 motor), not the column name (r_c6_motor)."""
    cells = {**lesion_flat(Level.T6), "r_c6_motor": "3*"}
    response = anonymous.post(
        "/calculator/worksheet.pdf", data={**cells, "reason_r_c6_motor": "ulnar nerve palsy"}
    )
    text = _text(response.content)
    assert "Right C6 motor = 3*: ulnar nerve palsy" in text
    assert "r_c6_motor" not in text


def test_exam_pdf_prints_the_examiners_name_in_every_script(world: World) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens["coordinator"])
    page = world.client.get(f"/participants/{world.participant_id}/exams/new").text
    form = {"csrf_token": _csrf(page), "visit_name": "week 2", "examined_on": "2026-02-09",
            "examiner": NAME, **lesion_flat(Level.T4, sacral="1")}  # fmt: skip
    saved = world.client.post(
        f"/participants/{world.participant_id}/exams", data=form, follow_redirects=False
    )
    assert saved.status_code == 303
    exam_id = int(saved.headers["location"].split("/")[2].split("?")[0])
    response = world.client.get(f"/exams/{exam_id}/worksheet.pdf")
    assert response.status_code == 200
    text = _text(response.content)
    assert f"Examiner: {NAME}" in text
    assert "?" not in text and "<U+" not in text
