"""The names, codes and units lab systems send, mapped to cordtrial's analytes and UCUM units
(the CSV import of issue 15; docs/trial.md lists the mapping).

Each analyte is known by its code (``platelets``), its label (``Platelet count``), the short
names common in hospital lab systems (``PLT``) and, where the code is certain, its LOINC code
(Regenstrief LOINC, https://loinc.org; each checked against the LOINC long common name given in
the comment). Names are matched without regard to case, spaces, dots or hyphens. Magnesium has
no LOINC code here: its serum codes differ by property (mass or substance) and none was
checked, so a lab sends its name.
"""

from __future__ import annotations

import re
from typing import Final

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.labs import ANALYTES, UCUM_UNITS

__all__ = ["ANALYTE_ALIASES", "LOINC_CODES", "UNIT_ALIASES", "analyte_code", "ucum_code"]

#: LOINC code -> analyte (LOINC long common name).
LOINC_CODES: Final[dict[str, str]] = {
    "751-8": "neutrophils",  # Neutrophils [#/volume] in Blood by Automated count
    "6690-2": "wbc",  # Leukocytes [#/volume] in Blood by Automated count
    "731-0": "lymphocytes",  # Lymphocytes [#/volume] in Blood
    "777-3": "platelets",  # Platelets [#/volume] in Blood by Automated count
    "718-7": "haemoglobin",  # Hemoglobin [Mass/volume] in Blood
    "2160-0": "creatinine",  # Creatinine [Mass/volume] in Serum or Plasma
    "1742-6": "alt",  # Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    "1920-8": "ast",  # Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    "1975-2": "bilirubin",  # Bilirubin.total [Mass/volume] in Serum or Plasma
    "6768-6": "alp",  # Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma
    "2324-2": "ggt",  # Gamma glutamyl transferase [Enzymatic activity/volume] in Serum or Plasma
    "2823-3": "potassium",  # Potassium [Moles/volume] in Serum or Plasma
    "6301-6": "inr",  # INR in Platelet poor plasma by Coagulation assay
    "3173-2": "aptt",  # aPTT in Blood by Coagulation assay
}

#: Short names of lab systems -> analyte (beside each analyte's code and label).
ANALYTE_ALIASES: Final[dict[str, str]] = {
    "anc": "neutrophils", "neut": "neutrophils", "neutrophil count": "neutrophils",
    "neutrophils": "neutrophils", "wbc": "wbc", "leukocytes": "wbc", "white cell count": "wbc",
    "lymph": "lymphocytes", "lymphocyte count": "lymphocytes",
    "plt": "platelets", "platelets": "platelets",
    "hb": "haemoglobin", "hgb": "haemoglobin", "hemoglobin": "haemoglobin",
    "crea": "creatinine", "creat": "creatinine", "cr": "creatinine",
    "sgpt": "alt", "alat": "alt", "sgot": "ast", "asat": "ast",
    "tbil": "bilirubin", "tbili": "bilirubin", "bilirubin": "bilirubin",
    "bilirubin total": "bilirubin",
    "alkp": "alp", "gammagt": "ggt", "ggtp": "ggt",
    "k": "potassium", "mg": "magnesium",
    "pt inr": "inr", "ptt": "aptt",
}  # fmt: skip

#: Units as lab systems write them -> UCUM code (:data:`~.labs.UCUM_UNITS`).
UNIT_ALIASES: Final[dict[str, str]] = {
    "x10^9/l": "10*9/L", "10^9/l": "10*9/L", "x10e9/l": "10*9/L", "10e9/l": "10*9/L",
    "x10^3/ul": "10*3/uL", "10^3/ul": "10*3/uL", "k/ul": "10*3/uL",
    "µmol/l": "umol/L", "μmol/l": "umol/L", "meq/l": "meq/L", "iu/l": "U/L",
    "sec": "s", "seconds": "s", "ratio": "{INR}",
}  # fmt: skip


def _key(name: str) -> str:
    return re.sub(r"[\s.\-_]+", " ", name.strip().casefold()).strip()


_BY_NAME: Final[dict[str, str]] = (
    {_key(code): code for code in ANALYTES}
    | {_key(a.label): a.code for a in ANALYTES.values()}
    | {_key(alias): code for alias, code in ANALYTE_ALIASES.items()}
)


def analyte_code(name: str) -> str:
    """The analyte a lab system's name or LOINC code stands for (``PLT``, ``777-3``,
    ``Platelet count`` -> ``platelets``)."""
    text = name.strip()
    if text in LOINC_CODES:
        return LOINC_CODES[text]
    found = _BY_NAME.get(_key(text))
    if found is None:
        raise InvalidValueError(
            "analyte", name, "an analyte's code, name, lab short name or LOINC code, as "
            "listed in docs/trial.md: e.g. " + ", ".join(list(ANALYTES)[:4]),
        )  # fmt: skip
    return found


def ucum_code(analyte: str, unit: str) -> str:
    """A lab system's unit as the UCUM code cordtrial converts from (``x10^9/L`` ->
    ``10*9/L``, ``µmol/L`` -> ``umol/L``); an empty unit is INR's ratio."""
    text = unit.strip()
    if text in UCUM_UNITS:
        return text
    if not text and analyte == "inr":
        return "{INR}"
    folded = text.casefold()
    return UNIT_ALIASES.get(folded) or _UCUM_FOLDED.get(folded, text)


_UCUM_FOLDED: Final = {code.casefold(): code for code in UCUM_UNITS}
