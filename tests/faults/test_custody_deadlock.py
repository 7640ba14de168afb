"""Finding 16: a record read while the worker describes the photo never deadlocks (no 500)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cases.evidence.jobs import process_job
from corps.settings import Settings
from corps.storage import Storage
from corps.viewer import acting_as
from testing.factories import make_case, make_person, photo_with_gps, upload, viewer_of

# Committed rows: faults hit real processes, connections and concurrent writers.
pytestmark = pytest.mark.committed


class PausedStorage:
    """A store whose reads wait until the test lets them go, to hold the worker mid-job."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    def open(self, key: str) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            self.reading.set()
            await self.release.wait()
            async for chunk in self.inner.open(key):
                yield chunk

        return chunks()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_reading_a_record_while_the_worker_describes_it_answers_200(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    response = await upload(client, paralegal, case["id"], photo_with_gps(36.7855, -1.2855))
    assert isinstance(response, httpx.Response) and response.status_code == 201, response.text
    item = response.json()

    storage = PausedStorage(app.state.storage)
    ctx = {"sessionmaker": app.state.sessionmaker, "storage": storage}
    with acting_as(viewer_of(paralegal)):  # as the worker runs it: as the uploader
        worker = asyncio.create_task(process_job(ctx, evidence_id=item["id"]))
    await asyncio.wait_for(storage.reading.wait(), 10)  # the job holds the item's row now

    reader = asyncio.create_task(
        client.get(f"/api/v1/evidence/{item['id']}", headers=paralegal.headers)
    )
    # the read takes the chain's lock and inserts its link; let the worker go on meanwhile
    await asyncio.sleep(0.5)
    storage.release.set()
    seen, done = await asyncio.wait_for(asyncio.gather(reader, worker), 30)

    assert seen.status_code == 200, seen.text
    assert "processed" in seen.json(), seen.text
    assert done["skipped"] is False
