"""Evidence as the PDF shows it: thumbnails without metadata, and custody in one sentence."""

from __future__ import annotations

import base64
import io
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

import cases.evidence.exif  # noqa: F401 (sets Pillow's decompression-bomb limit)
from cases.dossiers.content import DossierContent, EvidenceItem
from cases.dossiers.evidence_files import MAX_PHOTO_BYTES, PILLOW_FORMATS, Outcome, Treatment
from corps.storage import BlobNotFound, Storage

THUMB_PX = 360
ROLE_WORDS = {
    "paralegal": "a paralegal of the organization",
    "org_admin": "an administrator of the organization",
    "coordinator": "a corps coordinator",
    "admin": "a corps administrator",
    "campaigner": "a campaigner",
}


def _reencode(data: bytes) -> bytes | None:
    """A small JPEG made from the pixels alone: no EXIF, GPS, XMP or ICC goes through."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((THUMB_PX, THUMB_PX))
            clean = Image.new("RGB", upright.size)
            clean.paste(upright.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=78, optimize=True)
    return out.getvalue()


async def _read(storage: Storage, key: str, limit: int) -> bytes | None:
    chunks, size = [], 0
    try:
        async for chunk in storage.open(key):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    except BlobNotFound:
        return None
    return b"".join(chunks)


async def thumbnails(
    storage: Storage, content: DossierContent, outcomes: dict[uuid.UUID, Outcome]
) -> dict[uuid.UUID, str]:
    """A data: URI per photo the level lets the dossier show, re-encoded without metadata."""
    import asyncio

    out: dict[uuid.UUID, str] = {}
    for case in content.cases:
        for item in case.evidence:
            outcome = outcomes.get(item.id)
            if item.media_type not in PILLOW_FORMATS or item.size > MAX_PHOTO_BYTES:
                continue
            if outcome is not None and outcome.treatment == Treatment.withheld:
                continue
            source = item.thumbnail_key or item.storage_key
            data = await _read(storage, source, MAX_PHOTO_BYTES)
            jpeg = await asyncio.to_thread(_reencode, data) if data else None
            if jpeg:
                out[item.id] = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    return out


def _day(moment: Any) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y}"


def custody_sentence(item: EvidenceItem, events: list[dict[str, Any]], *, month_only: bool) -> str:
    """The chain of custody in words a court reads, e.g. "Received 3 March 2026 from ..."."""
    if not events:
        return "No chain of custody is recorded for this item."
    day = (lambda m: _day(m).split(" ", 1)[1]) if month_only else _day
    receipt = events[0]
    details = receipt.get("details") or {}
    who = ROLE_WORDS.get(item.received_by_role or "", "a member of the organization")
    check = (
        "the SHA-256 computed on the capture device matched the one computed on receipt"
        if details.get("client_sha256_matched")
        else "its SHA-256 was computed on receipt"
    )
    parts = [f"Received {day(receipt['at'])} from {who}; {check}"]
    counts = Counter(e["event"] for e in events[1:])
    for event, words in (
        ("viewed", "viewed"),
        ("downloaded", "downloaded"),
        ("exported", "exported"),
    ):
        if counts[event]:
            times = "once" if counts[event] == 1 else f"{counts[event]} times"
            parts.append(f"{words} {times}")
    checks = [e for e in events if e["event"] == "verified"]
    if checks:
        last = checks[-1]
        ok = (last.get("details") or {}).get("ok", True)
        state = "verified unchanged" if ok else "found CHANGED by the check"
        parts.append(f"{state} on {day(last['at'])}")
    parts.append(
        f"the chain has {len(events)} linked event{'s' if len(events) != 1 else ''}, "
        "each sealed with the hash of the one before"
    )
    return "; ".join(parts) + "."
