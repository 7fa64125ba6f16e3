"""Response bodies of the results API (field names are fixed: the web app and other tools read them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from brainmets.catalog import TrainingData


class Metrics(BaseModel):
    dice: float | None = None
    iou: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None


class VolumeMetrics(Metrics):
    """3D figures of a volume: the slice keys plus the 95th percentile surface distance (None if a mask is empty)."""

    hd95_mm: float | None = None


class Progress(BaseModel):
    done: int
    total: int


class Lesion(BaseModel):
    id: int
    volume_ml: float
    max_diameter_mm: float  # longest axial diameter (RANO-BM: 10 mm or more is measurable)
    slices: tuple[int, int]  # first and last axial slice (the viewer's k)
    largest_slice: int
    centre_px: tuple[float, float]  # the lesion's centre on its largest slice, (column, row) of the slice image
    centroid_mm: tuple[float, float, float]  # scanner RAS+ millimetres


class ResultPublic(BaseModel):
    status: str
    error: str | None = None
    metrics: VolumeMetrics | Metrics | None = None
    lesion_area_px: int | None = None
    inference_ms: float | None = None
    model_version: str | None = None
    device: str | None = None
    attempts: int = 0
    updated_at: datetime | None = None
    links: dict[str, str] = {}
    # Volumes only.
    progress: Progress | None = None
    lesions: list[Lesion] | None = None
    detection: dict[str, int] | None = None


class ScanPublic(BaseModel):
    id: str
    status: str
    created_at: datetime
    filename: str
    width: int
    height: int
    has_ground_truth: bool
    models: list[str]
    results: dict[str, ResultPublic]
    links: dict[str, str]
    kind: str = "slice"
    # Volumes only: the uploaded grid's shape and voxel spacing, and the number of axial slices.
    shape: tuple[int, int, int] | None = None
    spacing_mm: tuple[float, float, float] | None = None
    slices: int | None = None


class ScanPage(BaseModel):
    items: list[ScanPublic]
    total: int
    limit: int
    offset: int


class ModelPublic(BaseModel):
    """A model card plus its display name; unknown card fields pass through."""

    model_config = ConfigDict(extra="allow")

    name: str
    display_name: str
    version: str
    parameters: int
    input_size: tuple[int, int]
    training_time_s: float | None = None
    test_metrics: dict[str, Any] = {}
    validation_metrics: dict[str, Any] = {}
    recipe: dict[str, Any] = {}
    # Cards registered before the field existed still validate, with the defaults the training script assumes.
    trained_on: TrainingData = Field(default_factory=TrainingData)
    hardware: dict[str, Any] = {}


class ModelList(BaseModel):
    models: list[ModelPublic]
