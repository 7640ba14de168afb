"""`python -m bench` (or `make bench`): run the performance suite and write bench/results/."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench import audit, dossier, floor, lists, maps, upload, web
from bench.common import BENCH_DATABASE_URL, RESULTS, Table, bench_settings
from cases.seed import seed_cases
from corps.auth.tokens import issue_token
from corps.cli import run_migrations
from corps.members.models import User
from corps.seed import seed_organizations, seed_users


async def prepare(cases: int) -> tuple[str, str]:
    """Migrate and seed the bench database; return the coordinator's and a paralegal's ids."""
    await asyncio.to_thread(run_migrations, BENCH_DATABASE_URL)
    engine = create_async_engine(BENCH_DATABASE_URL)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        orgs = await seed_organizations(session)
        await seed_users(session, orgs)
        await session.commit()
        print(f"seeding up to {cases:,} cases…", flush=True)
        await seed_cases(session, orgs, total=cases)
        await session.commit()
        users = {u.role: u for u in await session.scalars(select(User))}
    await engine.dispose()
    return str(users["coordinator"].id), str(users["paralegal"].id)


async def main() -> None:
    """Run the chosen benchmarks and write the table."""
    parser = argparse.ArgumentParser(
        description="EJ Corps performance suite: case lists, evidence upload, dossiers and maps "
        "(tiles vs raw SQL and tipg, OGC items, hotspot growth); maps also write bench/RESULTS.md."
    )
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the bench database")
    parser.add_argument(
        "--million",
        dest="cases",
        action="store_const",
        const=1_000_000,
        help="seed and measure 1,000,000 cases (the issue's map benchmark; ~25 min to seed)",
    )
    parser.add_argument("--upload-mb", type=int, default=200, help="size of each upload")
    parser.add_argument("--skip-upload", action="store_true", help="skip the evidence upload")
    parser.add_argument("--skip-lists", action="store_true", help="skip the case-list bench")
    parser.add_argument("--skip-maps", action="store_true", help="skip the map benchmarks")
    parser.add_argument("--skip-dossier", action="store_true", help="skip the dossier bench")
    parser.add_argument("--skip-web", action="store_true", help="skip the web app bench")
    parser.add_argument("--dossier-cases", type=int, default=100, help="cases in the dossier")
    parser.add_argument("--dossier-mb", type=int, default=1024, help="evidence in the dossier")
    parser.add_argument(
        "--maps", action="store_true", help="run only the map benchmarks (skips the others)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="run only the per-request floor and full-text search (API vs identical SQL)",
    )
    parser.add_argument(
        "--audit",
        action="store_true",
        help="run only the audited-reads bench: 16 concurrent reads, audit on vs off",
    )
    parser.add_argument(
        "--hotspots",
        action="store_true",
        help="run only the hotspot jobs of the map benchmarks (skips the others)",
    )
    parser.add_argument(
        "--issue15",
        action="store_true",
        help="run the performance targets in one run (floor and search, audited reads, tiles "
        "against SQL and tipg, OGC items, hotspots) and write their summary to bench/RESULTS.md",
    )
    parser.add_argument(
        "--repeat", type=int, default=30, help="requests per tile / items page (maps)"
    )
    parser.add_argument(
        "--hotspot-limit",
        type=float,
        default=1200,
        help="seconds after which one hotspot analysis is stopped and reported as a lower bound",
    )
    args = parser.parse_args()
    if args.issue15:
        args.maps = args.floor = args.audit = True
    if args.maps or args.hotspots or args.floor or args.audit:  # only the parts named
        args.skip_lists = args.skip_upload = args.skip_dossier = args.skip_web = True
        args.skip_maps = not (args.maps or args.hotspots)
    started = datetime.now(UTC)
    load_at_start = os.getloadavg()
    # The last 100k and 10k cases go in their own transactions: the hotspot subsets.
    for total in [args.cases] if args.skip_maps else maps.seed_steps(args.cases):
        coordinator_id, paralegal_id = await prepare(total)
    table = Table()
    with tempfile.TemporaryDirectory(prefix="ejbench-") as tmp:
        settings = bench_settings(Path(tmp) / "storage")
        import uuid

        coordinator, _ = issue_token(settings, uuid.UUID(coordinator_id))
        paralegal, _ = issue_token(settings, uuid.UUID(paralegal_id))
        if args.floor:
            await floor.run(settings, table, cases=args.cases)
        if not args.skip_lists:
            await lists.run(settings, coordinator, args.cases, table)
        if args.audit or not args.skip_lists:
            await audit.run(settings, coordinator, table, cases=args.cases)
        if not args.skip_upload:
            case_id = await _a_case_of(settings, paralegal)
            await upload.run(settings, paralegal, case_id, Path(tmp), table, args.upload_mb)
        if not args.skip_dossier:
            await dossier.run(
                settings,
                paralegal,
                table,
                cases=args.dossier_cases,
                total_mb=args.dossier_mb,
                workdir=Path(tmp),
            )
        if not args.skip_web:
            await web.run(settings, paralegal_id, table)
        if not args.skip_maps:
            await maps.run(
                settings,
                table,
                cases=args.cases,
                repeat=args.repeat,
                hotspot_limit_s=args.hotspot_limit,
                http=not args.hotspots,
            )
    if args.issue15:
        write_targets(table, cases=args.cases, started=started, load_at_start=load_at_start)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%MZ")
    report = f"# Benchmarks {stamp}\n\n{table.markdown()}"
    (RESULTS / "latest.md").write_text(report)
    print("\n" + report)


def write_targets(
    table: Table, *, cases: int, started: datetime, load_at_start: tuple[float, ...]
) -> None:
    """The run's rows that have a target, as one block of bench/RESULTS.md per case count."""
    targets = Table([row for row in table.rows if row[4]])
    load = ", ".join(f"{v:.2f}" for v in load_at_start)
    load_end = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    minutes = (datetime.now(UTC) - started).total_seconds() / 60
    header = (
        f"Run {started:%Y-%m-%d %H:%M} UTC ({minutes:.0f} min), {cases:,} cases, "
        f"{os.cpu_count()} CPUs; load average {load} at start, {load_end} at end."
    )
    maps.write_results(header, targets, part=f"issue15:{cases}")


async def _a_case_of(settings: object, token: str) -> str:
    import httpx

    from testing.factories import case_body
    from testing.live import live_server

    async with (
        live_server(settings) as server,
        httpx.AsyncClient(  # type: ignore[arg-type]
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}
        ) as client,
    ):
        response = await client.post("/api/v1/cases", json=case_body())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


if __name__ == "__main__":
    asyncio.run(main())
