"""Logs: one JSON line per event (EJ_LOG_FORMAT=text for people), a line per request and job.

What a line may carry is fixed here: request id, user id, method, route template (never the
query string, which can hold coordinates), status, duration, job name and id, outcome.
Bodies, headers, tokens and SQL parameters are never logged; anything that looks like a
token or SQL parameters in a message is masked before it is written.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from corps.settings import Settings

# Extra fields a log call may attach (logging's `extra=`); anything else is dropped.
FIELDS = (
    "request_id",
    "user_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "job",
    "job_id",
    "attempt",
    "outcome",
    "queue",
    "jobs",
)
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")
SQL_PARAMETERS = re.compile(r"\[parameters: .*?(?=\n\(Background|\Z)", re.DOTALL)
REQUEST_ID = re.compile(r"^[\w.:-]{1,64}$")
HANDLER_NAME = "corps"

request_log = logging.getLogger("corps.request")
job_log = logging.getLogger("corps.job")


def mask(text: str) -> str:
    """Hide bearer tokens and SQL parameters (which can hold coordinates) in a message."""
    return SQL_PARAMETERS.sub("[parameters hidden]", JWT.sub("[token]", text))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the known fields, error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
            **_fields(record),
        }
        if record.exc_info:
            line["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A readable line: time, level, logger, message, then key=value fields."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        line = f"{when} {record.levelname:<7} {record.name}: {mask(record.getMessage())}"
        if fields:
            line += f"  {fields}"
        if record.exc_info:
            line += "\n" + mask(self.formatException(record.exc_info))
        return line


def configure_logging(settings: Settings) -> None:
    """Send every log line to stderr in the configured format (safe to call again)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(TextFormatter() if settings.log_format == "text" else JsonFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # uvicorn's access line carries the query string; ours (RequestLog) carries the route.
    logging.getLogger("uvicorn.access").disabled = True
    # arq's own job lines print job arguments; ours (logged_job) print the job's name.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestLog:
    """ASGI middleware: an X-Request-ID on every answer and one log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            request_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "user_id": scope["state"].get("user_id"),
                    "method": scope["method"],
                    "route": getattr(route, "path", None) or "(no route)",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if REQUEST_ID.match(text) else None
    return None


JobFunc = Callable[..., Awaitable[Any]]


def logged_job(name: str, func: JobFunc) -> JobFunc:
    """Wrap a job so the worker logs when it takes it and how it finished."""

    @functools.wraps(func)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        fields = {"job": name, "job_id": ctx.get("job_id"), "attempt": ctx.get("job_try")}
        job_log.info("job taken", extra=fields)
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await func(ctx, *args, **kwargs)
            outcome = "ok"
            return result
        except BaseException as exc:
            outcome = "retry" if type(exc).__name__ == "Retry" else _failure(exc)
            raise
        finally:
            duration = round((time.perf_counter() - started) * 1000, 1)
            level = logging.WARNING if outcome not in ("ok", "retry") else logging.INFO
            job_log.log(
                level, "job finished", extra={**fields, "outcome": outcome, "duration_ms": duration}
            )

    return run


def _failure(exc: BaseException) -> str:
    import asyncio

    if isinstance(exc, asyncio.CancelledError | TimeoutError):
        return "cancelled"
    return f"failed: {type(exc).__name__}"
