"""Concomitant medication (issue 15): the values of a medication, its ATC code, and whether it is
known to change the blood level of the trial's immunosuppressant.

Two data files hold the knowledge, each citing its source in its header (no lists in code):

- ``trial/data/atc_medications.csv``: a curated subset of the WHO Collaborating Centre for Drug
  Statistics Methodology's ATC/DDD Index (the year in the file), searched by name or code;
- ``trial/data/immunosuppressant_interactions.csv``: medications that raise or lower tacrolimus or
  ciclosporin levels (Prograf EU SmPC section 4.5, Prograf US prescribing information section 7,
  Neoral EU SmPC section 4.5), with each row's source and confidence.

A medication matches an interaction when its ATC code is one of the row's codes, or its name holds
the row's substance (or another name of it) as whole words. Pure: no database, no clock.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Final, Literal, get_args

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_choice, check_date, check_number, check_text

__all__ = [
    "ATC_PATTERN",
    "EFFECTS",
    "IMMUNOSUPPRESSANTS",
    "REVIEW_LABELS",
    "ROUTES",
    "ROUTE_LABELS",
    "AtcEntry",
    "Effect",
    "Interaction",
    "MedicationValues",
    "ReviewStatus",
    "Route",
    "atc_catalogue",
    "atc_entry",
    "atc_for_name",
    "check_atc_code",
    "check_medication",
    "interaction_words",
    "interactions",
    "interactions_for",
    "parse_atc_catalogue",
    "parse_interactions",
    "review_status_for",
    "search_atc",
]

Route = Literal["oral", "iv", "sc", "im", "topical", "inhaled", "intrathecal", "rectal", "other"]
ROUTES: Final = tuple(get_args(Route))
#: Routes in words (the forms and exports show these).
ROUTE_LABELS: Final[dict[str, str]] = {
    "oral": "oral",
    "iv": "intravenous (IV)",
    "sc": "subcutaneous (SC)",
    "im": "intramuscular (IM)",
    "topical": "topical",
    "inhaled": "inhaled",
    "intrathecal": "intrathecal",
    "rectal": "rectal",
    "other": "other",
}

Effect = Literal["raises", "lowers", "raises or lowers"]
EFFECTS: Final = tuple(get_args(Effect))
IMMUNOSUPPRESSANTS: Final = ("tacrolimus", "ciclosporin")

ReviewStatus = Literal["flagged", "reviewed"]
#: A stored medication's review status in words (None: no known interaction).
REVIEW_LABELS: Final[dict[str, str]] = {"flagged": "flagged for review", "reviewed": "reviewed"}

#: A fifth-level ATC code: anatomical main group (one of the index's 14 letters), therapeutic
#: subgroup (2 digits), pharmacological and chemical subgroups (2 letters), substance (2 digits).
ATC_PATTERN: Final = re.compile(r"[ABCDGHJLMNPRSV][0-9]{2}[A-Z]{2}[0-9]{2}")
_ATC_ALLOWED = "an ATC code of a substance, e.g. M03BX01 (letter, 2 digits, 2 letters, 2 digits)"

MAX_NAME = 200
MAX_UNIT = 20
MAX_FREQUENCY = 60
MAX_INDICATION = 200

_DATA = "data"
ATC_FILE = "atc_medications.csv"
INTERACTIONS_FILE = "immunosuppressant_interactions.csv"


@dataclass(frozen=True, slots=True)
class AtcEntry:
    """A substance of the ATC list: code, name (INN), therapeutic group in words."""

    atc_code: str
    name: str
    group: str


@dataclass(frozen=True, slots=True)
class Interaction:
    """A medication known to change the level of an immunosuppressant (a row of the data file)."""

    substance: str
    also_called: tuple[str, ...]
    atc_codes: tuple[str, ...]
    immunosuppressant: str
    effect: Effect
    mechanism: str
    source: str
    confidence: Literal["S", "U"]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.substance, *self.also_called)


def _rows(text: str, columns: Sequence[str], what: str) -> Iterable[tuple[int, dict[str, str]]]:
    # Comment lines (#) are the file's header; the first other line names the columns. Rows are
    # numbered as the file's lines, so an error points at the line to fix.
    lines = text.splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if not line.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(line for _, line in numbered)))
    header = next(reader, None)
    if header != list(columns):
        raise InvalidValueError(f"{what}.columns", header, ", ".join(columns))
    for (n, _), cells in zip(numbered[1:], reader, strict=True):
        if not cells:
            continue
        if len(cells) != len(columns):
            raise InvalidValueError(f"{what} line {n}", cells, f"{len(columns)} cells")
        yield n, dict(zip(columns, (c.strip() for c in cells), strict=True))


def parse_atc_catalogue(text: str) -> tuple[AtcEntry, ...]:
    """The ATC list of a data file's text; InvalidValueError naming the line of a malformed code,
    an empty name or a code listed twice."""
    entries: list[AtcEntry] = []
    seen: set[str] = set()
    for n, row in _rows(text, ("atc_code", "name", "group"), "ATC list"):
        code = row["atc_code"]
        if not ATC_PATTERN.fullmatch(code):
            raise InvalidValueError(f"ATC list line {n}: atc_code", code, _ATC_ALLOWED)
        if code in seen:
            raise InvalidValueError(f"ATC list line {n}: atc_code", code, "each code once")
        if not row["name"] or not row["group"]:
            raise InvalidValueError(f"ATC list line {n}: name", row["name"], "a name and a group")
        seen.add(code)
        entries.append(AtcEntry(code, row["name"], row["group"]))
    return tuple(entries)


def parse_interactions(text: str, known_codes: Iterable[str]) -> tuple[Interaction, ...]:
    """The interaction list of a data file's text; InvalidValueError naming the line of a row
    without a source, with an unknown effect, immunosuppressant or confidence, or with an ATC
    code missing from the ATC list (``known_codes``)."""
    known = frozenset(known_codes)
    columns = ("substance", "also_called", "atc_codes", "immunosuppressant", "effect",
               "mechanism", "source", "confidence")  # fmt: skip
    out: list[Interaction] = []
    for n, row in _rows(text, columns, "interaction list"):
        where = f"interaction list line {n}"
        if not row["substance"]:
            raise InvalidValueError(f"{where}: substance", "", "a medication's name")
        check_choice(f"{where}: immunosuppressant", row["immunosuppressant"], IMMUNOSUPPRESSANTS)
        effect = check_choice(f"{where}: effect", row["effect"], EFFECTS)
        confidence = check_choice(f"{where}: confidence", row["confidence"], ("S", "U"))
        if not row["source"]:
            raise InvalidValueError(f"{where}: source", "", "the label section it comes from")
        codes = tuple(c for c in row["atc_codes"].split("|") if c)
        for code in codes:
            if code not in known:
                raise InvalidValueError(f"{where}: atc_codes", code, "a code of the ATC list")
        out.append(
            Interaction(
                substance=row["substance"],
                also_called=tuple(a.strip() for a in row["also_called"].split("|") if a.strip()),
                atc_codes=codes,
                immunosuppressant=row["immunosuppressant"],
                effect=effect,  # type: ignore[arg-type]
                mechanism=row["mechanism"],
                source=row["source"],
                confidence=confidence,  # type: ignore[arg-type]
            )
        )
    return tuple(out)


def _read(name: str) -> str:
    return files("cordtrial.trial").joinpath(_DATA, name).read_text(encoding="utf-8")


@cache
def atc_catalogue() -> tuple[AtcEntry, ...]:
    """The ATC list shipped with cordtrial (``trial/data/atc_medications.csv``)."""
    return parse_atc_catalogue(_read(ATC_FILE))


@cache
def _by_code() -> dict[str, AtcEntry]:
    return {e.atc_code: e for e in atc_catalogue()}


def atc_entry(code: str) -> AtcEntry | None:
    """The list's entry of an ATC code, if listed."""
    return _by_code().get(code)


@cache
def _by_name() -> dict[str, AtcEntry]:
    return {e.name.casefold(): e for e in reversed(atc_catalogue())}


def atc_for_name(name: str) -> AtcEntry | None:
    """The list's entry whose name is ``name`` (case-insensitive), if one is: a medication picked
    from the list by name gets its code without typing it."""
    return _by_name().get(name.strip().casefold())


@cache
def interactions() -> tuple[Interaction, ...]:
    """The interaction list shipped with cordtrial, checked against the ATC list."""
    return parse_interactions(_read(INTERACTIONS_FILE), _by_code())


def search_atc(query: str, limit: int = 20) -> list[AtcEntry]:
    """Entries whose name or code holds ``query`` (case-insensitive): names that start with it
    first, then the others, each by name; at most ``limit``."""
    q = query.strip().casefold()
    if not q:
        return []
    hits = [e for e in atc_catalogue() if q in e.name.casefold() or q in e.atc_code.casefold()]
    hits.sort(key=lambda e: (not (e.name.casefold().startswith(q) or e.atc_code.casefold()
                                  .startswith(q)), e.name))  # fmt: skip
    return hits[:limit]


def check_atc_code(value: object) -> str | None:
    """An ATC code (upper-cased, spaces removed) well formed at the substance level, or None for
    no code."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidValueError("atc_code", value, _ATC_ALLOWED)
    code = value.replace(" ", "").upper()
    if not ATC_PATTERN.fullmatch(code):
        raise InvalidValueError("atc_code", value, _ATC_ALLOWED)
    return code


def _words(text: str) -> str:
    return " " + re.sub(r"[^0-9a-z']+", " ", text.casefold()) + " "


def interactions_for(name: str, atc_code: str | None) -> tuple[Interaction, ...]:
    """The interaction rows a medication matches: by ATC code, or by its name holding a
    substance's name (or another name of it) as whole words."""
    words = _words(name)
    return tuple(
        i for i in interactions()
        if (atc_code is not None and atc_code in i.atc_codes)
        or any(_words(n) in words for n in i.names)
    )  # fmt: skip


def interaction_words(matched: Iterable[Interaction]) -> list[str]:
    """The flags in words, one per effect: ``May raise tacrolimus levels: check trough``."""
    by_effect: dict[str, list[str]] = {}
    for i in matched:
        drugs = by_effect.setdefault(i.effect, [])
        if i.immunosuppressant not in drugs:
            drugs.append(i.immunosuppressant)
    verbs = {"raises": "raise", "lowers": "lower", "raises or lowers": "raise or lower"}
    return [
        f"May {verbs[effect]} {' and '.join(by_effect[effect])} levels: check trough"
        for effect in EFFECTS
        if effect in by_effect
    ]


def review_status_for(matched: Sequence[Interaction]) -> ReviewStatus | None:
    """The status a newly entered (or re-identified) medication gets: flagged for review when it
    matches an interaction, none otherwise."""
    return "flagged" if matched else None


@dataclass(frozen=True, slots=True)
class MedicationValues:
    """A concomitant medication's checked values."""

    name: str
    atc_code: str | None
    dose: float | None
    dose_unit: str | None
    route: str
    frequency: str
    indication: str
    start_date: date
    stop_date: date | None


def check_medication(
    *,
    name: object,
    atc_code: object,
    dose: object,
    dose_unit: object,
    route: object,
    frequency: object,
    indication: object,
    start_date: object,
    stop_date: object,
    not_before: date | None = None,
) -> MedicationValues:
    """Check a medication's values: a name; an ATC code well formed or none; a dose > 0 with
    its unit (or neither); a route of :data:`ROUTES`; frequency and indication in words; a start
    date (not before ``not_before``, e.g. the injury) and a stop date not before it, or none
    (ongoing)."""
    text_name = check_text("name", name, max_length=MAX_NAME)
    code = check_atc_code(atc_code)
    amount = None if dose is None else check_number("dose", dose, low=0, low_open=True)
    unit = check_text("dose_unit", dose_unit, max_length=MAX_UNIT, required=False) or None
    if amount is not None and unit is None:
        raise InvalidValueError("dose_unit", dose_unit, "the unit of the dose, e.g. mg")
    if amount is None and unit is not None:
        raise InvalidValueError("dose", dose, "a number > 0 with the unit given")
    start = check_date("start_date", start_date, not_before=not_before)
    stop = None if stop_date is None else check_date("stop_date", stop_date, not_before=start)
    return MedicationValues(
        name=text_name,
        atc_code=code,
        dose=amount,
        dose_unit=unit,
        route=check_choice("route", route, ROUTES),
        frequency=check_text("frequency", frequency, max_length=MAX_FREQUENCY),
        indication=check_text("indication", indication, max_length=MAX_INDICATION),
        start_date=start,
        stop_date=stop,
    )
