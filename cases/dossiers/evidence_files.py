"""Evidence into the bundle: the originals re-hashed as they are copied, or safe derived copies.

Policy: where the case's location is exact for this audience, the original goes in unchanged.
Where it is generalized (every case at public level; sensitive and high-risk cases at partner
level; another organization's high-risk case for a coordinator), the original could give the
place away (a photo's GPS, a video's location atom), so a photo goes in re-encoded without
any metadata, its original left untouched in the locker, and any other file is withheld: the
manifest and the PDF still list it with its hash, so its existence and integrity are on record.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps, UnidentifiedImageError

import cases.evidence.exif  # noqa: F401 (sets Pillow's decompression-bomb limit)
from cases.dossiers.bundle import Bundle, compressible
from cases.dossiers.content import EvidenceItem
from cases.dossiers.manifest import evidence_path
from corps.storage import BlobNotFound, Storage

MAX_PHOTO_BYTES = 64 * 1024 * 1024  # as the metadata job: past this a photo is not decoded
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
DERIVED_NOTE = (
    "derived from the original with SHA-256 {sha}: re-encoded with its metadata (EXIF, GPS, "
    "XMP, ICC) removed; the original stays unchanged in the evidence locker"
)


class Treatment(StrEnum):
    """How an evidence file goes into a dossier."""

    original = "original"
    stripped = "stripped"
    withheld = "withheld"


class TamperedEvidence(Exception):
    """A stored evidence file no longer matches its record."""

    def __init__(self, item: EvidenceItem, found: str) -> None:
        super().__init__(
            f"Evidence {item.id} of case {item.case_reference} does not match its record: "
            f"{found}, not the {item.sha256} received. The dossier was stopped and no bundle "
            f"was stored; check the item (POST /api/v1/evidence/{item.id}/verify) and alert "
            "an administrator."
        )
        self.item = item
        self.found = found


@dataclass(frozen=True)
class Outcome:
    """What became of one evidence item: its treatment, bundle path and file hash."""

    treatment: Treatment
    path: str | None = None
    sha256: str | None = None
    reason: str | None = None


def treatment_for(item: EvidenceItem, *, generalized: bool) -> Treatment:
    """The policy in this module's docstring, for one item."""
    if not generalized:
        return Treatment.original
    if item.media_type in PILLOW_FORMATS and item.size <= MAX_PHOTO_BYTES:
        return Treatment.stripped
    return Treatment.withheld


def _extension(media_type: str) -> str:
    return mimetypes.guess_extension(media_type) or ".bin"


def _write(fh: IO[bytes], sha: Any, chunk: bytes) -> None:
    sha.update(chunk)
    fh.write(chunk)


async def add_original(
    bundle: Bundle, storage: Storage, item: EvidenceItem, on_bytes: Callable[[int], Awaitable[None]]
) -> Outcome:
    """Copy the original into the bundle, hashing as it goes; a mismatch stops the dossier."""
    name = item.original_filename or f"file{_extension(item.media_type)}"
    path = evidence_path(item.case_reference, str(item.id), name)
    try:
        member = await bundle.add_stream(
            path,
            storage.open(item.storage_key),
            compress=compressible(item.media_type),
            on_bytes=on_bytes,
            evidence_id=str(item.id),
            case_reference=item.case_reference,
            media_type=item.media_type,
        )
    except BlobNotFound:
        raise TamperedEvidence(item, "the stored file is missing") from None
    if member.sha256 != item.sha256 or member.size != item.size:
        raise TamperedEvidence(item, f"the stored bytes hash to {member.sha256}")
    return Outcome(Treatment.original, path, member.sha256)


def _strip(source: Path, target: Path, media_type: str) -> bool:
    """Re-encode a photo with no metadata at all; False when it cannot be read safely."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                upright = ImageOps.exif_transpose(image)  # the orientation tag goes too
                clean = upright.convert("RGBA" if upright.mode == "P" else upright.mode)
                clean.info = {}  # Pillow falls back on info for exif, icc_profile, xmp
                fmt = PILLOW_FORMATS[media_type]
                if fmt == "JPEG":
                    clean = clean.convert("RGB") if clean.mode not in ("RGB", "L") else clean
                    clean.save(target, fmt, quality=92)
                else:
                    clean.save(target, fmt)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
    ):
        return False
    return True


async def add_stripped(
    bundle: Bundle,
    storage: Storage,
    item: EvidenceItem,
    workdir: Path,
    on_bytes: Callable[[int], Awaitable[None]],
    *,
    keep_name: bool,
) -> Outcome:
    """Verify the original on local disk, then add a metadata-free re-encoding of it."""
    original = workdir / f"{item.id}.original"
    derived = workdir / f"{item.id}{_extension(item.media_type)}"
    sha, size = hashlib.sha256(), 0
    try:
        fh = await asyncio.to_thread(original.open, "wb")
        with fh:
            async for chunk in storage.open(item.storage_key):
                await asyncio.to_thread(_write, fh, sha, chunk)
                size += len(chunk)
                await on_bytes(len(chunk))
    except BlobNotFound:
        raise TamperedEvidence(item, "the stored file is missing") from None
    if sha.hexdigest() != item.sha256 or size != item.size:
        raise TamperedEvidence(item, f"the stored bytes hash to {sha.hexdigest()}")
    try:
        if not await asyncio.to_thread(_strip, original, derived, item.media_type):
            return Outcome(Treatment.withheld, reason="the photo could not be re-encoded safely")
        stem = Path(item.original_filename or "photo").stem if keep_name else "photo"
        path = evidence_path(
            item.case_reference, str(item.id), f"{stem}-no-metadata{_extension(item.media_type)}"
        )
        member = await bundle.add_file(
            path,
            derived,
            compress=False,
            evidence_id=str(item.id),
            case_reference=item.case_reference,
            media_type=item.media_type,
            derived_from=item.sha256,
            note=DERIVED_NOTE.format(sha=item.sha256),
        )
    finally:
        original.unlink(missing_ok=True)
        derived.unlink(missing_ok=True)
    return Outcome(Treatment.stripped, path, member.sha256)


def withheld_entry(item: EvidenceItem, reason: str) -> dict[str, Any]:
    """The manifest's record of an item left out of the bundle."""
    return {
        "evidence_id": str(item.id),
        "case_reference": item.case_reference,
        "sha256": item.sha256,
        "size": item.size,
        "media_type": item.media_type,
        "reason": reason,
    }
