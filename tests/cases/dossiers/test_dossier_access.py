"""Who may ask for which dossier and see it, the rate limit, and refusals that write nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.models import Dossier
from corps.organizations.models import Organization
from corps.settings import Settings
from testing.factories import make_case, make_person
from tests.cases.dossiers.conftest import ask, run_build


async def dossier_count(db: AsyncSession, organization_id: uuid.UUID) -> int:
    return int(
        await db.scalar(
            select(func.count())
            .select_from(Dossier)
            .where(Dossier.organization_id == organization_id)
        )
        or 0
    )


def is_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"level": "internal"},
        {"level": "internal", "case_ids": [], "formats": ["pdf"]},
        {"level": "secret", "case_ids": ["00000000-0000-0000-0000-000000000001"]},
        {"level": "public", "case_ids": ["not-a-uuid"]},
        {"level": "public", "case_ids": [str(uuid.uuid4())], "formats": ["docx"]},
        {"level": "public", "case_ids": [str(uuid.uuid4())], "formats": []},
        {"level": "public", "case_ids": [str(uuid.uuid4())], "campaign_id": str(uuid.uuid4())},
        {"level": "public", "case_ids": [str(uuid.uuid4())], "colour": "red"},
    ],
)
async def test_bad_requests_are_422_and_write_nothing(
    dclient: httpx.AsyncClient, db: AsyncSession, settings: Settings, body: dict[str, object]
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    response = await ask(dclient, paralegal, **body)
    is_problem(response, 422)
    assert response.json()["errors"]
    assert await dossier_count(db, paralegal.organization_id) == 0


async def test_a_dossier_needs_a_token(dclient: httpx.AsyncClient) -> None:
    response = await dclient.post(
        "/api/v1/dossiers", json={"level": "public", "case_ids": [str(uuid.uuid4())]}
    )
    is_problem(response, 401)


async def test_another_organizations_case_is_404_naming_nothing(
    dclient: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    mine = await make_person(db, settings, "paralegal")
    theirs = await make_person(db, settings, "paralegal")
    own_case = await make_case(dclient, mine)
    other_case = await make_case(dclient, theirs)
    response = await ask(
        dclient, mine, level="internal", case_ids=[own_case["id"], other_case["id"]]
    )
    is_problem(response, 404)
    assert other_case["id"] not in response.text and own_case["id"] not in response.text
    unknown = await ask(dclient, mine, level="internal", case_ids=[str(uuid.uuid4())])
    assert unknown.json()["detail"] == response.json()["detail"]  # absent or hidden: same answer
    assert await dossier_count(db, mine.organization_id) == 0


async def test_another_organizations_dossier_is_404_on_read_and_download(
    dclient: httpx.AsyncClient, dossier_app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    org = await db.get(Organization, owner.organization_id)
    colleague = await make_person(db, settings, "org_admin", org)
    stranger = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(dclient, owner)
    queued = await ask(dclient, owner, level="internal", case_ids=[case["id"]], formats=["csv"])
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    assert queued.headers["location"] == f"/api/v1/dossiers/{queued.json()['id']}"
    url = f"/api/v1/dossiers/{queued.json()['id']}"
    is_problem(await dclient.get(f"{url}/download", headers=owner.headers), 409)
    await run_build(dossier_app, queued.json()["id"])
    for person in (owner, colleague, coordinator):
        assert (await dclient.get(url, headers=person.headers)).json()["status"] == "done"
        download = await dclient.get(f"{url}/download", headers=person.headers)
        assert download.status_code == 200 and download.content.startswith(b"PK")
        assert (
            download.headers["x-dossier-sha256"]
            == (await dclient.get(url, headers=person.headers)).json()["sha256"]
        )
        assert "attachment" in download.headers["content-disposition"]
    is_problem(await dclient.get(url, headers=stranger.headers), 404)
    is_problem(await dclient.get(f"{url}/download", headers=stranger.headers), 404)
    is_problem(await dclient.get(f"/api/v1/dossiers/{uuid.uuid4()}", headers=owner.headers), 404)


async def test_a_coordinators_dossier_does_not_reach_a_paralegal_of_the_same_organization(
    dclient: httpx.AsyncClient, dossier_app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    org = await db.get(Organization, coordinator.organization_id)
    paralegal_there = await make_person(db, settings, "paralegal", org)
    elsewhere = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, elsewhere)
    queued = await ask(
        dclient, coordinator, level="internal", case_ids=[case["id"]], formats=["csv"]
    )
    assert queued.status_code == 202, queued.text
    await run_build(dossier_app, queued.json()["id"])
    url = f"/api/v1/dossiers/{queued.json()['id']}"
    assert (await dclient.get(url, headers=coordinator.headers)).status_code == 200
    is_problem(await dclient.get(url, headers=paralegal_there.headers), 404)
    is_problem(await dclient.get(f"{url}/download", headers=paralegal_there.headers), 404)


async def test_campaigners_ask_for_partner_or_public_dossiers_of_campaigns_only(
    dclient: httpx.AsyncClient, dossier_app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    campaigner = await make_person(db, settings, "campaigner")
    first = await make_person(db, settings, "paralegal")
    second = await make_person(db, settings, "paralegal")
    cases = [await make_case(dclient, first), await make_case(dclient, second)]
    campaign = await dclient.post(
        "/api/v1/campaigns",
        headers=coordinator.headers,
        json={
            "title": "Acme quarries across borders",
            "rationale": "The same company harms several communities.",
            "target": "National Environment Agency",
            "case_ids": [c["id"] for c in cases],
        },
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    is_problem(await ask(dclient, campaigner, level="partner", case_ids=[cases[0]["id"]]), 403)
    is_problem(await ask(dclient, campaigner, level="internal", campaign_id=campaign_id), 403)
    is_problem(await ask(dclient, first, level="internal", campaign_id=campaign_id), 404)
    is_problem(await ask(dclient, campaigner, level="partner", campaign_id=str(uuid.uuid4())), 404)
    queued = await ask(dclient, campaigner, level="partner", campaign_id=campaign_id)
    assert queued.status_code == 202, queued.text
    await run_build(dossier_app, queued.json()["id"])
    status = (
        await dclient.get(f"/api/v1/dossiers/{queued.json()['id']}", headers=campaigner.headers)
    ).json()
    assert status["status"] == "done" and status["case_count"] == 2, status
    assert status["campaign_id"] == campaign_id and status["level"] == "partner"


async def test_a_third_dossier_at_once_is_429_with_retry_after(
    dclient: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    other = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    body = {"level": "internal", "case_ids": [case["id"]], "formats": ["csv"]}
    first, second = [await ask(dclient, paralegal, **body) for _ in range(2)]
    assert first.status_code == second.status_code == 202
    third = await ask(dclient, paralegal, **body)
    is_problem(third, 429)
    assert int(third.headers["retry-after"]) > 0
    assert await dossier_count(db, paralegal.organization_id) == 2
    other_case = await make_case(dclient, other)
    assert (
        await ask(dclient, other, level="public", case_ids=[other_case["id"]])
    ).status_code == 202
    # Once one is finished (here: failed), a slot is free again.
    await db.execute(
        update(Dossier).where(Dossier.id == uuid.UUID(first.json()["id"])).values(status="failed")
    )
    await db.commit()
    assert (await ask(dclient, paralegal, **body)).status_code == 202
    await db.execute(
        update(Dossier)
        .where(Dossier.organization_id.in_([paralegal.organization_id, other.organization_id]))
        .values(status="failed", error="test over")
    )
    await db.commit()


async def test_a_public_dossier_of_only_high_risk_cases_is_refused(
    dclient: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal, sensitivity="high_risk")
    is_problem(await ask(dclient, paralegal, level="public", case_ids=[case["id"]]), 422)
    assert await dossier_count(db, paralegal.organization_id) == 0
