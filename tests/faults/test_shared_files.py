"""Finding 11: a failed upload never removes the stored file another upload's item points to."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from corps.storage import key_for
from corps.storage.blobs import remove_if_unreferenced
from testing.factories import make_case, make_person, upload

# Committed rows: faults hit real processes, connections and concurrent writers.
pytestmark = pytest.mark.committed

PAIRS = 100
WRONG_SHA = "0" * 64


def a_pdf() -> bytes:
    return b"%PDF-1.4\n" + os.urandom(2048).hex().encode() + b"\n%%EOF\n"


async def test_a_failing_twin_upload_never_takes_the_others_file(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    first = await make_person(db, settings, "paralegal")
    second = await make_person(db, settings, "paralegal")
    one, other = await make_case(client, first), await make_case(client, second)
    lost = []
    for pair in range(PAIRS):
        data = a_pdf()
        kept = dict(filename="kept.pdf", kind="document")
        failing, accepted = await asyncio.gather(
            upload(client, first, one["id"], data, sha256=WRONG_SHA, **kept),
            upload(client, second, other["id"], data, **kept),
        )
        assert isinstance(failing, httpx.Response) and isinstance(accepted, httpx.Response)
        assert failing.status_code == 422, failing.text
        assert accepted.status_code == 201, accepted.text
        item = accepted.json()
        content = await client.get(f"/api/v1/evidence/{item['id']}/content", headers=second.headers)
        if content.status_code != 200 or content.content != data:
            lost.append((pair, content.status_code, content.text[:200]))
    assert lost == [], f"{len(lost)} of {PAIRS} acknowledged uploads lost their bytes: {lost[:3]}"


async def test_a_failed_upload_alone_leaves_no_file(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, storage_dir: Path
) -> None:
    person = await make_person(db, settings, "paralegal")
    case = await make_case(client, person)
    data = a_pdf()
    answer = await upload(client, person, case["id"], data, sha256=WRONG_SHA, kind="document")
    assert isinstance(answer, httpx.Response) and answer.status_code == 422, answer.text
    key = key_for(hashlib.sha256(data).hexdigest())
    assert not (storage_dir / key).exists()


async def test_a_file_a_committed_item_names_is_never_removed(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    case = await make_case(client, person)
    answer = await upload(client, person, case["id"], a_pdf(), kind="document")
    assert isinstance(answer, httpx.Response) and answer.status_code == 201, answer.text
    key = key_for(answer.json()["sha256"])
    storage = app.state.storage
    async with app.state.sessionmaker() as session, session.begin():
        # the app's own role, which sees no other organization's rows, must still say "in use"
        await session.execute(text("SELECT 1"))
        assert await remove_if_unreferenced(session, storage, key) is False
    assert await storage.exists(key)


async def test_the_claim_comes_before_the_content_address_is_taken(tmp_path: Path) -> None:
    from corps.storage import FileStorage

    store = FileStorage(tmp_path / "store")
    data = a_pdf()
    seen: list[tuple[str, bool]] = []

    async def claim(key: str) -> None:
        seen.append((key, await store.exists(key)))

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    blob = await store.put_stream(chunks(), max_bytes=1 << 20, claim=claim)
    assert seen == [(blob.key, False)] and await store.exists(blob.key)
