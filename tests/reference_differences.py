"""Where cordtrial's results may differ from the npm reference (``isncsci`` 2.0.6), by category.

Each category is documented in docs/isncsci-rules.md ("Where we differ from the reference") with
the reason the reference is wrong or incomplete there. The differential tests compare every other
field exactly; a field named here is compared as the category says, never skipped silently.

* ``nkm_trunk`` -- a lowest non-key muscle with motor function recorded at T2-T12 or L1, more than
  three levels below a possible motor level of its side. The reference's non-key muscle type lists
  the ten key-muscle levels only, and both its AIS B/C rule and its motor ZPP compare the non-key
  muscle with key-muscle levels only, so it ignores such a muscle. ISNCSCI 2019 counts motor
  function more than three levels below the motor level whatever the muscle (AIS C), and records
  that muscle as the motor ZPP in AIS C. The AIS and both motor ZPPs are then ours alone (held to
  the rule tests in tests/isncsci/test_rules.py and to the batch engines); every other field must
  still equal the reference's.
* ``nt_motor_zpp`` -- a side with a lowest non-key muscle whose exam leaves AIS open between C and
  another grade (an NT decides it). The reference computes the motor ZPP once, with the AIS C
  reading (the non-key muscle replaces the levels more than three above it), so a substitution of
  the NT that gives AIS A or B reaches a ZPP outside its range. Ours holds both readings: its range
  must *contain* the reference's (values compared without their ``*``, which marks how a value was
  reached and may differ between the readings).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["NKM_TRUNK_FIELDS", "disagreements", "fields_judged_by_category"]

_LEVELS: tuple[str, ...] = (
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8",
    *(f"T{i}" for i in range(1, 13)),
    "L1", "L2", "L3", "L4", "L5", "S1", "S2", "S3", "S4_5",
)  # fmt: skip
_INDEX = {name: i for i, name in enumerate(_LEVELS)}
_KEY = {"C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1"}
#: The fields a ``nkm_trunk`` exam leaves to us.
NKM_TRUNK_FIELDS: frozenset[str] = frozenset({"ais", "zpp_motor_right", "zpp_motor_left"})


def _levels(value: str) -> list[int]:
    """Level indices of a result (``C5,T2*`` -> [4, 9]); ``INT`` counts as below S4_5."""
    out = []
    for part in value.split(","):
        name = part.rstrip("*")
        if name == "INT":
            out.append(len(_LEVELS))
        elif name in _INDEX:
            out.append(_INDEX[name])
    return out


def fields_judged_by_category(flat: Mapping[str, str], ours: Mapping[str, str]) -> frozenset[str]:
    """The result fields of this exam that a documented category exempts from exact equality."""
    for prefix, side in (("r", "right"), ("l", "left")):
        nkm = (flat.get(f"{prefix}_nkm") or "").strip().upper()
        if not nkm or nkm in _KEY or nkm not in _INDEX:
            continue
        motor = _levels(str(ours.get(f"motor_{side}", "")))
        if motor and _INDEX[nkm] > min(motor) + 3:
            return NKM_TRUNK_FIELDS
    return frozenset()


def _names(value: str) -> set[str]:
    return {part.rstrip("*") for part in value.split(",")}


def _open_between_c_and_another(ais: str) -> bool:
    grades = _names(ais)
    return "C" in grades and len(grades) > 1


def disagreements(
    flat: Mapping[str, str], ours: Mapping[str, str], theirs: Mapping[str, str], fields: object
) -> list[str]:
    """The fields of ``fields`` where ours and the reference's disagree, the documented
    categories applied: exempt fields skipped, containment checked where a category says so."""
    exempt = fields_judged_by_category(flat, ours)
    ranged = _open_between_c_and_another(str(ours.get("ais", "")))
    out = []
    for field in fields:  # type: ignore[attr-defined]
        mine, ref = ours.get(field), theirs.get(field)
        if field in exempt or mine == ref:
            continue
        side = field.rsplit("_", 1)[-1]
        if (
            ranged
            and field in ("zpp_motor_right", "zpp_motor_left")
            and (flat.get(f"{side[0]}_nkm") or "").strip()
            and _names(str(ref)) <= _names(str(mine))
        ):
            continue  # nt_motor_zpp: ours is wider, and holds the reference's range
        out.append(field)
    return out
