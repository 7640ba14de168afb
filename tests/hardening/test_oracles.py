"""Finding 8: reused case ids and taken emails do not reveal another organization's objects."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_case, make_person


async def test_a_case_id_of_another_organization_answers_like_any_unusable_id(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    prober = await make_person(db, settings, "paralegal")
    theirs = await make_case(client, owner, id=str(uuid.uuid4()))
    mine = await make_case(client, prober, id=str(uuid.uuid4()))
    archived = await make_case(client, prober, id=str(uuid.uuid4()))
    gone = await client.delete(f"/api/v1/cases/{archived['id']}", headers=prober.headers)
    assert gone.status_code == 204
    probe = await client.post(
        "/api/v1/cases", json=case_body(id=theirs["id"]), headers=prober.headers
    )
    reused = await client.post(
        "/api/v1/cases", json=case_body(id=archived["id"]), headers=prober.headers
    )
    assert probe.status_code == reused.status_code == 422, probe.text
    assert probe.json() == reused.json()
    assert probe.json()["errors"][0]["loc"] == ["body", "id"]
    own_conflict = await client.post(
        "/api/v1/cases", json=case_body(id=mine["id"], title="Else"), headers=prober.headers
    )
    assert own_conflict.status_code == 409  # one's own case: the contract's 409 stays


async def test_a_taken_email_is_409_only_within_ones_own_organization(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org_admin = await make_person(db, settings, "org_admin")
    stranger = await make_person(db, settings, "paralegal")

    def body(email: str) -> dict[str, object]:
        return {
            "email": email,
            "name": "N",
            "password": "long-enough-password",
            "role": "paralegal",
        }

    made = await client.post(
        "/api/v1/users",
        json=body(f"new-{uuid.uuid4().hex[:8]}@example.org"),
        headers=org_admin.headers,
    )
    assert made.status_code == 201
    own = await client.post(
        "/api/v1/users", json=body(made.json()["email"]), headers=org_admin.headers
    )
    assert own.status_code == 409
    elsewhere = await client.post(
        "/api/v1/users", json=body(stranger.email), headers=org_admin.headers
    )
    assert elsewhere.status_code == 422, elsewhere.text
    assert "exists" not in elsewhere.json()["detail"]
