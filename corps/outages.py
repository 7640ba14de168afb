"""Outages of what the API depends on answer 503 (507 for a full disk), never a bare 500.

A database or Redis that is down, restarting or out of connections is a passing fault: the
client is told to come back (`Retry-After`) in an application/problem+json answer. These
handlers sit in Starlette's ExceptionMiddleware, so the answer is an ordinary response and
the keep-alive connection stays open; an exception that reached the catch-all handler
would be re-raised after the 500 and uvicorn would close the connection.
"""

from __future__ import annotations

import errno
import logging
import traceback
from dataclasses import dataclass

import asyncpg
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from corps.errors import data_error_response, is_data_error, problem_response

log = logging.getLogger("corps.outages")
RETRY_AFTER_S = 5
# SQLSTATE classes of a connection lost or refused, a server shutting down or starting up,
# and a server out of connections or memory: the service will be back, the request was fine.
OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53")
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
NETWORK_ERRNOS = (
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
)
ASYNCPG_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


@dataclass(frozen=True)
class Outage:
    """What failed, as a client should hear it."""

    status: int
    slug: str
    title: str
    detail: str
    retry_after: int | None


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (SQLAlchemy's .orig) and what caused it."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen) or len(seen) > 20:
            continue
        seen.append(item)
        todo += [getattr(item, "orig", None), item.__cause__, item.__context__]
        todo += list(getattr(item, "exceptions", ()))  # an ExceptionGroup's members
    return seen


def _raised_in(exc: BaseException, *packages: str) -> bool:
    """Whether the exception passed through code of one of these packages."""
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] in packages:
            return True
    return False


def _database(detail: str = "The database is not reachable right now.") -> Outage:
    return Outage(503, "service-unavailable", "Service unavailable", detail, RETRY_AFTER_S)


def _redis() -> Outage:
    return Outage(
        503,
        "service-unavailable",
        "Service unavailable",
        "The job queue (Redis) is not reachable right now.",
        RETRY_AFTER_S,
    )


def classify(exc: BaseException) -> Outage | None:
    """The outage an exception stands for, or None when it is a fault of the server itself."""
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno in DISK_FULL_ERRNOS:
            return Outage(
                507,
                "insufficient-storage",
                "Insufficient storage",
                "The store is full: nothing of this request was kept. An administrator has "
                "to free or add space; try again later.",
                60,
            )
    for item in _chain(exc):
        if isinstance(item, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            return _redis()
        if isinstance(item, redis.exceptions.BusyLoadingError):
            return _redis()
        if isinstance(item, sa_exc.TimeoutError):  # the pool had no connection to give
            return _database("The database is busy; no connection was free in time.")
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return _database()
        if isinstance(item, ASYNCPG_OUTAGES):
            return _database()
        sqlstate = getattr(item, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(OUTAGE_SQLSTATES):
            return _database()
        if isinstance(item, ConnectionError | TimeoutError) or (
            isinstance(item, OSError) and item.errno in NETWORK_ERRNOS
        ):
            if _raised_in(exc, "redis", "arq"):
                return _redis()
            return (
                _database()
                if _raised_in(exc, "asyncpg", "sqlalchemy")
                else _database("A service this request needs is not reachable right now.")
            )
    return None


def outage_response(exc: BaseException) -> JSONResponse | None:
    """The 503/507 answer for an outage, or None."""
    outage = classify(exc)
    if outage is None:
        return None
    headers = {"Retry-After": str(outage.retry_after)} if outage.retry_after else None
    return problem_response(
        outage.status, outage.slug, outage.title, outage.detail, headers=headers
    )


def install_outage_handlers(app: FastAPI) -> None:
    """Answer dependency outages with 503 (a full disk with 507), keeping the connection."""

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        response = outage_response(exc)
        if response is not None:
            log.warning(
                "%s %s: %s (%s: %s)",
                request.method,
                request.url.path,
                response.status_code,
                type(exc).__name__,
                exc,
            )
            return response
        if isinstance(exc, sa_exc.DBAPIError) and is_data_error(exc):
            return data_error_response(request, exc)
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(
            500,
            "internal-error",
            "Internal server error",
            "The server failed to handle this request; it has been logged.",
        )

    for kind in (
        OSError,  # includes ConnectionError, TimeoutError and a full disk (ENOSPC)
        sa_exc.DBAPIError,
        sa_exc.TimeoutError,
        redis.exceptions.RedisError,
        asyncpg.exceptions.PostgresError,
        asyncpg.exceptions.InterfaceError,
    ):
        app.add_exception_handler(kind, _outage)
