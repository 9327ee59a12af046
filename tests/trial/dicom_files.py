"""Small synthetic DICOM MR files, written with pydicom itself, for the import tests. Each
carries a patient name and ID that must never reach the store."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

PATIENT_NAME = "Doe^Janet Quintessa"
PATIENT_ID = "HOSP-99887766"
STUDY_UID = "1.2.826.0.1.3680043.8.498.10001"


def write_mr(
    path: Path,
    *,
    study_uid: str = STUDY_UID,
    series: str = "SAG T2 TSE",
    number: int = 1,
    study_date: str = "20260301",
    tesla: float | None = 3.0,
    institution: str = "Synthetic Imaging Centre",
    modality: str = "MR",
) -> Path:
    """Write one MR image file (a 2 x 2 pixel image) with the given header fields."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19800101"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.StudyDate = study_date
    if tesla is not None:
        ds.MagneticFieldStrength = tesla
    ds.SeriesDescription = series
    ds.SeriesNumber = number
    ds.InstitutionName = institution
    ds.Rows, ds.Columns = 2, 2
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = b"\x00\x01" * 4
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_study(folder: Path, **fields: object) -> Path:
    """A folder with a study of three series (and a file that is not DICOM)."""
    for number, series in enumerate(("SAG T2 TSE", "AX T2", "SAG T1 POST GAD"), start=1):
        write_mr(folder / f"s{number}" / "img1.dcm", series=series, number=number, **fields)  # type: ignore[arg-type]
    (folder / "README.txt").write_text("not DICOM")
    return folder
