"""Application errors rendered as RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:ejcorps:problem:"
log = logging.getLogger("corps.errors")


class AppError(Exception):
    """An expected failure with its HTTP status and problem type."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


class Unauthorized(AppError):
    """No valid credentials."""

    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(AppError):
    """The actor's role does not allow this."""

    status, slug, title = 403, "forbidden", "Not allowed for your role"


class NotFound(AppError):
    """The object does not exist or is not visible to the actor."""

    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    """The request conflicts with the current state."""

    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    """An If-Match precondition did not hold."""

    status, slug, title = 412, "precondition-failed", "The object changed since you read it"


class PayloadTooLarge(AppError):
    """The request body exceeds a configured limit."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AppError):
    """The content type is not accepted."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(AppError):
    """The request is well-formed but semantically invalid."""

    status, slug, title = 422, "validation-error", "Invalid input"


class TooManyRequests(AppError):
    """A rate limit was hit."""

    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(AppError):
    """A dependency of the service is down."""

    status, slug, title = 503, "service-unavailable", "Service unavailable"


HTTP_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed for your role"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid input"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build an application/problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Flatten pydantic errors to [{loc, msg}]."""
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]


def is_data_error(exc: DBAPIError) -> bool:
    """Whether the database (or its driver) refused a value: SQLSTATE class 22."""
    if isinstance(exc, DataError):
        return True
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and state.startswith("22"):
            return True
        if type(error).__name__ == "DataError":  # asyncpg refusing an argument client-side
            return True
    return False


def data_error_response(request: Request, exc: DBAPIError) -> JSONResponse:
    """422 for a value PostgreSQL cannot hold: the client's input, not a fault of the server.

    The database's message is not shown: it may quote internals.
    """
    log.info("data error on %s %s: %s", request.method, request.url.path, exc.orig)
    return problem_response(
        422,
        "validation-error",
        "Invalid input",
        "A value in the request is out of range or malformed.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of the app as problem+json."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, headers=exc.headers, extra=exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem_response(
            422, "validation-error", "Invalid input", detail, extra={"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = HTTP_TITLES.get(exc.status_code, ("http-error", "HTTP error"))
        headers = dict(exc.headers or {})
        # Starlette names only the first matching route's methods in a 405.
        if exc.status_code == 405 and (methods := allowed_methods(request.app, request.url.path)):
            headers["Allow"] = ", ".join(methods)
        return problem_response(exc.status_code, slug, title, str(exc.detail), headers=headers)

    @app.exception_handler(DBAPIError)
    async def _data_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # A value PostgreSQL cannot hold (out of range, malformed): the client's input, not a
        # fault of the server. The database's message is not shown: it may quote internals.
        if not is_data_error(exc):
            return await _unhandled(request, exc)
        return data_error_response(request, exc)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "internal-error",
            "Internal server error",
            "The server failed to handle this request; it has been logged.",
        )


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of the app answers at `path` (for a 405's Allow header)."""
    patterns: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allow_patterns", None
    )
    if patterns is None:
        patterns = []
        for template, operations in app.openapi().get("paths", {}).items():
            parts = re.split(r"\{[^}]+\}", template)
            regex = re.compile("[^/]+".join(re.escape(part) for part in parts) + "$")
            methods = [
                m.upper() for m in operations if m in {"get", "put", "post", "patch", "delete"}
            ]
            if "GET" in methods:
                methods.append("HEAD")
            patterns.append((regex, methods))
        app.state.allow_patterns = patterns
    found: list[str] = []
    for regex, methods in patterns:
        if regex.match(path):
            found += [m for m in methods if m not in found]
    return found
