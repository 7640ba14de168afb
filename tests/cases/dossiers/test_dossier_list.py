"""The dossier list and the read rule: isolated like every list, newest first, 410 once expired."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.models import Dossier
from cases.dossiers.settings import dossier_settings
from corps.settings import Settings
from testing.factories import make_case, make_person
from tests.cases.dossiers.conftest import ask, built_zip


async def _listed(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> set[str]:
    response = await client.get("/api/v1/dossiers", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.mark.committed  # time must pass between requests: now() stands still in one transaction
async def test_a_user_lists_their_dossiers_newest_first_by_pages(
    dclient: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    made = []
    for level in ("internal", "partner", "public"):
        response = await ask(dclient, paralegal, case_ids=[case["id"]], level=level)
        assert response.status_code == 202, response.text
        made.append(response.json()["id"])
        # Rate limit: two in progress per organization; mark each done so the next is taken.
        await db.execute(
            update(Dossier)
            .where(Dossier.id == uuid.UUID(made[-1]))
            .values(status="failed", error="test")
        )
        await db.commit()
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await dclient.get("/api/v1/dossiers", headers=paralegal.headers, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))  # newest first, each once
    assert (await dclient.get("/api/v1/dossiers")).status_code == 401


async def test_another_organizations_dossier_is_not_listed_and_opening_it_is_404(
    dclient: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    mine = await make_person(db, settings, "paralegal")
    theirs = await make_person(db, settings, "paralegal")
    their_campaigner = await make_person(db, settings, "campaigner")
    case = await make_case(dclient, mine)
    response = await ask(dclient, mine, case_ids=[case["id"]], level="public")
    dossier_id = response.json()["id"]
    assert dossier_id in await _listed(dclient, mine.headers)
    for other in (theirs, their_campaigner):
        assert dossier_id not in await _listed(dclient, other.headers)
        for path in (f"/api/v1/dossiers/{dossier_id}", f"/api/v1/dossiers/{dossier_id}/download"):
            opened = await dclient.get(path, headers=other.headers)
            assert opened.status_code == 404, opened.text
            assert dossier_id not in opened.text


async def test_a_coordinator_of_another_organization_reads_a_dossier_only_at_a_level_they_see(
    dclient: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    """Issue 9's leak 3: an internal dossier would show a high-risk place exactly."""
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    admin = await make_person(db, settings, "admin")
    risky = await make_case(dclient, paralegal, sensitivity="high_risk")
    plain = await make_case(dclient, paralegal)
    ids = {}
    for name, case_ids, level in [
        ("internal_risky", [risky["id"], plain["id"]], "internal"),
        ("partner_risky", [risky["id"], plain["id"]], "partner"),
        ("internal_plain", [plain["id"]], "internal"),
    ]:
        response = await ask(dclient, paralegal, case_ids=case_ids, level=level)
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
        await db.execute(
            update(Dossier).where(Dossier.id == uuid.UUID(ids[name])).values(status="failed")
        )
        await db.commit()
    listed = await _listed(dclient, coordinator.headers, limit=500)
    assert ids["internal_risky"] not in listed
    assert {ids["partner_risky"], ids["internal_plain"]} <= listed
    hidden = await dclient.get(
        f"/api/v1/dossiers/{ids['internal_risky']}", headers=coordinator.headers
    )
    assert hidden.status_code == 404
    for name in ("partner_risky", "internal_plain"):
        seen = await dclient.get(f"/api/v1/dossiers/{ids[name]}", headers=coordinator.headers)
        assert seen.status_code == 200, seen.text
    # An admin sees every place exactly, so every level is theirs to read.
    assert set(ids.values()) <= await _listed(dclient, admin.headers, limit=500)
    # The requester's organization reads its own dossier, whatever the level.
    assert set(ids.values()) <= await _listed(dclient, paralegal.headers)


async def test_a_finished_dossier_downloads_until_it_expires_then_410(
    dclient: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    dossier_app: FastAPI,
    tmp_path: Path,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    status, _ = await built_zip(
        dclient,
        dossier_app,
        paralegal,
        tmp_path,
        case_ids=[case["id"]],
        level="partner",
        formats=["geojson"],
    )
    days = dossier_settings().dossier_retention_days
    expires = datetime.fromisoformat(status["expires_at"])
    finished = datetime.fromisoformat(status["finished_at"])
    assert expires - finished == timedelta(days=days)
    url = f"/api/v1/dossiers/{status['id']}/download"
    again = await dclient.get(url, headers=paralegal.headers)
    assert again.status_code == 200
    await db.execute(
        update(Dossier)
        .where(Dossier.id == uuid.UUID(status["id"]))
        .values(finished_at=datetime.now(UTC) - timedelta(days=days, minutes=1))
    )
    await db.commit()
    gone = await dclient.get(url, headers=paralegal.headers)
    assert gone.status_code == 410, gone.text
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert "expired" in gone.json()["detail"]
    shown = await dclient.get(f"/api/v1/dossiers/{status['id']}", headers=paralegal.headers)
    assert shown.json()["download_url"] is None
