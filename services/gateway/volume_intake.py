"""Creating a volume scan: through ``intake.commit_scan``, with its guarantee (objects first, then the scan row
and its jobs in one transaction; orphans removed on failure), with what a volume stores.

Objects: ``volume.nii.gz`` (the image on its uploaded grid, from a fresh header), ``display.png`` (the middle
axial slice), ``ground-truth.nii.gz`` (uint8 0/1) and, for DICOM, ``series.zip`` (the de-identified series). The
upload as sent is not kept: for DICOM it holds the patient's identity.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import ExitStack
from tempfile import SpooledTemporaryFile

from brainmets.db import Scan
from brainmets.logcontext import log_context
from brainmets.storage.base import Payload
from brainmets.volumes.nifti import nifti_bytes, write_nifti
from brainmets.volumes.orientation import to_canonical
from services.core.runtime import Runtime
from services.core.volume_pngs import display_volume, display_window, slice_png
from services.gateway.intake import commit_scan, job_payloads, new_scan
from services.gateway.volume_validation import VolumeUpload

LOGGER = logging.getLogger(__name__)
DICOM_FILENAME = "dicom-series.zip"  # an export's file name may carry the patient's name
SPOOL_BYTES = 8 * 1024 * 1024


def create_volume_scan(runtime: Runtime, upload: VolumeUpload, *, filename: str, owner_id: int | None) -> str:
    scan_id = uuid.uuid4().hex
    prefix = f"scans/{scan_id}"
    volume = upload.volume
    canonical = to_canonical(volume.data, volume.affine, copy=False)
    middle = canonical.shape[2] // 2
    thumbnail = display_volume(canonical[:, :, middle : middle + 1], display_window(canonical))
    keys = {"image": f"{prefix}/volume.nii.gz", "display": f"{prefix}/display.png"}
    with ExitStack() as files:
        # The study's objects are encoded into spooled files (on disk past SPOOL_BYTES) and streamed to the store.
        image = files.enter_context(SpooledTemporaryFile(SPOOL_BYTES))
        write_nifti(volume.data, volume.affine, image)
        objects: dict[str, tuple[Payload, str]] = {
            keys["image"]: (image, "application/gzip"),
            keys["display"]: (slice_png(thumbnail, 0), "image/png"),
        }
        if upload.ground_truth is not None:
            keys["ground_truth"] = f"{prefix}/ground-truth.nii.gz"
            objects[keys["ground_truth"]] = (nifti_bytes(upload.ground_truth, volume.affine), "application/gzip")
        if upload.series is not None:
            keys["series"] = f"{prefix}/series.zip"
            series = files.enter_context(SpooledTemporaryFile(SPOOL_BYTES))
            upload.series.write_zip(series)
            objects[keys["series"]] = (series, "application/zip")
        rows = _rows(scan_id, keys, upload, canonical.shape, filename, owner_id)
        commit_scan(runtime, objects, *rows, kind="volume")
    with log_context(scan_id=scan_id):
        LOGGER.info(
            "volume scan %s (%s, %s) accepted for %s", scan_id, upload.source, volume.shape, ",".join(upload.models)
        )
    return scan_id


def _rows(
    scan_id: str,
    keys: dict[str, str],
    upload: VolumeUpload,
    canonical_shape: tuple[int, ...],
    filename: str,
    owner_id: int | None,
) -> tuple[Scan, list[tuple[str, dict]]]:
    width, height, slices = (int(n) for n in canonical_shape)
    scan = new_scan(
        scan_id,
        keys,
        DICOM_FILENAME if upload.series is not None else filename,
        upload.content_type,
        (width, height),
        upload.models,
        owner_id,
        kind="volume",
        volume={
            "shape": list(upload.volume.shape),
            "spacing_mm": [round(s, 4) for s in upload.volume.spacing_mm],
            "slices": slices,
            "source": upload.source,
            "series_key": keys.get("series"),
        },
    )
    jobs = job_payloads(
        scan_id, list(upload.models), keys, width, height, scan.created_at, kind="volume", series_key=keys.get("series")
    )
    return scan, jobs
