"""The fonts of the PDFs cordtrial writes (the exam worksheet, the DSMB and efficacy reports), so
that names and free text print in every script as typed.

Text is set in DejaVu Sans, embedded (subset) from the copy matplotlib ships (a dependency;
Bitstream Vera license, see its LICENSE_DEJAVU): Latin with its extensions (Łukasz, Dvořák),
Greek, Cyrillic and the signs the reports use (≥, →, ±). A character DejaVu lacks is drawn, glyph
by glyph, from the fallback font WenQuanYi Zen Hei (Debian package ``fonts-wqy-zenhei``, GPL with
the font exception; ``scripts/fonts`` installs it, ``scripts/setup`` and ``scripts/test`` call
it): CJK ideographs, kana and Hangul (山田, やまだ, 김민준).

A character that no installed font can draw is never replaced by ``?`` nor dropped: it is written
as its code point (``<U+5C71>``), and :class:`MissingGlyphWarning` says which (the tests turn
warnings into errors, so a missing font fails them loudly).
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["FALLBACK_FONT_FILES", "FONT_FAMILY", "MissingGlyphWarning", "add_fonts", "printable"]

#: the family name the PDFs set their text in (DejaVu Sans, with the fallback per glyph)
FONT_FAMILY: Final = "DejaVu"
_STYLE_FILES: Final = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
}
_FALLBACK: Final = "WenQuanYi"
#: where the fallback font is looked for, in order (the Debian package fonts-wqy-zenhei)
FALLBACK_FONT_FILES: Final = (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),)
# Control characters the PDF layout handles itself (line breaks), not glyphs.
_LAYOUT: Final = frozenset("\n\r\t")


class MissingGlyphWarning(UserWarning):
    """A character that no font the PDFs use can draw; it is printed as its code point."""


def _dejavu_dir() -> Path:
    """matplotlib's bundled TrueType fonts, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (a dependency of cordtrial) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


def _fallback_file() -> Path | None:
    return next((path for path in FALLBACK_FONT_FILES if path.is_file()), None)


@cache
def _coverage(styles: frozenset[str], fallback: Path | None) -> frozenset[int]:
    """The code points every DejaVu face in ``styles`` can draw, and those of the fallback."""
    from fontTools.ttLib import TTFont

    faces = [set(TTFont(_dejavu_dir() / _STYLE_FILES[s]).getBestCmap()) for s in sorted(styles)]
    covered = set.intersection(*faces)
    if fallback is not None:
        covered |= set(TTFont(fallback, fontNumber=0).getBestCmap())
    return frozenset(covered)


def add_fonts(pdf: FPDF, styles: Iterable[str] = ("", "B")) -> None:
    """Register DejaVu Sans in ``styles`` ("" regular, "B" bold, "I" italic) under
    :data:`FONT_FAMILY` and the CJK fallback font (when installed) as the per-glyph fallback."""
    # fontTools notes that it drops the fallback font's embedded bitmaps when subsetting.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    for style in styles:
        pdf.add_font(FONT_FAMILY, style, str(_dejavu_dir() / _STYLE_FILES[style]))
    fallback = _fallback_file()
    if fallback is not None:
        pdf.add_font(_FALLBACK, "", str(fallback), collection_font_number=0)
        # one fallback face serves bold and italic text too
        pdf.set_fallback_fonts([_FALLBACK], exact_match=False)


def printable(text: str, styles: Iterable[str] = ("", "B")) -> str:
    """``text`` with each character that no registered font can draw written as its code point
    (``<U+5C71>``), with a :class:`MissingGlyphWarning` naming them; other text unchanged."""
    fallback = _fallback_file()
    covered = _coverage(frozenset(styles), fallback)
    missing = sorted({c for c in text if ord(c) not in covered and c not in _LAYOUT})
    if not missing:
        return text
    codes = ", ".join(f"U+{ord(c):04X}" for c in missing)
    hint = (
        " (install the Debian package fonts-wqy-zenhei: scripts/fonts)" if fallback is None else ""
    )
    warnings.warn(
        f"no font for {codes}{hint}; printed as code points", MissingGlyphWarning, stacklevel=2
    )
    return "".join(f"<U+{ord(c):04X}>" if c in missing else c for c in text)
