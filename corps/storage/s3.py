"""The S3 backend of evidence storage, through obstore."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from corps.storage.base import (
    TMP_PREFIX,
    BlobNotFound,
    Claim,
    HashTally,
    StoredBlob,
    StoredEntry,
    check_dossier_key,
    check_key,
    parse_s3_url,
)

try:
    import obstore as obs
    from obstore.exceptions import AlreadyExistsError, NotFoundError, NotSupportedError
except ImportError:  # only s3:// storage needs obstore; S3Storage says so when built
    obs = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from obstore.store import ObjectStore


class S3Storage:
    """Blobs in an S3 bucket (or any obstore store) through obstore.

    Untested against a live S3: the tests run this class against obstore's in-memory store.
    Credentials and region come from the usual AWS_* environment variables. Set
    AWS_COPY_IF_NOT_EXISTS=multipart (AWS) or its header form (R2) so that claiming a content
    address is atomic; without it, two simultaneous uploads of the same bytes may both report
    existed=False (the bytes are identical, so nothing is lost).
    """

    def __init__(self, store: ObjectStore) -> None:
        if obs is None:
            raise RuntimeError("s3:// storage needs the obstore package: pip install obstore")
        self._store = store

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        """Build the store for s3://bucket/prefix."""
        bucket, prefix = parse_s3_url(url)
        if obs is None:
            raise RuntimeError("s3:// storage needs the obstore package: pip install obstore")
        from obstore.store import S3Store

        return cls(S3Store(bucket, prefix=prefix or None))

    def local_path(self, key: str) -> Path | None:
        """Objects in S3 have no local path."""
        check_key(key)
        return None

    async def put_stream(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int, claim: Claim | None = None
    ) -> StoredBlob:
        """Upload to tmp/<uuid> while hashing, then copy to the content address if it is new."""
        tally = HashTally(max_bytes)
        tmp = f"{TMP_PREFIX}/{uuid.uuid4().hex}"

        async def counted() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                tally.admit(chunk)
                # Hashing on the loop costs about a millisecond per MiB; the upload is slower.
                tally.sha.update(chunk)
                yield chunk

        try:
            # Few parts in flight, so one upload buffers about 10 MiB rather than 60.
            await obs.put_async(self._store, tmp, counted(), max_concurrency=2)
            blob = tally.blob(existed=False)
            if claim is not None:
                await claim(blob.key)
            existed = await self._claim(tmp, blob.key)
        finally:
            await self._discard(tmp)
        return replace(blob, existed=existed)

    async def _claim(self, tmp: str, key: str) -> bool:
        if await self.exists(key):
            return True
        try:
            await obs.copy_async(self._store, tmp, key, overwrite=False)
        except AlreadyExistsError:
            return True
        except NotSupportedError:
            # No atomic copy-if-not-exists configured; the key was absent a moment ago and any
            # racer wrote the same bytes, so overwriting is harmless.
            await obs.copy_async(self._store, tmp, key, overwrite=True)
        return False

    async def _discard(self, tmp: str) -> None:
        with contextlib.suppress(FileNotFoundError, NotFoundError):
            await obs.delete_async(self._store, tmp)

    async def open(self, key: str, *, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the blob under key in chunks of at least chunk_size bytes (but the last)."""
        try:
            result = await obs.get_async(self._store, check_key(key))
        except (FileNotFoundError, NotFoundError):
            raise BlobNotFound(key) from None
        async for chunk in result.stream(min_chunk_size=chunk_size):
            yield chunk

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under key."""
        try:
            await obs.head_async(self._store, check_key(key))
        except (FileNotFoundError, NotFoundError):
            return False
        return True

    async def size(self, key: str) -> int:
        """The stored object's size in bytes."""
        try:
            meta = await obs.head_async(self._store, check_key(key))
        except (FileNotFoundError, NotFoundError):
            raise BlobNotFound(key) from None
        return meta["size"]

    async def sha256_of(self, key: str) -> str:
        """Re-hash the stored bytes as they stream back."""
        sha = hashlib.sha256()
        async for chunk in self.open(key):
            sha.update(chunk)
        return sha.hexdigest()

    async def delete(self, key: str) -> None:
        """Remove an object; only through blobs.remove_if_unreferenced for content addresses."""
        await self._discard(check_key(key))

    async def put_file(self, key: str, path: Path) -> None:
        """Upload a finished local file under key (S3 makes it visible only when complete)."""
        await obs.put_async(self._store, check_dossier_key(key), path)

    async def free_bytes(self) -> int | None:
        """Object storage has no free-space figure to report."""
        return None

    async def temp_files(self) -> AsyncIterator[StoredEntry]:
        """Unfinished uploads (`tmp/<uuid>`), for the sweep."""
        async for entry in self._list(f"{TMP_PREFIX}/"):
            yield replace(entry, key=entry.key.removeprefix(f"{TMP_PREFIX}/"))

    async def remove_temp_file(self, name: str) -> None:
        """Remove one temp object by its name, as temp_files gave it."""
        if "/" in name or not name:
            raise ValueError(f"not a temp object name: {name!r}")
        await self._discard(f"{TMP_PREFIX}/{name}")

    async def content_files(self) -> AsyncIterator[StoredEntry]:
        """Every content-addressed object, by key, for the sweep."""
        async for entry in self._list("sha256/"):
            yield entry

    async def _list(self, prefix: str) -> AsyncIterator[StoredEntry]:
        async for batch in obs.list(self._store, prefix=prefix):
            for meta in batch:
                yield StoredEntry(
                    str(meta["path"]), int(meta["size"]), meta["last_modified"].timestamp()
                )
