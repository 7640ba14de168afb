"""Evidence jobs: extract metadata after upload, and verify the whole locker every night."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from arq import cron
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.evidence import sweeps  # noqa: F401 (registers the evidence sweeps)
from cases.evidence.custody import append_custody_event
from cases.evidence.exif import PhotoFacts, read_photo, thumbnail
from cases.evidence.models import Evidence
from cases.evidence.service import verify_item
from corps.audit import append_audit
from corps.jobs import CRON_JOBS, job
from corps.storage import Storage
from corps.storage.blobs import hold_blob

MAX_IMAGE_BYTES = 64 * 1024 * 1024
FAR_FROM_CASE_M = 10_000
VERIFY_BATCH = 200
DISTANCE_SQL = text(
    "SELECT ST_Distance(c.geometry::geography, "
    "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) FROM cases c WHERE c.id = :case_id"
)


async def _read_small(storage: Storage, key: str) -> bytes:
    parts = [chunk async for chunk in storage.open(key)]
    return b"".join(parts)


def _location_note(distance_m: float, taken_at: str | None) -> tuple[str, str | None]:
    when = ""
    if taken_at:
        day = datetime.fromisoformat(taken_at)
        when = f" on {day.day} {day:%B %Y}"
    if distance_m < 1:
        note = f"taken inside the case area{when}"
    else:
        note = f"taken {distance_m / 1000:.1f} km from the case area{when}"
    warning = None
    if distance_m > FAR_FROM_CASE_M:
        warning = f"{note}: check that this photo belongs to this case"
    return note, warning


async def _describe_photo(
    session: AsyncSession, storage: Storage, evidence: Evidence
) -> tuple[dict[str, Any], str | None]:
    data = await _read_small(storage, evidence.storage_key)
    facts: PhotoFacts | None = read_photo(data)
    if facts is None:
        return {"image_readable": False}, None
    metadata: dict[str, Any] = {
        "image_readable": True,
        "width": facts.width,
        "height": facts.height,
        "taken_at": facts.taken_at,
        "device": facts.device,
    }
    if facts.lon is not None and facts.lat is not None:
        distance = await session.scalar(
            DISTANCE_SQL, {"lon": facts.lon, "lat": facts.lat, "case_id": evidence.case_id}
        )
        metadata["gps"] = {"lon": facts.lon, "lat": facts.lat}
        metadata["distance_to_case_m"] = round(float(distance or 0), 1)
        note, warning = _location_note(float(distance or 0), facts.taken_at)
        metadata["location_note"] = note
        if warning:
            metadata["location_warning"] = warning
    thumb = thumbnail(data)
    thumb_key = None
    if thumb:

        async def once() -> Any:
            yield thumb

        async def claim(key: str) -> None:
            await hold_blob(session, key)

        thumb_key = (await storage.put_stream(once(), max_bytes=len(thumb), claim=claim)).key
    return metadata, thumb_key


async def process_evidence(
    session: AsyncSession, storage: Storage, evidence_id: uuid.UUID
) -> dict[str, Any]:
    """Extract metadata once; a second run finds the work done and changes nothing."""
    # FOR NO KEY UPDATE, not FOR UPDATE: a plain FOR UPDATE blocks the key-share lock that a
    # concurrent custody insert (a GET of the record) takes on this row through its foreign
    # key while holding the chain's advisory lock, which this job then waits for: a deadlock
    # PostgreSQL broke by failing one side, a 500 without `processed` for the reader.
    evidence = await session.scalar(
        select(Evidence).where(Evidence.id == evidence_id).with_for_update(key_share=True)
    )
    if evidence is None or evidence.processed_at is not None:
        return {"skipped": True}
    metadata: dict[str, Any] = {}
    if evidence.media_type.startswith("image/") and evidence.size <= MAX_IMAGE_BYTES:
        metadata, evidence.thumbnail_key = await _describe_photo(session, storage, evidence)
    evidence.metadata_ = metadata
    evidence.processed_at = datetime.now(UTC)
    await append_custody_event(
        session, evidence.id, "metadata_extracted", actor_id=None, details={"metadata": metadata}
    )
    return {"skipped": False, "metadata": metadata}


@job("evidence.process")
async def process_job(ctx: dict[str, Any], *, evidence_id: str) -> dict[str, Any]:
    """arq entry point for process_evidence."""
    factory: async_sessionmaker[AsyncSession] = ctx["sessionmaker"]
    async with factory() as session, session.begin():
        return await process_evidence(session, ctx["storage"], uuid.UUID(evidence_id))


async def verify_locker(
    session_factory: async_sessionmaker[AsyncSession], storage: Storage
) -> dict[str, Any]:
    """Verify every item, batch by batch, and record the outcome in the audit log."""
    checked, failed, last_id = 0, [], None
    while True:
        async with session_factory() as session, session.begin():
            stmt = select(Evidence).order_by(Evidence.id).limit(VERIFY_BATCH)
            if last_id is not None:
                stmt = stmt.where(Evidence.id > last_id)
            batch = list(await session.scalars(stmt))
            for evidence in batch:
                result = await verify_item(session, storage, evidence, actor_id=None)
                checked += 1
                if not result.ok:
                    failed.append({"evidence_id": str(evidence.id), "problems": result.problems})
        if not batch:
            break
        last_id = batch[-1].id
    summary = {"checked": checked, "failed": failed, "at": datetime.now(UTC).isoformat()}
    async with session_factory() as session, session.begin():
        await append_audit(
            session,
            None,
            "evidence.locker_verified",
            object_type="locker",
            details={"checked": checked, "failed": failed[:100], "failed_count": len(failed)},
        )
    return summary


async def nightly_verification(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point: verify the whole locker."""
    return await verify_locker(ctx["sessionmaker"], ctx["storage"])


job("evidence.verify_all")(nightly_verification)
CRON_JOBS.append(cron(nightly_verification, hour={2}, minute={30}, unique=True))
