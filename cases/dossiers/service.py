"""Dossier requests: who may ask for which cases, the rate limit, status and download."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.advocacy.campaigns import campaign_sizes
from cases.advocacy.models import Campaign, CampaignCase
from cases.dossiers.access import dossier_readable
from cases.dossiers.models import Dossier
from cases.dossiers.schemas import DossierCreate, DossierRead
from cases.dossiers.settings import dossier_settings
from cases.models import Case
from cases.visibility import case_visibility
from cases.vocabularies import DossierFormat, DossierStatus
from corps.audit import append_audit
from corps.auth.actor import Actor, Role
from corps.errors import AppError, Conflict, Forbidden, NotFound, TooManyRequests, Unprocessable
from corps.jobs import enqueue_after_commit
from corps.pagination import Page, PageParams, keyset_page
from corps.storage import Storage
from geo.privacy import Level

IN_PROGRESS = (DossierStatus.queued, DossierStatus.running)
PER_ORGANIZATION = 2  # queued or running at once; dossiers are heavy (all evidence re-read)
RETRY_AFTER_S = 30
BUILD_JOB = "dossiers.build"
UNSEEN_CASES = "One or more of the cases do not exist or are not visible to you."
HIGH_RISK = "high risk"


class Gone(AppError):
    """The dossier's bundle expired and was removed."""

    status, slug, title = 410, "gone", "Gone"


def expires_at(dossier: Dossier) -> datetime | None:
    """When a finished bundle stops being downloadable (EJ_DOSSIER_RETENTION_DAYS after)."""
    if dossier.status != "done" or dossier.finished_at is None:
        return None
    return dossier.finished_at + timedelta(days=dossier_settings().dossier_retention_days)


def is_expired(dossier: Dossier, now: datetime | None = None) -> bool:
    """Whether the bundle is past its retention."""
    until = expires_at(dossier)
    return until is not None and (now or datetime.now(UTC)) >= until


def bundle_key(dossier_id: uuid.UUID | str) -> str:
    """The storage key of a dossier's finished ZIP."""
    return f"dossiers/{dossier_id}.zip"


def build_job_id(dossier_id: uuid.UUID | str) -> str:
    """The arq job id of a dossier's first build: enqueueing it twice is a no-op."""
    return f"dossier:{dossier_id}"


def to_read(dossier: Dossier) -> DossierRead:
    """The API shape of a dossier."""
    done = dossier.status == "done" and not is_expired(dossier)
    return DossierRead(
        id=dossier.id,
        status=dossier.status,
        progress=round(dossier.progress, 4),
        stage=dossier.stage,
        sha256=dossier.sha256,
        size=dossier.size,
        error=dossier.error,
        level=Level(dossier.level),
        formats=[DossierFormat(f) for f in dossier.formats],
        case_count=len(dossier.case_ids),
        campaign_id=dossier.campaign_id,
        requested_by=dossier.requested_by,
        created_at=dossier.created_at,
        started_at=dossier.started_at,
        finished_at=dossier.finished_at,
        expires_at=expires_at(dossier),
        withheld_count=len(dossier.withheld_cases or []),
        download_url=f"/api/v1/dossiers/{dossier.id}/download" if done else None,
    )


def _check_role(actor: Actor, body: DossierCreate) -> None:
    if actor.role == Role.campaigner:
        if body.campaign_id is None:
            raise Forbidden("Campaigners ask for dossiers of campaigns (campaign_id).")
        if body.level == Level.internal:
            raise Forbidden("Campaigners export at the partner or public level.")


async def _requested_ids(session: AsyncSession, body: DossierCreate) -> list[uuid.UUID]:
    if body.case_ids is not None:
        return body.case_ids
    if await session.scalar(select(Campaign.id).where(Campaign.id == body.campaign_id)) is None:
        raise NotFound("No such campaign.")
    ids = list(
        await session.scalars(
            select(CampaignCase.case_id)
            .where(CampaignCase.campaign_id == body.campaign_id)
            .order_by(CampaignCase.added_at, CampaignCase.case_id)
        )
    )
    if not ids:
        raise Unprocessable("The campaign has no cases yet; add some before asking for a dossier.")
    # Row-level security shows only the campaign's cases the viewer reads: one unseen is 404.
    campaign_id = uuid.UUID(str(body.campaign_id))
    held, _ = (await campaign_sizes(session, [campaign_id])).get(campaign_id, (0, 0))
    if len(ids) < held:
        raise NotFound(UNSEEN_CASES)
    return ids


async def _readable_ids(
    session: AsyncSession, actor: Actor, ids: list[uuid.UUID], level: Level
) -> tuple[list[uuid.UUID], list[dict[str, Any]]]:
    """The cases to include, and those withheld at this level with reference and reason."""
    rows = await session.execute(
        select(Case.id, Case.sensitivity, Case.reference).where(
            Case.id.in_(ids), case_visibility(actor)
        )
    )
    seen = {row.id: row for row in rows}
    if len(seen) != len(ids):
        raise NotFound(UNSEEN_CASES)  # names nothing: which ids exist is itself a secret
    withheld: list[dict[str, Any]] = []
    if level == Level.public:
        withheld = [
            {"id": str(i), "reference": seen[i].reference, "reason": HIGH_RISK}
            for i in ids
            if seen[i].sensitivity == "high_risk"
        ]
        ids = [i for i in ids if seen[i].sensitivity != "high_risk"]
        if not ids:
            raise Unprocessable(
                "Every case asked for is high-risk, and a public dossier leaves those out."
            )
    return ids, withheld


async def _check_rate(session: AsyncSession, actor: Actor) -> None:
    # Serialize requests of one organization so two at once cannot both see one slot free.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"dossiers:{actor.organization_id}"},
    )
    busy = await session.scalar(
        select(func.count())
        .select_from(Dossier)
        .where(Dossier.organization_id == actor.organization_id, Dossier.status.in_(IN_PROGRESS))
    )
    if (busy or 0) >= PER_ORGANIZATION:
        raise TooManyRequests(
            f"Your organization already has {busy} dossiers queued or being built; "
            "ask again when one is done.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


async def request(session: AsyncSession, actor: Actor, body: DossierCreate) -> Dossier:
    """Record a dossier request and queue its build once the request commits."""
    _check_role(actor, body)
    requested = await _requested_ids(session, body)
    ids, withheld = await _readable_ids(session, actor, requested, body.level)
    await _check_rate(session, actor)
    dossier = Dossier(
        organization_id=actor.organization_id,
        requested_by=actor.user_id,
        requester_role=actor.role.value,
        campaign_id=body.campaign_id,
        case_ids=[str(i) for i in ids],
        level=body.level.value,
        formats=[f.value for f in body.formats],
        status="queued",
        progress=0.0,
        stage="waiting for a worker",
        withheld_cases=withheld,
    )
    session.add(dossier)
    await session.flush()
    await session.refresh(dossier)
    await append_audit(
        session,
        actor,
        "dossier.requested",
        object_type="dossier",
        object_id=dossier.id,
        details={
            "level": dossier.level,
            "formats": dossier.formats,
            "case_count": len(ids),
            "left_out_high_risk": len(withheld),
            "campaign_id": str(body.campaign_id) if body.campaign_id else None,
        },
    )
    enqueue_after_commit(
        session, BUILD_JOB, dossier_id=str(dossier.id), _job_id=build_job_id(dossier.id)
    )
    return dossier


async def readable(session: AsyncSession, actor: Actor, dossier_id: uuid.UUID) -> Dossier:
    """A dossier the actor may read (cases.dossiers.access), or 404: no existence leak."""
    dossier = await session.scalar(
        select(Dossier).where(Dossier.id == dossier_id, dossier_readable(actor))
    )
    if dossier is None:
        raise NotFound("No such dossier.")
    return dossier


async def list_readable(session: AsyncSession, actor: Actor, page: PageParams) -> Page[DossierRead]:
    """The dossiers the actor may read, newest first, one keyset page."""
    return await keyset_page(
        session,
        select(Dossier).where(dossier_readable(actor)),
        page,
        key=(Dossier.created_at, Dossier.id),
        parsers=(datetime.fromisoformat, uuid.UUID),
        descending=True,
        item=to_read,
    )


async def open_bundle(
    session: AsyncSession, actor: Actor, storage: Storage, dossier_id: uuid.UUID
) -> tuple[Dossier, AsyncIterator[bytes]]:
    """The finished ZIP as a stream, the download audited; 409 while it is not ready."""
    dossier = await readable(session, actor, dossier_id)
    if dossier.status == "failed":
        raise Conflict(f"The dossier failed and has no bundle: {dossier.error}")
    if dossier.status != "done" or not dossier.storage_key:
        raise Conflict(
            f"The dossier is {dossier.status} ({round(dossier.progress * 100)}%); "
            "download it when its status is done.",
            headers={"Retry-After": "5"},
        )
    if is_expired(dossier):
        raise Gone(f"The dossier expired on {expires_at(dossier):%Y-%m-%d}; ask for a new one.")
    if not await storage.exists(dossier.storage_key):
        raise NotFound("The stored bundle is missing; alert an administrator.")
    await append_audit(
        session,
        actor,
        "dossier.downloaded",
        object_type="dossier",
        object_id=dossier.id,
        details={"sha256": dossier.sha256},
    )
    return dossier, storage.open(dossier.storage_key)
