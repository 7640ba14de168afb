"""Dossier routes: request a bundle, follow its progress, download it."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from cases.dossiers import service
from cases.dossiers.schemas import DossierCreate, DossierRead
from cases.dossiers.settings import dossier_settings
from cases.dossiers.signing import published_keys
from cases.evidence.api import StorageDep
from corps.auth.actor import CurrentActor
from corps.db import SessionDep
from corps.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["dossiers"])


@router.post("/dossiers", status_code=202)
async def request_dossier(
    body: DossierCreate, response: Response, session: SessionDep, actor: CurrentActor
) -> DossierRead:
    """Ask for a dossier of a campaign or of chosen cases; a worker builds it."""
    dossier = await service.request(session, actor, body)
    response.headers["Location"] = f"/api/v1/dossiers/{dossier.id}"
    return service.to_read(dossier)


@router.get("/dossiers")
async def list_dossiers(
    session: SessionDep, actor: CurrentActor, page: PageDep
) -> Page[DossierRead]:
    """The dossiers you may read, newest first: your organization's, and others' at your level."""
    return await service.list_readable(session, actor, page)


@router.get("/dossiers/signing-keys")
async def signing_keys() -> dict[str, Any]:
    """The corps' public Ed25519 keys with their validity (no login: anyone may verify)."""
    keys = await asyncio.to_thread(published_keys, dossier_settings().signing_key_dir)
    return {"keys": [key.as_json() for key in keys]}


@router.get("/dossiers/{dossier_id}")
async def get_dossier(
    dossier_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> DossierRead:
    """A dossier's status and progress, and once done its SHA-256 and size."""
    return service.to_read(await service.readable(session, actor, dossier_id))


@router.get("/dossiers/{dossier_id}/download", response_class=StreamingResponse)
async def download_dossier(
    dossier_id: uuid.UUID, session: SessionDep, actor: CurrentActor, storage: StorageDep
) -> StreamingResponse:
    """The finished ZIP (409 while it is being built, 410 once it expired)."""
    dossier, chunks = await service.open_bundle(session, actor, storage, dossier_id)
    digest = base64.b64encode(bytes.fromhex(dossier.sha256 or "")).decode()
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={
            "Content-Length": str(dossier.size),
            "Content-Disposition": f'attachment; filename="ejcorps-dossier-{dossier.id}.zip"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "X-Dossier-SHA256": dossier.sha256 or "",
            "Cache-Control": "no-store",
        },
    )
