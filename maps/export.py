"""Export a filtered case set as GeoJSON, CSV, KML or GeoPackage, streamed, privacy applied."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from cases.export_rows import batches, export_rows
from cases.filters import CaseFilters, case_filters
from corps.audit import append_audit
from corps.auth.actor import Actor, CurrentActor, Role
from corps.db import SessionDep
from corps.errors import Forbidden
from corps.viewer import Viewer
from geo.privacy import Level
from geo.writers import MEDIA_TYPES, STREAMS, ExportFormat

router = APIRouter(prefix="/api/v1", tags=["maps"])


def check_level(actor: Actor, level: Level) -> None:
    """Campaigners export partner or public levels only."""
    if actor.role == Role.campaigner and level == Level.internal:
        raise Forbidden("Campaigners export at the partner or public level.")


@router.get("/cases/export", response_class=StreamingResponse)
async def export_cases(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    filters: Annotated[CaseFilters, Depends(case_filters)],
    format: Annotated[ExportFormat, Query()] = ExportFormat.geojson,
    level: Annotated[Level, Query()] = Level.internal,
) -> StreamingResponse:
    """The cases the actor may read, filtered like the list, as a file in the chosen format.

    Audited like a read of a case, in the request's session (committed before the first
    byte); the rows then stream on a connection of their own that reads as the same viewer.
    """
    check_level(actor, level)
    asked = {k: str(v) for k, v in dataclasses.asdict(filters).items() if v is not None}
    await append_audit(
        session,
        actor,
        "cases.exported",
        object_type="case_export",
        details={"format": format.value, "level": level.value, "filters": asked},
    )
    stmt = export_rows(filters, level)
    filename = f"ejcorps-cases-{level.value}.{format.value}"
    return StreamingResponse(
        STREAMS[format](batches(request.app.state.engine, stmt, Viewer.of(actor))),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
