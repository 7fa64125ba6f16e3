"""Whole studies: reading NIfTI volumes and DICOM series, de-identification, orientation and lesion lists."""

from brainmets.volumes.volume import Volume, VolumeRejected

__all__ = ["Volume", "VolumeRejected"]
