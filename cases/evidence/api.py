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
from corps.auth.actor import CurrentActor
from corps.db import SessionDep
from corps.pagination import Page, PageParams, page_params
from corps.storage import Storage

router = APIRouter(prefix="/api/v1", tags=["evidence"])


def get_storage(request: Request) -> Storage:
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
                        "kind": {
                            "type": "string",
                            "enum": [
                                "photo",
                                "document",
                                "audio",
                                "video",
                                "testimony",
                                "data",
                                "other",
                            ],
                        },
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
    response_model=EvidenceRead,
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


@router.get("/cases/{case_id}/evidence", response_model=Page[EvidenceRead])
async def list_evidence(
    case_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    page: Annotated[PageParams, Depends(page_params)],
) -> object:
    """A case's evidence, in order of receipt."""
    items, cursor = await service.list_for_case(session, actor, case_id, page)
    return {"items": items, "next_cursor": cursor}


@router.get("/evidence/{evidence_id}", response_model=EvidenceRead)
async def get_evidence(evidence_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> object:
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


@router.get("/evidence/{evidence_id}/custody", response_model=list[CustodyRead])
async def get_custody(evidence_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> object:
    """The chain of custody, oldest link first."""
    return await service.custody(session, actor, evidence_id)


@router.post("/evidence/{evidence_id}/verify", response_model=VerifyResult)
async def verify_evidence(
    evidence_id: uuid.UUID, session: SessionDep, actor: CurrentActor, storage: StorageDep
) -> object:
    """Re-hash the stored bytes and walk the chain of custody."""
    return await service.verify(session, actor, storage, evidence_id)
