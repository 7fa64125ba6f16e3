"""MinIO or any S3-compatible server through the minio SDK; objects are private (no bucket policy)."""

from __future__ import annotations

import logging

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from brainmets.source import open_source, source_size
from brainmets.storage.base import ObjectNotFound, Payload, StorageError, validate_key

LOGGER = logging.getLogger(__name__)
_MISSING = ("NoSuchKey", "NoSuchObject", "NoSuchBucket")
PART_BYTES = 16 * 1024 * 1024  # S3's minimum part is 5 MiB; 16 MiB keeps a 512 MiB study to 32 parts


class S3Store:
    def __init__(
        self,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
    ) -> None:
        # Short timeouts and few retries: a dead store should fail a request quickly (503), not hang it.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=30.0),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
            maxsize=16,
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self.bucket = bucket
        self._bucket_ready = False

    def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StorageError(f"object store refused bucket {self.bucket}: {exc.code}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"object store unreachable: {exc.__class__.__name__}") from exc
        self._bucket_ready = True

    def put(self, key: str, data: Payload, content_type: str = "application/octet-stream") -> None:
        self.ensure_bucket()
        size = source_size(data)
        stream = open_source(data)
        try:
            # Past one part (PART_BYTES) the SDK uploads in parts, reading one part of the stream at a time.
            self.client.put_object(
                self.bucket, validate_key(key), stream, size, content_type=content_type, part_size=PART_BYTES
            )
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"could not store {key}: {exc.__class__.__name__}") from exc

    def get(self, key: str) -> bytes:
        self.ensure_bucket()
        response = None
        try:
            response = self.client.get_object(self.bucket, validate_key(key))
            return response.read()
        except S3Error as exc:
            if exc.code in _MISSING:
                raise ObjectNotFound(key) from exc
            raise StorageError(f"could not read {key}: {exc.code}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"could not read {key}: {exc.__class__.__name__}") from exc
        finally:
            if response is not None:
                response.close()
                response.release_conn()

    def delete(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, validate_key(key))
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"could not delete {key}: {exc.__class__.__name__}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, validate_key(key))
            return True
        except S3Error as exc:
            if exc.code in _MISSING:
                return False
            raise StorageError(f"could not stat {key}: {exc.code}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"could not stat {key}: {exc.__class__.__name__}") from exc

    def ping(self) -> None:
        self._bucket_ready = False
        self.ensure_bucket()
