"""Case logic: create (idempotent), read, update with optimistic concurrency, archive, list."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import DateTime, Integer, Select, Uuid, any_, bindparam, func, select, text, tuple_
from sqlalchemy import update as update_stmt
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.advocacy.jobs import suggest_soon
from cases.filters import CaseFilters
from cases.models import Case, IssueType
from cases.projection import case_rows
from cases.respondents import set_case_respondents
from cases.schemas import CaseCreate, CaseRead, CaseUpdate
from cases.search import first_matches
from cases.timeline import check_transition, status_event
from cases.view import case_view
from cases.visibility import can_edit, editable_case
from corps.audit import (
    APPEND_COLUMN,
    append_audit,
    append_params,
    appended,
    canonical_json,
    new_entry,
)
from corps.auth.actor import Actor, Role
from corps.auth.policy import records_cases
from corps.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from corps.organizations.models import Organization
from corps.pagination import Page, PageParams, encode_cursor, read_cursor
from corps.statements import built_once
from geo.geometry import to_ewkt
from geo.geometry_work import check_geometry_bounded

NEXT_REFERENCE = text(
    "INSERT INTO case_reference_counters (organization_id, year, last_number) "
    "VALUES (:org, :year, 1) ON CONFLICT (organization_id, year) "
    "DO UPDATE SET last_number = case_reference_counters.last_number + 1 RETURNING last_number"
)


def _body_sha256(body: CaseCreate, repair: bool) -> str:
    payload = body.model_dump(mode="json", exclude={"id"}) | {"repair": repair}
    try:
        return hashlib.sha256(canonical_json(payload)).hexdigest()
    except TypeError as exc:  # orjson refuses integers past 64 bits: no coordinate is one
        raise Unprocessable(f"The body holds a number too large to be a value: {exc}") from exc


async def _check_issue_types(session: AsyncSession, codes: list[str]) -> list[str]:
    known = set(
        await session.scalars(
            select(IssueType.code).where(IssueType.code.in_(codes), IssueType.active)
        )
    )
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise Unprocessable(
            f"Unknown issue type: {', '.join(unknown)}. See GET /api/v1/issue-types.",
            extra={
                "errors": [
                    {"loc": ["body", "issue_types"], "msg": f"unknown: {c}"} for c in unknown
                ]
            },
        )
    return list(dict.fromkeys(codes))


async def _next_reference(session: AsyncSession, organization: Organization) -> str:
    year = datetime.now(UTC).year
    number = await session.scalar(NEXT_REFERENCE, {"org": organization.id, "year": year})
    return f"{organization.slug.upper()}-{year}-{number:04d}"


def _check_writer(actor: Actor) -> None:
    records_cases.require(actor)


def _read_statement(*, audited: bool) -> Select[Any]:
    view = case_view()
    statement = case_rows(view).where(view.c.id == bindparam("case_id", type_=Uuid, required=True))
    # An audited read appends its entry in the same statement, once for the row it returns.
    return statement.add_columns(APPEND_COLUMN.label("audit_id")) if audited else statement


async def read(session: AsyncSession, actor: Actor, case_id: uuid.UUID, *, audit: bool) -> CaseRead:
    """One case as the actor may see it; 404 when it is not theirs to see."""
    statement = built_once(("case-read", audit), lambda: _read_statement(audited=audit))
    params: dict[str, Any] = {"case_id": case_id}
    if audit:
        entry = new_entry(session, actor, "case.viewed", object_type="case", object_id=case_id)
        params |= append_params(entry)
    row = (await session.execute(statement, params)).one_or_none()
    if row is None:
        raise NotFound("No such case.")
    values = dict(row._mapping)
    if audit:
        appended(session, entry, values.pop("audit_id"))
    return CaseRead.model_validate(values)


async def create(
    session: AsyncSession, actor: Actor, body: CaseCreate, *, repair: bool = False
) -> tuple[CaseRead, bool]:
    """Record a case; return it and whether it is new (a replayed offline create is not)."""
    _check_writer(actor)
    organization_id = actor.organization_id
    if body.organization_id and body.organization_id != actor.organization_id:
        if actor.role != Role.admin:
            raise NotFound("No such organization.")
        organization_id = body.organization_id
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("No such organization.")
    body_sha256 = _body_sha256(body, repair)
    if body.id and (replay := await _replayed(session, actor, body.id, body_sha256)):
        return replay, False
    checked = await check_geometry_bounded(body.geometry, repair=repair)
    issue_types = await _check_issue_types(session, body.issue_types)
    reference = await _next_reference(session, organization)
    case_id = await session.scalar(
        insert(Case)
        .values(
            id=body.id or uuid.uuid4(),
            organization_id=organization_id,
            reference=reference,
            title=body.title,
            public_title=body.public_title,
            summary=body.summary,
            issue_types=issue_types,
            status=body.status,
            sensitivity=body.sensitivity,
            geometry=func.ST_GeomFromEWKT(to_ewkt(checked)),
            geometry_repaired=checked.repaired,
            location_precision=body.location_precision,
            place_name=body.place_name,
            country=body.country,
            people_affected=body.people_affected,
            opened_on=body.opened_on,
            client_body_sha256=body_sha256,
            created_by=actor.user_id,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Case.id)
    )
    if case_id is None:  # the same client id raced in from a retry and committed first
        if body.id and (replay := await _replayed(session, actor, body.id, body_sha256)):
            return replay, False
        raise _unusable_id()
    case = await session.get_one(Case, case_id)
    respondents = [(r.name, r.kind) for r in body.respondents]
    case.respondent_names = await set_case_respondents(
        session, case.id, respondents, country=case.country
    )
    session.add(status_event(case.id, actor, None, case.status, on=body.opened_on))
    await session.flush()
    await append_audit(
        session,
        actor,
        "case.created",
        object_type="case",
        object_id=case.id,
        details={"reference": case.reference, "repaired": checked.repaired},
    )
    suggest_soon(session)
    return await read(session, actor, case.id, audit=False), True


async def _replayed(
    session: AsyncSession, actor: Actor, case_id: uuid.UUID, body_sha256: str
) -> CaseRead | None:
    existing = await session.scalar(select(Case).where(Case.id == case_id))
    if existing is None:
        return None
    if existing.archived_at is not None or not can_edit(actor, existing):
        raise _unusable_id()  # whose it is, or whether it exists at all, is not the actor's
    if existing.client_body_sha256 != body_sha256:
        raise Conflict("A different case with this id already exists.")
    return await read(session, actor, case_id, audit=False)


def _unusable_id() -> Unprocessable:
    """The answer for a client id the actor cannot reuse: the same whoever holds it."""
    msg = "this id cannot be used for a new case; send a new random UUID, or no id"
    return Unprocessable(f"id: {msg}.", extra={"errors": [{"loc": ["body", "id"], "msg": msg}]})


def parse_if_match(raw: str | None) -> int | None:
    """The version an If-Match header names (`3`, `"3"` or `W/"3"`), or None."""
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed(f"If-Match must carry a case version, not {raw!r}.")
    return int(value)


async def update(
    session: AsyncSession,
    actor: Actor,
    case_id: uuid.UUID,
    body: CaseUpdate,
    *,
    if_match: int | None,
    repair: bool = False,
) -> CaseRead:
    """Change a case; a stale If-Match is a 412, an illegal status move a 409."""
    case = await editable_case(session, actor, case_id)
    if if_match is not None and if_match != case.version:
        raise PreconditionFailed(
            f"The case is at version {case.version}; you sent changes to version {if_match}.",
            headers={"ETag": f'"{case.version}"'},
        )
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    changes.pop("status_note", None)
    if "status" in changes and changes["status"] != case.status:
        check_transition(case.status, changes["status"])
        session.add(status_event(case.id, actor, case.status, changes["status"], body.status_note))
    if "geometry" in changes:
        checked = await check_geometry_bounded(changes.pop("geometry"), repair=repair)
        case.geometry = WKTElement(to_ewkt(checked), extended=True)
        case.geometry_repaired = checked.repaired
    if "issue_types" in changes:
        changes["issue_types"] = await _check_issue_types(session, changes["issue_types"])
    if "respondents" in changes:
        pairs = [(r["name"], r["kind"]) for r in changes.pop("respondents")]
        country = changes.get("country") or case.country
        case.respondent_names = await set_case_respondents(session, case.id, pairs, country=country)
    for field, value in changes.items():
        setattr(case, field, value)
    case.version += 1
    case.updated_at = func.now()
    await session.flush()
    await append_audit(
        session,
        actor,
        "case.updated",
        object_type="case",
        object_id=case.id,
        details={"fields": sorted(body.model_fields_set), "version": case.version},
    )
    suggest_soon(session)
    return await read(session, actor, case.id, audit=False)


async def archive(
    session: AsyncSession, actor: Actor, case_id: uuid.UUID, *, if_match: int | None
) -> None:
    """Hide a case from every list and read; nothing is destroyed."""
    case = await editable_case(session, actor, case_id)
    if if_match is not None and if_match != case.version:
        raise PreconditionFailed(f"The case is at version {case.version}.")
    case.archived_at = func.now()
    case.updated_at = func.now()
    case.version += 1
    await session.flush()
    await append_audit(
        session,
        actor,
        "case.archived",
        object_type="case",
        object_id=case.id,
        details={"reference": case.reference},
    )
    suggest_soon(session)


async def touch(session: AsyncSession, case_id: uuid.UUID) -> None:
    """Mark a case as changed for offline sync (its timeline or evidence grew)."""
    await session.execute(update_stmt(Case).where(Case.id == case_id).values(updated_at=func.now()))


def _page_statement(
    filters: CaseFilters, *, syncing: bool, after: bool, among: bool = False
) -> Select[Any]:
    """The page's SELECT for every request of the same filter shape; values are parameters."""
    view = filters.view(bound=False)
    stmt = case_rows(view).where(*filters.clauses(view, bound=False))
    if among:  # the ids of the search's matches (see list_page)
        stmt = stmt.where(view.c.id == any_(bindparam("among", type_=ARRAY(Uuid), required=True)))
    key = (view.c.updated_at, view.c.id) if syncing else (view.c.created_at, view.c.id)
    if after:
        cursor = tuple_(
            bindparam("after_at", type_=DateTime(timezone=True), required=True),
            bindparam("after_id", type_=Uuid, required=True),
        )
        stmt = stmt.where(tuple_(*key) > cursor if syncing else tuple_(*key) < cursor)
    order = [k.asc() if syncing else k.desc() for k in key]
    return stmt.order_by(*order).limit(bindparam("page_limit", type_=Integer, required=True))


async def list_page(
    session: AsyncSession, actor: Actor, filters: CaseFilters, page: PageParams
) -> Page[CaseRead]:
    """One page of cases; newest first, or oldest change first when syncing (updated_after)."""
    syncing = filters.updated_after is not None
    params = filters.params() | {"page_limit": page.limit + 1}
    after = None
    if page.after:
        after = read_cursor(page.after, datetime.fromisoformat, uuid.UUID)
        params["after_at"], params["after_id"] = after
    matches = None
    if filters.q:
        # The search indexes find the first matches (cases/search.py); the page reads them by id.
        matches = await first_matches(
            session, filters, limit=page.limit, syncing=syncing, after=after
        )
        if not matches.ids:
            return Page(items=[])  # nothing the viewer may read matches
        params["among"] = matches.ids
    rows = await _page_rows(session, filters, params, syncing=syncing, among=matches is not None)
    if matches is not None and not matches.complete and len(rows) <= page.limit:
        # Too few of the first matches passed the other filters: walk the list with the view's
        # own matching, as every search did before the indexes.
        rows = await _page_rows(session, filters, params, syncing=syncing, among=False)
    items = [CaseRead.model_validate(dict(row._mapping)) for row in rows[: page.limit]]
    cursor = None
    if len(rows) > page.limit:
        last = items[-1]
        cursor = encode_cursor(
            [(last.updated_at if syncing else last.created_at).isoformat(), str(last.id)]
        )
    return Page(items=items, next_cursor=cursor)


async def _page_rows(
    session: AsyncSession,
    filters: CaseFilters,
    params: dict[str, Any],
    *,
    syncing: bool,
    among: bool,
) -> list[Any]:
    after = "after_at" in params
    statement = built_once(
        ("case-page", filters.shape(), syncing, after, among),
        lambda: _page_statement(filters, syncing=syncing, after=after, among=among),
    )
    if not among:
        params = {k: v for k, v in params.items() if k != "among"}
    return list((await session.execute(statement, params)).all())
