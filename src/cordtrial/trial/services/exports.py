"""Export of a trial: tidy tables per entity (CSV or Parquet) and CDISC Dataset-JSON v1.1.

One table per kind of record, one row per record, one column per field (tidy data, Wickham,
*J Stat Softw* 2014;59(10)): ``trial``, ``arms``, ``visit_definitions``, ``sites``,
``participants``, ``eligibility_assessments``, ``visits``, ``exams`` (every cell as entered,
the classification's result record, and the examiner's ``comments`` and ``flag_reasons``: a
JSON object, cell column -> why its value carries ``*`` or ``**``), ``scim``, ``wisci``,
``ten_metre_walk``, ``six_minute_walk``, ``lots``, ``release_tests``, ``custody_events``,
``administrations``, ``adverse_events``, ``data_queries``, ``mris`` (MRI examinations: date,
imaging site, field strength, sequences, DICOM Study Instance UID), ``mri_reads`` (every
structured read: site, central and adjudication, with its reader and state), the long-term
follow-up's ``dispositions``, ``contact_attempts``, ``consent_versions`` and
``consent_signatures`` (one column per consent item: ``item_long_term_contact`` ...),
``concomitant_medications`` (with the review status of an interaction flag), the
regulators' ``expedited_clocks`` and ``periodic_report_filings``, immunosuppression's
``immunosuppression_regimens``, ``immunosuppression_courses``, ``dose_changes``,
``dose_interruptions`` and ``trough_levels``, and the laboratory's ``lab_results`` (each value
as entered and in the protocol's unit, the reference limits and baseline it was graded against,
its CTCAE v5.0 grade and the adverse event it was reported as) and ``lab_reference_ranges`` (the
sites' ranges, in the protocol's units) (issue 15). Records of participants carry the
participant's ``study_id``; only the sites the exporting user may see are exported, and in text
(a custody note names the lot's recipient) the study id of a participant of another site reads
``(a participant of another site)``.

Pseudonymized export (the statistician's, ISO 25237 "pseudonymization"): study ids are replaced
by a keyed pseudonym (HMAC-SHA-256 of the study id; the key is not written to the export, so the
pseudonyms cannot be linked back without it), the names of people (examiners, assessors,
operators, testers, holders, signers, whoever raised or answered a query) are left out, free
text about a participant (query texts, the examiner's comments and flag reasons) is left out,
and every calendar date or moment of a participant's record becomes a study day: days since the
participant's injury (``..._day``). Lot data have no participant: their dates become days since
the lot's manufacture (``expiry_day``, ``tested_day``, custody ``day``), so that no calendar date
is left to link a pseudonym back to a person. MRIs lose their DICOM Study Instance UID (it would
link back to the hospital's images) and imaging site; reads lose their readers' names and free
text findings. Sites are pseudonyms too (``SITE-`` and a keyed hash; names left out). Any study
id or site name left in text is replaced by its pseudonym (or ``(a participant of another
site)``); site codes of one letter are replaced in the code columns only (in text they would
replace ordinary letters). The cells keep their ``*`` flags: a flag is a
coded value, its reason is the free text. The test searches every file of such an export for
every real study id and site name.

Exchange format: CDISC Dataset-JSON v1.1 (CDISC, *Dataset-JSON Specification* v1.1, 2024), one
file per table in ``dataset-json/``: the dataset's metadata (``datasetJSONVersion``,
``itemGroupOID``, ``name``, ``label``, ``records``, ``columns`` with ``itemOID``, ``name``,
``label``, ``dataType``) and its ``rows`` as arrays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial import __version__
from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, RESULT_FIELDS
from cordtrial.trial.errors import AccessDeniedError, InvalidValueError
from cordtrial.trial.files import open_private, private_directory, write_csv
from cordtrial.trial.models import (
    Administration,
    AdverseEvent,
    Arm,
    ConcomitantMedication,
    ConsentSignature,
    ConsentVersion,
    ContactAttempt,
    CustodyEvent,
    DataQuery,
    DispositionChange,
    EligibilityAssessment,
    ExpeditedClock,
    IsncsciExam,
    LabReferenceRange,
    LabResult,
    Lot,
    MriExam,
    MriRead,
    Participant,
    PeriodicReportSubmission,
    ReleaseTest,
    Site,
    User,
    Visit,
    VisitDefinition,
)
from cordtrial.trial.rules.access import can_see_site, export_mode
from cordtrial.trial.rules.disclosure import OTHER_SITE_PARTICIPANT, Scrubber
from cordtrial.trial.rules.exam_cells import CELL_COLUMNS
from cordtrial.trial.rules.labs import ANALYTES
from cordtrial.trial.rules.vocabulary import CONSENT_ITEMS
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.immunosuppression_io import immunosuppression_export_tables
from cordtrial.trial.services.reads import MEASURE_KINDS

__all__ = [
    "DATASET_JSON_VERSION",
    "EXPORT_FORMATS",
    "PERSON_COLUMNS",
    "TrialExport",
    "build_export",
    "dataset_json",
    "pseudonym",
    "site_pseudonym",
    "write_export",
]

ExportFormat = Literal["csv", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")
DATASET_JSON_VERSION = "1.1"
#: Columns naming people, left out of a pseudonymized export.
PERSON_COLUMNS = frozenset(
    {"examiner", "assessor", "assessed_by", "operator", "identity_checked_by", "tested_by",
     "holder", "raised_by", "answered_by", "closed_by", "reader", "assigned_by", "recorded_by",
     "reviewed_by"}
)  # fmt: skip
#: Free text about a participant, left out of a pseudonymized export.
FREE_TEXT_COLUMNS = frozenset(
    {"text", "answer", "close_note", "classification_note", "comments", "flag_reasons", "note",
     "finding", "reason", "death_cause"}
)  # fmt: skip
#: Coded columns that never hold free text (not searched for study ids: the exam cells and the
#: classification's result record are most of a large export).
_CODED_COLUMNS = frozenset({*CELL_COLUMNS, *RESULT_FIELDS, "study_id", "id"})
_LABELS = {
    "trial": "Trial", "arms": "Treatment arms", "visit_definitions": "Visit schedule",
    "sites": "Sites", "participants": "Participants",
    "eligibility_assessments": "Eligibility assessments", "visits": "Visits",
    "exams": "ISNCSCI exams: cells as entered and computed classification",
    "scim": "SCIM III", "wisci": "WISCI II", "ten_metre_walk": "10-metre walk test",
    "six_minute_walk": "6-minute walk test", "lots": "Cell product lots",
    "release_tests": "Lot release tests", "custody_events": "Chain of custody",
    "administrations": "Cell administrations", "adverse_events": "Adverse events",
    "data_queries": "Monitor data queries", "mris": "MRI examinations",
    "mri_reads": "Structured MRI reads", "lab_results": "Laboratory results (CTCAE v5.0 graded)",
    "lab_reference_ranges": "Sites' laboratory reference ranges",
    "dispositions": "Disposition changes", "contact_attempts": "Contact attempts",
    "consent_versions": "Consent form versions", "consent_signatures": "Consent signatures",
    "concomitant_medications": "Concomitant medication",
}  # fmt: skip


@dataclass(slots=True)
class TrialExport:
    """The tables of a trial's export and how they were made."""

    protocol_id: str
    pseudonymized: bool
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    exported_by: str | None = None

    def manifest(self) -> dict[str, Any]:
        """What the export holds: trial, time, versions, pseudonymization, rows per table."""
        return {
            "protocol_id": self.protocol_id,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "exported_by": self.exported_by,
            "pseudonymized": self.pseudonymized,
            "cordtrial_version": __version__,
            "engine_version": ENGINE_VERSION,
            "isncsci_revision": ISNCSCI_REVISION,
            "tables": {name: len(frame) for name, frame in self.tables.items()},
        }


def pseudonym(key: bytes, study_id: str) -> str:
    """A participant's pseudonym: ``PS-`` and 12 hex digits of HMAC-SHA-256 (RFC 2104)."""
    return "PS-" + hmac.new(key, study_id.encode(), hashlib.sha256).hexdigest()[:12]


def site_pseudonym(key: bytes, site_code: str) -> str:
    """A site's pseudonym: ``SITE-`` and 8 hex digits of HMAC-SHA-256 (RFC 2104)."""
    return "SITE-" + hmac.new(key, f"site:{site_code}".encode(), hashlib.sha256).hexdigest()[:8]


def _fields(obj: Any, skip: Iterable[str] = ("version",)) -> dict[str, Any]:
    skipped = set(skip)
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skipped}


def _frame(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    if columns is None:
        columns = list(rows[0]) if rows else []
    return pd.DataFrame([[r.get(c) for c in columns] for r in rows], columns=list(columns),
                        dtype=object)  # fmt: skip


def _model_columns(cls: Any, skip: Iterable[str] = ("version",)) -> list[str]:
    skipped = set(skip)
    return [c.key for c in cls.__table__.columns if c.key not in skipped]


def _with_study_id(obj: Any, study_ids: dict[int, str], skip: Iterable[str] = ()) -> dict[str, Any]:
    row = {"study_id": study_ids[obj.participant_id]}
    row.update(_fields(obj, ("version", *skip)))
    return row


def build_export(
    session: Session,
    *,
    protocol_id: str,
    user: User | None = None,
    pseudonymize: bool = False,
    key: bytes | None = None,
) -> TrialExport:
    """Read a trial's records into tidy tables.

    Parameters
    ----------
    session : Session
        Only reads.
    protocol_id : str
        The trial.
    user : User, optional
        Who exports: only their sites are read and their role decides the kind of export
        (:func:`cordtrial.trial.rules.access.export_mode`; a statistician's is always
        pseudonymized). ``None``: whoever runs the command with the database's credentials,
        every site.
    pseudonymize : bool
        Pseudonymize even when the role would allow an identified export.
    key : bytes, optional
        The pseudonyms' key; default a random one, used once and not kept.

    Raises
    ------
    AccessDeniedError
        When the user's role may not export.
    """
    if user is not None:
        mode = export_mode(user.role) if user.active else None
        if mode is None:
            raise AccessDeniedError(user.username, "export")
        pseudonymize = pseudonymize or mode == "pseudonymized"
    trial = get_trial(session, protocol_id)
    export = TrialExport(protocol_id, pseudonymize, exported_by=user.username if user else None)

    def sees(site_id: int) -> bool:
        return user is None or can_see_site(user.role, user.all_sites, user.site_ids, site_id)

    sites = [s for s in trial.sites if sees(s.id)]
    site_codes = {s.id: s.code for s in sites}
    participants = [
        p
        for p in session.scalars(
            select(Participant).where(Participant.trial_id == trial.id).order_by(Participant.id)
        )
        if p.site_id in site_codes
    ]
    study_ids = {p.id: p.study_id for p in participants}
    pids = sorted(study_ids)
    arm_codes = {a.id: a.code for a in trial.arms}
    definitions = {d.id: d.name for d in trial.visit_definitions}
    tables = export.tables
    tables["trial"] = _frame([_fields(trial, ("version", "id"))])
    tables["arms"] = _frame([_fields(a, ("version", "trial_id")) for a in trial.arms],
                            _model_columns(Arm, ("version", "trial_id")))  # fmt: skip
    tables["visit_definitions"] = _frame(
        [_fields(d, ("version", "trial_id")) for d in trial.visit_definitions],
        _model_columns(VisitDefinition, ("version", "trial_id")),
    )
    tables["sites"] = _frame([_fields(s, ("version", "trial_id")) for s in sites],
                             _model_columns(Site, ("version", "trial_id")))  # fmt: skip
    participant_columns = [
        "study_id", "site_code", "arm_code", "injury_date", "injury_level", "injury_mechanism",
        "age_at_injury", "sex", "transplant_date",
    ]  # fmt: skip
    tables["participants"] = _frame(
        [
            _fields(p)
            | {"site_code": site_codes[p.site_id], "arm_code": arm_codes.get(p.arm_id or 0)}
            for p in participants
        ],
        participant_columns,
    )

    def of_participants(cls: Any) -> list[Any]:
        if not pids:
            return []
        return list(session.scalars(
            select(cls).where(cls.participant_id.in_(pids)).order_by(cls.id)
        ))  # fmt: skip

    def table(cls: Any, skip: Iterable[str] = ()) -> pd.DataFrame:
        skip = ("version", "participant_id", *skip)
        return _frame([_with_study_id(o, study_ids, skip) for o in of_participants(cls)],
                      ["study_id", *_model_columns(cls, skip)])  # fmt: skip

    assessments = table(EligibilityAssessment)
    assessments["reasons"] = assessments["reasons"].map(_json_text)
    assessments["criteria"] = assessments["criteria"].map(_json_text)
    tables["eligibility_assessments"] = assessments
    tables["visits"] = _frame(
        [
            {"study_id": study_ids[v.participant_id], "id": v.id,
             "visit": definitions[v.visit_definition_id], "done_on": v.done_on}
            for v in of_participants(Visit)
        ],
        ["study_id", "id", "visit", "done_on"],
    )  # fmt: skip
    visit_names = {v.id: definitions[v.visit_definition_id] for v in of_participants(Visit)}
    result_columns = [f for f in RESULT_FIELDS if f != "id"]
    exam_columns = ["study_id", "id", "visit", "examined_on", "examiner", *CELL_COLUMNS,
                    *result_columns, "classification_note", "engine_version",
                    "isncsci_revision", "comments", "flag_reasons"]  # fmt: skip
    exam_rows = []
    for exam in of_participants(IsncsciExam):
        notes = exam.notes or {}
        reasons = notes.get("flag_reasons")
        row = {"study_id": study_ids[exam.participant_id], "id": exam.id,
               "visit": visit_names.get(exam.visit_id) if exam.visit_id else None,
               "examined_on": exam.examined_on, "examiner": exam.examiner,
               "classification_note": exam.classification_note,
               "engine_version": exam.engine_version, "isncsci_revision": exam.isncsci_revision,
               "comments": notes.get("comments"),
               "flag_reasons": _json_text(reasons) if reasons else None,
               **dict(exam.cells), **(exam.classification or {})}  # fmt: skip
        row["id"] = exam.id
        exam_rows.append(row)
    tables["exams"] = _frame(exam_rows, exam_columns)
    for kind, cls in MEASURE_KINDS.items():
        measures = table(cls)
        measures["visit"] = measures.pop("visit_id").map(lambda v: visit_names.get(v))
        tables[kind] = measures
    administrations = table(Administration)
    lot_ids = sorted({int(x) for x in administrations["lot_id"]})
    lots = list(session.scalars(select(Lot).where(Lot.id.in_(lot_ids)).order_by(Lot.id)))
    lot_numbers = {lot.id: lot.lot_number for lot in lots}
    administrations.insert(1, "lot_number", administrations.pop("lot_id").map(lot_numbers.get))
    tables["lots"] = _frame(
        [_fields(lot) | {"ipsc_line": lot.ipsc_line.name,
                         "spec_version": lot.specification.spec_version,
                         "decision_reasons": _json_text(lot.decision_reasons)} for lot in lots],
        ["id", "lot_number", "ipsc_line", "spec_version", "manufactured_on", "expiry_date",
         "status", "decision_reasons"],
    )  # fmt: skip

    def of_lots(cls: Any) -> pd.DataFrame:
        rows = session.scalars(select(cls).where(cls.lot_id.in_(lot_ids)).order_by(cls.id))
        columns = ["lot_number", *_model_columns(cls, ("version", "lot_id"))]
        return _frame([_fields(r) | {"lot_number": lot_numbers[r.lot_id]} for r in rows], columns)

    tables["release_tests"] = of_lots(ReleaseTest)
    tables["custody_events"] = of_lots(CustodyEvent)
    tables["administrations"] = administrations
    events = table(AdverseEvent)
    events["serious_criteria"] = events["serious_criteria"].map(lambda v: ";".join(v or []))
    tables["adverse_events"] = events
    # Each event's expedited reports, one per rule of the trial's jurisdictions (issue 15).
    event_ids = [int(i) for i in events["id"]]
    clocks: list[ExpeditedClock] = list(session.scalars(
        select(ExpeditedClock)
        .where(ExpeditedClock.adverse_event_id.in_(event_ids))
        .order_by(ExpeditedClock.id)
    )) if event_ids else []  # fmt: skip
    event_study = dict(zip(events["id"], events["study_id"], strict=True))
    tables["expedited_clocks"] = _frame(
        [{"study_id": event_study[c.adverse_event_id], **_fields(c)} for c in clocks],
        ["study_id", *_model_columns(ExpeditedClock)],
    )
    tables["periodic_report_filings"] = _frame(
        [_fields(f, ("version", "trial_id")) for f in session.scalars(
            select(PeriodicReportSubmission)
            .where(PeriodicReportSubmission.trial_id == trial.id)
            .order_by(PeriodicReportSubmission.id)
        )],
        _model_columns(PeriodicReportSubmission, ("version", "trial_id")),
    )  # fmt: skip
    tables["data_queries"] = table(DataQuery)
    mris = table(MriExam)
    mris["sequences"] = mris["sequences"].map(lambda v: "; ".join(v or []))
    tables["mris"] = mris
    owners = {m.id: m.participant_id for m in of_participants(MriExam)}
    read_columns = ["study_id", *_model_columns(MriRead)]
    tables["mri_reads"] = _frame(
        [
            _fields(r) | {"study_id": study_ids[owners[r.mri_exam_id]]}
            for r in (
                session.scalars(
                    select(MriRead)
                    .where(MriRead.mri_exam_id.in_(list(owners)))
                    .order_by(MriRead.id)
                )
                if owners
                else []
            )
        ],
        read_columns,
    )
    _follow_up_tables(session, trial.id, tables, table, of_participants, study_ids)
    tables["concomitant_medications"] = table(ConcomitantMedication)  # issue 15
    tables.update(immunosuppression_export_tables(session, trial.id, study_ids))  # issue 15
    _lab_tables(session, tables, table, site_codes)
    everyone = session.execute(
        select(Participant.study_id, Participant.site_id).where(Participant.trial_id == trial.id)
    ).all()
    hidden = {study_id: OTHER_SITE_PARTICIPANT for study_id, site in everyone if not sees(site)}
    if pseudonymize:
        # The trial's filings carry calendar dates and authorities' case numbers, and nothing
        # a statistician analyses: the pseudonymized export leaves them out.
        tables.pop("periodic_report_filings")
        key = key or secrets.token_bytes(32)
        _pseudonymize(export, participants, trial.sites, key)
        visible = {p.study_id: pseudonym(key, p.study_id) for p in participants}
        site_names = {s.name: site_pseudonym(key, s.code) for s in trial.sites}
        site_codes_in_text = {
            s.code: site_pseudonym(key, s.code) for s in trial.sites if len(s.code) > 1
        }
        _scrub(export, Scrubber(hidden | visible | site_names | site_codes_in_text))
        # a version's calendar date is the trial's, but no calendar date is left in this export
        tables["consent_versions"] = tables["consent_versions"].drop(columns=["effective_on"])
    elif hidden:
        _scrub(export, Scrubber(hidden))
    for name, frame in tables.items():
        tables[name] = _typed(frame)
    return export


def _lab_tables(
    session: Session,
    tables: dict[str, pd.DataFrame],
    table: Callable[..., pd.DataFrame],
    site_codes: dict[int, str],
) -> None:
    """The laboratory's tables (issue 15): results with the protocol's unit beside each value,
    and the exported sites' reference ranges."""
    results = table(LabResult)
    results.insert(
        list(results.columns).index("value") + 1,
        "unit",
        [ANALYTES[a].unit for a in results["analyte"]],
    )
    tables["lab_results"] = results
    ranges: Iterable[LabReferenceRange] = session.scalars(
        select(LabReferenceRange)
        .where(LabReferenceRange.site_id.in_(list(site_codes)))
        .order_by(LabReferenceRange.site_id, LabReferenceRange.analyte, LabReferenceRange.sex)
    ) if site_codes else []  # fmt: skip
    tables["lab_reference_ranges"] = _frame(
        [{"site_code": site_codes[r.site_id], "analyte": r.analyte, "sex": r.sex,
          "lln": r.lln, "uln": r.uln, "unit": ANALYTES[r.analyte].unit} for r in ranges],
        ["site_code", "analyte", "sex", "lln", "uln", "unit"],
    )  # fmt: skip


def _follow_up_tables(
    session: Session,
    trial_id: int,
    tables: dict[str, pd.DataFrame],
    table: Callable[..., pd.DataFrame],
    of_participants: Callable[[Any], list[Any]],
    study_ids: dict[int, str],
) -> None:
    """The long-term follow-up's tables (issue 14)."""
    tables["dispositions"] = table(DispositionChange, ("recorded_at",))
    tables["contact_attempts"] = table(ContactAttempt)
    versions = list(
        session.scalars(
            select(ConsentVersion)
            .where(ConsentVersion.trial_id == trial_id)
            .order_by(ConsentVersion.effective_on, ConsentVersion.id)
        )
    )
    tables["consent_versions"] = _frame(
        [{"version": v.form_version, "effective_on": v.effective_on,
          "items": ";".join(v.items), "reconsent_required": v.reconsent_required,
          "applies_to": v.applies_to, "summary": v.summary} for v in versions],
        ["version", "effective_on", "items", "reconsent_required", "applies_to", "summary"],
    )  # fmt: skip
    labels = {v.id: v.form_version for v in versions}
    items = list(CONSENT_ITEMS)
    tables["consent_signatures"] = _frame(
        [{"study_id": study_ids[s.participant_id], "version": labels[s.consent_version_id],
          "signed_on": s.signed_on, "recorded_by": s.recorded_by,
          **{f"item_{i}": s.items.get(i) for i in items}}
         for s in of_participants(ConsentSignature)],
        ["study_id", "version", "signed_on", "recorded_by", *(f"item_{i}" for i in items)],
    )  # fmt: skip


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Integer and boolean columns as pandas' nullable types (missing stays missing); numbers
    with a fraction as float; everything else (text, dates) as objects."""
    columns = {}
    for column in frame.columns:
        values = [v for v in frame[column] if v is not None and v is not pd.NA]
        series = frame[column]
        if values and all(isinstance(v, bool) for v in values):
            series = series.astype("boolean")
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            series = series.astype("Int64")
        elif values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            series = series.astype("float64")
        columns[column] = series
    return pd.DataFrame(columns, index=frame.index)


def _json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _scrub(export: TrialExport, scrub: Scrubber) -> None:
    """Replace study ids (and site names) in every text column."""
    for frame in export.tables.values():
        for column in frame.columns:
            if column in _CODED_COLUMNS:
                continue
            values = frame[column].tolist()
            if any(isinstance(v, str) for v in values):
                frame[column] = pd.Series(
                    [scrub(v) if isinstance(v, str) else v for v in values],
                    index=frame.index,
                    dtype=object,
                )


def _lot_days(export: TrialExport) -> None:
    """Lot dates as days since the lot's manufacture (a pseudonymized export keeps no date)."""
    lots = export.tables["lots"]
    made = dict(zip(lots["lot_number"], lots["manufactured_on"], strict=True))
    for name in ("lots", "release_tests", "custody_events"):
        frame = export.tables[name]
        columns: dict[str, list[Any]] = {}
        numbers = frame["lot_number"].tolist()
        for column in frame.columns:
            values = frame[column].tolist()
            if column == "manufactured_on":
                continue
            if any(isinstance(v, date) for v in values):
                day = column.removesuffix("_date").removesuffix("_on").removesuffix("_at")
                columns["day" if day == "at" else f"{day}_day"] = [
                    _study_day(v, made[n]) for v, n in zip(values, numbers, strict=True)
                ]
            else:
                columns[column] = values
        export.tables[name] = pd.DataFrame(columns, index=frame.index, dtype=object)


def _pseudonymize(
    export: TrialExport, participants: Sequence[Participant], sites: Sequence[Site], key: bytes
) -> None:
    injury = {p.study_id: p.injury_date for p in participants}
    aliases = {p.study_id: pseudonym(key, p.study_id) for p in participants}
    site_aliases = {s.code: site_pseudonym(key, s.code) for s in sites}
    # A lot's release decision quotes its dates ("expiry 2027-08-22 (not expired on ...)").
    left_out = PERSON_COLUMNS | FREE_TEXT_COLUMNS | {
        "injury_date", "decision_reasons", "study_instance_uid", "imaging_site",
        "provision_plan_submitted_on",
    }  # fmt: skip
    _lot_days(export)
    export.tables["sites"] = pd.DataFrame(
        {"code": [site_aliases[c] for c in export.tables["sites"]["code"]]}, dtype=object
    )
    for name, frame in export.tables.items():
        if "study_id" not in frame.columns:
            kept = [c for c in frame.columns if c not in left_out]
            export.tables[name] = frame[kept]
            if "site_code" in kept:  # the laboratory's reference ranges, by site
                export.tables[name] = export.tables[name].assign(
                    site_code=[site_aliases[c] for c in frame["site_code"]]
                )
            continue
        study_ids = frame["study_id"].tolist()
        columns: dict[str, list[Any]] = {}
        for column in frame.columns:
            values = frame[column].tolist()
            if column == "study_id":
                columns[column] = [aliases[s] for s in study_ids]
            elif column == "site_code":
                columns[column] = [site_aliases[c] for c in values]
            elif column in left_out:
                continue
            elif any(isinstance(v, date) for v in values):
                day = column.removesuffix("_date").removesuffix("_on").removesuffix("_at")
                columns[f"{day}_day"] = [
                    _study_day(v, injury[s]) for v, s in zip(values, study_ids, strict=True)
                ]
            else:
                columns[column] = [
                    _dates_in_text(v, injury[s]) if isinstance(v, str) else v
                    for v, s in zip(values, study_ids, strict=True)
                ]
        export.tables[name] = pd.DataFrame(columns, index=frame.index, dtype=object)


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _dates_in_text(text: str, injury: date) -> str:
    """A participant's text with each calendar date in it told as days after the injury, the
    same day count the date columns get (an eligibility reason quotes its lab sample's date:
    "(sample 2021-09-05)" becomes "(sample day 31 after injury)"); a date-like string that is
    no date is withheld."""

    def told(match: re.Match[str]) -> str:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return "(a date withheld)"
        return f"day {(day - injury).days} after injury"

    return _ISO_DATE.sub(told, text) if "-" in text else text


def _study_day(value: Any, injury: date) -> int | None:
    if value is None or value is pd.NA:
        return None
    day = value.date() if isinstance(value, datetime) else value
    return int((day - injury).days)


def _dataset_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind == "b" or str(series.dtype) == "boolean":
        return "boolean"
    if kind in "iu" or str(series.dtype) == "Int64":
        return "integer"
    if kind == "f":
        return "double"
    values = [v for v in series if v is not None and v is not pd.NA]
    if values and all(isinstance(v, datetime) for v in values):
        return "datetime"
    if values and all(isinstance(v, date) for v in values):
        return "date"
    return "string"


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def dataset_json(export: TrialExport, name: str) -> dict[str, Any]:
    """One table as a CDISC Dataset-JSON v1.1 document."""
    frame = export.tables[name]
    dataset = name.upper()
    columns = [
        {
            "itemOID": f"IT.{dataset}.{column.upper()}",
            "name": column,
            "label": column.replace("_", " "),
            "dataType": _dataset_type(frame[column]),
            **({"keySequence": 1} if column == "id" else {}),
        }
        for column in frame.columns
    ]
    rows = [[_cell(v) for v in record] for record in frame.itertuples(index=False, name=None)]
    return {
        "datasetJSONCreationDateTime": export.created_at.isoformat(timespec="seconds"),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"cordtrial.{export.protocol_id}.{dataset}",
        "originator": "cordtrial",
        "sourceSystem": {"name": "cordtrial", "version": __version__},
        "studyOID": export.protocol_id,
        "metaDataVersionOID": f"MDV.cordtrial.{__version__}",
        "itemGroupOID": f"IG.{dataset}",
        "records": len(rows),
        "name": dataset,
        "label": _LABELS.get(name, name),
        "columns": columns,
        "rows": rows,
    }


def write_export(
    export: TrialExport,
    directory: Path,
    *,
    fmt: str = "csv",
    on_table: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write every table as ``DIR/<table>.csv`` (or ``.parquet``), its Dataset-JSON as
    ``DIR/dataset-json/<table>.json`` and the manifest as ``DIR/manifest.json``.

    Files are owner-only (``0600``; directories created ``0700``) and CSV text cells that a
    spreadsheet would run as a formula are neutralized (see :mod:`cordtrial.trial.files`)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidValueError("format", fmt, "one of " + ", ".join(EXPORT_FORMATS))
    private_directory(directory / "dataset-json")
    written = []
    for name, frame in export.tables.items():
        path = directory / f"{name}.{fmt}"
        if fmt == "csv":
            write_csv(frame, path)
        else:
            with open_private(path, "wb") as stream:
                _for_parquet(frame).to_parquet(stream, index=False)
        document = directory / "dataset-json" / f"{name}.json"
        with open_private(document, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(dataset_json(export, name), ensure_ascii=False))
        written += [path, document]
        if on_table is not None:
            on_table(name)
    manifest = directory / "manifest.json"
    with open_private(manifest, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(export.manifest(), indent=2) + "\n")
    return [*written, manifest]


def _for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            values = [v for v in out[column] if v is not None and v is not pd.NA]
            if values and not all(isinstance(v, type(values[0])) for v in values):
                out[column] = out[column].map(lambda v: None if v is None else str(v))
    return out
