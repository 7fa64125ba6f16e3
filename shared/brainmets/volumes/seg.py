"""A model's mask as a DICOM Segmentation (binary SEG) that references the de-identified source series, through
highdicom, so that PACS viewers (OHIF, 3D Slicer) show it over the series it was made from."""

from __future__ import annotations

import io
import zipfile

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes


def series_datasets(series_zip: bytes) -> list[Dataset]:
    """The stored series (``series/00000.dcm`` ...: already de-identified, in slice order)."""
    with zipfile.ZipFile(io.BytesIO(series_zip)) as archive:
        return [pydicom.dcmread(io.BytesIO(archive.read(name))) for name in sorted(archive.namelist())]


def segmentation_bytes(sources: list[Dataset], mask: np.ndarray, model: str, version: str) -> bytes:
    """A binary SEG of ``mask`` (``(column, row, slice)`` on the series' grid, slices in ``sources`` order)."""
    if mask.shape != (int(sources[0].Columns), int(sources[0].Rows), len(sources)):
        raise ValueError(f"mask shape {mask.shape} does not match the series")
    frames = np.stack([mask[:, :, k].T for k in range(mask.shape[2])]).astype(np.uint8)
    algorithm = hd.AlgorithmIdentificationSequence(
        name=model, version=version, family=codes.cid7162.ArtificialIntelligence
    )
    lesion = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="lesion",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm,
    )
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=frames,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[lesion],
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="BrainMets",
        manufacturer_model_name=model,
        software_versions=version,
        device_serial_number="none",
        series_description=f"BrainMets {model} lesions",
    )
    out = io.BytesIO()
    seg.save_as(out)
    return out.getvalue()
