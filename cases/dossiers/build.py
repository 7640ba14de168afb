"""One build attempt of a dossier: claim it, assemble the bundle, store it, record it; or fail.

Retry-safe by construction. Only the holder of the dossier's lease builds. The bundle is
written to a private temporary directory and reaches storage through one atomic put, under the
row lock of the transaction that marks the dossier done and appends the custody events, so a
dossier is recorded done exactly once and its key never holds a partial file. An attempt that
dies leaves the row "running" without a lease; the sweep queues it again and the next attempt
starts over from nothing, removing what the dead one left in its temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cases.dossiers.assemble import Built, NothingToExport, NotSigned, Order, assemble
from cases.dossiers.content import CasesChanged
from cases.dossiers.evidence_files import TamperedEvidence
from cases.dossiers.lease import Lease, LeaseLost
from cases.dossiers.models import Dossier
from cases.dossiers.pdf import PdfFailed
from cases.dossiers.progress import Progress
from cases.dossiers.service import IN_PROGRESS, bundle_key
from cases.evidence.custody import append_custody_event
from corps.audit import append_audit
from corps.auth.actor import Actor, Role
from corps.members.models import User
from corps.storage import Storage
from geo.privacy import Level

log = logging.getLogger("corps.dossiers")
MAX_ATTEMPTS = 3
DEADLINE_S = (
    3300  # inside arq's 3600 s job timeout, so a build that is too slow fails with a reason
)
WORK_ROOT = Path(tempfile.gettempdir()) / "ejcorps-dossiers"
EXPECTED_FAILURES = (TamperedEvidence, CasesChanged, NothingToExport, PdfFailed, NotSigned)


class RequesterChanged(Exception):
    """The requester can no longer act as they did when asking."""


@dataclass(frozen=True)
class Deps:
    """What a build needs from the worker: database, storage and Redis."""

    factory: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    storage: Storage
    redis: Any

    @classmethod
    def from_ctx(cls, ctx: dict[str, Any]) -> Deps:
        """Take them from an arq job context."""
        return cls(ctx["sessionmaker"], ctx["engine"], ctx["storage"], ctx["redis"])


def attempts_key(dossier_id: uuid.UUID) -> str:
    """The Redis counter of a dossier's build attempts."""
    return f"ejcorps:dossier:{dossier_id}:attempts"


async def build_dossier(deps: Deps, dossier_id: uuid.UUID) -> dict[str, Any]:
    """Build the dossier unless it is finished or another live attempt holds its lease."""
    lease = Lease(deps.redis, dossier_id)
    if not await lease.acquire():
        return {"dossier_id": str(dossier_id), "skipped": "another attempt is building it"}
    async with lease.kept():
        return await _attempt(deps, dossier_id, lease)


async def _attempt(deps: Deps, dossier_id: uuid.UUID, lease: Lease) -> dict[str, Any]:
    order = await _claim(deps, dossier_id)
    if order is None:
        return {"dossier_id": str(dossier_id), "skipped": "finished already"}
    attempts = int(await deps.redis.incr(attempts_key(dossier_id)))
    await deps.redis.expire(attempts_key(dossier_id), 7 * 24 * 3600)
    if attempts > MAX_ATTEMPTS:
        return await _fail(deps, order, f"The build was interrupted {attempts - 1} times.")
    workdir = await asyncio.to_thread(_fresh_workdir, dossier_id)
    progress = Progress(deps.factory, dossier_id, lease)
    started = time.monotonic()
    deadline: asyncio.Timeout | None = None
    try:
        actor = await _requester(deps, dossier_id)
        async with asyncio.timeout(DEADLINE_S) as deadline:
            built = await assemble(
                factory=deps.factory,
                engine=deps.engine,
                storage=deps.storage,
                actor=actor,
                order=order,
                workdir=workdir,
                progress=progress,
            )
            await progress.stage("storing the bundle", 0.97)
            if not await _finish(deps, order, actor, built, lease):
                return {"dossier_id": str(dossier_id), "skipped": "finished elsewhere"}
    except LeaseLost:
        return {"dossier_id": str(dossier_id), "skipped": "the lease was lost"}
    except TimeoutError:
        if deadline is None or not deadline.expired():
            raise
        return await _fail(deps, order, f"The build took longer than {DEADLINE_S // 60} minutes.")
    except TamperedEvidence as exc:
        return await _fail(deps, order, str(exc), tampered=exc)
    except (*EXPECTED_FAILURES, RequesterChanged) as exc:
        return await _fail(deps, order, str(exc))
    except Exception as exc:
        log.exception("dossier %s failed", dossier_id)
        return await _fail(
            deps, order, f"The build failed unexpectedly ({type(exc).__name__}); it was logged."
        )
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    built.timings["total_s"] = round(time.monotonic() - started, 3)
    return {
        "dossier_id": str(dossier_id),
        "status": "done",
        "sha256": built.sha256,
        "size": built.size,
        "timings": built.timings,
    }


def _fresh_workdir(dossier_id: uuid.UUID) -> Path:
    """A private directory for this attempt, after removing what dead attempts left behind."""
    WORK_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # evidence copies pass through here
        WORK_ROOT.chmod(0o700)
    now = time.time()
    for old in WORK_ROOT.iterdir():
        # Ours by name (a live attempt would hold the lease), or anyone's past any deadline.
        if old.name.startswith(f"{dossier_id}-") or now - old.stat().st_mtime > 2 * DEADLINE_S:
            shutil.rmtree(old, ignore_errors=True)
    workdir = WORK_ROOT / f"{dossier_id}-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(mode=0o700)
    return workdir


async def _claim(deps: Deps, dossier_id: uuid.UUID) -> Order | None:
    async with deps.factory() as session, session.begin():
        row = await session.scalar(
            select(Dossier).where(Dossier.id == dossier_id).with_for_update()
        )
        if row is None or row.status not in IN_PROGRESS:
            return None
        row.status, row.progress, row.error = "running", 0.0, None
        row.stage = "collecting the cases"
        row.started_at = datetime.now(UTC)
        return Order(
            dossier_id=row.id,
            level=Level(row.level),
            formats=list(row.formats),
            case_ids=[uuid.UUID(i) for i in row.case_ids],
            campaign_id=row.campaign_id,
            generated_at=row.started_at.replace(microsecond=0),
            withheld_cases=list(row.withheld_cases or []),
        )


async def _requester(deps: Deps, dossier_id: uuid.UUID) -> Actor:
    async with deps.factory() as session:
        row = (
            await session.execute(
                select(Dossier, User)
                .join(User, User.id == Dossier.requested_by)
                .where(Dossier.id == dossier_id)
            )
        ).one()
    dossier, user = row
    if (
        not user.active
        or user.role != dossier.requester_role
        or user.organization_id != dossier.organization_id
    ):
        raise RequesterChanged(
            "The requester's account, role or organization changed since the request; "
            "ask for the dossier again."
        )
    return Actor(user.id, user.email, Role(user.role), user.organization_id)


async def _finish(deps: Deps, order: Order, actor: Actor, built: Built, lease: Lease) -> bool:
    """Store the bundle and record it, in one transaction that holds the dossier's row."""
    key = bundle_key(order.dossier_id)
    async with deps.factory() as session, session.begin():
        row = await session.scalar(
            select(Dossier).where(Dossier.id == order.dossier_id).with_for_update()
        )
        if row is None or row.status != "running":
            return False
        lease.check()
        await deps.storage.put_file(key, built.path)
        for item, outcome in built.exported:
            await append_custody_event(
                session,
                item.id,
                "exported",
                actor_id=actor.user_id,
                details={
                    "dossier_id": str(order.dossier_id),
                    "level": order.level.value,
                    "as": outcome.treatment.value,
                    "path": outcome.path,
                    "sha256_in_bundle": outcome.sha256,
                    "bundle_sha256": built.sha256,
                },
            )
        row.status, row.progress, row.stage, row.error = "done", 1.0, "done", None
        row.sha256, row.size, row.storage_key = built.sha256, built.size, key
        row.anchors = built.anchors
        row.finished_at = datetime.now(UTC)
        await append_audit(
            session,
            actor,
            "dossier.built",
            object_type="dossier",
            object_id=order.dossier_id,
            details={
                "sha256": built.sha256,
                "size": built.size,
                "level": order.level.value,
                "case_count": built.case_count,
                "evidence_exported": len(built.exported),
                "evidence_withheld": built.withheld,
            },
        )
    return True


async def _fail(
    deps: Deps, order: Order, error: str, *, tampered: TamperedEvidence | None = None
) -> dict[str, Any]:
    """Mark the dossier failed with its reason; no bundle stays behind."""
    async with deps.factory() as session, session.begin():
        row = await session.scalar(
            select(Dossier).where(Dossier.id == order.dossier_id).with_for_update()
        )
        if row is not None and row.status in IN_PROGRESS:
            row.status, row.stage, row.error = "failed", "failed", error
            row.finished_at = datetime.now(UTC)
            if tampered is not None:  # the finding belongs on the item's own chain too
                await append_custody_event(
                    session,
                    tampered.item.id,
                    "verified",
                    actor_id=None,
                    details={
                        "ok": False,
                        "problems": [tampered.found],
                        # a dossier's id only under the key custody withholds from others
                        "by": "dossier",
                        "dossier_id": str(order.dossier_id),
                    },
                )
            await append_audit(
                session,
                None,
                "dossier.failed",
                object_type="dossier",
                object_id=order.dossier_id,
                details={"error": error[:1000], "organization_id": str(row.organization_id)},
            )
    # An earlier attempt may have stored a bundle and died before recording it.
    with contextlib.suppress(Exception):
        await deps.storage.delete(bundle_key(order.dossier_id))
    return {"dossier_id": str(order.dossier_id), "status": "failed", "error": error}
