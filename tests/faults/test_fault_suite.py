"""The fault suite: real processes on a PostgreSQL cluster and a redis-server of its own.

kill -9 PostgreSQL under concurrent writers; stop Redis under an upload; kill -9 the worker
in the middle of a dossier; kill -9 the API in the middle of an upload. After each: nothing
acknowledged is lost, nothing is stored twice, every chain of custody holds, and what was
accepted gets done. The shared services of the machine are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from cases.dossiers.verify import verify_dossier
from cases.evidence.models import Evidence
from cases.evidence.sweeps import sweep_storage
from corps.cli import run_migrations
from corps.db import make_engine, make_sessionmaker
from corps.settings import Settings
from corps.storage import FileStorage
from testing.factories import Person, case_body, make_person
from testing.live import live_server, live_worker
from tests.faults.services import PostgresCluster, RedisServer

# Committed rows: faults hit real processes, connections and concurrent writers.
pytestmark = pytest.mark.committed

MB = 1 << 20
WRITERS = 24


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this suite's own, migrated."""
    pg = PostgresCluster()
    pg.init()
    try:
        run_migrations(pg.url("ejcorps", "ejcorps"))
        yield pg
    finally:
        pg.remove()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this suite's own."""
    server = RedisServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def stack(
    cluster: PostgresCluster,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
) -> Settings:
    """Settings naming the suite's own database, Redis and store."""
    store = tmp_path_factory.mktemp("fault-store")
    return settings.model_copy(
        update={
            "database_url": cluster.url("ejcorps_app", "ejcorps_app"),
            "migration_database_url": cluster.url("ejcorps", "ejcorps"),
            "redis_url": redis_server.url,
            "storage_url": f"file://{store}",
        }
    )


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Signing keys for the suite's dossiers."""
    from cases.dossiers.signing import init_key

    directory = tmp_path_factory.mktemp("fault-keys")
    init_key(directory, "EJ Corps (fault suite)")
    return directory


@pytest.fixture
async def owner(cluster: PostgresCluster) -> AsyncIterator[AsyncEngine]:
    """The schema owner's engine on the suite's cluster (to make people and check rows)."""
    engine = create_async_engine(cluster.url("ejcorps", "ejcorps"), pool_pre_ping=True)
    yield engine
    await engine.dispose()


async def a_person(owner: AsyncEngine, stack: Settings, role: str = "paralegal") -> Person:
    async with async_sessionmaker(owner, expire_on_commit=False)() as session:
        return await make_person(session, stack, role)


def store_of(stack: Settings) -> Path:
    return Path(stack.storage_url.removeprefix("file://"))


async def test_kill_9_postgresql_under_concurrent_writers_loses_and_doubles_nothing(
    cluster: PostgresCluster, owner: AsyncEngine, stack: Settings
) -> None:
    paralegal = await a_person(owner, stack)
    acknowledged: set[str] = set()
    attempted: dict[str, str] = {}
    statuses: Counter[int | str] = Counter()
    stop_new = asyncio.Event()

    async def writer(number: int, client: httpx.AsyncClient) -> None:
        sequence = 0
        while not stop_new.is_set():
            case_id, title = str(uuid.uuid4()), f"fault writer {number}-{sequence}"
            sequence += 1
            attempted[case_id] = title
            body = case_body(id=case_id, title=title)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the same id and body until it is answered
                try:
                    answer = await client.post("/api/v1/cases", json=body)
                except httpx.TransportError as exc:
                    statuses[type(exc).__name__] += 1
                    await asyncio.sleep(0.2)
                    continue
                statuses[answer.status_code] += 1
                if answer.status_code in (200, 201):
                    acknowledged.add(case_id)
                    break
                assert answer.status_code == 503, f"{answer.status_code}: {answer.text}"
                assert int(answer.headers["retry-after"]) > 0
                await asyncio.sleep(0.2)

    async with (
        live_server(stack) as server,
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=30) as client,
    ):
        writers = [asyncio.create_task(writer(n, client)) for n in range(WRITERS)]
        try:

            def acknowledged_past(count: int) -> Any:
                async def check() -> bool:
                    return len(acknowledged) >= count

                return check

            await wait_for(acknowledged_past(WRITERS), 60, "writes before the crash")
            await asyncio.to_thread(cluster.kill)  # while writers are mid-transaction
            before_crash = len(acknowledged)
            await asyncio.sleep(1)
            await asyncio.to_thread(cluster.start)
            await wait_for(acknowledged_past(before_crash + WRITERS), 60, "writes after it")
        finally:
            stop_new.set()
            await asyncio.wait_for(asyncio.gather(*writers, return_exceptions=True), 90)
        for finished in writers:
            finished.result()

    async with owner.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id::text, title FROM cases WHERE title LIKE 'fault writer %'")
            )
        ).all()
    stored = Counter(row.id for row in rows)
    titles = Counter(row.title for row in rows)
    assert before_crash > 0 and statuses[503] + statuses["ConnectError"] > 0, statuses
    assert acknowledged <= set(stored), f"lost {len(acknowledged - set(stored))} acknowledged"
    assert set(stored) <= set(attempted)
    assert max(stored.values()) == 1 and max(titles.values()) == 1, "a write was stored twice"
    assert 500 not in statuses, statuses


async def upload_to(
    client: httpx.AsyncClient, case_id: str, data: bytes, name: str = "f.pdf"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/cases/{case_id}/evidence",
        data={"kind": "document"},
        files={"file": (name, data, "application/pdf")},
    )


async def wait_for(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_stop_redis_health_says_so_and_queued_work_resumes(
    owner: AsyncEngine, stack: Settings, redis_server: RedisServer
) -> None:
    paralegal = await a_person(owner, stack)
    async with (
        live_server(stack) as server,
        live_worker(stack, EJ_WORK_SWEEP_GRACE_S="0") as worker,
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=30) as client,
    ):
        case = (await client.post("/api/v1/cases", json=case_body())).json()
        redis_server.stop()
        health = await client.get("/health")
        assert health.status_code == 503, health.text
        assert health.json()["redis"].startswith("down") and "redis" in health.json()["detail"]
        accepted = await upload_to(client, case["id"], b"%PDF-1.4\n" + os.urandom(4096))
        assert accepted.status_code == 201, accepted.text  # committed; its job is lost
        await asyncio.sleep(2)
        redis_server.start()

        async def processed() -> bool:
            seen = await client.get(f"/api/v1/evidence/{accepted.json()['id']}")
            assert seen.status_code == 200, seen.text
            return bool(seen.json()["processed"])

        await wait_for(processed, 60, "the evidence accepted while Redis was down")
        assert (await client.get("/health")).json()["redis"] == "ok"
        assert worker.proc.returncode is None, "the worker died with Redis"


async def test_kill_9_the_worker_mid_dossier_then_exactly_one_bundle(
    owner: AsyncEngine, stack: Settings, key_dir: Path, tmp_path: Path
) -> None:
    paralegal = await a_person(owner, stack)
    store = store_of(stack)
    extra = {"EJ_SIGNING_KEY_DIR": str(key_dir)}
    async with (
        live_server(stack, **extra) as server,
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=60) as client,
    ):
        case = (await client.post("/api/v1/cases", json=case_body())).json()
        item = await upload_to(client, case["id"], b"%PDF-1.4\n" + os.urandom(MB))
        assert item.status_code == 201, item.text
        blob = store / f"sha256/{item.json()['sha256'][:2]}/{item.json()['sha256'][2:4]}"
        blob = blob / item.json()["sha256"]
        held = blob.with_name(blob.name + ".held")
        blob.rename(held)
        os.mkfifo(blob)  # a worker that copies this file waits here until it is killed
        asked = await client.post(
            "/api/v1/dossiers",
            json={"case_ids": [case["id"]], "level": "internal", "formats": ["evidence"]},
        )
        assert asked.status_code == 202, asked.text
        url = f"/api/v1/dossiers/{asked.json()['id']}"
        gate = -1
        async with live_worker(stack, **extra) as first:

            async def waiting_at_the_gate() -> bool:
                nonlocal gate
                with contextlib.suppress(OSError):  # ENXIO: nobody reads the pipe yet
                    gate = os.open(blob, os.O_WRONLY | os.O_NONBLOCK)  # kept open: no EOF
                return gate >= 0

            await wait_for(waiting_at_the_gate, 90, "the build to reach the evidence file")
            first.proc.send_signal(signal.SIGKILL)
            await first.proc.wait()
        os.close(gate)
        blob.unlink()
        held.rename(blob)
        left = (await client.get(url)).json()
        assert left["status"] == "running" and left["sha256"] is None, left

        async with live_worker(stack, **extra):

            async def finished() -> Any:
                seen = (await client.get(url)).json()
                return seen if seen["status"] in ("done", "failed") else None

            final = await wait_for(finished, 90, "the build on a new worker")
        assert final["status"] == "done", final
        bundle = tmp_path / "dossier.zip"
        bundle.write_bytes((await client.get(f"{url}/download")).content)
    assert verify_dossier(bundle) == []
    assert [p.name for p in (store / "dossiers").iterdir()] == [f"{asked.json()['id']}.zip"]


async def test_kill_9_the_api_mid_upload_leaves_no_half_record_and_no_broken_chain(
    owner: AsyncEngine, stack: Settings
) -> None:
    paralegal = await a_person(owner, stack)
    store = store_of(stack)
    parts_before = set((store / "tmp").glob("*.part"))
    async with (
        live_server(stack) as server,
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=60) as client,
    ):
        case = (await client.post("/api/v1/cases", json=case_body())).json()
        whole = await upload_to(client, case["id"], b"%PDF-1.4\n" + os.urandom(64 * 1024))
        assert whole.status_code == 201, whole.text

        async def slow_body() -> AsyncIterator[bytes]:
            yield (
                b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndocument\r\n'
                b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
                b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
            )
            for _ in range(400):
                yield os.urandom(256 * 1024)
                await asyncio.sleep(0.02)

        cut = asyncio.create_task(
            client.post(
                f"/api/v1/cases/{case['id']}/evidence",
                content=slow_body(),
                headers={"content-type": "multipart/form-data; boundary=b"},
            )
        )

        async def part_growing() -> bool:
            parts = set((store / "tmp").glob("*.part")) - parts_before
            return any(p.stat().st_size > 2 * MB for p in parts if p.exists())

        await wait_for(part_growing, 60, "the upload to reach the store")
        os.kill(server.pid, signal.SIGKILL)
        with pytest.raises(httpx.TransportError):
            await cut

    async with (
        live_server(stack) as server,
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=60) as client,
    ):
        listed = (await client.get(f"/api/v1/cases/{case['id']}/evidence")).json()["items"]
        assert [i["id"] for i in listed] == [whole.json()["id"]]  # no half record
        checked = (await client.post(f"/api/v1/evidence/{whole.json()['id']}/verify")).json()
        assert checked["ok"] and checked["chain_ok"], checked

    engine = make_engine(stack)
    try:
        report = await sweep_storage(make_sessionmaker(engine), FileStorage(store), older_than_s=0)
    finally:
        await engine.dispose()
    assert report.temp_bytes > 2 * MB and report.temp_files  # the killed upload's leftover
    assert not set((store / "tmp").glob("*.part"))
    async with async_sessionmaker(owner)() as session:
        await no_evidence_without_its_file(session, store)


async def no_evidence_without_its_file(session: AsyncSession, store: Path) -> None:
    keys = list(await session.scalars(select(Evidence.storage_key)))
    assert keys and all((store / key).is_file() for key in keys)
    assert await session.scalar(select(func.count()).select_from(Evidence)) == len(keys)
