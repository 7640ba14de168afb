"""Evidence routes: streaming upload, records, download, custody and verification."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from cases.evidence import service
from cases.evidence.schemas import CustodyRead, EvidenceRead, VerifyResult
from cases.vocabularies import EvidenceKind
from corps.auth.actor import CurrentActor
from corps.db import SessionDep
from corps.pagination import Page, PageDep
from corps.storage import Storage
from corps.vocabulary import values

router = APIRouter(prefix="/api/v1", tags=["evidence"])


async def get_storage(request: Request) -> Storage:
    """The configured evidence store."""
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]
UPLOAD_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "kind"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "kind": {"type": "string", "enum": values(EvidenceKind)},
                        "description": {"type": "string"},
                        "captured_at": {"type": "string", "format": "date-time"},
                        "sha256": {"type": "string", "description": "the capture device's SHA-256"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/cases/{case_id}/evidence",
    status_code=201,
    openapi_extra=UPLOAD_FORM,
)
async def upload_evidence(
    case_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    storage: StorageDep,
) -> EvidenceRead:
    """Attach a file to a case, streamed, hashed and checked as it arrives."""
    length = request.headers.get("content-length")
    return await service.receive(
        session,
        actor,
        storage,
        case_id,
        body=request.stream(),
        content_type=request.headers.get("content-type"),
        content_length=int(length) if length and length.isdigit() else None,
        max_bytes=request.app.state.settings.max_upload_bytes,
    )


@router.get("/cases/{case_id}/evidence")
async def list_evidence(
    case_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
) -> Page[EvidenceRead]:
    """A case's evidence, in order of receipt."""
    return await service.list_for_case(session, actor, case_id, page)


@router.get("/evidence/{evidence_id}")
async def get_evidence(
    evidence_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> EvidenceRead:
    """One item's record, hash and extracted metadata."""
    return await service.read(session, actor, evidence_id)


@router.get("/evidence/{evidence_id}/content", response_class=StreamingResponse)
async def download_evidence(
    evidence_id: uuid.UUID, session: SessionDep, actor: CurrentActor, storage: StorageDep
) -> StreamingResponse:
    """The original bytes (the download is recorded on the chain of custody)."""
    evidence, chunks = await service.open_content(session, actor, storage, evidence_id)
    name = evidence.original_filename or f"{evidence.id}"
    digest = base64.b64encode(bytes.fromhex(evidence.sha256)).decode()
    return StreamingResponse(
        chunks,
        media_type=evidence.media_type,
        headers={
            "Content-Length": str(evidence.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
            "Repr-Digest": f"sha-256=:{digest}:",
            "X-Evidence-SHA256": evidence.sha256,
            "Cache-Control": "no-store",
        },
    )


@router.get("/evidence/{evidence_id}/custody")
async def get_custody(
    evidence_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> list[CustodyRead]:
    """The chain of custody, oldest link first."""
    return [
        CustodyRead.model_validate(c) for c in await service.custody(session, actor, evidence_id)
    ]


@router.post("/evidence/{evidence_id}/verify")
async def verify_evidence(
    evidence_id: uuid.UUID, session: SessionDep, actor: CurrentActor, storage: StorageDep
) -> VerifyResult:
    """Re-hash the stored bytes and walk the chain of custody."""
    return await service.verify(session, actor, storage, evidence_id)
