"""Concomitant medication rules: the shipped data files (ATC list, interaction list) are well
formed and cited; values are checked; interactions are matched and put in words."""

from __future__ import annotations

from datetime import date
from importlib.resources import files

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.medications import (
    ATC_FILE,
    INTERACTIONS_FILE,
    atc_catalogue,
    atc_entry,
    check_atc_code,
    check_medication,
    interaction_words,
    interactions,
    interactions_for,
    parse_atc_catalogue,
    parse_interactions,
    search_atc,
)


def _text(name: str) -> str:
    return files("cordtrial.trial").joinpath("data", name).read_text(encoding="utf-8")


# --- the data files ---------------------------------------------------------------------------


def test_the_atc_list_states_its_source_and_year() -> None:
    header = [line for line in _text(ATC_FILE).splitlines() if line.startswith("#")]
    assert any(
        "WHO Collaborating Centre for Drug Statistics Methodology" in line for line in header
    )
    assert any("ATC/DDD Index 20" in line for line in header)


def test_the_atc_list_loads_with_unique_well_formed_codes() -> None:
    entries = atc_catalogue()
    assert len(entries) >= 250
    assert len({e.atc_code for e in entries}) == len(entries)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        # WHO ATC/DDD Index: M03BX muscle relaxants, other centrally acting agents
        ("M03BX01", "baclofen"),
        ("M03BX02", "tizanidine"),
        ("N03AX16", "pregabalin"),
        ("N03AX12", "gabapentin"),
        ("L04AD02", "tacrolimus"),
        ("J02AC01", "fluconazole"),
        ("G04BD04", "oxybutynin"),
        ("A02BC02", "pantoprazole"),
    ],
)
def test_the_atc_list_holds_the_sci_trial_staples(code: str, name: str) -> None:
    entry = atc_entry(code)
    assert entry is not None and entry.name == name


def test_every_interaction_is_cited_with_a_listed_code() -> None:
    rows = interactions()
    assert len(rows) >= 40
    listed = {e.atc_code for e in atc_catalogue()}
    for row in rows:
        assert "SmPC 4.5" in row.source or "US PI 7" in row.source
        assert set(row.atc_codes) <= listed
    header = "\n".join(x for x in _text(INTERACTIONS_FILE).splitlines() if x.startswith("#"))
    assert "section 4.5" in header and "section 7" in header


def test_the_interaction_list_covers_inhibitors_and_inducers() -> None:
    """Prograf SmPC 4.5: azoles and macrolides raise tacrolimus, rifampicin and
    anticonvulsants lower it."""
    effect = {(i.substance, i.immunosuppressant): i.effect for i in interactions()}
    assert effect["fluconazole", "tacrolimus"] == "raises"
    assert effect["clarithromycin", "tacrolimus"] == "raises"
    assert effect["diltiazem", "tacrolimus"] == "raises"
    assert effect["rifampicin", "tacrolimus"] == "lowers"
    assert effect["carbamazepine", "tacrolimus"] == "lowers"
    assert effect["St John's wort", "ciclosporin"] == "lowers"


def test_a_malformed_atc_code_in_the_list_is_refused_naming_its_line() -> None:
    text = "# header\natc_code,name,group\nM03BX01,baclofen,x\nM3BX1,bad,x\n"
    with pytest.raises(InvalidValueError, match="line 4: atc_code: 'M3BX1'"):
        parse_atc_catalogue(text)


def test_a_code_listed_twice_is_refused() -> None:
    text = "atc_code,name,group\nM03BX01,baclofen,x\nM03BX01,again,x\n"
    with pytest.raises(InvalidValueError, match="each code once"):
        parse_atc_catalogue(text)


def test_an_interaction_without_a_source_or_with_an_unknown_code_is_refused() -> None:
    head = "substance,also_called,atc_codes,immunosuppressant,effect,mechanism,source,confidence\n"
    with pytest.raises(InvalidValueError, match="line 2: source"):
        parse_interactions(head + "x,,M03BX01,tacrolimus,raises,y,,S\n", {"M03BX01"})
    with pytest.raises(InvalidValueError, match="line 2: atc_codes: 'J02AC01'"):
        parse_interactions(head + "x,,J02AC01,tacrolimus,raises,y,SmPC,S\n", {"M03BX01"})
    with pytest.raises(InvalidValueError, match="line 2: effect"):
        parse_interactions(head + "x,,,tacrolimus,doubles,y,SmPC,S\n", set())


# --- matching ---------------------------------------------------------------------------------


def test_an_interacting_medication_is_matched_by_code_or_name() -> None:
    assert interactions_for("Diflucan", "J02AC01")
    assert interactions_for("Fluconazole 200 mg", None)
    assert interactions_for("rifampin", None)  # the US name
    assert not interactions_for("baclofen", "M03BX01")


def test_a_name_matches_only_whole_words() -> None:
    """Esomeprazole is not omeprazole (the label names omeprazole and lansoprazole)."""
    assert not interactions_for("esomeprazole", None)
    assert interactions_for("omeprazole", None)


def test_flags_are_words_per_effect() -> None:
    assert interaction_words(interactions_for("fluconazole", None)) == [
        "May raise tacrolimus and ciclosporin levels: check trough"
    ]
    assert interaction_words(interactions_for("carbamazepine", None)) == [
        "May lower tacrolimus and ciclosporin levels: check trough"
    ]
    words = interaction_words(interactions_for("prednisolone", None))
    assert words == ["May raise or lower tacrolimus levels: check trough"]


def test_search_finds_by_name_or_code_prefix_first() -> None:
    names = [e.name for e in search_atc("pred")]
    assert names[:2] == ["prednisolone", "prednisone"] and "methylprednisolone" in names
    assert [e.name for e in search_atc("m03bx01")] == ["baclofen"]
    assert search_atc("  ") == []


# --- values -----------------------------------------------------------------------------------


def _values(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "baclofen", "atc_code": "m03bx01", "dose": 10, "dose_unit": "mg",
        "route": "oral", "frequency": "three times daily", "indication": "spasticity",
        "start_date": date(2026, 2, 1), "stop_date": None,
    }  # fmt: skip
    values.update(changes)
    return values


def test_good_values_are_normalised() -> None:
    values = check_medication(**_values())
    assert values.atc_code == "M03BX01" and values.dose == 10.0 and values.stop_date is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"atc_code": "baclofen"}, "atc_code"),
        ({"atc_code": "X03BX01"}, "atc_code"),
        ({"route": "by mouth"}, "route"),
        ({"dose": 0}, "dose"),
        ({"dose_unit": ""}, "dose_unit"),
        ({"dose": None}, "dose"),
        ({"name": " "}, "name"),
        ({"stop_date": date(2026, 1, 31)}, "stop_date"),
        ({"frequency": ""}, "frequency"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        check_medication(**_values(**changes))
    assert caught.value.field == field


def test_no_atc_code_is_allowed() -> None:
    assert check_atc_code("") is None and check_atc_code(None) is None
    assert check_medication(**_values(atc_code=None, dose=None, dose_unit="")).dose is None
