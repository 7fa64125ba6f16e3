"""Object storage for scans, masks and maps: MinIO/S3 through the minio SDK, or a local directory."""

from brainmets.storage.base import ObjectNotFound, ObjectStore, StorageError, validate_key
from brainmets.storage.local import LocalStore
from brainmets.storage.s3 import S3Store

__all__ = ["LocalStore", "ObjectNotFound", "ObjectStore", "S3Store", "StorageError", "validate_key"]
