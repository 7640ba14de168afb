"""Leak 1: the chain of custody must not show a generalized viewer what the record hides."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.dossiers.models import Dossier
from cases.evidence.custody import append_custody_event
from cases.evidence.jobs import process_evidence
from corps.settings import Settings
from corps.storage import Storage, storage_from_url
from testing.factories import make_case, make_person, photo_with_gps, upload

LON, LAT = 36.785123, -1.285177  # inside the quarry of the default case body


@pytest.fixture
def storage(settings: Settings) -> Storage:
    return storage_from_url(settings.storage_url)


def keys_of(node: Any) -> set[str]:
    """Every key of every object in a JSON document."""
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys_of(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys_of(v)}
    return set()


async def photographed_case(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage: Storage
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    owner = await make_person(db, settings, "paralegal")
    case = await make_case(client, owner, sensitivity="high_risk")
    item = (await upload(client, owner, case["id"], photo_with_gps(LON, LAT))).json()
    async with async_sessionmaker(db.bind)() as session, session.begin():
        await process_evidence(session, storage, uuid.UUID(item["id"]))
    return owner, case, item


async def test_custody_shows_no_capture_location_to_a_generalized_viewer(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage: Storage
) -> None:
    owner, _case, item = await photographed_case(client, db, settings, storage)
    coordinator = await make_person(db, settings, "coordinator")
    url = f"/api/v1/evidence/{item['id']}/custody"

    seen = await client.get(url, headers=coordinator.headers)
    assert seen.status_code == 200
    assert "metadata_extracted" in [link["event"] for link in seen.json()]
    assert not keys_of(seen.json()) & {"gps", "distance_to_case_m", "location_note"}
    assert f"{LAT:.4f}"[:-1] not in seen.text and f"{LON:.4f}"[:-1] not in seen.text

    own = (await client.get(url, headers=owner.headers)).json()
    extracted = next(link for link in own if link["event"] == "metadata_extracted")
    assert extracted["details"]["metadata"]["gps"] == pytest.approx(
        {"lon": LON, "lat": LAT}, abs=1e-4
    )


async def test_custody_names_a_dossier_only_to_its_own_organization(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage: Storage
) -> None:
    owner, case, item = await photographed_case(client, db, settings, storage)
    dossier = Dossier(
        organization_id=owner.organization_id,
        requested_by=owner.id,
        requester_role="paralegal",
        case_ids=[case["id"]],
        level="internal",
        formats=["evidence"],
        status="done",
    )
    db.add(dossier)
    await db.flush()
    await append_custody_event(
        db,
        uuid.UUID(item["id"]),
        "exported",
        actor_id=owner.id,
        details={"dossier_id": str(dossier.id), "level": "internal", "as": "original"},
    )
    await db.commit()
    url = f"/api/v1/evidence/{item['id']}/custody"
    coordinator = await make_person(db, settings, "coordinator")

    seen = await client.get(url, headers=coordinator.headers)
    assert seen.status_code == 200
    exported = next(link for link in seen.json() if link["event"] == "exported")
    assert str(dossier.id) not in seen.text
    assert exported["details"]["level"] == "internal"

    own = await client.get(url, headers=owner.headers)
    assert str(dossier.id) in own.text
