"""Evidence logic: receive a stream, list, read, download and verify, all on the custody chain."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, Text, cast, column, func, select, table, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cases.evidence.custody import (
    append_custody_event,
    as_plain,
    chain_problems,
    custody_chain,
)
from cases.evidence.models import Evidence
from cases.evidence.schemas import EvidenceFields, EvidenceRead, VerifyResult
from cases.evidence.upload import ReceivedUpload, receive_upload
from cases.view import case_view
from cases.visibility import editable_case
from corps.audit import append_audit
from corps.auth.actor import Actor
from corps.db import on_rollback
from corps.errors import Forbidden, NotFound, Unprocessable
from corps.jobs import enqueue_after_commit
from corps.pagination import PageParams, encode_cursor, read_cursor
from corps.storage import BlobNotFound, Storage
from corps.storage.blobs import forget_after_rollback, hold_blob

# Dossiers (cases/dossiers/models.py owns the table), named by SQL: dossiers bundle evidence,
# so evidence must not import them.
DOSSIERS = table("dossiers", column("id"), column("organization_id"))
LOCATION_KEYS = ("gps", "distance_to_case_m", "location_note", "location_warning")


def visible_evidence() -> Select[Evidence, bool]:
    """Evidence of cases the viewer may read, with whether the case is shown generalized."""
    view = case_view()
    return select(Evidence, view.c.generalized).join(view, view.c.id == Evidence.case_id)


def _without_location(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in LOCATION_KEYS}


def to_read(evidence: Evidence, *, generalized: bool) -> EvidenceRead:
    """The API shape of an item; a generalized viewer gets no capture location."""
    metadata = dict(evidence.metadata_ or {})
    if generalized:
        metadata = _without_location(metadata)
    return EvidenceRead(
        id=evidence.id,
        case_id=evidence.case_id,
        sha256=evidence.sha256,
        size=evidence.size,
        media_type=evidence.media_type,
        kind=evidence.kind,
        original_filename=evidence.original_filename,
        description=evidence.description,
        captured_at=evidence.captured_at,
        received_at=evidence.received_at,
        received_by=evidence.received_by,
        metadata=metadata,
        processed=evidence.processed_at is not None,
    )


def _fields(upload: ReceivedUpload) -> EvidenceFields:
    try:
        return EvidenceFields.model_validate(
            {k: v for k, v in upload.fields.items() if v != "" or k == "kind"}
        )
    except ValidationError as exc:
        errors = [{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]
        first = errors[0]
        raise Unprocessable(
            f"{'.'.join(first['loc'])}: {first['msg']}", extra={"errors": errors}
        ) from exc


def _safe_filename(name: str | None) -> str | None:
    """Keep only the last path segment, printable, at most 255 characters; never a path."""
    if not name:
        return None
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in last if ch.isprintable()).strip().lstrip(".")
    return cleaned[:255] or None


async def receive(
    session: AsyncSession,
    actor: Actor,
    storage: Storage,
    case_id: uuid.UUID,
    *,
    body: AsyncIterator[bytes],
    content_type: str | None,
    content_length: int | None,
    max_bytes: int,
) -> EvidenceRead:
    """Store an uploaded file on a case: hashed, sniffed, size-capped, custody begun."""
    case = await editable_case(session, actor, case_id)

    async def claim(key: str) -> None:
        # held until this transaction ends; if it rolls back, the file goes unless a
        # committed row (perhaps another organization's, for the same bytes) names it
        await hold_blob(session, key)
        on_rollback(session, lambda: forget_after_rollback(session, storage, key))

    upload = await receive_upload(
        storage,
        body,
        content_type=content_type,
        content_length=content_length,
        max_bytes=max_bytes,
        claim=claim,
    )
    blob = upload.blob
    fields = _fields(upload)
    if fields.sha256 and fields.sha256.lower() != blob.sha256:
        raise Unprocessable(
            f"The file's SHA-256 is {blob.sha256}, not the {fields.sha256.lower()} the device "
            "recorded: it changed on the way. Nothing was kept; send it again.",
            extra={"errors": [{"loc": ["body", "sha256"], "msg": "does not match the file"}]},
        )
    evidence = Evidence(
        case_id=case.id,
        organization_id=case.organization_id,
        sha256=blob.sha256,
        size=blob.size,
        media_type=upload.media.media_type,
        kind=fields.kind,
        original_filename=_safe_filename(upload.filename),
        description=fields.description,
        captured_at=fields.captured_at,
        storage_key=blob.key,
        received_by=actor.user_id,
        metadata_={},
    )
    session.add(evidence)
    await session.flush()
    await session.refresh(evidence)
    await append_custody_event(
        session,
        evidence.id,
        "received",
        actor_id=actor.user_id,
        details={
            "sha256": blob.sha256,
            "size": blob.size,
            "media_type": evidence.media_type,
            "original_filename": evidence.original_filename,
            "case_id": str(case.id),
            "client_sha256_matched": fields.sha256 is not None,
        },
    )
    case.updated_at = func.now()
    await append_audit(
        session,
        actor,
        "evidence.received",
        object_type="evidence",
        object_id=evidence.id,
        details={"case_id": str(case.id), "sha256": blob.sha256},
    )
    enqueue_after_commit(session, "evidence.process", evidence_id=str(evidence.id))
    return to_read(evidence, generalized=False)


async def _readable(
    session: AsyncSession, actor: Actor, evidence_id: uuid.UUID
) -> tuple[Evidence, bool]:
    row = (
        await session.execute(visible_evidence().where(Evidence.id == evidence_id))
    ).one_or_none()
    if row is None:
        raise NotFound("No such evidence.")
    return row[0], bool(row[1])


async def read(session: AsyncSession, actor: Actor, evidence_id: uuid.UUID) -> EvidenceRead:
    """One item's record (not its bytes); opening it is a view on the chain of custody."""
    evidence, generalized = await _readable(session, actor, evidence_id)
    await append_custody_event(
        session, evidence.id, "viewed", actor_id=actor.user_id, details={"what": "record"}
    )
    return to_read(evidence, generalized=generalized)


async def list_for_case(
    session: AsyncSession, actor: Actor, case_id: uuid.UUID, page: PageParams
) -> tuple[list[EvidenceRead], str | None]:
    """One page of a case's evidence, in order of receipt."""
    view = case_view()
    if not await session.scalar(select(view.c.id).where(view.c.id == case_id)):
        raise NotFound("No such case.")
    stmt = visible_evidence().where(Evidence.case_id == case_id)
    if page.after:
        stmt = stmt.where(
            tuple_(Evidence.received_at, Evidence.id)
            > read_cursor(page.after, datetime.fromisoformat, uuid.UUID)
        )
    rows = (
        await session.execute(
            stmt.order_by(Evidence.received_at, Evidence.id).limit(page.limit + 1)
        )
    ).all()
    items = [to_read(ev, generalized=bool(gen)) for ev, gen in rows[: page.limit]]
    cursor = None
    if len(rows) > page.limit:
        cursor = encode_cursor([items[-1].received_at.isoformat(), str(items[-1].id)])
    return items, cursor


async def open_content(
    session: AsyncSession, actor: Actor, storage: Storage, evidence_id: uuid.UUID
) -> tuple[Evidence, AsyncIterator[bytes]]:
    """The original bytes for download, with the download on the custody chain."""
    evidence, generalized = await _readable(session, actor, evidence_id)
    if generalized:
        raise Forbidden(
            "The original is withheld: it may carry the exact location of a high-risk case of "
            "another organization. Ask that organization, or export a partner dossier."
        )
    if not await storage.exists(evidence.storage_key):
        raise NotFound("The stored file is missing; run verify and alert an administrator.")
    await append_custody_event(
        session,
        evidence.id,
        "downloaded",
        actor_id=actor.user_id,
        details={"sha256": evidence.sha256},
    )
    await append_audit(
        session, actor, "evidence.downloaded", object_type="evidence", object_id=evidence.id
    )
    return evidence, storage.open(evidence.storage_key)


async def custody(
    session: AsyncSession, actor: Actor, evidence_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The item's whole chain of custody as this viewer may see it; reading it is a view too.

    A viewer who sees the case generalized gets no capture location; a dossier is named only
    to its requester's organization. The hashes cover the stored details, so such a viewer
    checks the chain with POST /evidence/{id}/verify.
    """
    evidence, generalized = await _readable(session, actor, evidence_id)
    await append_custody_event(
        session, evidence.id, "viewed", actor_id=actor.user_id, details={"what": "custody"}
    )
    chain = [as_plain(row) for row in await custody_chain(session, evidence.id)]
    dossier_ids = {
        link["details"]["dossier_id"] for link in chain if "dossier_id" in link["details"]
    }
    own_dossiers = await _own_dossiers(session, actor, dossier_ids)
    return [_custody_as_seen(link, generalized, own_dossiers) for link in chain]


async def _own_dossiers(session: AsyncSession, actor: Actor, ids: set[str]) -> set[str]:
    """Those of the dossier ids that the actor's organization requested."""
    if not ids:
        return set()
    dossier = DOSSIERS.c
    rows = await session.scalars(
        select(cast(dossier.id, Text)).where(
            cast(dossier.id, Text).in_(sorted(ids)),
            dossier.organization_id == actor.organization_id,
        )
    )
    return set(rows)


def _custody_as_seen(
    link: dict[str, Any], generalized: bool, own_dossiers: set[str]
) -> dict[str, Any]:
    details = dict(link["details"])
    withheld = []
    if generalized and isinstance(details.get("metadata"), dict):
        kept = _without_location(details["metadata"])
        if kept != details["metadata"]:
            details["metadata"] = kept
            withheld.append("capture location")
    if "dossier_id" in details and details["dossier_id"] not in own_dossiers:
        details["dossier_id"] = None
        withheld.append("dossier")
    if not withheld:
        return link
    return {**link, "details": details, "withheld": withheld}


async def verify_item(
    session: AsyncSession, storage: Storage, evidence: Evidence, *, actor_id: uuid.UUID | None
) -> VerifyResult:
    """Re-hash the stored bytes, walk the chain, and record the check on the chain."""
    problems: list[str] = []
    try:
        stored = await storage.sha256_of(evidence.storage_key)
    except BlobNotFound:
        stored = None
        problems.append("the stored file is missing")
    if stored is not None and stored != evidence.sha256:
        problems.append(f"the stored bytes hash to {stored}, not the {evidence.sha256} received")
    chain = [as_plain(row) for row in await custody_chain(session, evidence.id)]
    chain_issues = chain_problems(chain)
    if (
        chain
        and chain[0]["event"] == "received"
        and chain[0]["details"].get("sha256") != evidence.sha256
    ):
        chain_issues.append("the receipt on the chain names another hash than the record")
    problems += chain_issues
    result = VerifyResult(
        ok=not problems,
        sha256=evidence.sha256,
        stored_sha256=stored,
        chain_ok=not chain_issues,
        problems=problems,
    )
    await append_custody_event(
        session,
        evidence.id,
        "verified",
        actor_id=actor_id,
        details={"ok": result.ok, "problems": problems},
    )
    return result


async def verify(
    session: AsyncSession, actor: Actor, storage: Storage, evidence_id: uuid.UUID
) -> VerifyResult:
    """Verify one item the actor may read."""
    evidence, _ = await _readable(session, actor, evidence_id)
    result = await verify_item(session, storage, evidence, actor_id=actor.user_id)
    await append_audit(
        session,
        actor,
        "evidence.verified",
        object_type="evidence",
        object_id=evidence.id,
        details={"ok": result.ok},
    )
    return result
