"""The PDFs' fonts (cordtrial.pdf_fonts): every script the trial's people write in has a glyph,
and a character without one is printed as its code point with a warning, never as ``?``."""

from __future__ import annotations

import re

import pytest
from fpdf import FPDF

from cordtrial.pdf_fonts import FALLBACK_FONT_FILES, MissingGlyphWarning, add_fonts, printable


def test_fallback_font_is_installed() -> None:
    """scripts/fonts (called by scripts/setup and scripts/test) installs fonts-wqy-zenhei."""
    assert any(path.is_file() for path in FALLBACK_FONT_FILES)


@pytest.mark.parametrize(
    "text",
    [
        "Łukasz 山田 Müller Ñúñez Ωμέγα",
        "Юлия Dvořák Ørsted",
        "张伟 김민준 やまだ ヤマダ",
        "≥ → ± …",
    ],
)
def test_printable_keeps_text_every_font_covers(text: str) -> None:
    assert printable(text, ("", "B", "I")) == text


def test_printable_writes_a_character_no_font_has_as_its_code_point_and_warns() -> None:
    """U+20BB7 (a CJK extension B ideograph) and U+E000 (private use) are in no font we ship."""
    with pytest.warns(MissingGlyphWarning, match=re.escape("no font for U+E000, U+20BB7")):
        shown = printable("吉\U00020bb7 \ue000")
    assert shown == "吉<U+20BB7> <U+E000>"


def test_fallback_font_is_loaded_only_when_a_text_needs_it() -> None:
    """Loading the CJK font costs about a second: a PDF in Latin, Greek and Cyrillic skips it."""
    pdf = FPDF()
    text = add_fonts(pdf, ("", "B"))
    assert text("Łukasz Müller Ωμέγα Юлия") == "Łukasz Müller Ωμέγα Юлия"
    assert set(pdf.fonts) == {"dejavu", "dejavuB"}
    assert text("山田") == "山田"
    assert set(pdf.fonts) == {"dejavu", "dejavuB", "wenquanyi"}
    pdf.add_page()
    pdf.output()  # (closes the font files)
