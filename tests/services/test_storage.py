"""Both object stores honour one contract: the local directory and S3 (moto's server) through the minio SDK."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from brainmets.storage import LocalStore, ObjectNotFound, S3Store, StorageError
from brainmets.storage.s3 import PART_BYTES
from tests.services.endpoints import S3_ACCESS_KEY, S3_SECRET_KEY, s3_server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    try:
        with s3_server() as endpoint:
            yield endpoint
    except RuntimeError as exc:
        pytest.skip(f"no S3 server: {exc}")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Store(endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, f"bm-{uuid.uuid4().hex[:12]}", region="us-east-1")


def test_put_get_exists_delete(store) -> None:
    store.ping()
    store.put("scans/abc/mask.png", b"\x89PNG data", "image/png")
    assert store.exists("scans/abc/mask.png")
    assert store.get("scans/abc/mask.png") == b"\x89PNG data"
    store.put("scans/abc/mask.png", b"second", "image/png")
    assert store.get("scans/abc/mask.png") == b"second"
    store.delete("scans/abc/mask.png")
    assert not store.exists("scans/abc/mask.png")
    store.delete("scans/abc/mask.png")  # deleting twice is fine


def test_missing_object_is_object_not_found(store) -> None:
    store.ping()
    with pytest.raises(ObjectNotFound):
        store.get("scans/none/original")


@pytest.mark.parametrize("key", ["../escape", "/absolute", "a//b", "a/../b", "with space", ""])
def test_unsafe_keys_are_refused(store, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_unreachable_s3_is_a_storage_error() -> None:
    dead = S3Store("127.0.0.1:9", "a", "b", "bucket", region="us-east-1")
    with pytest.raises(StorageError):
        dead.ping()
    with pytest.raises(StorageError):
        dead.put("k", b"x")


def test_s3_objects_are_private(s3_endpoint) -> None:
    """No bucket policy is set: an anonymous request for an object is refused (issue 7)."""
    bucket = f"bm-{uuid.uuid4().hex[:12]}"
    store = S3Store(s3_endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, bucket, region="us-east-1")
    store.put("scans/abc/original", b"patient pixels", "image/png")
    anonymous = httpx.get(f"http://{s3_endpoint}/{bucket}/scans/abc/original", timeout=10)
    assert anonymous.status_code == 403
    assert b"patient pixels" not in anonymous.content


def test_a_file_is_streamed_in_parts_and_reads_back_whole(store, tmp_path) -> None:
    # Over two of S3Store's parts, so the S3 store takes its multipart path.
    payload = os.urandom(2 * PART_BYTES + 12345)
    path = tmp_path / "study.bin"
    path.write_bytes(payload)
    with path.open("rb") as handle:
        handle.read(100)  # the store reads from the start, wherever the file was left
        store.put("scans/abc/series.zip", handle, "application/zip")
    assert store.get("scans/abc/series.zip") == payload
