"""Identifiers without look-alikes (issue 12): NFKC, one script, no invisible characters, no
confusable twin (Unicode UAX #15 and UTS #39, data from confusable-homoglyphs)."""

from __future__ import annotations

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.identifiers import (
    check_identifier,
    check_path_id,
    confusable_skeletons,
    find_confusable,
)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("admin", "\u0430dmin"),  # Cyrillic a
        ("admin", "ADMIN"),
        ("admin", "\uff41dmin"),  # fullwidth a (NFKC)
        ("A-001", "A-00l"),  # l for 1
        ("A-001", "A-OO1"),  # capital O for 0
        ("paul", "pau\u0399"),  # Greek capital iota for l
    ],
)
def test_look_alikes_share_a_skeleton(one: str, other: str) -> None:
    """Pairs listed as confusable in Unicode's confusables.txt (directly or via case)."""
    assert confusable_skeletons(one) & confusable_skeletons(other)
    assert find_confusable(other, ["someone", one]) == one


@pytest.mark.parametrize(("one", "other"), [("A-001", "A-002"), ("cora", "carl"), ("ann", "anna")])
def test_different_names_do_not_collide(one: str, other: str) -> None:
    assert find_confusable(one, [other]) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("A-001\u200b", "ZERO WIDTH SPACE (U+200B)"),
        ("A\u202e100", "RIGHT-TO-LEFT OVERRIDE (U+202E)"),
        ("A\t001", "a control character (U+0009)"),
        ("\u0430dmin", "mixes scripts Cyrillic and Latin"),
    ],
)
def test_invisible_characters_and_mixed_scripts_are_refused(value: str, problem: str) -> None:
    with pytest.raises(InvalidValueError) as error:
        check_identifier("username", value)
    assert problem in str(error.value) and error.value.field == "username"


def test_one_script_other_than_latin_is_accepted() -> None:
    assert check_identifier("username", "\u0438\u0432\u0430\u043d") == "\u0438\u0432\u0430\u043d"
    assert check_identifier("username", "\uff2c\uff10\uff10\uff11") == "L001"


@pytest.mark.parametrize("value", ["L/1", "L 1", "L?1", "L#1", "L%2F", ".hidden", "..", "-L1"])
def test_path_ids_refuse_what_a_url_path_changes(value: str) -> None:
    with pytest.raises(InvalidValueError):
        check_path_id("lot_number", value)


def test_path_ids_keep_letters_digits_dash_underscore_dot() -> None:
    assert check_path_id("lot_number", "LOT-2026.07_b") == "LOT-2026.07_b"
