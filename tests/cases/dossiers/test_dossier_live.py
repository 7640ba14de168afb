"""Against real worker processes: a worker killed mid-export, a new one, exactly one bundle."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.build import WORK_ROOT
from cases.dossiers.verify import verify_dossier
from cases.evidence.models import CustodyEvent, Evidence
from corps.audit import AuditEntry
from corps.jobs import QUEUE_NAME
from corps.settings import Settings
from testing.factories import make_case, make_person, upload
from testing.live import process_env
from tests.cases.dossiers.conftest import ask

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

MB = 1 << 20
FILES, FILE_MB = 10, 4


def big_document(number: int) -> bytes:
    """A PDF-looking file of FILE_MB megabytes, unique to this run."""
    block = os.urandom(MB)
    head = b"%PDF-1.7\n% " + uuid.uuid4().hex.encode() + f" {number}\n".encode()
    return head + block[len(head) :] + block * (FILE_MB - 1)


async def start_worker(settings: Settings, log: Path) -> asyncio.subprocess.Process:
    """`corps worker` as a child process, its output in a log file."""
    out = log.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "corps",
            "worker",
            env=process_env(settings),
            stdout=out,
            stderr=out,
        )
    finally:
        out.close()


def gate_blobs(storage_dir: Path, keys: list[str]) -> list[Path]:
    """Swap stored blobs for named pipes, so a worker that reaches one waits there."""
    gates = []
    for key in keys:
        blob = storage_dir / key
        blob.rename(blob.with_name(blob.name + ".held"))
        os.mkfifo(blob)
        gates.append(blob)
    return gates


def worker_waits_at_a_gate(gates: list[Path]) -> bool:
    """True once some process has a gate open for reading (a writer can then open it)."""
    for gate in gates:
        try:
            fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody reads this pipe yet
            continue
        os.close(fd)
        return True
    return False


def open_gates(gates: list[Path]) -> None:
    """Put the real blobs back where the pipes were."""
    for gate in gates:
        gate.unlink()
        gate.with_name(gate.name + ".held").rename(gate)


async def status_of(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    return (await client.get(url, headers=headers)).json()


async def test_a_build_killed_mid_export_finishes_exactly_once_on_a_new_worker(
    dclient: httpx.AsyncClient,
    dossier_app: FastAPI,
    db: AsyncSession,
    settings: Settings,
    storage_dir: Path,
    tmp_path: Path,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    items = []
    for number in range(FILES):
        response = await upload(
            dclient,
            paralegal,
            case["id"],
            big_document(number),
            filename=f"{number}.pdf",
            kind="document",
        )
        assert response.status_code == 201, response.text
        items.append(response.json())
    redis = Redis.from_url(settings.redis_url)
    await redis.delete(QUEUE_NAME)  # earlier tests' jobs were run in-process already
    await redis.aclose()
    queued = await ask(dclient, paralegal, level="internal", case_ids=[case["id"]])
    dossier_id = queued.json()["id"]
    url = f"/api/v1/dossiers/{dossier_id}"
    log = tmp_path / "workers.log"

    keys = await db.scalars(
        select(Evidence.storage_key).where(Evidence.id.in_([uuid.UUID(i["id"]) for i in items]))
    )
    # Half the blobs become pipes: the worker copies some bytes, then waits mid-export
    # until it is killed, however fast this machine's disk is.
    gates = gate_blobs(storage_dir, sorted(keys)[FILES // 2 :])
    first = await start_worker(settings, log)
    try:
        deadline = time.monotonic() + 90
        while not worker_waits_at_a_gate(gates):
            seen = await status_of(dclient, url, paralegal.headers)
            assert seen["status"] in ("queued", "running"), seen
            assert time.monotonic() < deadline, (
                f"the build never got going: {seen}\n{log.read_text()}"
            )
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        open_gates(gates)
    left = await status_of(dclient, url, paralegal.headers)
    assert left["status"] == "running" and left["sha256"] is None  # a dead build is no result

    second = await start_worker(settings, log)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            final = await status_of(dclient, url, paralegal.headers)
            if final["status"] in ("done", "failed"):
                break
            await asyncio.sleep(0.25)
    finally:
        second.terminate()
        await asyncio.wait_for(second.wait(), 30)
    assert final["status"] == "done", f"{final}\n{log.read_text()}"

    download = await dclient.get(f"{url}/download", headers=paralegal.headers)
    bundle = tmp_path / "dossier.zip"
    bundle.write_bytes(download.content)
    assert verify_dossier(bundle) == []
    assert sorted(p.name for p in (storage_dir / "dossiers").glob(f"{dossier_id}*")) == [
        f"{dossier_id}.zip"
    ]
    assert [p for p in (storage_dir / "tmp").iterdir()] == []
    assert list(WORK_ROOT.glob(f"{dossier_id}-*")) == []
    exported = await db.scalar(
        select(func.count())
        .select_from(CustodyEvent)
        .where(
            CustodyEvent.evidence_id.in_([uuid.UUID(i["id"]) for i in items]),
            CustodyEvent.event == "exported",
            CustodyEvent.details["dossier_id"].astext == dossier_id,
        )
    )
    built = await db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "dossier.built", AuditEntry.object_id == dossier_id)
    )
    assert exported == FILES and built == 1
