"""Respondent resolution beyond exact names: look-alike candidates, merges and parent groups."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cases.advocacy.models import MergeCandidate, RespondentAlias
from cases.advocacy.schemas import MergeCandidateRead, RespondentRead
from cases.models import CaseRespondent, Respondent
from corps.audit import append_audit
from corps.auth.actor import Actor
from corps.auth.policy import reads_corps_wide, resolves_respondents
from corps.errors import Conflict, NotFound

SIMILARITY_THRESHOLD = 0.55
CORPS_CASE_COUNT = text("SELECT ej_actor_corps_case_count(:actor_id)")
FIND_CANDIDATES = text("""
INSERT INTO actor_merge_candidates (id, actor_a, actor_b, similarity, status)
SELECT gen_random_uuid(), LEAST(a.id, b.id), GREATEST(a.id, b.id),
       similarity(a.normalized_name, b.normalized_name), 'pending'
FROM actors a
JOIN actors b ON a.id < b.id AND a.normalized_name % b.normalized_name
 AND similarity(a.normalized_name, b.normalized_name) >= :threshold
WHERE a.merged_into IS NULL AND b.merged_into IS NULL AND a.kind = b.kind
  -- agencies are keyed by country ("ke:ministry of mines"): only compare within one country
  AND (a.kind <> 'government_agency'
       OR split_part(a.normalized_name, ':', 1) = split_part(b.normalized_name, ':', 1))
ON CONFLICT ON CONSTRAINT uq_actor_merge_candidates_pair DO NOTHING
""")


def _check_coordinator(actor: Actor) -> None:
    resolves_respondents.require(actor)


async def find_candidates(session: AsyncSession) -> int:
    """Record pairs of actors with look-alike names (pg_trgm); rejected pairs stay rejected."""
    await session.execute(text("SELECT set_limit(:t)"), {"t": SIMILARITY_THRESHOLD})
    result = await session.execute(FIND_CANDIDATES, {"threshold": SIMILARITY_THRESHOLD})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _respondent_read(session: AsyncSession, respondent_id: uuid.UUID) -> RespondentRead:
    row = await session.get(Respondent, respondent_id)
    if row is None:
        raise NotFound("No such actor.")
    spellings = list(
        await session.scalars(
            select(func.distinct(CaseRespondent.name_as_given))
            .where(CaseRespondent.actor_id == respondent_id)
            .limit(50)
        )
    )
    count = await session.scalar(
        select(func.count())
        .select_from(CaseRespondent)
        .where(CaseRespondent.actor_id == respondent_id)
    )
    corps_count = await session.scalar(CORPS_CASE_COUNT, {"actor_id": respondent_id})
    return RespondentRead(
        id=row.id,
        name=row.name,
        kind=row.kind,
        parent_id=row.parent_id,
        merged_into=row.merged_into,
        case_count=count or 0,
        corps_case_count=corps_count or 0,
        spellings=spellings,
    )


async def search(
    session: AsyncSession, actor: Actor, q: str | None, limit: int = 50
) -> list[RespondentRead]:
    """Actors whose name looks like q, merged ones left out.

    Coordinators and admins search the whole registry (they resolve and merge it). Everyone
    else finds only actors named in cases they may read (row-level security decides which
    links they see), "other" parties (possibly people) never; the rest of the corps is a
    number, `corps_case_count`.
    """
    stmt = select(Respondent.id).where(Respondent.merged_into.is_(None))
    if not reads_corps_wide(actor):
        named_in_readable_case = (
            select(CaseRespondent.case_id).where(CaseRespondent.actor_id == Respondent.id).exists()
        )
        stmt = stmt.where(
            Respondent.kind.in_(("company", "government_agency")), named_in_readable_case
        )
    if q:
        stmt = stmt.where(
            or_(
                Respondent.normalized_name.op("%")(q.lower()),
                Respondent.name.ilike(f"%{q}%"),
            )
        )
        stmt = stmt.order_by(func.similarity(Respondent.normalized_name, q.lower()).desc())
    else:
        stmt = stmt.order_by(Respondent.name)
    return [await _respondent_read(session, i) for i in await session.scalars(stmt.limit(limit))]


async def candidates(
    session: AsyncSession, actor: Actor, status: str = "pending"
) -> list[MergeCandidateRead]:
    """Look-alike pairs for a coordinator to decide on."""
    _check_coordinator(actor)
    a, b = aliased(Respondent), aliased(Respondent)
    rows = (
        await session.execute(
            select(MergeCandidate, a, b)
            .join(a, a.id == MergeCandidate.actor_a)
            .join(b, b.id == MergeCandidate.actor_b)
            .where(MergeCandidate.status == status)
            .order_by(MergeCandidate.similarity.desc())
            .limit(500)
        )
    ).all()

    return [
        MergeCandidateRead(
            id=c.id,
            similarity=round(c.similarity, 3),
            status=c.status,
            actor_a=_brief(x),
            actor_b=_brief(y),
        )
        for c, x, y in rows
    ]


def _brief(x: Any) -> dict[str, Any]:
    return {
        "id": str(x.id),
        "name": x.name,
        "kind": x.kind,
        "merged_into": str(x.merged_into) if x.merged_into else None,
    }


async def decide(
    session: AsyncSession,
    actor: Actor,
    candidate_id: uuid.UUID,
    *,
    confirm: bool,
    keep: uuid.UUID | None = None,
) -> MergeCandidateRead:
    """Confirm (merge the pair, keeping `keep` or the older actor) or reject a candidate."""
    _check_coordinator(actor)
    candidate = await session.get(MergeCandidate, candidate_id, with_for_update=True)
    if candidate is None:
        raise NotFound("No such merge candidate.")
    if candidate.status != "pending":
        raise Conflict(f"This pair was already {candidate.status}.")
    candidate.status = "confirmed" if confirm else "rejected"
    candidate.decided_by, candidate.decided_at = actor.user_id, datetime.now(UTC)
    if confirm:
        pair = {candidate.actor_a, candidate.actor_b}
        if keep is not None and keep not in pair:
            raise Conflict("`keep` must be one of the pair.")
        a, b = [await session.get_one(Respondent, i) for i in sorted(pair)]
        target = keep or (a.id if a.created_at <= b.created_at else b.id)
        source = (pair - {target}).pop()
        await merge(session, actor, source=source, target=target)
    await session.flush()
    a, b = [await session.get_one(Respondent, i) for i in (candidate.actor_a, candidate.actor_b)]
    return MergeCandidateRead(
        id=candidate.id,
        similarity=round(candidate.similarity, 3),
        status=candidate.status,
        actor_a=_brief(a),
        actor_b=_brief(b),
    )


async def merge(
    session: AsyncSession, actor: Actor, *, source: uuid.UUID, target: uuid.UUID
) -> None:
    """Fold source into target: its cases move over, its name becomes an alias."""
    src = await session.get_one(Respondent, source, with_for_update=True)
    dst = await session.get_one(Respondent, target)
    if dst.merged_into:
        raise Conflict("The actor to keep was itself merged; merge into its target instead.")
    both = select(CaseRespondent.case_id).where(CaseRespondent.actor_id == target)
    await session.execute(
        delete(CaseRespondent).where(
            CaseRespondent.actor_id == source, CaseRespondent.case_id.in_(both)
        )
    )
    await session.execute(
        update(CaseRespondent).where(CaseRespondent.actor_id == source).values(actor_id=target)
    )
    await session.execute(
        update(Respondent).where(Respondent.merged_into == source).values(merged_into=target)
    )
    await session.execute(
        update(Respondent).where(Respondent.parent_id == source).values(parent_id=target)
    )
    src.merged_into = target
    await session.execute(
        insert(RespondentAlias)
        .values(normalized_name=src.normalized_name, actor_id=target, merged_from=source)
        .on_conflict_do_update(index_elements=["normalized_name"], set_={"actor_id": target})
    )
    await append_audit(
        session,
        actor,
        "actor.merged",
        object_type="actor",
        object_id=target,
        details={"merged": str(source), "name": src.name},
    )


async def set_parent(
    session: AsyncSession, actor: Actor, respondent_id: uuid.UUID, parent_id: uuid.UUID | None
) -> RespondentRead:
    """Record that a respondent is a subsidiary of a group (one level deep)."""
    _check_coordinator(actor)
    row = await session.get(Respondent, respondent_id)
    if row is None:
        raise NotFound("No such actor.")
    if parent_id is not None:
        parent = await session.get(Respondent, parent_id)
        if parent is None:
            raise NotFound("No such parent actor.")
        if parent.id == row.id or parent.parent_id is not None:
            raise Conflict("A group's parent must be a top-level actor other than itself.")
    row.parent_id = parent_id
    await session.flush()
    await append_audit(
        session,
        actor,
        "actor.grouped",
        object_type="actor",
        object_id=respondent_id,
        details={"parent_id": str(parent_id) if parent_id else None},
    )
    return await _respondent_read(session, respondent_id)
