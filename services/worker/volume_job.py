"""A volume job: every axial slice through the one prediction path, in batches, with progress in the result.

The volume is turned to its closest canonical orientation for the networks and the mask turned back onto the
uploaded grid, so the stored NIfTI has the upload's shape and affine. Lesions are listed in canonical slice
numbers (the viewer's ``k``) and scanner millimetres.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from brainmets.db.scans import complete_result
from brainmets.db.volumes import set_progress
from brainmets.messaging import JobMessage
from brainmets.volumes.lesions import detection, lesion_list, volume_metrics
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.nifti import mask_from_volume, nifti_bytes, read_nifti
from brainmets.volumes.orientation import axial_slice, canonical_affine, from_canonical, stack_axial, to_canonical
from brainmets.volumes.seg import segmentation_bytes, series_datasets

if TYPE_CHECKING:
    from services.worker.processor import JobProcessor

LOGGER = logging.getLogger(__name__)


def process_volume(processor: JobProcessor, job: JobMessage, result_id: int, prefix: str) -> float:
    """Segment, store and commit the volume's result; returns the inference time in milliseconds."""
    runtime, segmenter = processor.runtime, processor.segmenter
    limits = VolumeLimits.from_settings(runtime.settings)
    store = runtime.store
    volume = read_nifti(store.get(job.image_key), limits)
    canonical = to_canonical(volume.data, volume.affine)
    total = canonical.shape[2]
    _progress(processor, result_id, 0, total)
    start = time.perf_counter()
    # Slices in order, so that a 2.5D model sees each slice's neighbours; views, so no copy of the volume.
    images = [axial_slice(canonical, k) for k in range(total)]
    results = segmenter.predict_volume(
        images,
        with_attention=segmenter.has_attention,
        on_batch=lambda done: _progress(processor, result_id, done, total),
    )
    ms = (time.perf_counter() - start) * 1000.0
    attention = [r.attention for r in results if r.attention is not None]
    mask_canonical = stack_axial(list(segmenter.volume_mask(results)))
    mask = from_canonical(mask_canonical, volume.affine)
    mask_key = f"{prefix}/mask.nii.gz"
    store.put(mask_key, nifti_bytes(mask, volume.affine), "application/gzip")
    attention_key = None
    if attention:
        # The finest attention gate's coefficients, 0..1 stored as 0..255, on the uploaded grid like the mask.
        attention_key = f"{prefix}/attention.nii.gz"
        coefficients = np.rint(np.clip(from_canonical(stack_axial(attention), volume.affine), 0, 1) * 255)
        store.put(attention_key, nifti_bytes(coefficients.astype(np.uint8), volume.affine), "application/gzip")
    seg_key = None
    if job.series_key is not None:
        seg_key = f"{prefix}/mask.dcm"
        sources = series_datasets(store.get(job.series_key))
        store.put(seg_key, segmentation_bytes(sources, mask, job.model, segmenter.version), "application/dicom")
    lesions = lesion_list(mask_canonical, canonical_affine(volume.affine, canonical.shape))
    metrics, found = None, None
    if job.ground_truth_key is not None:
        truth = mask_from_volume(read_nifti(store.get(job.ground_truth_key), limits, "ground-truth mask"))
        metrics = volume_metrics(mask, truth, volume.spacing_mm)
        found = detection(mask, truth)
    with runtime.sessions.begin() as session:
        complete_result(
            session,
            result_id,
            device=processor.device,
            inference_ms=round(ms, 2),
            lesion_area_px=int(np.count_nonzero(mask)),
            metrics=metrics,
            mask_key=mask_key,
            seg_key=seg_key,
            attention_key=attention_key,
            progress={"done": total, "total": total},
            lesions=lesions,
            detection=found,
        )
    LOGGER.info(
        "volume job %s: %d slices in %.0f ms (%.1f slices/s) on %s",
        job.message_id,
        total,
        ms,
        total / max(ms / 1000.0, 1e-9),
        processor.device,
    )
    return ms


def _progress(processor: JobProcessor, result_id: int, done: int, total: int) -> None:
    with processor.runtime.sessions.begin() as session:
        set_progress(session, result_id, done, total)
