"""Content-addressed blob storage for evidence and dossiers: on disk or in S3-compatible stores.

`base` holds the interface, keys and errors; `files` the disk backend; `s3` the object-store
backend; `blobs` the lock that decides when a shared file may be removed. This package names
them once, so callers import `corps.storage` and pick a backend by URL.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from corps.storage.base import (
    HEAD_BYTES,
    TMP_PREFIX,
    BlobNotFound,
    BlobTooLarge,
    Claim,
    HashTally,
    InvalidKey,
    Storage,
    StoredBlob,
    StoredEntry,
    check_dossier_key,
    check_key,
    key_for,
    parse_s3_url,
)
from corps.storage.files import FileStorage
from corps.storage.s3 import S3Storage

__all__ = [
    "HEAD_BYTES",
    "TMP_PREFIX",
    "BlobNotFound",
    "BlobTooLarge",
    "Claim",
    "FileStorage",
    "HashTally",
    "InvalidKey",
    "S3Storage",
    "Storage",
    "StoredBlob",
    "StoredEntry",
    "check_dossier_key",
    "check_key",
    "key_for",
    "parse_s3_url",
    "storage_from_url",
]


def storage_from_url(url: str) -> Storage:
    """Build the store named by EJ_STORAGE_URL: file://./rel/path, file:///abs/path or s3://..."""
    scheme, _, rest = url.partition("://")
    if scheme == "file" and rest:
        return FileStorage(Path(unquote(rest)))
    if scheme == "s3":
        return S3Storage.from_url(url)
    raise ValueError(f"unsupported storage URL {url!r}: use file://PATH or s3://BUCKET/PREFIX")
