"""The disk backend of blob storage: read-only files under one root, written durably."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from corps.storage.base import (
    CONTENT_PREFIX,
    SHA256_HEX,
    TMP_PREFIX,
    BlobNotFound,
    Claim,
    HashTally,
    InvalidKey,
    StoredBlob,
    StoredEntry,
    check_dossier_key,
    check_key,
)

# Small chunks are gathered so each hop to a worker thread writes about this much.
_WRITE_BATCH = 1 << 20


def _write_batch(fh: BinaryIO, sha: hashlib._Hash, batch: list[bytes], *, sync: bool) -> None:
    for chunk in batch:
        sha.update(chunk)
        fh.write(chunk)
    if sync:
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_durably(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return  # a retried undo finds nothing left to do
    _fsync_dir(path.parent)


def _hash_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class FileStorage:
    """Blobs as read-only files under one root; every write goes temp file, fsync, link."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._tmp = self.root / TMP_PREFIX
        self._tmp.mkdir(parents=True, exist_ok=True)

    def local_path(self, key: str) -> Path:
        """Return the file that holds (or would hold) the blob under key."""
        path = (self.root / check_key(key)).resolve()
        # A symlink planted inside the root must not lead reads or deletes outside it.
        if not path.is_relative_to(self.root):
            raise InvalidKey(f"storage key leaves the storage root: {key!r}")
        return path

    async def put_stream(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int, claim: Claim | None = None
    ) -> StoredBlob:
        """Store a stream under its SHA-256, never holding it whole; dedupes identical bytes.

        `claim(key)` runs after hashing and before the file takes its content address.
        """
        tally = HashTally(max_bytes)
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        fh = await asyncio.to_thread(tmp.open, "xb")
        try:
            with fh:
                batch: list[bytes] = []
                pending = 0
                async for chunk in chunks:
                    tally.admit(chunk)
                    batch.append(chunk)
                    pending += len(chunk)
                    if pending >= _WRITE_BATCH:
                        await asyncio.to_thread(_write_batch, fh, tally.sha, batch, sync=False)
                        batch, pending = [], 0
                await asyncio.to_thread(_write_batch, fh, tally.sha, batch, sync=True)
            blob = tally.blob(existed=False)
            if claim is not None:
                await claim(blob.key)
            existed = await asyncio.to_thread(self._settle, tmp, self.local_path(blob.key))
        except BaseException:
            # Synchronous on purpose: this must also run while the task is being cancelled.
            tmp.unlink(missing_ok=True)
            raise
        return replace(blob, existed=existed)

    def _settle(self, tmp: Path, final: Path) -> bool:
        """Move a finished temp file to its content address; True if one was already there."""
        os.chmod(tmp, 0o444)
        self._make_parents(final)
        try:
            # Unlike rename, link refuses to replace: checking and claiming are one atomic step,
            # so of two simultaneous uploads of the same bytes exactly one sees existed=False.
            os.link(tmp, final)
            existed = False
        except FileExistsError:
            existed = True
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # No hard links on this filesystem: racy, but racers hold identical bytes.
            existed = final.exists()
            if not existed:
                os.replace(tmp, final)
        tmp.unlink(missing_ok=True)
        if not existed:
            _fsync_dir(final.parent)
        return existed

    def _make_parents(self, path: Path) -> None:
        # Each new directory is fsynced into its parent, or a crash could lose the whole subtree.
        missing = [p for p in path.parents if p.is_relative_to(self.root) and not p.exists()]
        for directory in reversed(missing):
            directory.mkdir(exist_ok=True)
            _fsync_dir(directory.parent)

    async def open(self, key: str, *, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the blob under key in chunks of chunk_size bytes."""
        path = self.local_path(key)
        try:
            fh = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(key) from None
        with fh:
            while chunk := await asyncio.to_thread(fh.read, chunk_size):
                yield chunk

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under key."""
        return await asyncio.to_thread(self.local_path(key).is_file)

    async def size(self, key: str) -> int:
        """The stored blob's size in bytes."""
        path = self.local_path(key)
        if not await asyncio.to_thread(path.is_file):
            raise BlobNotFound(key)
        return (await asyncio.to_thread(path.stat)).st_size

    async def sha256_of(self, key: str) -> str:
        """Re-hash the stored bytes (streaming, in a worker thread)."""
        try:
            return await asyncio.to_thread(_hash_file, self.local_path(key))
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(key) from None

    async def delete(self, key: str) -> None:
        """Remove a blob; only through blobs.remove_if_unreferenced for content addresses."""
        await asyncio.to_thread(_unlink_durably, self.local_path(key))

    async def put_file(self, key: str, path: Path) -> None:
        """Store a finished local file under key atomically (dossiers), replacing any older one."""
        final = self.local_path(check_dossier_key(key))
        await asyncio.to_thread(self._copy_in, path, final)

    def _copy_in(self, source: Path, final: Path) -> None:
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        try:
            with source.open("rb") as src, tmp.open("xb") as dst:
                shutil.copyfileobj(src, dst, _WRITE_BATCH)
                dst.flush()
                os.fsync(dst.fileno())
            os.chmod(tmp, 0o444)
            self._make_parents(final)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)

    async def free_bytes(self) -> int | None:
        """Bytes free for this store's files (for /health)."""
        info = await asyncio.to_thread(os.statvfs, self.root)
        return info.f_bavail * info.f_frsize

    async def temp_files(self) -> AsyncIterator[StoredEntry]:
        """Unfinished uploads and copies (`tmp/*.part`), for the sweep."""
        for entry in await asyncio.to_thread(_scan, self._tmp, "*.part"):
            yield entry

    async def remove_temp_file(self, name: str) -> None:
        """Remove one temp file by its name, as temp_files gave it."""
        if "/" in name or not name.endswith(".part"):
            raise InvalidKey(f"not a temp file name: {name!r}")
        await asyncio.to_thread(_unlink_durably, self._tmp / name)

    async def content_files(self) -> AsyncIterator[StoredEntry]:
        """Every content-addressed file, by key, for the sweep."""
        root = self.root / CONTENT_PREFIX
        for entry in await asyncio.to_thread(_scan, root, "??/??/*"):
            if SHA256_HEX.fullmatch(entry.key.rsplit("/", 1)[-1]):
                yield replace(entry, key=f"{CONTENT_PREFIX}/{entry.key}")


def _scan(directory: Path, pattern: str) -> list[StoredEntry]:
    """Files under directory matching pattern, keyed by their path relative to it."""
    found = []
    for path in directory.glob(pattern):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # removed while we looked
        if path.is_file() and not path.is_symlink():
            found.append(
                StoredEntry(path.relative_to(directory).as_posix(), info.st_size, info.st_mtime)
            )
    return found
