"""Evidence changed in storage stops the dossier, names the item, and leaves no bundle."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.service import bundle_key
from cases.evidence.models import CustodyEvent
from corps.settings import Settings
from testing.factories import make_case, make_person, upload
from tests.cases.dossiers.conftest import ask, run_build


def flip_byte(path: Path, offset: int) -> int:
    """Flip one byte of a read-only stored file; return the original byte."""
    os.chmod(path, 0o644)
    with path.open("r+b") as fh:
        fh.seek(offset)
        original = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([original ^ 0xFF]))
    return original


async def test_a_flipped_byte_in_stored_evidence_fails_the_dossier(
    dclient: httpx.AsyncClient,
    dossier_app: FastAPI,
    db: AsyncSession,
    settings: Settings,
    storage_dir: Path,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    document = b"%PDF-1.4\n% tamper test " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"
    intact = await upload(
        dclient,
        paralegal,
        case["id"],
        b"%PDF-1.4\n% ok " + uuid.uuid4().hex.encode(),
        filename="a.pdf",
        kind="document",
    )
    item = (
        await upload(dclient, paralegal, case["id"], document, filename="b.pdf", kind="document")
    ).json()
    assert intact.status_code == 201
    stored = storage_dir / "sha256" / item["sha256"][:2] / item["sha256"][2:4] / item["sha256"]
    original = flip_byte(stored, 20)
    try:
        queued = await ask(dclient, paralegal, level="internal", case_ids=[case["id"]])
        dossier_id = queued.json()["id"]
        result = await run_build(dossier_app, dossier_id)
    finally:
        with stored.open("r+b") as fh:
            fh.seek(20)
            fh.write(bytes([original]))
        os.chmod(stored, 0o444)
    status = (await dclient.get(f"/api/v1/dossiers/{dossier_id}", headers=paralegal.headers)).json()
    assert status["status"] == "failed" and result["status"] == "failed"
    assert item["id"] in status["error"] and case["reference"] in status["error"]
    assert "does not match its record" in status["error"]
    assert status["sha256"] is None and status["download_url"] is None
    assert not (storage_dir / bundle_key(dossier_id)).exists()
    download = await dclient.get(
        f"/api/v1/dossiers/{dossier_id}/download", headers=paralegal.headers
    )
    assert download.status_code == 409 and "failed" in download.json()["detail"]
    finding = await db.scalar(
        select(CustodyEvent).where(
            CustodyEvent.evidence_id == uuid.UUID(item["id"]), CustodyEvent.event == "verified"
        )
    )
    assert finding is not None and finding.details["ok"] is False
    assert finding.details["dossier_id"] == dossier_id  # withheld from other organizations
