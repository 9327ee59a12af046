"""Identifiers people read and type (user names, study ids): one form, no look-alikes.

An identifier is NFKC-normalized (Unicode UAX #15: fullwidth ``ADMIN``, U+FF21..., becomes
``ADMIN``) and refused when it holds a control, format (zero-width), private-use or unassigned
character, or letters of more than one script (``admin`` spelled with a Cyrillic a, U+0430;
Unicode UTS #39 section 5.1, mixed-script detection). Two identifiers are *confusable* when their
skeletons are equal (UTS #39 section 4): the skeleton maps every character to one representative
of its class of confusable characters, case-insensitively, so ``admin``, ``ADMIN`` and the
Cyrillic-a ``admin`` collide, as do ``A-001`` and ``A-OOl``.

The confusable classes and script data are Unicode's (``confusables.txt``, ``Scripts.txt``) as
shipped by the ``confusable-homoglyphs`` package; the classes are its single-character pairs
joined transitively, each represented by its smallest ASCII member (else its smallest member).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib.resources import files

from confusable_homoglyphs import categories

from cordtrial.trial.errors import InvalidValueError

__all__ = ["check_identifier", "check_path_id", "confusable_skeletons", "find_confusable"]

# Unicode general categories refused anywhere in an identifier: controls, format characters
# (zero-width space and joiners, bidi marks), surrogates, private use, unassigned, and line or
# paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Scripts that mix with any other (digits, punctuation, combining marks).
_NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED"})


def _rank(char: str) -> tuple[bool, int]:
    return (not char.isascii(), ord(char))


@cache
def _representatives() -> dict[str, str]:
    data = json.loads(
        files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8")
    )
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        root = char
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(char, char) != root:
            parent[char], char = root, parent[char]
        return root

    for char, glyphs in data.items():
        if len(char) != 1:
            continue
        for glyph in glyphs:
            other = glyph["c"]
            if len(other) != 1:
                continue
            a, b = find(char), find(other)
            if a != b:
                # the root of a class is its representative: keep the best-ranked one
                low, high = (a, b) if _rank(a) < _rank(b) else (b, a)
                parent[high] = low
    return {char: find(char) for char in parent}


def confusable_skeletons(value: str) -> frozenset[str]:
    """The UTS #39 skeletons of an identifier, case-insensitive: NFKC, then each character
    replaced by the representative of its confusable class, case folded before or after that
    mapping (so ``ADMIN`` meets ``admin``, and ``A-OOl`` meets ``a-001``)."""
    table = _representatives()

    def mapped(text: str) -> str:
        return "".join(table.get(char, char) for char in text)

    normalized = unicodedata.normalize("NFKC", value)
    return frozenset({mapped(normalized.casefold()), mapped(mapped(normalized).casefold())})


def check_identifier(field: str, value: str) -> str:
    """``value`` NFKC-normalized, or InvalidValueError when it holds an invisible or control
    character or mixes scripts."""
    normalized = unicodedata.normalize("NFKC", value)
    for char in normalized:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            name = unicodedata.name(char, "a control character")
            raise InvalidValueError(
                field,
                value,
                "visible characters only (no control, zero-width or format characters)",
                f"holds {name} (U+{ord(char):04X})",
            )
    scripts = set(categories.unique_aliases(normalized)) - _NEUTRAL_SCRIPTS
    if len(scripts) > 1:
        raise InvalidValueError(
            field,
            value,
            "letters of one script (no look-alike letters from another alphabet)",
            "mixes scripts " + " and ".join(sorted(s.title() for s in scripts)),
        )
    return normalized


def find_confusable(value: str, existing: Iterable[str]) -> str | None:
    """The first of ``existing`` whose skeleton equals ``value``'s (one that a reader could
    mistake for it), or None."""
    skeletons = confusable_skeletons(value)
    for other in existing:
        if confusable_skeletons(other) & skeletons:
            return other
    return None


def check_path_id(field: str, value: str) -> str:
    """An identifier that is also a URL path segment (lot numbers in ``/lots/{lot_number}``,
    protocol ids in ``/trials/{protocol_id}``): as :func:`check_identifier`, made only of
    letters, digits, ``-``, ``_`` and ``.``, starting with a letter or digit, so that it
    round-trips through a URL path unchanged (no ``/``, ``?``, ``#``, ``%``, space, ``.``/``..``).
    """
    normalized = check_identifier(field, value)
    allowed = "letters, digits, '-', '_' or '.', starting with a letter or digit"
    if not normalized or not normalized[0].isalnum():
        raise InvalidValueError(field, value, allowed, "does not start with a letter or digit")
    bad = next((c for c in normalized if not (c.isalnum() or c in "-_.")), None)
    if bad is not None:
        raise InvalidValueError(field, value, allowed, f"holds {bad!r}, which a URL path changes")
    return normalized
