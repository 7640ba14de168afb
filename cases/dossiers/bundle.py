"""The bundle ZIP on local disk: members streamed in, hashed as written, writes in threads."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

CHUNK = 1 << 20
# Text compresses well; media, PDFs and office files are already compressed, so storing them
# costs nothing in size and saves the CPU time of deflating gigabytes.
TEXT_MEDIA = (
    "text/",
    "application/json",
    "application/geo+json",
    "application/gpx+xml",
    "application/vnd.google-earth.kml+xml",
)

OnBytes = Callable[[int], Awaitable[None]]


def compressible(media_type: str) -> bool:
    """Whether a member of this media type is worth deflating."""
    return media_type.startswith(TEXT_MEDIA)


@dataclass(frozen=True)
class Member:
    """A file written into the bundle: its path, SHA-256 and size."""

    path: str
    sha256: str
    size: int


def _write(member: IO[bytes], sha: Any, chunk: bytes) -> None:
    sha.update(chunk)
    member.write(chunk)


def _copy_file(member: IO[bytes], sha: Any, source: Path) -> int:
    size = 0
    with source.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            member.write(chunk)
            size += len(chunk)
    return size


class Bundle:
    """A ZIP being written; each member is hashed as it goes in and listed for the manifest."""

    def __init__(self, path: Path, generated_at: datetime) -> None:
        self.path = path
        self.files: list[dict[str, Any]] = []
        self._stamp = generated_at.timetuple()[:6]
        self._zip = zipfile.ZipFile(path, "w", allowZip64=True)

    def _info(self, name: str, compress: bool) -> zipfile.ZipInfo:
        if any(entry["path"] == name for entry in self.files):
            raise ValueError(f"the bundle already holds {name}")
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def _record(self, member: Member, extra: dict[str, Any]) -> Member:
        self.files.append({"path": member.path, "sha256": member.sha256, "size": member.size})
        self.files[-1].update(extra)
        return member

    async def add_stream(
        self,
        name: str,
        chunks: AsyncIterator[bytes],
        *,
        compress: bool,
        on_bytes: OnBytes | None = None,
        **extra: Any,
    ) -> Member:
        """Copy an async stream into a member, one chunk at a time, never holding it whole."""
        info = self._info(name, compress)
        sha, size = hashlib.sha256(), 0
        member = await asyncio.to_thread(self._zip.open, info, "w", force_zip64=True)
        try:
            async for chunk in chunks:
                await asyncio.to_thread(_write, member, sha, chunk)
                size += len(chunk)
                if on_bytes is not None:
                    await on_bytes(len(chunk))
        finally:
            await asyncio.to_thread(member.close)
        return self._record(Member(name, sha.hexdigest(), size), extra)

    async def add_file(self, name: str, source: Path, *, compress: bool, **extra: Any) -> Member:
        """Copy a local file into a member in one worker-thread call."""
        info = self._info(name, compress)
        sha = hashlib.sha256()
        member = await asyncio.to_thread(self._zip.open, info, "w", force_zip64=True)
        try:
            size = await asyncio.to_thread(_copy_file, member, sha, source)
        finally:
            await asyncio.to_thread(member.close)
        return self._record(Member(name, sha.hexdigest(), size), extra)

    async def add_bytes(self, name: str, data: bytes, *, compress: bool, **extra: Any) -> Member:
        """A small generated member (manifest, custody chain)."""

        async def once() -> AsyncIterator[bytes]:
            yield data

        return await self.add_stream(name, once(), compress=compress, **extra)

    async def add_unlisted(self, name: str, data: bytes) -> Member:
        """A member the manifest cannot list: the manifest itself and its checksum file."""
        info = self._info(name, compress=True)
        await asyncio.to_thread(self._zip.writestr, info, data)
        return Member(name, hashlib.sha256(data).hexdigest(), len(data))

    async def close(self) -> None:
        """Write the central directory."""
        await asyncio.to_thread(self._zip.close)

    def abandon(self) -> None:
        """Close without caring about the result; the caller deletes the file."""
        with contextlib.suppress(Exception):  # the half-written file is removed next
            self._zip.close()
