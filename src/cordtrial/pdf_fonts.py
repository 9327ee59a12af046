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
from collections.abc import Callable, Iterable
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
def _own_coverage(styles: frozenset[str]) -> frozenset[int]:
    """The code points every DejaVu face in ``styles`` can draw."""
    from fontTools.ttLib import TTFont

    faces = []
    for style in sorted(styles):
        with TTFont(_dejavu_dir() / _STYLE_FILES[style]) as face:
            faces.append(set(face.getBestCmap()))
    return frozenset(set.intersection(*faces))


@cache
def _fallback_coverage(fallback: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(fallback, fontNumber=0) as face:
        return frozenset(face.getBestCmap())


@cache
def _coverage(styles: frozenset[str], fallback: Path | None) -> frozenset[int]:
    """The code points the DejaVu faces in ``styles`` and the fallback font can draw (made once:
    the union of the fallback's tens of thousands of code points, not one per text)."""
    own = _own_coverage(styles)
    return own if fallback is None else own | _fallback_coverage(fallback)


def _add_fallback(pdf: FPDF) -> None:
    """Register the CJK fallback font on ``pdf`` once, when installed."""
    fallback = _fallback_file()
    if fallback is None or _FALLBACK.lower() in pdf.fonts:
        return
    # fontTools notes that it drops the fallback font's embedded bitmaps when subsetting.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    pdf.add_font(_FALLBACK, "", str(fallback), collection_font_number=0)
    # one fallback face serves bold and italic text too
    pdf.set_fallback_fonts([_FALLBACK], exact_match=False)


def add_fonts(pdf: FPDF, styles: Iterable[str] = ("", "B")) -> Callable[[str], str]:
    """Register DejaVu Sans in ``styles`` ("" regular, "B" bold, "I" italic) on ``pdf`` under
    :data:`FONT_FAMILY`, and return the function to pass every text through before drawing it:
    it registers the CJK fallback font (when installed) the first time a text needs it (loading
    it costs about a second, so PDFs in Latin, Greek and Cyrillic do not pay for it) and returns
    :func:`printable` text."""
    chosen = tuple(styles)
    for style in chosen:
        pdf.add_font(FONT_FAMILY, style, str(_dejavu_dir() / _STYLE_FILES[style]))
    own = _own_coverage(frozenset(chosen))

    def text(value: str) -> str:
        if any(ord(c) not in own and c not in _LAYOUT for c in value):
            _add_fallback(pdf)
            return printable(value, chosen)
        return value  # DejaVu draws every character: printable() would return it unchanged

    return text


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
