"""Routes for flags, campaigns, respondent resolution and suggestions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from cases.advocacy import actors, campaigns, jobs, suggestions
from cases.advocacy.schemas import (
    ActorRead,
    ActorUpdate,
    CampaignCreate,
    CampaignRead,
    CampaignSummary,
    FlagCreate,
    FlagRead,
    MergeCandidateRead,
    SuggestionRead,
    SuggestionsRefresh,
)
from cases.vocabularies import MergeStatus
from corps.auth.actor import CurrentActor
from corps.db import SessionDep
from corps.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1", tags=["advocacy"])


@router.post("/cases/{case_id}/flags", status_code=201, response_model=FlagRead)
async def flag_case(
    case_id: uuid.UUID, body: FlagCreate, session: SessionDep, actor: CurrentActor
) -> object:
    """Flag a case for collective advocacy."""
    return await campaigns.flag(session, actor, case_id, body.reason)


@router.get("/cases/{case_id}/flags", response_model=list[FlagRead])
async def list_flags(case_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> object:
    """The flags on a case."""
    return await campaigns.flags_of(session, actor, case_id)


@router.post("/campaigns", status_code=201, response_model=CampaignRead)
async def create_campaign(body: CampaignCreate, session: SessionDep, actor: CurrentActor) -> object:
    """Group cases into a campaign (coordinator, admin)."""
    return await campaigns.create(session, actor, body)


@router.get("/campaigns", response_model=Page[CampaignSummary])
async def list_campaigns(
    session: SessionDep, actor: CurrentActor, page: Annotated[PageParams, Depends(page_params)]
) -> object:
    """The campaigns the actor may see, newest first."""
    items, cursor = await campaigns.list_page(session, actor, page)
    return {"items": items, "next_cursor": cursor}


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead)
async def get_campaign(campaign_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> object:
    """A campaign with its cases, as far as the actor may read them."""
    return await campaigns.read(session, actor, campaign_id)


@router.post("/campaigns/{campaign_id}/cases/{case_id}", response_model=CampaignRead)
async def add_campaign_case(
    campaign_id: uuid.UUID, case_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> object:
    """Add a case to a campaign."""
    return await campaigns.add_case(session, actor, campaign_id, case_id)


@router.delete("/campaigns/{campaign_id}/cases/{case_id}", status_code=204)
async def remove_campaign_case(
    campaign_id: uuid.UUID, case_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> Response:
    """Take a case out of a campaign."""
    await campaigns.remove_case(session, actor, campaign_id, case_id)
    return Response(status_code=204)


@router.get("/advocacy/suggestions", response_model=list[SuggestionRead])
async def list_suggestions(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CurrentActor,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="The strongest this many suggestions.")
    ] = 200,
) -> object:
    """Groups of cases across organizations that may belong in one campaign, strongest first.

    Reads only: `X-Suggestions-State: stale` says the cases changed since the last
    recompute (queued on every case change; POST /advocacy/suggestions/refresh asks now).
    """
    response.headers["X-Suggestions-State"] = await jobs.freshness(session, request.app.state.arq)
    return await suggestions.for_viewer(session, actor, limit=limit)


@router.post("/advocacy/suggestions/refresh")
async def refresh_suggestions(
    request: Request, response: Response, session: SessionDep, actor: CurrentActor
) -> SuggestionsRefresh:
    """Recompute the suggestions now (a small corps) or queue it (202); fresh ones are kept."""
    state = await jobs.request_refresh(session, request.app.state.arq)
    if state == "queued":
        response.status_code = 202
    return SuggestionsRefresh(state=state)


@router.get("/actors", response_model=list[ActorRead], tags=["advocacy"])
async def search_actors(
    session: SessionDep, actor: CurrentActor, q: Annotated[str | None, Query(max_length=200)] = None
) -> object:
    """Respondent companies and agencies, by name."""
    return await actors.search(session, actor, q)


@router.patch("/actors/{actor_id}", response_model=ActorRead)
async def group_actor(
    actor_id: uuid.UUID, body: ActorUpdate, session: SessionDep, actor: CurrentActor
) -> object:
    """Put an actor under its parent group (coordinator, admin)."""
    return await actors.set_parent(session, actor, actor_id, body.parent_id)


@router.get("/actors/merge-candidates", response_model=list[MergeCandidateRead])
async def merge_candidates(
    session: SessionDep,
    actor: CurrentActor,
    status: MergeStatus = MergeStatus.pending,
) -> object:
    """Look-alike respondents for a coordinator to merge or keep apart."""
    return await actors.candidates(session, actor, status)


@router.post("/actors/merge-candidates/{candidate_id}/confirm", response_model=MergeCandidateRead)
async def confirm_merge(
    candidate_id: uuid.UUID, session: SessionDep, actor: CurrentActor, keep: uuid.UUID | None = None
) -> object:
    """Merge the pair: one actor, the other's name kept as an alias."""
    return await actors.decide(session, actor, candidate_id, confirm=True, keep=keep)


@router.post("/actors/merge-candidates/{candidate_id}/reject", response_model=MergeCandidateRead)
async def reject_merge(candidate_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> object:
    """Keep the pair apart; it is not suggested again."""
    return await actors.decide(session, actor, candidate_id, confirm=False)
