"""Audited single-case reads at 16 concurrent clients, with the audit on and off, same run.

Two `corps serve` processes on the same bench database: one as shipped (every
`GET /api/v1/cases/{id}` appends an audit entry, chained by the process's sealer), one with
`EJ_BENCH_UNAUDITED_READS=true` (the bench-only switch: no entry; refused in production).
Rounds alternate A B B A so drifting machine load falls on both sides alike; the ratio of
throughputs (requests per second, on / off) is the measure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.common import BENCH_DATABASE_URL, Table, write_block
from bench.floor import cpu_seconds
from corps.settings import Settings
from testing.live import LiveServer, live_server

CLIENTS = 16
TARGET = 0.8
# Both servers stay up for the whole run: a pool of 4 (+4 overflow) each keeps the pair well
# under a shared PostgreSQL's max_connections; 16 clients still keep every pool busy.
POOL = {"EJ_DB_POOL_SIZE": "4"}
# A 503 (a shared cluster out of connection slots) is retried and counted, on both sides.
RETRIES = {"503": 0}


async def _round(url: str, token: str, ids: list[str], requests_per_client: int) -> float:
    """Requests per second of CLIENTS clients each reading random cases in turn."""
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=120
    ) as client:

        async def one_client(seed: int) -> None:
            pick = random.Random(seed)
            for _ in range(requests_per_client):
                case_id = pick.choice(ids)
                for _attempt in range(20):
                    response = await client.get(f"/api/v1/cases/{case_id}")
                    if response.status_code != 503:
                        break
                    RETRIES["503"] += 1
                    await asyncio.sleep(0.2)
                assert response.status_code == 200, response.text

        start = time.perf_counter()
        await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
        elapsed = time.perf_counter() - start
    return CLIENTS * requests_per_client / elapsed


# The backends serving the API (both servers': only the one being measured is busy in a round).
BACKENDS = (
    "SELECT pid FROM pg_stat_activity "
    "WHERE application_name = 'ejcorps' AND datname = current_database()"
)


async def _backend_cpu(raw: asyncpg.Connection) -> dict[int, float]:
    out = {}
    for row in await raw.fetch(BACKENDS):
        with contextlib.suppress(OSError):  # ended meanwhile
            out[row["pid"]] = cpu_seconds(row["pid"])
    return out


class Side:
    """One server's rounds: rates, and the CPU its process and its backends used per read."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.rates: list[float] = []
        self.cpu_s = self.pg_s = 0.0
        self.reads = 0

    async def round(self, raw: asyncpg.Connection, token: str, ids: list[str], n: int) -> None:
        """One measured round against this side's server."""
        cpu, pg = cpu_seconds(self.server.pid), await _backend_cpu(raw)
        self.rates.append(await _round(self.server.url, token, ids, n))
        after = await _backend_cpu(raw)
        self.cpu_s += cpu_seconds(self.server.pid) - cpu
        self.pg_s += sum(used - pg.get(pid, 0.0) for pid, used in after.items())
        self.reads += CLIENTS * n

    def per_read_ms(self) -> str:
        """Server and PostgreSQL CPU per read."""
        reads = max(self.reads, 1)
        return f"{self.cpu_s * 1000 / reads:.2f} + {self.pg_s * 1000 / reads:.2f} ms"


async def _case_ids(url: str, token: str) -> list[str]:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        page = await client.get("/api/v1/cases", params={"limit": 500})
        assert page.status_code == 200, page.text
        return [c["id"] for c in page.json()["items"]]


async def run(
    settings: Settings,
    token: str,
    table: Table,
    *,
    cases: int,
    rounds: int = 2,
    requests_per_client: int = 40,
) -> dict[str, float]:
    """Throughput of audited vs unaudited single-case reads; the ratio goes in the table."""
    load_before = os.getloadavg()
    raw = await asyncpg.connect(BENCH_DATABASE_URL.replace("+asyncpg", ""))
    try:
        async with (
            live_server(settings, **POOL) as audited,
            live_server(settings, EJ_BENCH_UNAUDITED_READS="true", **POOL) as unaudited,
        ):
            ids = await _case_ids(audited.url, token)
            for url in (audited.url, unaudited.url):  # warm both: pools, caches, statements
                await _round(url, token, ids, 10)
            on, off = Side(audited), Side(unaudited)
            for _ in range(rounds):  # A B B A
                for side in (on, off, off, on):
                    await side.round(raw, token, ids, requests_per_client)
    finally:
        await raw.close()
    rate_on, rate_off = sum(on.rates) / len(on.rates), sum(off.rates) / len(off.rates)
    ratio = rate_on / rate_off
    # Wall-clock rates swing with the machine's load; the CPU a read costs does much less.
    cpu = f"CPU per read (server + PostgreSQL): on {on.per_read_ms()}, off {off.per_read_ms()}"
    table.add(
        f"audited single-case reads, {CLIENTS} concurrent, {cases:,} cases",
        f"{rate_on:.0f} req/s",
        f"audit off {rate_off:.0f} req/s",
        f"{ratio:.2f}x",
        f">= {TARGET}x",
        f"{2 * len(on.rates)} rounds ABBA, {CLIENTS * requests_per_client} reads each; "
        f"{RETRIES['503']} 503s retried; {cpu}",
    )
    result = {"on": rate_on, "off": rate_off, "ratio": ratio}
    _write_results(result, on.rates, off.rates, cases, load_before, os.getloadavg(), cpu)
    return result


def _write_results(
    result: dict[str, float],
    on: list[float],
    off: list[float],
    cases: int,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    cpu: str,
) -> None:
    """Replace this bench's section of bench/RESULTS.md with the run's numbers."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    verdict = "met" if result["ratio"] >= TARGET else "missed"
    body = (
        f"Run {stamp} on {os.cpu_count()} CPUs; {cases:,} cases in the bench "
        f"database; load average {', '.join(f'{x:.2f}' for x in load_before)} at the start, "
        f"{', '.join(f'{x:.2f}' for x in load_after)} at the end.\n\n"
        "| measure | audit on | audit off | ratio | target |\n|---|---|---|---|---|\n"
        f"| {CLIENTS} concurrent `GET /api/v1/cases/{{id}}` | {result['on']:.0f} req/s | "
        f"{result['off']:.0f} req/s | {result['ratio']:.2f}x | >= {TARGET}x ({verdict}) |\n\n"
        f"Rounds (req/s), in the order run (A B B A): on {', '.join(f'{x:.0f}' for x in on)}; "
        f"off {', '.join(f'{x:.0f}' for x in off)}. Reads answered 503 and retried (a shared "
        f"cluster out of connection slots): {RETRIES['503']}. {cpu}.\n"
    )
    write_block(f"audit:{cases}", body, heading=SECTION_INTRO.rstrip())


SECTION_INTRO = """# Audited reads (issue 15)

`python -m bench --audit` (or `make bench BENCH_ARGS="--audit"`) runs two `corps serve`
processes on the bench database, one as shipped and one with the bench-only switch
`EJ_BENCH_UNAUDITED_READS=true` (single-case reads write no audit entry; settings refuse it
when `EJ_ENV=prod`). 16 concurrent httpx clients, each reading random cases of the first list
page with a coordinator's token, run against one server and then the other in A B B A rounds
(40 reads per client per round after a warm-up). The audited server appends one entry per
read without a lock and its sealer chains them in the background, so the sealing is inside
the measured throughput. The target is the ratio, on / off, at least 0.8.

"""
