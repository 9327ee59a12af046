"""Read the header fields of MRI studies from DICOM files (pydicom), and nothing else.

Only the tags in :data:`HEADER_TAGS` are parsed (pydicom's ``specific_tags``, with
``stop_before_pixels``): identifiers of the study and series, the acquisition date, the
scanner's field strength and the institution. Pixel data are never read, and the file's
patient name, patient ID and every other demographic tag are never even parsed, so they cannot
reach the store or its audit trail.

Tags (DICOM PS3.6): Study Instance UID (0020,000D), Study Date (0008,0020), Acquisition Date
(0008,0022), Series Date (0008,0021), Modality (0008,0060), Magnetic Field Strength (0018,0087,
tesla), Series Description (0008,103E), Protocol Name (0018,1030), Series Number (0020,0011),
Institution Name (0008,0080).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from cordtrial.trial.errors import InvalidValueError

__all__ = ["HEADER_TAGS", "DicomStudy", "read_dicom_studies"]

HEADER_TAGS: Final = (
    "StudyInstanceUID",
    "StudyDate",
    "AcquisitionDate",
    "SeriesDate",
    "Modality",
    "MagneticFieldStrength",
    "SeriesDescription",
    "ProtocolName",
    "SeriesNumber",
    "InstitutionName",
)
#: The most files looked at under one folder (a study has hundreds to a few thousand images).
MAX_FILES: Final = 20_000


@dataclass(frozen=True, slots=True)
class DicomStudy:
    """One MRI study as its headers describe it."""

    study_instance_uid: str
    acquired_on: date
    field_strength_t: float | None
    sequences: tuple[str, ...]
    institution: str
    files: int


def _date(value: Any) -> date | None:
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def read_dicom_studies(path: Path) -> list[DicomStudy]:
    """The MR studies in a DICOM file, or in the files under a folder (searched recursively;
    files that are not DICOM are passed over), one per Study Instance UID, by date.

    Raises
    ------
    InvalidValueError
        The path does not exist, holds no DICOM MR image, or a study has no date.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    if not path.exists():
        raise InvalidValueError("path", str(path), "a DICOM file or a folder of them", "not found")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    if len(files) > MAX_FILES:
        raise InvalidValueError(
            "path", str(path), f"a folder of at most {MAX_FILES} files (one study)", "too many"
        )
    studies: dict[str, dict[str, Any]] = {}
    for file in files:
        try:
            ds = pydicom.dcmread(file, stop_before_pixels=True, specific_tags=list(HEADER_TAGS))
        except (InvalidDicomError, OSError, ValueError, EOFError):
            continue
        if str(ds.get("Modality", "")).upper() != "MR":
            continue
        uid = str(ds.get("StudyInstanceUID", "")).strip()
        if not uid:
            raise InvalidValueError(
                "study_instance_uid", None, "a Study Instance UID in every file", f"in {file.name}"
            )
        study = studies.setdefault(
            uid, {"dates": set(), "tesla": set(), "series": {}, "institution": "", "files": 0}
        )
        study["files"] += 1
        on = (
            _date(ds.get("StudyDate"))
            or _date(ds.get("AcquisitionDate"))
            or _date(ds.get("SeriesDate"))
        )
        if on is not None:
            study["dates"].add(on)
        if ds.get("MagneticFieldStrength") is not None:
            study["tesla"].add(round(float(ds.MagneticFieldStrength), 2))
        name = str(ds.get("SeriesDescription") or ds.get("ProtocolName") or "").strip()
        if name:
            number = ds.get("SeriesNumber")
            key = int(number) if number is not None else 10**9
            study["series"].setdefault(name, key)
        study["institution"] = study["institution"] or str(ds.get("InstitutionName") or "").strip()
    if not studies:
        raise InvalidValueError("path", str(path), "DICOM MR images (Modality MR)", "holds none")
    out = []
    for uid, study in studies.items():
        if not study["dates"]:
            raise InvalidValueError(
                "acquired_on", None, "a Study Date (0008,0020) in the DICOM headers", "is missing"
            )
        series = sorted(study["series"].items(), key=lambda kv: (kv[1], kv[0]))
        out.append(
            DicomStudy(
                study_instance_uid=uid,
                acquired_on=min(study["dates"]),
                field_strength_t=max(study["tesla"]) if study["tesla"] else None,
                sequences=tuple(name for name, _ in series),
                institution=study["institution"],
                files=study["files"],
            )
        )
    return sorted(out, key=lambda s: (s.acquired_on, s.study_instance_uid))
