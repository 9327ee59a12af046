"""One behaviour per ISNCSCI rule, on exams built from the standard's definitions.

Expected answers come from the definitions in the ISNCSCI 2019 booklet (levels, NLI, AIS,
ZPP) quoted in each docstring; flag and NT conventions from the reference algorithm
(docs/isncsci-rules.md).
"""

from __future__ import annotations

from builders import exam, lesion_flat, normal_flat
from cordtrial.isncsci import Level, classify
from strategies import generate_exams


def rec(flat: dict[str, str], **cells: str) -> dict[str, str]:
    return classify(exam(flat, **cells)).to_record()


# --- sensory level ---------------------------------------------------------------------------


def test_sensory_level_is_last_normal_dermatome_when_next_impaired() -> None:
    """Sensory level: most caudal dermatome with normal LT and PP (C6 impaired -> C5)."""
    r = rec(normal_flat(), r_c6_pp="1")
    assert (r["sensory_right"], r["sensory_left"]) == ("C5", "INT")


def test_sensory_level_is_int_when_all_dermatomes_normal() -> None:
    """All dermatomes normal down to S4-5: intact."""
    assert rec(normal_flat())["sensory_right"] == "INT"


def test_sensory_level_lists_every_possibility_when_nt() -> None:
    """NT at C6 could be abnormal (level C5) or normal (level goes on: intact)."""
    assert rec(normal_flat(), r_c6_lt="NT")["sensory_right"] == "C5,INT"


def test_sensory_level_starred_when_flagged_value_considered_normal() -> None:
    """1** is impairment not due to SCI considered normal: the level passes it, marked *."""
    assert rec(normal_flat(), r_t5_lt="1**")["sensory_right"] == "INT*"


def test_sensory_level_stops_at_flagged_not_normal_value() -> None:
    """0* is considered not normal: the level stops above it, not starred (taken at face)."""
    assert rec(normal_flat(), l_t5_pp="0*")["sensory_left"] == "T4"


def test_sensory_level_stops_starred_at_nt_flagged_not_normal() -> None:
    """NT* (not testable, considered not normal) stops the level, marked *."""
    assert rec(normal_flat(), r_c6_lt="NT*")["sensory_right"] == "C5*"


# --- motor level -----------------------------------------------------------------------------


def test_motor_level_is_lowest_key_muscle_at_least_3_with_normal_above() -> None:
    """Motor level: lowest key muscle graded >= 3 with the key muscles above graded 5."""
    r = rec(lesion_flat(Level.C7), r_c7_motor="3", l_c7_motor="4")
    assert (r["motor_right"], r["motor_left"]) == ("C7", "C7")


def test_motor_level_is_above_when_key_muscle_below_3() -> None:
    """C6 graded 2 with C5 graded 5: the motor level is C5."""
    assert rec(normal_flat(), r_c6_motor="2")["motor_right"] == "C5"


def test_motor_level_taken_from_sensory_level_above_c5() -> None:
    """No key muscle for C1-C4: motor level = sensory level when C5 is below 3."""
    r = rec(lesion_flat(Level.C3))
    assert (r["sensory_right"], r["motor_right"]) == ("C3", "C3")


def test_motor_level_taken_from_sensory_level_in_thorax() -> None:
    """T2-L1 have no key muscles: with C5-T1 normal the motor level follows the sensory level."""
    r = rec(lesion_flat(Level.T6, motor_below="0"))
    assert (r["sensory_left"], r["motor_left"]) == ("T6", "T6")


def test_motor_level_s3_without_vac() -> None:
    """Below S1 the motor level reaches S4-5 only with VAC: no VAC -> S3."""
    assert rec(normal_flat(), vac="No")["motor_right"] == "S3"


def test_motor_level_open_between_s3_and_int_when_vac_nt() -> None:
    """VAC not testable: S3 or intact."""
    assert rec(normal_flat(), vac="NT")["motor_left"] == "S3,INT"


def test_motor_level_range_when_key_muscle_nt() -> None:
    """C6 NT with C5 normal and C7 absent: C5 if C6 < 3, C6 if C6 >= 3."""
    r = rec(lesion_flat(Level.C6, motor_below="0"), r_c6_motor="NT")
    assert r["motor_right"] == "C5,C6"


def test_motor_level_flagged_zero_opens_flagged_level() -> None:
    """0* at C6 (weak, not due to SCI): C5, or C6 resting on the flagged value (C6*)."""
    assert rec(normal_flat(), r_c6_motor="0*")["motor_right"] == "C5,C6*"


# --- NLI -------------------------------------------------------------------------------------


def test_nli_is_most_rostral_of_levels() -> None:
    """NLI: most caudal level normal on both sides for sensation and motor (R C7, L C5 -> C5)."""
    r = rec(lesion_flat(Level.C7, Level.C5))
    assert (r["sensory_right"], r["sensory_left"], r["nli"]) == ("C7", "C5", "C5")


def test_nli_follows_motor_level_when_more_rostral() -> None:
    """Sensation normal to T1 but C7 key muscle 2 on the left: NLI C6."""
    r = rec(lesion_flat(Level.T1), l_c7_motor="2", l_c8_motor="0", l_t1_motor="0")
    assert r["nli"] == "C6"


# --- completeness and AIS --------------------------------------------------------------------


def test_complete_when_no_sacral_sparing() -> None:
    """No S4-5 LT/PP, no DAP, no VAC: complete, AIS A."""
    r = rec(lesion_flat(Level.C5))
    assert (r["complete"], r["ais"]) == ("C", "A")


def test_incomplete_when_dap_present() -> None:
    """DAP alone is sacral sparing: incomplete."""
    assert rec(lesion_flat(Level.C5, dap="Yes"))["complete"] == "I"


def test_completeness_open_when_sacral_sensation_nt() -> None:
    """S4-5 NT with no DAP/VAC: complete or incomplete, AIS A or B."""
    r = rec(lesion_flat(Level.C5, sacral="NT"))
    assert (r["complete"], r["ais"]) == ("C,I", "A,B")


def test_ais_b_when_sensory_sparing_and_no_motor_below() -> None:
    """Sensory but not motor function preserved below the NLI including S4-5: AIS B."""
    assert rec(lesion_flat(Level.T4, sacral="1"))["ais"] == "B"


def test_ais_c_when_motor_more_than_three_levels_below_and_under_half_strong() -> None:
    """Sacral sensory sparing with L2 motor function (> 3 levels below T6): motor incomplete;
    fewer than half the key muscles below the NLI grade >= 3: AIS C."""
    assert rec(lesion_flat(Level.T6, motor_below="2", sacral="1"))["ais"] == "C"


def test_ais_d_when_at_least_half_strong() -> None:
    """At least half the key muscles below the NLI grade >= 3: AIS D."""
    assert rec(lesion_flat(Level.T6, motor_below="3", sacral="1"))["ais"] == "D"


def test_ais_c_when_vac_present() -> None:
    """VAC makes the injury motor incomplete whatever the limbs show: AIS C with all zeros."""
    assert rec(lesion_flat(Level.C5, vac="Yes"))["ais"] == "C"


def test_ais_e_when_all_normal_with_vac() -> None:
    """Normal sensation and motor function in all segments: AIS E."""
    assert rec(normal_flat())["ais"] == "E"


def test_non_key_muscle_turns_b_into_c() -> None:
    """2019: a non-key muscle with function more than 3 levels below the motor level
    distinguishes AIS B from C (C5 motor level, T1 non-key muscle function)."""
    flat = lesion_flat(Level.C5, dap="Yes")
    assert rec(flat)["ais"] == "B"
    assert rec(flat, r_nkm="T1")["ais"] == "C"


def test_non_key_muscle_three_levels_below_keeps_b() -> None:
    """Exactly three levels below (C8 for C5) is not 'more than three': still AIS B."""
    assert rec(lesion_flat(Level.C5, dap="Yes"), r_nkm="C8")["ais"] == "B"


def test_thoracic_non_key_muscle_more_than_three_below_turns_b_into_c() -> None:
    """2019 AIS C: motor function more than three levels below the motor level, non-key muscles
    included, at any level (T5 for a C5 motor level; older worksheets record thoracic ones)."""
    flat = lesion_flat(Level.C5, dap="Yes")
    assert rec(flat, r_nkm="T5")["ais"] == "C"
    assert rec(flat, l_nkm="L1")["ais"] == "C"


def test_thoracic_non_key_muscle_counts_only_more_than_three_levels_below() -> None:
    """Motor level T2: T5 is three levels below (AIS B stays), T6 four (AIS C)."""
    flat = lesion_flat(Level.T2, dap="Yes")
    assert rec(flat, r_nkm="T5")["ais"] == "B"
    assert rec(flat, r_nkm="T6")["ais"] == "C"


def test_thoracic_non_key_muscle_is_the_motor_zpp_in_ais_c() -> None:
    """2019: in AIS C the lowest non-key muscle with motor function more than three levels below
    the motor level is recorded as the motor ZPP (VAC absent), on its own side only."""
    r = rec(lesion_flat(Level.T6, dap="Yes"), r_nkm="L1")
    assert (r["ais"], r["zpp_motor_right"], r["zpp_motor_left"]) == ("C", "L1", "T6")


# --- zones of partial preservation ------------------------------------------------------------


def test_zpp_is_lowest_level_with_function_in_complete_injury() -> None:
    """Sensory ZPP: most caudal dermatome with some sensation (C7); motor ZPP: lowest key
    muscle with function (C7)."""
    r = rec(lesion_flat(Level.C5), r_c6_lt="1", r_c7_pp="1", r_c6_motor="2", r_c7_motor="1")
    assert (r["zpp_sensory_right"], r["zpp_motor_right"]) == ("C7", "C7")
    assert (r["zpp_sensory_left"], r["zpp_motor_left"]) == ("C5", "C5")


def test_sensory_zpp_na_when_dap_present() -> None:
    """Sensory ZPP applies only without DAP and S4-5 sensation."""
    assert rec(lesion_flat(Level.C5, dap="Yes"))["zpp_sensory_right"] == "NA"


def test_motor_zpp_recorded_in_incomplete_injury_without_vac() -> None:
    """2019: motor ZPP is recorded whenever VAC is absent, incomplete injuries included."""
    r = rec(lesion_flat(Level.T6, motor_below="2", sacral="1"))
    assert (r["ais"], r["zpp_motor_right"]) == ("C", "S1")


def test_motor_zpp_na_when_vac_present() -> None:
    assert rec(lesion_flat(Level.C5, vac="Yes"))["zpp_motor_left"] == "NA"


def test_motor_zpp_na_possible_when_vac_nt() -> None:
    """VAC not testable: ZPP may not apply (NA) or be the level found."""
    assert rec(lesion_flat(Level.C5, vac="NT"))["zpp_motor_right"] == "NA,C5"


def test_sensory_zpp_na_possible_when_dap_nt() -> None:
    assert rec(lesion_flat(Level.C5, dap="NT"))["zpp_sensory_left"] == "NA,C5"


# --- totals ----------------------------------------------------------------------------------


def test_totals_add_grades_by_limb_and_side() -> None:
    """UEMS = C5-T1 key muscles, LEMS = L2-S1; LT/PP over C2-S4_5 (max 56 a side)."""
    r = rec(lesion_flat(Level.C6), l_c8_motor="3*")
    assert (r["uems_right"], r["uems_left"], r["uems"]) == ("10", "13", "23")
    assert (r["lems"], r["lt_right"], r["pp"]) == ("0", "10", "20")


def test_total_not_determinable_when_nt() -> None:
    r = rec(normal_flat(), r_l3_motor="NT")
    assert (r["lems_right"], r["lems"], r["uems"], r["motor_right_total"]) == (
        "ND",
        "ND",
        "50",
        "ND",
    )


# --- motor ZPP ranges under NT ---------------------------------------------------------------


def test_motor_zpp_range_holds_both_readings_when_nt_leaves_ais_c_open() -> None:
    """DESIGN.md (complete ranges): found by the seeded sweep -- a right non-key muscle at L5,
    VAC absent, and a left C4 pin prick NT that leaves AIS open between C and D. Pin prick 2
    gives AIS C, where L5 replaces the levels more than three above it (motor ZPP L5); 0 or 1
    give AIS D, where T1 counts (motor ZPP T1). The range must hold both, T1,L5; the reference
    reports the AIS C reading only, L5 (docs/isncsci-rules.md, category nt_motor_zpp)."""
    flat = generate_exams(39, 5, nt_rate=0.0, star_rate=0.0, nkm_rate=0.9, random_rate=0)[38]
    assert flat["r_nkm"] == "L5"
    ranged = rec(flat, l_c4_pp="NT")
    assert (ranged["ais"], ranged["zpp_motor_right"]) == ("C,D", "T1,L5")
    reached = {pp: rec(flat, l_c4_pp=pp)["zpp_motor_right"] for pp in ("0", "1", "2")}
    assert reached == {"0": "T1", "1": "T1", "2": "L5"}
    reason = classify(exam(flat, l_c4_pp="NT")).explain().for_field("zpp_motor_right").text
    assert "AIS is open between C and D (not testable: Left C4 pin prick NT)" in reason


def test_motor_zpp_explanation_names_the_nt_that_opens_the_range() -> None:
    """'C5,L3' is open because the right L3 key muscle was not testable: the reason says so."""
    c = classify(exam(lesion_flat(Level.C5), r_l3_motor="NT"))
    reason = c.explain().for_field("zpp_motor_right")
    assert reason.result == "C5,L3"
    assert "the range is open because of Right L3 motor NT" in reason.text
