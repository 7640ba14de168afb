"""arq may run a build twice, at once or later; a dead build is requeued; each gives one bundle."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.build import WORK_ROOT, _fresh_workdir, attempts_key
from cases.dossiers.jobs import requeue_key, requeue_stalled
from cases.dossiers.lease import Lease
from cases.dossiers.models import Dossier
from cases.evidence.models import CustodyEvent
from corps.settings import Settings
from corps.viewer import Viewer, acting_as
from testing.factories import make_case, make_person, upload
from tests.cases.dossiers.conftest import ask, run_build

# Committed rows: concurrent builds each need a connection of their own.
pytestmark = pytest.mark.committed


async def exported_events(db: AsyncSession, dossier_id: str) -> int:
    return int(
        await db.scalar(
            select(func.count())
            .select_from(CustodyEvent)
            .where(
                CustodyEvent.event == "exported",
                CustodyEvent.details["dossier_id"].astext == dossier_id,
            )
        )
        or 0
    )


async def test_two_runs_at_once_and_one_after_give_one_bundle(
    dclient: httpx.AsyncClient, dossier_app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    document = b"%PDF-1.4\n% twice " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"
    await upload(dclient, paralegal, case["id"], document, filename="r.pdf", kind="document")
    dossier_id = (await ask(dclient, paralegal, level="internal", case_ids=[case["id"]])).json()[
        "id"
    ]
    # A dead attempt's leftovers in the temporary directory go when the next attempt starts.
    stale = WORK_ROOT / f"{dossier_id}-deadbeef"
    stale.mkdir(parents=True, exist_ok=True)
    (stale / "bundle.zip").write_bytes(b"half a bundle")
    first, second = await asyncio.gather(
        run_build(dossier_app, dossier_id), run_build(dossier_app, dossier_id)
    )
    assert sorted(r.get("status", r.get("skipped")) for r in (first, second)) == [
        "another attempt is building it",
        "done",
    ]
    again = await run_build(dossier_app, dossier_id)
    assert again == {"dossier_id": dossier_id, "skipped": "finished already"}
    assert await exported_events(db, dossier_id) == 1
    assert not stale.exists() and list(WORK_ROOT.glob(f"{dossier_id}-*")) == []


async def test_the_sweep_requeues_a_dead_build_and_leaves_a_live_one(
    dclient: httpx.AsyncClient, dossier_app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    body = {"level": "internal", "case_ids": [case["id"]], "formats": ["csv"]}
    dead, live = [(await ask(dclient, paralegal, **body)).json()["id"] for _ in range(2)]
    await db.execute(
        update(Dossier)
        .where(Dossier.id.in_([uuid.UUID(dead), uuid.UUID(live)]))
        .values(status="running", started_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    await db.commit()
    redis = dossier_app.state.arq
    lease = Lease(redis, live)
    assert await lease.acquire()
    try:
        with acting_as(Viewer.system("dossiers.sweep")):  # as the worker runs the sweep
            requeued = await requeue_stalled(dossier_app.state.sessionmaker, redis)
            again = await requeue_stalled(dossier_app.state.sessionmaker, redis)
        assert dead in requeued and live not in requeued
        assert dead not in again  # spaced out: one requeue per dossier at a time
    finally:
        await redis.delete(lease.key, requeue_key(dead))
    # The requeued attempt finds the row "running" without a lease, and builds it.
    result = await run_build(dossier_app, dead)
    assert result["status"] == "done"
    await db.execute(update(Dossier).where(Dossier.id == uuid.UUID(live)).values(status="failed"))
    await db.commit()


async def test_a_build_interrupted_too_often_fails_instead_of_looping(
    dclient: httpx.AsyncClient, dossier_app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    dossier_id = (
        await ask(dclient, paralegal, level="internal", case_ids=[case["id"]], formats=["csv"])
    ).json()["id"]
    await dossier_app.state.arq.set(attempts_key(uuid.UUID(dossier_id)), 3)
    result = await run_build(dossier_app, dossier_id)
    assert result["status"] == "failed" and "interrupted 3 times" in result["error"]
    row = await db.get(Dossier, uuid.UUID(dossier_id))
    assert row is not None and row.status == "failed"


def test_a_builds_temporary_directory_is_private() -> None:
    workdir = _fresh_workdir(uuid.uuid4())
    try:
        assert workdir.stat().st_mode & 0o077 == 0 and WORK_ROOT.stat().st_mode & 0o077 == 0
    finally:
        shutil.rmtree(workdir)
