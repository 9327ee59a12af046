"""The PDF worksheet prints names and free text in the scripts its embedded font covers (DejaVu
Sans: Latin with its extensions, Greek, Cyrillic) as typed; a character it lacks (no CJK font
ships with the app) is printed as ``?``, never dropped. Text read back with pdfium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient

from builders import lesion_flat
from cordtrial.isncsci import Level
from cordtrial.web import WebSettings, create_app


@pytest.fixture
def anonymous(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(WebSettings(database_url=f"sqlite:///{tmp_path / 'unused.db'}"))
    with TestClient(app) as client:
        yield client


def _text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_pdf_worksheet_prints_latin_extended_greek_and_cyrillic_as_typed(
    anonymous: TestClient,
) -> None:
    comments = "Łukasz Dvořák, Ørsted, Σοφία, Юлия; 山田"
    response = anonymous.post(
        "/calculator/worksheet.pdf", data={**lesion_flat(Level.T6), "comments": comments}
    )
    assert response.status_code == 200
    text = _text(response.content).replace("\r", "").replace("\n", " ")
    assert "Łukasz Dvořák, Ørsted, Σοφία, Юлия; ??" in text
