"""Content-addressed blob storage: the interface every backend keeps, its keys and errors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

HEAD_BYTES = 8192
_KEY_RE = re.compile(r"sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}|[a-z0-9][a-z0-9/_.-]{0,200}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Temp uploads live under this first segment; no caller may name a key inside it.
TMP_PREFIX = "tmp"
CONTENT_PREFIX = "sha256"  # the first segment of every content-addressed key


class BlobTooLarge(Exception):
    """The stream went past its size limit; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than the limit of {limit} bytes")
        self.limit = limit


class InvalidKey(ValueError):
    """A key that is not a plain blob name (it could escape the store, or is reserved)."""


class BlobNotFound(LookupError):
    """Nothing is stored under the key."""


# Called with a stream's key once it is hashed and before the file is claimed (see blobs.py).
Claim = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class StoredEntry:
    """A file the store holds: its key (or, for a temp upload, its name), size and age."""

    key: str
    size: int
    modified: float  # seconds since the epoch


@dataclass(frozen=True)
class StoredBlob:
    """What a put stream stored: its key, hash, size, whether it was already there, its head."""

    key: str
    sha256: str
    size: int
    existed: bool
    head: bytes


class Storage(Protocol):
    """The only way evidence and dossier code touches stored bytes."""

    async def put_stream(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int, claim: Claim | None = None
    ) -> StoredBlob: ...
    def open(self, key: str, *, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]: ...
    async def exists(self, key: str) -> bool: ...
    async def size(self, key: str) -> int: ...
    async def sha256_of(self, key: str) -> str: ...
    async def delete(self, key: str) -> None: ...
    async def put_file(self, key: str, path: Path) -> None: ...
    def local_path(self, key: str) -> Path | None: ...
    def temp_files(self) -> AsyncIterator[StoredEntry]: ...
    async def remove_temp_file(self, name: str) -> None: ...
    def content_files(self) -> AsyncIterator[StoredEntry]: ...
    async def free_bytes(self) -> int | None: ...


def key_for(sha256_hex: str) -> str:
    """Return the content-addressed key of a blob whose SHA-256 is sha256_hex (lowercase)."""
    if not SHA256_HEX.fullmatch(sha256_hex):
        raise InvalidKey(f"not a lowercase SHA-256 hex digest: {sha256_hex!r}")
    return f"{CONTENT_PREFIX}/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


def check_key(key: str) -> str:
    """Return key unchanged if it is a safe blob name, else raise InvalidKey."""
    parts = key.split("/")
    # fullmatch, because "$" would also accept a key ending in a newline.
    if (
        not _KEY_RE.fullmatch(key)
        or ".." in key
        or any(part in ("", ".") for part in parts)
        or parts[0] == TMP_PREFIX
    ):
        raise InvalidKey(f"refused storage key: {key!r}")
    return key


def check_dossier_key(key: str) -> str:
    # Content addresses are earned by hashing in put_stream; put_file must not fake one.
    if check_key(key).startswith(f"{CONTENT_PREFIX}/"):
        raise InvalidKey(f"put_file may not write a content-addressed key: {key!r}")
    return key


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split s3://bucket/prefix into the bucket and the prefix (no slashes at its ends)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"not an s3://BUCKET/PREFIX URL: {url!r}")
    return parts.netloc, parts.path.strip("/")


class HashTally:
    """Counts a stream against its limit, hashes it and keeps its first bytes for sniffing."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.head = bytearray()
        self.sha = hashlib.sha256()

    def admit(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise BlobTooLarge(self.max_bytes)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]

    def blob(self, existed: bool) -> StoredBlob:
        digest = self.sha.hexdigest()
        return StoredBlob(key_for(digest), digest, self.size, existed, bytes(self.head))
