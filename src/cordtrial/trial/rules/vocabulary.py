"""Fixed vocabularies of the trial store, each with its source."""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "AE_CATEGORIES",
    "AE_OUTCOMES",
    "AE_OUTCOME_ORDER",
    "CONSENT_ITEMS",
    "CONTACT_METHODS",
    "CONTACT_MODES",
    "CONTACT_OUTCOMES",
    "CUSTODY_EVENTS",
    "DISPOSITIONS",
    "EXPECTEDNESS",
    "INJURY_MECHANISMS",
    "LOT_STATUSES",
    "PHASES",
    "RELATED",
    "RELATEDNESS",
    "RELATEDNESS_CAUSES",
    "RELATEDNESS_ORDER",
    "RELEASE_TESTS",
    "REMOTE_CONTACT_MODES",
    "SERIOUSNESS_CRITERIA",
    "SERIOUSNESS_ORDER",
    "SEXES",
    "SPECIAL_INTEREST_CATEGORIES",
    "TEN_METRE_WALK_STARTS",
    "TRAUMATIC_MECHANISMS",
    "VISIT_ITEMS",
    "AeCategory",
    "LotStatus",
    "Relatedness",
    "ReleaseTestName",
    "SeriousnessCriterion",
    "VisitItem",
    "word",
]

#: Trial phases (ICH E8).
PHASES: Final = frozenset({"1", "1/2", "2", "2/3", "3", "4"})

#: Sex, coded as the CDISC SDTM SEX codelist (C66731): female, male, unknown, intersex.
SEXES: Final = frozenset({"F", "M", "U", "INTERSEX"})

#: Mechanisms of injury, after the International SCI Core Data Set (v3.0) groups.
TRAUMATIC_MECHANISMS: Final = frozenset(
    {"sports", "assault", "transport", "fall", "other_traumatic", "unspecified_traumatic"}
)
INJURY_MECHANISMS: Final = TRAUMATIC_MECHANISMS | {"non_traumatic"}

LotStatus = Literal["quarantine", "released", "rejected", "expired"]
LOT_STATUSES: Final = frozenset(get_args(LotStatus))

ReleaseTestName = Literal[
    "viability",
    "cell_count",
    "sterility",
    "mycoplasma",
    "endotoxin",
    "residual_undifferentiated",
    "karyotype",
]
#: Release tests of an iPSC-derived cell product (potency/identity tests may be added per spec).
RELEASE_TESTS: Final = frozenset(get_args(ReleaseTestName))

#: Chain-of-custody events of a lot.
CUSTODY_EVENTS: Final = frozenset(
    {
        "manufactured",
        "stored",
        "shipped",
        "received",
        "thawed",
        "prepared",
        "administered",
        "returned",
        "destroyed",
    }
)

#: 10-metre walk test start: from standing still, or a flying (walking) start.
TEN_METRE_WALK_STARTS: Final = frozenset({"standing", "flying"})

AeCategory = Literal[
    "tumour_or_graft_overgrowth",
    "syrinx",
    "neuropathic_pain",
    "neurological_worsening",
    "infection",
    "immunosuppression_effect",
    "other",
]
#: Adverse event categories; all but ``other`` are adverse events of special interest (AESI)
#: for cell grafts to the spinal cord (tumour/graft overgrowth, syrinx, new or worse neuropathic
#: pain, neurological worsening, infection, effects of immunosuppression).
AE_CATEGORIES: Final = frozenset(get_args(AeCategory))
SPECIAL_INTEREST_CATEGORIES: Final = AE_CATEGORIES - {"other"}

SeriousnessCriterion = Literal[
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "medically_important",
]
#: ICH E2A (1994) section II.B: results in death; is life-threatening; requires inpatient
#: hospitalisation or prolongation of existing hospitalisation; results in persistent or
#: significant disability/incapacity; is a congenital anomaly/birth defect; or is another
#: medically important event.
SERIOUSNESS_CRITERIA: Final = frozenset(get_args(SeriousnessCriterion))
#: The criteria in the order ICH E2A II.B lists them (forms and reports show them so).
SERIOUSNESS_ORDER: Final = get_args(SeriousnessCriterion)

Relatedness = Literal["not_related", "unlikely", "possible", "probable", "definite"]
#: Causality scale; ``possible`` and above are a "reasonable possibility" of a causal
#: relationship (ICH E2A II.A.2; 21 CFR 312.32(a) "suspected adverse reaction").
RELATEDNESS: Final = frozenset(get_args(Relatedness))
RELATED: Final = frozenset({"possible", "probable", "definite"})
RELATEDNESS_ORDER: Final = get_args(Relatedness)
#: The causes relatedness is assessed against, each on its own (never pooled): the AE column and
#: its words.
RELATEDNESS_CAUSES: Final = (
    ("related_to_cells", "cell product"),
    ("related_to_procedure", "procedure"),
    ("related_to_immunosuppression", "immunosuppression"),
)

#: Expectedness against the reference safety information (Investigator's Brochure).
EXPECTEDNESS: Final = frozenset({"expected", "unexpected"})

#: Outcome of an adverse event (CDISC SDTM AEOUT codelist C66768).
AE_OUTCOMES: Final = frozenset(
    {
        "recovered",
        "recovering",
        "not_recovered",
        "recovered_with_sequelae",
        "fatal",
        "unknown",
    }
)
#: Outcomes in the order a form offers them (ongoing first).
AE_OUTCOME_ORDER: Final = (
    "not_recovered",
    "recovering",
    "recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)

VisitItem = Literal["isncsci", "scim", "wisci", "ten_metre_walk", "six_minute_walk", "mri"]
#: What a protocol may require at a visit, with the words people read.
VISIT_ITEMS: Final = {
    "isncsci": "ISNCSCI exam",
    "scim": "SCIM III",
    "wisci": "WISCI II",
    "ten_metre_walk": "10-metre walk",
    "six_minute_walk": "6-minute walk",
    # recorded by the imaging records (issue 14): until they exist, a visit that requires an MRI
    # stays partly done (see services.visits.register_visit_item)
    "mri": "MRI",
}

#: How a visit reaches the participant (long-term follow-up, issue 14): in person at the site,
#: by phone, or by a questionnaire sent and returned; phone and questionnaire are remote.
CONTACT_MODES: Final = {
    "in_person": "in person",
    "phone": "phone",
    "questionnaire": "questionnaire",
}
REMOTE_CONTACT_MODES: Final = frozenset({"phone", "questionnaire"})

#: A participant's disposition (CDISC SDTM DS terms in spirit: completed, withdrawn by
#: participant, lost to follow-up, death), with the long-term follow-up after the main study.
DISPOSITIONS: Final = {
    "active": "active",
    "completed_main_study": "completed main study",
    "long_term_follow_up": "in long-term follow-up",
    "withdrawn": "withdrawn",
    "lost_to_follow_up": "lost to follow-up",
    "died": "died",
}

#: How a participant was tried (contact attempts before lost to follow-up is declared).
CONTACT_METHODS: Final = {
    "phone": "phone",
    "letter": "letter",
    "email": "email",
    "home_visit": "home visit",
    "general_practitioner": "through the general practitioner",
    "registry": "registry search",
}
#: What came of a contact attempt; only ``reached`` is a success.
CONTACT_OUTCOMES: Final = {
    "reached": "reached",
    "no_answer": "no answer",
    "message_left": "message left",
    "wrong_number": "wrong number or address",
    "returned_undelivered": "returned undelivered",
    "declined": "reached, declined further contact",
}

#: Separate items of a consent form, each given or refused on its own (issue 14).
CONSENT_ITEMS: Final = {
    "long_term_contact": "long-term contact",
    "autopsy": "autopsy",
    "future_sample_use": "future use of samples",
}

_WORDS: Final = {
    "life_threatening": "life-threatening",
    "hospitalisation": "hospitalisation (or prolonged)",
    "disability": "persistent or significant disability",
    "congenital_anomaly": "congenital anomaly",
    "medically_important": "medically important",
    "not_related": "not related",
    "not_recovered": "not recovered / not resolved",
    "recovered_with_sequelae": "recovered with sequelae",
    "tumour_or_graft_overgrowth": "tumour or graft overgrowth",
    "immunosuppression_effect": "effect of immunosuppression",
}


def word(value: object) -> str:
    """A vocabulary value in the words people read (``life_threatening`` -> life-threatening)."""
    text = str(value)
    for words in (_WORDS, VISIT_ITEMS, DISPOSITIONS, CONTACT_MODES, CONTACT_METHODS,
                  CONTACT_OUTCOMES, CONSENT_ITEMS):  # fmt: skip
        if text in words:
            return words[text]
    return text.replace("_", " ")
