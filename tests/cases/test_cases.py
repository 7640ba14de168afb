"""The paralegal's case record: create, read, change, archive, with offline-safe writes."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import Case, CaseEvent
from corps.audit import AuditEntry
from corps.settings import Settings
from testing.factories import QUARRY, case_body, make_case, make_org, make_person


async def test_a_paralegal_records_a_polygon_case(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    response = await client.post("/api/v1/cases", json=case_body(), headers=paralegal.headers)
    assert response.status_code == 201
    case = response.json()
    assert response.headers["etag"] == '"1"'
    assert case["organization_id"] == str(paralegal.organization_id)
    assert case["reference"].endswith("-0001") and case["reference"].count("-") >= 2
    assert case["geometry"] == QUARRY
    assert 1_200_000 < case["area_m2"] < 1_260_000  # 0.01 x 0.01 degrees near the equator
    assert case["centroid"]["type"] == "Point"
    assert case["centroid"]["coordinates"] == pytest.approx([36.785, -1.285])
    assert case["respondents"][0]["name"] == "Acme Quarries Ltd"
    assert case["version"] == 1 and case["generalized"] is False
    events = (
        await client.get(f"/api/v1/cases/{case['id']}/events", headers=paralegal.headers)
    ).json()
    assert [e["kind"] for e in events["items"]] == ["status_change"]


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [-10.97, 8.64]},
        {"type": "MultiPoint", "coordinates": [[-10.97, 8.64], [-10.95, 8.66]]},
        {"type": "LineString", "coordinates": [[6.5, 4.9], [6.52, 4.93], [6.55, 4.95]]},
        {
            "type": "MultiLineString",
            "coordinates": [[[6.5, 4.9], [6.52, 4.93]], [[6.6, 5.0], [6.62, 5.01]]],
        },
        {"type": "MultiPolygon", "coordinates": [QUARRY["coordinates"]]},
    ],
)
async def test_every_geometry_type_is_stored_as_sent(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, geometry: dict[str, object]
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal, geometry=geometry)
    assert case["geometry"] == geometry


async def test_an_invalid_polygon_is_refused_unless_repair_is_asked(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    refused = await client.post(
        "/api/v1/cases", json=case_body(geometry=bow_tie), headers=paralegal.headers
    )
    assert refused.status_code == 422
    assert "Self-intersection at (0.5, 0.5)" in refused.json()["detail"]
    count = await db.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.organization_id == paralegal.organization_id)
    )
    assert count == 0
    repaired = await client.post(
        "/api/v1/cases",
        params={"repair": "true"},
        json=case_body(geometry=bow_tie),
        headers=paralegal.headers,
    )
    assert repaired.status_code == 201
    assert repaired.json()["geometry_repaired"] is True
    assert repaired.json()["geometry"]["type"] == "MultiPolygon"


async def test_unknown_issue_type_is_a_422_and_nothing_is_written(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    response = await client.post(
        "/api/v1/cases", json=case_body(issue_types=["volcano"]), headers=paralegal.headers
    )
    assert response.status_code == 422
    assert "volcano" in response.json()["detail"]
    count = await db.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.organization_id == paralegal.organization_id)
    )
    assert count == 0


@pytest.mark.committed  # requests at once each need a connection of their own
async def test_concurrent_creates_get_unique_consecutive_references(
    app: object, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(
            *[
                client.post(
                    "/api/v1/cases",
                    json=case_body(title=f"Case number {n}"),
                    headers=paralegal.headers,
                )
                for n in range(12)
            ]
        )
    assert [r.status_code for r in responses] == [201] * 12
    numbers = sorted(int(r.json()["reference"].rsplit("-", 1)[1]) for r in responses)
    assert numbers == list(range(1, 13))


async def test_offline_replay_is_idempotent_and_a_different_body_conflicts(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    client_id = str(uuid.uuid4())
    first = await client.post(
        "/api/v1/cases", json=case_body(id=client_id), headers=paralegal.headers
    )
    again = await client.post(
        "/api/v1/cases", json=case_body(id=client_id), headers=paralegal.headers
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] == client_id
    assert first.json()["reference"] == again.json()["reference"]
    changed = await client.post(
        "/api/v1/cases",
        json=case_body(id=client_id, title="Other title"),
        headers=paralegal.headers,
    )
    assert changed.status_code == 409
    count = await db.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.organization_id == paralegal.organization_id)
    )
    assert count == 1


@pytest.mark.committed  # requests at once each need a connection of their own
async def test_concurrent_replays_of_one_offline_case_make_one_case(
    app: object, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    body = case_body(id=str(uuid.uuid4()))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(
            *[client.post("/api/v1/cases", json=body, headers=paralegal.headers) for _ in range(4)]
        )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["reference"] for r in responses}) == 1


async def test_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    url = f"/api/v1/cases/{case['id']}"
    first = await client.patch(
        url,
        json={"title": "Quarry dust, second visit"},
        headers={**paralegal.headers, "If-Match": '"1"'},
    )
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"title": "Overwrite attempt"}, headers={**paralegal.headers, "If-Match": "1"}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    now = (await client.get(url, headers=paralegal.headers)).json()
    assert now["title"] == "Quarry dust, second visit" and now["version"] == 2


@pytest.mark.committed  # time must pass between requests: now() stands still in one transaction
async def test_status_moves_along_the_cycle_and_illegal_moves_are_409(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    url = f"/api/v1/cases/{case['id']}"
    skip = await client.patch(url, json={"status": "resolved"}, headers=paralegal.headers)
    assert skip.status_code == 409 and "intake to resolved" in skip.json()["detail"]
    for status in ["investigation", "dormant", "investigation", "action", "resolved"]:
        response = await client.patch(url, json={"status": status}, headers=paralegal.headers)
        assert response.status_code == 200, response.text
    reopen = await client.patch(url, json={"status": "action"}, headers=paralegal.headers)
    assert reopen.status_code == 409
    events = (await client.get(f"{url}/events", headers=paralegal.headers)).json()["items"]
    moves = [
        (e["details"].get("from"), e["details"]["to"])
        for e in events
        if e["kind"] == "status_change"
    ]
    assert moves == [
        (None, "intake"),
        ("intake", "investigation"),
        ("investigation", "dormant"),
        ("dormant", "investigation"),
        ("investigation", "action"),
        ("action", "resolved"),
    ]


async def test_timeline_records_actions_remedies_outcomes_and_deadlines(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    url = f"/api/v1/cases/{case['id']}/events"
    entries = [
        {
            "kind": "action",
            "occurred_on": "2026-03-05",
            "description": "Letter to NEMA",
            "remedy": "administrative_complaint",
        },
        {
            "kind": "deadline",
            "occurred_on": "2026-03-05",
            "description": "NEMA must answer",
            "due_on": "2026-04-05",
        },
        {
            "kind": "outcome",
            "occurred_on": "2026-04-02",
            "description": "Dust barriers ordered",
            "remedy": "administrative_complaint",
            "outcome": "partial",
        },
    ]
    for entry in entries:
        response = await client.post(url, json=entry, headers=paralegal.headers)
        assert response.status_code == 201, response.text
    missing = await client.post(
        url, json={"kind": "deadline", "occurred_on": "2026-03-05"}, headers=paralegal.headers
    )
    assert missing.status_code == 422
    forged = await client.post(
        url, json={"kind": "status_change", "occurred_on": "2026-03-05"}, headers=paralegal.headers
    )
    assert forged.status_code == 422
    page = (await client.get(url, params={"limit": 2}, headers=paralegal.headers)).json()
    rest = (
        await client.get(url, params={"cursor": page["next_cursor"]}, headers=paralegal.headers)
    ).json()
    kinds = [e["kind"] for e in page["items"] + rest["items"]]
    assert kinds.count("status_change") == 1 and kinds[-1] == "outcome"


async def test_archiving_hides_the_case_but_keeps_it(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    url = f"/api/v1/cases/{case['id']}"
    assert (await client.delete(url, headers=paralegal.headers)).status_code == 204
    assert (await client.get(url, headers=paralegal.headers)).status_code == 404
    listed = (await client.get("/api/v1/cases", headers=paralegal.headers)).json()["items"]
    assert case["id"] not in {c["id"] for c in listed}
    kept = await db.get(Case, uuid.UUID(str(case["id"])))
    assert kept is not None and kept.archived_at is not None
    archived = await db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "case.archived", AuditEntry.object_id == case["id"]
        )
    )
    assert archived is not None and archived.actor_id == paralegal.id


async def test_reading_a_case_is_audited(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    outsider = await make_person(db, settings, "paralegal")  # another organization
    case = await make_case(client, paralegal)
    await client.get(f"/api/v1/cases/{case['id']}", headers=coordinator.headers)
    # The entry is appended by the read's own statement, for a row it returns: none for a 404.
    refused = await client.get(f"/api/v1/cases/{case['id']}", headers=outsider.headers)
    assert refused.status_code == 404
    viewers = (
        await db.scalars(
            select(AuditEntry.actor_id).where(
                AuditEntry.action == "case.viewed", AuditEntry.object_id == case["id"]
            )
        )
    ).all()
    assert viewers == [coordinator.id]


async def test_respondent_spellings_across_organizations_resolve_to_one_actor(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    a = await make_person(db, settings, "paralegal")
    b = await make_person(db, settings, "paralegal", await make_org(db, country="TZ"))
    one = await make_case(
        client, a, respondents=[{"name": "ACME Quarries Ltd.", "kind": "company"}]
    )
    two = await make_case(
        client, b, country="TZ", respondents=[{"name": "Acme Quarries Limited", "kind": "company"}]
    )
    assert one["respondents"][0]["actor_id"] == two["respondents"][0]["actor_id"]
    assert two["respondents"][0]["name"] == "Acme Quarries Limited"


async def test_a_change_of_geometry_recomputes_area_and_centroid(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    point = {"type": "Point", "coordinates": [36.8, -1.3]}
    response = await client.patch(
        f"/api/v1/cases/{case['id']}", json={"geometry": point}, headers=paralegal.headers
    )
    assert response.status_code == 200
    assert response.json()["area_m2"] == 0
    assert response.json()["centroid"]["coordinates"] == [36.8, -1.3]
    status_events = await db.scalar(
        select(func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.case_id == uuid.UUID(str(case["id"])))
    )
    assert status_events == 1
