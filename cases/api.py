"""Case, timeline and issue-type routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from cases import issue_types, service, timeline
from cases.filters import CaseFilters, case_filters
from cases.schemas import (
    CaseCreate,
    CaseRead,
    CaseUpdate,
    EventCreate,
    EventRead,
    IssueTypeCreate,
    IssueTypeRead,
)
from corps.auth.actor import CurrentActor
from corps.auth.policy import TaxonomyManager
from corps.db import SessionDep
from corps.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["cases"])
Repair = Annotated[bool, Query(description="Store ST_MakeValid's repair of an invalid geometry.")]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def _etag(response: Response, case: CaseRead) -> CaseRead:
    response.headers["ETag"] = f'"{case.version}"'
    return case


@router.post("/cases", status_code=201)
async def create_case(
    body: CaseCreate,
    response: Response,
    session: SessionDep,
    actor: CurrentActor,
    repair: Repair = False,
) -> CaseRead:
    """Record a case; replaying the same client id and body answers 200 with the same case."""
    case, created = await service.create(session, actor, body, repair=repair)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/cases/{case.id}"
    return _etag(response, case)


@router.get("/cases")
async def list_cases(
    session: SessionDep,
    actor: CurrentActor,
    filters: Annotated[CaseFilters, Depends(case_filters)],
    page: PageDep,
) -> Page[CaseRead]:
    """List the cases the actor may read, filtered."""
    return await service.list_page(session, actor, filters, page)


@router.get("/cases/{case_id}")
async def get_case(
    case_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CurrentActor,
) -> CaseRead:
    """Read one case (the read is audited)."""
    # Only the benchmark's baseline turns this off; settings refuse it in production.
    audit = not request.app.state.settings.bench_unaudited_reads
    return _etag(response, await service.read(session, actor, case_id, audit=audit))


@router.patch("/cases/{case_id}")
async def update_case(
    case_id: uuid.UUID,
    body: CaseUpdate,
    response: Response,
    session: SessionDep,
    actor: CurrentActor,
    if_match: IfMatch = None,
    repair: Repair = False,
) -> CaseRead:
    """Change a case; send If-Match with the version you read to avoid overwriting others."""
    case = await service.update(
        session, actor, case_id, body, if_match=service.parse_if_match(if_match), repair=repair
    )
    return _etag(response, case)


@router.delete("/cases/{case_id}", status_code=204)
async def archive_case(
    case_id: uuid.UUID, session: SessionDep, actor: CurrentActor, if_match: IfMatch = None
) -> Response:
    """Archive a case: hidden and kept, with its evidence untouched."""
    await service.archive(session, actor, case_id, if_match=service.parse_if_match(if_match))
    return Response(status_code=204)


@router.get("/cases/{case_id}/events")
async def list_events(
    case_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
) -> Page[EventRead]:
    """The case's timeline, oldest first."""
    events = await timeline.events_page(session, actor, case_id, page)
    return Page(
        items=[EventRead.model_validate(e) for e in events.items], next_cursor=events.next_cursor
    )


@router.post("/cases/{case_id}/events", status_code=201)
async def add_event(
    case_id: uuid.UUID, body: EventCreate, session: SessionDep, actor: CurrentActor
) -> EventRead:
    """Add a note, action, remedy, outcome or deadline to the timeline."""
    return EventRead.model_validate(await timeline.add_event(session, actor, case_id, body))


@router.get("/issue-types", tags=["vocabulary"])
async def list_issue_types(session: SessionDep, actor: CurrentActor) -> list[IssueTypeRead]:
    """The issue-type vocabulary."""
    return [IssueTypeRead.model_validate(t) for t in await issue_types.list_all(session)]


@router.post("/issue-types", status_code=201, tags=["vocabulary"])
async def create_issue_type(
    body: IssueTypeCreate, session: SessionDep, actor: TaxonomyManager
) -> IssueTypeRead:
    """Add an issue type (coordinator, admin)."""
    return IssueTypeRead.model_validate(await issue_types.create(session, actor, body))
