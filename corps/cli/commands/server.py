"""`corps serve` and `corps worker`: the two long-running processes."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Annotated

import typer

from corps.cli.base import CliError, app, exit_codes
from corps.cli.database import load_settings


@app.command(epilog=exit_codes(ok="stopped cleanly"))
def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            metavar="N",
            envvar="EJ_API_WORKERS",
            min=0,
            help="Number of API processes, each with its own database pool and Redis "
            "connection; 0 (the default) means one per CPU core.",
        ),
    ] = 0,
    reload: Annotated[bool, typer.Option("--reload", help="Reload on code changes (dev).")] = False,
) -> None:
    """Serve the HTTP API with uvicorn (reads every EJ_* setting)."""
    import uvicorn

    from corps.logs import configure_logging

    # a refused setting is one line here, not a traceback inside uvicorn
    configure_logging(load_settings())
    uvicorn.run(
        "corps.main:app",
        host=host,
        port=port,
        workers=None if reload else (workers or os.cpu_count() or 1),
        reload=reload,
        proxy_headers=True,
        log_config=None,  # our handler (corps/logs.py): JSON lines, or EJ_LOG_FORMAT=text
        access_log=False,  # corps.request logs each request by route, without the query
    )


@app.command(epilog=exit_codes("1  --healthcheck: no live worker", ok="stopped cleanly"))
def worker(
    healthcheck: Annotated[
        bool,
        typer.Option(
            "--healthcheck",
            help="Only check that a worker wrote its heartbeat within "
            "EJ_HEARTBEAT_MAX_AGE_S (default 90 s), for container healthchecks.",
        ),
    ] = False,
) -> None:
    """Run the arq worker that processes background jobs (evidence, hotspots, dossiers)."""
    settings = load_settings()
    if healthcheck:
        age = asyncio.run(heartbeat_age(settings.redis_url))
        if age is None or age > settings.heartbeat_max_age_s:
            seen = "never" if age is None else f"{age:.0f} s ago"
            typer.echo(f"no live worker: last heartbeat {seen}", err=True)
            raise typer.Exit(1)
        typer.echo(f"worker alive: heartbeat {age:.0f} s ago")
        return
    from corps.logs import configure_logging
    from corps.worker import run

    configure_logging(settings)
    run()  # reconnects to Redis with back-off instead of exiting (finding 13)


async def heartbeat_age(redis_url: str) -> float | None:
    """Seconds since a worker last wrote its heartbeat, or None if none ever did."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from corps.jobs import HEARTBEAT_KEY

    redis = Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        value = await redis.get(HEARTBEAT_KEY)
    except (RedisError, OSError) as exc:
        raise CliError(f"cannot reach Redis: {exc}") from exc
    finally:
        await redis.aclose()  # type: ignore[attr-defined]
    if value is None:
        return None
    return max(0.0, time.time() - float(value))
