"""MRI rules: examinations, structured reads, discordance, tumour events, surveillance schedule
(pure functions; sources in cordtrial.trial.rules.imaging and the MRI reference sheet)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.imaging import (
    MriFacts,
    ReadFacts,
    check_mri,
    check_read,
    check_study_instance_uid,
    discordant_items,
    opens_tumour_event,
    surveillance_status,
)

STABLE = ReadFacts(
    impression="stable", new_mass=False, contrast_enhancement=False, mass_effect=False,
    haemorrhage=False, cord_compression=False, oedema=False, syrinx_present=False,
)  # fmt: skip
DAY0 = date(2026, 1, 26)


def test_study_instance_uid_follows_dicom_ps3_5() -> None:
    """DICOM PS3.5 9.1: digits and dots, no leading zero in a component, at most 64 chars."""
    assert check_study_instance_uid("1.2.840.10008.1.2") == "1.2.840.10008.1.2"
    for bad in ("1.02.3", "1..2", "abc", "1.2." + "9" * 62):
        with pytest.raises(InvalidValueError, match="study_instance_uid"):
            check_study_instance_uid(bad)


def test_mri_before_the_transplant_is_refused() -> None:
    facts = MriFacts(DAY0 - timedelta(days=1), "Site A", 3.0, ("sagittal T2",))
    with pytest.raises(InvalidValueError, match="before the transplant") as err:
        check_mri(facts, transplant_date=DAY0)
    assert err.value.field == "acquired_on"


def test_mri_field_strength_and_sequences_are_checked() -> None:
    with pytest.raises(InvalidValueError, match="field_strength_t"):
        check_mri(MriFacts(DAY0, "Site A", 30.0, ("T2",)))
    with pytest.raises(InvalidValueError, match="sequences"):
        check_mri(MriFacts(DAY0, "Site A", 3.0, ()))
    ok = check_mri(MriFacts(DAY0, " Site A ", 1.5, ("T2", "T2", "T1")))
    assert ok.imaging_site == "Site A" and ok.sequences == ("T2", "T1")


def test_syrinx_present_needs_length_and_change() -> None:
    with pytest.raises(InvalidValueError, match="syrinx_length_mm"):
        check_read(replace(STABLE, syrinx_present=True, syrinx_change="new"))
    with pytest.raises(InvalidValueError, match="syrinx_change"):
        check_read(replace(STABLE, syrinx_present=True, syrinx_length_mm=12.0))
    with pytest.raises(InvalidValueError, match="syrinx_length_mm"):
        check_read(replace(STABLE, syrinx_length_mm=12.0))
    read = check_read(
        replace(STABLE, syrinx_present=True, syrinx_length_mm=12, syrinx_change="larger")
    )
    assert read.syrinx_length_mm == 12.0


def test_basic_score_4_needs_haemorrhage() -> None:
    """Talbott 2015: BASIC 4 is grade 3 plus T2 hypointense foci of haemorrhage."""
    with pytest.raises(InvalidValueError, match="basic_score"):
        check_read(replace(STABLE, basic_score=4))
    assert check_read(replace(STABLE, basic_score=4, haemorrhage=True)).basic_score == 4
    with pytest.raises(InvalidValueError, match="basic_score"):
        check_read(replace(STABLE, basic_score=5))


def test_new_mass_is_not_stable_and_suspicion_is_described() -> None:
    with pytest.raises(InvalidValueError, match="impression"):
        check_read(replace(STABLE, new_mass=True))
    with pytest.raises(InvalidValueError, match="finding"):
        check_read(replace(STABLE, impression="suspicious_for_tumour"))
    with pytest.raises(InvalidValueError, match="impression"):
        check_read(replace(STABLE, impression="worse"))


def test_discordance_is_impression_or_tumour_items_only() -> None:
    assert discordant_items(STABLE, replace(STABLE, oedema=True)) == []
    other = replace(STABLE, impression="changed", contrast_enhancement=True)
    assert discordant_items(STABLE, other) == ["impression", "contrast_enhancement"]


def test_tumour_event_opens_on_suspicion_or_new_mass() -> None:
    assert not opens_tumour_event(replace(STABLE, contrast_enhancement=True))
    assert opens_tumour_event(replace(STABLE, impression="changed", new_mass=True))
    assert opens_tumour_event(replace(STABLE, impression="suspicious_for_tumour", finding="x"))


def test_surveillance_next_due_and_overdue() -> None:
    week4 = DAY0 + timedelta(days=28)
    # before week 4's window opens: up to date, week 4 next
    early = surveillance_status(DAY0, [], DAY0 + timedelta(days=10))
    assert (early.state, early.next_name) == ("up to date", "week 4")
    # week 4 done; week 12 window (84 +- 14) closed without an MRI: overdue
    late = surveillance_status(DAY0, [week4], DAY0 + timedelta(days=100))
    assert (late.state, late.next_name, late.last_mri) == ("overdue", "week 12", week4)
    assert late.overdue and late.next_due == DAY0 + timedelta(days=84)
    # a later MRI passes the missed point: next is what comes after it
    caught = surveillance_status(DAY0, [week4, DAY0 + timedelta(days=180)], DAY0 + timedelta(200))
    assert caught.next_name == "week 52"
    assert surveillance_status(None, [], DAY0).state == "no transplant"
    every = [DAY0 + timedelta(days=d) for d in (28, 84, 182, 364, 728, 1092, 1456, 1820)]
    assert surveillance_status(DAY0, every, DAY0 + timedelta(days=2000)).state == "complete"
