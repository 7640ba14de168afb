"""Audit anchors: the head written to storage each night and into each dossier, so a
truncated tail of the audit log is detected by `corps verify-audit`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cases.dossiers.anchors import (
    ANCHOR_FILE,
    anchor_audit_nightly,
    audit_head,
    audit_problems,
    read_anchors,
    write_audit_anchor,
)
from corps.audit import append_audit
from corps.audit_seal import seal_pending
from corps.audit_verify import verify_audit_chain
from corps.settings import Settings
from corps.storage import FileStorage

# Committed rows: the audit chain is read through sessions of the test's own.
pytestmark = pytest.mark.committed


def verify_audit_cli(settings: Settings, storage: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EJ_DATABASE_URL": settings.database_url,
        "EJ_STORAGE_URL": f"file://{storage}",
        "EJ_ENV": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "corps", "verify-audit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_the_nightly_job_appends_the_head_once_per_move(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    storage = FileStorage(tmp_path / "store")
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as session, session.begin():
        await append_audit(session, None, "test.anchor", details={"n": 1})
    ctx = {"sessionmaker": factory, "storage": storage}
    first = (await anchor_audit_nightly(ctx))["anchor"]
    assert (await anchor_audit_nightly(ctx))["anchor"] == first  # no move, no new line
    async with factory() as session, session.begin():
        await append_audit(session, None, "test.anchor", details={"n": 2})
    second = (await anchor_audit_nightly(ctx))["anchor"]
    anchors = await read_anchors(storage)
    assert [a["id"] for a in anchors] == [first["id"], second["id"]]
    assert second["id"] > first["id"] and second["seq"] > first["seq"]
    raw = (tmp_path / "store" / ANCHOR_FILE).read_bytes()
    assert raw.startswith(orjson.dumps(anchors[0]) + b"\n")  # older lines kept as they were


async def test_a_truncated_tail_is_detected(engine: AsyncEngine, tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "store")
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as session, session.begin():
        for n in range(3):
            await append_audit(session, None, "test.tail", details={"n": n})
    await seal_pending(factory)
    async with factory() as session:
        anchor = await write_audit_anchor(session, storage)
    assert anchor is not None
    async with factory() as session:
        assert await audit_problems(session, await read_anchors(storage)) == []
    # Cut the last two links and their rows, as someone with the owner's rights could.
    async with factory() as session, session.begin():
        await session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await session.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER USER"))
        cut = text("DELETE FROM audit_chain WHERE seq >= :seq RETURNING entry_id")
        gone = list(await session.scalars(cut, {"seq": anchor["seq"] - 1}))
        await session.execute(text("DELETE FROM audit_log WHERE id = ANY(:ids)"), {"ids": gone})
        # The chain alone cannot tell: what is left is a shorter, valid chain.
        assert await verify_audit_chain(session) == []
        problems = await audit_problems(session, await read_anchors(storage))
        assert problems == [
            f"audit row {anchor['id']}, anchored at {anchor['at']}, is missing: "
            "the log was truncated"
        ]
        await session.rollback()


async def test_corps_verify_audit_reports_a_truncated_log(
    db: AsyncSession, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    storage = FileStorage(tmp_path / "store")
    await append_audit(db, None, "test.cli", details={"n": 1})
    await db.commit()
    await seal_pending(async_sessionmaker(engine))
    await append_audit(db, None, "test.cli", details={"n": 2})  # left pending
    await db.commit()
    head = await audit_head(db)
    assert head is not None
    await write_audit_anchor(db, storage)
    intact = verify_audit_cli(settings, tmp_path / "store")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "INTACT" in intact.stdout
    # The sealer of an app another test started may chain the pending entry meanwhile, so the
    # head reported is the anchored one or a later one.
    reported = re.search(r"head entry (\d+)", intact.stdout)
    assert reported is not None and int(reported.group(1)) >= head["id"], intact.stdout
    assert "pending (not yet chained): " in intact.stdout
    # An anchor of a row the log no longer has: its tail was cut after the anchor was taken.
    gone = {"id": head["id"] + 10_000, "hash": "f" * 64, "at": "2026-12-01T02:17:00+00:00"}
    path = tmp_path / "store" / ANCHOR_FILE
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + orjson.dumps(gone) + b"\n")
    cut = verify_audit_cli(settings, tmp_path / "store")
    assert cut.returncode == 1
    assert f"audit row {gone['id']}" in cut.stdout and "truncated" in cut.stdout
