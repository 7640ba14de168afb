"""Finding 14: leftovers of killed uploads and builds are swept; what a record names is kept."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from cases.evidence.sweeps import sweep_storage
from corps.app import create_app
from corps.settings import Settings
from corps.storage import FileStorage, key_for
from testing.factories import make_case, make_person, upload
from tests.corps.cli_run import corps_env, run_corps

# Committed rows: the corps command line, a child process, reads them.
pytestmark = pytest.mark.committed

DAY = 24 * 3600


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def leftover(storage: FileStorage, data: bytes, *, old: bool) -> str:
    key = key_for(hashlib.sha256(data).hexdigest())
    path = storage.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if old:
        age(path, 2 * DAY)
    return key


def part(storage: FileStorage, name: str, size: int, *, old: bool) -> Path:
    path = storage.root / "tmp" / name
    path.write_bytes(b"p" * size)
    if old:
        age(path, 2 * DAY)
    return path


@asynccontextmanager
async def app_on(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, application


async def test_the_sweep_removes_old_leftovers_only_and_says_what_it_removed(
    db: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    own = settings.model_copy(update={"storage_url": f"file://{tmp_path / 'store'}"})
    paralegal = await make_person(db, settings, "paralegal")
    async with app_on(own) as (client, application):
        storage = application.state.storage  # type: ignore[attr-defined]
        case = await make_case(client, paralegal)
        kept_pdf = b"%PDF-1.4\n" + os.urandom(512).hex().encode()
        answer = await upload(client, paralegal, case["id"], kept_pdf, kind="document")
        assert isinstance(answer, httpx.Response) and answer.status_code == 201, answer.text
        named = key_for(answer.json()["sha256"])
        age(storage.local_path(named), 2 * DAY)  # old, but a committed item names it

        orphan = leftover(storage, b"no row ever committed" + os.urandom(8), old=True)
        young = leftover(storage, b"an upload still committing" + os.urandom(8), old=False)
        dead_part = part(storage, "dead.part", 1000, old=True)
        live_part = part(storage, "live.part", 10, old=False)

        report = await sweep_storage(
            application.state.sessionmaker,  # type: ignore[attr-defined]
            storage,
            older_than_s=DAY,
        )
        assert report.temp_files == ["dead.part"] and report.temp_bytes == 1000
        assert report.unreferenced == [orphan] and report.kept == 1
        assert not dead_part.exists() and live_part.exists()
        assert not await storage.exists(orphan)
        assert await storage.exists(young) and await storage.exists(named)
        download = await client.get(
            f"/api/v1/evidence/{answer.json()['id']}/content", headers=paralegal.headers
        )
        assert download.status_code == 200 and download.content == kept_pdf


def test_corps_sweep_storage_prints_its_report(settings: Settings, tmp_path: Path) -> None:
    store = FileStorage(tmp_path / "store")
    orphan = leftover(store, b"left by a killed API" + os.urandom(8), old=True)
    part(store, "killed.part", 2048, old=True)
    env = corps_env(settings, EJ_STORAGE_URL=f"file://{store.root}")
    result = run_corps("sweep-storage", "--older-than", "3600", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["temp_files"] == ["killed.part"] and report["temp_bytes"] == 2048
    assert report["unreferenced"] == [orphan]
    assert list((store.root / "tmp").iterdir()) == []


async def test_object_storage_lists_what_the_sweep_needs() -> None:
    from obstore.store import MemoryStore

    from corps.storage.s3 import S3Storage

    store = S3Storage(MemoryStore())

    async def chunks() -> AsyncIterator[bytes]:
        yield b"an object"

    blob = await store.put_stream(chunks(), max_bytes=100)
    listed = [entry async for entry in store.content_files()]
    assert [(e.key, e.size) for e in listed] == [(blob.key, 9)]
    assert listed[0].modified > time.time() - 60
    assert [entry async for entry in store.temp_files()] == []
