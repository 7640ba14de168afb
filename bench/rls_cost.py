"""Per-request cost of row-level security: a one-case list and a single read, same run.

    EJ_RLS_BENCH_URL=postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:5432/ejcorps_rlsbench \
        .venv/bin/python -m bench.rls_cost [--other-cases 20000] [--rounds 6] [--requests 150]

"with RLS" is the service as it runs: the service's role, the viewer named per transaction,
policies evaluated. "without" is the code before it, in the same process on the same data:
row-level security disabled on every table (so the service's role sees every row, as it did)
and no viewer named. Rounds alternate so drift on a shared machine hits both alike. The
database is migrated and filled from scratch; it must be a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

import corps.audit
import corps.auth.actor
import corps.viewer
from corps.app import create_app
from corps.cli import run_migrations
from corps.settings import Settings
from testing.factories import case_body, make_person

OWNER_URL = os.environ.get(
    "EJ_RLS_BENCH_URL", "postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:5432/ejcorps_rlsbench"
)
APP_URL = OWNER_URL.replace("ejcorps:ejcorps@", "ejcorps_app:ejcorps_app@")
REDIS_URL = os.environ.get("EJ_TEST_REDIS_URL", "redis://127.0.0.1:6379/2").split()[0]

RLS_TABLES = (
    "SELECT relname FROM pg_class WHERE relrowsecurity "
    "AND relnamespace = 'public'::regnamespace ORDER BY 1"
)


async def _fill(engine: AsyncEngine, organization_id: uuid.UUID, count: int) -> None:
    """Copy one case `count` times into another organization (plain SQL, fast)."""
    async with engine.begin() as conn:
        columns = list(
            (
                await conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'cases' AND is_generated = 'NEVER' "
                        "AND column_name NOT IN ('id', 'organization_id', 'reference') "
                        "ORDER BY ordinal_position"
                    )
                )
            ).scalars()
        )
        names = ", ".join(columns)
        await conn.execute(
            text(
                f"INSERT INTO cases (id, organization_id, reference, {names}) "  # noqa: S608
                f"SELECT gen_random_uuid(), :org, 'OTHER-2026-' || g, {names} "
                "FROM cases, generate_series(1, :n) g WHERE cases.id = "
                "(SELECT id FROM cases ORDER BY created_at LIMIT 1)"
            ),
            {"org": organization_id, "n": count},
        )
        await conn.execute(text("ANALYZE"))


async def _set_rls(engine: AsyncEngine, on: bool) -> None:
    async with engine.begin() as conn:
        tables = list((await conn.execute(text(RLS_TABLES))).scalars())
        if not tables:  # disabled: find them by their policies
            tables = list(
                (
                    await conn.execute(
                        text(
                            "SELECT DISTINCT c.relname FROM pg_policy p "
                            "JOIN pg_class c ON c.oid = p.polrelid ORDER BY 1"
                        )
                    )
                ).scalars()
            )
        verb = "ENABLE" if on else "DISABLE"
        for table in tables:
            await conn.execute(text(f'ALTER TABLE "{table}" {verb} ROW LEVEL SECURITY'))


DIRECT_APPEND = text(
    "INSERT INTO audit_log (at, actor_id, organization_id, action, object_type, object_id, "
    "details, content_hash) VALUES (:at, :actor_id, :organization_id, :action, "
    ":object_type, :object_id, CAST(:details AS jsonb), :content_hash) RETURNING id"
)
WITH_RLS_APPEND = corps.audit.APPEND
DIRECT_SIGN_IN = text("SELECT * FROM users WHERE id = :user_id AND active")
WITH_RLS_SIGN_IN = corps.auth.actor.SIGN_IN_AS


def _viewers(on: bool) -> None:
    """Name viewers (the code with RLS) or not (the code before: audit rows inserted directly)."""
    corps.audit.APPEND = WITH_RLS_APPEND if on else DIRECT_APPEND
    listening = event.contains(Session, "after_begin", corps.viewer._name_viewer)
    if on and not listening:
        event.listen(Session, "after_begin", corps.viewer._name_viewer)
    if not on and listening:
        event.remove(Session, "after_begin", corps.viewer._name_viewer)
    corps.auth.actor.SIGN_IN_AS = WITH_RLS_SIGN_IN if on else DIRECT_SIGN_IN


async def _time(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], n: int
) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = await client.get(url, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return out


async def main(other_cases: int, rounds: int, requests: int) -> None:
    owner = create_async_engine(OWNER_URL)
    async with owner.begin() as conn:
        await conn.execute(text("DROP OWNED BY current_user CASCADE"))
    await asyncio.to_thread(run_migrations, OWNER_URL)
    settings = Settings(
        env="test",
        database_url=APP_URL,
        migration_database_url=OWNER_URL,
        redis_url=REDIS_URL,
        storage_url="file:///tmp/ejcorps-rls-bench",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",  # noqa: S106
    )
    async with async_sessionmaker(owner, expire_on_commit=False)() as db:
        paralegal = await make_person(db, settings, "paralegal")
        other = await make_person(db, settings, "paralegal")
    app = create_app(settings)
    results: dict[str, dict[str, list[float]]] = {
        m: {"list": [], "read": []} for m in ("with RLS", "without")
    }
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            created = await client.post(
                "/api/v1/cases", json=case_body(), headers=paralegal.headers
            )
            assert created.status_code == 201, created.text
            case_id = created.json()["id"]
            await _fill(owner, other.organization_id, other_cases)
            for r in range(rounds):
                for mode in ("with RLS", "without") if r % 2 == 0 else ("without", "with RLS"):
                    on = mode == "with RLS"
                    await _set_rls(owner, on)
                    _viewers(on)
                    listed = await client.get("/api/v1/cases", headers=paralegal.headers)
                    assert [c["id"] for c in listed.json()["items"]] == [case_id]
                    results[mode]["list"] += await _time(
                        client, "/api/v1/cases", paralegal.headers, requests
                    )
                    results[mode]["read"] += await _time(
                        client, f"/api/v1/cases/{case_id}", paralegal.headers, requests
                    )
    await _set_rls(owner, True)
    _viewers(True)
    await owner.dispose()
    print(f"{other_cases} cases of another organization, {rounds} rounds x {requests} requests")
    for what in ("list", "read"):
        base = statistics.median(results["without"][what])
        for mode in ("without", "with RLS"):
            times = sorted(results[mode][what])
            median = statistics.median(times)
            p95 = times[int(len(times) * 0.95)]
            delta = f"  (+{median - base:.2f} ms, {100 * (median / base - 1):+.0f}%)"
            line = f"{what:5} {mode:9} median {median:6.2f} ms  p95 {p95:6.2f} ms"
            print(line + (delta if mode != "without" else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--other-cases", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=150)
    args = parser.parse_args()
    asyncio.run(main(args.other_cases, args.rounds, args.requests))
