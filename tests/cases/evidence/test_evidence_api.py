"""The evidence locker end to end: upload, metadata, download, custody, verification."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cases.evidence.jobs import process_evidence, verify_locker
from cases.evidence.models import Evidence
from cases.evidence.service import verify_item
from corps.app import create_app
from corps.audit import AuditEntry
from corps.settings import Settings
from corps.storage import Storage, storage_from_url
from testing.factories import make_case, make_person, photo_with_gps, upload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def storage(settings: Settings) -> Storage:
    return storage_from_url(settings.storage_url)


def stored_files(storage_dir: Path) -> set[Path]:
    return {p for p in storage_dir.rglob("*") if p.is_file()}


async def test_a_photo_is_received_hashed_described_and_downloaded_intact(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage: Storage
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    photo = photo_with_gps(36.7853, -1.2861)
    response = await upload(
        client,
        paralegal,
        case["id"],
        photo,
        filename="dust.jpg",
        description="Dust on the classroom desks",
        captured_at="2026-03-03T10:00:00Z",
        sha256=hashlib.sha256(photo).hexdigest().upper(),
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["sha256"] == hashlib.sha256(photo).hexdigest()
    assert item["size"] == len(photo) and item["media_type"] == "image/jpeg"
    assert item["original_filename"] == "dust.jpg" and item["processed"] is False

    async with async_sessionmaker(db.bind, expire_on_commit=False)() as session, session.begin():
        first = await process_evidence(session, storage, uuid.UUID(item["id"]))
    async with async_sessionmaker(db.bind, expire_on_commit=False)() as session, session.begin():
        second = await process_evidence(session, storage, uuid.UUID(item["id"]))
    assert first["skipped"] is False and second == {"skipped": True}

    described = (
        await client.get(f"/api/v1/evidence/{item['id']}", headers=paralegal.headers)
    ).json()
    meta = described["metadata"]
    assert meta["gps"] == pytest.approx({"lon": 36.7853, "lat": -1.2861}, abs=1e-4)
    assert meta["device"] == "TestCam Field X1" and meta["taken_at"] == "2026-03-03T10:00:00"
    assert (
        meta["distance_to_case_m"] == 0
        and "inside the case area on 3 March 2026" in meta["location_note"]
    )

    download = await client.get(f"/api/v1/evidence/{item['id']}/content", headers=paralegal.headers)
    assert download.status_code == 200 and download.content == photo
    assert download.headers["x-evidence-sha256"] == item["sha256"]
    assert "attachment" in download.headers["content-disposition"]

    chain = (
        await client.get(f"/api/v1/evidence/{item['id']}/custody", headers=paralegal.headers)
    ).json()
    assert [link["event"] for link in chain] == [
        "received",
        "metadata_extracted",
        "viewed",  # the record, opened above
        "downloaded",
        "viewed",  # the chain itself
    ]
    assert all(chain[i]["prev_hash"] == chain[i - 1]["hash"] for i in range(1, len(chain)))
    verified = (
        await client.post(f"/api/v1/evidence/{item['id']}/verify", headers=paralegal.headers)
    ).json()
    assert verified == {
        "ok": True,
        "sha256": item["sha256"],
        "stored_sha256": item["sha256"],
        "chain_ok": True,
        "problems": [],
    }


async def test_a_photo_taken_far_away_is_flagged(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage: Storage
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    item = (await upload(client, paralegal, case["id"], photo_with_gps(39.66, -4.05))).json()
    async with async_sessionmaker(db.bind)() as session, session.begin():
        await process_evidence(session, storage, uuid.UUID(item["id"]))
    meta = (await client.get(f"/api/v1/evidence/{item['id']}", headers=paralegal.headers)).json()[
        "metadata"
    ]
    assert 400_000 < meta["distance_to_case_m"] < 450_000
    assert "check that this photo belongs to this case" in meta["location_warning"]


@pytest.mark.committed  # an app of its own, with other settings, reads them
async def test_one_byte_over_the_cap_is_413_and_nothing_is_kept(
    db: AsyncSession, settings: Settings, storage_dir: Path
) -> None:
    small = create_app(settings.model_copy(update={"max_upload_mb": 1}))
    paralegal = await make_person(db, settings, "paralegal")
    async with LifespanManager(small):
        transport = httpx.ASGITransport(app=small)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            case = await make_case(client, paralegal)
            before = stored_files(storage_dir)
            at_cap = PDF + b"%" * (1024 * 1024 - len(PDF))
            over = at_cap + b"%"
            refused = await upload(
                client, paralegal, case["id"], over, filename="big.pdf", kind="document"
            )
            assert refused.status_code == 413, refused.text
            assert stored_files(storage_dir) == before
            accepted = await upload(
                client, paralegal, case["id"], at_cap, filename="ok.pdf", kind="document"
            )
            assert accepted.status_code == 201
    rows = await db.scalar(
        select(func.count())
        .select_from(Evidence)
        .where(Evidence.case_id == uuid.UUID(str(case["id"])))
    )
    assert rows == 1


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, "holiday.jpg"),
        (b"#!/bin/sh\nrm -rf /\n", "notes.csv"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "report.pdf"),
    ],
)
async def test_a_renamed_executable_or_page_is_415_and_nothing_is_kept(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    storage_dir: Path,
    data: bytes,
    name: str,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    before = stored_files(storage_dir)
    response = await upload(client, paralegal, case["id"], data, filename=name)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert stored_files(storage_dir) == before


async def test_a_wrong_declared_hash_is_422_and_nothing_is_kept(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage_dir: Path
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    photo = photo_with_gps(36.78, -1.28, taken="2026:05:05 05:05:05")
    before = stored_files(storage_dir)
    response = await upload(client, paralegal, case["id"], photo, sha256="0" * 64)
    assert response.status_code == 422 and "changed on the way" in response.json()["detail"]
    assert stored_files(storage_dir) == before
    listed = (
        await client.get(f"/api/v1/cases/{case['id']}/evidence", headers=paralegal.headers)
    ).json()
    assert listed["items"] == []


async def test_bad_form_fields_are_422_and_nothing_is_kept(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage_dir: Path
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    before = stored_files(storage_dir)
    photo = photo_with_gps(36.78, -1.28, taken="2026:06:06 06:06:06")
    response = await upload(client, paralegal, case["id"], photo, kind="selfie")
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "kind"]
    no_file = await client.post(
        f"/api/v1/cases/{case['id']}/evidence",
        headers=paralegal.headers,
        data={"kind": "photo"},
        files={"other": ("", b"", "text/plain")},
    )
    assert no_file.status_code in (415, 422)
    assert stored_files(storage_dir) == before


async def test_a_path_traversal_filename_is_kept_only_as_a_name(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage_dir: Path
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    response = await upload(
        client,
        paralegal,
        case["id"],
        PDF + b"traversal",
        filename="../../../../etc/cron.d/evil.pdf",
        kind="document",
    )
    assert response.status_code == 201
    assert response.json()["original_filename"] == "evil.pdf"
    assert not Path("/etc/cron.d/evil.pdf").exists()
    sha = response.json()["sha256"]
    assert (storage_dir / "sha256" / sha[:2] / sha[2:4] / sha).is_file()


async def test_the_same_file_twice_is_stored_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage_dir: Path
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    data = PDF + b"same twice"
    first = (
        await upload(client, paralegal, case["id"], data, filename="a.pdf", kind="document")
    ).json()
    second = (
        await upload(client, paralegal, case["id"], data, filename="b.pdf", kind="document")
    ).json()
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    copies = [p for p in storage_dir.rglob(first["sha256"]) if p.is_file()]
    assert len(copies) == 1


async def test_a_flipped_byte_in_storage_is_reported_by_verify_and_the_nightly_check(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    storage: Storage,
    storage_dir: Path,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    item = (await upload(client, paralegal, case["id"], PDF + b"flip me", kind="document")).json()
    sha = item["sha256"]
    path = storage_dir / "sha256" / sha[:2] / sha[2:4] / sha
    os.chmod(path, 0o644)
    raw = bytearray(path.read_bytes())
    raw[10] ^= 0x01
    path.write_bytes(bytes(raw))
    result = (
        await client.post(f"/api/v1/evidence/{item['id']}/verify", headers=paralegal.headers)
    ).json()
    assert result["ok"] is False and result["chain_ok"] is True
    assert result["stored_sha256"] != sha and "hash to" in result["problems"][0]
    summary = await verify_locker(async_sessionmaker(db.bind, expire_on_commit=False), storage)
    assert item["id"] in {f["evidence_id"] for f in summary["failed"]}
    audited = await db.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "evidence.locker_verified")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    assert audited is not None and audited.details["failed_count"] >= 1


@pytest.mark.committed  # the forgery runs in a transaction of its own, rolled back
async def test_custody_rows_cannot_be_edited_and_a_forged_chain_is_detected(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    storage: Storage,
    engine: AsyncEngine,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    item = (await upload(client, paralegal, case["id"], PDF + b"custody", kind="document")).json()
    await client.get(f"/api/v1/evidence/{item['id']}/content", headers=paralegal.headers)
    await client.post(f"/api/v1/evidence/{item['id']}/verify", headers=paralegal.headers)
    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(
            text("UPDATE custody_events SET actor_id = NULL WHERE evidence_id = :id"),
            {"id": item["id"]},
        )
    await db.rollback()
    with pytest.raises(DBAPIError, match="never deleted"):
        await db.execute(text("DELETE FROM evidence WHERE id = :id"), {"id": item["id"]})
    await db.rollback()
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(bind=conn)
        await conn.execute(text("ALTER TABLE custody_events DISABLE TRIGGER USER"))
        # Someone hides that the file was downloaded: the link after it no longer fits.
        await conn.execute(
            text("DELETE FROM custody_events WHERE evidence_id = :id AND event = 'downloaded'"),
            {"id": item["id"]},
        )
        evidence = await session.get_one(Evidence, uuid.UUID(item["id"]))
        result = await verify_item(session, storage, evidence, actor_id=None)
        await transaction.rollback()
    assert result.ok is False and result.chain_ok is False
    assert any("missing" in p for p in result.problems)


async def test_another_organizations_evidence_is_404_everywhere(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    case = await make_case(client, owner)
    item = (await upload(client, owner, case["id"], PDF + b"private", kind="document")).json()
    for role in ["paralegal", "org_admin", "campaigner"]:
        outsider = await make_person(db, settings, role)
        for method, url in [
            ("GET", f"/api/v1/evidence/{item['id']}"),
            ("GET", f"/api/v1/evidence/{item['id']}/content"),
            ("GET", f"/api/v1/evidence/{item['id']}/custody"),
            ("POST", f"/api/v1/evidence/{item['id']}/verify"),
            ("GET", f"/api/v1/cases/{case['id']}/evidence"),
        ]:
            response = await client.request(method, url, headers=outsider.headers)
            assert response.status_code == 404, (role, method, url)
        sneaked = await upload(client, outsider, case["id"], PDF + b"planted", kind="document")
        assert sneaked.status_code == 404
    chain = (
        await client.get(f"/api/v1/evidence/{item['id']}/custody", headers=owner.headers)
    ).json()
    assert [c["event"] for c in chain] == ["received", "viewed"]


async def test_a_coordinator_gets_no_capture_location_of_another_orgs_high_risk_case(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage: Storage
) -> None:
    owner = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(client, owner, sensitivity="high_risk")
    item = (await upload(client, owner, case["id"], photo_with_gps(36.7851, -1.2851))).json()
    async with async_sessionmaker(db.bind)() as session, session.begin():
        await process_evidence(session, storage, uuid.UUID(item["id"]))
    seen = (await client.get(f"/api/v1/evidence/{item['id']}", headers=coordinator.headers)).json()
    assert "gps" not in seen["metadata"] and "location_note" not in seen["metadata"]
    content = await client.get(
        f"/api/v1/evidence/{item['id']}/content", headers=coordinator.headers
    )
    assert content.status_code == 403
    own = (await client.get(f"/api/v1/evidence/{item['id']}", headers=owner.headers)).json()
    assert "gps" in own["metadata"]
    upload_by_coordinator = await upload(
        client, coordinator, case["id"], PDF + b"x", kind="document"
    )
    assert upload_by_coordinator.status_code == 403
