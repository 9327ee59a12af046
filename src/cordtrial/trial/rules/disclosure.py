"""What a reader may not see in text: study ids and site names replaced inside free text.

A participant's study id can turn up in text written by the system (a custody event's
``administered to participant A-001``) or by people (a query, a comment). A reader who may not
see that participant -- a user of another site, or anyone reading a pseudonymized export -- gets
the text with each such id replaced. Matching is on whole tokens: ``A-001`` is found in
``participant A-001.`` but not inside ``A-0012``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["OTHER_SITE_PARTICIPANT", "Scrubber"]

#: What a reader sees instead of the study id of a participant of a site they may not see.
OTHER_SITE_PARTICIPANT = "(a participant of another site)"


class Scrubber:
    """Replaces whole-token occurrences of given strings (study ids, site names) in text.

    Parameters
    ----------
    replacements : mapping of str to str
        What to find -> what to write instead. Empty keys are ignored; longer keys win over
        shorter ones that they contain.
    """

    def __init__(self, replacements: Mapping[str, str]):
        self._replacements = {k: v for k, v in replacements.items() if k and k.strip()}
        keys = sorted(self._replacements, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, keys)) + r")(?!\w)")
            if keys
            else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        """``text`` with every listed string replaced."""
        if self._pattern is None or not isinstance(text, str):
            return text
        return self._pattern.sub(lambda m: self._replacements[m.group(0)], text)
