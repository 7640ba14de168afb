"""The status machine and the case timeline."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CaseEvent
from cases.schemas import EventCreate
from cases.view import case_view
from cases.visibility import editable_case, readable_case
from corps.audit import append_audit
from corps.auth.actor import Actor
from corps.errors import Conflict
from corps.pagination import Page, PageParams, keyset_page

OPEN_STATES = ("intake", "investigation", "action")
# intake -> investigation -> action -> resolved | closed; a case may be closed from any open
# state (withdrawn, out of scope); dormant from any open state and back to one.
TRANSITIONS: dict[str, frozenset[str]] = {
    "intake": frozenset({"investigation", "closed", "dormant"}),
    "investigation": frozenset({"action", "closed", "dormant"}),
    "action": frozenset({"resolved", "closed", "dormant"}),
    "dormant": frozenset({*OPEN_STATES, "closed"}),
    "resolved": frozenset(),
    "closed": frozenset(),
}


def check_transition(current: str, new: str) -> None:
    """Raise 409 unless moving from `current` to `new` is allowed."""
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (the case is finished)"
        raise Conflict(f"A case cannot move from {current} to {new}; allowed next: {allowed}.")


def status_event(
    case_id: uuid.UUID,
    actor: Actor,
    old: str | None,
    new: str,
    note: str | None = None,
    *,
    on: date | None = None,
) -> CaseEvent:
    """The timeline entry that records a status change (or the opening, when old is None)."""
    text = note or (f"Status changed from {old} to {new}." if old else f"Case opened as {new}.")
    return CaseEvent(
        case_id=case_id,
        kind="status_change",
        occurred_on=on or date.today(),
        description=text,
        details={"from": old, "to": new},
        created_by=actor.user_id,
    )


async def list_events(
    session: AsyncSession, case_id: uuid.UUID, page: PageParams
) -> Page[CaseEvent]:
    """One page of a case's timeline, oldest first."""
    return await keyset_page(
        session,
        select(CaseEvent).where(CaseEvent.case_id == case_id),
        page,
        key=(CaseEvent.occurred_on, CaseEvent.created_at, CaseEvent.id),
        parsers=(date.fromisoformat, datetime.fromisoformat, uuid.UUID),
    )


async def add_event(
    session: AsyncSession, actor: Actor, case_id: uuid.UUID, body: EventCreate
) -> CaseEvent:
    """Add an entry to the timeline of a case the actor may change."""
    case = await editable_case(session, actor, case_id)
    event = CaseEvent(case_id=case.id, created_by=actor.user_id, details={}, **body.model_dump())
    session.add(event)
    case.updated_at = func.now()
    await session.flush()
    await session.refresh(event)
    await append_audit(
        session,
        actor,
        "case.event_added",
        object_type="case",
        object_id=case.id,
        details={"event_id": str(event.id), "kind": event.kind},
    )
    return event


async def events_page(
    session: AsyncSession, actor: Actor, case_id: uuid.UUID, page: PageParams
) -> Page[CaseEvent]:
    """One page of the timeline of a case the actor may read, as the viewer may see it.

    Where the viewer sees the case generalized, an event keeps its kind, dates, remedy and
    outcome codes and its public note in place of its description; its details are withheld
    (free text names places and people, as titles do).
    """
    case = await readable_case(session, actor, case_id)
    events = await list_events(session, case.id, page)
    view = case_view()
    if await session.scalar(select(view.c.generalized).where(view.c.id == case.id)):
        for event in events.items:
            session.expunge(event)  # what is shown changes, never the record
            event.description = event.public_note or ""
            event.details = {}
    return events
