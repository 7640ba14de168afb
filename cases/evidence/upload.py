"""Receiving evidence: the form's file part goes to storage, sniffed on the way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from cases.evidence.sniff import SniffedType, UnsupportedType, sniff
from corps.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from corps.storage import BlobTooLarge, Claim, Storage, StoredBlob
from corps.uploads import MB, UploadLimits, open_upload

SNIFF_BYTES = 8192
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16


@dataclass
class ReceivedUpload:
    """A stored file part with the form's other fields."""

    blob: StoredBlob
    media: SniffedType
    filename: str | None
    fields: dict[str, str] = field(default_factory=dict)


async def receive_upload(
    storage: Storage,
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    max_bytes: int,
    claim: Claim,
) -> ReceivedUpload:
    """Stream the form's `file` part into storage; 413 past max_bytes, 415 for a refused type.

    `claim` holds the stored file for the caller's transaction, whose rollback removes it
    unless a committed row needs it; so nothing here deletes a file.
    """
    limits = UploadLimits(
        max_bytes=max_bytes,
        max_field_bytes=MAX_FIELD_BYTES,
        max_fields=MAX_FIELDS,
        noun="Evidence files",
        send_as="the evidence",
    )
    upload = await open_upload(
        body, content_type=content_type, content_length=content_length, limits=limits
    )
    sniffed: list[SniffedType] = []

    async def sniffed_bytes() -> AsyncIterator[bytes]:
        # The type is told from the first SNIFF_BYTES before any byte reaches storage.
        head = bytearray()
        async for chunk in upload.file():
            if not sniffed:
                head += chunk
                if len(head) < SNIFF_BYTES:
                    continue
                sniffed.append(_sniff(bytes(head)))
                chunk, head = bytes(head), bytearray()
            yield chunk
        if not sniffed:
            sniffed.append(_sniff(bytes(head)))
            yield bytes(head)

    try:
        blob = await storage.put_stream(sniffed_bytes(), max_bytes=max_bytes, claim=claim)
    except BlobTooLarge as exc:
        raise PayloadTooLarge(
            f"Evidence files are limited to {exc.limit // MB} MB; nothing was kept."
        ) from exc
    fields = await upload.finish()
    return ReceivedUpload(blob=blob, media=sniffed[0], filename=upload.filename, fields=fields)


def _sniff(head: bytes) -> SniffedType:
    if not head:
        raise Unprocessable("The file is empty.")
    try:
        return sniff(head)
    except UnsupportedType as exc:
        raise UnsupportedMediaType(str(exc)) from exc
