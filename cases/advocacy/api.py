"""Routes for flags, campaigns, respondent resolution and suggestions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from cases.advocacy import campaigns, jobs, respondent_groups, suggestions
from cases.advocacy.schemas import (
    CampaignCreate,
    CampaignRead,
    CampaignSummary,
    FlagCreate,
    FlagRead,
    MergeCandidateRead,
    RespondentRead,
    RespondentUpdate,
    SuggestionRead,
    SuggestionsRefresh,
)
from cases.vocabularies import MergeStatus
from corps.auth.actor import CurrentActor
from corps.db import SessionDep
from corps.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["advocacy"])


@router.post("/cases/{case_id}/flags", status_code=201)
async def flag_case(
    case_id: uuid.UUID, body: FlagCreate, session: SessionDep, actor: CurrentActor
) -> FlagRead:
    """Flag a case for collective advocacy."""
    return FlagRead.model_validate(await campaigns.flag(session, actor, case_id, body.reason))


@router.get("/cases/{case_id}/flags")
async def list_flags(
    case_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> list[FlagRead]:
    """The flags on a case."""
    return [FlagRead.model_validate(f) for f in await campaigns.flags_of(session, actor, case_id)]


@router.post("/campaigns", status_code=201)
async def create_campaign(
    body: CampaignCreate, session: SessionDep, actor: CurrentActor
) -> CampaignRead:
    """Group cases into a campaign (coordinator, admin)."""
    return await campaigns.create(session, actor, body)


@router.get("/campaigns")
async def list_campaigns(
    session: SessionDep, actor: CurrentActor, page: PageDep
) -> Page[CampaignSummary]:
    """The campaigns the actor may see, newest first."""
    return await campaigns.list_page(session, actor, page)


@router.get("/campaigns/{campaign_id}")
async def get_campaign(
    campaign_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> CampaignRead:
    """A campaign with its cases, as far as the actor may read them."""
    return await campaigns.read(session, actor, campaign_id)


@router.post("/campaigns/{campaign_id}/cases/{case_id}")
async def add_campaign_case(
    campaign_id: uuid.UUID, case_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> CampaignRead:
    """Add a case to a campaign."""
    return await campaigns.add_case(session, actor, campaign_id, case_id)


@router.delete("/campaigns/{campaign_id}/cases/{case_id}", status_code=204)
async def remove_campaign_case(
    campaign_id: uuid.UUID, case_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> Response:
    """Take a case out of a campaign."""
    await campaigns.remove_case(session, actor, campaign_id, case_id)
    return Response(status_code=204)


@router.get("/advocacy/suggestions")
async def list_suggestions(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CurrentActor,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="The strongest this many suggestions.")
    ] = 200,
) -> list[SuggestionRead]:
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


@router.get("/actors")
async def search_respondents(
    session: SessionDep, actor: CurrentActor, q: Annotated[str | None, Query(max_length=200)] = None
) -> list[RespondentRead]:
    """Respondent companies and agencies, by name."""
    return await respondent_groups.search(session, actor, q)


@router.patch("/actors/{actor_id}")
async def group_respondent(
    respondent_id: Annotated[uuid.UUID, Path(alias="actor_id")],  # the URL keeps its name
    body: RespondentUpdate,
    session: SessionDep,
    actor: CurrentActor,
) -> RespondentRead:
    """Put a respondent under its parent group (coordinator, admin)."""
    return await respondent_groups.set_parent(session, actor, respondent_id, body.parent_id)


@router.get("/actors/merge-candidates")
async def merge_candidates(
    session: SessionDep,
    actor: CurrentActor,
    status: MergeStatus = MergeStatus.pending,
) -> list[MergeCandidateRead]:
    """Look-alike respondents for a coordinator to merge or keep apart."""
    return await respondent_groups.candidates(session, actor, status)


@router.post("/actors/merge-candidates/{candidate_id}/confirm")
async def confirm_merge(
    candidate_id: uuid.UUID, session: SessionDep, actor: CurrentActor, keep: uuid.UUID | None = None
) -> MergeCandidateRead:
    """Merge the pair: one respondent, the other's name kept as an alias."""
    return await respondent_groups.decide(session, actor, candidate_id, confirm=True, keep=keep)


@router.post("/actors/merge-candidates/{candidate_id}/reject")
async def reject_merge(
    candidate_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> MergeCandidateRead:
    """Keep the pair apart; it is not suggested again."""
    return await respondent_groups.decide(session, actor, candidate_id, confirm=False)
