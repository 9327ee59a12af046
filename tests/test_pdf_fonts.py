"""The PDFs' fonts (cordtrial.pdf_fonts): every script the trial's people write in has a glyph,
and a character without one is printed as its code point with a warning, never as ``?``."""

from __future__ import annotations

import re

import pytest

from cordtrial.pdf_fonts import FALLBACK_FONT_FILES, MissingGlyphWarning, printable


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
