"""Response bodies of the results API (field names are fixed: the web app and other tools read them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from brainmets.catalog import Evaluation, OverlapScores, TrainingData


class Metrics(OverlapScores):
    """A result's overlap with the uploaded ground truth: the same scores as a card's evaluation."""


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
    """A model card plus its display name: the fields the web app reads are declared; the card's others pass
    through."""

    model_config = ConfigDict(extra="allow")

    name: str
    display_name: str
    version: str
    parameters: int
    input_size: tuple[int, int]
    training_time_s: float | None = None
    epochs: int | None = None
    best_epoch: int | None = None
    threshold: float | None = Field(default=None, description="decision threshold on the lesion probability")
    min_component_pixels: int | None = Field(default=None, description="smaller predicted lesions are dropped")
    min_component_peak: float | None = Field(
        default=None, description="predicted lesions whose highest probability is under this are dropped"
    )
    volume_peak: bool | None = Field(
        default=None, description="volumes look for the least peak over each whole 3D lesion, not each slice"
    )
    flip_averaging: bool | None = Field(default=None, description="predictions average over the mirrored slice")
    test_metrics: Evaluation = Field(default_factory=Evaluation)
    validation_metrics: Evaluation = Field(default_factory=Evaluation)
    recipe: dict[str, Any] = {}
    # Cards registered before the field existed still validate, with the defaults the training script assumes.
    trained_on: TrainingData = Field(default_factory=TrainingData)
    hardware: dict[str, Any] = {}


class ModelList(BaseModel):
    models: list[ModelPublic]


class ModelEntry(BaseModel):
    name: str
    display_name: str
    attention_map: bool = Field(description="its results come with an attention map")


class UploadRules(BaseModel):
    max_bytes: int = Field(description="the largest file the gateway accepts (MAX_UPLOAD_BYTES)")
    media_types: dict[str, list[str]] = Field(description="file types the server decodes, with their extensions")
    default_models: list[str] = Field(description="the models an upload is queued for when it names none")
    volume_max_bytes: int = Field(description="the largest volume the gateway accepts (MAX_VOLUME_UPLOAD_BYTES)")
    volume_media_types: dict[str, list[str]] = Field(
        description="volume file types (NIfTI, zipped DICOM series or slices), with their extensions"
    )


class AppConfig(BaseModel):
    """What the web app must know about this server instead of copying it: the models in display order, the
    upload rules, and URL templates (``{id}`` a scan's id, ``{model}`` a model's name)."""

    models: list[ModelEntry]
    upload: UploadRules
    urls: dict[str, str]
