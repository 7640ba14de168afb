"""Finding 6: a campaigner opens a campaign and sees its cases (was a 500)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person


async def test_a_campaigner_opens_a_campaign_with_its_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    other = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    campaigner = await make_person(db, settings, "campaigner")
    first, second = await make_case(client, paralegal), await make_case(client, other)
    await make_case(client, paralegal)  # not in the campaign
    created = await client.post(
        "/api/v1/campaigns",
        headers=coordinator.headers,
        json={"title": "Dust", "rationale": "Schools", "case_ids": [first["id"], second["id"]]},
    )
    assert created.status_code == 201, created.text
    response = await client.get(
        f"/api/v1/campaigns/{created.json()['id']}", headers=campaigner.headers
    )
    assert response.status_code == 200, response.text
    campaign = response.json()
    assert sorted(c["id"] for c in campaign["cases"]) == sorted([first["id"], second["id"]])
    assert campaign["case_count"] == 2 and campaign["organization_count"] == 2
